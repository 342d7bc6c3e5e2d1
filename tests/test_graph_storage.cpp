// Graph storage version 2 in a store: delta and full files of a commit chain, the chain policy,
// commits that share their parent's graph (assign), damaged deltas and missing bases, and
// stores written by the previous version (graph format 1).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <set>

#include "test_support.h"
#include "vstore/format/bytes.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/format/idx_file.h"
#include "vstore/pack.h"
#include "vstore/store.h"

using namespace vstore;
namespace fs = std::filesystem;
using test::code_of;
using test::files_in;

namespace {

constexpr uint32_t kFashionDim = 784;

std::string image_id(size_t n) {
    return test::numbered("fashion/", static_cast<long long>(n));
}

// A base of `count` Fashion-MNIST images and `commits` commits on it, each deleting, replacing
// and inserting `change` images (a share of the base); returns the commit ids, base first.
std::vector<std::string> fashion_chain(Store& store, const format::IdxMatrix& images, size_t count,
                                       size_t commits, size_t change) {
    store.create_domain("f", {kFashionDim});
    auto row = [&](size_t n) { return std::span<const float>(images.row(n), kFashionDim); };
    std::vector<std::string> ids = {"base"};
    {
        auto b = store.begin_commit("f", "base", std::nullopt);
        for (size_t n = 0; n < count; ++n)
            b.insert(image_id(n), row(n));
        b.finish();
    }
    size_t next = count;       // the next image to insert
    size_t oldest = 0;         // the next image to delete
    for (size_t c = 1; c <= commits; ++c) {
        const std::string id = test::numbered("c", static_cast<long long>(c));
        auto b = store.begin_commit("f", id, ids.back());
        for (size_t j = 0; j < change; ++j)
            b.remove(image_id(oldest++));
        for (size_t j = 0; j < change; ++j)  // a replace takes another image's vector
            b.replace(image_id(oldest + j), row(next + commits * change + j));
        for (size_t j = 0; j < change; ++j, ++next)
            b.insert(image_id(next), row(next));
        b.finish();
        ids.push_back(id);
    }
    return ids;
}

}  // namespace

TEST_CASE("a delta commit answers every query exactly as the same graph in a full file",
          "[store][graph-v2][fashion]") {
    const auto images = format::read_idx_ubyte(format::fashion_mnist_train_path(), 4000);
    const auto queries = format::read_idx_ubyte(format::fashion_mnist_test_path(), 200);
    test::TempDir dir;
    StoreOptions options;
    options.exact_threshold = 0;  // every search goes through the graph
    options.graph_policy.max_delta_share = 1;  // a chain of six deltas, whatever their size
    auto store = Store::create(dir.file("store"), options);
    const auto commits = fashion_chain(*store, images, 3000, 6, 15);

    for (const std::string& c : commits) {
        INFO("commit " << c);
        auto s = store->open_commit("f", c);
        const CommitInfo& info = s->info();
        CHECK(info.graph_format == 2);
        if (c == "base") {
            CHECK(info.graph_kind == format::GraphKind::kFull);
            CHECK(info.graph_chain.size() == 1);
        } else {
            // 1.5 % of the nodes change per commit: a delta over the parent's file each time.
            CHECK(info.graph_kind == format::GraphKind::kDelta);
            CHECK(info.graph_chain.size() == static_cast<size_t>(std::stoi(c.substr(1))) + 1);
            CHECK(info.graph_bytes * 10 < info.graph_chain.front().bytes);
        }
        // The same graph written as one full file, renumbered: a pack of the commit.
        const std::string pack_dir = dir.file("pack-" + c);
        Pack::write(*store, "f", c, pack_dir);
        auto pack = Pack::open(pack_dir, options);
        auto full = pack->snapshot();
        REQUIRE(full->size() == s->size());
        for (size_t q = 0; q < 200; ++q) {
            const std::span<const float> query(queries.row(q), kFashionDim);
            for (size_t ef : {10, 64}) {
                const auto a = s->search(query, 10, ef);
                const auto b = full->search(query, 10, ef);
                REQUIRE(a == b);  // ids and distances, bit for bit, in order
            }
        }
        CHECK(s->check_graph().unreachable_live == 0);
        CHECK(s->check_graph().links_to_removed == 0);
    }
    // Pool mode reads the same files and gives the same answers.
    StoreOptions pooled = options;
    pooled.mode = ServingMode::kPool;
    pooled.pool_budget_bytes = 1 << 20;
    std::vector<std::vector<SearchHit>> mapped_answers;
    {
        auto s = store->open_commit("f", commits.back());
        for (size_t q = 0; q < 50; ++q)
            mapped_answers.push_back(s->search({queries.row(q), kFashionDim}, 10, 32));
    }
    store.reset();
    auto pool_store = Store::open(dir.file("store"), pooled);
    auto s = pool_store->open_commit("f", commits.back());
    for (size_t q = 0; q < 50; ++q)
        REQUIRE(s->search({queries.row(q), kFashionDim}, 10, 32) == mapped_answers[q]);
}

