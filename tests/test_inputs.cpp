// The input readers of the command line: JSON Lines, .fvecs, .npy, SQLite and query vectors.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cfloat>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "inputs.h"
#include "number_arrays.h"
#include "test_support.h"
#include "vstore/format/error.h"

using namespace vstore;
using namespace vstore::cli;
using Catch::Matchers::Contains;
using vstore::test::check_error;
using vstore::test::TempDir;

namespace {

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

std::string float_bytes(const std::vector<float>& v) {
    std::string s(v.size() * sizeof(float), '\0');
    if (!v.empty())
        std::memcpy(s.data(), v.data(), s.size());
    return s;
}

std::string le32(uint32_t x) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i)
        s[i] = static_cast<char>((x >> (8 * i)) & 0xFF);
    return s;
}

// The bytes of an .fvecs file: each row its dimension, then its floats.
std::string fvecs_bytes(const std::vector<std::vector<float>>& rows) {
    std::string s;
    for (const auto& row : rows)
        s += le32(static_cast<uint32_t>(row.size())) + float_bytes(row);
    return s;
}

// The bytes of a .npy file: magic, version, header length, the header dict padded with spaces
// and a newline so that the data starts at a multiple of 64, then the data.
std::string npy_bytes(const std::string& dict, const std::vector<float>& data, int major = 1) {
    const size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    header += std::string((64 - (prefix + header.size() + 1) % 64) % 64, ' ') + "\n";
    std::string s = "\x93NUMPY";
    s += static_cast<char>(major);
    s += '\0';
    const std::string len = le32(static_cast<uint32_t>(header.size()));
    s += major == 1 ? len.substr(0, 2) : len;
    return s + header + float_bytes(data);
}

// A float as JSON text that parses back to the same bits (9 significant digits; "-0.0", not
// "-0", which would be the integer 0).
std::string json_number(float f) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(f));
    std::string s = buf;
    if (s.find_first_of(".e") == std::string::npos)
        s += ".0";
    return s;
}

std::string json_array(const std::vector<float>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i)
        s += (i > 0 ? ", " : "") + json_number(v[i]);
    return s + "]";
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

float from_bits(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Values that JSON can carry, chosen to catch any loss of precision or sign.
std::vector<float> tricky_values() {
    return {0.0f,
            -0.0f,
            1.0f,
            -1.5f,
            0.1f,
            1.0f / 3.0f,
            16777215.0f,
            FLT_MAX,
            -FLT_MAX,
            FLT_MIN,
            std::numeric_limits<float>::denorm_min(),
            -1e-40f,
            std::nextafter(1.0f, 2.0f),
            123456.789f};
}

// tricky_values() plus what only the binary formats can carry: NaN with a payload and infinity.
std::vector<float> binary_values() {
    auto v = tricky_values();
    v.push_back(from_bits(0x7FC12345u));
    v.push_back(std::numeric_limits<float>::infinity());
    v.push_back(-std::numeric_limits<float>::infinity());
    return v;
}

std::vector<Operation> all_operations(const std::string& path) {
    std::vector<Operation> ops;
    read_operations(path, [&](Operation&& op) { ops.push_back(std::move(op)); });
    return ops;
}

std::vector<SnapshotItem> snapshot_of(const std::string& path) {
    std::vector<SnapshotItem> items;
    read_snapshot_file(path, [&](SnapshotItem&& item) { items.push_back(std::move(item)); });
    return items;
}

std::vector<SnapshotItem> sqlite_snapshot_of(const std::string& db, const std::string& table) {
    std::vector<SnapshotItem> items;
    read_snapshot_sqlite(db, table, [&](SnapshotItem&& item) { items.push_back(std::move(item)); });
    return items;
}

// A SQLite database written through the C API, as datasette-faiss and llm write theirs.
class TestDb {
  public:
    explicit TestDb(const std::string& path) {
        REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    }
    ~TestDb() { sqlite3_close(db_); }
    TestDb(const TestDb&) = delete;
    TestDb& operator=(const TestDb&) = delete;

    void exec(const std::string& sql) {
        char* err = nullptr;
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
        INFO(sql << ": " << (err != nullptr ? err : ""));
        sqlite3_free(err);
        REQUIRE(rc == SQLITE_OK);
    }

    // Inserts (id, embedding) into `table` (already quoted); a null pointer binds NULL.
    void insert_text(const std::string& table, const char* id, const std::string* blob) {
        insert(
            table,
            [&](sqlite3_stmt* s) {
                if (id != nullptr)
                    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
                else
                    sqlite3_bind_null(s, 1);
            },
            blob);
    }
    void insert_int(const std::string& table, int64_t id, const std::string* blob) {
        insert(
            table, [&](sqlite3_stmt* s) { sqlite3_bind_int64(s, 1, id); }, blob);
    }

  private:
    void insert(const std::string& table, const std::function<void(sqlite3_stmt*)>& bind_id,
                const std::string* blob) {
        sqlite3_stmt* s = nullptr;
        const std::string sql = "INSERT INTO " + table + " (id, embedding) VALUES (?, ?)";
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
        bind_id(s);
        if (blob != nullptr)
            sqlite3_bind_blob(s, 2, blob->data(), static_cast<int>(blob->size()), SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(s, 2);
        const int rc = sqlite3_step(s);
        sqlite3_finalize(s);
        REQUIRE(rc == SQLITE_DONE);
    }

    sqlite3* db_ = nullptr;
};

std::vector<SnapshotItem> llm_snapshot_of(const std::string& db, const std::string& collection) {
    std::vector<SnapshotItem> items;
    read_snapshot_llm(db, collection,
                      [&](SnapshotItem&& item) { items.push_back(std::move(item)); });
    return items;
}

// The schema llm's embeddings migrations leave (tests/data/llm-schema.sql).
std::string llm_schema() {
    std::ifstream in(std::string(VSTORE_TEST_DATA) + "/llm-schema.sql");
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), {}};
}

