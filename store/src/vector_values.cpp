#include "vector_values.h"

#include <cfloat>
#include <cmath>
#include <cstdio>

#include "vstore/format/error.h"

namespace vstore::detail {

double squared_norm(std::span<const float> v) {
    double sum = 0;
    for (float x : v)
        sum += double(x) * x;
    return sum;
}

void refuse_vector(const std::string& what, double squared_norm) {
    if (!std::isfinite(squared_norm))
        throw Error::invalid_argument(what + " has a NaN or infinite component");
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, "%.4g, above 2^125 (%.4g)", squared_norm,
                  kMaxSquaredNorm);
    throw Error::invalid_argument(what + " has a squared norm of " + numbers +
                                  ", the limit that keeps every distance finite");
}

void normalize(std::span<float> v, double squared_norm) {
    const double inverse = 1.0 / std::sqrt(squared_norm);
    if (inverse <= FLT_MAX) {
        // In float, as vstore has always scaled, so that a vector keeps the bits it had.
        const float f = static_cast<float>(inverse);
        for (float& x : v)
            x *= f;
    } else {
        // A vector shorter than 2^-128 (subnormal components): 1/|v| is beyond float.
        for (float& x : v)
            x = static_cast<float>(double(x) * inverse);
    }
}

}  // namespace vstore::detail
