// Snapshot::search_exact_batch: the answers of search_exact, query by query, for every
// metric, serving mode and thread count, on random and adversarial data.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"
#include "vstore/format/vector_file_format.h"
#include "vstore/store.h"

using namespace vstore;
using vstore::test::TempDir;

namespace {

std::string id_of(uint64_t i) {
    return test::numbered("id", static_cast<long long>(i));
}

std::span<const float> row(const std::vector<float>& v, uint32_t dim, uint64_t i) {
    return {v.data() + i * dim, dim};
}

StoreOptions options_for(ServingMode mode, unsigned threads) {
    StoreOptions o;
    o.mode = mode;
    o.threads = threads;
    return o;
}

// Checks that the batch answers each query exactly as search_exact does, at several k.
void check_batch(const Snapshot& s, const std::vector<float>& queries, uint32_t dim,
                 const std::vector<size_t>& ks) {
    const size_t count = queries.size() / dim;
    for (size_t k : ks) {
        INFO("k " << k << ", " << count << " queries");
        const auto batch = s.search_exact_batch(queries, k);
        REQUIRE(batch.size() == count);
        size_t differing = 0;
        for (size_t q = 0; q < count; ++q) {
            const auto one = s.search_exact(row(queries, dim, q), k);
            if (batch[q] != one) {
                ++differing;
                INFO("query " << q);
                CHECK(batch[q] == one);
            }
        }
        CHECK(differing == 0);
    }
}

// Commits c1 (`data`, ids id0...) and c2 (a fifth of them deleted, a fifth replaced by
// `replacements`' rows) to domain `domain`.
void commit_two(Store& store, const std::string& domain, uint32_t dim, Metric metric,
                const std::vector<float>& data, const std::vector<float>& replacements) {
    store.create_domain(domain,
                        {.dimension = dim, .metric = metric, .m = 8, .ef_construction = 32});
    const size_t count = data.size() / dim;
    auto b1 = store.begin_commit(domain, "c1", std::nullopt);
    for (size_t i = 0; i < count; ++i)
        b1.insert(id_of(i), row(data, dim, i));
    b1.finish();
    auto b2 = store.begin_commit(domain, "c2", "c1");
    for (size_t i = 0; i < count; i += 5) {
        b2.remove(id_of(i));
        b2.replace(id_of(i + 1), row(replacements, dim, i / 5));
    }
    b2.finish();
}

}  // namespace

TEST_CASE("search_exact_batch answers as search_exact, for every metric, mode and thread count",
          "[exact_batch]") {
    TempDir dir;
    constexpr size_t kCount = 2600;  // enough for two threads' shares
    {
        auto store = Store::create(dir.file("s"));
        for (const uint32_t dim : {5u, 20u, 64u}) {
            for (const auto metric : {Metric::kL2, Metric::kCosine, Metric::kIp}) {
                const std::string domain =
                    std::string(format::metric_name(metric)) + "-" + std::to_string(dim);
                commit_two(*store, domain, dim, metric, test::random_vectors(kCount, dim, dim),
                           test::random_vectors(kCount / 5, dim, dim + 1));
            }
        }
    }
    for (const auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        for (const unsigned threads : {1u, 2u}) {
            auto store = Store::open(dir.file("s"), options_for(mode, threads));
            for (const auto& domain : store->domains()) {
                const uint32_t dim = domain.dimension;
                // Random points, and stored vectors (live, deleted and replaced ones).
                auto queries = test::random_vectors(40, dim, 99);
                const auto data = test::random_vectors(kCount, dim, dim);
                for (uint64_t i : {0, 1, 2, 7, 1234})
                    queries.insert(queries.end(), row(data, dim, i).begin(),
                                   row(data, dim, i).end());
                for (const char* commit : {"c1", "c2"}) {
                    INFO("domain " << domain.name << ", commit " << commit << ", mode "
                                   << (mode == ServingMode::kMapped ? "mapped" : "pool")
                                   << ", threads " << threads);
                    const auto s = store->open_commit(domain.name, commit);
                    check_batch(*s, queries, dim, {1, 10, 57});
                }
            }
        }
    }
    // Batches around the kernel's blocks of 6 queries, and one query alone.
    auto store = Store::open(dir.file("s"));
    const auto s = store->open_commit("l2-20", "c2");
    for (size_t n : {1, 2, 5, 6, 7, 13})
        check_batch(*s, test::random_vectors(n, 20, 500 + n), 20, {10});
    // More queries than one pass over the vectors takes (4,096).
    check_batch(*store->open_commit("ip-5", "c2"), test::random_vectors(4100, 5, 600), 5, {3});
}

