// Mapped mode checks each vector against its stored checksum on its first use
// (spec/vector-file.md, "Reading"): a damaged vector is Error(kCorruption), never an answer.
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "test_support.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

using namespace vstore;
using vstore::test::TempDir;

namespace {

// 32-byte vectors: 128 a page, 8 pages a group, so 1024 vectors a checksum group.
constexpr uint32_t kDim = 8;
constexpr uint64_t kPerGroup = 1024;

std::string id_of(uint64_t i) {
    return test::numbered("id", static_cast<long long>(i));
}

std::span<const float> row(const std::vector<float>& v, uint64_t i) {
    return {v.data() + i * kDim, kDim};
}

StoreOptions graph_always() {
    StoreOptions o;
    o.exact_threshold = 0;  // search() goes through the graph
    o.threads = 2;
    return o;
}

// A store with domain "d" and commit "c1" holding ids id0 … id<count-1>, vector i at index i
// of the domain's vector file. Returns the vector file's path.
std::string make_store(const std::string& dir, const std::vector<float>& data, uint64_t count) {
    auto store = Store::create(dir, graph_always());
    store->create_domain("d", {.dimension = kDim, .metric = Metric::kL2, .m = 8,
                               .ef_construction = 64});
    auto b = store->begin_commit("d", "c1", std::nullopt);
    for (uint64_t i = 0; i < count; ++i)
        b.insert(id_of(i), row(data, i));
    b.finish();
    const std::string path = dir + "/" + store->domain("d").vector_file;
    // The vectors lie in insertion order, which the flips below rely on.
    const auto layout = format::VectorLayout::for_dimension(kDim);
    const auto bytes = test::read_file(path);
    for (uint64_t i : {uint64_t{0}, count / 2, count - 1})
        REQUIRE(std::memcmp(bytes.data() + layout.vector_offset(i), &data[i * kDim], 32) == 0);
    return path;
}

// Every answer of `snapshot` to the queries, in order.
std::vector<std::vector<SearchHit>> answers_of(const Snapshot& snapshot,
                                               const std::vector<float>& queries, uint64_t count) {
    std::vector<std::vector<SearchHit>> out;
    for (uint64_t q = 0; q < count; ++q)
        out.push_back(snapshot.search(row(queries, q), 10));
    return out;
}

}  // namespace

