// The lifecycle of a store (spec/lifecycle.md): dropping commits, gc by a retention rule, the
// space report, crashes in the middle of a drop, and readers that hold what is dropped.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "test_support.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

using namespace vstore;
namespace fs = std::filesystem;
using test::code_of;
using test::files_in;

namespace {

constexpr uint32_t kDim = 16;

GcOptions keep_last(size_t n) {
    GcOptions o;
    o.keep_last = n;
    return o;
}

const std::vector<float>& queries() {
    static const std::vector<float> q = test::random_vectors(30, kDim, 99);
    return q;
}

// What a commit answers: graph searches at two breadths and an exact search, ids and
// distances, for 30 queries.
std::vector<std::vector<SearchHit>> answers(const Snapshot& s) {
    std::vector<std::vector<SearchHit>> out;
    for (size_t q = 0; q < 30; ++q) {
        const std::span<const float> query(queries().data() + q * kDim, kDim);
        out.push_back(s.search(query, 10, 16));
        out.push_back(s.search(query, 10, 64));
        out.push_back(s.search_exact(query, 10));
    }
    return out;
}

// A chain base, c1 ... c<n> (each deleting 10, replacing 10 and inserting 40 items) with
// deltas over the parent, a full file every fourth graph, and "tag" sharing c<n>'s graph.
struct Chain {
    std::vector<std::string> commits;  // base first
    std::map<std::string, std::vector<std::vector<SearchHit>>> answers;
};

StoreOptions chain_options() {
    StoreOptions o;
    o.exact_threshold = 0;                     // every search goes through the graph
    o.graph_policy.max_delta_share = 1;        // deltas whatever their size ...
    o.graph_policy.max_chain_depth = 3;        // ... three at most before a full file
    o.tombstone_threshold = 1;                 // never compacted
    return o;
}

Chain make_chain(Store& store, size_t n) {
    store.create_domain("d", {kDim});
    const auto data = test::random_vectors(1000 + n * 50, kDim, 5);
    auto row = [&](size_t i) { return std::span<const float>(data.data() + i * kDim, kDim); };
    Chain chain;
    {
        auto b = store.begin_commit("d", "base", std::nullopt);
        for (size_t i = 0; i < 500; ++i)
            b.insert(test::numbered("id", i), row(i));
        b.finish();
    }
    chain.commits.push_back("base");
    size_t next = 500, oldest = 0;
    for (size_t c = 1; c <= n; ++c) {
        const std::string name = test::numbered("c", static_cast<long long>(c));
        auto b = store.begin_commit("d", name, chain.commits.back());
        for (size_t j = 0; j < 10; ++j)
            b.remove(test::numbered("id", oldest++));
        for (size_t j = 0; j < 10; ++j)
            b.replace(test::numbered("id", oldest + j), row(next + 10 + j));
        for (size_t j = 0; j < 40; ++j, ++next)
            b.insert(test::numbered("id", next), row(next));
        next += 10;
        b.finish();
        chain.commits.push_back(name);
    }
    store.assign("d", chain.commits.back(), "tag");
    chain.commits.push_back("tag");
    for (const auto& c : chain.commits)
        chain.answers[c] = answers(*store.open_commit("d", c));
    return chain;
}

// The commits a vacuumable chain dropped.
std::set<std::string> vacuumable_dropped() {
    return {"base", "c1", "c2", "c3"};
}

// A store at `path` with the chain of six commits and its first four dropped: vectors that
// only the dropped commits referred to are left for a vacuum.
Chain make_vacuumable_chain(const std::string& path) {
    auto store = Store::create(path, chain_options());
    Chain chain = make_chain(*store, 6);
    const auto dropped = vacuumable_dropped();
    store->drop_commits("d", std::vector<std::string>(dropped.begin(), dropped.end()));
    return chain;
}

void require_answers_unchanged(Store& store, const Chain& chain,
                               const std::set<std::string>& dropped) {
    for (const auto& c : chain.commits) {
        INFO("commit " << c);
        if (dropped.count(c)) {
            CHECK(code_of([&] { store.commit("d", c); }) == ErrorCode::kNotFound);
            CHECK(code_of([&] { store.open_commit("d", c); }) == ErrorCode::kNotFound);
        } else {
            REQUIRE(answers(*store.open_commit("d", c)) == chain.answers.at(c));
            store.verify_graph("d", c);
        }
    }
}

std::set<std::string> chain_names(const std::vector<CommitInfo>& commits) {
    std::set<std::string> names;
    for (const auto& c : commits)
        for (const auto& f : c.graph_chain)
            names.insert(f.name);
    return names;
}

}  // namespace