TEST_CASE("the chain policy writes a full file past its depth or its share", "[store][graph-v2]") {
    const auto data = test::random_vectors(3000, 16, 7);
    auto row = [&](size_t n) { return std::span<const float>(data.data() + n * 16, 16); };
    auto grow = [&](Store& store, size_t commits) {
        store.create_domain("d", {16});
        std::optional<std::string> parent;
        std::vector<CommitInfo> infos;
        size_t next = 0;
        for (size_t c = 0; c < commits; ++c) {
            const std::string id = test::numbered("c", static_cast<long long>(c));
            auto b = store.begin_commit("d", id, parent);
            for (size_t j = 0; j < (c == 0 ? 2000 : 10); ++j, ++next)
                b.insert(test::numbered("v", static_cast<long long>(next)), row(next));
            infos.push_back(b.finish());
            parent = id;
        }
        return infos;
    };
    SECTION("depth") {
        test::TempDir dir;
        StoreOptions o;
        o.graph_policy.max_chain_depth = 3;
        auto store = Store::create(dir.file("s"), o);
        const auto infos = grow(*store, 9);
        const std::vector<size_t> depths = {0, 1, 2, 3, 0, 1, 2, 3, 0};
        for (size_t c = 0; c < infos.size(); ++c) {
            INFO("commit " << c);
            CHECK(infos[c].graph_chain.size() == depths[c] + 1);
            CHECK((infos[c].graph_kind == format::GraphKind::kFull) == (depths[c] == 0));
            // Each delta builds on the parent's file.
            if (depths[c] > 0)
                CHECK(infos[c].graph_chain[depths[c] - 1] == infos[c - 1].graph_chain.back());
        }
        for (const auto& info : infos)
            CHECK(store->open_commit("d", info.commit)->size() == info.live_count);
    }
    SECTION("share") {
        test::TempDir dir;
        StoreOptions o;
        o.graph_policy.max_delta_share = 0;
        auto store = Store::create(dir.file("s"), o);
        for (const auto& info : grow(*store, 4))
            CHECK(info.graph_kind == format::GraphKind::kFull);
    }
    SECTION("deltas over the last full file") {
        test::TempDir dir;
        StoreOptions o;
        o.graph_policy.delta_base = GraphPolicy::DeltaBase::kLastFull;
        auto store = Store::create(dir.file("s"), o);
        const auto infos = grow(*store, 6);
        for (size_t c = 1; c < infos.size(); ++c) {
            INFO("commit " << c);
            REQUIRE(infos[c].graph_chain.size() == 2);
            CHECK(infos[c].graph_chain.front() == infos[0].graph_chain.front());
            // Each delta holds every change since the full file, so it grows.
            CHECK(infos[c].graph_bytes >= infos[c - 1].graph_bytes - (c == 1 ? infos[0].graph_bytes : 0));
        }
        auto s = store->open_commit("d", infos.back().commit);
        CHECK(s->size() == 2050);
        CHECK(s->contains("v2049"));
        CHECK(s->search(row(2049), 1).front().id == "v2049");
    }
}

