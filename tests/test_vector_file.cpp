#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "test_support.h"
#include "vstore/format/bytes.h"
#include "vstore/format/file_names.h"
#include "vstore/vector_file.h"

using namespace vstore;
using vstore::test::TempDir;

namespace {

VectorFileOptions writable(ServingMode mode = ServingMode::kMapped, size_t budget = 64 << 20) {
    VectorFileOptions o;
    o.writable = true;
    o.mode = mode;
    o.pool_budget_bytes = budget;
    return o;
}

VectorFileOptions reader(ServingMode mode, size_t budget = 64 << 20) {
    VectorFileOptions o;
    o.mode = mode;
    o.pool_budget_bytes = budget;
    return o;
}

}  // namespace

TEST_CASE("page layouts fit vectors tightly", "[vector-file][layout]") {
    for (uint32_t dim : {128u, 384u, 768u, 784u, 1024u, 1536u, 3072u}) {
        const auto l = format::VectorLayout::for_dimension(dim);
        INFO("dimension " << dim);
        CHECK(l.page_bytes % 4096 == 0);
        CHECK(l.vectors_per_page * l.vector_bytes <= l.page_bytes);
        CHECK(l.page_waste() < 0.05);
        CHECK(l.group_overhead() < 0.05);
        CHECK(l.vectors_per_group <= format::kChecksumsPerPage);
    }
    // Seed 002: three 4 KiB pages hold exactly two 1536-dimensional float32 vectors.
    const auto l1536 = format::VectorLayout::for_dimension(1536);
    CHECK(l1536.page_bytes == 3 * 4096);
    CHECK(l1536.vectors_per_page == 2);
    CHECK(l1536.padding_bytes() == 0);
    CHECK_THROWS_AS(format::VectorLayout::for_dimension(0), Error);
    CHECK_THROWS_AS(format::VectorLayout::for_dimension(format::kMaxDimension + 1), Error);
}

TEST_CASE("vectors round-trip across page and group boundaries", "[vector-file]") {
    for (uint32_t dim : {1u, 3u, 128u, 784u, 1536u, 3072u}) {
        DYNAMIC_SECTION("dimension " << dim) {
            TempDir dir;
            const std::string path = dir.file("d.vecs");
            const auto layout = format::VectorLayout::for_dimension(dim);
            const uint64_t count = layout.vectors_per_group + 2 * layout.vectors_per_page + 3;
            const auto data = test::random_vectors(count, dim, dim);
            {
                auto f = VectorFile::create(path, "domain/" + std::to_string(dim), dim, writable());
                // Uneven batches, so appends start and end inside pages.
                uint64_t done = 0;
                for (uint64_t batch : {uint64_t(1), uint64_t(layout.vectors_per_page + 1), count}) {
                    const uint64_t n = std::min(batch, count - done);
                    CHECK(f->append({data.data() + done * dim, n * dim}) == done);
                    done += n;
                }
                REQUIRE(f->size() == count);
                for (uint64_t n = 0; n < count; ++n) {
                    REQUIRE(std::memcmp(f->get(n).data(), data.data() + n * dim, dim * 4) == 0);
                }
            }
            // The bytes on disk are where the layout says, with their checksums.
            const auto bytes = test::read_file(path);
            REQUIRE(bytes.size() == layout.file_bytes_for(count));
            for (uint64_t n = 0; n < count; ++n) {
                const uint8_t* v = bytes.data() + layout.vector_offset(n);
                REQUIRE(std::memcmp(v, data.data() + n * dim, dim * 4) == 0);
                REQUIRE(format::load_le<uint32_t>(bytes.data() + layout.checksum_offset(n)) ==
                        format::vector_checksum({v, layout.vector_bytes}, n));
            }
            for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
                auto f = VectorFile::open(path, reader(mode, 3 * layout.page_bytes));
                REQUIRE(f->size() == count);
                CHECK(f->dimension() == dim);
                CHECK(f->domain() == "domain/" + std::to_string(dim));
                for (uint64_t n = 0; n < count; ++n) {
                    const LoadedVec v = f->get(n);
                    REQUIRE(v.index() == n);
                    REQUIRE(v.dimension() == dim);
                    REQUIRE(std::memcmp(v.data(), data.data() + n * dim, dim * 4) == 0);
                    if (mode == ServingMode::kMapped)
                        REQUIRE(f->mapped_vector(n) == v.data());
                }
                CHECK(f->verify().ok());
            }
        }
    }
}