// Adds a row of llm's embeddings table; a null `blob` binds NULL.
void insert_llm_row(const std::string& path, int64_t collection_id, const std::string& id,
                    const std::string* blob) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "INSERT INTO embeddings (collection_id, id, embedding, content, "
                               "metadata, updated) VALUES (?, ?, ?, 'text of ' || ?2, '{}', 0)",
                               -1, &s, nullptr) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, collection_id);
    sqlite3_bind_text(s, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    if (blob != nullptr)
        sqlite3_bind_blob(s, 3, blob->data(), static_cast<int>(blob->size()), SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 3);
    const int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_DONE);
}

// Makes standard input read `path` for the scope's lifetime.
class StdinFrom {
  public:
    explicit StdinFrom(const std::string& path) : saved_(::dup(0)) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        REQUIRE(fd >= 0);
        ::dup2(fd, 0);
        ::close(fd);
        std::clearerr(stdin);
    }
    ~StdinFrom() {
        ::dup2(saved_, 0);
        ::close(saved_);
        std::clearerr(stdin);
    }
    StdinFrom(const StdinFrom&) = delete;
    StdinFrom& operator=(const StdinFrom&) = delete;

  private:
    int saved_;
};

}  // namespace

// --- Operations in JSON Lines ---

TEST_CASE("operations in JSON Lines are read back bit for bit", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("ops.jsonl");
    const auto a = tricky_values();
    const auto b = test::random_vectors(1, static_cast<uint32_t>(a.size()), 7);
    const auto c = test::random_vectors(1, static_cast<uint32_t>(a.size()), 8);
    write_file(path, "{\"id\": \"a\", \"op\": \"Inserted\", \"vector\": " + json_array(a) + "}\n" +
                         "\n" + "{\"op\": \"Replaced\", \"id\": \"b\", \"vector\": " +
                         json_array(b) + ", \"extra\": {\"ignored\": true}}\r\n" + "   \t\n" +
                         "{\"id\": 42, \"op\": \"Deleted\"}\n" +
                         "{\"id\": \"c\", \"op\": \"Changed\", \"vector\": " + json_array(c) +
                         "}\n" + "{\"id\": -7, \"op\": \"deleted\", \"vector\": null}");
    const auto ops = all_operations(path);
    REQUIRE(ops.size() == 5);
    CHECK(ops[0].kind == OpKind::kInsert);
    CHECK(ops[0].id == "a");
    CHECK(ops[0].line == 1);
    CHECK(same_bits(ops[0].vector, a));
    CHECK(ops[1].kind == OpKind::kReplace);
    CHECK(ops[1].id == "b");
    CHECK(ops[1].line == 3);
    CHECK(same_bits(ops[1].vector, b));
    CHECK(ops[2].kind == OpKind::kDelete);
    CHECK(ops[2].id == "42");
    CHECK(ops[2].line == 5);
    CHECK(ops[2].vector.empty());
    CHECK(ops[3].kind == OpKind::kReplace);
    CHECK(ops[3].id == "c");
    CHECK(ops[3].line == 6);
    CHECK(same_bits(ops[3].vector, c));
    CHECK(ops[4].kind == OpKind::kDelete);
    CHECK(ops[4].id == "-7");
    CHECK(ops[4].line == 7);
}

TEST_CASE("every spelling of an operation is accepted", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("ops.jsonl");
    const std::vector<std::pair<std::string, OpKind>> spellings = {
        {"Inserted", OpKind::kInsert},  {"inserted", OpKind::kInsert},
        {"insert", OpKind::kInsert},    {"Deleted", OpKind::kDelete},
        {"deleted", OpKind::kDelete},   {"delete", OpKind::kDelete},
        {"Replaced", OpKind::kReplace}, {"replaced", OpKind::kReplace},
        {"replace", OpKind::kReplace},  {"Changed", OpKind::kReplace},
        {"changed", OpKind::kReplace}};
    std::string text;
    for (size_t i = 0; i < spellings.size(); ++i) {
        text += "{\"id\": \"x" + std::to_string(i) + "\", \"op\": \"" + spellings[i].first + "\"";
        if (spellings[i].second != OpKind::kDelete)
            text += ", \"vector\": [1, 2]";
        text += "}\n";
    }
    write_file(path, text);
    const auto ops = all_operations(path);
    REQUIRE(ops.size() == spellings.size());
    for (size_t i = 0; i < ops.size(); ++i) {
        INFO(spellings[i].first);
        CHECK(ops[i].kind == spellings[i].second);
        CHECK(ops[i].id == test::numbered("x", static_cast<long long>(i)));
        if (spellings[i].second != OpKind::kDelete)
            CHECK(ops[i].vector == std::vector<float>{1.0f, 2.0f});
    }
}

TEST_CASE("operations are read from standard input when the path is -", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("ops.jsonl");
    write_file(path,
               "{\"id\": \"a\", \"op\": \"insert\", \"vector\": [0.5, -2]}\n"
               "{\"id\": \"a\", \"op\": \"delete\"}\n");
    std::vector<Operation> ops;
    {
        StdinFrom in(path);
        ops = all_operations("-");
    }
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].vector == std::vector<float>{0.5f, -2.0f});
    CHECK(ops[1].kind == OpKind::kDelete);

    write_file(path, "{\"id\": \"a\", \"op\": \"insert\", \"vector\": [0.5, -2]}\nnot json\n");
    StdinFrom in(path);
    check_error([] { all_operations("-"); }, ErrorCode::kInvalidArgument, {"<stdin>:2: "});
}