TEST_CASE("dropping commits keeps every other commit's answers and only its files",
          "[store][lifecycle]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    auto store = Store::create(path, chain_options());
    const Chain chain = make_chain(*store, 9);
    const auto before = store->commits("d");
    // c1..c3 are deltas on base; c4 is full with c5, c6 on it; c8 is full, c9 and tag on it.
    REQUIRE(store->commit("d", "c4").graph_kind == format::GraphKind::kFull);
    REQUIRE(store->commit("d", "c5").graph_chain.size() == 2);

    // base and c2 are bases of kept chains (c3 needs both); c5 is one of c6's; c9 owns tag's
    // graph; c7 is needed by nobody.
    const std::vector<std::string> drop = {"base", "c2", "c5", "c7", "c9"};
    const std::set<std::string> dropped(drop.begin(), drop.end());

    SECTION("a dry run reports and changes nothing") {
        const auto files = files_in(path);
        const DroppedCommits plan = store->drop_commits("d", drop, /*dry_run=*/true);
        CHECK(plan.dropped == std::vector<std::string>{"base", "c2", "c5", "c7", "c9"});
        CHECK(files_in(path) == files);
        CHECK(store->commits("d").size() == before.size());
        require_answers_unchanged(*store, chain, {});
    }

    const auto snapshot_c7 = store->open_commit("d", "c7");  // held across the drop
    const DroppedCommits r = store->drop_commits("d", drop);
    CHECK(r.domain == "d");
    CHECK(r.dropped == std::vector<std::string>{"base", "c2", "c5", "c7", "c9"});
    // Children whose parent went: c1 (base), c3 (c2), c6 (c5), c8 (c7), tag (c9).
    CHECK(r.cut == std::vector<std::string>{"c1", "c3", "c6", "c8", "tag"});
    std::set<std::string> removed, kept;
    for (const auto& f : r.removed)
        removed.insert(f.name);
    for (const auto& f : r.kept)
        kept.insert(f.name);
    CHECK(removed == std::set<std::string>{"d@c7.hnsw"});
    CHECK(kept == std::set<std::string>{"d@base.hnsw", "d@c2.hnsw", "d@c5.hnsw", "d@c9.hnsw"});
    for (const auto& c : before)
        if (c.commit == "c7")
            CHECK(r.bytes_freed() == c.graph_bytes);

    // Files: exactly those the kept commits name, besides the rest of the store.
    const auto after = store->commits("d");
    CHECK(after.size() == before.size() - drop.size());
    std::set<std::string> graph_files;
    for (const auto& name : files_in(path))
        if (name.size() > 5 && name.substr(name.size() - 5) == ".hnsw")
            graph_files.insert(name);
    CHECK(graph_files == chain_names(after));
    CHECK_FALSE(fs::exists(path + "/d@c7.hnsw"));

    // Records: the cut and the dropped owner are marked; log stops at the cut.
    CHECK(store->commit("d", "c3").parent_dropped);
    CHECK(store->commit("d", "c3").parent == std::optional<std::string>("c2"));
    CHECK_FALSE(store->commit("d", "c4").parent_dropped);
    CHECK(store->commit("d", "tag").owner_dropped);
    CHECK(store->log("d", "c4").size() == 2);  // c4, c3
    CHECK(store->log("d", "tag").size() == 1);

    require_answers_unchanged(*store, chain, dropped);
    // A snapshot opened before the drop keeps answering from the files it holds.
    CHECK(answers(*snapshot_c7) == chain.answers.at("c7"));
    // And so does a new store object on the directory.
    store.reset();
    auto reopened = Store::open(path, chain_options());
    require_answers_unchanged(*reopened, chain, dropped);
    // The kept commits still grow: a commit on c6, whose base c5 is dropped.
    auto b = reopened->begin_commit("d", "c10", "c6");
    b.remove(test::numbered("id", 200));
    CHECK(b.finish().graph_kind == format::GraphKind::kDelta);
    CHECK(reopened->open_commit("d", "c10")->size() ==
          reopened->open_commit("d", "c6")->size() - 1);
}

