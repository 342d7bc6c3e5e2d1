// A process building commits is killed at random moments; every commit it reported stays
// intact and no half commit is ever visible.
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <random>
#include <thread>

#include "test_support.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

using namespace vstore;

namespace {

constexpr uint32_t kDim = 16;

std::vector<float> query_vector() {
    return test::random_vectors(1, kDim, 77);
}

// What a reader sees of a commit: its live count and the answer to a fixed query.
std::string fingerprint(const Snapshot& s) {
    std::string f = std::to_string(s.size()) + ":";
    for (const auto& h : s.search(query_vector(), 5))
        f += h.id + "=" + std::to_string(h.distance) + ",";
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
            if (parent && rng() % 4 == 0) {
                // A commit that changes nothing: it shares its parent's graph.
                store->assign("d", *parent, name);
                const std::string line =
                    name + "\t" + fingerprint(*store->open_commit("d", name)) + "\n";
                if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
                    ::_exit(3);
                continue;
            }
            auto b = store->begin_commit("d", name, parent);
            std::vector<std::string> live;
            if (parent)
                live = store->open_commit("d", *parent)->ids();
            std::shuffle(live.begin(), live.end(), rng);
            const size_t deletes = std::min<size_t>(live.size(), rng() % 40);
            for (size_t i = 0; i < deletes; ++i)
                b.remove(live[i]);
            const size_t inserts = 100 + rng() % 300;
            const auto data = test::random_vectors(inserts, kDim, rng());
            for (size_t i = 0; i < inserts; ++i) {
                b.insert(name + "/" + std::to_string(i), {data.data() + i * kDim, kDim});
            }
            b.finish();
            const std::string line =
                name + "\t" + fingerprint(*store->open_commit("d", name)) + "\n";
            if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
                ::_exit(3);
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
        std::string text;
        char buf[4096];
        ssize_t n;
        // Every third round lets the child finish a commit first, so that kills also land
        // late in long chains, whatever the speed of the build (sanitizers slow it down).
        if (round % 3 == 0) {
            while (text.find('\n') == std::string::npos &&
                   (n = ::read(fds[0], buf, sizeof buf)) > 0) {
                text.append(buf, static_cast<size_t>(n));
            }
        }
        ::usleep(5000 + rng() % 150000);
        ::kill(child, SIGKILL);
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
            text.append(buf, static_cast<size_t>(n));
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        INFO("round " << round);
        REQUIRE(WIFSIGNALED(status));
        for (size_t pos = 0; pos < text.size();) {
            const size_t tab = text.find('\t', pos), end = text.find('\n', pos);
            if (end == std::string::npos)
                break;
            reported[text.substr(pos, tab - pos)] = text.substr(tab + 1, end - tab - 1);
            pos = end + 1;
        }

        auto store = Store::open(path);
        const auto commits = store->commits("d");
        for (const auto& [name, print] : reported) {
            REQUIRE(fingerprint(*store->open_commit("d", name)) == print);
        }
        // Every visible commit is whole: each file of its graph chain matches the catalog,
        // byte for byte, and loads.
        for (const auto& c : commits) {
            store->verify_graph("d", c.commit);
            auto s = store->open_commit("d", c.commit);
            REQUIRE(s->size() == c.live_count);
            REQUIRE(s->check_graph().unreachable_live == 0);
        }
    }
    CHECK(reported.size() >= 20);
}

