// Filtered search: Snapshot::filter, search(query, k, ef, filter) and search_exact(query, k,
// filter), checked against the exact scan of the whole commit restricted to the allowed ids.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_support.h"
#include "vstore/format/idx_file.h"
#include "vstore/store.h"

using namespace vstore;
using vstore::test::check_error;
using vstore::test::TempDir;

namespace {

constexpr uint32_t kDim = 8;
constexpr size_t kItems = 3000;

std::string item(size_t i) {
    return "item-" + std::to_string(i);
}

std::span<const float> row(const std::vector<float>& v, size_t i, uint32_t dim = kDim) {
    return {v.data() + i * dim, dim};
}

// Options under which every filtered search wider than ef goes through the graph.
StoreOptions graph_options(ServingMode mode = ServingMode::kMapped) {
    StoreOptions o;
    o.mode = mode;
    o.exact_threshold = 0;
    o.filter_crossover = 0;
    return o;
}

// A store with domain "d": "c1" inserts item-0 ... item-2999; "c2" deletes item-0 ... item-299
// and replaces item-300 ... item-599 with new vectors.
struct Chain {
    TempDir dir;
    std::vector<float> first = test::random_vectors(kItems, kDim, 7);
    std::vector<float> replaced = test::random_vectors(300, kDim, 8);
    std::vector<float> queries = test::random_vectors(20, kDim, 9);

    explicit Chain(Metric metric = Metric::kL2) {
        auto store = Store::create(dir.file("s"));
        store->create_domain("d", {.dimension = kDim, .metric = metric});
        auto b = store->begin_commit("d", "c1", std::nullopt);
        for (size_t i = 0; i < kItems; ++i)
            b.insert(item(i), row(first, i));
        b.finish();
        auto c = store->begin_commit("d", "c2", "c1");
        for (size_t i = 0; i < 300; ++i)
            c.remove(item(i));
        for (size_t i = 0; i < 300; ++i)
            c.replace(item(300 + i), row(replaced, i));
        c.finish();
    }
    std::unique_ptr<Store> open(StoreOptions options = graph_options()) const {
        return Store::open(dir.file("s"), options);
    }
};

// The exact answer: the whole commit scanned, restricted to `allowed`, cut to k.
std::vector<SearchHit> reference(const Snapshot& s, std::span<const float> query, size_t k,
                                 const std::set<std::string>& allowed) {
    std::vector<SearchHit> out;
    for (auto& hit : s.search_exact(query, s.size())) {
        if (out.size() < k && allowed.count(hit.id))
            out.push_back(hit);
    }
    return out;
}

std::vector<std::string> every_tenth(size_t from, size_t to) {
    std::vector<std::string> ids;
    for (size_t i = from; i < to; i += 10)
        ids.push_back(item(i));
    return ids;
}

double recall(const std::vector<SearchHit>& found, const std::vector<SearchHit>& truth) {
    std::set<std::string> ids;
    for (const auto& h : truth)
        ids.insert(h.id);
    size_t hits = 0;
    for (const auto& h : found)
        hits += ids.count(h.id);
    return truth.empty() ? 1.0 : double(hits) / double(truth.size());
}

// Every hit is allowed and live, once, in ascending distance, at its exact distance.
void check_sound(const Snapshot& s, const std::vector<SearchHit>& hits,
                 const std::set<std::string>& allowed, std::span<const float> query) {
    std::set<std::string> seen;
    for (size_t i = 0; i < hits.size(); ++i) {
        INFO("hit " << i << ": " << hits[i].id);
        CHECK(allowed.count(hits[i].id) == 1);
        CHECK(seen.insert(hits[i].id).second);
        if (i > 0)
            CHECK(hits[i - 1].distance <= hits[i].distance);
        const auto one = s.search_exact(query, 1, s.filter(std::vector{hits[i].id}));
        REQUIRE(one.size() == 1);
        CHECK(one[0].distance == hits[i].distance);
    }
}

// For 20 of the chain's queries: the exact filtered search is the reference, the graph's finds
// 10 sound hits, and its mean recall@10 is at least 0.95.
void check_filtered_queries(const Chain& chain, const Snapshot& s, const SearchFilter& f,
                            const std::set<std::string>& live_allowed) {
    double total = 0;
    for (size_t q = 0; q < 20; ++q) {
        const auto query = row(chain.queries, q);
        const auto expected = reference(s, query, 10, live_allowed);
        CHECK(s.search_exact(query, 10, f) == expected);
        const auto found = s.search(query, 10, 0, f);
        CHECK(found.size() == 10);
        check_sound(s, found, live_allowed, query);
        total += recall(found, expected);
    }
    CHECK(total / 20 >= 0.95);
}

}  // namespace

