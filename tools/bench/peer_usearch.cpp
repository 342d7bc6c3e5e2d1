// usearch 2.26 as a peer, from the C++ headers of npm package usearch (tools/run-bench fetches
// it; CMake passes the directory holding usearch/index_dense.hpp). Without them every entry
// point says it is absent.
//
// Its plain C++ path: NumKong, the SIMD kernel library the package also ships (SimSIMD's
// successor), is left out, because usearch reaches it only through NumKong's runtime dispatch,
// which needs NumKong's C sources compiled. usearch's own f32 loops are what remains; g++ does not
// vectorize their float reductions by itself (`#pragma GCC ivdep` allows no reassociation), so
// CMake (VSTORE_BENCH_USEARCH_OPENMP_SIMD, on by default) builds this file with
// USEARCH_USE_OPENMP=1 and -fopenmp-simd: usearch's `#pragma omp simd reduction` then
// vectorizes them. No OpenMP runtime is linked, and usearch's OpenMP executor is never used:
// the builds run on the bench's own threads as the other peers' do.
#include "peers.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#ifdef VSTORE_BENCH_HAVE_USEARCH
#include <usearch/index_dense.hpp>
#endif

namespace bench {

#ifdef VSTORE_BENCH_HAVE_USEARCH

static_assert(USEARCH_VERSION_MAJOR == 2 && USEARCH_VERSION_MINOR == 26,
              "peer_usearch.cpp is written for usearch 2.26");

namespace us = unum::usearch;
using UsearchDense = us::index_dense_gt<us::default_key_t, us::default_slot_t>;

bool usearch_available() {
    return true;
}

std::string usearch_version() {
    return std::to_string(USEARCH_VERSION_MAJOR) + "." + std::to_string(USEARCH_VERSION_MINOR) +
           "." + std::to_string(USEARCH_VERSION_PATCH);
}

std::string usearch_kernel() {
#if USEARCH_USE_NUMKONG
    return "NumKong";
#elif USEARCH_USE_OPENMP
    return "usearch's own f32 loops, vectorized by their `#pragma omp simd reduction` "
           "(USEARCH_USE_OPENMP=1 and -fopenmp-simd for this peer's file; no OpenMP runtime); "
           "no NumKong";
#else
    return "usearch's own f32 loops, scalar (g++ does not vectorize their float reductions "
           "without USEARCH_USE_OPENMP and -fopenmp-simd); no NumKong";
#endif
}

struct UsearchIndex::Impl {
    UsearchDense index;
};

namespace {

// usearch reports failures in error_t, which throws from its destructor unless released.
template <typename Result>
void check(Result& result, const char* what) {
    if (!result) {
        const std::string message = result.error.release();
        throw std::runtime_error(std::string("usearch ") + what + ": " + message);
    }
}

}  // namespace

UsearchIndex::UsearchIndex() : impl_(std::make_unique<Impl>()) {}

UsearchIndex::UsearchIndex(uint32_t dim, Metric metric, size_t capacity, unsigned threads, size_t m,
                           size_t expansion_add)
    : impl_(std::make_unique<Impl>()) {
    if (metric != Metric::kL2 && metric != Metric::kCosine)
        throw std::invalid_argument("usearch peer: l2 and cosine only");
    const us::metric_punned_t distance(
        dim, metric == Metric::kL2 ? us::metric_kind_t::l2sq_k : us::metric_kind_t::cos_k,
        us::scalar_kind_t::f32_k);
    us::index_dense_config_t config(m, expansion_add, 64);  // connectivity_base = 2 M
    auto made = UsearchDense::make(distance, config);
    check(made, "make");
    impl_->index = std::move(made.index);
    if (!impl_->index.try_reserve(us::index_limits_t(capacity, std::max(1u, threads))))
        throw std::runtime_error("usearch reserve failed");
}

std::unique_ptr<UsearchIndex> UsearchIndex::view(const std::string& path) {
    std::unique_ptr<UsearchIndex> viewed(new UsearchIndex());
    auto result = viewed->impl_->index.view(path.c_str());
    check(result, "view");
    return viewed;
}

UsearchIndex::~UsearchIndex() = default;

void UsearchIndex::add(const std::vector<Item>& items, unsigned threads) {
    auto& index = impl_->index;
    threads = std::max(1u, std::min<unsigned>(threads, index.limits().threads_add));
    auto add_one = [&index](const Item& item, size_t thread) {
        auto result = index.add(item.label, item.data, thread);
        check(result, "add");
    };
    if (threads == 1) {
        for (const Item& item : items)
            add_one(item, 0);
        return;
    }
    std::atomic<size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (size_t i = next++; i < items.size(); i = next++)
                    add_one(items[i], t);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure)
                    failure = std::current_exception();
                next = items.size();
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    if (failure)
        std::rethrow_exception(failure);
}

void UsearchIndex::set_ef(size_t ef) {
    impl_->index.change_expansion_search(ef);
}

void UsearchIndex::search(const float* query, size_t k, std::vector<Hit>& out) const {
    auto found = impl_->index.search(query, k, 0);
    check(found, "search");
    out.resize(found.size());
    for (size_t i = 0; i < found.size(); ++i) {
        const auto match = found[i];
        out[i] = {static_cast<uint64_t>(match.member.key), static_cast<float>(match.distance)};
    }
}

void UsearchIndex::save(const std::string& path) const {
    auto result = impl_->index.save(path.c_str());
    check(result, "save");
}

TimedIndex<UsearchIndex> build_usearch(const std::vector<Item>& items, uint32_t dim, Metric metric,
                                       unsigned threads) {
    const auto start = Clock::now();
    TimedIndex<UsearchIndex> built;
    built.index = std::make_unique<UsearchIndex>(dim, metric, items.size(), threads);
    built.index->add(items, threads);
    built.seconds = seconds_since(start);
    return built;
}

#else  // no usearch

namespace {
[[noreturn]] void absent() {
    throw std::logic_error(
        "vstore-bench was built without usearch (tools/run-bench fetches npm usearch)");
}
}  // namespace

bool usearch_available() {
    return false;
}
std::string usearch_version() {
    return "";
}
std::string usearch_kernel() {
    return "";
}

struct UsearchIndex::Impl {};
UsearchIndex::UsearchIndex() {
    absent();
}
UsearchIndex::UsearchIndex(uint32_t, Metric, size_t, unsigned, size_t, size_t) {
    absent();
}
std::unique_ptr<UsearchIndex> UsearchIndex::view(const std::string&) {
    absent();
}
UsearchIndex::~UsearchIndex() = default;
void UsearchIndex::add(const std::vector<Item>&, unsigned) {
    absent();
}
void UsearchIndex::set_ef(size_t) {
    absent();
}
void UsearchIndex::search(const float*, size_t, std::vector<Hit>&) const {
    absent();
}
void UsearchIndex::save(const std::string&) const {
    absent();
}
TimedIndex<UsearchIndex> build_usearch(const std::vector<Item>&, uint32_t, Metric, unsigned) {
    absent();
}

#endif

}  // namespace bench
