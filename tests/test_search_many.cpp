// search_many: the k nearest over several domains, checked against a brute-force merge.
#include <algorithm>
#include <set>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.h"
#include "vstore/search_many.h"
#include "vstore/store.h"

using namespace vstore;
using vstore::test::check_error;
using vstore::test::TempDir;

namespace {

using Snapshots = std::vector<std::shared_ptr<const Snapshot>>;

constexpr uint32_t kDim = 8;

std::span<const float> row(const std::vector<float>& v, size_t i) {
    return {v.data() + i * kDim, kDim};
}

// Creates `domain` and commits "c1": ids "<prefix>0", "<prefix>1", ... with `count` seeded rows.
// Ids repeat across domains given the same prefix, as llm's collections do.
std::vector<float> commit_rows(Store& store, const std::string& domain, Metric metric, size_t count,
                               uint64_t seed, const std::string& prefix = "item-") {
    store.create_domain(domain, {.dimension = kDim, .metric = metric});
    const auto data = test::random_vectors(count, kDim, seed);
    auto b = store.begin_commit(domain, "c1", std::nullopt);
    for (size_t i = 0; i < count; ++i)
        b.insert(prefix + std::to_string(i), row(data, i));
    b.finish();
    return data;
}

float squared_l2(std::span<const float> a, std::span<const float> b) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i)
        sum += double(a[i] - b[i]) * double(a[i] - b[i]);
    return static_cast<float>(sum);
}

// The k nearest of the union by brute force: every live item of every snapshot, with the
// distance vstore reports for it, in (distance, domain, id, commit) order.
std::vector<MultiHit> brute_force(const Snapshots& snapshots, std::span<const float> query,
                                  size_t k) {
    std::vector<MultiHit> all;
    for (const auto& s : snapshots) {
        for (const auto& hit : s->search_exact(query, s->size()))
            all.push_back({s->domain().name, s->info().commit, hit.id, hit.distance});
    }
    std::sort(all.begin(), all.end(), [](const MultiHit& a, const MultiHit& b) {
        return std::tie(a.distance, a.domain, a.id, a.commit) <
               std::tie(b.distance, b.domain, b.id, b.commit);
    });
    all.resize(std::min(k, all.size()));
    return all;
}

}  // namespace

TEST_CASE("search_many answers the k nearest of all its domains, each hit naming its domain",
          "[search_many]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    // Small domains, so that search is exact in each and the merge must equal brute force.
    const auto a = commit_rows(*store, "a", Metric::kL2, 300, 1);
    const auto b = commit_rows(*store, "b", Metric::kL2, 200, 2);
    const auto c = commit_rows(*store, "c", Metric::kL2, 50, 3);
    const Snapshots snapshots = {store->open_commit("b", "c1"), store->open_commit("a", "c1"),
                                 store->open_commit("c", "c1")};
    const auto queries = test::random_vectors(20, kDim, 99);
    for (size_t q = 0; q < 20; ++q) {
        const auto query = row(queries, q);
        for (size_t k : {1, 10, 37}) {
            const auto hits = search_many(snapshots, query, k);
            REQUIRE(hits == brute_force(snapshots, query, k));
            CHECK(hits == search_many_exact(snapshots, query, k));
            for (const auto& hit : hits) {
                const auto& data = hit.domain == "a" ? a : hit.domain == "b" ? b : c;
                const size_t i = std::stoul(hit.id.substr(5));
                CHECK(hit.commit == "c1");
                CHECK(hit.distance == Approx(squared_l2(row(data, i), query)).margin(1e-5));
            }
        }
    }
    // The hits come from every domain, not only the first.
    std::set<std::string> domains;
    for (size_t q = 0; q < 20; ++q)
        for (const auto& hit : search_many(snapshots, row(queries, q), 10))
            domains.insert(hit.domain);
    CHECK(domains == std::set<std::string>{"a", "b", "c"});
}

TEST_CASE("search_many through graphs merges each domain's own k nearest", "[search_many]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    commit_rows(*store, "big", Metric::kCosine, 1500, 4);  // over exact_threshold: a graph search
    commit_rows(*store, "small", Metric::kCosine, 100, 5);
    const Snapshots snapshots = {store->open_commit("big", "c1"),
                                 store->open_commit("small", "c1")};
    const auto queries = test::random_vectors(10, kDim, 98);
    for (size_t q = 0; q < 10; ++q) {
        const auto query = row(queries, q);
        std::vector<MultiHit> expected;
        for (const auto& s : snapshots)
            for (const auto& hit : s->search(query, 10, 32))
                expected.push_back({s->domain().name, "c1", hit.id, hit.distance});
        std::sort(expected.begin(), expected.end(), [](const MultiHit& x, const MultiHit& y) {
            return std::tie(x.distance, x.domain, x.id) < std::tie(y.distance, y.domain, y.id);
        });
        expected.resize(10);
        CHECK(search_many(snapshots, query, 10, 32) == expected);
        CHECK(search_many_exact(snapshots, query, 10) == brute_force(snapshots, query, 10));
    }
}

