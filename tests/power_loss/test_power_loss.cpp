// Power loss at every durability point of every write path (power_cut.h): the store then
// opens, every acknowledged change is there, every commit answers exactly as before, no change
// is half there, and the next writer carries on.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "power_cut.h"
#include "test_support.h"
#include "vstore/lifecycle.h"
#include "vstore/pack.h"
#include "vstore/store.h"

using namespace vstore;
namespace fs = std::filesystem;
namespace power_cut = vstore::test::power_cut;

namespace {

constexpr uint32_t kDim = 8;
const char* const kDomain = "d";

std::vector<float> vectors(uint64_t first, uint64_t count) {
    return test::random_vectors(count, kDim, 1000 + first);
}

void insert_range(CommitBuilder& b, uint64_t first, uint64_t count) {
    const auto data = vectors(first, count);
    for (uint64_t i = 0; i < count; ++i)
        b.insert(test::numbered("id", static_cast<long long>(first + i)), {data.data() + i * kDim, kDim});
}

// What a commit answers, as text: its live ids, one stored vector, exact answers to fixed
// queries, and with `graph`, the graph search's answers too. A new commit's graph is built by
// parallel inserts, so two builds of it can differ; an existing commit's never changes.
std::string fingerprint(const Snapshot& s, bool graph) {
    std::string f = std::to_string(s.size()) + " ids:";
    const auto ids = s.ids();
    for (const auto& id : ids)
        f += id + ",";
    if (!ids.empty()) {
        for (float x : s.vector(ids.front()))
            f += std::to_string(x) + ",";
    }
    const auto queries = test::random_vectors(3, kDim, 7);
    for (size_t q = 0; q < 3; ++q) {
        const std::span<const float> query(queries.data() + q * kDim, kDim);
        f += " exact:";
        for (const auto& h : s.search_exact(query, 5))
            f += h.id + "=" + std::to_string(h.distance) + ",";
        if (graph) {
            f += " graph:";
            for (const auto& h : s.search(query, 5, 32))
                f += h.id + "=" + std::to_string(h.distance) + ",";
        }
    }
    return f;
}

// Every commit of the domain and its fingerprint; with `graph_of`, graph answers for the
// commits it names. Each commit's graph files are checked byte for byte on the way.
using Answers = std::map<std::string, std::string>;
Answers answers_of(Store& store, const std::set<std::string>& graph_of) {
    Answers a;
    for (const auto& c : store.commits(kDomain)) {
        store.verify_graph(kDomain, c.commit);
        const auto s = store.open_commit(kDomain, c.commit);
        REQUIRE(s->size() == c.live_count);
        a[c.commit] = fingerprint(*s, graph_of.count(c.commit) > 0);
    }
    return a;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

std::string encode(const Answers& a) {
    std::string text;
    for (const auto& [name, print] : a)
        text += name + "\t" + print + "\n";
    return text;
}

Answers decode(const std::string& text) {
    Answers a;
    for (size_t pos = 0; pos < text.size();) {
        const size_t tab = text.find('\t', pos), end = text.find('\n', pos);
        a[text.substr(pos, tab - pos)] = text.substr(tab + 1, end - tab - 1);
        pos = end + 1;
    }
    return a;
}

// A scratch tree: `pristine` holds the state before the change, `root` a copy of it that one
// child process at a time changes and loses power over.
struct Bench {
    test::TempDir dir;
    fs::path pristine = dir.path() / "pristine";
    fs::path root = dir.path() / "root";
    fs::path report = dir.path() / "report";
    fs::path steps = dir.path() / "steps";
    std::string store() const { return (root / "store").string(); }

    // In the child: a step of the change has returned (the caller was told it is done).
    void acknowledge(const std::string& step) const { std::ofstream(steps, std::ios::app) << step << "\n"; }
    // In the parent: the steps the child acknowledged before its power was cut.
    std::set<std::string> acknowledged_steps() const {
        std::set<std::string> names;
        std::ifstream in(steps);
        for (std::string line; std::getline(in, line);)
            names.insert(line);
        return names;
    }

    Bench() { fs::create_directories(pristine); }

    // Copies `pristine` to `root`.
    void reset() {
        fs::remove_all(root);
        fs::copy(pristine, root, fs::copy_options::recursive);
    }

    // Runs `change` in a child over a fresh copy, and cuts the power before its durability
    // point `cut_at` (never when negative; then after `change` returns, when `after` has
    // reported what it sees into the report file). Returns whether `change` returned first.
    bool run(long cut_at, power_cut::Unsynced unsynced, const std::function<void()>& change,
             const std::function<std::string()>& after) {
        reset();
        fs::remove(report);
        fs::remove(steps);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            try {
                power_cut::arm(root.string(), cut_at, unsynced);
                change();
                write_text(report, after());
            } catch (const std::exception& e) {
                write_text(dir.path() / "error", e.what());
                ::_exit(2);
            }
            power_cut::cut();
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        INFO("child error: " << read_text(dir.path() / "error"));
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == power_cut::kPowerCutExit);
        return fs::exists(report);
    }

    // Cuts the power at each durability point of `change` in turn, and once after it
    // returns, keeping each share of unsynced writes in turn (power_cut::Unsynced);
    // `check(acknowledged)` looks at what each cut left. Returns the points tried.
    long at_every_point(const std::function<void()>& change,
                        const std::function<std::string()>& after,
                        const std::function<void(bool)>& check) {
        for (long point = 0;; ++point) {
            bool acknowledged = true;
            for (const auto mode : power_cut::kEveryUnsyncedMode) {
                INFO("power cut before durability point " << point << ", "
                                                          << power_cut::unsynced_name(mode));
                const bool returned = run(point, mode, change, after);
                check(returned);
                acknowledged = acknowledged && returned;
            }
            if (acknowledged)
                return point;
            REQUIRE(point < 10000);
        }
    }
};

// What the change under test made, seen by the process that made it before the power went:
// every commit's answers (graph answers for the commits that existed before).
std::function<std::string()> report_answers(Bench& bench, const std::set<std::string>& old) {
    return [&bench, old] {
        auto store = Store::open(bench.store());
        return encode(answers_of(*store, old));
    };
}

// After a cut: the store opens, holds `before`'s commits or `after`'s (the latter when the
// change was acknowledged), each answering as it did, and the next writer commits on top.
void check_store(Bench& bench, const Answers& before, const Answers& after, bool acknowledged,
                 const std::set<std::string>& old) {
    auto store = Store::open(bench.store());
    const Answers now = answers_of(*store, old);
    if (acknowledged) {
        CHECK(now == after);
    } else {
        const bool as_before = now == before, as_after = now == after;
        CHECK((as_before || as_after));
    }
    auto b = store->begin_commit(kDomain, "next", now.empty() ? std::nullopt
                                                               : std::optional(now.rbegin()->first));
    insert_range(b, 5000, 20);
    b.finish();
    CHECK(store->open_commit(kDomain, "next")->contains("id5000"));
    for (const auto& [name, print] : now)
        CHECK(fingerprint(*store->open_commit(kDomain, name), old.count(name) > 0) == print);
}

// A store with commits c1 (300 ids) and c2 (c1 less 30 ids, 20 replaced, 100 more).
void make_two_commits(const std::string& dir) {
    auto store = Store::create(dir);
    store->create_domain(kDomain, {kDim});
    {
        auto b = store->begin_commit(kDomain, "c1", std::nullopt);
        insert_range(b, 0, 300);
        b.finish();
    }
    auto b = store->begin_commit(kDomain, "c2", "c1");
    for (int i = 0; i < 30; ++i)
        b.remove(test::numbered("id", i));
    const auto data = vectors(9000, 20);
    for (int i = 0; i < 20; ++i)
        b.replace(test::numbered("id", 100 + i), {data.data() + i * kDim, kDim});
    insert_range(b, 300, 100);
    b.finish();
}

// The answers of the pristine store, and of the store once `change` has run unharmed.
struct Expected {
    Answers before, after;
};

Expected expected_of(Bench& bench, const std::set<std::string>& old,
                     const std::function<void()>& change) {
    Expected e;
    {
        auto store = Store::open((bench.pristine / "store").string());
        e.before = answers_of(*store, old);
    }
    REQUIRE(bench.run(-1, power_cut::Unsynced::kNone, change, report_answers(bench, old)));
    e.after = decode(read_text(bench.report));
    return e;
}

void check_change(Bench& bench, const std::set<std::string>& old,
                  const std::function<void()>& change) {
    const Expected e = expected_of(bench, old, change);
    REQUIRE(e.before != e.after);
    const long points = bench.at_every_point(change, report_answers(bench, old), [&](bool acked) {
        check_store(bench, e.before, e.after, acked, old);
    });
    CHECK(points >= 2);
}

}  // namespace

