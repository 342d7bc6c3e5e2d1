// The batched exact scan (exact_batch.h) and Snapshot::search_exact_batch.
//
// Two passes per query. The first, for all queries at once, computes every query-vector dot
// product with a register-blocked kernel (6 queries x 16 vectors, AVX2 FMA where the build has
// it, over tiles of vectors packed component-major as a BLAS sgemm packs its operand) and
// keeps, per query, the nodes with the smallest *lower bounds* of their distance; the
// second rescores those candidates with the metric's own distance function, the one
// search_exact uses, and keeps the k best by (distance, node ordinal) as search_exact does.
//
// Why the answer is exactly search_exact's. For a query q and vector x of dimension n, let
// d(x) be the distance search_exact computes and d'(x) the one the kernel's dot product gives
// (l2: |q|^2 + |x|^2 - 2 q.x; ip and cosine: 1 - q.x). Both are sums of n products computed
// in float, in whatever order, so each is within gamma_n = n u / (1 - n u) (u = 2^-24) of the
// real value, relative to the sum of the terms' magnitudes (Higham, "Accuracy and Stability
// of Numerical Algorithms", 3.1), plus a few roundings of the final additions. Hence
//   l2:         |d'(x) - d(x)| <= 2 gamma_(n+3) (|q| + |x|)^2
//   ip, cosine: |d'(x) - d(x)| <= 2 gamma_(n+2) (1 + |q| |x|)
// and e(x) = C (|q| + |x|)^2 (resp. C (1 + |q||x|)) with C = 4 (n + 8) u bounds it with a
// factor 2 to spare, which also covers the roundings of computing the bound itself; an
// absolute (n + 8) 2^-120 covers products that underflow. The first pass ranks nodes by
// lb(x) = d'(x) - e(x) <= d(x). Each thread keeps the `width` = k + margin nodes of smallest
// lb; every node it did not keep has lb >= T_t, the largest it kept once its list is full
// (kept lists only ever lower their largest entry). With T the smallest T_t of the full
// lists, every node that is no candidate has d >= lb >= T. If T > D_k, the k-th distance of
// the rescored candidates, every node outside is strictly farther than the k-th, so the
// candidates hold the whole top k, ties at D_k included. When T <= D_k (many vectors within
// the error bound of the k-th, such as duplicates) the query falls back to search_exact.
// Squared norms are below 2^125 (spec/vector-file.md, "Values"), so nothing overflows; a
// vector above that (written before the limit) sends the whole batch to search_exact.
#include "exact_batch.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <thread>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "snapshot_impl.h"
#include "vector_access.h"

