// hnswlib used directly, as a user of libhnswlib-dev would: the peer of vstore's graph search.
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <thread>

#include "peers.h"

namespace bench {

struct HnswlibIndex::Impl {
    std::unique_ptr<hnswlib::SpaceInterface<float>> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

namespace {

std::unique_ptr<hnswlib::SpaceInterface<float>> make_space(uint32_t dim, Metric metric) {
    if (metric == Metric::kL2)
        return std::make_unique<hnswlib::L2Space>(dim);
    return std::make_unique<hnswlib::InnerProductSpace>(dim);
}

}  // namespace

HnswlibIndex::HnswlibIndex() : impl_(std::make_unique<Impl>()) {}

HnswlibIndex::HnswlibIndex(uint32_t dim, Metric metric, size_t max_elements, size_t m,
                           size_t ef_construction, size_t seed)
    : impl_(std::make_unique<Impl>()) {
    impl_->space = make_space(dim, metric);
    impl_->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        impl_->space.get(), max_elements, m, ef_construction, seed);
}

std::unique_ptr<HnswlibIndex> HnswlibIndex::load(const std::string& path, uint32_t dim,
                                                 Metric metric) {
    std::unique_ptr<HnswlibIndex> loaded(new HnswlibIndex());
    loaded->impl_->space = make_space(dim, metric);
    loaded->impl_->index =
        std::make_unique<hnswlib::HierarchicalNSW<float>>(loaded->impl_->space.get(), path);
    return loaded;
}

HnswlibIndex::~HnswlibIndex() = default;

void HnswlibIndex::add(const std::vector<Item>& items, unsigned threads) {
    auto& index = *impl_->index;
    threads = std::max(1u, threads);
    if (threads == 1) {
        for (const Item& item : items)
            index.addPoint(item.data, item.label);
        return;
    }
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (size_t i = next++; i < items.size(); i = next++)
                index.addPoint(items[i].data, items[i].label);
        });
    }
    for (auto& worker : workers)
        worker.join();
}

void HnswlibIndex::mark_deleted(uint64_t label) {
    impl_->index->markDelete(label);
}

void HnswlibIndex::set_ef(size_t ef) {
    impl_->index->setEf(ef);
}

void HnswlibIndex::search(const float* query, size_t k, std::vector<Hit>& out) const {
    auto found = impl_->index->searchKnn(query, k);
    out.resize(found.size());
    for (size_t i = found.size(); i-- > 0;) {
        out[i] = {found.top().second, found.top().first};
        found.pop();
    }
}

void HnswlibIndex::save(const std::string& path) const {
    impl_->index->saveIndex(path);
}

uint64_t HnswlibIndex::deleted_count() const {
    return impl_->index->num_deleted_;
}

uint64_t HnswlibIndex::element_count() const {
    return impl_->index->cur_element_count;
}

uint64_t HnswlibIndex::memory_bytes() const {
    const auto& ix = *impl_->index;
    uint64_t bytes = ix.max_elements_ * (ix.size_data_per_element_ + sizeof(void*) + sizeof(int));
    for (size_t i = 0; i < ix.cur_element_count; ++i)
        bytes += ix.element_levels_[i] * ix.size_links_per_element_;
    return bytes + ix.label_lookup_.size() * 32;
}

TimedHnswlib build_hnswlib(const std::vector<Item>& items, uint32_t dim, Metric metric,
                           unsigned threads, size_t capacity) {
    const auto start = Clock::now();
    TimedHnswlib built;
    built.index = std::make_unique<HnswlibIndex>(dim, metric, std::max(capacity, items.size()));
    built.index->add(items, threads);
    built.seconds = seconds_since(start);
    return built;
}

SearchFn hnswlib_searcher(const HnswlibIndex& index, size_t k) {
    return [&index, k](const float* query, std::vector<Hit>& out) { index.search(query, k, out); };
}

}  // namespace bench
