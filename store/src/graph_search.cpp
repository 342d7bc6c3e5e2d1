#include "graph_search.h"

#include <algorithm>
#include <limits>
#include <queue>

#include "vector_access.h"
#include "vstore/format/error.h"

namespace vstore::detail {

namespace {

// Both queues order as hnswlib's searchBaseLayerST does: by distance alone.
struct CompareByFirst {
    bool operator()(const std::pair<float, uint32_t>& a,
                    const std::pair<float, uint32_t>& b) const noexcept {
        return a.first < b.first;
    }
};
using Entry = std::pair<float, uint32_t>;
using Queue = std::priority_queue<Entry, std::vector<Entry>, CompareByFirst>;

// Which nodes may enter a graph search's results. `every` says that all nodes may, which lets
// the beam stop at its bound before it holds ef results, as hnswlib's does without deletions.
struct LiveResults {
    const GraphLayers& g;
    bool every;
    bool accepts(uint32_t node) const { return every || g.live(node); }
};
// A filtered search's: the nodes of a bitset, the others navigating as tombstones do.
struct AllowedResults {
    const uint64_t* bits;
    static constexpr bool every = false;
    bool accepts(uint32_t node) const { return bits[node >> 6] >> (node & 63) & 1; }
};

}  // namespace

GraphSearch::GraphSearch(const GraphLayers& graph, const VectorFile& file)
    : graph_(graph),
      file_(file),
      distance_(graph.header().metric, graph.header().dimension),
      vector_limit_(std::min(graph.header().vector_count, file.size())) {}

template <typename Vectors, typename Results>
std::vector<Neighbor> GraphSearch::search_with(const Vectors& vectors, const Results& results,
                                               const float* query, size_t k, size_t ef) const {
    const GraphLayers& g = graph_;
    std::vector<Neighbor> out;
    if (g.live_count() == 0 || k == 0 || g.entry_point() < 0)
        return out;
    ef = std::max(ef, k);
    auto distance_to = [&](uint32_t node) { return vectors.distance(distance_, query, node); };

    uint32_t current = static_cast<uint32_t>(g.entry_point());
    float current_d = distance_to(current);
    for (int32_t level = g.max_level(); level > 0; --level) {
        bool changed = true;
        while (changed) {
            changed = false;
            for (uint32_t link : g.links(current, static_cast<uint32_t>(level))) {
                const float d = distance_to(g.checked(link));
                if (d < current_d) {
                    current_d = d;
                    current = link;
                    changed = true;
                }
            }
        }
    }

    // Layer 0: the beam search of hnswlib's searchBaseLayerST, with the vectors of a node's
    // unvisited neighbours prefetched before any of their distances is computed, so that the
    // loads overlap instead of following one another.
    auto visited_list = g.take_visited();
    struct GiveBack {
        const GraphLayers& g;
        std::unique_ptr<GraphLayers::Visited>& v;
        ~GiveBack() { g.give_back(std::move(v)); }
    } give_back{g, visited_list};
    uint16_t* visited = visited_list->marks.data();
    const uint16_t tag = visited_list->tag;
    const uint32_t max0 = g.max_degree(0);

    Queue top;       // the farthest of the best ef on top
    Queue frontier;  // negated distances: the nearest on top
    float bound = std::numeric_limits<float>::max();
    visited[current] = tag;
    frontier.emplace(-current_d, current);
    if (results.accepts(current)) {
        top.emplace(current_d, current);
        bound = current_d;
    }
    uint32_t batch[4096];  // 2M <= 4096
    while (!frontier.empty()) {
        const auto [negated_d, node] = frontier.top();
        if (-negated_d > bound && (top.size() == ef || results.every))
            break;
        frontier.pop();
        const uint32_t* record = g.list0(node);
        const uint32_t n = record[0];
        if (n > max0) [[unlikely]]
            g.bad_count(node, 0, n);
        // Three passes, so that the loads of each overlap: the visited marks and vector
        // indices of all neighbours, then the vectors of the unvisited ones, then distances.
        for (uint32_t j = 1; j <= n; ++j) {
            const uint32_t id = g.checked(record[j]);
            __builtin_prefetch(visited + id);
            g.prefetch_vector_index(id);
        }
        size_t gathered = 0;
        for (uint32_t j = 1; j <= n; ++j) {
            const uint32_t id = record[j];
            if (visited[id] == tag)
                continue;
            visited[id] = tag;
            vectors.prefetch(id);
            batch[gathered++] = id;
        }
        for (size_t j = 0; j < gathered; ++j) {
            const uint32_t id = batch[j];
            const float d = distance_to(id);
            if (top.size() < ef || d < bound) {
                frontier.emplace(-d, id);
                if (results.accepts(id))
                    top.emplace(d, id);
                if (top.size() > ef)
                    top.pop();
                if (!top.empty())
                    bound = top.top().first;
            }
        }
        if (!frontier.empty())
            __builtin_prefetch(g.list0(frontier.top().second));
    }
    while (top.size() > k)
        top.pop();
    out.resize(top.size());
    for (size_t i = top.size(); i-- > 0;) {
        out[i] = {top.top().first, g.key(top.top().second)};
        top.pop();
    }
    return out;
}

template <typename Results>
std::vector<Neighbor> GraphSearch::search_in_mode(const Results& results, const float* query,
                                                  size_t k, size_t ef) const {
    if (file_.mode() == ServingMode::kMapped) {
        const bool cold = searches_.fetch_add(1, std::memory_order_relaxed) < kColdSearches;
        if (file_.verifies_mapped())
            return search_with(MappedVectors<true>(graph_, file_, vector_limit_, cold), results,
                               query, k, ef);
        return search_with(MappedVectors<false>(graph_, file_, vector_limit_, cold), results,
                           query, k, ef);
    }
    return search_with(PooledVectors(graph_, file_, vector_limit_), results, query, k, ef);
}

std::vector<Neighbor> GraphSearch::search(const float* query, size_t k, size_t ef) const {
    return search_in_mode(LiveResults{graph_, graph_.live_count() == graph_.size()}, query, k,
                          ef);
}

std::vector<Neighbor> GraphSearch::search_allowed(const float* query, size_t k, size_t ef,
                                                  const uint64_t* allowed) const {
    return search_in_mode(AllowedResults{allowed}, query, k, ef);
}

namespace {

// The live nodes in ordinal order, for the scan of the whole commit.
struct LiveNodes {
    const GraphLayers& g;
    template <typename Visit>
    void each(const Visit& visit) const {
        for (uint32_t i = 0; i < g.size(); ++i) {
            if (g.live(i))
                visit(i);
        }
    }
};
// A filter's nodes. (Prefetching each vector a few nodes ahead measured within noise of none on
// Fashion-MNIST, so the scan leaves it to the hardware.)
struct ListedNodes {
    std::span<const uint32_t> nodes;
    template <typename Visit>
    void each(const Visit& visit) const {
        for (const uint32_t node : nodes)
            visit(node);
    }
};

}  // namespace

std::vector<Neighbor> GraphSearch::search_exact(const float* query, size_t k) const {
    return exact_over(query, k, graph_.size(), LiveNodes{graph_});
}

std::vector<Neighbor> GraphSearch::search_exact_among(const float* query, size_t k,
                                                      std::span<const uint32_t> nodes) const {
    return exact_over(query, k, nodes.size(), ListedNodes{nodes});
}

template <typename Nodes>
std::vector<Neighbor> GraphSearch::exact_over(const float* query, size_t k, uint64_t scanned,
                                              const Nodes& nodes) const {
    const GraphLayers& g = graph_;
    // A scan scope costs two madvise calls, which take the process's mapping lock: worth it
    // for a scan that faults in many pages, not for the small sets searched exactly by default.
    constexpr uint64_t kScanAdviceBytes = 4 << 20;
    std::optional<VectorFile::ScanScope> scan;
    if (scanned * file_.layout().vector_bytes > kScanAdviceBytes)
        scan.emplace(file_.scan_scope());
    // Ties in distance go to the smaller node ordinal, not the smaller key: a pack renumbers
    // keys but keeps the nodes' order (it only drops removed slots), so it answers as its
    // commit does (spec/search.md).
    std::priority_queue<Entry> top;  // (distance, ordinal): the farthest of the best k on top
    auto scan_with = [&](const auto& vectors) {
        nodes.each([&](uint32_t i) {
            const float d = vectors.distance(distance_, query, i);
            if (top.size() < k) {
                top.emplace(d, i);
            } else if (k > 0 && Entry(d, i) < top.top()) {
                top.pop();
                top.emplace(d, i);
            }
        });
    };
    if (file_.mode() == ServingMode::kMapped && file_.verifies_mapped())
        scan_with(MappedVectors<true>(g, file_, vector_limit_, false));
    else if (file_.mode() == ServingMode::kMapped)
        scan_with(MappedVectors<false>(g, file_, vector_limit_, false));
    else
        scan_with(PooledVectors(g, file_, vector_limit_));
    std::vector<Neighbor> out(top.size());
    for (size_t i = top.size(); i-- > 0;) {
        out[i] = {top.top().first, g.key(top.top().second)};
        top.pop();
    }
    return out;
}

GraphHealth GraphSearch::health() const {
    const GraphLayers& g = graph_;
    GraphHealth h;
    std::vector<uint8_t> seen(g.size(), 0);
    if (g.entry_point() >= 0) {
        std::vector<uint32_t> stack = {static_cast<uint32_t>(g.entry_point())};
        seen[stack.back()] = 1;
        while (!stack.empty()) {
            const uint32_t u = stack.back();
            stack.pop_back();
            for (uint32_t v : g.links(u, 0)) {
                if (!seen[g.checked(v)]) {
                    seen[v] = 1;
                    stack.push_back(v);
                }
            }
        }
    }
    for (uint32_t i = 0; i < g.size(); ++i) {
        if (g.flags(i) & format::kNodeRemoved)
            continue;
        if (!seen[i] && g.live(i))
            ++h.unreachable_live;
        for (uint32_t l = 0; l <= g.level(i); ++l) {
            for (uint32_t v : g.links(i, l)) {
                if (g.flags(g.checked(v)) & format::kNodeRemoved)
                    ++h.links_to_removed;
            }
        }
    }
    return h;
}

}  // namespace vstore::detail