TEST_CASE("each malformed operation is rejected with its file and line", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("ops.jsonl");
    // Line 1 is good and line 2 blank, so the bad line is line 3.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, 3])", "malformed JSON"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, 3]} trailing)", "malformed JSON"},
        {R"([1, 2, 3])", "expected a JSON object"},
        {R"("just a string")", "expected a JSON object"},
        {R"({"op": "Deleted"})", "missing \"id\""},
        {R"({"id": null, "op": "Deleted"})", "\"id\" must be a string or an integer"},
        {R"({"id": 1.5, "op": "Deleted"})", "\"id\" must be a string or an integer"},
        {R"({"id": ["b"], "op": "Deleted"})", "\"id\" must be a string or an integer"},
        {R"({"id": "", "op": "Deleted"})", "\"id\" is empty"},
        {R"({"id": "b"})", "missing \"op\""},
        {R"({"id": "b", "op": 1})", "\"op\" must be a string"},
        {R"({"id": "b", "op": "Upserted", "vector": [1, 2, 3]})", "unknown op \"Upserted\""},
        {R"({"id": "b", "op": "INSERTED", "vector": [1, 2, 3]})", "unknown op"},
        {R"({"id": "b", "op": "Inserted"})", "missing \"vector\" for Inserted"},
        {R"({"id": "b", "op": "Replaced"})", "missing \"vector\" for Replaced"},
        {R"({"id": "b", "op": "Inserted", "vector": "1, 2, 3"})", "must be an array of numbers"},
        {R"({"id": "b", "op": "Replaced", "vector": 1})", "must be an array of numbers"},
        {R"({"id": "b", "op": "Inserted", "vector": null})", "must be an array of numbers"},
        {R"({"id": "b", "op": "Inserted", "vector": []})", "vector is empty"},
        {R"({"id": "b", "op": "Deleted", "vector": [1, 2, 3]})", "takes no \"vector\""},
        {R"({"id": "b", "op": "Inserted", "vector": [1, "2", 3]})", "vector[1] is a string"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, null]})", "vector[2] is null"},
        {R"({"id": "b", "op": "Inserted", "vector": [[1], 2, 3]})", "vector[0] is an array"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, true]})", "vector[2] is a boolean"},
        {R"({"id": "b", "op": "Inserted", "vector": [1e39, 2, 3]})", "vector[0] is too large"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, -1e39, 3]})", "vector[1] is too large"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, 1e400]})",
         "number overflow parsing '1e400'"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, 3.4028236e38]})", "too large"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2]})",
         "vector has 2 elements, but line 1 has 3"},
        {R"({"id": "b", "op": "Replaced", "vector": [1, 2, 3, 4]})",
         "vector has 4 elements, but line 1 has 3"},
        {R"({"id": "b", "op": "Inserted", "vector": [1, 2, 3], "string": "b"})",
         "give either \"vector\" or \"string\""},
        {R"({"id": "b", "op": "Inserted", "string": 3})", "\"string\" must be a string"},
        {R"({"id": "b", "op": "Inserted", "string": null})", "\"string\" must be a string"},
        {R"({"id": "b", "op": "Replaced", "string": ""})", "\"string\" is empty"},
        {R"({"id": "b", "op": "Deleted", "string": "b"})", "takes no \"string\""},
        {"{\"id\": \"b\", \"op\": \"Inserted\", \"string\": \"\xff\"}", "malformed JSON"},
    };
    for (const auto& [line, expected] : cases) {
        INFO("line 3: " << line);
        write_file(path, "{\"id\": \"a\", \"op\": \"Inserted\", \"vector\": [1, 2, 3]}\n\n" + line +
                             "\n{\"id\": \"c\", \"op\": \"Deleted\"}\n");
        size_t before_error = 0;
        check_error([&] { read_operations(path, [&](Operation&&) { ++before_error; }); },
                    ErrorCode::kInvalidArgument, {path + ":3: ", expected});
        CHECK(before_error == 1);  // line 1 went to the sink before line 3 was read
    }
}

TEST_CASE("numbers up to the float range are accepted and rounded to float", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("ops.jsonl");
    // 3.4028235e38 lies above FLT_MAX but rounds to it; 16777217 rounds to 16777216.
    write_file(path, R"({"id": "a", "op": "Inserted", "vector": [3.4028235e38, -3.4028235e38, )"
                     R"(16777217, 1e-50, 18446744073709551615]})");
    const auto ops = all_operations(path);
    REQUIRE(ops.size() == 1);
    CHECK(
        same_bits(ops[0].vector, {FLT_MAX, -FLT_MAX, 16777216.0f, 0.0f, 18446744073709551616.0f}));
}

TEST_CASE("a missing operations file is not found", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("missing.jsonl");
    check_error([&] { all_operations(path); }, ErrorCode::kNotFound, {path});
    check_error([&] { all_operations(dir.path().string()); }, ErrorCode::kInvalidArgument,
                {dir.path().string(), "directory"});
}

// --- Snapshots in JSON Lines, .fvecs and .npy ---

TEST_CASE("a JSON Lines snapshot is read back bit for bit", "[inputs]") {
    TempDir dir;
    const auto a = tricky_values();
    const auto b = test::random_vectors(1, static_cast<uint32_t>(a.size()), 1);
    for (const char* name : {"s.jsonl", "s.ndjson", "s.json", "S.JSONL"}) {
        INFO(name);
        const std::string path = dir.file(name);
        write_file(path, "{\"id\": \"a\", \"vector\": " + json_array(a) + "}\n\n" +
                             "{\"vector\": " + json_array(b) + ", \"id\": 17}\n");
        const auto items = snapshot_of(path);
        REQUIRE(items.size() == 2);
        CHECK(items[0].id == "a");
        CHECK(same_bits(items[0].vector, a));
        CHECK(items[0].where == path + ":1");
        CHECK(items[1].id == "17");
        CHECK(same_bits(items[1].vector, b));
        CHECK(items[1].where == path + ":3");
    }
}

TEST_CASE("a malformed JSON Lines snapshot is rejected with its file and line", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("s.jsonl");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"id": "b", "vector": [1, 2)", "malformed JSON"},
        {R"({"id": "b"})", "missing \"vector\""},
        {R"({"id": "b", "vector": [1, 2], "string": "b"})", "not both"},
        {R"({"id": "b", "vector": null, "string": "b"})", "not both"},
        {R"({"id": "b", "string": ["b"]})", "\"string\" must be a string"},
        {R"({"vector": [1, 2]})", "missing \"id\""},
        {R"({"id": true, "vector": [1, 2]})", "\"id\" must be a string or an integer"},
        {R"({"id": "b", "vector": [1, {}]})", "vector[1] is an object"},
        {R"({"id": "b", "vector": [1, 2, 3]})", "vector has 3 elements, but line 1 has 2"},
        {R"({"id": "b", "vector": [1, 5e38]})", "vector[1] is too large"},
    };
    for (const auto& [line, expected] : cases) {
        INFO("line 2: " << line);
        write_file(path, "{\"id\": \"a\", \"vector\": [1, 2]}\n" + line + "\n");
        check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                    {path + ":2: ", expected});
    }
}