TEST_CASE("mapped mode: a flipped vector byte fails search, exact search and vector() (fix: "
          "vectors checked on first use)",
          "[corruption][store]") {
    TempDir dir;
    const uint64_t count = 2500;  // groups 0 and 1 full, group 2 partial
    const auto data = test::random_vectors(count, kDim, 7);
    const std::string path = make_store(dir.file("s"), data, count);
    const auto layout = format::VectorLayout::for_dimension(kDim);
    REQUIRE(layout.vectors_per_group == kPerGroup);

    // The answers of the undamaged store: to queries at stored vectors and at random points.
    std::vector<float> queries = test::random_vectors(60, kDim, 8);
    const uint64_t damaged = 1500;
    queries.insert(queries.end(), row(data, damaged).begin(), row(data, damaged).end());
    const uint64_t query_count = queries.size() / kDim;
    const auto before = answers_of(*Store::open(dir.file("s"), graph_always())->open_commit("d", "c1"),
                                   queries, query_count);

    test::flip_byte(path, layout.vector_offset(damaged) + 5);
    auto store = Store::open(dir.file("s"), graph_always());
    auto snapshot = store->open_commit("d", "c1");

    std::string message;
    CHECK(test::code_of([&] { snapshot->vector(id_of(damaged)); }, &message) ==
          ErrorCode::kCorruption);
    CHECK_THAT(message, Catch::Contains(path));
    CHECK_THAT(message, Catch::Contains("vector 1500 (checksum group 1, vectors 1024-2047)"));
    // Its neighbours in the same page and group are sound and served.
    CHECK(snapshot->vector(id_of(damaged + 1)) ==
          std::vector<float>(row(data, damaged + 1).begin(), row(data, damaged + 1).end()));

    // Every graph search gives the undamaged answer or the error, never another answer; the
    // one at the damaged vector reaches it and fails, every time.
    uint64_t answered = 0;
    for (int pass = 0; pass < 2; ++pass) {
        for (uint64_t q = 0; q < query_count; ++q) {
            INFO("query " << q << ", pass " << pass);
            try {
                const auto hits = snapshot->search(row(queries, q), 10);
                CHECK(hits == before[q]);
                CHECK(q != query_count - 1);
                ++answered;
            } catch (const Error& e) {
                CHECK(e.code() == ErrorCode::kCorruption);
                CHECK_THAT(e.what(), Catch::Contains("vector 1500"));
            }
        }
    }
    CHECK(answered > 0);
    // An exact search reads every vector: it fails each time, and leaves the snapshot working.
    for (int pass = 0; pass < 2; ++pass) {
        CHECK(test::code_of([&] { snapshot->search_exact(row(queries, 0), 10); }, &message) ==
              ErrorCode::kCorruption);
        CHECK_THAT(message, Catch::Contains(path));
    }
    CHECK(snapshot->vector(id_of(7)) == std::vector<float>(row(data, 7).begin(), row(data, 7).end()));
    snapshot.reset();
    store.reset();

    // With the check turned off (for measuring its cost only), the damage goes unseen.
    StoreOptions unchecked = graph_always();
    unchecked.verify_mapped_vectors = false;
    CHECK(Store::open(dir.file("s"), unchecked)->open_commit("d", "c1")->vector(id_of(damaged)) !=
          std::vector<float>(row(data, damaged).begin(), row(data, damaged).end()));
    // Pool mode checks pages as it loads them, so it fails too.
    StoreOptions pool = graph_always();
    pool.mode = ServingMode::kPool;
    CHECK(test::code_of([&] {
              Store::open(dir.file("s"), pool)->open_commit("d", "c1")->search_exact(
                  row(queries, 0), 10);
          }) == ErrorCode::kCorruption);
}

TEST_CASE("mapped mode: a flip in each checksum group of a small file is detected", "[corruption]") {
    TempDir dir;
    const uint64_t count = 2500;
    const auto data = test::random_vectors(count, kDim, 11);
    const std::string path = make_store(dir.file("s"), data, count);
    const auto pristine = test::read_file(path);
    const auto layout = format::VectorLayout::for_dimension(kDim);

    // In each group: its first, a middle and its last vector, each at its first and last
    // byte, and a stored checksum.
    struct Flip {
        uint64_t vector;
        uint64_t offset;
    };
    std::vector<Flip> flips;
    for (uint64_t g = 0; g * kPerGroup < count; ++g) {
        const uint64_t first = g * kPerGroup;
        const uint64_t last = std::min(first + kPerGroup, count) - 1;
        for (uint64_t n : {first, first + 300, last}) {
            flips.push_back({n, layout.vector_offset(n)});
            flips.push_back({n, layout.vector_offset(n) + layout.vector_bytes - 1});
        }
        flips.push_back({first + 1, layout.checksum_offset(first + 1) + 3});
    }
    for (const Flip& flip : flips) {
        test::write_bytes(path, 0, pristine);
        test::flip_byte(path, flip.offset);
        const uint64_t group = flip.vector / kPerGroup;
        INFO("vector " << flip.vector << ", offset " << flip.offset);
        {
            auto file = VectorFile::open(path);
            std::string message;
            CHECK(test::code_of([&] { file->get(flip.vector); }, &message) ==
                  ErrorCode::kCorruption);
            CHECK_THAT(message, Catch::Contains(path));
            CHECK_THAT(message, Catch::Contains("checksum group " + std::to_string(group)));
            CHECK(test::code_of([&] { file->mapped_vector(flip.vector); }) ==
                  ErrorCode::kCorruption);
            // The other vectors of the group are served as they were written.
            const uint64_t other = flip.vector == group * kPerGroup ? flip.vector + 1
                                                                    : group * kPerGroup;
            CHECK(std::memcmp(file->get(other).data(), &data[other * kDim], 32) == 0);
        }
        auto snapshot = Store::open(dir.file("s"), graph_always())->open_commit("d", "c1");
        CHECK(test::code_of([&] { snapshot->search_exact(row(data, 0), 5); }) ==
              ErrorCode::kCorruption);
        CHECK(test::code_of([&] { snapshot->vector(id_of(flip.vector)); }) ==
              ErrorCode::kCorruption);
    }
    test::write_bytes(path, 0, pristine);
    auto snapshot = Store::open(dir.file("s"), graph_always())->open_commit("d", "c1");
    CHECK(snapshot->search_exact(row(data, 42), 1)[0].id == id_of(42));
}

