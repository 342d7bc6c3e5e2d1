// The two enumerations the public API shares with the file formats: a domain's metric (the
// graph file's `metric` field, spec/graph-file.md) and a graph file's kind (full or delta).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include "vstore/format/export.h"

namespace vstore::format {

enum class Metric : uint32_t {
    kL2 = 1,      // squared Euclidean distance
    kCosine = 2,  // 1 - cos(a, b); vectors are stored normalized
    kIp = 3,      // 1 - a.b
};

VSTORE_API std::string_view metric_name(Metric metric);                    // "l2", "cosine", "ip"
VSTORE_API std::optional<Metric> metric_from_name(std::string_view name);  // nullopt if unknown

enum class GraphKind : uint32_t {
    kFull = 1,   // every node and list; searched in place from a mapping
    kDelta = 2,  // the differences from a base graph file (full or delta)
};
VSTORE_API std::string_view graph_kind_name(GraphKind kind);  // "full", "delta"

}  // namespace vstore::format