namespace vstore::detail {

namespace {

constexpr size_t kQueriesPerKernel = 6;
constexpr size_t kVectorsPerKernel = 16;  // one panel: two AVX registers wide
constexpr size_t kLanes = 8;
// Live nodes gathered (checked, and packed into panels) at a time by one thread: 64 vectors of
// Fashion-MNIST's 784 dimensions are 200 KB, which stay in the 512 KB L2 cache while every
// block of queries passes over them (measured: 64 a little faster than 256).
constexpr size_t kTileVectors = 64;
// A thread's share of the live nodes is at least this many: fewer are not worth a thread.
constexpr size_t kNodesPerThread = 1024;
// Queries kept per thread in one pass over the vectors; more go in further passes, so that
// the candidate lists stay small whatever the batch.
constexpr size_t kQueriesPerPass = 4096;
// The bytes of a block of queries that passes over one panel.
constexpr size_t kQueryBlockBytes = 256 << 10;

size_t round_up(size_t n, size_t to) {
    return (n + to - 1) / to * to;
}

// Margin of candidates beyond k: the first pass must keep nodes down to a lower bound above
// the k-th distance; the bound's width is about 1e-4 of the distances for 784 dimensions.
size_t candidate_width(size_t k) {
    return k + 16 + k / 4;
}

float squared_norm_of(const float* v, size_t dim) {
    size_t i = 0;
    float sum = 0;
#if defined(__AVX2__) && defined(__FMA__)
    __m256 acc = _mm256_setzero_ps();
    for (; i + kLanes <= dim; i += kLanes) {
        const __m256 x = _mm256_loadu_ps(v + i);
        acc = _mm256_fmadd_ps(x, x, acc);
    }
    alignas(32) float lanes[kLanes];
    _mm256_store_ps(lanes, acc);
    for (float lane : lanes)
        sum += lane;
#endif
    for (; i < dim; ++i)
        sum += v[i] * v[i];
    return sum;
}

// The dot products of 6 queries (rows of `dim` floats, `dim` apart) with the 16 vectors of a
// panel (component i of vector c at panel[i * 16 + c]): out[r * 16 + c] = q_r . x_c. Each
// step broadcasts one component of each query against two registers of the panel: 12
// accumulators, 8 loads for 12 multiply-adds, the panel from L1 and the queries from L2.
void dot_6x16(const float* queries, const float* panel, size_t dim, float* out) {
#if defined(__AVX2__) && defined(__FMA__)
    // Twelve named accumulators: g++ 12 keeps an array of them on the stack.
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
    __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
    const float* q0 = queries;
    const float* q1 = q0 + dim;
    const float* q2 = q1 + dim;
    const float* q3 = q2 + dim;
    const float* q4 = q3 + dim;
    const float* q5 = q4 + dim;
    for (size_t i = 0; i < dim; ++i) {
        const __m256 x0 = _mm256_loadu_ps(panel + i * kVectorsPerKernel);
        const __m256 x1 = _mm256_loadu_ps(panel + i * kVectorsPerKernel + kLanes);
        __m256 b = _mm256_broadcast_ss(q0 + i);
        a00 = _mm256_fmadd_ps(b, x0, a00);
        a01 = _mm256_fmadd_ps(b, x1, a01);
        b = _mm256_broadcast_ss(q1 + i);
        a10 = _mm256_fmadd_ps(b, x0, a10);
        a11 = _mm256_fmadd_ps(b, x1, a11);
        b = _mm256_broadcast_ss(q2 + i);
        a20 = _mm256_fmadd_ps(b, x0, a20);
        a21 = _mm256_fmadd_ps(b, x1, a21);
        b = _mm256_broadcast_ss(q3 + i);
        a30 = _mm256_fmadd_ps(b, x0, a30);
        a31 = _mm256_fmadd_ps(b, x1, a31);
        b = _mm256_broadcast_ss(q4 + i);
        a40 = _mm256_fmadd_ps(b, x0, a40);
        a41 = _mm256_fmadd_ps(b, x1, a41);
        b = _mm256_broadcast_ss(q5 + i);
        a50 = _mm256_fmadd_ps(b, x0, a50);
        a51 = _mm256_fmadd_ps(b, x1, a51);
    }
    const __m256 rows[kQueriesPerKernel][2] = {{a00, a01}, {a10, a11}, {a20, a21},
                                               {a30, a31}, {a40, a41}, {a50, a51}};
    for (size_t r = 0; r < kQueriesPerKernel; ++r) {
        _mm256_storeu_ps(out + r * kVectorsPerKernel, rows[r][0]);
        _mm256_storeu_ps(out + r * kVectorsPerKernel + kLanes, rows[r][1]);
    }
#else
    std::fill(out, out + kQueriesPerKernel * kVectorsPerKernel, 0.0f);
    for (size_t i = 0; i < dim; ++i) {
        for (size_t r = 0; r < kQueriesPerKernel; ++r) {
            const float b = queries[r * dim + i];
            for (size_t c = 0; c < kVectorsPerKernel; ++c)
                out[r * kVectorsPerKernel + c] += b * panel[i * kVectorsPerKernel + c];
        }
    }
#endif
}

// A candidate of the first pass: the lower bound of its distance, and its node.
struct Candidate {
    float bound;
    uint32_t node;
    bool operator<(const Candidate& o) const {
        return bound < o.bound || (bound == o.bound && node < o.node);
    }
};

// The prepared queries of one pass, padded to whole kernels with zero queries that keep no
// candidates, and what the bound needs of each.
struct QueryPass {
    size_t count = 0;   // real queries
    size_t padded = 0;  // a multiple of kQueriesPerKernel
    std::vector<float> rows;
    std::vector<float> offset;  // lb = offset_q + offset_x - scale (q.x + C |q| |x|)
    std::vector<float> norm;    // |q|
};

// The metric's terms of lb (see the comment at the top of the file).
struct BoundTerms {
    float scale;     // 2 for l2, 1 for ip and cosine
    float c;         // C
    float absolute;  // for underflow
    bool l2;
};

// The node slots of a pass, handed out to the threads a chunk at a time, so that a thread the
// system runs less (a shared machine) takes fewer chunks instead of holding up the others.
class Chunks {
  public:
    explicit Chunks(uint32_t nodes) : nodes_(nodes) {}
    // The next [begin, end) of node slots, or false when none is left.
    bool next(uint32_t& begin, uint32_t& end) {
        const uint64_t first = next_.fetch_add(kChunkNodes, std::memory_order_relaxed);
        if (first >= nodes_)
            return false;
        begin = static_cast<uint32_t>(first);
        end = static_cast<uint32_t>(std::min<uint64_t>(nodes_, first + kChunkNodes));
        return true;
    }

