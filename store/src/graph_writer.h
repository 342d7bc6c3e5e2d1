// Turning a built graph into graph file bytes: as a full file (removed slots dropped, nodes
// renumbered), or as a delta over the graph of another file (graph storage policy in
// spec/graph-file.md, "Chain policy"). Internal to store/.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "graph_layers.h"
#include "vstore/catalog.h"
#include "vstore/format/graph_file_v2.h"

namespace vstore::detail {

// A GraphLayers read as a GraphSource (node for node, removed slots included).
class LayersSource : public format::GraphSource {
  public:
    explicit LayersSource(const GraphLayers& g) : g_(g) {}
    uint64_t node_count() const override { return g_.size(); }
    uint64_t vector_index(uint32_t i) const override { return g_.vector_index(i); }
    uint64_t key(uint32_t i) const override { return g_.key(i); }
    uint32_t level(uint32_t i) const override { return g_.level(i); }
    uint8_t flags(uint32_t i) const override { return g_.flags(i); }
    std::span<const uint32_t> links(uint32_t i, uint32_t layer) const override {
        return g_.links(i, layer);
    }

  private:
    const GraphLayers& g_;
};

// A source without its removed slots, the other nodes renumbered in order. With `own_payload`
// (packs), node i also gets vector index i and key i. Error(kCorruption) for a link to a
// removed slot.
class CompactSource : public format::GraphSource {
  public:
    CompactSource(const format::GraphSource& source, bool own_payload);
    uint64_t node_count() const override { return old_of_.size(); }
    uint64_t vector_index(uint32_t i) const override {
        return own_payload_ ? i : source_.vector_index(old_of_[i]);
    }
    uint64_t key(uint32_t i) const override { return own_payload_ ? i : source_.key(old_of_[i]); }
    uint32_t level(uint32_t i) const override { return source_.level(old_of_[i]); }
    uint8_t flags(uint32_t i) const override { return source_.flags(old_of_[i]); }
    std::span<const uint32_t> links(uint32_t i, uint32_t layer) const override;
    // The new ordinal of an old node (nullopt for a removed one).
    std::optional<uint32_t> new_of(uint32_t old) const;
    uint32_t old_of(uint32_t i) const { return old_of_[i]; }

  private:
    const format::GraphSource& source_;
    bool own_payload_;
    std::vector<uint32_t> old_of_;
    std::vector<uint32_t> new_of_;  // UINT32_MAX for removed
    mutable std::vector<uint32_t> scratch_;
};

// The header fields of a graph that a writer computes from it: node_count, the four counts,
// upper_count and link_count.
void count_graph(const format::GraphSource& source, format::GraphHeader& header);

// What differs between `now` and `base`, whose nodes are the first base.size() of `now`, slot
// for slot. Lists are written as the longest prefix they share with the base's list and the
// rest.
format::GraphDelta diff_graph(const format::GraphSource& now, const GraphLayers& base);

// The bytes of a full file holding `nodes` slots and `upper` upper records: what a full
// rewrite would cost, to weigh a delta against.
uint64_t full_graph_bytes(uint64_t nodes, uint64_t upper, uint32_t m);

}  // namespace vstore::detail
