#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <filesystem>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "test_support.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/idx_file.h"
#include "vstore/store.h"

using namespace vstore;
using vstore::test::TempDir;

namespace {

std::span<const float> row(const std::vector<float>& v, size_t i, uint32_t dim) {
    return {v.data() + i * dim, dim};
}

// Commits "c1" in domain "d" as a first commit: ids "id0" ... with the first `count` rows.
void commit_first_rows(Store& store, const std::vector<float>& data, int count, uint32_t dim) {
    auto b = store.begin_commit("d", "c1", std::nullopt);
    for (int i = 0; i < count; ++i)
        b.insert("id" + std::to_string(i), row(data, i, dim));
    b.finish();
}

// Everything a reader can observe of a store: catalog contents and every file's bytes except
// the lock files, whose bytes LMDB and flock own.
std::map<std::string, std::vector<uint8_t>> store_state(Store& store) {
    std::map<std::string, std::vector<uint8_t>> state;
    for (const auto& entry : std::filesystem::directory_iterator(store.dir())) {
        const std::string name = entry.path().filename().string();
        if (name == "catalog-lock" || name == "writer.lock")
            continue;
        state[name] = test::read_file(entry.path().string());
    }
    std::string listing;
    for (const auto& d : store.domains()) {
        listing += d.name + ";";
        for (const auto& c : store.commits(d.name))
            listing += c.commit + "," + std::to_string(c.live_count) + ";";
    }
    state["(catalog listing)"] = std::vector<uint8_t>(listing.begin(), listing.end());
    return state;
}

}  // namespace

TEST_CASE("distances follow the metric definitions", "[store]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("l2", {2, Metric::kL2});
    store->create_domain("cos", {2, Metric::kCosine});
    store->create_domain("ip", {2, Metric::kIp});
    for (const char* d : {"l2", "cos", "ip"}) {
        auto b = store->begin_commit(d, "c1", std::nullopt);
        b.insert("a", std::vector<float>{3, 4});
        b.insert("b", std::vector<float>{0, 1});
        b.finish();
    }
    const std::vector<float> q = {1, 0};
    auto l2 = store->open_commit("l2", "c1")->search(q, 2);
    CHECK(l2[0] == SearchHit{"b", 2.0f});   // (1-0)^2 + (0-1)^2
    CHECK(l2[1] == SearchHit{"a", 20.0f});  // 2^2 + 4^2
    auto cos = store->open_commit("cos", "c1")->search(std::vector<float>{2, 0}, 2);
    CHECK(cos[0].id == "a");
    CHECK(cos[0].distance == Approx(1 - 0.6f));
    CHECK(cos[1].distance == Approx(1.0f));
    auto ip = store->open_commit("ip", "c1")->search(q, 2);
    CHECK(ip[0] == SearchHit{"a", 1 - 3.0f});
    CHECK(ip[1] == SearchHit{"b", 1.0f});
    // Cosine stores the normalized vector.
    CHECK(store->open_commit("cos", "c1")->vector("a") == std::vector<float>{0.6f, 0.8f});
}