TEST_CASE("a filter of one id returns that id alone", "[filter]") {
    Chain chain;
    auto store = chain.open();
    const auto s = store->open_commit("d", "c2");
    const std::vector<std::string> one = {item(1234)};
    const auto f = s->filter(one);
    CHECK(f.size() == 1);
    CHECK(f.given() == 1);
    CHECK(f.domain() == "d");
    CHECK(f.commit() == "c2");
    const auto q = row(chain.queries, 0);
    const auto expected = reference(*s, q, 10, {item(1234)});
    REQUIRE(expected.size() == 1);
    CHECK(s->search(q, 10, 0, f) == expected);
    CHECK(s->search(q, 1, 200, f) == expected);
    CHECK(s->search_exact(q, 10, f) == expected);
}

TEST_CASE("a filter of every live id answers as the unfiltered search", "[filter]") {
    Chain chain;
    for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        INFO((mode == ServingMode::kPool ? "pool" : "mapped"));
        auto store = chain.open(graph_options(mode));
        for (const char* commit : {"c1", "c2"}) {
            INFO("commit " << commit);
            const auto s = store->open_commit("d", commit);
            const auto f = s->filter(s->ids());
            CHECK(f.size() == s->size());
            for (size_t q = 0; q < 20; ++q) {
                const auto query = row(chain.queries, q);
                CHECK(s->search(query, 10, 0, f) == s->search(query, 10));
                CHECK(s->search(query, 5, 100, f) == s->search(query, 5, 100));
                CHECK(s->search_exact(query, 10, f) == s->search_exact(query, 10));
            }
        }
    }
}

TEST_CASE("a filter of ids the commit lacks returns nothing", "[filter]") {
    Chain chain;
    auto store = chain.open();
    const auto s = store->open_commit("d", "c2");
    // Deleted in c2, never inserted, empty, and not valid UTF-8: none is an error.
    const std::vector<std::string> lacking = {
        item(0), item(299), "never-inserted", "", std::string("\xff\xfe", 2), item(0)};
    const auto f = s->filter(lacking);
    CHECK(f.size() == 0);
    CHECK(f.given() == lacking.size());
    const auto q = row(chain.queries, 1);
    CHECK(s->search(q, 10, 0, f).empty());
    CHECK(s->search_exact(q, 10, f).empty());
    const auto none = s->filter(std::vector<std::string>{});
    CHECK(none.size() == 0);
    CHECK(s->search(q, 10, 0, none).empty());
    // The same ids were live in c1, whose filter holds them.
    const auto c1 = store->open_commit("d", "c1");
    CHECK(c1->filter(lacking).size() == 2);
}