  private:
    static constexpr uint64_t kChunkNodes = 4 * kTileVectors;
    uint64_t nodes_;
    std::atomic<uint64_t> next_{0};
};

// One thread's candidate lists for the queries of a pass, over the chunks of nodes it took.
class Worker {
  public:
    Worker(const GraphLayers& g, const VectorFile& f, uint64_t limit, const BoundTerms& terms,
           size_t width)
        : g_(g),
          file_(f),
          limit_(limit),
          terms_(terms),
          width_(width),
          dim_(g.header().dimension) {}

    // Scans the chunks it takes from `chunks` for every query of `pass`.
    void scan(const QueryPass& pass, Chunks& chunks) {
        lists_.assign(pass.count * width_, {});
        sizes_.assign(pass.count, 0);
        thresholds_.assign(pass.padded, -std::numeric_limits<float>::infinity());
        std::fill(thresholds_.begin(), thresholds_.begin() + pass.count,
                  std::numeric_limits<float>::infinity());
        if (file_.mode() == ServingMode::kMapped && file_.verifies_mapped())
            scan_with(pass, chunks, MappedVectors<true>(g_, file_, limit_, false));
        else if (file_.mode() == ServingMode::kMapped)
            scan_with(pass, chunks, MappedVectors<false>(g_, file_, limit_, false));
        else
            scan_with(pass, chunks, PooledVectors(g_, file_, limit_));
    }

    bool saw_oversized_vector() const { return oversized_; }
    // Query q's candidates, and the lower bound of every node this worker did not keep
    // (infinite when it kept all of its live nodes).
    std::span<const Candidate> candidates(size_t q) const {
        return {lists_.data() + q * width_, sizes_[q]};
    }
    float threshold(size_t q) const {
        return sizes_[q] == width_ ? lists_[q * width_].bound
                                   : std::numeric_limits<float>::infinity();
    }

  private:
    template <typename Vectors>
    void scan_with(const QueryPass& pass, Chunks& chunks, const Vectors& vectors) {
        constexpr bool kPooled = std::is_same_v<Vectors, PooledVectors>;
        if (kPooled)
            copy_.resize(dim_);
        packed_.assign(kTileVectors * dim_, 0.0f);
        size_t filled = 0;
        uint32_t begin = 0, end = 0;
        for (uint32_t node = 0;; ++node) {
            if (node == end) {
                if (!chunks.next(begin, end))
                    break;
                node = begin;
            }
            if (!g_.live(node))
                continue;
            const float* v;
            if constexpr (kPooled) {
                vectors.copy(node, copy_.data());
                v = copy_.data();
            } else {
                v = vectors.at(node);
            }
            add_to_tile(filled, node, v);
            if (++filled == kTileVectors) {
                scan_tile(pass, filled);
                filled = 0;
            }
        }
        if (filled > 0)
            scan_tile(pass, filled);
    }