TEST_CASE("the norm limit keeps every distance finite (fix: 3.4e38 components were accepted)",
          "[store][errors]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    const float kBig = 3.4e38f;
    // 2^62.5 in each of two components: a squared norm of 2^126, twice the limit.
    const float kOver = static_cast<float>(std::ldexp(1.0, 62) * std::sqrt(2.0));
    // 2^62 in each of two components: a squared norm of 2^125 exactly, the largest allowed.
    const float kEdge = static_cast<float>(std::ldexp(1.0, 62));
    for (const auto metric : {Metric::kL2, Metric::kCosine, Metric::kIp}) {
        const std::string domain(format::metric_name(metric));
        INFO("metric " << domain);
        store->create_domain(domain, {2, metric});
        auto b = store->begin_commit(domain, "c1", std::nullopt);
        b.insert("a", std::vector<float>{1, 2});
        std::string message;
        CHECK(test::code_of([&] { b.insert("big", std::vector<float>{kBig, 0}); }, &message) ==
              ErrorCode::kInvalidArgument);
        CHECK_THAT(message, Catch::Contains("vector of id 'big' has a squared norm of 1.156e+77, "
                                            "above 2^125"));
        CHECK(test::code_of([&] { b.insert("over", std::vector<float>{kOver, kOver}); }) ==
              ErrorCode::kInvalidArgument);
        b.insert("edge", std::vector<float>{kEdge, -kEdge});
        b.insert("edge2", std::vector<float>{-kEdge, kEdge});
        b.finish();
        {
            auto r = store->begin_commit(domain, "c2", "c1");
            CHECK(test::code_of([&] { r.replace("a", std::vector<float>{0, -kBig}); }) ==
                  ErrorCode::kInvalidArgument);
        }
        {
            auto p = store->begin_commit(domain, "c3", "c1");
            CHECK(test::code_of([&] { p.put("a", std::vector<float>{kOver, kOver}); }) ==
                  ErrorCode::kInvalidArgument);
        }
        CHECK(store->commits(domain).size() == 1);

        const auto s = store->open_commit(domain, "c1");
        for (const auto& query : {std::vector<float>{kEdge, -kEdge}, std::vector<float>{-kEdge, kEdge},
                                  std::vector<float>{1, 0}}) {
            for (const auto& hits : {s->search(query, 3), s->search_exact(query, 3)}) {
                REQUIRE(hits.size() == 3);
                for (const auto& h : hits)
                    CHECK(std::isfinite(h.distance));
            }
        }
        for (const auto& query : {std::vector<float>{kBig, 0}, std::vector<float>{kOver, kOver}}) {
            CHECK(test::code_of([&] { s->search(query, 1); }, &message) ==
                  ErrorCode::kInvalidArgument);
            CHECK_THAT(message, Catch::Contains("query has a squared norm of"));
            CHECK(test::code_of([&] { s->search_exact(query, 1); }) == ErrorCode::kInvalidArgument);
        }
        for (const auto& d : s->duplicates(std::numeric_limits<float>::max()))
            CHECK(std::isfinite(d.distance));
    }
    // Under l2 the two edge vectors are 2^127 apart, the largest distance there can be.
    CHECK(store->open_commit("l2", "c1")->search_exact(std::vector<float>{kEdge, -kEdge}, 3)[2] ==
          SearchHit{"edge2", static_cast<float>(std::ldexp(1.0, 127))});
}

TEST_CASE("cosine normalizes a vector shorter than 2^-128 (fix: its components became NaN)",
          "[store]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("cos", {2, Metric::kCosine});
    const float kTiny = std::numeric_limits<float>::denorm_min();  // 1.4e-45
    auto b = store->begin_commit("cos", "c1", std::nullopt);
    b.insert("tiny", std::vector<float>{kTiny, 0});
    b.insert("other", std::vector<float>{0, 1});
    b.finish();
    const auto s = store->open_commit("cos", "c1");
    CHECK(s->vector("tiny") == std::vector<float>{1, 0});
    const auto hits = s->search(std::vector<float>{kTiny, 0}, 2);
    REQUIRE(hits.size() == 2);
    CHECK(hits[0] == SearchHit{"tiny", 0.0f});
    CHECK(hits[1].distance == Approx(1.0f));
}

TEST_CASE("ids must be valid UTF-8 (fix: any bytes were stored and broke JSON output)",
          "[store][errors]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {2});
    const std::vector<float> v = {1, 2};
    auto b = store->begin_commit("d", "c1", std::nullopt);
    b.insert("a", v);
    b.insert("\xC3\xA9t\xC3\xA9 \xF0\x9F\x8C\x9E", v);  // "été 🌞": UTF-8 of 2 and 4 bytes
    b.insert(std::string("nul\0inside", 10), v);          // NUL is a character
    for (const auto& [id, offset] : std::vector<std::pair<std::string, size_t>>{
             {"\xFF\xFE" "bin", 0},
             {"ab\xC0\xAF", 2},            // overlong '/'
             {"x\xED\xA0\x80", 1},         // a surrogate, U+D800
             {"xy\xF4\x90\x80\x80", 2},    // above U+10FFFF
             {"cut\xE2\x82", 3}}) {        // a sequence cut short
        INFO("id " << format::describe_external_id(id));
        std::string message;
        // Init-captures: clang 14 cannot capture a structured binding itself.
        CHECK(test::code_of([&, &id = id] { b.insert(id, v); }, &message) ==
              ErrorCode::kInvalidArgument);
        CHECK_THAT(message, Catch::Contains("id " + format::describe_external_id(id) +
                                            " is not valid UTF-8 (byte " +
                                            std::to_string(offset) + ")"));
    }
    b.finish();
    CHECK(store->open_commit("d", "c1")->size() == 3);
    CHECK(store->open_commit("d", "c1")->contains("\xC3\xA9t\xC3\xA9 \xF0\x9F\x8C\x9E"));

    const std::string bad = "\xFF\xFE" "bin";
    {
        auto r = store->begin_commit("d", "c2", "c1");
        CHECK(test::code_of([&] { r.replace(bad, v); }) == ErrorCode::kInvalidArgument);
        // Deleting looks the id up whatever its bytes (stores from before the rule may hold one).
        CHECK(test::code_of([&] { r.remove(bad); }) == ErrorCode::kNotFound);
    }
    auto p = store->begin_commit("d", "c3", "c1");
    std::string message;
    CHECK(test::code_of([&] { p.put(bad, v); }, &message) == ErrorCode::kInvalidArgument);
    CHECK_THAT(message, Catch::Contains("id '\\xFF\\xFEbin' is not valid UTF-8 (byte 0)"));
}

