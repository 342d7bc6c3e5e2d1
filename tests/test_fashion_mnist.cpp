#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "test_support.h"
#include "vstore/format/idx_file.h"
#include "vstore/vector_file.h"

using namespace vstore;

TEST_CASE("Fashion-MNIST from the Debian package round-trips bit for bit", "[fashion]") {
    for (const std::string& source :
         {format::fashion_mnist_train_path(), format::fashion_mnist_test_path()}) {
        const auto data = format::read_idx_ubyte(source);
        REQUIRE(data.columns == 784);
        REQUIRE((data.rows == 60000 || data.rows == 10000));
        test::TempDir dir;
        const std::string path = dir.file("fashion.vecs");
        {
            VectorFileOptions o;
            o.writable = true;
            VectorFile::create(path, "fashion-mnist", 784, o)->append(data.values);
        }
        for (auto mode : {ServingMode::kMapped, ServingMode::kPool}) {
            VectorFileOptions o;
            o.mode = mode;
            o.pool_budget_bytes = std::filesystem::file_size(path) / 4;
            auto f = VectorFile::open(path, o);
            REQUIRE(f->size() == data.rows);
            for (uint64_t n = 0; n < data.rows; ++n) {
                REQUIRE(std::memcmp(f->get(n).data(), data.row(n), 784 * 4) == 0);
            }
        }
        CHECK(VectorFile::open(path)->verify().ok());
    }
}

TEST_CASE("IDX reader rejects what is not an unsigned-byte IDX file", "[fashion][errors]") {
    test::TempDir dir;
    CHECK_THROWS_AS(format::read_idx_ubyte(dir.file("missing.gz")), Error);
    const std::string bad = dir.file("bad");
    test::write_bytes(bad, 0, {0, 0, 0x0D, 3, 0, 0, 0, 1});
    try {
        format::read_idx_ubyte(bad);
        FAIL("read a float IDX file as unsigned bytes");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kCorruption);
    }
    // Header promises 2 rows of 4 x 4 but the file ends early.
    test::write_bytes(bad, 0, {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4, 1, 2, 3});
    CHECK_THROWS_AS(format::read_idx_ubyte(bad), Error);
}

namespace {

// An unsigned-byte IDX header: magic, rank, then each dimension big-endian.
std::vector<uint8_t> idx_header(const std::vector<uint32_t>& dims) {
    std::vector<uint8_t> h = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
    for (uint32_t d : dims) {
        for (int shift = 24; shift >= 0; shift -= 8)
            h.push_back(static_cast<uint8_t>(d >> shift));
    }
    return h;
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
    REQUIRE(gzclose(f) == Z_OK);
}

// The message of the corruption error that reading `path` throws.
std::string corruption_reading(const std::string& path) {
    try {
        format::read_idx_ubyte(path);
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kCorruption);
        return e.message();
    }
    FAIL("read '" << path << "' without an error");
    return {};
}

}  // namespace

TEST_CASE("IDX reader checks the claimed dimensions against the data before allocating (fix)",
          "[fashion][errors]") {
    test::TempDir dir;
    // 19 bytes claiming 2^32 - 1 rows of 1024 x 1024 values: 4 PiB, refused by the file's size.
    const std::string huge = dir.file("huge-idx3-ubyte");
    auto bytes = idx_header({0xFFFFFFFF, 1024, 1024});
    bytes.insert(bytes.end(), {1, 2, 3});
    REQUIRE(bytes.size() == 19);
    test::write_bytes(huge, 0, bytes);
    std::string message = corruption_reading(huge);
    CHECK_THAT(message, Catch::Contains(huge));
    CHECK_THAT(message, Catch::Contains("4294967295 rows of 1048576 values"));
    CHECK_THAT(message, Catch::Contains("holds only 3 bytes"));

    // 12 bytes, a header alone, claiming 800 rows of 2^20 values (838,860,800 bytes).
    const std::string header_only = dir.file("header-only-idx1-ubyte");
    test::write_bytes(header_only, 0, idx_header({800, 1 << 20}));
    message = corruption_reading(header_only);
    CHECK_THAT(message, Catch::Contains("800 rows of 1048576 values (838860800 bytes)"));
    CHECK_THAT(message, Catch::Contains("holds only 0 bytes"));

    // The same claims gzip-compressed: what decompression yields is all that is read.
    const std::string huge_gz = dir.file("huge-idx3-ubyte.gz");
    write_gzip(huge_gz, bytes);
    message = corruption_reading(huge_gz);
    CHECK_THAT(message, Catch::Contains(huge_gz));
    CHECK_THAT(message, Catch::Contains("4294967295 rows of 1048576 values"));
    CHECK_THAT(message, Catch::Contains("decompresses to only 3 bytes"));
    const std::string header_only_gz = dir.file("header-only-idx1-ubyte.gz");
    write_gzip(header_only_gz, idx_header({800, 1 << 20}));
    CHECK_THAT(corruption_reading(header_only_gz), Catch::Contains("decompresses to only 0 bytes"));

    // Dimensions whose product wraps around 64 bits to 0 name an implausible row size.
    const std::string wrapping = dir.file("wrapping-idx5-ubyte");
    test::write_bytes(wrapping, 0, idx_header({1, 65536, 65536, 65536, 65536}));
    CHECK_THAT(corruption_reading(wrapping), Catch::Contains("implausible row size"));
}

TEST_CASE("IDX reader reads gzip data of several chunks and max_rows of it", "[fashion]") {
    test::TempDir dir;
    // Three rows of 2^19 values: 1.5 MiB, more than one chunk of the reader.
    const uint32_t columns = 1 << 19;
    auto bytes = idx_header({3, 512, 1024});
    for (uint32_t i = 0; i < 3 * columns; ++i)
        bytes.push_back(static_cast<uint8_t>(i * 7 + i / columns));
    const std::string path = dir.file("rows-idx3-ubyte.gz");
    write_gzip(path, bytes);
    const auto m = format::read_idx_ubyte(path);
    REQUIRE(m.rows == 3);
    REQUIRE(m.columns == columns);
    std::vector<float> expected(bytes.begin() + 16, bytes.end());
    CHECK(m.values == expected);
    const auto first = format::read_idx_ubyte(path, 1);
    CHECK(first.rows == 1);
    CHECK(std::equal(first.values.begin(), first.values.end(), m.values.begin()));
}
