// The peers vstore is measured against: hnswlib 0.6.2 used directly, FAISS when it is
// installed, and the two header-only peers tools/run-bench fetches from the npm registry when
// it can (hnswlib 0.8 from package hnswlib-node, usearch 2.26). Only peer_hnswlib.cpp includes
// hnswlib 0.6.2's headers, only peer_hnswlib08.cpp hnswlib 0.8's (in a namespace of its own),
// only peer_usearch.cpp usearch's and only peer_faiss.cpp FAISS's.
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

// ---- hnswlib 0.8 (the headers npm package hnswlib-node vendors) ---------------------------

bool hnswlib08_available();
std::string hnswlib08_version();  // "0.8.0 (npm hnswlib-node 3.0.0)"; "" when absent

// hnswlib 0.8's HierarchicalNSW<float> with L2Space or InnerProductSpace, as HnswlibIndex.
class Hnswlib08Index {
  public:
    Hnswlib08Index(uint32_t dim, Metric metric, size_t max_elements, size_t m = 16,
                   size_t ef_construction = 200, size_t seed = 100);
    static std::unique_ptr<Hnswlib08Index> load(const std::string& path, uint32_t dim,
                                                Metric metric);  // loadIndex
    ~Hnswlib08Index();
    Hnswlib08Index(const Hnswlib08Index&) = delete;
    Hnswlib08Index& operator=(const Hnswlib08Index&) = delete;

    void add(const std::vector<Item>& items, unsigned threads);  // addPoint on `threads`
    void set_ef(size_t ef);
    void search(const float* query, size_t k, std::vector<Hit>& out) const;
    void save(const std::string& path) const;  // saveIndex

  private:
    Hnswlib08Index();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- usearch 2.26 (npm package usearch, header-only C++) --------------------------------

bool usearch_available();
std::string usearch_version();  // "2.26.2"; "" when absent
std::string usearch_kernel();   // how its f32 distances are computed in this build

// usearch's index_dense_gt<uint64_t, uint32_t>: f32 vectors, metric l2sq (squared L2) or cos
// (1 - cos, for the cosine sets), connectivity M, expansion_add as ef_construction.
class UsearchIndex {
  public:
    UsearchIndex(uint32_t dim, Metric metric, size_t capacity, unsigned threads, size_t m = 16,
                 size_t expansion_add = 200);
    // view(): the saved file memory-mapped, searched in place.
    static std::unique_ptr<UsearchIndex> view(const std::string& path);
    ~UsearchIndex();
    UsearchIndex(const UsearchIndex&) = delete;
    UsearchIndex& operator=(const UsearchIndex&) = delete;

    void add(const std::vector<Item>& items, unsigned threads);  // add() on `threads` threads
    void set_ef(size_t ef);                                      // expansion_search
    // One query on this thread (usearch's thread slot 0: one searching thread at a time).
    void search(const float* query, size_t k, std::vector<Hit>& out) const;
    void save(const std::string& path) const;

  private:
    UsearchIndex();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Builds either npm peer from `items` on `threads` threads and times it (construction
// included, as for build_hnswlib).
template <typename Index>
struct TimedIndex {
    std::unique_ptr<Index> index;
    double seconds = 0;
};
TimedIndex<Hnswlib08Index> build_hnswlib08(const std::vector<Item>& items, uint32_t dim,
                                           Metric metric, unsigned threads);
TimedIndex<UsearchIndex> build_usearch(const std::vector<Item>& items, uint32_t dim, Metric metric,
                                       unsigned threads);

// A searcher over either npm peer (set_ef first).
template <typename Index>
SearchFn index_searcher(const Index& index, size_t k) {
    return [&index, k](const float* query, std::vector<Hit>& out) { index.search(query, k, out); };
}

}  // namespace bench