TEST_CASE("a commit that changes nothing, and assign, write no graph file", "[store][graph-v2]") {
    test::TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {8});
    const auto data = test::random_vectors(200, 8, 11);
    {
        auto b = store->begin_commit("d", "c1", std::nullopt);
        for (size_t i = 0; i < 150; ++i)
            b.insert(test::numbered("v", static_cast<long long>(i)), {data.data() + i * 8, 8});
        b.finish();
    }
    const CommitInfo c1 = store->commit("d", "c1");
    const auto before = files_in(dir.file("s"));

    const CommitInfo same = store->begin_commit("d", "same", "c1").finish();
    CHECK(same.graph_file == c1.graph_file);
    CHECK(same.graph_chain == c1.graph_chain);
    CHECK(same.graph_owner == std::optional<std::string>("c1"));
    CHECK(same.live_count == 150);
    CHECK(same.inserted + same.deleted + same.replaced == 0);

    const CommitInfo tag = store->assign("d", "same", "release-1");
    CHECK(tag.parent == std::optional<std::string>("same"));
    CHECK(tag.graph_chain == c1.graph_chain);
    CHECK(tag.graph_owner == std::optional<std::string>("c1"));  // the writer of the file
    CHECK(files_in(dir.file("s")) == before);                    // no graph file, no vectors

    const std::vector<float> q(data.begin(), data.begin() + 8);
    CHECK(store->open_commit("d", "release-1")->search(q, 5) ==
          store->open_commit("d", "c1")->search(q, 5));
    CHECK(store->log("d", "release-1").size() == 3);

    // Refused: unknown source, existing target; nothing changes.
    CHECK(code_of([&] { store->assign("d", "nope", "x"); }) == ErrorCode::kNotFound);
    CHECK(code_of([&] { store->assign("d", "c1", "same"); }) == ErrorCode::kConflict);
    CHECK(code_of([&] { store->assign("nope", "c1", "x"); }) == ErrorCode::kNotFound);
    CHECK(store->commits("d").size() == 3);

    // A commit on a shared graph writes a delta over the file it shares.
    auto b = store->begin_commit("d", "c2", "release-1");
    b.insert("new", {data.data() + 160 * 8, 8});
    const CommitInfo c2 = b.finish();
    CHECK(c2.graph_kind == format::GraphKind::kDelta);
    CHECK(c2.graph_chain.front() == c1.graph_chain.front());
    CHECK(store->open_commit("d", "c2")->contains("new"));

    // Reopened from disk, the shared commits still answer.
    store.reset();
    store = Store::open(dir.file("s"));
    CHECK(store->commit("d", "release-1").graph_owner == std::optional<std::string>("c1"));
    CHECK(store->open_commit("d", "release-1")->size() == 150);
}

TEST_CASE("a damaged delta or a missing base is named and changes nothing", "[store][graph-v2]") {
    test::TempDir dir;
    const std::string path = dir.file("s");
    const auto data = test::random_vectors(700, 8, 5);
    {
        auto store = Store::create(path);
        store->create_domain("d", {8});
        std::optional<std::string> parent;
        for (int c = 0; c < 3; ++c) {
            const std::string id = test::numbered("c", c);
            auto b = store->begin_commit("d", id, parent);
            const size_t first = c == 0 ? 0 : 400 + 100 * c, end = c == 0 ? 500 : first + 100;
            for (size_t i = first; i < end; ++i)
                b.insert(test::numbered("v", static_cast<long long>(i)), {data.data() + i * 8, 8});
            b.finish();
            parent = id;
        }
    }
    const std::string delta = path + "/d@c2.hnsw";
    const std::string base = path + "/d@c1.hnsw";
    const std::string root = path + "/d@c0.hnsw";
    REQUIRE(test::read_file(delta).size() > 400);
    const auto delta_bytes = test::read_file(delta);
    const auto base_bytes = test::read_file(base);

    auto expect_corrupt = [&](const std::string& file_named, bool root_kept = true) {
        auto store = Store::open(path);
        std::string message;
        CHECK(code_of([&] { store->open_commit("d", "c2"); }, &message) ==
              ErrorCode::kCorruption);
        CHECK(message.find(file_named) != std::string::npos);
        CHECK(message.find('\n') == std::string::npos);
        // The commits before it still open.
        if (root_kept)
            CHECK(store->open_commit("d", "c0")->size() == 500);
    };
    SECTION("every byte of the delta") {
        // Every byte of the header, every fifth of the body.
        for (size_t offset = 0; offset < delta_bytes.size(); offset += offset < 512 ? 1 : 5) {
            INFO("offset " << offset);
            test::flip_byte(delta, offset);
            expect_corrupt("d@c2.hnsw");
            test::flip_byte(delta, offset);
        }
    }
    SECTION("a truncated delta") {
        fs::resize_file(delta, delta_bytes.size() - 1);
        expect_corrupt("d@c2.hnsw");
    }
    SECTION("a missing base") {
        fs::remove(base);
        expect_corrupt("d@c1.hnsw");
    }
    SECTION("a base replaced by another file") {
        test::flip_byte(base, base_bytes.size() - 3);
        expect_corrupt("d@c1.hnsw");
    }
    SECTION("a missing root") {
        fs::remove(root);
        expect_corrupt("d@c0.hnsw", false);
    }
}