TEST_CASE("small commits: k beyond the live set, exact switch, similar, duplicates, log",
          "[store]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {8});
    const auto data = test::random_vectors(300, 8, 5);
    auto b = store->begin_commit("d", "c1", std::nullopt);
    for (int i = 0; i < 300; ++i)
        b.insert("id" + std::to_string(i), row(data, i, 8));
    // Two planted near-duplicates of id0.
    std::vector<float> near(data.begin(), data.begin() + 8);
    near[0] += 0.001f;
    b.insert("dup-a", near);
    near[1] += 0.001f;
    b.insert("dup-b", near);
    const CommitInfo c1 = b.finish();
    CHECK(c1.inserted == 302);
    CHECK(c1.live_count == 302);
    auto s = store->open_commit("d", "c1");
    CHECK(s->search(row(data, 7, 8), 1000).size() == 302);
    CHECK(s->search(row(data, 7, 8), 1)[0] == SearchHit{"id7", 0.0f});
    CHECK(s->search(row(data, 7, 8), 10) == s->search_exact(row(data, 7, 8), 10));
    auto sim = s->similar("id0", 2);
    REQUIRE(sim.size() == 2);
    CHECK(std::set<std::string>{sim[0].id, sim[1].id} == std::set<std::string>{"dup-a", "dup-b"});
    auto dups = s->duplicates(0.0001f);
    REQUIRE(dups.size() == 3);  // id0~dup-a, id0~dup-b, dup-a~dup-b, each once
    for (const auto& p : dups)
        CHECK(p.a < p.b);

    auto b2 = store->begin_commit("d", "c2", "c1");
    b2.remove("dup-a");
    b2.remove("dup-b");
    const CommitInfo c2 = b2.finish();
    CHECK(c2.deleted == 2);
    CHECK(store->open_commit("d", "c2")->duplicates(0.0001f).empty());
    const auto chain = store->log("d", "c2");
    REQUIRE(chain.size() == 2);
    CHECK(chain[0].commit == "c2");
    CHECK(chain[1].commit == "c1");
    CHECK_FALSE(chain[1].parent);
}

TEST_CASE("bad operations are refused and leave the store unchanged", "[store][errors]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {4});
    const auto data = test::random_vectors(20, 4, 9);
    commit_first_rows(*store, data, 20, 4);
    const auto before = store_state(*store);
    auto code = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::make_pair(e.code(), std::string(e.what()));
        }
        FAIL("no error");
        return std::make_pair(ErrorCode::kIO, std::string());
    };
    const std::vector<float> v = {1, 2, 3, 4};
    auto attempt = [&](auto&& ops) {
        auto b = store->begin_commit("d", "c2", "c1");
        ops(b);
        b.finish();
    };
    auto [c1, m1] = code([&] { attempt([&](CommitBuilder& b) { b.insert("id3", v); }); });
    CHECK(c1 == ErrorCode::kConflict);
    CHECK_THAT(m1, Catch::Contains("id3"));
    auto [c2, m2] = code([&] { attempt([&](CommitBuilder& b) { b.remove("nope"); }); });
    CHECK(c2 == ErrorCode::kNotFound);
    CHECK_THAT(m2, Catch::Contains("nope"));
    CHECK(code([&] { attempt([&](CommitBuilder& b) { b.replace("nope", v); }); }).first ==
          ErrorCode::kNotFound);
    auto [c3, m3] = code([&] {
        attempt([&](CommitBuilder& b) {
            b.remove("id1");
            b.replace("id1", v);
        });
    });
    CHECK(c3 == ErrorCode::kInvalidArgument);
    CHECK_THAT(m3, Catch::Contains("twice"));
    CHECK(code([&] {
              attempt([&](CommitBuilder& b) { b.insert("x", std::vector<float>{1, 2}); });
          }).first == ErrorCode::kInvalidArgument);
    CHECK(code([&] {
              attempt([&](CommitBuilder& b) { b.insert("x", std::vector<float>{1, NAN, 3, 4}); });
          }).first == ErrorCode::kInvalidArgument);
    CHECK(code([&] { store->begin_commit("d", "c1", std::nullopt); }).first ==
          ErrorCode::kConflict);
    auto [c4, m4] = code([&] { store->begin_commit("d", "c9", "missing"); });
    CHECK(c4 == ErrorCode::kNotFound);
    CHECK_THAT(m4, Catch::Contains("missing"));
    CHECK(code([&] { store->begin_commit("nodomain", "c9", std::nullopt); }).first ==
          ErrorCode::kNotFound);
    CHECK(code([&] { store->open_commit("d", "c7"); }).first == ErrorCode::kNotFound);
    // A second builder while one is open: the store is busy.
    {
        auto b = store->begin_commit("d", "c5", "c1");
        CHECK(code([&] { store->begin_commit("d", "c6", "c1"); }).first == ErrorCode::kConflict);
    }
    CHECK(store_state(*store) == before);
    // An abandoned builder leaves no trace, and the commit id is free again.
    {
        auto b = store->begin_commit("d", "c2", "c1");
        b.insert("new", v);
    }
    CHECK(store_state(*store) == before);
    auto b = store->begin_commit("d", "c2", "c1");
    b.insert("new", v);
    CHECK(b.finish().live_count == 21);
}