TEST_CASE("mapped mode: concurrent readers of a file with one damaged vector", "[concurrency]") {
    TempDir dir;
    const uint64_t count = 2500;
    const auto data = test::random_vectors(count, kDim, 13);
    const std::string path = make_store(dir.file("s"), data, count);
    const auto layout = format::VectorLayout::for_dimension(kDim);

    const uint64_t damaged = 2100;  // in group 2, the partial one
    std::vector<float> queries = test::random_vectors(40, kDim, 14);
    queries.insert(queries.end(), row(data, damaged).begin(), row(data, damaged).end());
    const uint64_t query_count = queries.size() / kDim;
    const auto before = answers_of(*Store::open(dir.file("s"), graph_always())->open_commit("d", "c1"),
                                   queries, query_count);
    test::flip_byte(path, layout.vector_offset(damaged) + 17);

    // Fresh: no vector is checked yet, so the threads race to check the same ones.
    auto store = Store::open(dir.file("s"), graph_always());
    auto snapshot = store->open_commit("d", "c1");
    constexpr int kThreads = 4;
    // failed[t][q]: whether query q failed in thread t (the same in each of its passes).
    std::vector<std::vector<int>> failed(kThreads, std::vector<int>(query_count, -1));
    std::atomic<uint64_t> wrong{0}, answered{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < kThreads; ++t) {
        readers.emplace_back([&, t] {
            for (int pass = 0; pass < 3; ++pass) {
                for (uint64_t i = 0; i < query_count; ++i) {
                    const uint64_t q = (i + t * 7) % query_count;  // different orders
                    int outcome = 0;
                    try {
                        if (snapshot->search(row(queries, q), 10) != before[q])
                            ++wrong;
                        ++answered;
                    } catch (const Error& e) {
                        outcome = 1;
                        if (e.code() != ErrorCode::kCorruption)
                            ++wrong;
                    }
                    if (failed[t][q] != -1 && failed[t][q] != outcome)
                        ++wrong;
                    failed[t][q] = outcome;
                }
                // vector(): the damaged one always fails, the others are as written.
                for (uint64_t n = t; n < count; n += 97) {
                    try {
                        const auto v = snapshot->vector(id_of(n));
                        if (n == damaged || std::memcmp(v.data(), &data[n * kDim], 32) != 0)
                            ++wrong;
                    } catch (const Error& e) {
                        if (n != damaged || e.code() != ErrorCode::kCorruption)
                            ++wrong;
                    }
                }
                try {
                    snapshot->vector(id_of(damaged));
                    ++wrong;
                } catch (const Error& e) {
                    if (e.code() != ErrorCode::kCorruption)
                        ++wrong;
                }
            }
        });
    }
    for (auto& r : readers)
        r.join();
    CHECK(wrong == 0);
    CHECK(answered > 0);
    for (int t = 0; t < kThreads; ++t) {
        CHECK(failed[t] == failed[0]);           // a search fails in every thread or in none
        CHECK(failed[t][query_count - 1] == 1);  // the one at the damaged vector fails
    }
}

