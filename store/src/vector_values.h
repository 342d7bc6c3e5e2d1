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

// The squared Euclidean norm of `v`, summed in double (exact enough for any float input).
// Error(kInvalidArgument) for a NaN or infinite component; `what` names the vector in the
// message ("vector of id 'a'", "query").
double finite_squared_norm(std::span<const float> v, const std::string& what);

// finite_squared_norm, and Error(kInvalidArgument) for a squared norm above kMaxSquaredNorm.
double checked_squared_norm(std::span<const float> v, const std::string& what);

// Scales `v` to unit length, for cosine; `squared_norm` is its nonzero squared norm.
void normalize(std::span<float> v, double squared_norm);

}  // namespace vstore::detail