TEST_CASE("the index pool loads a commit once and never pulls it from under a user",
          "[store][concurrency]") {
    TempDir dir;
    StoreOptions o;
    o.index_pool_commits = 2;
    auto store = Store::create(dir.file("s"), o);
    store->create_domain("d", {4});
    const auto data = test::random_vectors(40, 4, 3);
    std::optional<std::string> parent;
    for (int c = 0; c < 4; ++c) {
        auto b = store->begin_commit("d", test::numbered("c", c), parent);
        for (int i = 0; i < 10; ++i)
            b.insert(test::numbered("id", c * 10 + i), row(data, c * 10 + i, 4));
        b.finish();
        parent = test::numbered("c", c);
    }
    store.reset();  // one Store object per directory and process
    auto reopened = Store::open(dir.file("s"), o);
    auto held = reopened->open_commit("d", "c0");
    const auto expected = held->search(row(data, 3, 4), 5);
    std::vector<std::thread> threads;
    std::vector<std::shared_ptr<const Snapshot>> got(4);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] { got[t] = reopened->open_commit("d", "c3"); });
    for (auto& t : threads)
        t.join();
    for (auto& g : got)
        CHECK(g == got[0]);
    CHECK(reopened->index_pool_stats().loads == 2);
    reopened->open_commit("d", "c1");
    reopened->open_commit("d", "c2");
    CHECK(reopened->index_pool_stats().commits == 2);
    CHECK(reopened->index_pool_stats().evictions >= 2);
    CHECK(held->search(row(data, 3, 4), 5) == expected);
    CHECK(held->size() == 10);
    CHECK(got[0]->size() == 40);
}

TEST_CASE("verify_consistency finds no fault in a store that commits while it checks",
          "[store][concurrency]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {4});
    const auto data = test::random_vectors(205, 4, 9);
    commit_first_rows(*store, data, 5, 4);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        std::string parent = "c1";
        for (int c = 2; c <= 40; ++c) {
            const std::string name = test::numbered("c", c);
            auto b = store->begin_commit("d", name, parent);
            for (int i = 0; i < 5; ++i)
                b.insert(test::numbered("id", c * 5 + i), row(data, c * 5 + i, 4));
            b.finish();
            parent = name;
        }
        done = true;
    });
    int checks = 0;
    std::vector<std::string> faults;
    while (!done.load() || checks == 0) {
        const ConsistencyReport r = store->verify_consistency("d");
        ++checks;
        for (const auto& p : r.problems)
            faults.push_back(p.invariant + " " + p.commit + ": " + p.what);
        for (const auto& u : r.unreadable)
            faults.push_back(u.invariant + " " + u.commit + ": " + u.what);
    }
    writer.join();
    for (const auto& f : faults)
        UNSCOPED_INFO(f);
    CHECK(faults.empty());
    CHECK(store->verify_consistency("d").ok());
}

