// A damaged catalog (issue 15): truncations and flipped bytes anywhere in the LMDB file give
// a clear error or the old answers, never a signal and never a different answer.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "test_support.h"
#include "vstore/store.h"

using namespace vstore;
namespace fs = std::filesystem;
using test::TempDir;

namespace {

constexpr uint32_t kDim = 8;

// Three commits of 600 ids each over one another: a catalog of several hundred pages.
void make_store(const std::string& dir) {
    auto store = Store::create(dir);
    store->create_domain("d", {kDim});
    const auto data = test::random_vectors(1800, kDim, 3);
    std::optional<std::string> parent;
    for (int c = 0; c < 3; ++c) {
        const std::string name = test::numbered("c", c);
        auto b = store->begin_commit("d", name, parent);
        for (int i = 0; i < 600; ++i) {
            const size_t row = static_cast<size_t>(c * 600 + i);
            b.insert(test::numbered("an-id-long-enough-to-fill-pages-", static_cast<long long>(row)),
                     {data.data() + row * kDim, kDim});
        }
        b.finish();
        parent = name;
    }
}

// Everything a user reads from the catalog: the log, each commit's counts, and the answers of
// every commit to a few queries (ids resolved through the ids databases).
std::string everything(const std::string& dir) {
    auto store = Store::open(dir);
    std::string out;
    const auto queries = test::random_vectors(5, kDim, 11);
    for (const auto& c : store->log("d", "c2")) {
        out += c.commit + ' ' + c.graph_file + ' ' + std::to_string(c.live_count) + ' ' +
               std::to_string(c.vector_count) + ' ' + std::to_string(c.inserted) + '\n';
        const auto snap = store->open_commit("d", c.commit);
        for (size_t q = 0; q < 5; ++q) {
            for (const auto& hit : snap->search({queries.data() + q * kDim, kDim}, 5, 32))
                out += hit.id + ' ' + std::to_string(hit.distance) + '\n';
        }
    }
    return out;
}

// An undamaged store, what it answers, and a copy of it to damage.
struct DamageTrial {
    TempDir tmp;
    const std::string original = (tmp.path() / "original").string();
    const std::string trial = (tmp.path() / "trial").string();
    std::string expected;
    uint64_t catalog_size = 0;

    DamageTrial() {
        make_store(original);
        expected = everything(original);
        catalog_size = fs::file_size(original + "/catalog");
    }
    // A fresh copy of the original at `trial`; returns its catalog's path.
    std::string reset() const {
        fs::remove_all(trial);
        fs::copy(original, trial, fs::copy_options::recursive);
        return trial + "/catalog";
    }
};

}  // namespace

TEST_CASE("a truncated catalog is refused at open, never a SIGBUS (size checked against the meta "
          "page)",
          "[corruption][catalog]") {
    const DamageTrial t;
    const uint64_t size = t.catalog_size;
    REQUIRE(size > 40 * 4096);

    std::vector<uint64_t> lengths = {1, 100, 4095, 4096, 4097, 8191, 8192, 8193, size - 1};
    for (uint64_t l = 3 * 4096; l < size; l += 4096 * 7)
        lengths.push_back(l);
    for (const uint64_t length : lengths) {
        CAPTURE(length);
        fs::resize_file(t.reset(), length);
        std::string message;
        const ErrorCode code = test::code_of([&] { everything(t.trial); }, &message);
        CAPTURE(message);
        CHECK(code == ErrorCode::kCorruption);
        if (length >= 2 * 4096)
            CHECK(message.find("is truncated") != std::string::npos);
    }
}

namespace {

enum class Outcome { kSame, kDetected, kWrong, kCrash };

// Reads `dir` in a child process, so that a signal is an outcome, not the end of the run.
Outcome read_damaged(const std::string& dir, const std::string& expected, std::string& detail) {
    const std::string out_file = dir + ".out";
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 0;
        try {
            const std::string got = everything(dir);
            FILE* f = std::fopen(out_file.c_str(), "wb");
            std::fwrite(got.data(), 1, got.size(), f);
            std::fclose(f);
        } catch (const Error& e) {
            FILE* f = std::fopen(out_file.c_str(), "wb");
            std::fputs(e.what(), f);
            std::fclose(f);
            code = 3;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    const auto bytes = test::read_file(out_file);
    detail.assign(bytes.begin(), bytes.end());
    fs::remove(out_file);
    if (!WIFEXITED(status)) {
        detail = "signal " + std::to_string(WTERMSIG(status));
        return Outcome::kCrash;
    }
    if (WEXITSTATUS(status) == 3)
        return Outcome::kDetected;
    if (WEXITSTATUS(status) != 0)
        return Outcome::kCrash;
    return detail == expected ? Outcome::kSame : Outcome::kWrong;
}

}  // namespace

TEST_CASE("a flipped byte anywhere in the catalog gives an error or the old answers, never a "
          "signal or a different answer (record checksums)",
          "[corruption][catalog]") {
    const DamageTrial t;
    std::mt19937_64 rng(15);
    int counts[4] = {0, 0, 0, 0};
    for (int i = 0; i < 200; ++i) {
        const uint64_t offset = rng() % t.catalog_size;
        CAPTURE(offset);
        test::flip_byte(t.reset(), offset);
        std::string detail;
        const Outcome o = read_damaged(t.trial, t.expected, detail);
        CAPTURE(detail.substr(0, 300));
        ++counts[static_cast<int>(o)];
        CHECK(o != Outcome::kCrash);
        CHECK(o != Outcome::kWrong);
    }
    WARN("same " << counts[0] << ", detected " << counts[1] << ", wrong " << counts[2]
                 << ", crash " << counts[3]);
}
