// The bytes of an id file (spec/pack.md): the external id of every node of a pack's graph,
// by node ordinal.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/format/file_names.h"

namespace vstore::format {

inline constexpr std::array<uint8_t, 8> kIdFileMagic = {'V', 'S', 'T', 'O', 'R', 'E', 'I', 'D'};
inline constexpr uint32_t kIdFileVersion = 1;
inline constexpr size_t kIdFileHeaderBytes = 48;

// ids[i] is the external id of node i; an empty string marks a tombstoned node, which has none.
std::vector<uint8_t> encode_id_file(const std::vector<std::string>& ids);

// Decodes and checks magic, version, both checksums and every length. `file` names the file
// in errors: Error(kCorruption) for damage, Error(kInvalidArgument) for a format version this
// build does not read.
std::vector<std::string> decode_id_file(std::span<const uint8_t> bytes, std::string_view file);

}  // namespace vstore::format
