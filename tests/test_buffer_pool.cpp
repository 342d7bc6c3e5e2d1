#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "test_support.h"
#include "vstore/vector_file.h"

using namespace vstore;
using vstore::test::TempDir;

namespace {

// dimension 1024 makes one vector exactly one 4 KiB page, so pages and vectors coincide.
constexpr uint32_t kDim = 1024;

std::unique_ptr<VectorFile> pool_file(const std::string& path, size_t frames,
                                      bool writable = false) {
    VectorFileOptions o;
    o.mode = ServingMode::kPool;
    o.pool_budget_bytes = frames * 4096;
    o.writable = writable;
    return VectorFile::open(path, o);
}

void make_file(const std::string& path, uint64_t count, uint32_t dim = kDim) {
    VectorFileOptions o;
    o.writable = true;
    auto f = VectorFile::create(path, "pool", dim, o);
    // Chunks of 1 MiB, so the test's own buffers stay small next to the pool budget.
    const uint64_t chunk = std::max<uint64_t>(1, (1 << 20) / (dim * 4));
    for (uint64_t first = 0; first < count; first += chunk) {
        f->append(test::pattern_vectors(first, std::min(chunk, count - first), dim));
    }
}

size_t resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            size_t kib;
            status >> kib;
            return kib * 1024;
        }
        std::getline(status, key);
    }
    return 0;
}

}  // namespace

TEST_CASE("the pool evicts the least recently used unpinned page", "[pool][concurrency]") {
    TempDir dir;
    const std::string path = dir.file("p.vecs");
    make_file(path, 10);
    auto f = pool_file(path, 3);
    CHECK(f->layout().page_bytes == 4096);

    for (uint64_t n : {0, 1, 2})
        CHECK(test::matches_pattern(f->get(n).data(), n, kDim));
    CHECK(f->pool_eviction_order() == std::vector<uint64_t>{0, 1, 2});
    CHECK(f->get(0).index() == 0);  // a hit moves page 0 to the back
    CHECK(f->pool_eviction_order() == std::vector<uint64_t>{1, 2, 0});
    CHECK(test::matches_pattern(f->get(3).data(), 3, kDim));  // evicts page 1
    CHECK(f->pool_eviction_order() == std::vector<uint64_t>{2, 0, 3});
    const auto s = f->pool_stats();
    CHECK(s.frame_count == 3);
    CHECK(s.allocated_frames == 3);
    CHECK(s.evictions == 1);
    CHECK(s.misses == 4);
    CHECK(s.hits == 1);
    CHECK(s.pinned_frames == 0);
}

// Named without a ";", which CMake takes for a list separator: as "pinned frames are never
// evicted; a full pool says so" ctest knew it as two tests that each matched nothing.
TEST_CASE("pinned frames are never evicted and a full pool says so", "[pool][concurrency]") {
    TempDir dir;
    const std::string path = dir.file("p.vecs");
    make_file(path, 10);
    auto f = pool_file(path, 3);

    LoadedVec a = f->get(0);
    LoadedVec b = f->get(1);
    LoadedVec c = f->get(2);
    CHECK(f->pool_stats().pinned_frames == 3);
    try {
        f->get(3);
        FAIL("a fourth page fit a pool of three pinned frames");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kExhausted);
        CHECK_THAT(e.what(), Catch::Contains("every frame pinned"));
    }
    // A page already resident is still served while the pool is full.
    LoadedVec a2 = f->get(0);
    CHECK(a2.data() == a.data());

    // Copies pin too: dropping the original keeps the frame while the copy lives.
    LoadedVec b_copy = b;
    b = LoadedVec();
    CHECK_THROWS_AS(f->get(4), Error);
    b_copy = LoadedVec();
    // Page 1 is the only unpinned frame, so it is the one that goes.
    LoadedVec d = f->get(4);
    CHECK(test::matches_pattern(d.data(), 4, kDim));
    CHECK(test::matches_pattern(a.data(), 0, kDim));
    CHECK(test::matches_pattern(c.data(), 2, kDim));
    CHECK(f->pool_stats().evictions == 1);

    // Moving a handle moves its pin.
    LoadedVec moved = std::move(d);
    CHECK_FALSE(d);
    CHECK(test::matches_pattern(moved.data(), 4, kDim));
    CHECK(f->pool_stats().pinned_frames == 3);
}

TEST_CASE("frames are reused once their handles drop", "[pool]") {
    TempDir dir;
    const std::string path = dir.file("p.vecs");
    make_file(path, 64);
    auto f = pool_file(path, 4);
    for (int pass = 0; pass < 3; ++pass) {
        for (uint64_t n = 0; n < 64; ++n) {
            const LoadedVec v = f->get(n);
            REQUIRE(test::matches_pattern(v.data(), n, kDim));
        }
    }
    const auto s = f->pool_stats();
    CHECK(s.allocated_frames == 4);
    CHECK(s.evictions == 3 * 64 - 4);
    CHECK(s.pinned_frames == 0);
}

TEST_CASE("the pool tops up a page that grows after it was loaded", "[pool][concurrency]") {
    TempDir dir;
    const std::string path = dir.file("p.vecs");
    const uint32_t dim = 128;  // 8 vectors a page
    make_file(path, 1, dim);
    auto f = pool_file(path, 2, /*writable=*/true);
    LoadedVec first = f->get(0);
    f->append(test::pattern_vectors(1, 5, dim));
    for (uint64_t n = 0; n < 6; ++n)
        REQUIRE(test::matches_pattern(f->get(n).data(), n, dim));
    CHECK(test::matches_pattern(first.data(), 0, dim));
    CHECK(f->pool_stats().misses == 1);
}

TEST_CASE("pool mode stays within its memory budget on a file four times larger", "[pool][rss]") {
    TempDir dir;
    const std::string path = dir.file("big.vecs");
    const size_t budget = size_t(16) << 20;
    const uint64_t count = 4 * budget / 4096;  // 64 MiB of vectors
    make_file(path, count);
    REQUIRE(std::filesystem::file_size(path) > 4 * budget);

    VectorFileOptions o;
    o.mode = ServingMode::kPool;
    o.pool_budget_bytes = budget;
    auto f = VectorFile::open(path, o);
    const size_t before = resident_bytes();
    size_t peak = before;
    for (int pass = 0; pass < 2; ++pass) {
        for (uint64_t n = 0; n < count; ++n) {
            const LoadedVec v = f->get(n);
            REQUIRE(test::matches_pattern(v.data(), n, kDim));
            if (n % 1024 == 0)
                peak = std::max(peak, resident_bytes());
        }
    }
    peak = std::max(peak, resident_bytes());
    INFO("resident before " << before << ", peak " << peak << ", budget " << budget);
    CHECK(peak - before <= budget + (size_t(4) << 20));
    CHECK(f->pool_stats().allocated_frames == budget / 4096);
}