TEST_CASE("a snapshot of unknown extension is rejected naming the accepted ones", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("s.csv");
    write_file(path, "a,1,2\n");
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path, "'.csv'", ".jsonl", ".ndjson", ".json", ".fvecs", ".npy"});
    check_error([&] { snapshot_of(dir.file("none.fvecs")); }, ErrorCode::kNotFound,
                {dir.file("none.fvecs")});
    check_error([&] { snapshot_of(dir.file("none.npy")); }, ErrorCode::kNotFound,
                {dir.file("none.npy")});
}

TEST_CASE("an .fvecs snapshot is read back bit for bit with row numbers as ids", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("s.fvecs");
    const auto first = binary_values();
    const uint32_t dim = static_cast<uint32_t>(first.size());
    const auto rest = test::random_vectors(4, dim, 3);
    std::vector<std::vector<float>> rows = {first};
    for (size_t r = 0; r < 4; ++r)
        rows.emplace_back(rest.begin() + r * dim, rest.begin() + (r + 1) * dim);
    write_file(path, fvecs_bytes(rows));
    const auto items = snapshot_of(path);
    REQUIRE(items.size() == rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
        CHECK(items[r].id == std::to_string(r));
        CHECK(items[r].where == path + ": row " + std::to_string(r));
        CHECK(same_bits(items[r].vector, rows[r]));
    }

    // The largest dimension accepted, and an empty file (no rows).
    std::vector<float> wide(65536);
    for (size_t i = 0; i < wide.size(); ++i)
        wide[i] = static_cast<float>(i);
    write_file(path, fvecs_bytes({wide}));
    const auto wide_items = snapshot_of(path);
    REQUIRE(wide_items.size() == 1);
    CHECK(same_bits(wide_items[0].vector, wide));
    write_file(path, "");
    CHECK(snapshot_of(path).empty());
}

TEST_CASE("a malformed .fvecs file is rejected with its file and row", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("s.fvecs");
    const std::string good = fvecs_bytes({{1, 2, 3}, {4, 5, 6}});

    write_file(path, le32(0x80000000u) + float_bytes({1, 2, 3}));
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path + ": row 0: ", "2147483648"});
    write_file(path, good + le32(0) + float_bytes({1, 2, 3}));
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path + ": row 2: ", "dimension field is 0"});
    write_file(path, le32(65537) + float_bytes({1, 2, 3}));
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path + ": row 0: ", "65537"});
    write_file(path, good + fvecs_bytes({{1, 2}}));
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path + ": row 2: ", "dimension 2 differs from row 0's 3"});
    write_file(path, good.substr(0, good.size() - 2));
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path + ": row 1: ", "truncated"});
    write_file(path, good + "\x03\x00");
    check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                {path + ": row 2: ", "truncated"});
}

TEST_CASE("an .npy snapshot is read back bit for bit with row numbers as ids", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("s.npy");
    auto data = binary_values();
    data.resize(12);
    data[11] = from_bits(0x7FC12345u);  // NaN with a payload passes through
    const std::string bytes =
        npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data);
    REQUIRE((bytes.size() - 48) % 64 == 0);  // the data starts at a multiple of 64
    write_file(path, bytes);
    auto items = snapshot_of(path);
    REQUIRE(items.size() == 3);
    for (size_t r = 0; r < 3; ++r) {
        CHECK(items[r].id == std::to_string(r));
        CHECK(items[r].where == path + ": row " + std::to_string(r));
        CHECK(same_bits(items[r].vector,
                        std::vector<float>(data.begin() + r * 4, data.begin() + (r + 1) * 4)));
    }

    // Version 2.0 (4-byte header length), double quotes and no trailing comma; zero rows.
    write_file(path, npy_bytes("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 6)}",
                               data, 2));
    items = snapshot_of(path);
    REQUIRE(items.size() == 2);
    CHECK(same_bits(items[1].vector, std::vector<float>(data.begin() + 6, data.end())));
    write_file(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", {}));
    CHECK(snapshot_of(path).empty());
}

TEST_CASE("a malformed .npy file is rejected with a clear message", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("s.npy");
    const std::vector<float> data(12, 1.0f);
    const auto header = [](const std::string& descr, const std::string& fortran,
                           const std::string& shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape +
               ", }";
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {npy_bytes(header("<f8", "False", "(3, 2)"), data), "dtype '<f8' is not supported"},
        {npy_bytes(header(">f4", "False", "(3, 4)"), data), "dtype '>f4' is not supported"},
        {npy_bytes(header("<i4", "False", "(3, 4)"), data), "dtype '<i4' is not supported"},
        {npy_bytes(header("<f4", "True", "(3, 4)"), data), "Fortran-order"},
        {npy_bytes(header("<f4", "False", "(12,)"), data), "shape (12,) is not 2-D"},
        {npy_bytes(header("<f4", "False", "(2, 3, 2)"), data), "shape (2, 3, 2) is not 2-D"},
        {npy_bytes(header("<f4", "False", "(12, 0)"), data), "dimension must be 1 to 65536"},
        {npy_bytes(header("<f4", "False", "(1, 65537)"), data), "dimension must be 1 to 65536"},
        {npy_bytes(header("<f4", "False", "(1000000000000000, 4)"), data),
         "shape (1000000000000000, 4) does not match the 48 bytes"},
        {npy_bytes(header("<f4", "False", "(18446744073709551615, 65536)"), data),
         "does not match"},
        {npy_bytes(header("<f4", "False", "(99999999999999999999, 4)"), data), "integer too large"},
        {npy_bytes(header("<f4", "False", "(4, 4)"), data), "does not match the 48 bytes"},
        {npy_bytes(header("<f4", "False", "(2, 4)"), data), "does not match the 48 bytes"},
        {npy_bytes("{'descr': '<f4', 'shape': (3, 4), }", data), "lacks"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'x': 1}", data),
         "malformed .npy header"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)", data),
         "malformed .npy header"},
        {npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", data),
         "malformed .npy header"},
        {npy_bytes(header("<f4", "False", "(3, 4)"), data, 7), "unsupported .npy format version 7"},
        {"\x93NUMPX" + npy_bytes(header("<f4", "False", "(3, 4)"), data).substr(6),
         "not a .npy file"},
        {std::string("\x93NUMPY\x01\x00\xff\xff", 10) + "{}", "goes past the end of the file"},
        {std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12) + "{}",
         "goes past the end of the file"},
        {std::string("\x93NUM", 4), "not a .npy file"},
    };
    for (const auto& [bytes, expected] : cases) {
        INFO("expecting: " << expected);
        write_file(path, bytes);
        check_error([&] { snapshot_of(path); }, ErrorCode::kInvalidArgument,
                    {path + ": ", expected});
    }
}

