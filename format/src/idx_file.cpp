#include "vstore/format/idx_file.h"

#include <zlib.h>

#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <memory>

#include "vstore/format/error.h"

namespace vstore::format {
namespace {

struct GzCloser {
    void operator()(gzFile f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

// The data is read in chunks of this size, and memory grows only as bytes actually arrive:
// the header's claim is never allocated ahead of the data that would fill it.
constexpr size_t kReadChunk = 1 << 20;

// The most values a row may hold (784 for Fashion-MNIST).
constexpr uint64_t kMaxRowValues = 1 << 20;

// Reads up to `bytes` bytes; returns how many it read (fewer only at the end of the data).
size_t read_some(gzFile f, uint8_t* out, size_t bytes, const std::string& path) {
    size_t done = 0;
    while (done < bytes) {
        const int got = gzread(f, out + done, static_cast<unsigned>(bytes - done));
        if (got < 0) {
            int code = Z_OK;
            const char* what = gzerror(f, &code);
            if (code == Z_ERRNO)
                throw Error::io("cannot read IDX file '" + path + "'", errno);
            throw Error::corruption("IDX file '" + path + "' is not valid gzip data: " + what);
        }
        if (got == 0)
            break;
        done += static_cast<size_t>(got);
    }
    return done;
}

void read_header_bytes(gzFile f, uint8_t* out, size_t bytes, const std::string& path) {
    if (read_some(f, out, bytes, path) < bytes)
        throw Error::corruption("IDX file '" + path + "' ends inside its header");
}

uint32_t big_endian_u32(const uint8_t* b) {
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

// "claims 800 rows of 1048576 values (838860800 bytes), but holds only 0 bytes of data"
Error shorter_than_claimed(const std::string& path, uint64_t rows, uint64_t columns,
                           uint64_t available, bool compressed) {
    const uint64_t claimed = rows * columns;
    std::string message = "IDX file '" + path + "' is truncated: its header claims ";
    message += std::to_string(rows) + " rows of " + std::to_string(columns) + " values (";
    message += std::to_string(claimed) + " bytes), but it ";
    message += compressed ? "decompresses to only " : "holds only ";
    message += std::to_string(available) + " bytes of data";
    return Error::corruption(message);
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
    read_header_bytes(f.get(), magic, 4, path);
    // Magic: two zero bytes, a type code (0x08 = unsigned byte), and the rank.
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 2) {
        throw Error::corruption("'" + path + "' is not an unsigned-byte IDX file of rank >= 2");
    }
    const unsigned rank = magic[3];
    uint8_t dims_raw[4 * 255];
    read_header_bytes(f.get(), dims_raw, 4 * rank, path);
    const uint64_t claimed_rows = big_endian_u32(dims_raw);
    // Checked dimension by dimension, so that the product cannot wrap around.
    uint64_t columns = 1;
    for (unsigned d = 1; d < rank; ++d) {
        columns *= big_endian_u32(dims_raw + 4 * d);
        if (columns == 0 || columns > kMaxRowValues) {
            throw Error::corruption("IDX file '" + path + "' has an implausible row size (" +
                                    (columns == 0 ? std::string("no values")
                                                  : "more than " + std::to_string(kMaxRowValues) +
                                                        " values") +
                                    " a row)");
        }
    }
    IdxMatrix m;
    m.columns = static_cast<uint32_t>(columns);
    m.rows = max_rows != 0 ? std::min(max_rows, claimed_rows) : claimed_rows;
    // At most 2^32 rows of 2^20 values: the product fits in 64 bits.
    const uint64_t wanted = m.rows * m.columns;
    const bool compressed = gzdirect(f.get()) == 0;
    if (!compressed) {
        // A plain file holds its data: the claim is checked against its size before reading.
        const uint64_t header_bytes = 4 + 4 * uint64_t{rank};
        const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
        const uint64_t available = file_bytes > header_bytes ? file_bytes - header_bytes : 0;
        if (available < wanted)
            throw shorter_than_claimed(path, m.rows, m.columns, available, false);
    }
    std::vector<uint8_t> raw;
    if (!compressed)
        raw.reserve(wanted);
    while (raw.size() < wanted) {
        const size_t had = raw.size();
        const size_t chunk = static_cast<size_t>(std::min<uint64_t>(kReadChunk, wanted - had));
        raw.resize(had + chunk);
        const size_t got = read_some(f.get(), raw.data() + had, chunk, path);
        raw.resize(had + got);
        if (got < chunk)
            throw shorter_than_claimed(path, m.rows, m.columns, raw.size(), compressed);
    }
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
