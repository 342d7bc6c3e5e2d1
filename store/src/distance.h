// The distance functions of a domain's metric, hnswlib's vectorized kernels. Defined in
// hnsw_graph.cpp, the one file that includes hnswlib (its headers define global functions).
// Internal to store/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vstore/format/graph_file.h"

namespace vstore::detail {

class Distance {
  public:
    // l2: squared Euclidean; cosine (on normalized vectors) and ip: 1 - a.b.
    Distance(format::Metric metric, uint32_t dimension);
    float operator()(const float* a, const float* b) const { return fn_(a, b, &dim_); }

  private:
    float (*fn_)(const void*, const void*, const void*);
    size_t dim_;
};

}  // namespace vstore::detail
