// Data sets, exact ground truth (cached on disk), recall and the timed query loop.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <queue>

#include "bench.h"
#include "vstore/format/error.h"
#include "vstore/format/idx_file.h"

namespace bench {

std::vector<Item> items_of(const Vectors& v, uint64_t first_row, uint64_t count,
                           uint64_t first_label) {
    std::vector<Item> items;
    const uint64_t end = count == UINT64_MAX ? v.rows : std::min(v.rows, first_row + count);
    items.reserve(end > first_row ? end - first_row : 0);
    for (uint64_t r = first_row; r < end; ++r)
        items.push_back({first_label + (r - first_row), v.row(r)});
    return items;
}

namespace {

Vectors from_idx(vstore::format::IdxMatrix&& m) {
    Vectors v;
    v.rows = m.rows;
    v.dim = m.columns;
    v.values = std::move(m.values);
    return v;
}

// splitmix64: a small, well-mixed generator; one stream per row keeps rows independent.
struct SplitMix {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return (next() >> 11) * 0x1.0p-53; }  // [0, 1)
    // Box-Muller; one value per call keeps the stream simple.
    float normal() {
        const double u1 = 1.0 - uniform();
        const double u2 = uniform();
        return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) *
                                  std::cos(6.283185307179586 * u2));
    }
};

// The clusters: centres and low-rank bases, from a fixed seed, shared by base and queries.
struct ClusterModel {
    static constexpr uint32_t kClusters = 1000;
    static constexpr uint32_t kLatent = 40;
    static constexpr float kSpread = 1.0f;  // scale of the low-rank part
    static constexpr float kNoise = 0.25f;  // isotropic noise per component
    uint32_t dim;
    std::vector<float> centres;  // kClusters * dim
    std::vector<float> bases;    // kClusters * dim * kLatent

    explicit ClusterModel(uint32_t d) : dim(d) {
        SplitMix rng{kSyntheticBaseSeed};
        centres.resize(size_t(kClusters) * dim);
        for (float& x : centres)
            x = rng.normal();
        bases.resize(size_t(kClusters) * dim * kLatent);
        const float scale = kSpread / std::sqrt(float(kLatent));
        for (float& x : bases)
            x = rng.normal() * scale;
    }

    void point(uint64_t seed, uint64_t row, float* out) const {
        SplitMix rng{seed * 0x2545F4914F6CDD1Dull + row * 0x9E3779B97F4A7C15ull + 1};
        const uint32_t cluster = static_cast<uint32_t>(rng.next() % kClusters);
        float z[kLatent];
        for (float& x : z)
            x = rng.normal();
        const float* centre = centres.data() + size_t(cluster) * dim;
        const float* basis = bases.data() + size_t(cluster) * dim * kLatent;
        for (uint32_t i = 0; i < dim; ++i) {
            float x = centre[i] + kNoise * rng.normal();
            for (uint32_t j = 0; j < kLatent; ++j)
                x += basis[size_t(i) * kLatent + j] * z[j];
            out[i] = x;
        }
    }
};

uint64_t mix_hash(uint64_t h, const void* data, size_t bytes) {
    const auto* p = static_cast<const uint8_t*>(data);
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    for (; i < bytes; ++i)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

}  // namespace

Vectors fashion_train(uint64_t rows) {
    return from_idx(
        vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_train_path(), rows));
}

Vectors fashion_test(uint64_t rows) {
    return from_idx(
        vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_test_path(), rows));
}

Vectors synthetic_vectors(uint64_t first_row, uint64_t rows, uint32_t dim, uint64_t seed,
                          bool normalized) {
    static const ClusterModel model(kSyntheticDim);
    if (dim != model.dim)
        throw std::invalid_argument("synthetic vectors have 128 dimensions");
    Vectors v;
    v.rows = rows;
    v.dim = dim;
    v.values.resize(rows * dim);
    parallel_for((rows + 4095) / 4096, 2, [&](uint64_t block) {
        for (uint64_t r = block * 4096; r < std::min(rows, (block + 1) * 4096); ++r) {
            float* out = v.row(r);
            model.point(seed, first_row + r, out);
            if (normalized) {
                double norm = 0;
                for (uint32_t i = 0; i < dim; ++i)
                    norm += double(out[i]) * out[i];
                const float inv = static_cast<float>(1.0 / std::sqrt(norm));
                for (uint32_t i = 0; i < dim; ++i)
                    out[i] *= inv;
            }
        }
    });
    return v;
}

