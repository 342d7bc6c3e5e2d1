// The embedder (tools/embed/): an embed command run as a real child process (the test
// embedder, tests/embedder/hash_embedder.cpp, and shell snippets), the answers it accepts, and
// the vectors it fills into text operations and snapshot items.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "embed_command.h"
#include "embed_protocol.h"
#include "inputs.h"
#include "item_embedder.h"
#include "test_support.h"
#include "vstore/format/error.h"

using namespace vstore;
using namespace vstore::embed;
using vstore::test::check_error;
using vstore::test::TempDir;

namespace {

const std::string kEmbedder = VSTORE_TEST_EMBEDDER;

std::string embedder_command(const std::string& flags = "") {
    return "'" + kEmbedder + "'" + (flags.empty() ? "" : " " + flags);
}

// What the test embedder answers, asked directly through a shell, for `texts` in one request.
std::vector<std::vector<float>> direct_answer(const std::vector<std::string>& texts,
                                              const std::string& flags = "") {
    TempDir dir;
    const std::string request = dir.file("request.jsonl");
    std::ofstream(request) << request_line(texts);
    FILE* p = ::popen((embedder_command(flags) + " < '" + request + "'").c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    REQUIRE(::pclose(p) == 0);
    const auto answer = nlohmann::json::parse(out);
    return answer.at("vectors").get<std::vector<std::vector<float>>>();
}

// No child of this process is a zombie: every one the embedder started was reaped. (Reaps
// one if there is, which fails the test anyway.)
void check_no_zombie() {
    int status = 0;
    const pid_t r = ::waitpid(-1, &status, WNOHANG);
    CHECK(r <= 0);
}

std::vector<std::string> texts_of(size_t count) {
    std::vector<std::string> texts;
    for (size_t i = 0; i < count; ++i)
        texts.push_back(test::numbered("text number ", static_cast<long long>(i)));
    return texts;
}

}  // namespace

TEST_CASE("embed command: answers are the embedder's, in order, across batches", "[embed]") {
    std::vector<std::string> texts = texts_of(10);
    texts.push_back("quotes \" and \\ backslashes\tand a\nnewline");
    texts.push_back("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 UTF-8");
    texts.push_back(std::string("a NUL \0 byte", 12));
    texts.push_back("   ");  // no words: the constant token's vector
    {
        EmbedCommand embedder(embedder_command("--dimension 5"), {.batch_size = 3});
        const auto vectors = embedder.embed(texts);
        CHECK(vectors == direct_answer(texts, "--dimension 5"));
        REQUIRE(vectors.size() == texts.size());
        CHECK(vectors[0].size() == 5);
        CHECK(embedder.embed({}).empty());
        CHECK(embedder.embed({texts[4]}) == std::vector<std::vector<float>>{vectors[4]});
        CHECK(embedder.embed({"Text NUMBER 4"}) == embedder.embed({"text number 4"}));
        CHECK(vectors[1] != vectors[2]);
    }
    check_no_zombie();
}

TEST_CASE("embed command: an embedder that exits fails the request; the next one starts anew",
          "[embed]") {
    {
        const std::string command = embedder_command("--exit-after 1");
        EmbedCommand embedder(command, {.batch_size = 2});
        const auto first = embedder.embed({"a"});
        check_error([&] { embedder.embed({"b"}); }, ErrorCode::kIO,
                    {"embed command '" + command + "': ", "exited with status 3 before answering"});
        CHECK(embedder.embed({"a"}) == first);
        // Within one call: the second batch meets the exit, and the call fails as a whole.
        check_error([&] { embedder.embed(texts_of(4)); }, ErrorCode::kIO,
                    {"exited with status 3 before answering"});
        CHECK(embedder.embed(texts_of(2)) == direct_answer(texts_of(2)));
    }
    check_no_zombie();
}

TEST_CASE("embed command: a hang is cut off by the timeout and killed", "[embed]") {
    {
        const std::string command = embedder_command("--hang-after 1");
        EmbedCommand embedder(command, {.timeout = std::chrono::milliseconds(300)});
        const auto first = embedder.embed({"a"});
        check_error([&] { embedder.embed({"b"}); }, ErrorCode::kIO,
                    {"embed command '" + command + "': ", "no answer within 0.3 s (killed)"});
        CHECK(embedder.embed({"a"}) == first);
    }
    check_no_zombie();
}

TEST_CASE("embed command: garbage, a wrong count and refusals fail with what was wrong",
          "[embed]") {
    {
        const std::string command = embedder_command("--garbage");
        EmbedCommand embedder(command);
        // Each request meets a new child: it is always that child's first line.
        for (int i = 0; i < 2; ++i)
            check_error([&] { embedder.embed({"a"}); }, ErrorCode::kIO,
                        {"embed command '" + command + "': ",
                         "answer line 1 is not JSON (at byte 2): \"this is not JSON\""});
    }
    {
        EmbedCommand embedder(embedder_command("--wrong-count"));
        check_error(
            [&] {
                embedder.embed({"a", "b"});
            },
            ErrorCode::kIO, {"answer line 1: 1 vectors for 2 texts"});
    }
    {
        EmbedCommand embedder(embedder_command("--error"));
        for (int i = 0; i < 2; ++i)
            check_error([&] { embedder.embed({"a"}); }, ErrorCode::kIO,
                        {"refused the request: the test embedder was told to refuse"});
    }
    check_no_zombie();
}

TEST_CASE("embed command: commands that never answer as they should", "[embed]") {
    const auto fails = [](const std::string& command, const std::string& what) {
        INFO("command: " << command);
        {
            EmbedCommand embedder(command);
            check_error([&] { embedder.embed({"a"}); }, ErrorCode::kIO,
                        {"embed command '" + command + "': ", what});
        }
        check_no_zombie();
    };
    fails("exit 7", "exited with status 7 before answering");
    fails("no-such-embedder-command 2>/dev/null", "exited with status 127 before answering");
    fails("read request; kill -9 $$", "was killed by signal 9 before answering");
    fails("exec 1>&-; read request; sleep 60", "closed its standard output without answering");
    fails("read request; printf '{\"vectors\": [[1]]}\\n{\"vectors\": [[1]]}\\n'",
          "answer line 1 came with more output after it");
    fails("read request; head -c 67108865 /dev/zero", "answer line 1 is longer than 64 MiB");
    {
        const std::string command =
            "read r; echo '{\"vectors\": [[1, 2]]}'; read r; echo '{\"vectors\": [[1]]}'; read r";
        EmbedCommand embedder(command);
        CHECK(embedder.embed({"a"}) == std::vector<std::vector<float>>{{1, 2}});
        check_error([&] { embedder.embed({"a"}); }, ErrorCode::kIO,
                    {"answer line 2: vectors of 1 components, but earlier answers had 2"});
    }
    check_no_zombie();
}

TEST_CASE("embed command: what an answer line may hold", "[embed]") {
    CHECK(parse_answer(R"({"vectors": [[1, -2.5], [0, 3e38]], "model": "x"})", 2, "L").vectors ==
          std::vector<std::vector<float>>{{1, -2.5f}, {0, 3e38f}});
    CHECK(parse_answer(R"({"error": "too long\nfor me"})", 1, "L").error == "too long for me");
    const std::vector<std::pair<std::string, std::string>> garbage = {
        {"", "L is not JSON (at byte 1)"},
        {"[[1, 2]]",
         "L: expected {\"vectors\": [[...], ...]} or {\"error\": \"...\"}, not \"[[1, 2]]\""},
        {R"({"vector": [[1]]})", "L: expected {\"vectors\""},
        {R"({"vectors": {"a": [1]}})", "L: expected {\"vectors\""},
        {R"({"error": 3})", "L: \"error\" must be a string"},
        {R"({"vectors": [[1], [2], [3]]})", "L: 3 vectors for 2 texts"},
        {R"({"vectors": [[1, 2], [3]]})", "L: vectors[1] has 1 components, vectors[0] 2"},
        {R"({"vectors": [[1, 2], []]})", "L: vectors[1] is empty"},
        {R"({"vectors": [[1, 2], 7]})", "L: vectors[1] must be an array of numbers, not a number"},
        {R"({"vectors": [[1, "2"], [3, 4]]})", "L: vectors[0][1] is a string, not a number"},
        {R"({"vectors": [[1, null], [3, 4]]})", "L: vectors[0][1] is null, not a number"},
        {R"({"vectors": [[1, 2], [3, 4e38]]})", "L: vectors[1][1] is too large for a float"},
        {R"({"vectors": [[1, 2], [3, 1e400]]})", "L holds a number beyond any float"},
        {R"({"vectors": [[1, NaN], [3, 4]]})", "L is not JSON"},
        {R"({"vectors": [[1, Infinity], [3, 4]]})", "L is not JSON"},
        {"{\"vectors\": [[1]], \"x\": \"\xff\"}", "L is not JSON"},
    };
    for (const auto& [line, message] : garbage) {
        INFO("answer: " << line);
        // An init-capture: clang 14 cannot capture a structured binding itself.
        check_error([&line = line] { parse_answer(line, 2, "L"); }, ErrorCode::kInvalidArgument,
                    {message});
    }
    CHECK(request_line({std::vector<std::string>{"a\"b", "\xC3\xA9"}}) ==
          "{\"texts\":[\"a\\\"b\",\"\xC3\xA9\"]}\n");
}

TEST_CASE("embed command: a text must be non-empty valid UTF-8 of at most 1 MiB", "[embed]") {
    EmbedCommand embedder(embedder_command());
    check_error(
        [&] {
            embedder.embed({"fine", "caf\xC3"});
        },
        ErrorCode::kInvalidArgument, {"text 1: text is not valid UTF-8 (byte 3)"});
    check_error([&] { embedder.embed({"\xED\xA0\x80"}); }, ErrorCode::kInvalidArgument,
                {"text 0: text is not valid UTF-8 (byte 0)"});  // a surrogate
    check_error([&] { embedder.embed({""}); }, ErrorCode::kInvalidArgument,
                {"text 0: text is empty"});
    check_error([&] { embedder.embed({std::string(kMaxTextBytes + 1, 'a')}); },
                ErrorCode::kInvalidArgument, {"text 0: text is 1048577 bytes; at most 1048576"});
    CHECK(embedder.embed({std::string(kMaxTextBytes, 'a')}).size() == 1);
    check_error([] { EmbedCommand("", {}); }, ErrorCode::kInvalidArgument,
                {"the embed command is empty"});
    check_error([] { EmbedCommand("x", {.batch_size = 0}); }, ErrorCode::kInvalidArgument,
                {"batch size must be at least 1"});
}

TEST_CASE("embed command: threads share one embedder, one request at a time", "[embed]") {
    EmbedCommand embedder(embedder_command(), {.batch_size = 5});
    const auto expected = direct_answer(texts_of(40));
    std::vector<std::vector<std::vector<float>>> answers(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < answers.size(); ++t)
        threads.emplace_back([&, t] { answers[t] = embedder.embed(texts_of(40)); });
    for (auto& thread : threads)
        thread.join();
    for (const auto& answer : answers)
        CHECK(answer == expected);
}

TEST_CASE("embed command: text operations get their vectors and keep their order", "[embed]") {
    EmbedCommand embedder(embedder_command(), {.batch_size = 2});
    const std::string body =
        "{\"id\": \"v1\", \"op\": \"Inserted\", \"vector\": [1, 2, 3, 4, 5, 6, 7, 8]}\n"
        "{\"id\": \"t1\", \"op\": \"Inserted\", \"string\": \"first text\"}\n"
        "{\"id\": \"d1\", \"op\": \"Deleted\"}\n"
        "{\"id\": \"v2\", \"op\": \"Replaced\", \"vector\": [8, 7, 6, 5, 4, 3, 2, 1]}\n"
        "{\"id\": \"t2\", \"op\": \"Replaced\", \"string\": \"second text\"}\n"
        "{\"id\": \"t3\", \"op\": \"Inserted\", \"string\": \"third text\"}\n"
        "{\"id\": \"d2\", \"op\": \"Deleted\"}\n";
    std::vector<cli::Operation> out;
    size_t seen_when_t2_was_read = 0;
    OperationEmbedder ops(&embedder, "request body",
                          [&](cli::Operation&& op) { out.push_back(std::move(op)); });
    cli::read_operations_text(body, "request body", [&](cli::Operation&& op) {
        if (op.id == "t2")
            seen_when_t2_was_read = out.size();
        ops.add(std::move(op));
    });
    ops.finish();
    // v1 went on at once; d1 and v2 waited behind t1 until t2 filled the batch.
    CHECK(seen_when_t2_was_read == 1);
    std::vector<std::string> ids;
    for (const auto& op : out)
        ids.push_back(op.id);
    CHECK(ids == std::vector<std::string>{"v1", "t1", "d1", "v2", "t2", "t3", "d2"});
    const auto expected = direct_answer({"first text", "second text", "third text"});
    CHECK(out[1].vector == expected[0]);
    CHECK(out[4].vector == expected[1]);
    CHECK(out[5].vector == expected[2]);
    CHECK(out[1].text == "first text");
    CHECK(out[3].vector == std::vector<float>{8, 7, 6, 5, 4, 3, 2, 1});
    CHECK(out[2].vector.empty());

    // Without an embedder, the first text is an error naming its line; what came before it
    // went on.
    std::vector<std::string> before;
    OperationEmbedder none(nullptr, "request body",
                           [&](cli::Operation&& op) { before.push_back(op.id); });
    check_error(
        [&] {
            cli::read_operations_text(body, "request body",
                                      [&](cli::Operation&& op) { none.add(std::move(op)); });
        },
        ErrorCode::kInvalidArgument,
        {"request body:2: has a \"string\" to embed, but no embed command was given"});
    CHECK(before == std::vector<std::string>{"v1"});
}

TEST_CASE("embed command: text snapshot items get their vectors; failures name the batch",
          "[embed]") {
    {
        EmbedCommand embedder(embedder_command(), {.batch_size = 3});
        std::vector<cli::SnapshotItem> out;
        SnapshotEmbedder items(&embedder,
                               [&](cli::SnapshotItem&& item) { out.push_back(std::move(item)); });
        cli::read_snapshot_text(
            "{\"id\": 1, \"string\": \"one\"}\n{\"id\": 2, \"vector\": [1]}\n"
            "{\"id\": 3, \"string\": \"three\"}\n",
            "snap", [&](cli::SnapshotItem&& item) { items.add(std::move(item)); });
        CHECK(out.empty());  // everything waits behind item 1 until the batch is full, or the end
        items.finish();
        REQUIRE(out.size() == 3);
        const auto expected = direct_answer({"one", "three"});
        CHECK(out[0].vector == expected[0]);
        CHECK(out[1].vector == std::vector<float>{1});
        CHECK(out[2].vector == expected[1]);
    }
    {
        EmbedCommand embedder(embedder_command("--exit-after 0"), {.batch_size = 2});
        SnapshotEmbedder items(&embedder, [](cli::SnapshotItem&&) {});
        check_error(
            [&] {
                cli::read_snapshot_text(
                    "{\"id\": 1, \"string\": \"one\"}\n{\"id\": 2, \"string\": \"two\"}\n", "snap",
                    [&](cli::SnapshotItem&& item) { items.add(std::move(item)); });
            },
            ErrorCode::kIO,
            {"snap:1: a batch of 2 texts from here: embed command '",
             "exited with status 3 before answering"});
    }
    check_no_zombie();
}
