// Filtered search: a set of allowed ids resolved once against a snapshot, then either an exact
// scan over just those items or the graph search with every other node navigating as a
// tombstone does (spec/search.md, "Filtered search").
#include "search_filter.h"

#include <bit>
#include <cmath>

#include "snapshot_impl.h"

namespace vstore {

SearchFilter::SearchFilter(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
uint64_t SearchFilter::size() const {
    return impl_->nodes.size();
}
uint64_t SearchFilter::given() const {
    return impl_->given;
}
const std::string& SearchFilter::domain() const {
    return impl_->domain;
}
const std::string& SearchFilter::commit() const {
    return impl_->commit;
}

namespace detail {

bool filter_scans_exactly(uint64_t allowed, uint64_t live, size_t k, size_t ef,
                          const StoreOptions& options) {
    // A graph search that cannot fill its beam with allowed nodes visits the whole graph.
    if (allowed <= options.exact_threshold || k >= allowed || ef >= allowed)
        return true;
    return double(allowed) <= options.filter_crossover * std::sqrt(double(ef) * double(live));
}

}  // namespace detail

SearchFilter Snapshot::filter(std::span<const std::string> allowed_ids) const {
    const detail::GraphLayers& g = *impl_->graph;
    auto f = std::make_shared<SearchFilter::Impl>();
    f->snapshot_serial = impl_->serial;
    f->domain = impl_->domain.name;
    f->commit = impl_->info.commit;
    f->given = allowed_ids.size();
    f->bits.assign((size_t{g.size()} + 63) / 64, 0);
    for (const std::string& id : allowed_ids) {
        if (const auto node = impl_->node_of(id))
            f->bits[*node >> 6] |= uint64_t{1} << (*node & 63);
    }
    for (size_t w = 0; w < f->bits.size(); ++w) {
        for (uint64_t word = f->bits[w]; word != 0; word &= word - 1)
            f->nodes.push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(word)));
    }
    return SearchFilter(std::move(f));
}

void Snapshot::Impl::check_filter(const SearchFilter::Impl& filter) const {
    if (filter.snapshot_serial != serial) {
        throw Error::invalid_argument(
            "the filter was made for commit '" + filter.commit + "' of domain '" + filter.domain +
            "', another snapshot than this one of commit '" + info.commit + "' of domain '" +
            domain.name + "': make it with this snapshot's filter()");
    }
}

std::vector<SearchHit> Snapshot::Impl::search_filtered(const std::vector<float>& query, size_t k,
                                                       size_t ef,
                                                       const SearchFilter::Impl& filter) const {
    const uint64_t allowed = filter.nodes.size();
    ef = std::max(k, ef == 0 ? detail::kDefaultEf : ef);
    if (detail::filter_scans_exactly(allowed, graph->live_count(), k, ef, options))
        return to_hits(searcher->search_exact_among(query.data(), k, filter.nodes));
    auto found = searcher->search_allowed(query.data(), k, ef, filter.bits.data());
    // The beam stops only once it holds ef >= k allowed nodes or has run out of reachable
    // ones: fewer than k means allowed nodes the entry point cannot reach, which the scan finds.
    if (found.size() < std::min<uint64_t>(k, allowed))
        found = searcher->search_exact_among(query.data(), k, filter.nodes);
    return to_hits(found);
}

std::vector<SearchHit> Snapshot::search(std::span<const float> query, size_t k, size_t ef,
                                        const SearchFilter& filter) const {
    impl_->check_filter(*filter.impl_);
    const auto q = impl_->prepare_query(query);
    return impl_->search_filtered(q, k, ef, *filter.impl_);
}

std::vector<SearchHit> Snapshot::search_exact(std::span<const float> query, size_t k,
                                              const SearchFilter& filter) const {
    impl_->check_filter(*filter.impl_);
    const auto q = impl_->prepare_query(query);
    return impl_->to_hits(impl_->searcher->search_exact_among(q.data(), k, filter.impl_->nodes));
}

}  // namespace vstore