TEST_CASE("search_exact_batch on duplicates, ties, zero vectors and every k", "[exact_batch]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"), options_for(ServingMode::kMapped, 2));
    constexpr uint32_t kDim = 6;
    // Components in {0, 1, 2}: many vectors at exactly equal distances from any query of
    // whole numbers, and 600 copies of one vector among them, so that the first pass cannot
    // tell the k-th from the next ones.
    std::mt19937_64 rng(3);
    std::vector<float> data;
    for (size_t i = 0; i < 3000; ++i) {
        for (uint32_t c = 0; c < kDim; ++c)
            data.push_back(i % 5 == 0 ? 1.0f : static_cast<float>(rng() % 3));
        if (std::all_of(data.end() - kDim, data.end(), [](float x) { return x == 0; }))
            data.back() = 2;  // zero vectors come below, where the metric allows them
    }
    for (const auto metric : {Metric::kL2, Metric::kCosine, Metric::kIp}) {
        const std::string domain(format::metric_name(metric));
        store->create_domain(domain, {.dimension = kDim, .metric = metric});
        auto b = store->begin_commit(domain, "c1", std::nullopt);
        for (size_t i = 0; i < data.size() / kDim; ++i) {
            // Cosine has no zero vector; the others hold some.
            const bool zero = metric != Metric::kCosine && i % 97 == 0;
            b.insert(id_of(i), zero ? std::vector<float>(kDim, 0.0f)
                                    : std::vector<float>(row(data, kDim, i).begin(),
                                                         row(data, kDim, i).end()));
        }
        b.finish();
        const auto s = store->open_commit(domain, "c1");
        std::vector<float> queries = {1, 1, 1, 1, 1, 1, 2, 0, 1, 0, 2, 1, 0, 0, 0, 0, 0, 1};
        if (metric != Metric::kCosine)
            queries.insert(queries.end(), kDim, 0.0f);  // a zero query
        INFO("metric " << domain);
        check_batch(*s, queries, kDim, {1, 3, 10, 100, 700, 2999, 3000, 3001, 5000});
        // k = 0 answers nothing to each query; no query answers nothing.
        const auto none = s->search_exact_batch(queries, 0);
        CHECK(none == std::vector<std::vector<SearchHit>>(queries.size() / kDim));
        CHECK(s->search_exact_batch(std::span<const float>(), 10).empty());
    }
    // A commit with nothing live.
    auto drop = store->begin_commit("l2", "c2", "c1");
    for (size_t i = 0; i < data.size() / kDim; ++i)
        drop.remove(id_of(i));
    drop.finish();
    CHECK(store->open_commit("l2", "c2")->search_exact_batch(std::vector<float>(kDim, 1.0f), 5) ==
          std::vector<std::vector<SearchHit>>(1));
}

TEST_CASE("search_exact_batch refuses what search_exact refuses, naming the query",
          "[exact_batch]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {.dimension = 4, .metric = Metric::kCosine});
    auto b = store->begin_commit("d", "c1", std::nullopt);
    b.insert("a", std::vector<float>{1, 2, 3, 4});
    b.finish();
    const auto s = store->open_commit("d", "c1");
    test::check_error(
        [&] {
            s->search_exact_batch(std::vector<float>{1, 2, 3, 4, 5}, 1);
        },
        ErrorCode::kInvalidArgument, {"a batch of 5 floats", "domain 'd'", "dimension 4"});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::string single;
    CHECK(test::code_of(
              [&] {
                  s->search_exact(std::vector<float>{1, nan, 0, 0}, 1);
              },
              &single) == ErrorCode::kInvalidArgument);
    const std::string single_message = single.substr(single.find(": ") + 2);
    test::check_error(
        [&] {
            s->search_exact_batch(std::vector<float>{1, 1, 1, 1, 1, nan, 0, 0}, 1);
        },
        ErrorCode::kInvalidArgument, {"query 1 of the batch: " + single_message});
    test::check_error(
        [&] {
            s->search_exact_batch(std::vector<float>{1, 1, 1, 1, 0, 0, 0, 0}, 1);
        },
        ErrorCode::kInvalidArgument, {"query 1 of the batch: a zero query has no cosine distance"});
    const float inf = std::numeric_limits<float>::infinity();
    test::check_error(
        [&] {
            s->search_exact_batch(std::vector<float>{inf, 1, 1, 1}, 1);
        },
        ErrorCode::kInvalidArgument, {"query 0 of the batch"});
}

TEST_CASE("search_exact_batch checks mapped vectors as search_exact does",
          "[exact_batch][corruption]") {
    TempDir dir;
    constexpr uint32_t kDim = 8;
    constexpr uint64_t kCount = 2500;
    const auto data = test::random_vectors(kCount, kDim, 7);
    std::string path;
    {
        auto store = Store::create(dir.file("s"));
        store->create_domain("d", {.dimension = kDim, .metric = Metric::kL2});
        auto b = store->begin_commit("d", "c1", std::nullopt);
        for (uint64_t i = 0; i < kCount; ++i)
            b.insert(id_of(i), row(data, kDim, i));
        b.finish();
        path = dir.file("s") + "/" + store->domain("d").vector_file;
    }
    const auto layout = format::VectorLayout::for_dimension(kDim);
    REQUIRE(std::memcmp(test::read_file(path).data() + layout.vector_offset(1500),
                        &data[1500 * kDim], kDim * sizeof(float)) == 0);
    test::flip_byte(path, layout.vector_offset(1500) + 5);
    const auto queries = test::random_vectors(10, kDim, 8);
    for (const auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        for (int pass = 0; pass < 2; ++pass) {
            auto store = Store::open(dir.file("s"), options_for(mode, 2));
            const auto s = store->open_commit("d", "c1");
            std::string message;
            CHECK(test::code_of([&] { s->search_exact_batch(queries, 10); }, &message) ==
                  ErrorCode::kCorruption);
            CHECK_THAT(message, Catch::Contains(store->domain("d").vector_file));
        }
    }
    // With the check turned off (for measuring its cost only) the batch reads what is there,
    // as search_exact does.
    StoreOptions unchecked;
    unchecked.verify_mapped_vectors = false;
    auto store = Store::open(dir.file("s"), unchecked);
    check_batch(*store->open_commit("d", "c1"), queries, kDim, {10});
}