TEST_CASE("a store written with graph format 1 opens, searches and grows",
          "[store][graph-v2][v1]") {
    // tests/data/v1-store: made by vstore-make-small-store at 3360131, the last version that
    // wrote graph format 1 and commit records of version 1 (tests/data/README.md).
    test::TempDir dir;
    const std::string path = dir.file("s");
    fs::copy(std::string(VSTORE_TEST_DATA) + "/v1-store", path, fs::copy_options::recursive);
    StoreOptions options;
    options.exact_threshold = 0;  // through the graph
    auto store = Store::open(path, options);
    const CommitInfo c2 = store->commit("d", "c2");
    CHECK(c2.graph_format == 1);
    // The answers the previous version gave: the same ids in the same order, the same
    // distances but for the last bits (the sum order of the distance kernel depends on the
    // CPU's vector width, and sanitized builds use the scalar kernel).
    {
        std::ifstream answers(std::string(VSTORE_TEST_DATA) + "/v1-store-answers.txt");
        std::mt19937_64 rng(2026);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        size_t lines = 0;
        for (int q = 0; q < 20; ++q) {
            std::vector<float> v(8);
            for (auto& x : v)
                x = u(rng);
            for (const char* c : {"c1", "c2"}) {
                std::string line;
                REQUIRE(std::getline(answers, line));
                std::istringstream expected(line);
                int q_read = -1;
                std::string c_read;
                expected >> q_read >> c_read;
                REQUIRE(q_read == q);
                REQUIRE(c_read == c);
                const auto hits = store->open_commit("d", c)->search(v, 5, 16);
                REQUIRE(hits.size() == 5);
                for (const auto& h : hits) {
                    std::string id;
                    float distance = 0;
                    expected >> id >> distance;
                    CHECK(h.id == id);
                    CHECK(h.distance == Approx(distance).epsilon(1e-5));
                }
                ++lines;
            }
        }
        CHECK(lines == 40);
    }
    auto s = store->open_commit("d", "c2");
    CHECK(s->size() == 320);
    CHECK(s->contains("v300"));
    CHECK_FALSE(s->contains("v0"));
    CHECK(s->check_graph().unreachable_live == 0);
    const auto v = s->vector("v345");
    CHECK(s->search(v, 1).front().id == "v345");
    // The next commit writes a full version 2 file: a delta needs a version 2 base.
    auto b = store->begin_commit("d", "c3", "c2");
    b.remove("v345");
    const CommitInfo c3 = b.finish();
    CHECK(c3.graph_format == 2);
    CHECK(c3.graph_kind == format::GraphKind::kFull);
    CHECK(store->open_commit("d", "c3")->size() == 319);
    CHECK(store->open_commit("d", "c1")->size() == 300);
    // A vacuum after c1 is dropped rewrites c2's version 1 file as a version 2 full file,
    // which answers exactly as the version 1 file did.
    std::vector<std::vector<SearchHit>> before;
    const auto queries = test::random_vectors(20, 8, 2027);
    for (size_t q = 0; q < 20; ++q)
        before.push_back(store->open_commit("d", "c2")->search({queries.data() + q * 8, 8}, 5, 16));
    store->drop_commits("d", {"c1"});
    const VacuumReport r = store->vacuum("d");
    CHECK(r.rewritten);
    CHECK(store->commit("d", "c2").graph_format == 2);
    for (size_t q = 0; q < 20; ++q)
        CHECK(store->open_commit("d", "c2")->search({queries.data() + q * 8, 8}, 5, 16) ==
              before[q]);
    store->verify_graph("d", "c2");
}

