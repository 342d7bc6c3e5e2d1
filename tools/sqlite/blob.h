// The embedding blob of datasette-faiss and llm (spec/sql.md, "The blob format"): the
// components of a vector as little-endian IEEE 754 float32, one after another, with nothing
// before or after them; what Python's struct.pack("<" + "f" * n, *vector) writes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vstore::sql {

// The floats of a blob of `bytes` bytes. Error(kInvalidArgument) "WHAT is N bytes, not a
// multiple of 4 (float32)" otherwise; an empty blob is zero floats.
std::vector<float> floats_of_blob(const void* data, size_t bytes, std::string_view what);

// The blob of `floats`.
std::string blob_of_floats(std::span<const float> floats);

// vstore_encode: a JSON array of numbers to its floats, each the float32 nearest the number
// (as struct.pack rounds). Error(kInvalidArgument) naming WHAT for text that is not a JSON
// array of numbers, and for a number outside float32's range.
std::vector<float> floats_of_json(std::string_view json_text, std::string_view what);

// vstore_decode: the floats as a JSON array, each written in the fewest digits that read back
// as the same float32. Error(kInvalidArgument) naming WHAT for a NaN or infinite component,
// which JSON cannot hold.
std::string json_of_floats(std::span<const float> floats, std::string_view what);

}  // namespace vstore::sql