// --- Snapshots in SQLite ---

TEST_CASE("a SQLite snapshot is read back bit for bit", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("embeddings.db");
    const auto a = binary_values();
    const uint32_t dim = static_cast<uint32_t>(a.size());
    const auto rest = test::random_vectors(2, dim, 5);
    const std::vector<float> b(rest.begin(), rest.begin() + dim), c(rest.begin() + dim, rest.end());
    const std::string ba = float_bytes(a), bb = float_bytes(b), bc = float_bytes(c);
    {
        TestDb db(path);
        // A table name that needs quoting, and a third column that is ignored.
        db.exec("CREATE TABLE \"my \"\"docs\"\"\" (id, embedding BLOB, content TEXT)");
        db.insert_text("\"my \"\"docs\"\"\"", "doc-a", &ba);
        db.insert_int("\"my \"\"docs\"\"\"", 12, &bb);
        db.insert_text("\"my \"\"docs\"\"\"", "doc\nc", &bc);
    }
    const auto items = sqlite_snapshot_of(path, "my \"docs\"");
    REQUIRE(items.size() == 3);
    CHECK(items[0].id == "doc-a");
    CHECK(same_bits(items[0].vector, a));
    CHECK(items[1].id == "12");
    CHECK(same_bits(items[1].vector, b));
    CHECK(items[2].id == "doc\nc");
    CHECK(same_bits(items[2].vector, c));
    CHECK_THAT(items[1].where, Contains(path) && Contains("row 1"));
}

TEST_CASE("a malformed SQLite snapshot is rejected naming database, table and id", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("e.db");
    const std::string four = float_bytes({1, 2, 3, 4}), three = float_bytes({1, 2, 3});
    const std::string ten(10, '\0');
    {
        TestDb db(path);
        db.exec("CREATE TABLE good (id TEXT PRIMARY KEY, embedding BLOB)");
        db.insert_text("good", "a", &four);
        db.exec("CREATE TABLE no_embedding (id TEXT, vec BLOB)");
        db.exec("CREATE TABLE no_id (key TEXT, embedding BLOB)");
        for (const char* t : {"null_id", "null_embedding", "odd_length", "mixed", "real_id",
                              "text_embedding", "empty_embedding", "empty_id"}) {
            db.exec(std::string("CREATE TABLE ") + t + " (id, embedding)");
            db.insert_text(t, "a", &four);
        }
        db.insert_text("null_id", nullptr, &four);
        db.insert_text("null_embedding", "b", nullptr);
        db.insert_text("odd_length", "b", &ten);
        db.insert_text("mixed", "b", &four);
        db.insert_int("mixed", 77, &three);
        db.exec("INSERT INTO real_id VALUES (1.5, x'0000803f')");
        db.exec("INSERT INTO text_embedding VALUES ('b', '[1, 2, 3, 4]')");
        db.exec("INSERT INTO empty_embedding VALUES ('b', x'')");
        db.exec("INSERT INTO empty_id VALUES ('', x'0000803f0000803f0000803f0000803f')");
    }
    const auto inv = ErrorCode::kInvalidArgument;
    check_error([&] { sqlite_snapshot_of(path, "nope"); }, inv,
                {path, "\"nope\"", "no such table"});
    check_error([&] { sqlite_snapshot_of(path, "no_embedding"); }, inv,
                {path, "\"no_embedding\"", "no such column: embedding"});
    check_error([&] { sqlite_snapshot_of(path, "no_id"); }, inv,
                {path, "\"no_id\"", "no such column: id"});
    check_error([&] { sqlite_snapshot_of(path, "null_id"); }, inv,
                {path, "\"null_id\"", "row 1", "id is NULL"});
    check_error([&] { sqlite_snapshot_of(path, "null_embedding"); }, inv,
                {path, "\"null_embedding\"", "row 1 (id \"b\")", "embedding is NULL"});
    check_error([&] { sqlite_snapshot_of(path, "odd_length"); }, inv,
                {path, "\"odd_length\"", "row 1 (id \"b\")", "10 bytes, not a multiple of 4"});
    check_error([&] { sqlite_snapshot_of(path, "mixed"); }, inv,
                {path, "\"mixed\"", "row 2 (id \"77\")",
                 "embedding has 3 floats, but row 0 (id \"a\") has 4"});
    check_error([&] { sqlite_snapshot_of(path, "real_id"); }, inv,
                {path, "\"real_id\"", "row 1", "id must be TEXT or INTEGER"});
    check_error([&] { sqlite_snapshot_of(path, "text_embedding"); }, inv,
                {path, "\"text_embedding\"", "row 1 (id \"b\")", "must be a BLOB"});
    check_error([&] { sqlite_snapshot_of(path, "empty_embedding"); }, inv,
                {path, "\"empty_embedding\"", "row 1 (id \"b\")", "empty BLOB"});
    check_error([&] { sqlite_snapshot_of(path, "empty_id"); }, inv,
                {path, "\"empty_id\"", "row 1", "id is empty"});
    // The good table reads, so the errors above came from the tables, not the file.
    CHECK(sqlite_snapshot_of(path, "good").size() == 1);
}

TEST_CASE("a missing SQLite database is not found and not created", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("missing.db");
    check_error([&] { sqlite_snapshot_of(path, "t"); }, ErrorCode::kNotFound, {path});
    CHECK_FALSE(std::filesystem::exists(path));

    const std::string not_db = dir.file("not.db");
    write_file(not_db, std::string(4096, 'x'));
    check_error([&] { sqlite_snapshot_of(not_db, "t"); }, ErrorCode::kInvalidArgument,
                {not_db, "not a database"});
}

