// The read side of one commit's graph: a full graph file searched in place from its mapping,
// with the deltas of its chain laid over it in memory. Stores and packs both read graphs
// through this class; nothing here builds hnswlib structures. Internal to store/.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "file_bytes.h"
#include "vstore/format/bytes.h"
#include "vstore/format/graph_file_v2.h"

namespace vstore::detail {

class GraphLayers {
  public:
    struct Part {
        std::string name;  // as errors show it
        std::shared_ptr<const FileBytes> bytes;
    };

    // `root` is a full version 2 file; each delta applies to the graph before it, and must
    // name the previous part as its base (name, length and checksum checked by the caller,
    // which knows the catalog's records). Only headers and deltas are read: the root's
    // sections are reached when a search needs them. Error(kCorruption) naming the file.
    GraphLayers(Part root, std::vector<Part> deltas);

    // The graph of a version 1 file, converted in memory to a full version 2 graph.
    static std::shared_ptr<const GraphLayers> from_v1(std::span<const uint8_t> bytes,
                                                      const std::string& name);

    const format::GraphHeader& header() const { return header_; }  // of the top part
    const std::string& name() const { return top_name_; }
    uint32_t depth() const { return static_cast<uint32_t>(delta_bytes_.size()); }
    uint64_t delta_bytes() const;  // all deltas together
    const Part& root() const { return root_; }
    const format::FullGraphLayout& root_layout() const { return layout_; }

    uint32_t size() const { return n_; }  // node slots
    int64_t entry_point() const { return header_.entry_point; }
    int32_t max_level() const { return header_.max_level; }
    uint32_t max_degree(uint32_t layer) const { return layer == 0 ? 2 * m_ : m_; }
    uint64_t live_count() const { return header_.live_count; }
    uint64_t tombstone_count() const { return header_.tombstone_count; }

    uint64_t vector_index(uint32_t i) const {
        if (i >= root_n_)
            return new_vec_[i - root_n_];
        if (!vec_changes_.empty()) {
            auto it = vec_changes_.find(i);
            if (it != vec_changes_.end())
                return it->second;
        }
        return format::load_le<uint64_t>(root_vec_ + 8 * size_t(i));
    }
    // Starts loading what vector_index(i) reads, so that several such loads overlap.
    void prefetch_vector_index(uint32_t i) const {
        __builtin_prefetch(i >= root_n_ ? static_cast<const void*>(&new_vec_[i - root_n_])
                                        : static_cast<const void*>(root_vec_ + 8 * size_t(i)));
    }
    uint64_t key(uint32_t i) const {
        return i >= root_n_ ? new_key_[i - root_n_]
                            : format::load_le<uint64_t>(root_key_ + 8 * size_t(i));
    }
    uint32_t level(uint32_t i) const { return i >= root_n_ ? new_level_[i - root_n_] : root_level_[i]; }
    uint8_t flags(uint32_t i) const { return overlaid_ ? flags_[i] : root_flags_[i]; }
    // Neither tombstoned nor removed: a possible result.
    bool live(uint32_t i) const { return (flags(i) & format::kNodeFlagMask) == 0; }

    // The layer-0 record of node i: count, then 2M slots. The hot path of every search.
    const uint32_t* list0(uint32_t i) const {
        if (i >= root_n_)
            return new_l0_.data() + size_t(i - root_n_) * w0_;
        if (overlaid_ && (changed0_bits_[i >> 6] >> (i & 63) & 1))
            return l0_records_.data() + size_t(slot0_[i]) * w0_;
        return root_l0_ + size_t(i) * w0_;
    }
    // The neighbours of node i in `layer`: Error(kCorruption) when the node does not live in
    // that layer or the list claims more entries than the layer allows.
    std::span<const uint32_t> links(uint32_t i, uint32_t layer) const;
    // A link read during a search: Error(kCorruption) unless it names a node of the graph.
    uint32_t checked(uint32_t link) const {
        if (link >= n_) [[unlikely]]
            bad_link(link);
        return link;
    }
    [[noreturn]] void bad_link(uint64_t link) const;
    [[noreturn]] void bad_count(uint32_t node, uint32_t layer, uint32_t count) const;

    // Heap bytes of the overlays (the root is mapped, not counted).
    size_t memory_bytes() const;

    // Visited marks for one search; a search takes one and gives it back.
    struct Visited {
        std::vector<uint16_t> marks;
        uint16_t tag = 0;
    };
    std::unique_ptr<Visited> take_visited() const;
    void give_back(std::unique_ptr<Visited> v) const;

  private:
    void apply(const Part& part);
    std::span<const uint32_t> root_upper(uint32_t i, uint32_t layer) const;

    Part root_;
    format::FullGraphLayout layout_;
    format::GraphHeader header_;
    std::string top_name_;
    std::vector<uint64_t> delta_bytes_;
    uint32_t m_ = 0, w0_ = 0, wu_ = 0;
    uint32_t n_ = 0, root_n_ = 0;
    uint64_t root_u_ = 0;
    const uint8_t* root_vec_ = nullptr;
    const uint8_t* root_key_ = nullptr;
    const uint8_t* root_level_ = nullptr;
    const uint8_t* root_flags_ = nullptr;
    const uint8_t* root_upper_index_ = nullptr;
    const uint32_t* root_l0_ = nullptr;
    const uint32_t* root_upper_ = nullptr;

    // The overlays of the deltas.
    bool overlaid_ = false;
    std::vector<uint8_t> flags_;  // every node's, once a delta is applied
    std::vector<uint64_t> new_vec_, new_key_;  // nodes from root_n_ on
    std::vector<uint8_t> new_level_;
    std::vector<uint32_t> new_l0_;
    // Root nodes whose layer-0 list a delta changed: a bit each, tested first by the search's
    // hot path, and the record in l0_records_ (UINT32_MAX where unchanged).
    std::vector<uint64_t> changed0_bits_;
    std::vector<uint32_t> slot0_;
    std::vector<uint32_t> l0_records_;
    std::unordered_map<uint64_t, uint32_t> upper_;  // node << 8 | layer -> record, overlaid
    std::vector<uint32_t> upper_records_;
    std::unordered_map<uint32_t, uint64_t> vec_changes_;

    mutable std::mutex visited_mutex_;
    mutable std::vector<std::unique_ptr<Visited>> visited_free_;
};

}  // namespace vstore::detail
