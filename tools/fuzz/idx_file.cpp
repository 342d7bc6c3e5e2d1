// IDX files (the Fashion-MNIST format, format/idx_file.h): read_idx_ubyte on a scratch file.
// Byte 0 of an input chooses how the rest is written: bit 0 set, gzip-compressed (so that
// mutations of the IDX bytes reach the reader past gzip's own CRC), else as it is; byte 1 is
// max_rows (0: all rows).
#include <zlib.h>

#include "fuzz_support.h"
#include "vstore/format/idx_file.h"

namespace {

void write_gzip(const std::string& path, const uint8_t* data, size_t size) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (f == nullptr || (size > 0 && gzwrite(f, data, static_cast<unsigned>(size)) <= 0)) {
        std::perror(path.c_str());
        std::abort();
    }
    gzclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vstore::fuzz::ScratchFile file(".idx");
    if (size < 2)
        return 0;
    const bool gzip = (data[0] & 1) != 0;
    const uint64_t max_rows = data[1];
    if (gzip)
        write_gzip(file.path(), data + 2, size - 2);
    else
        file.write(data + 2, size - 2);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::format::read_idx_ubyte(file.path(), max_rows); });
    return 0;
}