TEST_CASE("a dropped commit's name can be used again, beside its file that others need",
          "[store][lifecycle]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    auto store = Store::create(path, chain_options());
    const Chain chain = make_chain(*store, 3);
    store->drop_commits("d", {"c2"});  // its delta stays: c3 builds on it
    REQUIRE(fs::exists(path + "/d@c2.hnsw"));
    auto b = store->begin_commit("d", "c2", "c1");
    b.remove(test::numbered("id", 100));
    const CommitInfo again = b.finish();
    CHECK(again.graph_file == "d@c2@2.hnsw");
    CHECK(store->open_commit("d", "c2")->size() == store->open_commit("d", "c1")->size() - 1);
    for (const char* c : {"base", "c1", "c3", "tag"})
        CHECK(answers(*store->open_commit("d", c)) == chain.answers.at(c));
    // c3's record still says its parent was dropped: the new c2 is not its parent.
    CHECK(store->log("d", "c3").size() == 1);
}

TEST_CASE("drop refuses what it cannot do and changes nothing", "[store][lifecycle]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    auto store = Store::create(path, chain_options());
    const Chain chain = make_chain(*store, 2);
    const auto files = files_in(path);
    CHECK(code_of([&] { store->drop_commits("d", {"c1", "nope"}); }) == ErrorCode::kNotFound);
    CHECK(code_of([&] { store->drop_commits("e", {"c1"}); }) == ErrorCode::kNotFound);
    {
        auto builder = store->begin_commit("d", "c3", "c2");
        CHECK(code_of([&] { store->drop_commits("d", {"c1"}); }) == ErrorCode::kConflict);
        CHECK(code_of([&] { store->gc(keep_last(1)); }) == ErrorCode::kConflict);
    }
    CHECK(code_of([&] { store->gc({}); }) == ErrorCode::kInvalidArgument);
    CHECK(files_in(path) == files);
    require_answers_unchanged(*store, chain, {});

    // Every commit of a domain can go; the domain stays, empty, and takes a new root.
    const DroppedCommits r = store->drop_commits("d", {"base", "c1", "c2", "tag"});
    CHECK(r.kept.empty());
    CHECK(r.removed.size() == 3);
    CHECK(store->commits("d").empty());
    auto b = store->begin_commit("d", "fresh", std::nullopt);
    b.insert("x", std::vector<float>(kDim, 0.5f));
    CHECK(b.finish().graph_file == "d@fresh.hnsw");
}

TEST_CASE("gc keeps the newest and the named commits and deletes crash leftovers",
          "[store][lifecycle]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    auto store = Store::create(path, chain_options());
    const Chain chain = make_chain(*store, 6);
    // Leftovers: a graph file no commit names, a temporary file of a dead process and one
    // named with the id of this (running) process: gc holds the writer lock, which every
    // writer of a temporary file holds while it exists, so both are crashed writers' whatever
    // their process ids (stale temporary files fix, spec/lifecycle.md "Crash leftovers").
    const pid_t child = ::fork();
    if (child == 0)
        ::_exit(0);
    ::waitpid(child, nullptr, 0);
    test::write_bytes(path + "/d@ghost.hnsw", 0, std::vector<uint8_t>(100, 1));
    // (Built piecewise: g++ 12 warns falsely on a chain of string concatenations.)
    std::string dead_tmp = ".tmp-", live_tmp = ".tmp-";
    dead_tmp += std::to_string(child);
    dead_tmp += "-0123";
    live_tmp += std::to_string(::getpid());
    live_tmp += "-0123";
    test::write_bytes(path + "/" + dead_tmp, 0, std::vector<uint8_t>(10, 1));
    test::write_bytes(path + "/" + live_tmp, 0, std::vector<uint8_t>(10, 1));

    const SpaceReport space = store->space();
    REQUIRE(space.domains.size() == 1);
    CHECK(space.domains[0].orphan_files == 1);
    CHECK(space.domains[0].orphan_bytes == 100);
    CHECK(space.temporary_files == 2);

    GcOptions o;
    o.keep_last = 2;  // tag and c6 (the newest)
    o.keep = {"c2", "not-a-commit"};
    o.dry_run = true;
    const auto files = files_in(path);
    const GcReport plan = store->gc(o);
    CHECK(files_in(path) == files);
    o.dry_run = false;
    const GcReport r = store->gc(o);
    REQUIRE(r.domains.size() == 1);
    CHECK(r.domains[0].dropped == plan.domains[0].dropped);
    CHECK(r.domains[0].dropped == std::vector<std::string>{"base", "c1", "c3", "c4", "c5"});
    CHECK(r.orphans == std::vector<std::string>{"d@ghost.hnsw", std::min(dead_tmp, live_tmp),
                                                std::max(dead_tmp, live_tmp)});
    CHECK(r.orphan_bytes == 120);
    CHECK(r.keep_unknown == std::vector<std::string>{"not-a-commit"});
    CHECK(r.bytes_freed() == plan.bytes_freed());
    CHECK_FALSE(fs::exists(path + "/d@ghost.hnsw"));
    CHECK_FALSE(fs::exists(path + "/" + dead_tmp));
    CHECK_FALSE(fs::exists(path + "/" + live_tmp));
    require_answers_unchanged(*store, chain, {"base", "c1", "c3", "c4", "c5"});
    // Nothing left to collect.
    const GcReport again = store->gc(o);
    CHECK(again.domains[0].dropped.empty());
    CHECK(again.bytes_freed() == 0);
}