TEST_CASE("vacuum on the Fashion-MNIST chain: the same answers from a smaller vector file",
          "[store][graph-v2][fashion][vacuum]") {
    const auto images = format::read_idx_ubyte(format::fashion_mnist_train_path(), 4000);
    const auto queries = format::read_idx_ubyte(format::fashion_mnist_test_path(), 100);
    test::TempDir dir;
    StoreOptions options;
    options.exact_threshold = 0;
    const std::string path = dir.file("store");
    auto store = Store::create(path, options);
    const auto commits = fashion_chain(*store, images, 3000, 6, 15);
    GcOptions keep;
    keep.keep_last = 2;
    store->gc(keep);
    std::map<std::string, std::vector<std::vector<SearchHit>>> answers;
    auto answers_of = [&](const std::string& c) {
        auto s = store->open_commit("f", c);
        std::vector<std::vector<SearchHit>> a;
        for (size_t q = 0; q < 100; ++q) {
            const std::span<const float> query(queries.row(q), kFashionDim);
            a.push_back(s->search(query, 10, 64));
            a.push_back(s->search_exact(query, 10));
        }
        return a;
    };
    for (const auto& c : store->commits("f"))
        answers[c.commit] = answers_of(c.commit);
    REQUIRE(answers.size() == 2);
    const uint64_t bytes_before = fs::file_size(path + "/f.vecs");
    const VacuumReport r = store->vacuum("f");
    CHECK(r.rewritten);
    CHECK(r.vector_file_bytes_after < bytes_before);
    CHECK(fs::file_size(path + "/" + r.vector_file) == r.vector_file_bytes_after);
    for (const auto& [c, a] : answers) {
        INFO("commit " << c);
        CHECK(answers_of(c) == a);
        store->verify_graph("f", c);
    }
}

TEST_CASE("a replaced id's tombstone keeps its key beside the live node, and readers accept it",
          "[store][graph-v2]") {
    test::TempDir dir;
    StoreOptions options;
    options.graph_policy.deltas = false;
    options.tombstone_threshold = 1;  // no compaction: the tombstones stay
    auto store = Store::create(dir.file("s"), options);
    store->create_domain("d", {.dimension = 4, .metric = Metric::kL2, .m = 2, .ef_construction = 20});
    const auto first = test::random_vectors(60, 4, 31);
    const auto second = test::random_vectors(60, 4, 32);
    auto row = [](const std::vector<float>& v, size_t i) {
        return std::span<const float>(v.data() + 4 * i, 4);
    };
    {
        auto b = store->begin_commit("d", "c1", std::nullopt);
        for (size_t i = 0; i < 60; ++i)
            b.insert(test::numbered("v", static_cast<long long>(i)), row(first, i));
        b.finish();
    }
    {
        auto b = store->begin_commit("d", "c2", "c1");
        for (size_t i = 0; i < 60; ++i)
            b.replace(test::numbered("v", static_cast<long long>(i)), row(second, i));
        b.finish();
    }
    const CommitInfo info = store->commit("d", "c2");
    REQUIRE(info.graph_kind == format::GraphKind::kFull);
    REQUIRE(info.tombstone_count > 0);

    // The file passes every rule of the format...
    const auto bytes = test::read_file(dir.file("s") + "/" + info.graph_file);
    const auto layout = format::parse_full_graph(bytes, info.graph_file);
    format::verify_full_graph(bytes, layout, info.graph_file);
    // ... and each tombstone has the key of a live node, which no other live node has.
    const uint64_t n = layout.header.node_count;
    auto key_of = [&](uint64_t i) {
        return format::load_le<uint64_t>(bytes.data() +
                                         layout.sections[format::kSectionKey].offset + 8 * i);
    };
    auto flags_of = [&](uint64_t i) {
        return bytes[layout.sections[format::kSectionFlags].offset + i];
    };
    std::map<uint64_t, int> live_with_key;
    for (uint64_t i = 0; i < n; ++i) {
        if (flags_of(i) == 0)
            ++live_with_key[key_of(i)];
    }
    CHECK(live_with_key.size() == 60);
    for (const auto& [key, count] : live_with_key)
        CHECK(count == 1);
    uint64_t tombstones = 0;
    for (uint64_t i = 0; i < n; ++i) {
        if (flags_of(i) & format::kNodeTombstone) {
            ++tombstones;
            CHECK(live_with_key.count(key_of(i)) == 1);
        }
    }
    CHECK(tombstones == info.tombstone_count);

    // A reader picks the live node: the id's vector is the new one, in c2, and the old in c1.
    const auto c2 = store->open_commit("d", "c2");
    const auto c1 = store->open_commit("d", "c1");
    for (size_t i = 0; i < 60; ++i) {
        const std::string id = test::numbered("v", static_cast<long long>(i));
        CHECK(c2->vector(id) == std::vector<float>(row(second, i).begin(), row(second, i).end()));
        CHECK(c1->vector(id) == std::vector<float>(row(first, i).begin(), row(first, i).end()));
    }
    store->verify_graph("d", "c2");  // every byte of the chain, as the store reads it
    CHECK(c2->check_graph().unreachable_live == 0);
    CHECK(c2->size() == 60);
}