TEST_CASE("a SQLite database is opened read-only", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("e.db");
    const std::string blob = float_bytes({1, 2});
    {
        TestDb db(path);
        db.exec("CREATE TABLE t (id, embedding)");
        db.insert_text("t", "a", &blob);
    }
    const auto before = test::read_file(path);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read,
                                 std::filesystem::perm_options::replace);
    // A table name that would be SQL if it were not quoted.
    check_error([&] { sqlite_snapshot_of(path, "t; DROP TABLE t; --"); },
                ErrorCode::kInvalidArgument, {"no such table"});
    const auto items = sqlite_snapshot_of(path, "t");
    REQUIRE(items.size() == 1);
    CHECK(items[0].vector == std::vector<float>{1.0f, 2.0f});
    CHECK(test::read_file(path) == before);
}

// --- llm's embeddings databases ---

TEST_CASE("an llm collection is read alone, though other collections share its ids", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("embeddings.db");
    const auto values = test::random_vectors(5, 3, 7);
    std::vector<std::vector<float>> v;
    for (size_t i = 0; i < 5; ++i)
        v.emplace_back(values.begin() + 3 * i, values.begin() + 3 * (i + 1));
    {
        TestDb db(path);
        db.exec(llm_schema());
        db.exec("INSERT INTO collections VALUES (1, 'docs', 'ada-002'), (7, 'notes', '3-small')");
    }
    const std::string b0 = float_bytes(v[0]), b1 = float_bytes(v[1]), b2 = float_bytes(v[2]),
                      b3 = float_bytes(v[3]), b4 = float_bytes(v[4]);
    insert_llm_row(path, 1, "item-1", &b1);
    insert_llm_row(path, 1, "item-0", &b0);
    insert_llm_row(path, 7, "item-0", &b2);
    insert_llm_row(path, 7, "other", &b3);
    insert_llm_row(path, 7, "item-1", &b4);

    const auto docs = llm_snapshot_of(path, "docs");
    REQUIRE(docs.size() == 2);
    CHECK(docs[0].id == "item-0");  // in id order
    CHECK(same_bits(docs[0].vector, v[0]));
    CHECK(docs[1].id == "item-1");
    CHECK(same_bits(docs[1].vector, v[1]));
    CHECK_THAT(docs[1].where,
               Contains(path) && Contains("collection \"docs\"") && Contains("id \"item-1\""));

    const auto notes = llm_snapshot_of(path, "notes");
    REQUIRE(notes.size() == 3);
    CHECK(notes[0].id == "item-0");
    CHECK(same_bits(notes[0].vector, v[2]));
    CHECK(notes[1].id == "item-1");
    CHECK(same_bits(notes[1].vector, v[4]));
    CHECK(notes[2].id == "other");
    CHECK(same_bits(notes[2].vector, v[3]));
}

TEST_CASE("an unknown llm collection is not found, naming those there are", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("embeddings.db");
    {
        TestDb db(path);
        db.exec(llm_schema());
    }
    check_error([&] { llm_snapshot_of(path, "docs"); }, ErrorCode::kNotFound,
                {path, "no collection \"docs\"", "it holds no collections"});
    {
        TestDb db(path);
        db.exec("INSERT INTO collections VALUES (1, 'notes', 'm'), (2, 'code', 'm')");
    }
    check_error([&] { llm_snapshot_of(path, "docs"); }, ErrorCode::kNotFound,
                {path, "no collection \"docs\"", "its collections are \"code\", \"notes\""});
    // A collection without rows is an empty set, which a snapshot commit reads as "delete all".
    CHECK(llm_snapshot_of(path, "code").empty());
}

TEST_CASE("a malformed llm database is rejected naming database, collection and id", "[inputs]") {
    TempDir dir;
    const auto inv = ErrorCode::kInvalidArgument;

    const std::string no_tables = dir.file("plain.db");
    {
        TestDb db(no_tables);
        db.exec("CREATE TABLE embeddings (id, embedding)");
    }
    check_error([&] { llm_snapshot_of(no_tables, "docs"); }, inv,
                {no_tables, "not an llm embeddings database", "no table 'collections'"});

    const std::string path = dir.file("embeddings.db");
    {
        TestDb db(path);
        db.exec(llm_schema());
        db.exec(
            "INSERT INTO collections VALUES (1, 'odd', 'm'), (2, 'mixed', 'm'), "
            "(3, 'null', 'm'), (4, 'text', 'm'), (5, 'good', 'm')");
    }
    const std::string four = float_bytes({1, 2, 3, 4}), three = float_bytes({1, 2, 3});
    const std::string ten(10, '\0');
    insert_llm_row(path, 1, "a", &four);
    insert_llm_row(path, 1, "b", &ten);
    insert_llm_row(path, 2, "a", &four);
    insert_llm_row(path, 2, "b", &three);
    insert_llm_row(path, 3, "a", nullptr);
    {
        TestDb db(path);
        db.exec("INSERT INTO embeddings (collection_id, id, embedding) VALUES (4, 'a', '[1, 2]')");
    }
    insert_llm_row(path, 5, "a", &three);
    check_error([&] { llm_snapshot_of(path, "odd"); }, inv,
                {path, "collection \"odd\": id \"b\"", "10 bytes, not a multiple of 4"});
    check_error(
        [&] { llm_snapshot_of(path, "mixed"); }, inv,
        {path, "collection \"mixed\": id \"b\"", "embedding has 3 floats, but id \"a\" has 4"});
    check_error([&] { llm_snapshot_of(path, "null"); }, inv,
                {path, "collection \"null\": id \"a\"", "embedding is NULL"});
    check_error([&] { llm_snapshot_of(path, "text"); }, inv,
                {path, "collection \"text\": id \"a\"", "must be a BLOB"});
    // The other collections of the same database read, so the errors came from their rows.
    CHECK(llm_snapshot_of(path, "good").size() == 1);
    CHECK(llm_snapshot_of(path, "good")[0].vector == std::vector<float>{1, 2, 3});

    const std::string missing = dir.file("missing.db");
    check_error([&] { llm_snapshot_of(missing, "docs"); }, ErrorCode::kNotFound, {missing});
    CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("an llm database is opened read-only", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("embeddings.db");
    {
        TestDb db(path);
        db.exec(llm_schema());
        db.exec("INSERT INTO collections VALUES (1, 'docs', 'm')");
    }
    const std::string blob = float_bytes({1, 2});
    insert_llm_row(path, 1, "a", &blob);
    const auto before = test::read_file(path);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read,
                                 std::filesystem::perm_options::replace);
    // A collection name that would be SQL if it were not bound as a value.
    check_error([&] { llm_snapshot_of(path, "docs'; DROP TABLE embeddings; --"); },
                ErrorCode::kNotFound, {"its collections are \"docs\""});
    const auto items = llm_snapshot_of(path, "docs");
    REQUIRE(items.size() == 1);
    CHECK(items[0].vector == std::vector<float>{1.0f, 2.0f});
    CHECK(test::read_file(path) == before);
}