TEST_CASE("the space report tells head, history and unreferenced vectors apart",
          "[store][lifecycle]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    StoreOptions o;
    o.graph_policy.deltas = false;  // every commit a full file
    o.tombstone_threshold = 0;      // and compacted: no deleted node stays in the graph
    const auto data = test::random_vectors(800, kDim, 8);
    auto row = [&](size_t i) { return std::span<const float>(data.data() + i * kDim, kDim); };
    uint64_t c1_nodes = 0;
    {
        auto store = Store::create(path, o);
        store->create_domain("d", {kDim});
        auto b = store->begin_commit("d", "base", std::nullopt);
        for (size_t i = 0; i < 600; ++i)
            b.insert(test::numbered("id", i), row(i));
        b.finish();
        auto c = store->begin_commit("d", "c1", "base");
        for (size_t i = 0; i < 50; ++i)
            c.remove(test::numbered("id", i));
        for (size_t i = 600; i < 700; ++i)
            c.insert(test::numbered("id", i), row(i));
        c1_nodes = c.finish().live_count;
    }
    // A commit that dies with its vectors durable: 100 vectors no commit refers to.
    REQUIRE(test::killed_at("vectors-appended", [&] {
        auto store = Store::open(path, o);
        auto b = store->begin_commit("d", "lost", "c1");
        for (size_t i = 700; i < 800; ++i)
            b.insert(test::numbered("id", i), row(i));
        b.finish();
    }));
    auto store = Store::open(path, o);
    DomainSpace s = store->space("d").domains.at(0);
    CHECK(s.commits == 2);
    CHECK(s.heads == 1);
    CHECK(s.vectors == 800);
    CHECK(s.vector_bytes == 4 * kDim);
    CHECK(c1_nodes == 650);
    CHECK(s.head_vectors == 650);
    CHECK(s.history_vectors == 50);  // the deleted nodes', in base's file only
    CHECK(s.unreferenced_vectors == 100);
    CHECK(s.full_files == 2);
    CHECK(s.delta_files == 0);
    CHECK(s.vector_file_bytes == fs::file_size(path + "/d.vecs"));
    store->drop_commits("d", {"base"});
    s = store->space("d").domains.at(0);
    CHECK(s.head_vectors == 650);
    CHECK(s.history_vectors == 0);
    CHECK(s.unreferenced_vectors == 150);
    CHECK(s.full_files == 1);
    CHECK(code_of([&] { store->space("e"); }) == ErrorCode::kNotFound);
}

