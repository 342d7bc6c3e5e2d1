// Reader for IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vstore::format {

// Rows of an unsigned-byte IDX file of rank >= 2, each row flattened and converted to float32
// (0..255, as ann-benchmarks' fashion-mnist-784-euclidean stores them).
struct IdxMatrix {
    uint64_t rows = 0;
    uint32_t columns = 0;
    std::vector<float> values;  // rows * columns, row-major

    const float* row(uint64_t r) const { return values.data() + r * columns; }
};

// Reads at most `max_rows` rows (all when 0). Throws Error(kNotFound) when the file is
// missing, Error(kCorruption) when it is not an unsigned-byte IDX file or holds less data than
// its header claims (the message names the file and the claim). Memory follows the data that
// exists: a plain file's claim is checked against its size before reading, a gzip file is
// decompressed in bounded chunks.
IdxMatrix read_idx_ubyte(const std::string& path, uint64_t max_rows = 0);

// Where Debian's dataset-fashion-mnist package installs the data.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
std::string fashion_mnist_train_path();
std::string fashion_mnist_test_path();

}  // namespace vstore::format
