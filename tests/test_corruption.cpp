#include <catch2/catch.hpp>
#include <filesystem>

#include "test_support.h"
#include "vstore/format/bytes.h"
#include "vstore/vector_file.h"

using namespace vstore;
using vstore::test::TempDir;

namespace {

constexpr uint32_t kDim = 102;  // 408-byte vectors: 10 a 4 KiB page, 16 bytes of padding

std::string make_file(const TempDir& dir, uint64_t count) {
    const std::string path = dir.file("c.vecs");
    VectorFileOptions o;
    o.writable = true;
    VectorFile::create(path, "corrupt/me", kDim, o)->append(test::pattern_vectors(0, count, kDim));
    return path;
}

ErrorCode open_error(const std::string& path, VectorFileOptions o = {}) {
    try {
        VectorFile::open(path, o);
    } catch (const Error& e) {
        return e.code();
    }
    FAIL("opened a damaged file");
    return ErrorCode::kIO;
}

}  // namespace

TEST_CASE("a flipped byte anywhere in the fixed header is detected on open", "[corruption]") {
    TempDir dir;
    const std::string path = make_file(dir, 5);
    const auto pristine = test::read_file(path);
    for (uint64_t off = 0; off < format::kFixedHeaderBytes; ++off) {
        test::write_bytes(path, 0, pristine);
        test::flip_byte(path, off);
        INFO("offset " << off);
        // Bytes 8..11 hold the format version, which is refused before the checksum is read.
        const ErrorCode want =
            off >= 8 && off < 12 ? ErrorCode::kInvalidArgument : ErrorCode::kCorruption;
        REQUIRE(open_error(path) == want);
    }
}

TEST_CASE("headers whose layout fields disagree are refused", "[corruption]") {
    // Dimension 1 in 8 KiB pages would need 2048 checksum entries in a 1024-entry page.
    format::VectorFileHeader h;
    h.layout = format::VectorLayout::for_dimension(1);
    h.layout.page_bytes = 8192;
    h.layout.vectors_per_page = 2048;
    h.layout.vectors_per_group = 2048;
    h.layout.group_bytes = 4096 + 8192;
    const auto page = format::encode_header_page(h);
    CHECK_THROWS_AS(format::decode_header(page, "forged"), Error);
    // The writer's own layouts all decode.
    for (uint32_t dim : {1u, 3u, 100u, 784u, 32769u, 65536u}) {
        format::VectorFileHeader ok;
        ok.layout = format::VectorLayout::for_dimension(dim);
        CHECK(format::decode_header(format::encode_header_page(ok), "ok").layout.page_bytes ==
              ok.layout.page_bytes);
    }
}

TEST_CASE("a flipped byte in a commit slot or reserved header byte is detected", "[corruption]") {
    TempDir dir;
    const std::string path = make_file(dir, 5);
    const auto pristine = test::read_file(path);
    for (uint32_t slot : format::kCommitSlotOffsets) {
        for (uint32_t off = 0; off < format::kCommitSlotBytes; ++off) {
            test::write_bytes(path, 0, pristine);
            test::flip_byte(path, slot + off);
            INFO("slot at " << slot << ", byte " << off);
            REQUIRE(open_error(path) == ErrorCode::kCorruption);
        }
    }
    for (uint64_t off :
         {uint64_t(format::kFixedHeaderBytes), uint64_t(1000), uint64_t(3000), uint64_t(4095)}) {
        test::write_bytes(path, 0, pristine);
        test::flip_byte(path, off);
        const auto report = VectorFile::open(path)->verify();
        INFO("offset " << off);
        REQUIRE_FALSE(report.ok());
        CHECK(report.problems[0].where == "header");
    }
}

TEST_CASE("fix: verify refuses a nonzero checksum entry past vectors_per_group in the last, "
          "partial group",
          "[corruption]") {
    TempDir dir;
    const uint64_t count = 25;  // one partial group
    const std::string path = make_file(dir, count);
    const auto layout = format::VectorLayout::for_dimension(kDim);
    REQUIRE(layout.vectors_per_group == 1020);
    // Entry 1020, the first that belongs to no vector of the group: never written by anyone.
    test::write_bytes(path, layout.checksum_offset(0) + 4 * 1020, {1, 0, 0, 0});
    const auto report = VectorFile::open(path)->verify();
    REQUIRE(report.problems.size() == 1);
    CHECK(report.problems[0].where == "checksum page of group 0");
    CHECK(report.problems[0].what == "entries past vectors_per_group are not zero");
    // What the spec leaves to a torn append, the entry of vector 25, stays unchecked.
    test::write_bytes(path, layout.checksum_offset(0) + 4 * 1020, {0, 0, 0, 0});
    test::write_bytes(path, layout.checksum_offset(count), {1, 2, 3, 4});
    CHECK(VectorFile::open(path)->verify().ok());
}

