#include "vstore/search_many.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace vstore {
namespace {

std::string name_of(const Snapshot& s) {
    return "commit '" + s.info().commit + "' of domain '" + s.domain().name + "'";
}

// Refuses what cannot be merged: distances of different metrics or dimensions do not compare,
// and the same commit twice would answer each of its items twice.
void check_mergeable(std::span<const std::shared_ptr<const Snapshot>> snapshots) {
    if (snapshots.empty())
        throw Error::invalid_argument("search_many needs at least one snapshot to search");
    for (size_t i = 0; i < snapshots.size(); ++i) {
        if (!snapshots[i])
            throw Error::invalid_argument("search_many: snapshot " + std::to_string(i) +
                                          " is null");
    }
    const Snapshot& first = *snapshots[0];
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& snapshot : snapshots) {
        const Snapshot& s = *snapshot;
        if (s.domain().dimension != first.domain().dimension) {
            throw Error::invalid_argument(
                name_of(s) + " has " + std::to_string(s.domain().dimension) + " dimensions, but " +
                name_of(first) + " has " + std::to_string(first.domain().dimension) +
                "; search_many merges only domains of one dimension and metric");
        }
        if (s.domain().metric != first.domain().metric) {
            throw Error::invalid_argument(
                name_of(s) + " has metric " + std::string(format::metric_name(s.domain().metric)) +
                ", but " + name_of(first) + " has " +
                std::string(format::metric_name(first.domain().metric)) +
                "; search_many merges only domains of one dimension and metric");
        }
        if (!seen.emplace(s.domain().name, s.info().commit).second)
            throw Error::invalid_argument(name_of(s) + " is given twice to search_many");
    }
}

void check_filter_count(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                        std::span<const SearchFilter> filters) {
    if (filters.size() != snapshots.size()) {
        throw Error::invalid_argument("search_many: " + std::to_string(filters.size()) +
                                      " filters for " + std::to_string(snapshots.size()) +
                                      " snapshots; give one filter for each snapshot");
    }
}

// Each snapshot's own k nearest, merged: the k nearest of the union are among them.
// search(snapshot, i) answers snapshot i of the list.
template <typename Search>
std::vector<MultiHit> merge_nearest(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                    size_t k, const Search& search) {
    check_mergeable(snapshots);
    std::vector<MultiHit> all;
    for (size_t i = 0; i < snapshots.size(); ++i) {
        const std::string& domain = snapshots[i]->domain().name;
        const std::string& commit = snapshots[i]->info().commit;
        for (SearchHit& hit : search(*snapshots[i], i))
            all.push_back({domain, commit, std::move(hit.id), hit.distance});
    }
    const auto nearer = [](const MultiHit& a, const MultiHit& b) {
        return std::tie(a.distance, a.domain, a.id, a.commit) <
               std::tie(b.distance, b.domain, b.id, b.commit);
    };
    const size_t kept = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kept), all.end(),
                      nearer);
    all.resize(kept);
    return all;
}

}  // namespace

std::vector<MultiHit> search_many(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                  std::span<const float> query, size_t k, size_t ef) {
    return merge_nearest(snapshots, k,
                         [&](const Snapshot& s, size_t) { return s.search(query, k, ef); });
}

std::vector<MultiHit> search_many_exact(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                        std::span<const float> query, size_t k) {
    return merge_nearest(snapshots, k,
                         [&](const Snapshot& s, size_t) { return s.search_exact(query, k); });
}

std::vector<MultiHit> search_many(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                  std::span<const SearchFilter> filters,
                                  std::span<const float> query, size_t k, size_t ef) {
    check_filter_count(snapshots, filters);
    return merge_nearest(snapshots, k, [&](const Snapshot& s, size_t i) {
        return s.search(query, k, ef, filters[i]);
    });
}

std::vector<MultiHit> search_many_exact(std::span<const std::shared_ptr<const Snapshot>> snapshots,
                                        std::span<const SearchFilter> filters,
                                        std::span<const float> query, size_t k) {
    check_filter_count(snapshots, filters);
    return merge_nearest(snapshots, k, [&](const Snapshot& s, size_t i) {
        return s.search_exact(query, k, filters[i]);
    });
}

}  // namespace vstore