float distance(Metric metric, const float* a, const float* b, uint32_t dim) {
    // Independent lanes so the compiler vectorizes without reassociating a single sum; size_t
    // indices so it knows the lanes are contiguous.
    constexpr size_t kLanes = 32;
    float lanes[kLanes] = {};
    size_t i = 0;
    float sum = 0;
    if (metric == Metric::kL2) {
        for (; i + kLanes <= dim; i += kLanes) {
            for (size_t j = 0; j < kLanes; ++j) {
                const float d = a[i + j] - b[i + j];
                lanes[j] += d * d;
            }
        }
        for (; i < dim; ++i)
            sum += (a[i] - b[i]) * (a[i] - b[i]);
        for (float x : lanes)
            sum += x;
        return sum;
    }
    for (; i + kLanes <= dim; i += kLanes) {
        for (size_t j = 0; j < kLanes; ++j)
            lanes[j] += a[i + j] * b[i + j];
    }
    for (; i < dim; ++i)
        sum += a[i] * b[i];
    for (float x : lanes)
        sum += x;
    return 1.0f - sum;
}

namespace {

GroundTruth brute_force(const std::vector<Item>& items, uint32_t dim, Metric metric,
                        const Vectors& queries, uint64_t query_count, uint32_t k,
                        unsigned threads) {
    GroundTruth truth;
    truth.k = k;
    truth.labels.assign(query_count * k, UINT64_MAX);
    truth.distances.assign(query_count * k, INFINITY);
    // Queries in groups, items in blocks that stay in cache while the group scans them.
    constexpr uint64_t kGroup = 8;
    const uint64_t block = std::max<uint64_t>(16, (256 * 1024) / (uint64_t(dim) * 4));
    parallel_for((query_count + kGroup - 1) / kGroup, threads, [&](uint64_t group) {
        const uint64_t q0 = group * kGroup, q1 = std::min(query_count, q0 + kGroup);
        std::vector<std::priority_queue<std::pair<float, uint64_t>>> best(q1 - q0);
        for (uint64_t b0 = 0; b0 < items.size(); b0 += block) {
            const uint64_t b1 = std::min<uint64_t>(items.size(), b0 + block);
            for (uint64_t q = q0; q < q1; ++q) {
                auto& heap = best[q - q0];
                const float* query = queries.row(q);
                for (uint64_t i = b0; i < b1; ++i) {
                    const float d = distance(metric, query, items[i].data, dim);
                    const std::pair<float, uint64_t> candidate{d, items[i].label};
                    if (heap.size() < k) {
                        heap.push(candidate);
                    } else if (candidate < heap.top()) {
                        heap.pop();
                        heap.push(candidate);
                    }
                }
            }
        }
        for (uint64_t q = q0; q < q1; ++q) {
            auto& heap = best[q - q0];
            for (size_t i = heap.size(); i-- > 0;) {
                truth.distances[q * k + i] = heap.top().first;
                truth.labels[q * k + i] = heap.top().second;
                heap.pop();
            }
        }
    });
    return truth;
}

constexpr char kTruthMagic[8] = {'V', 'S', 'B', 'G', 'T', '0', '0', '1'};

}  // namespace

std::optional<GroundTruth> load_truth(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    char magic[8];
    uint64_t stored_queries = 0;
    uint32_t stored_k = 0;
    in.read(magic, 8);
    in.read(reinterpret_cast<char*>(&stored_queries), 8);
    in.read(reinterpret_cast<char*>(&stored_k), 4);
    if (!in || std::memcmp(magic, kTruthMagic, 8) != 0 || stored_k == 0 ||
        stored_queries > (uint64_t(1) << 32))
        return std::nullopt;
    GroundTruth truth;
    truth.k = stored_k;
    truth.labels.resize(stored_queries * stored_k);
    truth.distances.resize(stored_queries * stored_k);
    in.read(reinterpret_cast<char*>(truth.labels.data()), truth.labels.size() * 8);
    in.read(reinterpret_cast<char*>(truth.distances.data()), truth.distances.size() * 4);
    if (!in)
        return std::nullopt;
    return truth;
}

void save_truth(const std::filesystem::path& path, const GroundTruth& truth) {
    if (path.has_parent_path())
        std::filesystem::create_directories(path.parent_path());
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        const uint64_t queries = truth.queries();
        out.write(kTruthMagic, 8);
        out.write(reinterpret_cast<const char*>(&queries), 8);
        out.write(reinterpret_cast<const char*>(&truth.k), 4);
        out.write(reinterpret_cast<const char*>(truth.labels.data()), truth.labels.size() * 8);
        out.write(reinterpret_cast<const char*>(truth.distances.data()),
                  truth.distances.size() * 4);
        if (!out)
            return;  // a cache that cannot be written is only slower next time
    }
    std::filesystem::rename(tmp, path);
}

