// FAISS (Debian's libfaiss-dev) as a peer, when CMake found it: IndexHNSWFlat for graph
// search, IndexFlatL2 for exact search. Without it every entry point says it is absent.
#include "peers.h"

#include <stdexcept>

#ifdef VSTORE_BENCH_HAVE_FAISS
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <omp.h>
#endif

namespace bench {

#ifdef VSTORE_BENCH_HAVE_FAISS

namespace {

// FAISS wants the vectors contiguous; positions are its labels, mapped back to ours.
std::vector<float> contiguous(const std::vector<Item>& items, uint32_t dim,
                              std::vector<uint64_t>& labels) {
    std::vector<float> values(items.size() * dim);
    labels.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        std::copy(items[i].data, items[i].data + dim, values.begin() + i * dim);
        labels[i] = items[i].label;
    }
    return values;
}

}  // namespace

bool faiss_available() {
    return true;
}

std::string faiss_version() {
    return std::to_string(FAISS_VERSION_MAJOR) + "." + std::to_string(FAISS_VERSION_MINOR) + "." +
           std::to_string(FAISS_VERSION_PATCH);
}

void faiss_set_threads(int threads) {
    omp_set_num_threads(threads);
}

struct FaissHnsw::Impl {
    std::unique_ptr<faiss::IndexHNSWFlat> index;
    std::vector<uint64_t> labels;
};

FaissHnsw::FaissHnsw(const std::vector<Item>& items, uint32_t dim, size_t m, size_t ef_construction)
    : impl_(std::make_unique<Impl>()) {
    impl_->index =
        std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(dim), static_cast<int>(m));
    impl_->index->hnsw.efConstruction = static_cast<int>(ef_construction);
    const auto values = contiguous(items, dim, impl_->labels);
    impl_->index->add(static_cast<faiss::Index::idx_t>(items.size()), values.data());
}

FaissHnsw::~FaissHnsw() = default;

void FaissHnsw::set_ef(size_t ef) {
    impl_->index->hnsw.efSearch = static_cast<int>(ef);
}

void FaissHnsw::search(const float* query, size_t k, std::vector<Hit>& out) const {
    std::vector<float> distances(k);
    std::vector<faiss::Index::idx_t> positions(k);
    impl_->index->search(1, query, static_cast<faiss::Index::idx_t>(k), distances.data(),
                         positions.data());
    out.clear();
    for (size_t i = 0; i < k; ++i) {
        if (positions[i] >= 0)
            out.push_back({impl_->labels[positions[i]], distances[i]});
    }
}

struct FaissFlat::Impl {
    std::unique_ptr<faiss::IndexFlatL2> index;
    std::vector<uint64_t> labels;
};

FaissFlat::FaissFlat(const std::vector<Item>& items, uint32_t dim)
    : impl_(std::make_unique<Impl>()) {
    impl_->index = std::make_unique<faiss::IndexFlatL2>(static_cast<faiss::Index::idx_t>(dim));
    const auto values = contiguous(items, dim, impl_->labels);
    impl_->index->add(static_cast<faiss::Index::idx_t>(items.size()), values.data());
}

FaissFlat::~FaissFlat() = default;

void FaissFlat::search(uint64_t n, const float* queries, size_t k,
                       std::vector<std::vector<Hit>>& out) const {
    std::vector<float> distances(n * k);
    std::vector<faiss::Index::idx_t> positions(n * k);
    impl_->index->search(static_cast<faiss::Index::idx_t>(n), queries,
                         static_cast<faiss::Index::idx_t>(k), distances.data(), positions.data());
    out.resize(n);
    for (uint64_t q = 0; q < n; ++q) {
        out[q].clear();
        for (size_t i = 0; i < k; ++i) {
            const faiss::Index::idx_t p = positions[q * k + i];
            if (p >= 0)
                out[q].push_back({impl_->labels[p], distances[q * k + i]});
        }
    }
}

#else  // no FAISS

namespace {
[[noreturn]] void absent() {
    throw std::logic_error("vstore-bench was built without FAISS (install libfaiss-dev)");
}
}  // namespace

bool faiss_available() {
    return false;
}
std::string faiss_version() {
    return "";
}
void faiss_set_threads(int) {}

struct FaissHnsw::Impl {};
FaissHnsw::FaissHnsw(const std::vector<Item>&, uint32_t, size_t, size_t) {
    absent();
}
FaissHnsw::~FaissHnsw() = default;
void FaissHnsw::set_ef(size_t) {
    absent();
}
void FaissHnsw::search(const float*, size_t, std::vector<Hit>&) const {
    absent();
}

struct FaissFlat::Impl {};
FaissFlat::FaissFlat(const std::vector<Item>&, uint32_t) {
    absent();
}
FaissFlat::~FaissFlat() = default;
void FaissFlat::search(uint64_t, const float*, size_t, std::vector<std::vector<Hit>>&) const {
    absent();
}

#endif

}  // namespace bench