TEST_CASE("searches run on four threads while another thread commits", "[store][concurrency]") {
    test::TempDir dir;
    auto store = Store::create(dir.file("store"));
    store->create_domain("d", {kDim});
    const auto data = test::random_vectors(3000, kDim, 1);
    {
        auto b = store->begin_commit("d", "c0", std::nullopt);
        for (size_t i = 0; i < 2000; ++i)
            b.insert("id" + std::to_string(i), {data.data() + i * kDim, kDim});
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
                    if (store->open_commit("d", "c0")->search(q, 10, 64) != expected)
                        ++bad;
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
    for (auto& t : readers)
        t.join();
    CHECK(bad == 0);
    CHECK(searches > 0);
    CHECK(store->open_commit("d", "c5")->size() == 2000 + 5 * 200 - 5);
}

TEST_CASE("a builder dying at each named point of the commit path loses nothing",
          "[store][crash]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    const auto data = test::random_vectors(1200, kDim, 31);
    std::string base_print;
    {
        auto store = Store::create(path);
        store->create_domain("d", {kDim});
        auto b = store->begin_commit("d", "base", std::nullopt);
        for (size_t i = 0; i < 600; ++i)
            b.insert(test::numbered("id", i), {data.data() + i * kDim, kDim});
        b.finish();
        base_print = fingerprint(*store->open_commit("d", "base"));
    }
    // Each round builds "at-<point>" on "base": one delete and 100 inserts.
    auto build = [&](Store& store, const std::string& name, size_t first) {
        auto b = store.begin_commit("d", name, "base");
        b.remove("id3");
        for (size_t i = first; i < first + 100; ++i) {
            b.insert(test::numbered("id", i), {data.data() + i * kDim, kDim});
        }
        return b.finish();
    };
    const char* points[] = {"vectors-written", "vectors-appended",    "graph-half-written",
                            "graph-renamed",   "catalog-txn-written", "catalog-published"};
    size_t first = 600;
    size_t expected_commits = 1;
    for (const char* point : points) {
        INFO("crash at " << point);
        const std::string name = std::string("at-") + point;
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::setenv("VSTORE_CRASH_AT", point, 1);
            try {
                auto store = Store::open(path);
                build(*store, name, first);
            } catch (...) {
                ::_exit(2);
            }
            ::_exit(0);  // the crash point was never reached
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);

        auto store = Store::open(path);
        REQUIRE(fingerprint(*store->open_commit("d", "base")) == base_print);
        const bool published = std::string(point) == "catalog-published";
        REQUIRE(store->commits("d").size() == expected_commits + (published ? 1 : 0));
        if (!published) {
            // The same commit can be made now: torn vectors, half-written and orphaned files
            // are no bar to it.
            CHECK(build(*store, name, first).live_count == 699);
        }
        ++expected_commits;
        auto s = store->open_commit("d", name);
        CHECK(s->size() == 699);
        CHECK_FALSE(s->contains("id3"));
        CHECK(s->contains(test::numbered("id", first + 99)));
        CHECK(s->check_graph().unreachable_live == 0);
        first += 100;
    }
    // An assign dying around its catalog transaction: the new commit is there whole or not.
    for (const char* point : {"catalog-txn-written", "catalog-published"}) {
        INFO("assign crashing at " << point);
        const std::string name = std::string("tag-") + point;
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::setenv("VSTORE_CRASH_AT", point, 1);
            try {
                Store::open(path)->assign("d", "base", name);
            } catch (...) {
                ::_exit(2);
            }
            ::_exit(0);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(WIFSIGNALED(status));
        auto store = Store::open(path);
        const bool published = std::string(point) == "catalog-published";
        if (!published)
            CHECK(store->assign("d", "base", name).graph_owner == std::optional<std::string>("base"));
        REQUIRE(fingerprint(*store->open_commit("d", name)) == base_print);
    }
    // Every vector file byte that counts still checks out.
    CHECK(VectorFile::open(path + "/d.vecs")->verify().ok());
}

// ---- crash leftovers (issue 15, defect 8) ---------------------------------------------------

namespace {

// The `.tmp-*` files of a store directory.
std::set<std::string> temporary_files_in(const std::string& dir) {
    std::set<std::string> names;
    for (const std::string& name : test::files_in(dir)) {
        if (name.rfind(".tmp-", 0) == 0)
            names.insert(name);
    }
    return names;
}

// A temporary file written by hand, as a writer that died would leave it.
std::string leave_temporary_file(const std::string& dir, long long pid, const char* tail,
                                 size_t bytes) {
    std::string name = ".tmp-";
    name += std::to_string(pid);
    name += tail;
    test::write_bytes(dir + "/" + name, 0, std::vector<uint8_t>(bytes, 7));
    return name;
}

}  // namespace

