// The bytes of a graph file (spec/graph-file.md): one commit's HNSW graph, whose nodes refer
// to vectors by their index in the domain's vector file and never hold copies of them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/format/kinds.h"

namespace vstore::format {

struct GraphNode {
    uint64_t vector_index = 0;  // the surrogate: index of the node's vector in the vector file
    uint64_t key = 0;           // the interned external id (catalog, spec/catalog.md)
    uint32_t level = 0;         // the node lives in layers 0..level
    bool tombstone = false;     // kept for navigation, never returned as a result
    // links[l] (l = 0..level): the node's neighbours in layer l, as ordinals into
    // GraphFileData::nodes. Layer 0 holds at most 2*M, upper layers at most M.
    std::vector<std::vector<uint32_t>> links;
};

struct GraphFileData {
    std::string domain;
    std::string commit;
    std::optional<std::string> parent;
    Metric metric = Metric::kL2;
    uint32_t dimension = 0;
    uint32_t m = 16;  // M of the paper
    uint32_t ef_construction = 200;
    uint64_t vector_count = 0;  // vectors the domain's file held when the graph was made
    uint64_t created_unix_ms = 0;
    int64_t entry_point = -1;  // ordinal of the entry node, -1 for an empty graph
    int32_t max_level = -1;    // level of the entry node, -1 for an empty graph
    std::vector<GraphNode> nodes;
};

// The whole file. The body is zstd-compressed when that saves at least 1/8 of its size.
std::vector<uint8_t> encode_graph_file(const GraphFileData& graph);

// Decodes and validates every field and checksum. `file` names the file in errors. Throws
// Error(kCorruption) for damage (bad magic, checksum, sizes, a link to a node that does not
// exist, a level or degree out of range, an entry point that is not the top node) and
// Error(kInvalidArgument) for a format version this build does not read.
GraphFileData decode_graph_file(std::span<const uint8_t> bytes, std::string_view file);

// XXH3-64 of the whole file, as the catalog records it.
uint64_t graph_file_checksum(std::span<const uint8_t> bytes);

// "<encoded domain>@<encoded commit>.hnsw", and for a generation of 2 or more
// "<encoded domain>@<encoded commit>@<generation>.hnsw": the name a commit's graph file takes
// when an earlier file of the same name is still needed (a dropped commit's file that kept
// commits build on, spec/store-layout.md). Validates both names and the file name length.
std::string graph_file_name(std::string_view domain, std::string_view commit,
                            uint32_t generation = 1);

// Whether `file` is named as a graph file of `domain`: "<encoded domain>@...hnsw". '@' is
// always escaped in an encoded name, so no other domain's file matches.
bool is_graph_file_of(std::string_view file, std::string_view domain);

}  // namespace vstore::format