// --- Query vectors ---

TEST_CASE("query files hold one JSON vector, many, or .fvecs and .npy rows", "[inputs]") {
    TempDir dir;
    const auto a = tricky_values();
    const std::string one = dir.file("q.json");
    write_file(one, "\n  " + json_array(a) + "\n");
    auto queries = read_query_file(one);
    REQUIRE(queries.size() == 1);
    CHECK(same_bits(queries[0], a));

    const std::string many = dir.file("q.txt");
    write_file(many, "[[1, 2], [3.5, -4]]");
    queries = read_query_file(many);
    REQUIRE(queries.size() == 2);
    CHECK(queries[1] == std::vector<float>{3.5f, -4.0f});

    const std::string fvecs = dir.file("q.fvecs");
    const auto b = binary_values();
    write_file(fvecs, fvecs_bytes({b, b, b}));
    queries = read_query_file(fvecs);
    REQUIRE(queries.size() == 3);
    CHECK(same_bits(queries[2], b));

    const std::string npy = dir.file("q.npy");
    write_file(npy,
               npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", {1, 2, 3}));
    queries = read_query_file(npy);
    REQUIRE(queries.size() == 1);
    CHECK(queries[0] == std::vector<float>{1, 2, 3});
}

TEST_CASE("malformed query files are rejected naming the file", "[inputs]") {
    TempDir dir;
    const std::string path = dir.file("q.json");
    const auto inv = ErrorCode::kInvalidArgument;
    write_file(path, "[1, 2,\n 3,]");
    check_error([&] { read_query_file(path); }, inv, {path + ": malformed JSON at line 2"});
    write_file(path, "{\"vector\": [1, 2]}");
    check_error([&] { read_query_file(path); }, inv, {path, "must be an array"});
    write_file(path, "[1, \"2\"]");
    check_error([&] { read_query_file(path); }, inv, {path, "vector[1] is a string"});
    write_file(path, "[[1, 2], [1, 2, 3]]");
    check_error([&] { read_query_file(path); }, inv, {path + ": query 1: ", "but query 0 has 2"});
    write_file(path, "[]");
    check_error([&] { read_query_file(path); }, inv, {path, "vector is empty"});
    const std::string fvecs = dir.file("q.fvecs");
    write_file(fvecs, "");
    check_error([&] { read_query_file(fvecs); }, inv, {fvecs, "holds no vectors"});
    check_error([&] { read_query_file(dir.file("none.json")); }, ErrorCode::kNotFound,
                {dir.file("none.json")});
}

TEST_CASE("a vector option is parsed as a JSON array of numbers", "[inputs]") {
    CHECK(same_bits(parse_vector_json(" [0.25, -1, 1e-3, -0.0] ", "--vector"),
                    {0.25f, -1.0f, 0.001f, -0.0f}));
    const auto inv = ErrorCode::kInvalidArgument;
    check_error([] { parse_vector_json("[0.25, ", "--vector"); }, inv,
                {"--vector: malformed JSON"});
    check_error([] { parse_vector_json("0.25", "--vector"); }, inv,
                {"--vector: vector must be an array of numbers, not a number"});
    check_error([] { parse_vector_json("[1, \"x\"]", "--vector"); }, inv,
                {"--vector: vector[1] is a string"});
    check_error([] { parse_vector_json("[1, 1e39]", "--vector"); }, inv,
                {"--vector: vector[1] is too large"});
    check_error([] { parse_vector_json("[]", "--vector"); }, inv, {"--vector: vector is empty"});
    std::string huge = "[0";
    for (int i = 0; i < 65536; ++i)
        huge += ",0";
    check_error([&] { parse_vector_json(huge + "]", "--vector"); }, inv,
                {"--vector: vector has 65537 elements"});
}

TEST_CASE("operations and snapshots in memory read as the same file would, named as given",
          "[inputs]") {
    const std::string ops_text =
        "{\"id\": \"a\", \"op\": \"Inserted\", \"vector\": [0.5, -2]}\n\n"
        "{\"id\": 7, \"op\": \"Deleted\"}";
    std::vector<Operation> ops;
    read_operations_text(ops_text, "request body", [&](Operation&& op) { ops.push_back(op); });
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].vector == std::vector<float>{0.5f, -2.0f});
    CHECK(ops[1].kind == OpKind::kDelete);
    CHECK(ops[1].id == "7");
    CHECK(ops[1].line == 3);

    std::vector<SnapshotItem> items;
    read_snapshot_text("{\"id\": \"x\", \"vector\": [1]}\n", "body",
                       [&](SnapshotItem&& item) { items.push_back(item); });
    REQUIRE(items.size() == 1);
    CHECK(items[0].where == "body:1");

    size_t seen = 0;
    read_operations_text("", "body", [&](Operation&&) { ++seen; });
    read_snapshot_text("", "body", [&](SnapshotItem&&) { ++seen; });
    CHECK(seen == 0);
    check_error(
        [] {
            read_operations_text(
                "{\"id\": \"a\", \"op\": \"Inserted\", \"vector\": [1]}\n"
                "{\"id\": \"b\", \"op\": \"Inserted\", \"vector\": [1, 2]}",
                "body", [](Operation&&) {});
        },
        ErrorCode::kInvalidArgument, {"body:2: ", "vector has 2 elements, but line 1 has 1"});
}