TEST_CASE("the power-cut model keeps only what was made durable", "[power_loss]") {
    const auto mode = GENERATE(from_range(std::begin(power_cut::kEveryUnsyncedMode),
                                          std::end(power_cut::kEveryUnsyncedMode)));
    INFO(power_cut::unsynced_name(mode));
    test::TempDir dir;
    const fs::path root = dir.path() / "root";
    fs::create_directories(root / "sub");
    write_text(root / "old", "old bytes");
    const auto write_synced = [](const fs::path& path, const std::string& text, bool sync) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        if (sync)
            REQUIRE(::fdatasync(fd) == 0);
        ::close(fd);
    };
    const auto sync_dir = [](const fs::path& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
        REQUIRE(::fsync(fd) == 0);
        ::close(fd);
    };
    const int status = test::run_in_child(nullptr, [&] {
        power_cut::arm(root.string(), -1, mode);
        write_synced(root / "synced-data", "data", true);
        write_synced(root / "sub" / "whole", "kept", true);
        sync_dir(root / "sub");
        write_synced(root / "old", "new bytes, never synced", false);
        {
            const int fd = ::open((root / "old").c_str(), O_WRONLY);
            REQUIRE(::pwrite(fd, "XY", 2, 0) == 2);
            ::close(fd);
        }
        ::rename((root / "sub" / "whole").c_str(), (root / "sub" / "moved").c_str());
        write_synced(root / "named-only", "bytes never synced", false);
        sync_dir(root);  // names "named-only" and "synced-data"
        {
            const int fd = ::open((root / "dsync").c_str(), O_WRONLY | O_CREAT | O_DSYNC, 0644);
            REQUIRE(::pwrite(fd, "dsync", 5, 0) == 5);
            ::close(fd);
        }
        sync_dir(root);
        write_synced(root / "late", "lost", true);  // its name never durable
        if (power_cut::points_seen() != 7)
            ::_exit(3);
        power_cut::cut();
    });
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == power_cut::kPowerCutExit);
    CHECK(test::files_in(root.string()) ==
          std::set<std::string>{"dsync", "named-only", "old", "sub", "synced-data"});
    // Of the two writes to "old" since it was armed, a cut keeps none, the newest, or both.
    const char* const old_bytes[] = {"old bytes", "XYd bytes", "XYw bytes, never synced"};
    CHECK(read_text(root / "old") == old_bytes[static_cast<int>(mode)]);
    CHECK(read_text(root / "synced-data") == "data");
    CHECK(read_text(root / "named-only") ==
          (mode == power_cut::Unsynced::kNone ? "" : "bytes never synced"));
    CHECK(read_text(root / "dsync") == "dsync");
    CHECK(test::files_in((root / "sub").string()) == std::set<std::string>{"whole"});
    CHECK(read_text(root / "sub" / "whole") == "kept");
}

