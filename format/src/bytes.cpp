#include "vstore/format/bytes.h"

#include <xxhash.h>

#include <algorithm>

namespace vstore::format {

uint64_t checksum64(std::span<const uint8_t> bytes, uint64_t seed) {
    return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

bool all_zero(std::span<const uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace vstore::format
