#include "exact_nearest.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "vstore/format/error.h"

namespace vstore::sql {

namespace {

// Eight partial sums in one vector (GCC's and clang's vector extension): one AVX register,
// or two SSE ones without -march=native.
constexpr size_t kLanes = 8;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

Lanes load(const float* p) {
    Lanes v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

float sum(Lanes v) {
    float total = 0;
    for (size_t j = 0; j < kLanes; ++j)
        total += v[j];
    return total;
}

float squared_l2(const float* a, const float* b, size_t n) {
    Lanes lanes = {};
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        const Lanes d = load(a + i) - load(b + i);
        lanes += d * d;
    }
    float total = sum(lanes);
    for (; i < n; ++i)
        total += (a[i] - b[i]) * (a[i] - b[i]);
    return total;
}

float dot(const float* a, const float* b, size_t n) {
    Lanes lanes = {};
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        lanes += load(a + i) * load(b + i);
    float total = sum(lanes);
    for (; i < n; ++i)
        total += a[i] * b[i];
    return total;
}

bool worse(const RowHit& a, const RowHit& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.row < b.row;
}

}  // namespace

ExactNearest::ExactNearest(std::span<const float> query, size_t k, format::Metric metric)
    : query_(query.begin(), query.end()), k_(k), metric_(metric) {
    for (size_t i = 0; i < query_.size(); ++i)
        if (!std::isfinite(query_[i]))
            throw Error::invalid_argument("compare_embedding: component " + std::to_string(i) +
                                          " is NaN or infinite");
    if (metric_ == format::Metric::kCosine) {
        const float norm = std::sqrt(dot(query_.data(), query_.data(), query_.size()));
        if (!(norm > 0) || !std::isfinite(norm))
            throw Error::invalid_argument(
                "compare_embedding: a vector of zero (or overflowing) length has no cosine "
                "distance");
        for (float& x : query_)
            x /= norm;
    }
}

float ExactNearest::distance(std::span<const float> v) const {
    const size_t n = query_.size();
    switch (metric_) {
        case format::Metric::kCosine: {
            const float norm = std::sqrt(dot(v.data(), v.data(), n));
            return 1.0f - dot(v.data(), query_.data(), n) / norm;
        }
        case format::Metric::kIp:
            return 1.0f - dot(v.data(), query_.data(), n);
        case format::Metric::kL2:
        default:
            return squared_l2(v.data(), query_.data(), n);
    }
}

bool ExactNearest::keeps(float distance) const {
    // A later row ties a kept one at the same distance and loses: strictly nearer is needed.
    return heap_.size() < k_ || distance < heap_.front().distance;
}

void ExactNearest::add(RowId&& id, float distance) {
    const uint64_t row = rows_++;
    if (!keeps(distance))
        return;
    RowHit hit{std::move(id), distance, row};
    if (heap_.size() < k_) {
        heap_.push_back(std::move(hit));
        std::push_heap(heap_.begin(), heap_.end(), worse);
    } else {
        std::pop_heap(heap_.begin(), heap_.end(), worse);
        heap_.back() = std::move(hit);
        std::push_heap(heap_.begin(), heap_.end(), worse);
    }
}

std::vector<RowHit> ExactNearest::take() {
    std::sort_heap(heap_.begin(), heap_.end(), worse);
    return std::move(heap_);
}

}  // namespace vstore::sql