    // Puts vector v of `node` at position j of the tile: its components into its panel, and
    // the terms of its bound.
    void add_to_tile(size_t j, uint32_t node, const float* v) {
        float* panel = packed_.data() + j / kVectorsPerKernel * kVectorsPerKernel * dim_;
        const size_t column = j % kVectorsPerKernel;
        for (size_t i = 0; i < dim_; ++i)
            panel[i * kVectorsPerKernel + column] = v[i];
        const float squared = squared_norm_of(v, dim_);
        if (!(squared <= 0x1p125f))
            oversized_ = true;
        tile_nodes_[j] = node;
        tile_offset_[j] = terms_.l2 ? (1 - terms_.c) * squared : 0.0f;
        tile_norm_[j] = std::sqrt(squared);
    }

    void scan_tile(const QueryPass& pass, size_t filled) {
        if (oversized_)
            return;  // the batch goes to search_exact
        const size_t padded = round_up(filled, kVectorsPerKernel);
        for (size_t j = filled; j < padded; ++j) {
            // Padding: a zero vector with an infinite bound, which no query keeps.
            const size_t column = j % kVectorsPerKernel;
            float* panel = packed_.data() + j / kVectorsPerKernel * kVectorsPerKernel * dim_;
            for (size_t i = 0; i < dim_; ++i)
                panel[i * kVectorsPerKernel + column] = 0;
            tile_offset_[j] = std::numeric_limits<float>::infinity();
            tile_norm_[j] = 0;
        }
        const size_t block =
            std::max<size_t>(kQueriesPerKernel, kQueryBlockBytes / (dim_ * sizeof(float)) /
                                                    kQueriesPerKernel * kQueriesPerKernel);
        alignas(32) float dots[kQueriesPerKernel * kVectorsPerKernel];
        for (size_t first = 0; first < pass.padded; first += block) {
            const size_t last = std::min(pass.padded, first + block);
            for (size_t j = 0; j < padded; j += kVectorsPerKernel) {
                const float* panel = packed_.data() + j * dim_;
                for (size_t q = first; q < last; q += kQueriesPerKernel) {
                    dot_6x16(pass.rows.data() + q * dim_, panel, dim_, dots);
                    for (size_t r = 0; r < kQueriesPerKernel; ++r)
                        keep_below_threshold(pass, q + r, j, dots + r * kVectorsPerKernel);
                }
            }
        }
    }

    // The bounds of query q against the panel at tile position j, from their dot products;
    // keeps those below the query's threshold.
    void keep_below_threshold(const QueryPass& pass, size_t q, size_t j, const float* dots) {
        const float offset = pass.offset[q];
        const float cq = terms_.c * pass.norm[q];
#if defined(__AVX2__) && defined(__FMA__)
        // A filter: the bounds computed here and below may differ in their last bits, and
        // either is a lower bound (the slack of C covers both), so a node either rejects is
        // rightly left out.
        const float threshold = thresholds_[q];
        unsigned below = 0;
        for (size_t half = 0; half < 2; ++half) {
            const size_t at = j + half * kLanes;
            const __m256 bound = _mm256_sub_ps(
                _mm256_add_ps(_mm256_set1_ps(offset), _mm256_loadu_ps(tile_offset_ + at)),
                _mm256_mul_ps(_mm256_set1_ps(terms_.scale),
                              _mm256_add_ps(_mm256_loadu_ps(dots + half * kLanes),
                                            _mm256_mul_ps(_mm256_set1_ps(cq),
                                                          _mm256_loadu_ps(tile_norm_ + at)))));
            below |= unsigned(_mm256_movemask_ps(
                         _mm256_cmp_ps(bound, _mm256_set1_ps(threshold), _CMP_LT_OQ)))
                     << (half * kLanes);
        }
        if (below == 0) [[likely]]
            return;
#endif
        for (size_t c = 0; c < kVectorsPerKernel; ++c) {
            const float bound =
                offset + tile_offset_[j + c] - terms_.scale * (dots[c] + cq * tile_norm_[j + c]);
            if (bound < thresholds_[q])
                keep(q, {bound, tile_nodes_[j + c]});
        }
    }