TEST_CASE("operations and snapshot items may carry a text to embed instead of a vector",
          "[inputs]") {
    // Texts have no length, so the vectors' length check skips them: line 3 is checked against
    // line 1.
    std::vector<Operation> ops;
    read_operations_text(
        "{\"id\": \"a\", \"op\": \"Inserted\", \"vector\": [1, 2]}\n"
        "{\"id\": \"b\", \"op\": \"Inserted\", \"string\": \"caf\\u00e9 au lait\"}\n"
        "{\"id\": \"c\", \"op\": \"Changed\", \"string\": \"x\"}\n"
        "{\"id\": \"d\", \"op\": \"Replaced\", \"vector\": [3, 4]}\n",
        "body", [&](Operation&& op) { ops.push_back(std::move(op)); });
    REQUIRE(ops.size() == 4);
    CHECK(!ops[0].text);
    CHECK(ops[1].text == "caf\xC3\xA9 au lait");
    CHECK(ops[1].vector.empty());
    CHECK(ops[1].kind == OpKind::kInsert);
    CHECK(ops[2].text == "x");
    CHECK(ops[2].kind == OpKind::kReplace);
    CHECK(ops[3].vector == std::vector<float>{3, 4});

    std::vector<SnapshotItem> items;
    read_snapshot_text("{\"id\": 1, \"string\": \"one\"}\n{\"id\": 2, \"vector\": [1]}\n", "body",
                       [&](SnapshotItem&& item) { items.push_back(std::move(item)); });
    REQUIRE(items.size() == 2);
    CHECK(items[0].text == "one");
    CHECK(items[0].vector.empty());
    CHECK(items[0].where == "body:1");
    CHECK(!items[1].text);
}

TEST_CASE("the fast scanner of query arrays accepts only what the JSON parser reads the same",
          "[inputs]") {
    // Accepted: the floats are what the slow path (nlohmann::json, then double to float) makes.
    const auto one =
        scan_number_arrays(" [0.25, -1, 1e-3, -0.0, -0, 0, 5E+2, 3.4028234e38 ]\n", 100);
    REQUIRE(one);
    CHECK_FALSE(one->nested);
    REQUIRE(one->arrays.size() == 1);
    // "-0" is the integer 0 to nlohmann::json, so +0.0; "-0.0" keeps its sign.
    CHECK(same_bits(one->arrays[0], {0.25f, -1.0f, 0.001f, -0.0f, 0.0f, 0.0f, 500.0f, FLT_MAX}));
    const auto two = scan_number_arrays("[[1,2],\n [3.5, -4]]", 100);
    REQUIRE(two);
    CHECK(two->nested);
    REQUIRE(two->arrays.size() == 2);
    CHECK(two->arrays[1] == std::vector<float>{3.5f, -4.0f});
    // A double that is not a float rounds once to double and then to float, as the slow path.
    CHECK(same_bits(scan_number_arrays("[0.1000000000000000055511151231257827]", 1)->arrays[0],
                    {0.1f}));

    // Refused, so that the slow path names the error (or, for the last ones, reads it).
    for (const char* text :
         {"",        "[]",      "[[]]",    "[1,]",         "[,1]",    "[1 2]",    "[01]",
          "[.5]",    "[1.]",    "[+1]",    "[-]",          "[1e]",    "[1e+]",    "[inf]",
          "[nan]",   "[NaN]",   "[0x10]",  "[1e39]",       "[-1e39]", "[1e400]",  "[[1,2],[3]]",
          "[[1],2]", "[1,[2]]", "[[[1]]]", "{\"a\": [1]}", "[1] x",   "[1]]",     "[\"1\"]",
          "[true]",  "[null]",  "[1",      "[[1],",        "1",       "[1e-400]", "[ 1 ]\v"}) {
        INFO(text);
        CHECK_FALSE(scan_number_arrays(text, 100));
    }
    CHECK_FALSE(scan_number_arrays("[1, 2, 3]", 2));
    CHECK(scan_number_arrays("[1, 2]", 2));
}

TEST_CASE("queries read as fast as scanned and the slow way are the same", "[inputs]") {
    // Random arrays (within +-2^119, so in the float range) written as JSON in every number
    // form; parse_query_json takes the fast path on each, and the floats must be nlohmann's.
    std::mt19937_64 rng(7);
    for (int round = 0; round < 200; ++round) {
        const size_t rows = 1 + rng() % 3, dim = 1 + rng() % 40;
        std::string text = rows > 1 || rng() % 2 ? "[" : "";
        const bool nested = !text.empty();
        for (size_t r = 0; r < rows; ++r) {
            text += r ? ", [" : "[";
            for (size_t i = 0; i < dim; ++i) {
                char buf[64];
                const double x = std::ldexp(static_cast<double>(rng() % 2000000) - 1e6,
                                            static_cast<int>(rng() % 200) - 100);
                const char* formats[] = {"%.17g", "%g", "%.3e", "%.0f", "%.9E"};
                std::snprintf(buf, sizeof buf, formats[rng() % 5], x);
                if (i)
                    text += ',';
                if (rng() % 4 == 0)
                    text += " \n";
                text += buf;
            }
            text += "]";
            if (!nested)
                break;
        }
        if (nested)
            text += "]";
        INFO(text);
        const auto fast = scan_number_arrays(text, kMaxInputDimension);
        const auto slow = nlohmann::json::parse(text);
        const auto floats = [](const nlohmann::json& a) {
            std::vector<float> v;
            for (const auto& x : a)
                v.push_back(static_cast<float>(x.get<double>()));
            return v;
        };
        REQUIRE(fast);
        REQUIRE(fast->nested == nested);
        for (size_t r = 0; r < fast->arrays.size(); ++r)
            CHECK(same_bits(fast->arrays[r], floats(nested ? slow[r] : slow)));
        CHECK(parse_query_json(text, "q").vectors == fast->arrays);
    }
}