TEST_CASE("tombstones past the threshold are compacted away", "[store]") {
    TempDir dir;
    StoreOptions o;
    o.exact_threshold = 10;  // so search goes through the graph
    auto store = Store::create(dir.file("s"), o);
    store->create_domain("d", {8});
    const auto data = test::random_vectors(3000, 8, 21);
    commit_first_rows(*store, data, 3000, 8);
    // About 1/M of the deleted nodes live in upper layers and become tombstones; successive
    // commits pile them up until one crosses the 10 % threshold and compacts.
    std::optional<std::string> parent = "c1";
    bool compacted = false;
    std::set<std::string> deleted;
    for (int c = 2; c < 12 && !compacted; ++c) {
        const std::string name = std::string("c").append(std::to_string(c));
        auto b = store->begin_commit("d", name, parent);
        for (int i = (c - 2) * 250; i < (c - 1) * 250; ++i) {
            b.remove("id" + std::to_string(i));
            deleted.insert("id" + std::to_string(i));
        }
        const CommitInfo info = b.finish();
        CHECK(info.tombstone_count <=
              o.tombstone_threshold * (info.live_count + info.tombstone_count) + 1);
        if (info.compacted) {
            compacted = true;
            CHECK(info.tombstone_count == 0);
        }
        auto s = store->open_commit("d", name);
        CHECK(s->check_graph().unreachable_live == 0);
        for (int q = 0; q < 50; ++q) {
            for (const auto& h : s->search(row(data, 2999 - q, 8), 10, 64))
                REQUIRE(deleted.count(h.id) == 0);
        }
        parent = name;
    }
    CHECK(compacted);
}

TEST_CASE("mapped and pool mode graph searches give identical answers", "[store][concurrency]") {
    // Mapped mode runs vstore's own layer-0 search and pool mode hnswlib's; they must agree,
    // ties included, on a commit with tombstones, removed nodes and replaced vectors.
    auto data = test::random_vectors(2700, 16, 21);
    for (size_t i = 10; i < 2700; i += 10)  // repeated vectors, so that distances tie
        std::copy_n(data.begin() + (i - 7) * 16, 16, data.begin() + i * 16);
    TempDir dir;
    {
        auto store = Store::create(dir.file("s"));
        store->create_domain("d", {16});
        commit_first_rows(*store, data, 2500, 16);
        auto b2 = store->begin_commit("d", "c2", "c1");
        for (int i = 0; i < 150; ++i)
            b2.remove("id" + std::to_string(i));
        for (int i = 150; i < 250; ++i)
            b2.replace("id" + std::to_string(i), row(data, 2350 + i, 16));
        b2.finish();
    }
    const auto queries = test::random_vectors(100, 16, 99);
    // Each answer as text, "id:distance ...", one per search.
    std::vector<std::vector<std::string>> answers;
    for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        StoreOptions o;
        o.mode = mode;
        o.pool_budget_bytes = 8 * 4096;
        auto store = Store::open(dir.file("s"), o);
        auto s = store->open_commit("d", "c2");
        REQUIRE(s->info().tombstone_count > 0);
        auto& texts = answers.emplace_back();
        auto add = [&](const std::vector<SearchHit>& hits) {
            std::string text;
            for (const auto& h : hits)
                text += h.id + ":" + std::to_string(h.distance) + " ";
            texts.push_back(text);
        };
        for (int q = 0; q < 100; ++q) {
            add(s->search(row(queries, q, 16), 10, 10));
            add(s->search(row(queries, q, 16), 10, 40));
            add(s->search(row(data, 2000 + q, 16), 5, 16));
        }
    }
    for (size_t i = 0; i < answers[0].size(); ++i) {
        INFO("search " << i);
        CHECK(answers[0][i] == answers[1][i]);
    }
}

