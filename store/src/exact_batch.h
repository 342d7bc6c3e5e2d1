// The batched exact scan: the k nearest live nodes of many queries at once, answering exactly
// as GraphSearch::search_exact answers each query alone (the same nodes in the same order,
// the same distances). Internal to store/.
#pragma once

#include <cstddef>
#include <vector>

#include "graph_layers.h"
#include "graph_search.h"
#include "vstore/vector_file.h"

namespace vstore::detail {

// `queries` holds `count` prepared queries (checked, normalized for cosine) of the graph's
// dimension, one after another. The scan runs on `threads` threads, each over its own share
// of the nodes; `search` must be the GraphSearch of `graph` and `file`.
std::vector<std::vector<Neighbor>> search_exact_batch(const GraphSearch& search,
                                                      const GraphLayers& graph,
                                                      const VectorFile& file, const float* queries,
                                                      size_t count, size_t k, unsigned threads);

}  // namespace vstore::detail