TEST_CASE(
    "stale temporary files fix: the next writer removes what killed writers left, and "
    "never a live writer's",
    "[store][crash]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    const auto data = test::random_vectors(300, kDim, 41);
    {
        auto store = Store::create(path);
        store->create_domain("d", {kDim});
        auto b = store->begin_commit("d", "base", std::nullopt);
        for (size_t i = 0; i < 200; ++i)
            b.insert(test::numbered("id", i), {data.data() + i * kDim, kDim});
        b.finish();
    }
    std::vector<CrashLeftovers> reports;
    StoreOptions options;
    options.on_crash_leftovers = [&](const CrashLeftovers& r) { reports.push_back(r); };

    // A live writer: a child holding a builder (so the writer lock) and a temporary file.
    int ready[2], never[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(never) == 0);
    const pid_t live = ::fork();
    REQUIRE(live >= 0);
    if (live == 0) {
        try {
            auto store = Store::open(path);
            auto b = store->begin_commit("d", "live", "base");
            leave_temporary_file(path, ::getpid(), "-live", 100);
            [[maybe_unused]] auto n = ::write(ready[1], "x", 1);
            char c;
            n = ::read(never[0], &c, 1);  // until killed
        } catch (...) {
        }
        ::_exit(2);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    const std::set<std::string> live_files = temporary_files_in(path);
    REQUIRE(live_files.size() == 1);
    {
        auto store = Store::open(path, options);
        const auto busy = [&](const std::function<void()>& fn) {
            CHECK(test::code_of(fn) == ErrorCode::kConflict);
        };
        busy([&] { store->begin_commit("d", "next", "base"); });
        busy([&] { store->create_domain("e", {kDim}); });
        busy([&] { store->drop_commits("d", {"base"}); });
        busy([&] { store->vacuum("d"); });
        GcOptions gc;
        gc.keep_last = 1;
        busy([&] { store->gc(gc); });
        CHECK(temporary_files_in(path) == live_files);
        CHECK(reports.empty());
    }
    // Killed, its file is a crashed writer's, whatever became of its process id: the next
    // writer removes it.
    ::kill(live, SIGKILL);
    ::waitpid(live, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    ::close(never[0]);
    ::close(never[1]);
    {
        auto store = Store::open(path, options);
        store->begin_commit("d", "next", "base");
        REQUIRE(reports.size() == 1);
        CHECK(reports[0].dir == path);
        CHECK(std::set<std::string>(reports[0].names.begin(), reports[0].names.end()) ==
              live_files);
        CHECK(reports[0].bytes == 100);
        CHECK(temporary_files_in(path).empty());
    }
    reports.clear();

    // A builder killed halfway through its graph file, and files left under the process id of
    // this test, which runs: the next writer removes them all, and nothing else.
    pid_t killed = 0;
    REQUIRE(test::killed_at(
        "graph-half-written",
        [&] {
            auto store = Store::open(path);
            auto b = store->begin_commit("d", "killed", "base");
            for (size_t i = 200; i < 300; ++i)
                b.insert(test::numbered("id", i), {data.data() + i * kDim, kDim});
            b.finish();
        },
        &killed));
    const std::string prefix = ".tmp-" + std::to_string(killed) + "-";
    std::set<std::string> stale = temporary_files_in(path);
    REQUIRE(stale.size() == 1);
    REQUIRE(stale.begin()->rfind(prefix, 0) == 0);
    uint64_t stale_bytes = std::filesystem::file_size(path + "/" + *stale.begin());
    stale.insert(leave_temporary_file(path, ::getpid(), "-0123456789abcdef", 10));
    std::string catalog_tmp = ".tmp-catalog-";
    catalog_tmp += std::to_string(::getpid());
    catalog_tmp += "-0123456789abcdef";
    stale.insert(catalog_tmp);
    test::write_bytes(path + "/" + catalog_tmp, 0, std::vector<uint8_t>(20, 1));
    stale_bytes += 30;
    std::set<std::string> others = test::files_in(path);
    for (const auto& name : stale)
        others.erase(name);
    {
        auto store = Store::open(path, options);
        auto b = store->begin_commit("d", "killed", "base");
        REQUIRE(reports.size() == 1);
        CHECK(std::vector<std::string>(stale.begin(), stale.end()) == reports[0].names);
        CHECK(reports[0].bytes == stale_bytes);
        CHECK(test::files_in(path) == others);
        for (size_t i = 200; i < 300; ++i)
            b.insert(test::numbered("id", i), {data.data() + i * kDim, kDim});
        CHECK(b.finish().live_count == 300);
    }
    reports.clear();

    // Every writer does the same, but a dry run, and gc reports them with its orphans.
    auto store = Store::open(path, options);
    leave_temporary_file(path, 1, "-a", 1);
    store->create_domain("e", {kDim});
    CHECK(reports.size() == 1);
    leave_temporary_file(path, 1, "-b", 1);
    store->vacuum("d");
    CHECK(reports.size() == 2);
    const std::string c_name = leave_temporary_file(path, 1, "-c", 1);
    store->drop_commits("d", {"base"}, /*dry_run=*/true);
    CHECK(reports.size() == 2);
    GcOptions gc;
    gc.keep_last = 10;
    gc.dry_run = true;
    CHECK(store->gc(gc).orphans == std::vector<std::string>{c_name});
    CHECK(temporary_files_in(path) == std::set<std::string>{c_name});
    gc.dry_run = false;
    CHECK(store->gc(gc).orphans == std::vector<std::string>{c_name});
    CHECK(temporary_files_in(path).empty());
    CHECK(reports.size() == 2);
    leave_temporary_file(path, 1, "-d", 1);
    store->drop_commits("d", {"killed"});
    CHECK(reports.size() == 3);
    CHECK(temporary_files_in(path).empty());
}