TEST_CASE("a drop dying at any point loses no kept commit", "[store][lifecycle][crash]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    Chain chain;
    {
        auto store = Store::create(path, chain_options());
        chain = make_chain(*store, 6);
    }
    // Before the catalog transaction commits: nothing is dropped.
    REQUIRE(test::killed_at("catalog-rewrite-written",
                      [&] { Store::open(path, chain_options())->drop_commits("d", {"c3", "c5"}); }));
    {
        auto store = Store::open(path, chain_options());
        CHECK(store->commits("d").size() == chain.commits.size());
        require_answers_unchanged(*store, chain, {});
    }
    // After it, before the files go: dropped, and the files left over are gc's.
    REQUIRE(test::killed_at("drop-catalog-written",
                      [&] { Store::open(path, chain_options())->drop_commits("d", {"c3", "c5"}); }));
    auto store = Store::open(path, chain_options());
    require_answers_unchanged(*store, chain, {"c3", "c5"});
    const DomainSpace s = store->space("d").domains.at(0);
    CHECK(s.orphan_files == 1);  // c3's delta: c4 is a full file; c6 builds on c5's
    const GcReport r = store->gc(keep_last(100));
    CHECK(r.domains[0].dropped.empty());
    CHECK(r.orphans.size() == 1);
    CHECK(store->space("d").domains.at(0).orphan_files == 0);
    require_answers_unchanged(*store, chain, {"c3", "c5"});
}

