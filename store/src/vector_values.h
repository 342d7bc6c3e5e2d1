// What the components of a stored vector and of a query may be (spec/vector-file.md, "Values"):
// finite, with a squared Euclidean norm of at most 2^125, so that no distance of any metric can
// overflow a float. Internal to store/.
#pragma once

#include <span>
#include <string>

namespace vstore::detail {

// |a|^2, |b|^2 <= 2^125 bound every squared L2 distance by (|a| + |b|)^2 <= 2^127 and every
// inner product by |a| |b| <= 2^125, both well below FLT_MAX (about 2^128), even with the
// rounding of a float sum over 65,536 components.
inline constexpr double kMaxSquaredNorm = 0x1p125;

// The squared Euclidean norm of `v`, summed in double: NaN or infinite exactly when a
// component is (65,536 squares of floats cannot overflow a double).
double squared_norm(std::span<const float> v);

// Whether a vector of this squared norm may be stored, or be a query (false for NaN).
inline bool within_norm_limit(double squared_norm) {
    return squared_norm <= kMaxSquaredNorm;
}

// Error(kInvalidArgument) for a vector `what` names ("vector of id 'a'", "query") whose
// squared norm is not finite (a NaN or infinite component) or past the limit.
[[noreturn]] void refuse_vector(const std::string& what, double squared_norm);

// Scales `v` to unit length, for cosine; `squared_norm` is its nonzero squared norm.
void normalize(std::span<float> v, double squared_norm);

}  // namespace vstore::detail
