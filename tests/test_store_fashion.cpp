// The commit chain of the versioned index issue on a Fashion-MNIST subset.
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "test_support.h"
#include "vstore/format/idx_file.h"
#include "vstore/store.h"

using namespace vstore;

namespace {

constexpr uint32_t kDim = 784;

std::string image_id(size_t n) {
    return "fashion/" + std::to_string(n);
}

double recall_at_10(const Snapshot& s, const format::IdxMatrix& queries, size_t count) {
    size_t found = 0;
    for (size_t q = 0; q < count; ++q) {
        const std::span<const float> query(queries.row(q), kDim);
        const auto exact = s.search_exact(query, 10);
        std::set<std::string> truth;
        for (const auto& h : exact)
            truth.insert(h.id);
        for (const auto& h : s.search(query, 10, 64))
            found += truth.count(h.id);
    }
    return double(found) / (10.0 * count);
}

}  // namespace

TEST_CASE("a chain of commits on Fashion-MNIST keeps every commit's answers", "[store][fashion]") {
    const auto base = format::read_idx_ubyte(format::fashion_mnist_train_path(), 10000);
    const auto queries = format::read_idx_ubyte(format::fashion_mnist_test_path(), 1000);
    test::TempDir dir;
    auto store = Store::create(dir.file("store"));
    store->create_domain("fashion", {kDim});
    auto vec = [&](const format::IdxMatrix& m, size_t n) {
        return std::span<const float>(m.row(n), kDim);
    };

    // c1: insert 8,000.
    {
        auto b = store->begin_commit("fashion", "c1", std::nullopt);
        for (size_t n = 0; n < 8000; ++n)
            b.insert(image_id(n), vec(base, n));
        CHECK(b.finish().live_count == 8000);
    }
    auto c1 = store->open_commit("fashion", "c1");
    const std::string c1_graph = dir.file("store") + "/" + c1->info().graph_file;
    const auto c1_graph_bytes = test::read_file(c1_graph);
    std::vector<std::vector<SearchHit>> c1_answers;
    for (size_t q = 0; q < 100; ++q)
        c1_answers.push_back(c1->search(vec(queries, q), 10, 64));
    CHECK(recall_at_10(*c1, queries, 200) >= 0.95);

    // c2: delete 1,000, replace 500, insert 2,000.
    std::mt19937 rng(11);
    std::vector<size_t> order(8000);
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::set<std::string> deleted;  // by c2; deleted_by_c3 adds c3's own
    std::set<std::string> deleted_by_c3;
    std::vector<size_t> replaced;
    {
        auto b = store->begin_commit("fashion", "c2", "c1");
        for (size_t i = 0; i < 1000; ++i) {
            b.remove(image_id(order[i]));
            deleted.insert(image_id(order[i]));
        }
        for (size_t i = 1000; i < 1500; ++i) {
            // The new vector of a replaced image is a test image.
            b.replace(image_id(order[i]), vec(queries, 500 + (i - 1000)));
            replaced.push_back(order[i]);
        }
        for (size_t n = 8000; n < 10000; ++n)
            b.insert(image_id(n), vec(base, n));
        const CommitInfo info = b.finish();
        CHECK(info.deleted == 1000);
        CHECK(info.replaced == 500);
        CHECK(info.inserted == 2000);
        CHECK(info.live_count == 9000);
        // Both kinds of deletion happened: upper-layer nodes stay as tombstones.
        CHECK(info.tombstone_count > 0);
        CHECK(info.tombstone_count < 1000);
    }
    auto c2 = store->open_commit("fashion", "c2");
    CHECK(c2->size() == 9000);

    // c3 on c2: delete 500 more (some of c2's inserts), replace 200, insert 300.
    {
        auto b = store->begin_commit("fashion", "c3", "c2");
        for (size_t n = 8000; n < 8500; ++n) {
            b.remove(image_id(n));
            deleted_by_c3.insert(image_id(n));
        }
        for (size_t i = 1500; i < 1700; ++i)
            b.replace(image_id(order[i]), vec(queries, i - 1500));
        for (size_t q = 0; q < 300; ++q)
            b.insert("query/" + std::to_string(700 + q), vec(queries, 700 + q));
        CHECK(b.finish().live_count == 8800);
    }
    auto c3 = store->open_commit("fashion", "c3");

    // Graph files are immutable: building c2 and c3 left c1's untouched.
    CHECK(test::read_file(c1_graph) == c1_graph_bytes);

    // c1 answers exactly as before, also when loaded afresh from its files.
    for (size_t q = 0; q < 100; ++q)
        REQUIRE(c1->search(vec(queries, q), 10, 64) == c1_answers[q]);
    store.reset();  // one Store object per directory and process
    store = Store::open(dir.file("store"));
    {
        auto s = store->open_commit("fashion", "c1");
        for (size_t q = 0; q < 100; ++q)
            REQUIRE(s->search(vec(queries, q), 10, 64) == c1_answers[q]);
    }

    // No deleted id is ever returned by c2 or c3.
    deleted_by_c3.insert(deleted.begin(), deleted.end());
    for (const auto& [s, gone] : {std::pair{c2, &deleted}, std::pair{c3, &deleted_by_c3}}) {
        for (size_t q = 0; q < 200; ++q) {
            for (const auto& h : s->search(vec(queries, q), 10, 64))
                REQUIRE(gone->count(h.id) == 0);
            for (const auto& h : s->search(vec(queries, q), 100, 100))
                REQUIRE(gone->count(h.id) == 0);
        }
        for (const auto& id : s->ids())
            REQUIRE(gone->count(id) == 0);
    }
    CHECK(c2->contains(image_id(8000)));
    CHECK_FALSE(c3->contains(image_id(8000)));
    // c2's deletions of c1 ids stay deleted in c3 as well; c2's are only in c2's own set.
    for (size_t i = 0; i < 1000; ++i)
        REQUIRE_FALSE(c3->contains(image_id(order[i])));

    // A replaced id is found at its new vector in c2 and at its old one in c1.
    for (size_t r = 0; r < 50; ++r) {
        const std::string id = image_id(replaced[r]);
        const auto at_new = c2->search(vec(queries, 500 + r), 1, 64);
        REQUIRE(at_new.size() == 1);
        CHECK(at_new[0] == SearchHit{id, 0.0f});
        CHECK(c1->search(vec(base, replaced[r]), 1, 64)[0] == SearchHit{id, 0.0f});
        for (const auto& h : c2->search_exact(vec(base, replaced[r]), 3)) {
            if (h.id == id)
                CHECK(h.distance > 0.0f);
        }
    }

    // The graphs are sound after deletions, and recall holds.
    for (const auto& s : {c2, c3}) {
        const GraphCheck check = s->check_graph();
        CHECK(check.unreachable_live == 0);
        CHECK(check.links_to_removed == 0);
    }
    CHECK(recall_at_10(*c3, queries, 200) >= 0.95);
}
