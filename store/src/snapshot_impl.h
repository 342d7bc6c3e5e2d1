// Internal to store/: the insides of a loaded commit, shared by the store and by packs, and
// small helpers both use.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "graph_layers.h"
#include "graph_search.h"
#include "vstore/store.h"

namespace vstore {

namespace detail {

// The search breadth of a search given ef = 0 (Snapshot::search, the filtered search), before
// it is raised to k.
inline constexpr size_t kDefaultEf = 64;

inline uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

inline std::string short_id(const std::string& id) {
    return id.size() <= 80 ? id : id.substr(0, 77) + "...";
}

inline unsigned thread_count(unsigned requested) {
    return requested != 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
}

// The seed of a commit's random levels: a function of the commit id, so a rebuild of the same
// batch on the same parent gives the same graph.
inline uint64_t commit_seed(const std::string& domain, const std::string& commit) {
    return std::hash<std::string>{}(domain + '\0' + commit) | 1;
}

// The external ids of a domain's keys, and back. Keys are interned for ever, so what a
// KeyIds answers never changes and may be cached across commits.
class KeyIds {
  public:
    virtual ~KeyIds() = default;
    // The ids of `keys`, in order; Error(kCorruption) for a key that has none.
    virtual std::vector<std::string> ids(std::span<const uint64_t> keys) const = 0;
    virtual std::optional<uint64_t> key(const std::string& id) const = 0;
};

}  // namespace detail

struct Snapshot::Impl {
    // Unique to this loaded snapshot in the process: a SearchFilter names the one it serves.
    uint64_t serial = 0;
    CommitInfo info;
    DomainInfo domain;
    StoreOptions options;
    std::shared_ptr<VectorFile> file;  // keeps the vectors alive while the graph uses them
    std::shared_ptr<const detail::GraphLayers> graph;
    std::unique_ptr<detail::GraphSearch> searcher;  // over graph and file
    std::shared_ptr<const detail::KeyIds> key_ids;

    // The one way a Snapshot is made, for stores and packs alike.
    static std::shared_ptr<const Snapshot> make(const CommitInfo& info, const DomainInfo& domain,
                                                const StoreOptions& options,
                                                std::shared_ptr<VectorFile> file,
                                                std::shared_ptr<const detail::GraphLayers> graph,
                                                std::shared_ptr<const detail::KeyIds> key_ids);

    // A query checked (dimension, finite, the norm limit) and normalized for cosine. A vector
    // of this commit (similar, duplicates) skips the norm limit: a store written before the
    // limit may hold larger ones, whose distances it still reports.
    enum class QueryOrigin { kCaller, kStored };
    std::vector<float> prepare_query(std::span<const float> query,
                                     QueryOrigin origin = QueryOrigin::kCaller) const;
    // Search with a prepared query: exact when the live set is small or k reaches it.
    std::vector<SearchHit> search_prepared(const std::vector<float>& query, size_t k,
                                           size_t ef) const;
    std::vector<SearchHit> to_hits(const std::vector<detail::Neighbor>& found) const;

    // Error(kInvalidArgument) for a filter another snapshot made (search_filter.cpp).
    void check_filter(const SearchFilter::Impl& filter) const;
    // Filtered search with a prepared query and a checked filter (search_filter.cpp).
    std::vector<SearchHit> search_filtered(const std::vector<float>& query, size_t k, size_t ef,
                                           const SearchFilter::Impl& filter) const;

    // The live node of `id`, if it has one in this commit.
    std::optional<uint32_t> node_of(const std::string& id) const;
    // The same, or Error(kNotFound) naming the id, commit and domain.
    uint32_t live_node(const std::string& id) const;
    // Every live (key, id), in node order: one catalog read for all of them.
    std::vector<std::pair<uint64_t, std::string>> live_ids() const;

  private:
    // key -> node of the live nodes, built on first use: a commit opened to search never
    // needs it.
    const std::unordered_map<uint64_t, uint32_t>& nodes_by_key() const;
    mutable std::once_flag nodes_built_;
    mutable std::unordered_map<uint64_t, uint32_t> nodes_by_key_;
};

}  // namespace vstore
