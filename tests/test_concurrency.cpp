#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "test_support.h"
#include "vstore/vector_file.h"

using namespace vstore;
using vstore::test::TempDir;

TEST_CASE("readers see whole vectors while one thread appends", "[concurrency]") {
    for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
        DYNAMIC_SECTION((mode == ServingMode::kMapped ? "mapped" : "pool")) {
            TempDir dir;
            const std::string path = dir.file("c.vecs");
            const uint32_t dim = 256;  // 1 KiB a vector
            // Large enough to outgrow the first 64 MiB mapping, so readers live through a remap.
            const uint64_t total = mode == ServingMode::kMapped ? 80'000 : 20'000;
            VectorFileOptions o;
            o.writable = true;
            o.mode = mode;
            o.pool_budget_bytes = size_t(1) << 20;  // 256 frames
            auto f = VectorFile::create(path, "c", dim, o);
            f->append(test::pattern_vectors(0, 100, dim));
            const LoadedVec early = f->get(7);

            std::atomic<bool> done{false};
            std::atomic<uint64_t> reads{0}, bad{0};
            std::vector<std::thread> readers;
            for (int t = 0; t < 4; ++t) {
                readers.emplace_back([&, t] {
                    std::mt19937_64 rng(t);
                    while (!done.load()) {
                        const uint64_t size = f->size();
                        const uint64_t n = rng() % size;
                        const LoadedVec v = f->get(n);
                        if (!test::matches_pattern(v.data(), n, dim))
                            ++bad;
                        if (mode == ServingMode::kMapped &&
                            !test::matches_pattern(f->mapped_vector(n), n, dim)) {
                            ++bad;
                        }
                        ++reads;
                    }
                });
            }
            uint64_t next = 100;
            std::mt19937 rng(99);
            while (next < total) {
                const uint64_t n = std::min<uint64_t>(total - next, 1 + rng() % 2000);
                f->append(test::pattern_vectors(next, n, dim));
                next += n;
            }
            done = true;
            for (auto& r : readers)
                r.join();
            CHECK(bad == 0);
            CHECK(reads > 0);
            CHECK(f->size() == total);
            CHECK(test::matches_pattern(early.data(), 7, dim));
            CHECK(f->verify().ok());
        }
    }
}
