// The insides of a SearchFilter: the allowed live nodes of one loaded snapshot, as a list for
// the exact scan and as a bitset for the graph search. Internal to store/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vstore/store.h"

namespace vstore {

struct SearchFilter::Impl {
    uint64_t snapshot_serial = 0;  // Snapshot::Impl::serial of the snapshot that made it
    std::string domain, commit;
    uint64_t given = 0;
    std::vector<uint32_t> nodes;  // the allowed live nodes, ascending ordinals, each once
    std::vector<uint64_t> bits;   // the same nodes, bit `node` of the graph's ordinals
};

namespace detail {

// Whether a filtered search of `allowed` items of a commit of `live` items scans them exactly
// rather than searching the graph with breadth `ef` (spec/search.md, "Filtered search").
bool filter_scans_exactly(uint64_t allowed, uint64_t live, size_t k, size_t ef,
                          const StoreOptions& options);

}  // namespace detail

}  // namespace vstore