void save_vectors(const std::filesystem::path& path, const Vectors& vectors) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&vectors.rows), 8);
    out.write(reinterpret_cast<const char*>(&vectors.dim), 4);
    out.write(reinterpret_cast<const char*>(vectors.values.data()),
              vectors.values.size() * sizeof(float));
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

Vectors load_vectors(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    Vectors v;
    in.read(reinterpret_cast<char*>(&v.rows), 8);
    in.read(reinterpret_cast<char*>(&v.dim), 4);
    if (!in || v.dim == 0 || v.rows > (uint64_t(1) << 32))
        throw std::runtime_error("cannot read " + path.string());
    v.values.resize(v.rows * v.dim);
    in.read(reinterpret_cast<char*>(v.values.data()), v.values.size() * sizeof(float));
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    return v;
}

Vectors tail_rows(const Vectors& v, uint64_t count) {
    count = std::min(count, v.rows);
    Vectors tail;
    tail.rows = count;
    tail.dim = v.dim;
    tail.values.assign(v.row(v.rows - count), v.row(v.rows - count) + count * v.dim);
    return tail;
}

GroundTruth exact_ground_truth(const Config& config, const std::string& what,
                               const std::vector<Item>& items, uint32_t dim, Metric metric,
                               const Vectors& queries, uint64_t query_count, uint32_t k) {
    query_count = std::min(query_count, queries.rows);
    uint64_t key = 0xCBF29CE484222325ull;
    const uint64_t header[4] = {dim, static_cast<uint64_t>(metric), k, items.size()};
    key = mix_hash(key, header, sizeof header);
    for (const Item& item : items) {
        key = mix_hash(key, &item.label, 8);
        key = mix_hash(key, item.data, dim * sizeof(float));
    }
    key = mix_hash(key, queries.values.data(), query_count * dim * sizeof(float));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
    std::string name;
    for (char c : what)
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
    const auto path = config.cache_dir / ("truth-" + name + "-" + hex + ".bin");
    if (auto cached = load_truth(path);
        cached && cached->k == k && cached->queries() == query_count)
        return *cached;
    const auto start = Clock::now();
    GroundTruth truth = brute_force(items, dim, metric, queries, query_count, k, config.threads);
    progress("truth", what + ": " + with_commas(query_count) + " queries over " +
                          with_commas(items.size()) + " items by exact search in " +
                          fixed(seconds_since(start), 1) + " s (cached in " +
                          config.cache_dir.string() + ")");
    save_truth(path, truth);
    return truth;
}

double recall_of(const GroundTruth& truth, uint64_t query, std::span<const Hit> hits) {
    const uint64_t* labels = truth.labels.data() + query * truth.k;
    const float kth = truth.distances[query * truth.k + truth.k - 1];
    const float limit = kth + std::abs(kth) * 1e-5f + 1e-6f;
    uint32_t found = 0;
    for (size_t i = 0; i < hits.size() && i < truth.k; ++i) {
        if (std::find(labels, labels + truth.k, hits[i].label) != labels + truth.k ||
            hits[i].distance <= limit)
            ++found;
    }
    return double(found) / truth.k;
}

double min_measure_seconds = 0.5;

SearchRun run_queries(const Vectors& queries, uint64_t count, const GroundTruth& truth,
                      const SearchFn& search, uint64_t warmup) {
    count = std::min(count, truth.queries());
    std::vector<Hit> scratch;
    for (uint64_t q = 0; q < std::min(warmup, count); ++q)
        search(queries.row(q), scratch);
    std::vector<std::vector<Hit>> answers(count);
    for (auto& a : answers)
        a.reserve(truth.k);
    const auto start = Clock::now();
    uint64_t searched = 0;
    do {
        for (uint64_t q = 0; q < count; ++q)
            search(queries.row(q), answers[q]);
        searched += count;
    } while (count > 0 && seconds_since(start) < min_measure_seconds);
    const double seconds = seconds_since(start);
    double recall = 0;
    for (uint64_t q = 0; q < count; ++q)
        recall += recall_of(truth, q, answers[q]);
    return {count == 0 ? 0 : recall / count, searched / seconds, count};
}

QpsAtRecall qps_at_recall(const Curve& curve, double recall) {
    for (size_t i = 0; i < curve.size(); ++i) {
        if (curve[i].recall < recall)
            continue;
        if (i == 0)
            return {curve[0].qps, true};
        const CurvePoint& lo = curve[i - 1];
        const CurvePoint& hi = curve[i];
        const double t = (recall - lo.recall) / (hi.recall - lo.recall);
        return {std::exp(std::log(lo.qps) + t * (std::log(hi.qps) - std::log(lo.qps))), false};
    }
    return {};
}

}  // namespace bench