    // Adds a candidate to query q's list: a max-heap by bound of at most width_ entries.
    void keep(size_t q, Candidate candidate) {
        Candidate* list = lists_.data() + q * width_;
        size_t& size = sizes_[q];
        if (size < width_) {
            list[size++] = candidate;
            std::push_heap(list, list + size);
            if (size == width_)
                thresholds_[q] = list[0].bound;
            return;
        }
        std::pop_heap(list, list + size);
        list[size - 1] = candidate;
        std::push_heap(list, list + size);
        thresholds_[q] = list[0].bound;
    }

    const GraphLayers& g_;
    const VectorFile& file_;
    uint64_t limit_;
    BoundTerms terms_;
    size_t width_;
    size_t dim_;
    bool oversized_ = false;

    std::vector<Candidate> lists_;  // width_ per query
    std::vector<size_t> sizes_;
    std::vector<float> thresholds_;  // the largest bound kept once a list is full
    // The tile: its vectors in panels of kVectorsPerKernel, component-major within a panel.
    std::vector<float> packed_;
    uint32_t tile_nodes_[kTileVectors] = {};
    float tile_offset_[kTileVectors] = {};
    float tile_norm_[kTileVectors] = {};
    std::vector<float> copy_;  // pool mode: one vector, copied out of its page
};

// Runs fn(i) for i in [0, n) on n threads, the calling thread being one of them; the first
// exception thrown is rethrown here once every thread is done.
template <typename Fn>
void run_on_threads(size_t n, Fn fn) {
    std::vector<std::exception_ptr> errors(n);
    std::vector<std::thread> threads;
    for (size_t i = 1; i < n; ++i) {
        threads.emplace_back([&, i] {
            try {
                fn(i);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        });
    }
    try {
        fn(0);
    } catch (...) {
        errors[0] = std::current_exception();
    }
    for (auto& t : threads)
        t.join();
    for (const auto& e : errors) {
        if (e)
            std::rethrow_exception(e);
    }
}

}  // namespace

std::vector<std::vector<Neighbor>> search_exact_batch(const GraphSearch& search,
                                                      const GraphLayers& graph,
                                                      const VectorFile& file, const float* queries,
                                                      size_t count, size_t k, unsigned threads) {
    std::vector<std::vector<Neighbor>> out(count);
    const size_t dim = graph.header().dimension;
    const uint64_t live = graph.live_count();
    const size_t width = candidate_width(k);
    if (count == 0 || k == 0 || live == 0)
        return out;
    if (width >= live) {
        // Every live node is a candidate of every query: the batch saves nothing.
        for (size_t q = 0; q < count; ++q)
            out[q] = search.search_exact(queries + q * dim, k);
        return out;
    }
    const uint64_t limit = std::min(graph.header().vector_count, file.size());
    const bool l2 = graph.header().metric == format::Metric::kL2;
    const float u = 0x1p-24f;
    const BoundTerms terms{l2 ? 2.0f : 1.0f, 4.0f * float(dim + 8) * u, float(dim + 8) * 0x1p-120f,
                           l2};

    // A thread's share should be worth starting it for.
    const size_t thread_count = std::clamp<size_t>(live / kNodesPerThread, 1, threads);
    std::vector<Worker> workers;
    for (size_t t = 0; t < thread_count; ++t)
        workers.emplace_back(graph, file, limit, terms, width);
    constexpr uint64_t kScanAdviceBytes = 4 << 20;
    std::optional<VectorFile::ScanScope> scan;
    if (uint64_t{graph.size()} * file.layout().vector_bytes > kScanAdviceBytes)
        scan.emplace(file.scan_scope());

    for (size_t first = 0; first < count; first += kQueriesPerPass) {
        QueryPass pass;
        pass.count = std::min(kQueriesPerPass, count - first);
        pass.padded = round_up(pass.count, kQueriesPerKernel);
        pass.rows.assign(pass.padded * dim, 0.0f);
        pass.offset.assign(pass.padded, 0.0f);
        pass.norm.assign(pass.padded, 0.0f);
        for (size_t q = 0; q < pass.count; ++q) {
            const float* query = queries + (first + q) * dim;
            std::copy(query, query + dim, pass.rows.begin() + q * dim);
            const float squared = squared_norm_of(query, dim);
            pass.offset[q] = (l2 ? (1 - terms.c) * squared : 1 - terms.c) - terms.absolute;
            pass.norm[q] = std::sqrt(squared);
        }
        Chunks chunks(graph.size());
        run_on_threads(workers.size(), [&](size_t t) { workers[t].scan(pass, chunks); });
        const bool oversized = std::any_of(workers.begin(), workers.end(), [](const Worker& w) {
            return w.saw_oversized_vector();
        });

        // The second pass, each thread over every thread_count-th query.
        run_on_threads(workers.size(), [&](size_t t) {
            std::vector<std::pair<float, uint32_t>> rescored;  // (distance, node)
            for (size_t q = t; q < pass.count; q += workers.size()) {
                const float* query = queries + (first + q) * dim;
                std::vector<Neighbor>& answer = out[first + q];
                if (oversized) {
                    answer = search.search_exact(query, k);
                    continue;
                }
                float outside = std::numeric_limits<float>::infinity();
                rescored.clear();
                for (const Worker& w : workers) {
                    outside = std::min(outside, w.threshold(q));
                    for (const Candidate& c : w.candidates(q)) {
                        // Checked in mapped mode when the first pass read it.
                        const LoadedVec v = file.get(graph.vector_index(c.node));
                        rescored.emplace_back(search.distance(query, v.data()), c.node);
                    }
                }
                // Every list holds min(width, its live nodes), so there are at least k.
                std::partial_sort(rescored.begin(), rescored.begin() + k, rescored.end());
                if (!(outside > rescored[k - 1].first)) {
                    answer = search.search_exact(query, k);
                    continue;
                }
                answer.reserve(k);
                for (size_t i = 0; i < k; ++i)
                    answer.emplace_back(rescored[i].first, graph.key(rescored[i].second));
            }
        });
    }
    return out;
}

}  // namespace vstore::detail

namespace vstore {

std::vector<std::vector<SearchHit>> Snapshot::search_exact_batch(std::span<const float> queries,
                                                                 size_t k) const {
    const size_t dim = impl_->domain.dimension;
    if (queries.size() % dim != 0) {
        throw Error::invalid_argument("a batch of " + std::to_string(queries.size()) +
                                      " floats is no whole number of queries of domain '" +
                                      impl_->domain.name + "' (dimension " + std::to_string(dim) +
                                      ")");
    }
    const size_t count = queries.size() / dim;
    std::vector<float> prepared;
    prepared.reserve(queries.size());
    for (size_t q = 0; q < count; ++q) {
        try {
            const auto one = impl_->prepare_query(queries.subspan(q * dim, dim));
            prepared.insert(prepared.end(), one.begin(), one.end());
        } catch (const Error& e) {
            throw Error(e.code(), "query " + std::to_string(q) + " of the batch: " + e.message());
        }
    }
    const auto found =
        detail::search_exact_batch(*impl_->searcher, *impl_->graph, *impl_->file, prepared.data(),
                                   count, k, detail::thread_count(impl_->options.threads));
    std::vector<std::vector<SearchHit>> hits;
    hits.reserve(count);
    for (const auto& neighbors : found)
        hits.push_back(impl_->to_hits(neighbors));
    return hits;
}

}  // namespace vstore
