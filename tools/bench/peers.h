// The peers vstore is measured against: hnswlib used directly, and FAISS when it is installed.
// Only peer_hnswlib.cpp includes hnswlib's headers and only peer_faiss.cpp FAISS's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench.h"

namespace bench {

// hnswlib's HierarchicalNSW<float>, with L2Space (squared L2) or InnerProductSpace (1 - a.b,
// the cosine distance on unit vectors).
class HnswlibIndex {
  public:
    HnswlibIndex(uint32_t dim, Metric metric, size_t max_elements, size_t m = 16,
                 size_t ef_construction = 200, size_t seed = 100);
    static std::unique_ptr<HnswlibIndex> load(const std::string& path, uint32_t dim, Metric metric);
    ~HnswlibIndex();
    HnswlibIndex(const HnswlibIndex&) = delete;
    HnswlibIndex& operator=(const HnswlibIndex&) = delete;

    // addPoint of every item on `threads` threads.
    void add(const std::vector<Item>& items, unsigned threads);
    void mark_deleted(uint64_t label);
    void set_ef(size_t ef);
    void search(const float* query, size_t k, std::vector<Hit>& out) const;
    void save(const std::string& path) const;
    uint64_t deleted_count() const;
    uint64_t element_count() const;
    uint64_t memory_bytes() const;  // level 0, upper links, label map (estimate)

  private:
    HnswlibIndex();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Builds an hnswlib index of `items` (max_elements = capacity, or items.size()) and times it.
struct TimedHnswlib {
    std::unique_ptr<HnswlibIndex> index;
    double seconds = 0;
};
TimedHnswlib build_hnswlib(const std::vector<Item>& items, uint32_t dim, Metric metric,
                           unsigned threads, size_t capacity = 0);

SearchFn hnswlib_searcher(const HnswlibIndex& index, size_t k);

// ---- FAISS --------------------------------------------------------------------------------

bool faiss_available();
std::string faiss_version();
void faiss_set_threads(int threads);  // omp_set_num_threads

// IndexHNSWFlat (M, efConstruction as for the others). Labels are positions in `items`.
class FaissHnsw {
  public:
    FaissHnsw(const std::vector<Item>& items, uint32_t dim, size_t m, size_t ef_construction);
    ~FaissHnsw();
    void set_ef(size_t ef);
    void search(const float* query, size_t k, std::vector<Hit>& out) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// IndexFlatL2: exact search, one query at a time or a batch.
class FaissFlat {
  public:
    FaissFlat(const std::vector<Item>& items, uint32_t dim);
    ~FaissFlat();
    // n queries at `queries` (contiguous), k hits each into out[i].
    void search(uint64_t n, const float* queries, size_t k,
                std::vector<std::vector<Hit>>& out) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace bench