TEST_CASE("pool mode and both replace strategies give the same exact answers",
          "[store][concurrency]") {
    const auto data = test::random_vectors(1500, 12, 8);
    std::vector<std::vector<SearchHit>> answers;
    int variant = 0;
    for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        for (auto strategy : {ReplaceStrategy::kUpdate, ReplaceStrategy::kDeleteInsert}) {
            TempDir dir;
            StoreOptions o;
            o.mode = mode;
            o.pool_budget_bytes = 8 * 4096;  // a few pages: the pool must evict
            o.replace_strategy = strategy;
            auto store = Store::create(dir.file("s"), o);
            store->create_domain("d", {12});
            commit_first_rows(*store, data, 1000, 12);
            {
                auto b = store->begin_commit("d", "c2", "c1");
                for (int i = 0; i < 200; ++i)
                    b.replace("id" + std::to_string(i), row(data, 1000 + i, 12));
                for (int i = 200; i < 300; ++i)
                    b.remove("id" + std::to_string(i));
                b.finish();
            }
            auto s = store->open_commit("d", "c2");
            REQUIRE(s->size() == 900);
            REQUIRE(s->vector("id5") ==
                    std::vector<float>(data.begin() + 1005 * 12, data.begin() + 1006 * 12));
            std::vector<SearchHit> all;
            for (int q = 0; q < 20; ++q) {
                for (auto& h : s->search_exact(row(data, 1400 + q, 12), 5))
                    all.push_back(h);
                // The graph finds a replaced item at its new vector.
                CHECK(s->search(row(data, 1000 + q, 12), 1, 64)[0] ==
                      SearchHit{"id" + std::to_string(q), 0.0f});
            }
            answers.push_back(all);
            INFO("variant " << variant++);
            CHECK(answers.back() == answers.front());
        }
    }
}

TEST_CASE("vector_file_stats names each vector file a reader has open, with its pool", "[store]") {
    test::TempDir dir;
    const auto data = test::random_vectors(300, 8, 21);
    {
        auto store = Store::create(dir.file("s"));
        store->create_domain("d", {.dimension = 8});
        commit_first_rows(*store, data, 300, 8);
    }
    for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        INFO((mode == ServingMode::kPool ? "pool" : "mapped"));
        StoreOptions o;
        o.mode = mode;
        o.pool_budget_bytes = 8 * 4096;
        auto store = Store::open(dir.file("s"), o);
        CHECK(store->vector_file_stats().empty());
        const auto snapshot = store->open_commit("d", "c1");
        snapshot->search_exact(row(data, 7, 8), 3);
        const auto stats = store->vector_file_stats();
        REQUIRE(stats.size() == 1);
        CHECK(stats[0].domain == "d");
        CHECK(stats[0].file == store->domain("d").vector_file);
        CHECK(stats[0].mode == mode);
        CHECK(stats[0].vectors == 300);
        if (mode == ServingMode::kPool) {
            CHECK(stats[0].pool.frame_count == 8);
            CHECK(stats[0].pool.misses > 0);
        } else {
            CHECK(stats[0].pool.frame_count == 0);
            CHECK(stats[0].pool.misses == 0);
        }
    }
}

TEST_CASE("open_shared returns the process's one Store of a directory, by any spelling",
          "[store]") {
    TempDir dir;
    const std::string path = dir.file("s");
    Store::create(path)->create_domain("d", {.dimension = 2});
    std::filesystem::create_symlink(path, dir.file("link"));

    StoreOptions pool;
    pool.mode = ServingMode::kPool;
    auto first = Store::open_shared(path, pool);
    auto again = Store::open_shared(dir.file("link") + "/./");
    CHECK(again.get() == first.get());
    CHECK(first.use_count() == 2);
    // The options of the first opening hold.
    auto b = again->begin_commit("d", "c1", std::nullopt);
    b.insert("a", std::vector<float>{1, 2});
    b.finish();
    CHECK(first->open_commit("d", "c1")->contains("a"));
    const auto served = again->vector_file_stats();
    REQUIRE(served.size() == 1);
    CHECK(served[0].mode == ServingMode::kPool);
    // open() is refused while the shared one is open, as any second Store of a directory.
    std::string message;
    CHECK(test::code_of([&] { Store::open(path); }, &message) == ErrorCode::kConflict);
    CHECK_THAT(message, Catch::Contains("already open in this process"));

    // The last holder's release closes it: open() works again, and open_shared then refuses.
    again.reset();
    first.reset();
    {
        auto exclusive = Store::open(path);
        CHECK(test::code_of([&] { Store::open_shared(path); }) == ErrorCode::kConflict);
    }
    auto reopened = Store::open_shared(path);
    CHECK(reopened->commits("d").size() == 1);
    // A directory that is no store gets open()'s error, and nothing is kept for it.
    CHECK(test::code_of([&] { Store::open_shared(dir.file("missing")); }) ==
          ErrorCode::kNotFound);
}

TEST_CASE("open_shared from many threads while holders release: never a conflict",
          "[store][concurrency]") {
    TempDir dir;
    const std::string path = dir.file("s");
    Store::create(path)->create_domain("d", {.dimension = 2});
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                try {
                    auto store = Store::open_shared(path);
                    if (store->domains().size() != 1)
                        ++failures;
                } catch (const Error&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& t : threads)
        t.join();
    CHECK(failures == 0);
}
