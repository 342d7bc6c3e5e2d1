#include "vstore/format/idx_file.h"

#include <zlib.h>

#include <sys/stat.h>
#include <cerrno>
#include <memory>

#include "vstore/format/error.h"

namespace vstore::format {
namespace {

struct GzCloser {
    void operator()(gzFile f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

void read_exact(gzFile f, void* dest, size_t bytes, const std::string& path) {
    auto* out = static_cast<uint8_t*>(dest);
    while (bytes > 0) {
        const unsigned chunk = bytes > (1u << 30) ? (1u << 30) : static_cast<unsigned>(bytes);
        const int got = gzread(f, out, chunk);
        if (got <= 0)
            throw Error::corruption("IDX file '" + path + "' is truncated");
        out += got;
        bytes -= static_cast<size_t>(got);
    }
}

uint32_t big_endian_u32(const uint8_t* b) {
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

}  // namespace

IdxMatrix read_idx_ubyte(const std::string& path, uint64_t max_rows) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            throw Error::not_found("IDX file '" + path +
                                   "' does not exist (Debian package dataset-fashion-mnist?)");
        }
        throw Error::io("cannot stat IDX file '" + path + "'", errno);
    }
    GzHandle f(gzopen(path.c_str(), "rb"));
    if (!f)
        throw Error::io("cannot open IDX file '" + path + "'", errno);
    uint8_t magic[4];
    read_exact(f.get(), magic, 4, path);
    // Magic: two zero bytes, a type code (0x08 = unsigned byte), and the rank.
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 2) {
        throw Error::corruption("'" + path + "' is not an unsigned-byte IDX file of rank >= 2");
    }
    const unsigned rank = magic[3];
    uint8_t dims_raw[4 * 255];
    read_exact(f.get(), dims_raw, 4 * rank, path);
    IdxMatrix m;
    m.rows = big_endian_u32(dims_raw);
    uint64_t columns = 1;
    for (unsigned d = 1; d < rank; ++d)
        columns *= big_endian_u32(dims_raw + 4 * d);
    if (columns == 0 || columns > (1u << 20)) {
        throw Error::corruption("IDX file '" + path + "' has an implausible row size");
    }
    m.columns = static_cast<uint32_t>(columns);
    if (max_rows != 0 && max_rows < m.rows)
        m.rows = max_rows;
    std::vector<uint8_t> raw(m.rows * m.columns);
    read_exact(f.get(), raw.data(), raw.size(), path);
    m.values.assign(raw.begin(), raw.end());
    return m;
}

std::string fashion_mnist_train_path() {
    return std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz";
}

std::string fashion_mnist_test_path() {
    return std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz";
}

}  // namespace vstore::format
