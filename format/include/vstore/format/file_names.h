// File names of a store: domains and commits percent-encoded so that no name can escape the
// store directory or collide with another (spec/store-layout.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vstore/format/utf8.h"

namespace vstore::format {

// Longest domain or commit name, in bytes of UTF-8.
inline constexpr size_t kMaxNameBytes = 255;
// Longest file name we create (NAME_MAX on Linux file systems).
inline constexpr size_t kMaxFileNameBytes = 255;

// The longest external id (a caller's id of an item), in bytes.
inline constexpr size_t kMaxExternalIdBytes = 4096;

// Throws Error(kInvalidArgument) naming `what` ("domain", "commit") when `name` is empty,
// longer than kMaxNameBytes, not valid UTF-8, or contains a NUL byte.
void validate_name(std::string_view what, std::string_view name);

// Percent-encodes every byte outside [A-Za-z0-9_.~-], and a leading '.', as %XX (upper-case
// hex). The result is a single path component that is never "." or "..".
std::string percent_encode(std::string_view name);

// Inverse of percent_encode. Throws Error(kInvalidArgument) on a malformed escape.
std::string percent_decode(std::string_view encoded);

// "<encoded domain>.vecs", and for a generation of 2 or more "<encoded domain>@<generation>.vecs":
// the file a vacuum writes to replace the domain's vector file. Validates the name and the
// resulting file name length.
std::string vector_file_name(std::string_view domain, uint32_t generation = 1);

// Whether `file` is named as a vector file of `domain`, of any generation.
bool is_vector_file_of(std::string_view file, std::string_view domain);

}  // namespace vstore::format
