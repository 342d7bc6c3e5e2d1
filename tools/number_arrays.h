// A fast path for the commonest JSON a query is: an array of numbers, or an array of such
// arrays. nlohmann::json builds a tree and parses each number with strtod, which for a
// 784-number body costs as much as the search it asks for (vstore serve's profile); this
// scans the text once with std::from_chars.
//
// It only ever accepts text that nlohmann::json would parse to the same floats: anything else
// (other JSON, a malformed number, a nested array of another depth, a number beyond the float
// range, an empty or over-long array, arrays of unequal length) makes it answer nullopt, and
// the caller parses the text the slow way, which finds the error and names it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace vstore::cli {

// The smallest magnitude that rounds to infinity as a float (FLT_MAX plus half its ulp): a
// JSON number at or beyond it is "too large for a float".
inline constexpr double kFloatOverflow = 0x1.ffffffp127;

struct NumberArrays {
    std::vector<std::vector<float>> arrays;
    bool nested = false;  // the text was an array of arrays
};

// `max_length` bounds each array's length (kMaxInputDimension).
std::optional<NumberArrays> scan_number_arrays(std::string_view text, size_t max_length);

}  // namespace vstore::cli
