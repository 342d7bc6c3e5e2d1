// hnswlib 0.8 as a peer, from the headers npm package hnswlib-node vendors (tools/run-bench
// fetches it; CMake passes the directory holding its hnswlib.h). Without them every entry point
// says it is absent.
//
// hnswlib 0.6.2 (Debian's libhnswlib-dev, used by the vstore library and by peer_hnswlib.cpp)
// and 0.8 both declare `namespace hnswlib` with the same class and function names, so the
// templates of the two would be emitted as the same weak symbols and the linker would keep one
// of each, silently mixing the versions. This translation unit renames the namespace to
// hnswlib08 before including 0.8: none of its symbols is emitted under hnswlib::.
#include "peers.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

#ifdef VSTORE_BENCH_HAVE_HNSWLIB08
#define hnswlib hnswlib08
#include <hnswlib.h>  // 0.8's: the directory holding it is this file's include path only
#undef hnswlib
#endif

#ifndef VSTORE_BENCH_HNSWLIB08_PACKAGE
#define VSTORE_BENCH_HNSWLIB08_PACKAGE "hnswlib-node"
#endif

namespace bench {

#ifdef VSTORE_BENCH_HAVE_HNSWLIB08

// Stop conditions are new in 0.8: were 0.6.2's hnswlib.h found instead, this would not compile.
static_assert(sizeof(hnswlib08::BaseSearchStopCondition<float>) > 0,
              "peer_hnswlib08.cpp needs hnswlib 0.8's headers");

bool hnswlib08_available() {
    return true;
}

std::string hnswlib08_version() {
    return std::string("0.8.0 (npm ") + VSTORE_BENCH_HNSWLIB08_PACKAGE + ")";
}

struct Hnswlib08Index::Impl {
    std::unique_ptr<hnswlib08::SpaceInterface<float>> space;
    std::unique_ptr<hnswlib08::HierarchicalNSW<float>> index;
};

namespace {

std::unique_ptr<hnswlib08::SpaceInterface<float>> make_space(uint32_t dim, Metric metric) {
    if (metric == Metric::kL2)
        return std::make_unique<hnswlib08::L2Space>(dim);
    return std::make_unique<hnswlib08::InnerProductSpace>(dim);
}

}  // namespace

Hnswlib08Index::Hnswlib08Index() : impl_(std::make_unique<Impl>()) {}

Hnswlib08Index::Hnswlib08Index(uint32_t dim, Metric metric, size_t max_elements, size_t m,
                               size_t ef_construction, size_t seed)
    : impl_(std::make_unique<Impl>()) {
    impl_->space = make_space(dim, metric);
    impl_->index = std::make_unique<hnswlib08::HierarchicalNSW<float>>(
        impl_->space.get(), max_elements, m, ef_construction, seed);
}

std::unique_ptr<Hnswlib08Index> Hnswlib08Index::load(const std::string& path, uint32_t dim,
                                                     Metric metric) {
    std::unique_ptr<Hnswlib08Index> loaded(new Hnswlib08Index());
    loaded->impl_->space = make_space(dim, metric);
    loaded->impl_->index =
        std::make_unique<hnswlib08::HierarchicalNSW<float>>(loaded->impl_->space.get(), path);
    return loaded;
}

Hnswlib08Index::~Hnswlib08Index() = default;

void Hnswlib08Index::add(const std::vector<Item>& items, unsigned threads) {
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

void Hnswlib08Index::set_ef(size_t ef) {
    impl_->index->setEf(ef);
}

void Hnswlib08Index::search(const float* query, size_t k, std::vector<Hit>& out) const {
    auto found = impl_->index->searchKnn(query, k);
    out.resize(found.size());
    for (size_t i = found.size(); i-- > 0;) {
        out[i] = {found.top().second, found.top().first};
        found.pop();
    }
}

void Hnswlib08Index::save(const std::string& path) const {
    impl_->index->saveIndex(path);
}

TimedIndex<Hnswlib08Index> build_hnswlib08(const std::vector<Item>& items, uint32_t dim,
                                           Metric metric, unsigned threads) {
    const auto start = Clock::now();
    TimedIndex<Hnswlib08Index> built;
    built.index = std::make_unique<Hnswlib08Index>(dim, metric, items.size());
    built.index->add(items, threads);
    built.seconds = seconds_since(start);
    return built;
}

#else  // no hnswlib 0.8

namespace {
[[noreturn]] void absent() {
    throw std::logic_error(
        "vstore-bench was built without hnswlib 0.8 (tools/run-bench fetches npm hnswlib-node)");
}
}  // namespace

bool hnswlib08_available() {
    return false;
}
std::string hnswlib08_version() {
    return "";
}

struct Hnswlib08Index::Impl {};
Hnswlib08Index::Hnswlib08Index() {
    absent();
}
Hnswlib08Index::Hnswlib08Index(uint32_t, Metric, size_t, size_t, size_t, size_t) {
    absent();
}
std::unique_ptr<Hnswlib08Index> Hnswlib08Index::load(const std::string&, uint32_t, Metric) {
    absent();
}
Hnswlib08Index::~Hnswlib08Index() = default;
void Hnswlib08Index::add(const std::vector<Item>&, unsigned) {
    absent();
}
void Hnswlib08Index::set_ef(size_t) {
    absent();
}
void Hnswlib08Index::search(const float*, size_t, std::vector<Hit>&) const {
    absent();
}
void Hnswlib08Index::save(const std::string&) const {
    absent();
}
TimedIndex<Hnswlib08Index> build_hnswlib08(const std::vector<Item>&, uint32_t, Metric, unsigned) {
    absent();
}

#endif

}  // namespace bench