TEST_CASE("a flipped byte in any page holding vectors is detected", "[corruption]") {
    TempDir dir;
    const uint64_t count = 25;  // pages 0 and 1 full, page 2 half full
    const std::string path = make_file(dir, count);
    const auto pristine = test::read_file(path);
    const auto layout = format::VectorLayout::for_dimension(kDim);
    REQUIRE(layout.vectors_per_page == 10);
    REQUIRE(layout.page_bytes == 4096);

    std::vector<uint64_t> offsets;
    for (uint64_t n = 0; n < count; ++n) {
        offsets.push_back(layout.vector_offset(n));                            // first byte
        offsets.push_back(layout.vector_offset(n) + layout.vector_bytes - 1);  // last byte
        offsets.push_back(layout.checksum_offset(n) + 2);                      // its checksum
    }
    offsets.push_back(layout.page_offset(0) + layout.page_bytes - 1);  // padding of page 0
    offsets.push_back(layout.page_offset(1) + 4085);                   // padding of page 1
    offsets.push_back(layout.checksum_offset(0) + 4095);  // entry 1023: past vectors_per_group
    const uint64_t torn_entry = layout.checksum_offset(count) + 2;  // vector 25's: a torn append
    offsets.push_back(torn_entry);

    for (uint64_t off : offsets) {
        test::write_bytes(path, 0, pristine);
        test::flip_byte(path, off);
        const auto report = VectorFile::open(path)->verify();
        INFO("offset " << off);
        if (off == torn_entry) {
            // Entries of vectors >= count in the last group may hold a torn append.
            CHECK(report.ok());
        } else {
            CHECK_FALSE(report.ok());
        }
    }

    // The pool checks each page as it loads it and names the vector at fault.
    test::write_bytes(path, 0, pristine);
    test::flip_byte(path, layout.vector_offset(13) + 7);
    VectorFileOptions o;
    o.mode = ServingMode::kPool;
    auto pooled = VectorFile::open(path, o);
    CHECK(test::matches_pattern(pooled->get(3).data(), 3, kDim));
    try {
        pooled->get(12);
        FAIL("a corrupt page was served");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kCorruption);
        CHECK_THAT(e.what(), Catch::Contains("vector 13 (page 1)"));
        CHECK_THAT(e.what(), Catch::Contains(path));
    }
    CHECK(pooled->pool_stats().pinned_frames == 0);
}

TEST_CASE("truncated and foreign files get clear errors", "[corruption]") {
    TempDir dir;
    const std::string path = make_file(dir, 25);
    const auto pristine = test::read_file(path);
    const auto layout = format::VectorLayout::for_dimension(kDim);

    // Cut inside committed vectors: the commit record promises more than the file holds.
    std::filesystem::resize_file(path, layout.file_bytes_for(25) - 1);
    CHECK(open_error(path) == ErrorCode::kCorruption);
    std::filesystem::resize_file(path, 5000);
    CHECK(open_error(path) == ErrorCode::kCorruption);
    std::filesystem::resize_file(path, 100);
    CHECK(open_error(path) == ErrorCode::kCorruption);
    std::filesystem::resize_file(path, 0);
    CHECK(open_error(path) == ErrorCode::kCorruption);

    test::write_bytes(path, 0, std::vector<uint8_t>(8192, 'x'));
    try {
        VectorFile::open(path);
        FAIL("opened a foreign file");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kCorruption);
        CHECK_THAT(e.what(), Catch::Contains("not a vector file"));
    }

    // A version this build does not know is refused, not misread.
    test::write_bytes(path, 0, pristine);
    std::vector<uint8_t> header(pristine.begin(), pristine.begin() + 4096);
    header[8] = 2;
    const uint64_t sum = format::checksum64({header.data(), 336});
    format::store_le<uint64_t>(header.data() + 336, sum);
    test::write_bytes(path, 0, header);
    CHECK(open_error(path) == ErrorCode::kInvalidArgument);
}
