// The checksum repair of a graph file body (version 1 files and version 2 deltas): the stored
// body's XXH3-64, and the raw body's, which for a zstd body means decompressing it first.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <vector>

#include "fuzz_support.h"

namespace vstore::fuzz {

struct BodyFields {  // offsets in the header
    size_t encoding;
    size_t raw_bytes;
    size_t raw_checksum;
    size_t stored_checksum;
};

// Raw bodies above this are not decompressed for the repair (the decoder still sees them).
inline constexpr uint64_t kMaxRepairedRawBody = uint64_t(16) << 20;

inline void repair_body_checksums(std::vector<uint8_t>& b, uint64_t header_bytes,
                                  const BodyFields& f) {
    if (header_bytes > b.size())
        return;
    const uint8_t* stored = b.data() + header_bytes;
    const size_t stored_bytes = b.size() - header_bytes;
    repair_checksum(b, header_bytes, b.size(), f.stored_checksum);
    const uint32_t encoding = u32_at(b, f.encoding);
    if (encoding == 0) {
        repair_checksum(b, header_bytes, b.size(), f.raw_checksum);
        return;
    }
    const uint64_t raw_bytes = u64_at(b, f.raw_bytes);
    // Only a frame that says it holds raw_bytes is decompressed: a mutated claim of megabytes
    // would otherwise cost a large allocation per input.
    if (encoding != 1 || raw_bytes > kMaxRepairedRawBody ||
        ZSTD_getFrameContentSize(stored, stored_bytes) != raw_bytes)
        return;
    std::vector<uint8_t> raw(raw_bytes);
    const size_t got = ZSTD_decompress(raw.data(), raw.size(), stored, stored_bytes);
    if (ZSTD_isError(got) || got != raw_bytes || f.raw_checksum + 8 > b.size())
        return;
    format::store_le<uint64_t>(b.data() + f.raw_checksum, format::checksum64(raw));
}

}  // namespace vstore::fuzz
