// The k nearest neighbours of a query over several commits at once, each of its own domain
// (seed 001: an index over several collections): every snapshot is searched for its own k
// nearest and the lists are merged into the k nearest of all.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vstore/store.h"
#include "vstore/format/export.h"

namespace vstore {

// One result of search_many: the item `id` of commit `commit` of domain `domain`.
struct MultiHit {
    std::string domain;
    std::string commit;
    std::string id;
    float distance;
    bool operator==(const MultiHit&) const = default;
};

// The k nearest live items over all `snapshots`, ascending by distance; equal distances are
// ordered by domain, then id, then commit, so that the answer never depends on the order of
// `snapshots`. Each snapshot answers as its own search(query, k, ef) does (exact for small
// sets, through its graph otherwise), so distances compare across them: they must share one
// dimension and one metric. Fewer than k hits when the snapshots hold fewer live items. Which
// of a snapshot's items tied at its own k-th distance it returns is its search's choice
// (spec/search.md); the merge orders what they return.
// Error(kInvalidArgument) for no snapshots, a null one, the same commit of a domain twice, two
// snapshots whose dimension or metric differ (naming both domains and commits), and for a
// query that search() refuses.
VSTORE_API std::vector<MultiHit> search_many(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                  std::span<const float> query, size_t k, size_t ef = 0);

// The same by brute force over exactly the live items of each snapshot (search_exact).
VSTORE_API std::vector<MultiHit> search_many_exact(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                        std::span<const float> query, size_t k);

// Both restricted to allowed ids: snapshot i answers search(query, k, ef, filters[i]) (or
// search_exact(query, k, filters[i])), filters[i] being one that snapshot made.
// Error(kInvalidArgument) as above, and for a number of filters other than of snapshots.
VSTORE_API std::vector<MultiHit> search_many(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                  std::span<const SearchFilter> filters,
                                  std::span<const float> query, size_t k, size_t ef = 0);
VSTORE_API std::vector<MultiHit> search_many_exact(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                        std::span<const SearchFilter> filters,
                                        std::span<const float> query, size_t k);

}  // namespace vstore