TEST_CASE("a mixed filter returns only its live ids, deleted and replaced ones as in the commit",
          "[filter]") {
    Chain chain;
    auto store = chain.open();
    const auto s = store->open_commit("d", "c2");
    // Every tenth item: deleted ones (0-299), replaced ones (300-599) and untouched ones,
    // each given twice, and ids never inserted.
    std::vector<std::string> ids = every_tenth(0, kItems);
    const std::vector<std::string> again = ids;
    ids.insert(ids.end(), again.begin(), again.end());
    ids.push_back("absent-1");
    ids.push_back("absent-2");
    const auto f = s->filter(ids);
    CHECK(f.given() == ids.size());
    CHECK(f.size() == 270);  // 300 every-tenth items less the 30 deleted
    std::set<std::string> live_allowed;
    for (const auto& id : again) {
        if (s->contains(id))
            live_allowed.insert(id);
    }
    REQUIRE(live_allowed.size() == 270);
    check_filtered_queries(chain, *s, f, live_allowed);
    // A replaced item is measured at its new vector: the query that is its new vector finds
    // it at distance 0.
    const auto own = s->search(row(chain.replaced, 10), 1, 0, f);
    REQUIRE(own.size() == 1);
    CHECK(own[0].id == item(310));
    CHECK(own[0].distance == 0.0f);
}

TEST_CASE("k beyond the allowed set returns all of it, in order", "[filter]") {
    Chain chain;
    auto store = chain.open();
    const auto s = store->open_commit("d", "c2");
    const std::vector<std::string> ids = {item(5), item(700), item(701), item(2999), "absent"};
    const std::set<std::string> live = {item(700), item(701), item(2999)};
    const auto f = s->filter(ids);
    CHECK(f.size() == 3);
    const auto q = row(chain.queries, 2);
    const auto expected = reference(*s, q, 100, live);
    REQUIRE(expected.size() == 3);
    CHECK(s->search(q, 100, 0, f) == expected);
    CHECK(s->search(q, 3, 0, f) == expected);
    CHECK(s->search_exact(q, 100, f) == expected);
    CHECK(s->search(q, 0, 0, f).empty());
}

TEST_CASE("filtered search under every metric", "[filter]") {
    for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kIp}) {
        INFO("metric " << format::metric_name(metric));
        Chain chain(metric);
        auto store = chain.open();
        const auto s = store->open_commit("d", "c2");
        const auto ids = every_tenth(3, kItems);  // 30 deleted, 270 live
        const std::set<std::string> live(ids.begin() + 30, ids.end());
        const auto f = s->filter(ids);
        REQUIRE(f.size() == 270);
        check_filtered_queries(chain, *s, f, live);
    }
}

TEST_CASE("mapped and pool mode give the same filtered answers", "[filter]") {
    Chain chain;
    auto mapped_store = chain.open(graph_options(ServingMode::kMapped));
    const auto mapped = mapped_store->open_commit("d", "c2");
    const auto ids = every_tenth(1, kItems);
    std::vector<std::vector<SearchHit>> answers;
    const auto mf = mapped->filter(ids);
    for (size_t q = 0; q < 20; ++q)
        answers.push_back(mapped->search(row(chain.queries, q), 10, 0, mf));
    mapped_store.reset();
    StoreOptions pool = graph_options(ServingMode::kPool);
    pool.pool_budget_bytes = 64 << 10;  // a few pages: frames are reused during a search
    auto pool_store = chain.open(pool);
    const auto pooled = pool_store->open_commit("d", "c2");
    const auto pf = pooled->filter(ids);
    const std::set<std::string> live(ids.begin() + 30, ids.end());
    for (size_t q = 0; q < 20; ++q) {
        const auto query = row(chain.queries, q);
        CHECK(pooled->search(query, 10, 0, pf) == answers[q]);
        CHECK(pooled->search_exact(query, 10, pf) == reference(*pooled, query, 10, live));
    }
}

TEST_CASE("the default crossover scans a small allowed set exactly", "[filter]") {
    Chain chain;
    auto store = chain.open(StoreOptions{});
    const auto s = store->open_commit("d", "c2");
    // 270 live of 2,700: far below exact_threshold and the crossover, so exactly the scan's.
    const auto ids = every_tenth(2, kItems);
    const std::set<std::string> live(ids.begin() + 30, ids.end());
    const auto f = s->filter(ids);
    for (size_t q = 0; q < 20; ++q) {
        const auto query = row(chain.queries, q);
        CHECK(s->search(query, 10, 0, f) == reference(*s, query, 10, live));
    }
}

