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
