// The records of the public API: what a domain and a commit are (as the catalog keeps them,
// spec/catalog.md), how vector files are served, and what a buffer pool reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vstore/format/kinds.h"

namespace vstore {

struct DomainInfo {
    std::string name;
    uint32_t dimension = 0;
    format::Metric metric = format::Metric::kL2;
    uint32_t m = 16;
    uint32_t ef_construction = 200;
    std::string vector_file;  // file name inside the store directory
    uint64_t created_unix_ms = 0;
};

struct GraphFileRef {
    std::string name;  // file name inside the store directory
    uint64_t bytes = 0;
    uint64_t checksum = 0;  // format::graph_file_checksum of the whole file
    bool operator==(const GraphFileRef&) const = default;
};

struct CommitInfo {
    std::string domain;
    std::string commit;
    std::optional<std::string> parent;
    std::string graph_file;       // file name inside the store directory
    uint64_t graph_checksum = 0;  // format::graph_file_checksum of the whole file
    uint64_t graph_bytes = 0;
    uint64_t vector_count = 0;  // vectors of the domain's file this commit may refer to
    uint64_t live_count = 0;
    uint64_t tombstone_count = 0;
    uint64_t inserted = 0, deleted = 0, replaced = 0;
    bool compacted = false;  // tombstones were compacted away by this commit
    uint64_t created_unix_ms = 0;
    format::GraphKind graph_kind = format::GraphKind::kFull;  // of graph_file
    // The format version of graph_file; 1 for commits recorded before version 2.
    uint32_t graph_format = 2;
    // Every file the graph needs, the full root first and graph_file last: one file for a
    // full graph, the chain of bases for a delta. Never empty in a published commit.
    std::vector<GraphFileRef> graph_chain;
    // Set when the commit's graph is another commit's (a commit that changed nothing, or
    // Store::assign): the commit that wrote graph_file. nullopt when this commit wrote it.
    std::optional<std::string> graph_owner;
    // Set by Store::drop_commits on a kept commit: its parent, or its graph owner, was dropped.
    // The name stays, to show where the history was cut, but names no commit of the domain
    // (or, once the id is used again, an unrelated one): log stops there.
    bool parent_dropped = false;
    bool owner_dropped = false;
};

// An entry of a domain's content index (spec/catalog.md, `vectors`): vector `index` of the
// domain's vector file has the XXH3-64 `hash` of its bytes.
// How the pages of a vector file reach memory.
enum class ServingMode {
    kMapped,  // the whole file memory-mapped: the default and the fast path
    kPool,    // a bounded pool of page frames filled with pread, for files larger than memory
};

struct BufferPoolStats {
    size_t frame_count = 0;       // frames the budget allows
    size_t frame_bytes = 0;       // bytes of one frame (the file's page size)
    size_t allocated_frames = 0;  // frames whose memory has been allocated so far
    size_t pinned_frames = 0;     // frames held by at least one LoadedVec
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
};

}  // namespace vstore
