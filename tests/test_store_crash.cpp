// A process building commits is killed at random moments; every commit it reported stays
// intact and no half commit is ever visible.
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "test_support.h"
#include "vstore/store.h"

using namespace vstore;

namespace {

constexpr uint32_t kDim = 16;

std::vector<float> query_vector() { return test::random_vectors(1, kDim, 77); }

// What a reader sees of a commit: its live count and the answer to a fixed query.
std::string fingerprint(const Snapshot& s) {
    std::string f = std::to_string(s.size()) + ":";
    for (const auto& h : s.search(query_vector(), 5)) f += h.id + "=" + std::to_string(h.distance) + ",";
    return f;
}

// Builds a chain of commits forever, writing "commit\tfingerprint\n" after each finish().
[[noreturn]] void build_forever(const std::string& dir, int fd, unsigned seed) {
    try {
        auto store = Store::open(dir);
        std::mt19937 rng(seed);
        for (;;) {
            const auto commits = store->commits("d");
            std::optional<std::string> parent;
            uint64_t newest = 0;
            for (const auto& c : commits) {
                if (!parent || c.created_unix_ms >= newest) {
                    parent = c.commit;
                    newest = c.created_unix_ms;
                }
            }
            // (Built piecewise: g++ 12 warns falsely on a chain of string concatenations.)
            std::string name = "c";
            name += std::to_string(commits.size());
            name += '-';
            name += std::to_string(rng());
            auto b = store->begin_commit("d", name, parent);
            std::vector<std::string> live;
            if (parent) live = store->open_commit("d", *parent)->ids();
            std::shuffle(live.begin(), live.end(), rng);
            const size_t deletes = std::min<size_t>(live.size(), rng() % 40);
            for (size_t i = 0; i < deletes; ++i) b.remove(live[i]);
            const size_t inserts = 100 + rng() % 300;
            const auto data = test::random_vectors(inserts, kDim, rng());
            for (size_t i = 0; i < inserts; ++i) {
                b.insert(name + "/" + std::to_string(i), {data.data() + i * kDim, kDim});
            }
            b.finish();
            const std::string line = name + "\t" + fingerprint(*store->open_commit("d", name)) + "\n";
            if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
        }
    } catch (const std::exception& e) {
        ::_exit(2);
    }
}

}  // namespace

TEST_CASE("commits survive a builder killed at any moment", "[store][crash]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    {
        auto store = Store::create(path);
        store->create_domain("d", {kDim});
    }
    std::mt19937 rng(4242);
    std::map<std::string, std::string> reported;
    for (int round = 0; round < 60; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::close(fds[0]);
            build_forever(path, fds[1], static_cast<unsigned>(round));
        }
        ::close(fds[1]);
        ::usleep(5000 + rng() % 150000);
        ::kill(child, SIGKILL);
        std::string text;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        INFO("round " << round);
        REQUIRE(WIFSIGNALED(status));
        for (size_t pos = 0; pos < text.size();) {
            const size_t tab = text.find('\t', pos), end = text.find('\n', pos);
            if (end == std::string::npos) break;
            reported[text.substr(pos, tab - pos)] = text.substr(tab + 1, end - tab - 1);
            pos = end + 1;
        }

        auto store = Store::open(path);
        const auto commits = store->commits("d");
        for (const auto& [name, print] : reported) {
            REQUIRE(fingerprint(*store->open_commit("d", name)) == print);
        }
        // Every visible commit is whole: its graph file matches the catalog and loads.
        for (const auto& c : commits) {
            auto s = store->open_commit("d", c.commit);
            REQUIRE(s->size() == c.live_count);
            REQUIRE(s->check_graph().unreachable_live == 0);
        }
    }
    CHECK(reported.size() >= 10);
}

TEST_CASE("searches run on four threads while another thread commits", "[store][concurrency]") {
    test::TempDir dir;
    auto store = Store::create(dir.file("store"));
    store->create_domain("d", {kDim});
    const auto data = test::random_vectors(3000, kDim, 1);
    {
        auto b = store->begin_commit("d", "c0", std::nullopt);
        for (size_t i = 0; i < 2000; ++i) b.insert("id" + std::to_string(i), {data.data() + i * kDim, kDim});
        b.finish();
    }
    const auto q = query_vector();
    const auto expected = store->open_commit("d", "c0")->search(q, 10, 64);
    std::atomic<bool> done{false};
    std::atomic<int> bad{0}, searches{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
        readers.emplace_back([&] {
            while (!done) {
                try {
                    if (store->open_commit("d", "c0")->search(q, 10, 64) != expected) ++bad;
                    ++searches;
                } catch (...) {
                    ++bad;
                }
            }
        });
    }
    std::string parent = "c0";
    for (int c = 1; c <= 5; ++c) {
        const std::string name = std::string("c").append(std::to_string(c));
        auto b = store->begin_commit("d", name, parent);
        for (size_t i = 0; i < 200; ++i) {
            const size_t n = 2000 + (c - 1) * 200 + i;
            b.insert("id" + std::to_string(n), {data.data() + n * kDim, kDim});
        }
        b.remove("id" + std::to_string(c));
        b.finish();
        parent = name;
    }
    done = true;
    for (auto& t : readers) t.join();
    CHECK(bad == 0);
    CHECK(searches > 0);
    CHECK(store->open_commit("d", "c5")->size() == 2000 + 5 * 200 - 5);
}