TEST_CASE("a reader in another process keeps its snapshot of a dropped commit",
          "[store][lifecycle]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    Chain chain;
    {
        auto store = Store::create(path, chain_options());
        chain = make_chain(*store, 3);
    }
    int ready[2], go[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(go) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
        int rc = 0;
        try {
            auto store = Store::open(path, chain_options());
            auto held = store->open_commit("d", "c3");
            char byte = 1;
            if (::write(ready[1], &byte, 1) != 1 || ::read(go[0], &byte, 1) != 1)
                ::_exit(4);
            if (answers(*held) != chain.answers.at("c3"))
                rc = 5;
            try {
                store->open_commit("d", "c3");
                rc = 6;  // the pool must not answer for a dropped commit
            } catch (const Error& e) {
                if (e.code() != ErrorCode::kNotFound)
                    rc = 7;
            }
            if (answers(*store->open_commit("d", "c2")) != chain.answers.at("c2"))
                rc = 8;
        } catch (...) {
            rc = 9;
        }
        ::_exit(rc);
    }
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    {
        auto store = Store::open(path, chain_options());
        const DroppedCommits r = store->drop_commits("d", {"c3", "tag"});
        CHECK(r.removed.size() == 1);  // c3's delta, which only tag shared
        CHECK_FALSE(fs::exists(path + "/d@c3.hnsw"));
    }
    REQUIRE(::write(go[1], &byte, 1) == 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("vacuum keeps every commit's answers with only the vectors they refer to",
          "[store][lifecycle][vacuum]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    auto store = Store::create(path, chain_options());
    Chain chain = make_chain(*store, 9);
    // Nothing to reclaim yet: every vector is some commit's.
    const VacuumReport none = store->vacuum("d");
    CHECK_FALSE(none.rewritten);
    CHECK(none.vectors_after == none.vectors_before);
    store->gc(keep_last(3));  // tag, c9, c8: base's and c1..c7's vectors are history now
    const auto kept = store->commits("d");
    REQUIRE(kept.size() == 3);
    const uint64_t vectors_before = VectorFile::open(path + "/d.vecs")->size();
    const DomainSpace space = store->space("d").domains.at(0);
    CHECK(space.unreferenced_vectors > 0);

    const auto held = store->open_commit("d", "c9");  // across the vacuum
    std::vector<double> fractions;
    const VacuumReport r = store->vacuum("d", [&](double f) { fractions.push_back(f); });
    CHECK(r.rewritten);
    CHECK(r.vectors_before == vectors_before);
    CHECK(r.vectors_after == vectors_before - space.unreferenced_vectors);
    CHECK(r.vector_file == "d@2.vecs");
    CHECK(r.vector_file_bytes_after < r.vector_file_bytes_before);
    CHECK(r.graph_files == chain_names(kept).size());
    CHECK(fractions.back() == 1.0);
    CHECK(std::is_sorted(fractions.begin(), fractions.end()));

    // The old files are gone, and only what the catalog names is left.
    CHECK_FALSE(fs::exists(path + "/d.vecs"));
    CHECK(store->domain("d").vector_file == "d@2.vecs");
    const auto after = store->commits("d");
    std::set<std::string> graph_files;
    for (const auto& name : files_in(path))
        if (name.size() > 5 && name.substr(name.size() - 5) == ".hnsw")
            graph_files.insert(name);
    CHECK(graph_files == chain_names(after));
    const DomainSpace now = store->space("d").domains.at(0);
    CHECK(now.unreferenced_vectors == 0);
    CHECK(now.orphan_files == 0);
    CHECK(now.vectors == r.vectors_after);
    CHECK(VectorFile::open(path + "/d@2.vecs")->verify().ok());

    std::set<std::string> names, dropped;
    for (const auto& c : after)
        names.insert(c.commit);
    for (const auto& c : chain.commits)
        if (!names.count(c))
            dropped.insert(c);
    require_answers_unchanged(*store, chain, dropped);
    CHECK(answers(*held) == chain.answers.at("c9"));  // from the old, deleted files
    store.reset();
    auto reopened = Store::open(path, chain_options());
    require_answers_unchanged(*reopened, chain, dropped);
    // The store grows on from the new files.
    auto b = reopened->begin_commit("d", "c10", "c9");
    b.remove(test::numbered("id", 300));
    b.insert("new", std::vector<float>(kDim, 0.25f));
    b.finish();
    CHECK(reopened->open_commit("d", "c10")->contains("new"));
    // c8's full file is c9's and c10's base: dropping c8 frees no vector.
    reopened->drop_commits("d", {"c8"});
    const VacuumReport again = reopened->vacuum("d");
    CHECK_FALSE(again.rewritten);
    CHECK(again.vector_file == "d@2.vecs");
    dropped.insert("c8");
    require_answers_unchanged(*reopened, chain, dropped);
    CHECK(reopened->open_commit("d", "c10")->contains("new"));
    CHECK(code_of([&] { reopened->vacuum("e"); }) == ErrorCode::kNotFound);
}

TEST_CASE("a vacuum dying at any point leaves the old files or the new ones",
          "[store][lifecycle][vacuum][crash]") {
    for (const char* point : {"vacuum-vectors-written", "graph-half-written",
                              "vacuum-graphs-written", "catalog-rewrite-written",
                              "vacuum-catalog-written"}) {
        INFO("crash at " << point);
        test::TempDir dir;
        const std::string path = dir.file("store");
        const Chain chain = make_vacuumable_chain(path);
        const std::set<std::string> dropped = vacuumable_dropped();
        REQUIRE(test::killed_at(point, [&] { Store::open(path, chain_options())->vacuum("d"); }));
        auto store = Store::open(path, chain_options());
        const bool switched = std::string(point) == "vacuum-catalog-written";
        CHECK(store->domain("d").vector_file == (switched ? "d@2.vecs" : "d.vecs"));
        require_answers_unchanged(*store, chain, dropped);
        // What the crash left, gc deletes; a vacuum then finishes the work.
        CHECK(store->space("d").domains.at(0).orphan_files > 0);
        store->gc(keep_last(100));
        CHECK(store->space("d").domains.at(0).orphan_files == 0);
        const VacuumReport r = store->vacuum("d");
        CHECK(r.rewritten == !switched);
        CHECK(store->space("d").domains.at(0).unreferenced_vectors == 0);
        require_answers_unchanged(*store, chain, dropped);
    }
}

TEST_CASE("vacuum refuses a damaged graph file and changes nothing", "[store][lifecycle][vacuum]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    auto store = Store::create(path, chain_options());
    make_chain(*store, 3);
    store->drop_commits("d", {"base"});
    const std::string delta = path + "/" + store->commit("d", "c2").graph_file;
    test::flip_byte(delta, 100);
    const auto files = files_in(path);
    CHECK(code_of([&] { store->vacuum("d"); }) == ErrorCode::kCorruption);
    CHECK(files_in(path) == files);
    CHECK(store->domain("d").vector_file == "d.vecs");
}

TEST_CASE("a vector the domain already stores is reused, not appended again",
          "[store][lifecycle][content]") {
    const auto data = test::random_vectors(200, kDim, 12);
    auto row = [&](size_t i) { return std::span<const float>(data.data() + i * kDim, kDim); };
    // The same commits with and without the content index answer alike.
    auto build = [&](const std::string& path, bool reuse) {
        StoreOptions o;
        o.reuse_vectors = reuse;
        o.exact_threshold = 0;
        o.threads = 1;  // a build on several threads is not the same graph twice
        auto store = Store::create(path, o);
        store->create_domain("d", {kDim});
        auto b = store->begin_commit("d", "base", std::nullopt);
        for (size_t i = 0; i < 100; ++i)
            b.insert(test::numbered("id", i), row(i));
        b.finish();
        // Moves (an id deleted, its vector inserted under a new id), a vector twice in one
        // batch, a replace by another stored vector, and new vectors.
        auto c = store->begin_commit("d", "c1", "base");
        for (size_t i = 0; i < 50; ++i) {
            c.remove(test::numbered("id", i));
            c.insert(test::numbered("moved", i), row(i));
        }
        c.insert("twinA", row(150));
        c.insert("twinB", row(150));
        c.replace("id60", row(70));
        for (size_t i = 100; i < 110; ++i)
            c.insert(test::numbered("new", i), row(i));
        c.finish();
        return store;
    };
    test::TempDir dir;
    auto with = build(dir.file("with"), true);
    auto without = build(dir.file("without"), false);
    CHECK(VectorFile::open(dir.file("with") + "/d.vecs")->size() == 100 + 1 + 10);
    CHECK(VectorFile::open(dir.file("without") + "/d.vecs")->size() == 100 + 50 + 2 + 1 + 10);
    for (const char* commit : {"base", "c1"}) {
        auto a = with->open_commit("d", commit);
        auto b = without->open_commit("d", commit);
        CHECK(a->ids() == b->ids());
        CHECK(answers(*a) == answers(*b));
    }
    auto c1 = with->open_commit("d", "c1");
    CHECK(c1->vector("moved7") == std::vector<float>(row(7).begin(), row(7).end()));
    CHECK(c1->vector("twinB") == c1->vector("twinA"));
    CHECK(c1->vector("id60") == c1->vector("id70"));
    CHECK(c1->search(row(150), 2).back().distance == 0.0f);

    // A vacuum renumbers the vectors and the content index with them: a vector kept is still
    // found, one no commit needed any more is not.
    with->drop_commits("d", {"base"});
    REQUIRE(with->vacuum("d").rewritten);
    const uint64_t stored = VectorFile::open(dir.file("with") + "/" + with->domain("d").vector_file)->size();
    auto c = with->begin_commit("d", "c2", "c1");
    c.insert("again", row(105));  // new105's vector, kept
    c.finish();
    const std::string file = dir.file("with") + "/" + with->domain("d").vector_file;
    CHECK(VectorFile::open(file)->size() == stored);
    CHECK(with->open_commit("d", "c2")->vector("again") ==
          std::vector<float>(row(105).begin(), row(105).end()));
}

TEST_CASE("vacuums killed at random moments leave every commit's answers",
          "[store][lifecycle][vacuum][crash]") {
    test::TempDir dir;
    const std::string path = dir.file("store");
    const Chain chain = make_vacuumable_chain(path);
    const std::set<std::string> dropped = vacuumable_dropped();
    std::mt19937 rng(4242);
    int killed = 0;
    for (int round = 0; round < 8; ++round) {
        INFO("round " << round);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            try {
                auto store = Store::open(path, chain_options());
                store->vacuum("d");
            } catch (...) {
                ::_exit(2);
            }
            ::_exit(0);
        }
        ::usleep(static_cast<useconds_t>(rng() % 40000));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        killed += WIFSIGNALED(status) ? 1 : 0;
        REQUIRE((WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
        auto store = Store::open(path, chain_options());
        require_answers_unchanged(*store, chain, dropped);
        // Whatever the kill left, gc deletes; the next round vacuums again (or finds nothing).
        store->gc(keep_last(100));
        CHECK(store->space("d").domains.at(0).orphan_files == 0);
    }
    auto store = Store::open(path, chain_options());
    store->vacuum("d");
    CHECK(store->space("d").domains.at(0).unreferenced_vectors == 0);
    require_answers_unchanged(*store, chain, dropped);
    WARN(killed << " of 8 vacuums killed before they returned");
}
