// How an input of the catalog harness and its seeds spell one catalog entry: byte 0 the
// database (its index in kCatalogDatabases, modulo their number), bytes 1-2 the key's length
// (u16 little-endian), the key, then the value as LMDB holds it (sealed or not).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vstore::fuzz {

inline constexpr std::array<const char*, 6> kCatalogDatabases = {"meta", "domains", "commits",
                                                                 "ids",  "keys",    "vectors"};

inline std::string catalog_input(uint8_t database, std::string_view key, std::string_view value) {
    std::string out;
    out += static_cast<char>(database);
    out += static_cast<char>(key.size() & 0xff);
    out += static_cast<char>((key.size() >> 8) & 0xff);
    out += key;
    out += value;
    return out;
}

}  // namespace vstore::fuzz