TEST_CASE("power cuts while a store is created and first committed to", "[power_loss]") {
    Bench bench;
    const auto change = [&] {
        auto store = Store::create(bench.store());
        bench.acknowledge("store");
        store->create_domain(kDomain, {kDim});
        bench.acknowledge("domain");
        auto b = store->begin_commit(kDomain, "c1", std::nullopt);
        insert_range(b, 0, 200);
        b.finish();
    };
    REQUIRE(bench.run(-1, power_cut::Unsynced::kNone, change, report_answers(bench, {})));
    const Answers after = decode(read_text(bench.report));
    REQUIRE(after.size() == 1);
    bench.at_every_point(change, report_answers(bench, {}), [&](bool acked) {
        const auto steps = bench.acknowledged_steps();
        if (!steps.count("store") && !fs::exists(bench.store() + "/catalog")) {
            // Nothing of the store was durable: creating it again works.
            change();
            return;
        }
        // A created store opens, an acknowledged domain is there with its vector file, and
        // the commit is there whole or not at all.
        auto store = Store::open(bench.store());
        const auto domains = store->domains();
        if (steps.count("domain"))
            REQUIRE(domains.size() == 1);
        if (domains.empty())
            return;
        CHECK(store->space(kDomain).domains.at(0).vector_file_bytes > 0);
        const Answers now = answers_of(*store, {});
        if (acked || !now.empty())
            CHECK(now == after);
        auto b = store->begin_commit(kDomain, "next", now.empty() ? std::nullopt
                                                                   : std::optional<std::string>("c1"));
        insert_range(b, 5000, 20);
        b.finish();
    });
}

