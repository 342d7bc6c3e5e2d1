// One commit's HNSW graph in memory: hnswlib's structures, with nodes that refer to vectors of
// the domain's vector file, and the layered deletion of seed 002. Internal to store/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "vstore/format/graph_file.h"
#include "vstore/vector_file.h"

// hnswlib's headers define global variables, so only hnsw_graph.cpp includes them.
namespace hnswlib {
template <typename dist_t>
class HierarchicalNSW;
}

namespace vstore::detail {

// What hnswlib stores as a node's "vector": the surrogate, and in mapped mode a pointer to the
// vector in the mapping (null in pool mode, where the distance resolves the surrogate).
struct NodeRecord {
    uint64_t vector_index;
    const float* data;
};

struct GraphParams {
    format::Metric metric = format::Metric::kL2;
    uint32_t dimension = 0;
    uint32_t m = 16;
    uint32_t ef_construction = 200;
};

// A (distance, key) pair; results are sorted by ascending distance.
using Neighbor = std::pair<float, uint64_t>;

struct GraphHealth {
    uint64_t unreachable_live = 0;  // live nodes not reachable from the entry point in layer 0
    uint64_t links_to_removed = 0;  // adjacency entries naming a removed slot
};

class HnswGraph {
  public:
    // An empty graph with room for `capacity` nodes. `file` must outlive the graph.
    HnswGraph(const GraphParams& params, const VectorFile& file, size_t capacity, uint64_t seed);
    // The graph of a graph file, with room for `extra_capacity` more nodes.
    static std::unique_ptr<HnswGraph> from_file_data(const format::GraphFileData& data,
                                                     const VectorFile& file, size_t extra_capacity,
                                                     uint64_t seed);
    ~HnswGraph();
    HnswGraph(const HnswGraph&) = delete;
    HnswGraph& operator=(const HnswGraph&) = delete;

    // Nodes are renumbered densely; removed slots are left out. Metadata fields other than the
    // graph's own (domain, commit, parent, vector_count, created) are left for the caller.
    format::GraphFileData to_file_data() const;

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

    // The k nearest live nodes (ascending distance); ef is raised to at least k.
    std::vector<Neighbor> search(const float* query, size_t k, size_t ef) const;
    // Brute force over exactly the live nodes.
    std::vector<Neighbor> search_exact(const float* query, size_t k) const;

    bool is_live(uint64_t key) const;
    std::optional<uint64_t> vector_of(uint64_t key) const;  // the vector index of a live key
    std::vector<uint64_t> live_keys() const;
    uint64_t live_count() const { return live_count_; }
    uint64_t tombstone_count() const { return tombstone_count_; }
    uint64_t node_count() const;  // slots in use: live + tombstoned
    size_t memory_bytes() const;
    GraphHealth health() const;
    const GraphParams& params() const { return params_; }

    // The distance between a query and a stored vector, as the graph computes it.
    float distance(const float* a, const float* b) const;

  private:
    class Space;
    using Index = hnswlib::HierarchicalNSW<float>;
    NodeRecord record_for(uint64_t vector_index) const;
    void relink_level0(uint32_t node, const std::vector<uint32_t>& candidates);
    std::vector<uint32_t> reachable_level0() const;
    // Mapped mode: vectors_[node] is where the node's vector is mapped, so a search can
    // prefetch a neighbour's vector without first reading its record. Empty in pool mode.
    void note_vectors(uint32_t first, uint32_t end);
    // Layer 0 of a mapped-mode search: the ef nearest (distance, node) from `entry`.
    std::vector<std::pair<float, uint32_t>> search_level0_mapped(const float* query,
                                                                 uint32_t entry,
                                                                 size_t ef) const;

    GraphParams params_;
    const VectorFile& file_;
    std::unique_ptr<Space> space_;
    std::unique_ptr<Index> index_;
    std::vector<bool> removed_;  // slots whose node was removed; never linked to
    std::vector<const float*> vectors_;
    std::mt19937_64 level_rng_;  // the levels of inserted nodes
    uint64_t live_count_ = 0;
    uint64_t tombstone_count_ = 0;
};

}  // namespace vstore::detail
