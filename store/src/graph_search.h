// Searches of a GraphLayers, in place: the HNSW descent through the upper layers and the
// beam search of layer 0, over vectors reached through the domain's VectorFile. Mapped and
// pool mode run the same algorithm, so they give the same answers, ties included.
// Internal to store/.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "distance.h"
#include "graph_layers.h"
#include "vstore/vector_file.h"

namespace vstore::detail {

// A (distance, key) pair; results are sorted by ascending distance.
using Neighbor = std::pair<float, uint64_t>;

struct GraphHealth {
    uint64_t unreachable_live = 0;  // live nodes not reachable from the entry point in layer 0
    uint64_t links_to_removed = 0;  // list entries naming a removed slot
};

class GraphSearch {
  public:
    // `graph` and `file` must outlive this object. Vectors are those of `file` below the
    // graph's vector_count.
    GraphSearch(const GraphLayers& graph, const VectorFile& file);

    // The k nearest live nodes (ascending distance); ef is raised to at least k.
    std::vector<Neighbor> search(const float* query, size_t k, size_t ef) const;
    // The same, returning only nodes whose bit is set in `allowed` (one bit per node ordinal,
    // live nodes only): every other node navigates as a tombstone does.
    std::vector<Neighbor> search_allowed(const float* query, size_t k, size_t ef,
                                         const uint64_t* allowed) const;
    // Brute force over exactly the live nodes; ties in distance go to the smaller node ordinal.
    std::vector<Neighbor> search_exact(const float* query, size_t k) const;
    // Brute force over `nodes` (live, ascending ordinals), with search_exact's ties.
    std::vector<Neighbor> search_exact_among(const float* query, size_t k,
                                             std::span<const uint32_t> nodes) const;
    GraphHealth health() const;
    float distance(const float* a, const float* b) const { return distance_(a, b); }

  private:
    template <typename Results>
    std::vector<Neighbor> search_in_mode(const Results& results, const float* query, size_t k,
                                         size_t ef) const;
    template <typename Vectors, typename Results>
    std::vector<Neighbor> search_with(const Vectors& vectors, const Results& results,
                                      const float* query, size_t k, size_t ef) const;
    template <typename Nodes>
    std::vector<Neighbor> exact_over(const float* query, size_t k, uint64_t scanned,
                                     const Nodes& nodes) const;

    const GraphLayers& graph_;
    const VectorFile& file_;
    Distance distance_;
    uint64_t vector_limit_;
    // The first searches of a commit may find its vectors' pages cold (graph_search.cpp).
    static constexpr uint64_t kColdSearches = 4;
    mutable std::atomic<uint64_t> searches_{0};
};

}  // namespace vstore::detail
