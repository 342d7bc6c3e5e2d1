// How the commands write JSON. Internal to the vstore command line.
#pragma once

#include <cfloat>
#include <charconv>
#include <cmath>
#include <string>

namespace vstore::cli {

// A float as JSON prints it shortest: the double nearest the float's shortest decimal, so
// that 0.09396297f is written "0.09396297" and not "0.09396296739578247".
inline double json_float(float f) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, f);
    double d = 0;
    std::from_chars(buf, r.ptr, d);
    return d;
}

// A distance, always a number: JSON has no infinity or NaN (nlohmann would write null). No
// distance overflows in a store that keeps the norm limit (spec/vector-file.md, "Values"); one
// of vectors stored before it may, and is written as the float nearest its sign's infinity.
inline double json_distance(float distance) {
    if (std::isnan(distance) || distance > FLT_MAX)
        return json_float(FLT_MAX);
    if (distance < -FLT_MAX)
        return json_float(-FLT_MAX);
    return json_float(distance);
}

// The text of a JSON document, never an exception part-way: a string that is not valid UTF-8 (an
// id stored before ids had to be, spec/catalog.md) has each invalid byte written as U+FFFD.
template <class Json>
std::string json_text(const Json& document, int indent = -1) {
    return document.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace vstore::cli