TEST_CASE("search_many orders equal distances by domain, then id, whatever the input order",
          "[search_many]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    const std::vector<float> v = {1, 0, 0, 0, 0, 0, 0, 0};
    const std::vector<float> far = {0, 1, 0, 0, 0, 0, 0, 0};
    for (const char* d : {"b", "a"}) {
        store->create_domain(d, {.dimension = kDim});
        auto c = store->begin_commit(d, "c1", std::nullopt);
        c.insert("y", v);
        c.insert("x", v);
        c.insert("z", far);
        c.finish();
    }
    // A second commit of "a" beside its first: the same ids, told apart by their commit.
    auto c2 = store->begin_commit("a", "c2", "c1");
    c2.remove("z");
    c2.finish();
    Snapshots snapshots = {store->open_commit("b", "c1"), store->open_commit("a", "c2"),
                           store->open_commit("a", "c1")};
    const std::vector<MultiHit> expected = {
        {"a", "c1", "x", 0}, {"a", "c2", "x", 0}, {"a", "c1", "y", 0},
        {"a", "c2", "y", 0}, {"b", "c1", "x", 0}, {"b", "c1", "y", 0},
    };
    CHECK(search_many(snapshots, v, 6) == expected);
    std::reverse(snapshots.begin(), snapshots.end());
    CHECK(search_many(snapshots, v, 6) == expected);
    CHECK(search_many_exact(snapshots, v, 6) == expected);
}

TEST_CASE("search_many with k beyond every domain's size answers every live item",
          "[search_many]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    commit_rows(*store, "a", Metric::kIp, 5, 6);
    commit_rows(*store, "b", Metric::kIp, 3, 7);
    const Snapshots snapshots = {store->open_commit("a", "c1"), store->open_commit("b", "c1")};
    const auto query = test::random_vectors(1, kDim, 97);
    const auto hits = search_many(snapshots, query, 100);
    CHECK(hits.size() == 8);
    CHECK(hits == brute_force(snapshots, query, 100));
    CHECK(std::is_sorted(hits.begin(), hits.end(), [](const MultiHit& x, const MultiHit& y) {
        return x.distance < y.distance;
    }));
    CHECK(search_many(snapshots, query, 0).empty());
}

TEST_CASE("search_many refuses domains whose distances do not compare", "[search_many]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    commit_rows(*store, "l2", Metric::kL2, 10, 1);
    commit_rows(*store, "cos", Metric::kCosine, 10, 2);
    store->create_domain("four", {.dimension = 4});
    {
        auto c = store->begin_commit("four", "c1", std::nullopt);
        c.insert("x", std::vector<float>{1, 2, 3, 4});
        c.finish();
    }
    const auto l2 = store->open_commit("l2", "c1");
    const auto cos = store->open_commit("cos", "c1");
    const auto four = store->open_commit("four", "c1");
    const auto query = test::random_vectors(1, kDim, 96);
    const auto inv = ErrorCode::kInvalidArgument;

    check_error(
        [&] {
            search_many(Snapshots{l2, cos}, query, 5);
        },
        inv,
        {"commit 'c1' of domain 'cos' has metric cosine", "commit 'c1' of domain 'l2' has l2",
         "one dimension and metric"});
    check_error(
        [&] {
            search_many_exact(Snapshots{l2, four}, query, 5);
        },
        inv, {"commit 'c1' of domain 'four' has 4 dimensions", "commit 'c1' of domain 'l2' has 8"});
    check_error(
        [&] {
            search_many(Snapshots{l2, l2}, query, 5);
        },
        inv, {"commit 'c1' of domain 'l2' is given twice"});
    check_error([&] { search_many(Snapshots{}, query, 5); }, inv, {"at least one snapshot"});
    check_error(
        [&] {
            search_many(Snapshots{l2, nullptr}, query, 5);
        },
        inv, {"snapshot 1 is null"});
    check_error(
        [&] {
            search_many(Snapshots{l2}, std::vector<float>{1, 2}, 5);
        },
        inv, {"query has 2 components", "domain 'l2' has 8"});
}
