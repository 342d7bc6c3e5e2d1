// The write side of one commit's HNSW graph: hnswlib's structures, with nodes that refer to
// vectors of the domain's vector file, and the layered deletion of seed 002. A commit loads its
// parent's graph here slot for slot, applies its operations, and writes the result as a full
// or delta graph file; searches read the files instead (graph_layers.h). Internal to store/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "graph_layers.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/vector_file.h"

// hnswlib's headers define global variables, so only hnsw_graph.cpp includes them.
namespace hnswlib {
template <typename dist_t>
class HierarchicalNSW;
}

namespace vstore::detail {

struct GraphParams {
    format::Metric metric = format::Metric::kL2;
    uint32_t dimension = 0;
    uint32_t m = 16;
    uint32_t ef_construction = 200;
};

// As a GraphSource, the graph's slots in order, removed ones included (flagged kNodeRemoved),
// so that slot i is node i of the graph it was loaded from.
class HnswGraph : public format::GraphSource {
  public:
    // An empty graph with room for `capacity` nodes. `file` must outlive the graph.
    HnswGraph(const GraphParams& params, const VectorFile& file, size_t capacity, uint64_t seed);
    // The graph a commit reads, slot for slot, with room for `extra_capacity` more nodes.
    static std::unique_ptr<HnswGraph> from_layers(const GraphLayers& layers,
                                                  const VectorFile& file, size_t extra_capacity,
                                                  uint64_t seed);
    ~HnswGraph() override;
    HnswGraph(const HnswGraph&) = delete;
    HnswGraph& operator=(const HnswGraph&) = delete;

    uint64_t node_count() const override;  // slots in use: live, tombstoned and removed
    uint64_t vector_index(uint32_t node) const override;
    uint64_t key(uint32_t node) const override;
    uint32_t level(uint32_t node) const override;
    uint8_t flags(uint32_t node) const override;
    std::span<const uint32_t> links(uint32_t node, uint32_t layer) const override;
    int64_t entry_point() const;  // -1 for an empty graph
    int32_t max_level() const;

    // Inserts (key, vector index) pairs on `threads` threads. Keys must not be live.
    void insert_batch(std::span<const std::pair<uint64_t, uint64_t>> items, unsigned threads);
    // Deletes live keys with the layered semantics: level-0-only nodes are removed and their
    // in-neighbours relinked by the neighbour-selection heuristic; upper-level nodes are
    // tombstoned. Returns the number removed (the rest were tombstoned).
    uint64_t remove_batch(std::span<const uint64_t> keys, unsigned threads);
    // Points a live key's node at a new vector and repairs its neighbourhood.
    void replace(uint64_t key, uint64_t new_vector_index);
    // Makes every live node reachable from the entry point in layer 0 again, linking an
    // unreachable node from its nearest reachable neighbour. Returns the links added.
    uint64_t repair_reachability();

    bool is_live(uint64_t key) const;
    std::optional<uint64_t> vector_of(uint64_t key) const;  // the vector index of a live key
    std::vector<uint64_t> live_keys() const;
    uint64_t live_count() const { return live_count_; }
    uint64_t tombstone_count() const { return tombstone_count_; }
    uint64_t removed_count() const { return removed_count_; }
    const GraphParams& params() const { return params_; }

  private:
    class Space;
    using Index = hnswlib::HierarchicalNSW<float>;
    void relink_level0(uint32_t node, const std::vector<uint32_t>& candidates);
    std::vector<uint32_t> reachable_level0() const;

    GraphParams params_;
    const VectorFile& file_;
    std::unique_ptr<Space> space_;
    std::unique_ptr<Index> index_;
    std::vector<bool> removed_;  // slots whose node was removed; never linked to
    std::mt19937_64 level_rng_;  // the levels of inserted nodes
    uint64_t live_count_ = 0;
    uint64_t tombstone_count_ = 0;
    uint64_t removed_count_ = 0;
};

}  // namespace vstore::detail
