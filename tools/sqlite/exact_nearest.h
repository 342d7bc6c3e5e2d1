// The k nearest of a stream of rows to one query, by brute force and in one pass, keeping only
// the k best: what vstore_agg computes over the rows a query selected, with no index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vstore/format/kinds.h"

namespace vstore::sql {

// An id as the table holds it: vstore_agg returns INTEGER ids as JSON numbers and TEXT ids as
// strings, as faiss_agg does.
struct RowId {
    bool is_integer = false;
    int64_t integer = 0;
    std::string text;
};

struct RowHit {
    RowId id;
    float distance;
    uint64_t row;  // the row's position in the stream, which breaks ties: earlier rows first
};

class ExactNearest {
  public:
    // The distances of a vstore domain of `metric` (spec/search.md): squared L2 (as FAISS's
    // IndexFlatL2 reports it), 1 - cos or 1 - a.b. Error(kInvalidArgument) for a query with a
    // NaN or infinite component, or of zero length under cosine.
    ExactNearest(std::span<const float> query, size_t k, format::Metric metric);

    size_t dimension() const { return query_.size(); }
    // Adds one row, whose vector has dimension() components; false, and nothing added, when
    // its distance is not a finite number (a NaN or infinite component, a value so large that
    // the distance overflows, a zero vector under cosine).
    bool add(RowId&& id, std::span<const float> vector);
    // The k nearest rows added, ascending by distance, then by row.
    std::vector<RowHit> take();
    uint64_t rows() const { return rows_; }

  private:
    float distance(std::span<const float> vector) const;

    std::vector<float> query_;  // normalized under cosine
    size_t k_;
    format::Metric metric_;
    uint64_t rows_ = 0;
    std::vector<RowHit> heap_;  // the k best so far, the worst at the top
};

}  // namespace vstore::sql