TEST_CASE("power cuts during a commit keep every acknowledged commit", "[power_loss]") {
    Bench bench;
    make_two_commits((bench.pristine / "store").string());
    check_change(bench, {"c1", "c2"}, [&] {
        auto store = Store::open(bench.store());
        auto b = store->begin_commit(kDomain, "c3", "c2");
        for (int i = 40; i < 60; ++i)
            b.remove(test::numbered("id", i));
        insert_range(b, 400, 150);
        b.finish();
    });
}

TEST_CASE("power cuts during assign keep every acknowledged commit", "[power_loss]") {
    Bench bench;
    make_two_commits((bench.pristine / "store").string());
    check_change(bench, {"c1", "c2"}, [&] {
        auto store = Store::open(bench.store());
        store->assign(kDomain, "c1", "c1-again");
    });
}

TEST_CASE("power cuts during drop and gc drop all or nothing", "[power_loss]") {
    Bench bench;
    make_two_commits((bench.pristine / "store").string());
    SECTION("drop") {
        check_change(bench, {"c1", "c2"}, [&] {
            auto store = Store::open(bench.store());
            store->drop_commits(kDomain, {"c1"});
        });
    }
    SECTION("gc") {
        check_change(bench, {"c1", "c2"}, [&] {
            auto store = Store::open(bench.store());
            GcOptions options;
            options.keep_last = 1;
            store->gc(options);
        });
    }
}

TEST_CASE("power cuts during vacuum leave the old files or the new", "[power_loss]") {
    Bench bench;
    make_two_commits((bench.pristine / "store").string());
    {
        auto store = Store::open((bench.pristine / "store").string());
        store->drop_commits(kDomain, {"c1"});
    }
    const auto vector_file_bytes = [](const Store& store) {
        return store.space(kDomain).domains.at(0).vector_file_bytes;
    };
    const Expected e = expected_of(bench, {"c2"}, [&] {
        auto store = Store::open(bench.store());
        store->vacuum(kDomain);
    });
    // Vacuum changes files, not answers.
    REQUIRE(e.before == e.after);
    uint64_t vacuumed_bytes = 0;
    {
        bench.reset();
        auto store = Store::open(bench.store());
        const uint64_t bytes_before = vector_file_bytes(*store);
        store->vacuum(kDomain);
        vacuumed_bytes = vector_file_bytes(*store);
        REQUIRE(vacuumed_bytes < bytes_before);
    }
    bench.at_every_point(
        [&] {
            auto store = Store::open(bench.store());
            store->vacuum(kDomain);
        },
        report_answers(bench, {"c2"}),
        [&](bool acked) {
            if (acked)
                CHECK(vector_file_bytes(*Store::open(bench.store())) == vacuumed_bytes);
            check_store(bench, e.before, e.after, acked, {"c2"});
        });
}

TEST_CASE("power cuts while a pack is written leave no pack or a whole one", "[power_loss]") {
    Bench bench;
    make_two_commits((bench.pristine / "store").string());
    const std::string name = GENERATE(as<std::string>{}, "c2.pack", "c2.tar.xz");
    const std::string out = (bench.root / name).string();
    std::string expected;
    {
        auto store = Store::open((bench.pristine / "store").string());
        expected = fingerprint(*store->open_commit(kDomain, "c2"), true);
    }
    const auto change = [&] {
        auto store = Store::open(bench.store());
        PackWriteOptions options;
        options.threads = 1;
        Pack::write(*store, kDomain, "c2", out, options);
    };
    const auto report = [] { return std::string("written"); };
    bench.at_every_point(change, report, [&](bool acked) {
        if (acked)
            REQUIRE(fs::exists(out));
        if (fs::exists(out))
            CHECK(fingerprint(*Pack::open(out)->snapshot(), true) == expected);
        // The store is as it was, and the next pack writer removes what this one left.
        {
            auto store = Store::open(bench.store());
            CHECK(fingerprint(*store->open_commit(kDomain, "c2"), true) == expected);
            Pack::write(*store, kDomain, "c2", (bench.root / "again.pack").string());
        }
        std::set<std::string> left = test::files_in(bench.root.string());
        left.erase("store");
        left.erase("again.pack");
        left.erase(name);
        CHECK(left.empty());
    });
}
