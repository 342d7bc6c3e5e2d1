#include "exact_nearest.h"

#include <algorithm>
#include <cmath>

#include "vstore/format/error.h"

namespace vstore::sql {

namespace {

// Eight partial sums, which the compiler keeps in one vector register.
constexpr size_t kLanes = 8;

float squared_l2(const float* a, const float* b, size_t n) {
    float lanes[kLanes] = {};
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (size_t j = 0; j < kLanes; ++j) {
            const float d = a[i + j] - b[i + j];
            lanes[j] += d * d;
        }
    for (; i < n; ++i) {
        const float d = a[i] - b[i];
        lanes[0] += d * d;
    }
    float sum = 0;
    for (float lane : lanes)
        sum += lane;
    return sum;
}

float dot(const float* a, const float* b, size_t n) {
    float lanes[kLanes] = {};
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (size_t j = 0; j < kLanes; ++j)
            lanes[j] += a[i + j] * b[i + j];
    for (; i < n; ++i)
        lanes[0] += a[i] * b[i];
    float sum = 0;
    for (float lane : lanes)
        sum += lane;
    return sum;
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

bool ExactNearest::add(RowId&& id, std::span<const float> vector) {
    const float d = distance(vector);
    if (!std::isfinite(d))
        return false;
    const uint64_t row = rows_++;
    RowHit hit{std::move(id), d, row};
    if (heap_.size() < k_) {
        heap_.push_back(std::move(hit));
        std::push_heap(heap_.begin(), heap_.end(), worse);
    } else if (worse(hit, heap_.front())) {
        std::pop_heap(heap_.begin(), heap_.end(), worse);
        heap_.back() = std::move(hit);
        std::push_heap(heap_.begin(), heap_.end(), worse);
    }
    return true;
}

std::vector<RowHit> ExactNearest::take() {
    std::sort_heap(heap_.begin(), heap_.end(), worse);
    return std::move(heap_);
}

}  // namespace vstore::sql