TEST_CASE("mapped mode: vectors a later commit appends are checked too", "[corruption][store]") {
    TempDir dir;
    const uint64_t first = 1000, added = 9000;  // past the bitmap's first 4096 vectors
    const auto data = test::random_vectors(first + added, kDim, 17);
    const std::string path = make_store(dir.file("s"), data, first);
    const auto layout = format::VectorLayout::for_dimension(kDim);

    auto store = Store::open(dir.file("s"), graph_always());
    auto s1 = store->open_commit("d", "c1");
    // Every vector of c1 checked: group 0, partial, is marked as far as it goes.
    CHECK(s1->search_exact(row(data, 3), 1)[0].id == id_of(3));
    // c2 by another process, as a CI job would: building it in this one would check the new
    // vectors (sound then) through this store's reader before they are damaged below.
    const int status = test::run_in_child(nullptr, [&] {
        auto other = Store::open(dir.file("s"), graph_always());
        auto b = other->begin_commit("d", "c2", "c1");
        for (uint64_t i = first; i < first + added; ++i)
            b.insert(id_of(i), row(data, i));
        b.finish();
    });
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    // New vectors in the group c1 left partial, and in groups of their own.
    for (uint64_t n : {uint64_t{1010}, uint64_t{6000}}) {
        REQUIRE(std::memcmp(test::read_file(path).data() + layout.vector_offset(n),
                            &data[n * kDim], 32) == 0);
        test::flip_byte(path, layout.vector_offset(n) + 9);
    }
    auto s2 = store->open_commit("d", "c2");
    for (uint64_t n : {uint64_t{1010}, uint64_t{6000}}) {
        std::string message;
        CHECK(test::code_of([&] { s2->vector(id_of(n)); }, &message) == ErrorCode::kCorruption);
        CHECK_THAT(message, Catch::Contains("vector " + std::to_string(n)));
    }
    CHECK(test::code_of([&] { s2->search_exact(row(data, 0), 3); }) == ErrorCode::kCorruption);
    CHECK(s2->vector(id_of(5999)) ==
          std::vector<float>(row(data, 5999).begin(), row(data, 5999).end()));
    CHECK(s2->vector(id_of(999)) == std::vector<float>(row(data, 999).begin(), row(data, 999).end()));
    // The older snapshot never reaches the new vectors and answers as before.
    CHECK(s1->search_exact(row(data, 3), 1)[0].id == id_of(3));

    // The same through a VectorFile that a writer grows after a reader checked what it held.
    const std::string vpath = dir.file("v.vecs");
    VectorFileOptions w;
    w.writable = true;
    auto writer = VectorFile::create(vpath, "v", kDim, w);
    writer->append(std::span<const float>(data).first(1000 * kDim));
    auto reader = VectorFile::open(vpath);
    for (uint64_t n = 0; n < 1000; ++n)
        REQUIRE(std::memcmp(reader->get(n).data(), &data[n * kDim], 32) == 0);
    writer->append(std::span<const float>(data).subspan(1000 * kDim, 9000 * kDim));
    test::flip_byte(vpath, layout.vector_offset(1010));
    test::flip_byte(vpath, layout.vector_offset(9999) + 31);
    reader->refresh();
    REQUIRE(reader->size() == 10000);
    CHECK(test::code_of([&] { reader->get(1010); }) == ErrorCode::kCorruption);
    CHECK(test::code_of([&] { reader->get(9999); }) == ErrorCode::kCorruption);
    for (uint64_t n : {uint64_t{0}, uint64_t{999}, uint64_t{1009}, uint64_t{9998}})
        CHECK(std::memcmp(reader->get(n).data(), &data[n * kDim], 32) == 0);
}
