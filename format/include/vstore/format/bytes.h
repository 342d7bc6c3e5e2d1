// Little-endian field access and checksums shared by every file kind.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

namespace vstore::format {

static_assert(std::endian::native == std::endian::little,
              "vstore files are little-endian and this build assumes a little-endian host");

template <typename T>
inline T load_le(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
inline void store_le(uint8_t* p, T v) {
    std::memcpy(p, &v, sizeof v);
}

// XXH3-64 of the bytes with the given seed.
uint64_t checksum64(std::span<const uint8_t> bytes, uint64_t seed = 0);

// True when every byte is zero.
bool all_zero(std::span<const uint8_t> bytes);

}  // namespace vstore::format