TEST_CASE("bad appends are rejected and change nothing", "[vector-file][errors]") {
    TempDir dir;
    const std::string path = dir.file("v.vecs");
    auto f = VectorFile::create(path, "v", 4, writable());
    f->append(test::random_vectors(10, 4, 1));
    const auto before = test::read_file(path);

    auto expect_invalid = [&](std::vector<float> values, const std::string& fragment) {
        try {
            f->append(values);
            FAIL("append accepted bad input");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::kInvalidArgument);
            CHECK_THAT(e.what(), Catch::Contains(fragment));
            CHECK_THAT(e.what(), Catch::Contains(path));
        }
    };
    expect_invalid({1, 2, 3}, "not a whole number of 4-dimensional vectors");
    expect_invalid({1, 2, 3, 4, 5, 6, std::nanf(""), 8}, "vector 1 of the batch");
    expect_invalid({1, 2, 3, std::numeric_limits<float>::infinity()}, "non-finite");
    CHECK(f->size() == 10);
    CHECK(test::read_file(path) == before);

    try {
        f->get(10);
        FAIL("get past the end succeeded");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kNotFound);
        CHECK_THAT(e.what(), Catch::Contains("no vector 10"));
    }
}

TEST_CASE("opening and creating report clear errors", "[vector-file][errors]") {
    TempDir dir;
    const std::string path = dir.file("v.vecs");
    auto code_of = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return e.code();
        }
        FAIL("no error");
        return ErrorCode::kIO;
    };
    CHECK(code_of([&] { VectorFile::open(path); }) == ErrorCode::kNotFound);
    CHECK(code_of([&] { VectorFile::create(path, "", 4); }) == ErrorCode::kInvalidArgument);
    CHECK(code_of([&] { VectorFile::create(path, "v", 0); }) == ErrorCode::kInvalidArgument);
    CHECK_FALSE(std::filesystem::exists(path));

    auto w = VectorFile::create(path, "v", 4, writable());
    w->append(test::random_vectors(3, 4, 2));
    const auto before = test::read_file(path);
    CHECK(code_of([&] { VectorFile::create(path, "v", 4); }) == ErrorCode::kConflict);
    // One writer at a time.
    CHECK(code_of([&] { VectorFile::open(path, writable()); }) == ErrorCode::kConflict);
    auto r = VectorFile::open(path);
    CHECK(code_of([&] { r->append(test::random_vectors(1, 4, 3)); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(code_of([&] { VectorFile::open(path, reader(ServingMode::kPool, 100)); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(test::read_file(path) == before);
    // No temporary files are left behind.
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("the longest domain names make files", "[vector-file]") {
    TempDir dir;
    const std::string domain(250, 'd');
    const std::string path = dir.file(format::vector_file_name(domain));
    auto f = VectorFile::create(path, domain, 2);
    CHECK(f->domain() == domain);
    CHECK(VectorFile::open(path)->domain() == domain);
}

TEST_CASE("a reader sees another handle's appends after refresh", "[vector-file]") {
    TempDir dir;
    const std::string path = dir.file("v.vecs");
    auto w = VectorFile::create(path, "v", 8, writable());
    w->append(test::pattern_vectors(0, 5, 8));
    auto r = VectorFile::open(path);
    CHECK(r->size() == 5);
    w->append(test::pattern_vectors(5, 100000, 8));
    CHECK(r->size() == 5);
    r->refresh();
    REQUIRE(r->size() == 100005);
    CHECK(test::matches_pattern(r->get(100004).data(), 100004, 8));
    CHECK(r->commit_sequence() == 2);
}

TEST_CASE("a torn tail is ignored by readers and cut by the next writer",
          "[vector-file][crash][concurrency]") {
    TempDir dir;
    const std::string path = dir.file("v.vecs");
    const uint32_t dim = 128;
    const auto layout = format::VectorLayout::for_dimension(dim);
    {
        auto f = VectorFile::create(path, "v", dim, writable());
        f->append(test::pattern_vectors(0, 100, dim));
    }
    const uint64_t durable_end = layout.file_bytes_for(100);
    // What a crash mid-append leaves: checksums and half a vector that never became durable.
    test::write_bytes(path, layout.checksum_offset(100), {0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4});
    test::write_bytes(path, layout.vector_offset(100), std::vector<uint8_t>(300, 0x5A));
    REQUIRE(std::filesystem::file_size(path) > durable_end);

    {
        auto r = VectorFile::open(path);
        CHECK(r->size() == 100);
        const auto report = r->verify();
        CHECK(report.ok());
        CHECK(report.tail_bytes == std::filesystem::file_size(path) - durable_end);
        CHECK_THROWS_AS(r->get(100), Error);
    }
    {
        auto w = VectorFile::open(path, writable());
        CHECK(w->size() == 100);
        CHECK(std::filesystem::file_size(path) == durable_end);
        CHECK(test::read_byte(path, layout.checksum_offset(100)) == 0);
        w->append(test::pattern_vectors(100, 7, dim));
        for (uint64_t n = 0; n < 107; ++n)
            REQUIRE(test::matches_pattern(w->get(n).data(), n, dim));
        const auto report = w->verify();
        CHECK(report.ok());
        CHECK(report.tail_bytes == 0);
    }
}

TEST_CASE("a writer killed at random moments never loses a durable append",
          "[vector-file][crash]") {
    TempDir dir;
    const std::string path = dir.file("v.vecs");
    const uint32_t dim = 96;
    VectorFile::create(path, "v", dim);
    std::mt19937 rng(2024);
    uint64_t reported = 0;
    for (int round = 0; round < 25; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::close(fds[0]);
            try {
                auto f = VectorFile::open(path, writable());
                std::mt19937 crng(static_cast<unsigned>(round));
                for (;;) {
                    const uint64_t first = f->size();
                    const uint64_t n = 1 + crng() % 300;
                    f->append(test::pattern_vectors(first, n, dim));
                    const uint64_t durable = first + n;
                    if (::write(fds[1], &durable, sizeof durable) != sizeof durable)
                        ::_exit(3);
                }
            } catch (...) {
                ::_exit(2);
            }
        }
        ::close(fds[1]);
        uint64_t value;
        // Every other round waits for the child's first durable append before the random
        // sleep, so that kills land after reported appends whatever the speed of the machine
        // (fix: a 1-20 ms sleep alone could end before any append, and the check below failed).
        if (round % 2 == 0) {
            REQUIRE(::read(fds[0], &value, sizeof value) == sizeof value);
            reported = value;
        }
        ::usleep(1000 + rng() % 20000);
        ::kill(child, SIGKILL);
        while (::read(fds[0], &value, sizeof value) == sizeof value)
            reported = value;
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(WIFSIGNALED(status));

        auto f = VectorFile::open(path);
        INFO("round " << round << ": reported " << reported << ", found " << f->size());
        REQUIRE(f->size() >= reported);
        const auto report = f->verify();
        REQUIRE(report.ok());
        for (uint64_t n = 0; n < f->size(); ++n) {
            REQUIRE(test::matches_pattern(f->get(n).data(), n, dim));
        }
    }
    CHECK(reported > 0);
}
