// How the commands write numbers in JSON. Internal to the vstore command line.
#pragma once

#include <cfloat>
#include <charconv>
#include <cmath>

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

}  // namespace vstore::cli