TEST_CASE("a filter made by another snapshot is refused", "[filter]") {
    Chain chain;
    auto store = chain.open();
    const auto c1 = store->open_commit("d", "c1");
    const auto c2 = store->open_commit("d", "c2");
    const std::vector<std::string> ids = {item(1000), item(1001)};
    const auto f1 = c1->filter(ids);
    const auto q = row(chain.queries, 0);
    const auto inv = ErrorCode::kInvalidArgument;
    check_error([&] { c2->search(q, 10, 0, f1); }, inv, {"filter", "'c1'", "'c2'", "'d'"});
    check_error([&] { c2->search_exact(q, 10, f1); }, inv, {"filter", "'c1'", "'c2'"});
    // The same commit of another store is another snapshot too: its node numbers may differ.
    TempDir other_dir;
    std::filesystem::copy(chain.dir.file("s"), other_dir.file("s"));
    for (const char* lock : {"/writer.lock", "/catalog-lock"})
        std::filesystem::remove(other_dir.file("s") + lock);
    auto other = Store::open(other_dir.file("s"), graph_options());
    const auto other_c1 = other->open_commit("d", "c1");
    check_error([&] { other_c1->search(q, 10, 0, f1); }, inv, {"another snapshot"});
    // A query the search refuses is refused with a filter too.
    const std::vector<float> wrong(kDim + 1, 0.5f);
    check_error([&] { c1->search(wrong, 10, 0, f1); }, inv, {"components"});
    // The snapshot that made it, reached again through the index pool, takes it.
    CHECK(store->open_commit("d", "c1")->search(q, 10, 0, f1).size() == 2);
}

TEST_CASE("filtered search keeps recall on Fashion-MNIST subsets", "[filter][fashion]") {
    constexpr uint32_t dim = 784;
    constexpr size_t base_rows = 6000, query_rows = 50;
    const auto base = format::read_idx_ubyte(format::fashion_mnist_train_path(), base_rows);
    const auto queries = format::read_idx_ubyte(format::fashion_mnist_test_path(), query_rows);
    TempDir dir;
    {
        auto store = Store::create(dir.file("s"));
        store->create_domain("fashion", {.dimension = dim, .ef_construction = 100});
        auto b = store->begin_commit("fashion", "c1", std::nullopt);
        for (size_t i = 0; i < base_rows; ++i)
            b.insert(item(i), {base.row(i), dim});
        b.finish();
    }
    // The default options, and the graph forced for every set wider than ef.
    for (bool forced : {false, true}) {
        auto store = Store::open(dir.file("s"), forced ? graph_options() : StoreOptions{});
        const auto s = store->open_commit("fashion", "c1");
        for (double share : {0.1, 0.02, 0.01, 0.001}) {
            INFO((forced ? "graph forced" : "default") << ", selectivity " << share);
            std::mt19937 rng(static_cast<unsigned>(share * 1e4));
            std::vector<size_t> order(base_rows);
            for (size_t i = 0; i < base_rows; ++i)
                order[i] = i;
            std::shuffle(order.begin(), order.end(), rng);
            std::vector<std::string> ids;
            for (size_t i = 0; i < size_t(share * base_rows); ++i)
                ids.push_back(item(order[i]));
            const std::set<std::string> allowed(ids.begin(), ids.end());
            const auto f = s->filter(ids);
            REQUIRE(f.size() == ids.size());
            double total = 0;
            for (size_t q = 0; q < query_rows; ++q) {
                const std::span<const float> query(queries.row(q), dim);
                const auto truth = s->search_exact(query, 10, f);
                CHECK(truth == reference(*s, query, 10, allowed));
                const auto found = s->search(query, 10, 0, f);
                CHECK(found.size() == std::min<size_t>(10, ids.size()));
                total += recall(found, truth);
            }
            CHECK(total / query_rows >= 0.95);
        }
    }
}
