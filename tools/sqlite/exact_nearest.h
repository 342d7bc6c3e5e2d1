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
    uint64_t row;  // the order in which rows were added, which breaks ties: earlier rows first
};

class ExactNearest {
  public:
    // The distances of a vstore domain of `metric` (spec/search.md): squared L2 (as FAISS's
    // IndexFlatL2 reports it), 1 - cos or 1 - a.b. Error(kInvalidArgument) for a query with a
    // NaN or infinite component, or of zero length under cosine.
    ExactNearest(std::span<const float> query, size_t k, format::Metric metric);

    size_t dimension() const { return query_.size(); }
    // The distance of a row's vector, of dimension() components: not finite for a NaN or
    // infinite component, a value so large that the distance overflows, or a zero vector
    // under cosine.
    float distance(std::span<const float> vector) const;
    // Whether a row at `distance` would be among the k nearest so far (ties go to the rows
    // added first), so that a caller makes the row's id only for a row that is.
    bool keeps(float distance) const;
    // Adds the next row at `distance`, one that keeps() accepted or any other.
    void add(RowId&& id, float distance);
    // The k nearest rows added, ascending by distance, then by row.
    std::vector<RowHit> take();

  private:
    std::vector<float> query_;  // normalized under cosine
    size_t k_;
    format::Metric metric_;
    uint64_t rows_ = 0;         // added so far
    std::vector<RowHit> heap_;  // the k best so far, the worst at the top
};

}  // namespace vstore::sql
