// Snapshot: one loaded commit, searched in place (graph_layers.h, graph_search.h).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>

#include "snapshot_impl.h"
#include "vector_values.h"

namespace vstore {

using detail::kDefaultEf;
using detail::short_id;

// ---- Snapshot::Impl ----------------------------------------------------------------------

std::shared_ptr<const Snapshot> Snapshot::Impl::make(
    const CommitInfo& info, const DomainInfo& domain, const StoreOptions& options,
    std::shared_ptr<VectorFile> file, std::shared_ptr<const detail::GraphLayers> graph,
    std::shared_ptr<const detail::KeyIds> key_ids) {
    const format::GraphHeader& h = graph->header();
    if (h.dimension != domain.dimension || h.metric != domain.metric || h.m != domain.m) {
        throw Error::corruption("graph file '" + graph->name() + "' of commit '" + info.commit +
                                "' does not match the parameters of domain '" + domain.name +
                                "'");
    }
    if (h.vector_count > file->size()) {
        throw Error::corruption("graph file '" + graph->name() + "' refers to " +
                                std::to_string(h.vector_count) + " vectors; '" + file->path() +
                                "' holds " + std::to_string(file->size()));
    }
    static std::atomic<uint64_t> next_serial{1};
    auto impl = std::make_unique<Impl>();
    impl->serial = next_serial.fetch_add(1, std::memory_order_relaxed);
    impl->info = info;
    impl->domain = domain;
    impl->options = options;
    impl->file = std::move(file);
    impl->graph = std::move(graph);
    impl->key_ids = std::move(key_ids);
    impl->searcher = std::make_unique<detail::GraphSearch>(*impl->graph, *impl->file);
    return std::shared_ptr<const Snapshot>(new Snapshot(std::move(impl)));
}

std::vector<float> Snapshot::Impl::prepare_query(std::span<const float> query,
                                                 QueryOrigin origin) const {
    if (query.size() != domain.dimension) {
        throw Error::invalid_argument("query has " + std::to_string(query.size()) +
                                      " components; domain '" + domain.name + "' has " +
                                      std::to_string(domain.dimension));
    }
    std::vector<float> q(query.begin(), query.end());
    const double norm = detail::squared_norm(q);
    if (origin == QueryOrigin::kCaller ? !detail::within_norm_limit(norm) : !std::isfinite(norm))
        detail::refuse_vector("query", norm);
    if (domain.metric == Metric::kCosine) {
        if (norm == 0)
            throw Error::invalid_argument("a zero query has no cosine distance");
        detail::normalize(q, norm);
    }
    return q;
}

std::vector<SearchHit> Snapshot::Impl::to_hits(const std::vector<detail::Neighbor>& found) const {
    std::vector<uint64_t> keys;
    keys.reserve(found.size());
    for (const auto& [distance, key] : found)
        keys.push_back(key);
    std::vector<std::string> ids = key_ids->ids(keys);
    std::vector<SearchHit> hits;
    hits.reserve(found.size());
    for (size_t i = 0; i < found.size(); ++i)
        hits.push_back({std::move(ids[i]), found[i].first});
    return hits;
}

const std::unordered_map<uint64_t, uint32_t>& Snapshot::Impl::nodes_by_key() const {
    std::call_once(nodes_built_, [this] {
        const detail::GraphLayers& g = *graph;
        nodes_by_key_.reserve(g.live_count());
        for (uint32_t i = 0; i < g.size(); ++i) {
            if (g.live(i) && !nodes_by_key_.emplace(g.key(i), i).second) {
                throw Error::corruption("graph file '" + g.name() + "' has key " +
                                        std::to_string(g.key(i)) + " live twice");
            }
        }
    });
    return nodes_by_key_;
}

std::optional<uint32_t> Snapshot::Impl::node_of(const std::string& id) const {
    const auto key = key_ids->key(id);
    if (!key)
        return std::nullopt;
    const auto& nodes = nodes_by_key();
    auto it = nodes.find(*key);
    if (it == nodes.end())
        return std::nullopt;
    return it->second;
}

uint32_t Snapshot::Impl::live_node(const std::string& id) const {
    const auto node = node_of(id);
    if (!node) {
        throw Error::not_found("id '" + short_id(id) + "' is not live in commit '" + info.commit +
                               "' of domain '" + domain.name + "'");
    }
    return *node;
}

std::vector<std::pair<uint64_t, std::string>> Snapshot::Impl::live_ids() const {
    const detail::GraphLayers& g = *graph;
    std::vector<uint64_t> keys;
    keys.reserve(g.live_count());
    for (uint32_t i = 0; i < g.size(); ++i) {
        if (g.live(i))
            keys.push_back(g.key(i));
    }
    std::vector<std::string> ids = key_ids->ids(keys);
    std::vector<std::pair<uint64_t, std::string>> out;
    out.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i)
        out.emplace_back(keys[i], std::move(ids[i]));
    return out;
}

// ---- Snapshot ----------------------------------------------------------------------------

Snapshot::Snapshot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Snapshot::~Snapshot() = default;
const CommitInfo& Snapshot::info() const {
    return impl_->info;
}
const DomainInfo& Snapshot::domain() const {
    return impl_->domain;
}
uint64_t Snapshot::size() const {
    return impl_->graph->live_count();
}

std::vector<SearchHit> Snapshot::Impl::search_prepared(const std::vector<float>& query, size_t k,
                                                       size_t ef) const {
    const uint64_t live = graph->live_count();
    if (live <= options.exact_threshold || k >= live)
        return to_hits(searcher->search_exact(query.data(), k));
    return to_hits(searcher->search(query.data(), k, ef == 0 ? std::max(k, kDefaultEf) : ef));
}

std::vector<SearchHit> Snapshot::search(std::span<const float> query, size_t k, size_t ef) const {
    return impl_->search_prepared(impl_->prepare_query(query), k, ef);
}

std::vector<SearchHit> Snapshot::search_exact(std::span<const float> query, size_t k) const {
    const auto q = impl_->prepare_query(query);
    return impl_->to_hits(impl_->searcher->search_exact(q.data(), k));
}

std::vector<SearchHit> Snapshot::similar(const std::string& id, size_t k, size_t ef) const {
    const auto q = impl_->prepare_query(vector(id), Impl::QueryOrigin::kStored);
    auto hits = impl_->search_prepared(q, k + 1, ef == 0 ? 0 : ef + 1);
    std::erase_if(hits, [&](const SearchHit& h) { return h.id == id; });
    if (hits.size() > k)
        hits.resize(k);
    return hits;
}

std::vector<DuplicatePair> Snapshot::duplicates(float threshold) const {
    std::vector<DuplicatePair> pairs;
    std::set<std::pair<std::string, std::string>> seen;
    const size_t k = std::min<size_t>(size() - (size() > 0), 2 * impl_->domain.m);
    const auto scan = impl_->file->scan_scope();  // every live vector is a query
    const detail::GraphLayers& g = *impl_->graph;
    const auto live = impl_->live_ids();  // in node order
    size_t next = 0;
    for (uint32_t node = 0; node < g.size(); ++node) {
        if (!g.live(node))
            continue;
        const std::string& id = live[next++].second;
        const LoadedVec stored = impl_->file->get(g.vector_index(node));
        const auto q = impl_->prepare_query({stored.data(), stored.dimension()},
                                            Impl::QueryOrigin::kStored);
        for (const SearchHit& h : impl_->search_prepared(q, k + 1, 0)) {
            if (h.distance > threshold || h.id == id)
                continue;
            const auto& [a, b] = std::minmax(id, h.id);
            if (seen.emplace(a, b).second)
                pairs.push_back({a, b, h.distance});
        }
    }
    std::sort(pairs.begin(), pairs.end(), [](const DuplicatePair& x, const DuplicatePair& y) {
        return std::tie(x.distance, x.a, x.b) < std::tie(y.distance, y.a, y.b);
    });
    return pairs;
}

bool Snapshot::contains(const std::string& id) const {
    return impl_->node_of(id).has_value();
}

std::vector<float> Snapshot::vector(const std::string& id) const {
    const uint32_t node = impl_->live_node(id);
    const LoadedVec v = impl_->file->get(impl_->graph->vector_index(node));
    return {v.data(), v.data() + v.dimension()};
}

std::vector<std::string> Snapshot::ids() const {
    std::vector<std::string> out;
    for (auto& [key, id] : impl_->live_ids())
        out.push_back(std::move(id));
    std::sort(out.begin(), out.end());
    return out;
}

GraphCheck Snapshot::check_graph() const {
    const auto h = impl_->searcher->health();
    return {h.unreachable_live, h.links_to_removed};
}

}  // namespace vstore
