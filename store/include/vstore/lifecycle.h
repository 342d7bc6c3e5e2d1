// What the lifecycle operations of a store report: dropping commits, garbage collection by a
// retention rule, and where a store's bytes are (spec/lifecycle.md). The operations are
// Store::drop_commits, Store::gc and Store::space.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vstore/records.h"
#include "vstore/format/export.h"

namespace vstore {

// The commits dropped from one domain and the files that went with them.
struct VSTORE_API DroppedCommits {
    std::string domain;
    std::vector<std::string> dropped;  // sorted
    // Kept commits whose parent was dropped: their records now say so, and log stops there.
    std::vector<std::string> cut;
    // Graph files that no kept commit needs any more: deleted (or, in a dry run, to be).
    std::vector<GraphFileRef> removed;
    // Graph files that a dropped commit wrote and a kept commit still reads (as the base of
    // its delta chain, or as the graph it shares): kept, unchanged, as long as it does.
    std::vector<GraphFileRef> kept;
    uint64_t bytes_freed() const;
};

// Newest first: by creation time, then by name, descending. The order in which gc counts
// GcOptions::keep_last, and `vstore log` lists a domain's commits.
VSTORE_API void sort_newest_first(std::vector<CommitInfo>& commits);

// Which commits Store::gc keeps; it drops the others of each domain it looks at.
struct GcOptions {
    std::optional<std::string> domain;   // every domain when absent
    std::optional<size_t> keep_last;     // the newest N of each domain (by creation time)
    std::vector<std::string> keep;       // commits kept wherever a domain has one of the name
    bool dry_run = false;                // report only: nothing is changed
};

struct VSTORE_API GcReport {
    std::vector<DroppedCommits> domains;  // one per domain looked at, sorted by name
    // Files nothing names that a crash left behind: graph files of commits that never reached
    // the catalog (or whose drop was cut short), vector and graph files a vacuum cut short
    // wrote or replaced, temporary files of crashed writers (every `.tmp-*` file: gc holds
    // the writer lock, which their writers hold while they exist).
    std::vector<std::string> orphans;
    uint64_t orphan_bytes = 0;
    std::vector<std::string> keep_unknown;  // names of GcOptions::keep that no domain has
    uint64_t bytes_freed() const;
};

// Where one domain's bytes are. A vector is referenced by a graph file when a node of the
// file, or a change the file records, names it; the heads are the commits that are no other
// kept commit's parent (the tips of the branches).
struct DomainSpace {
    std::string domain;
    uint64_t commits = 0, heads = 0;
    uint64_t vector_file_bytes = 0;
    uint64_t vector_bytes = 0;          // of one vector (4 x dimension)
    uint64_t vectors = 0;               // durable vectors in the file
    uint64_t head_vectors = 0;          // referenced by a file a head reads
    uint64_t history_vectors = 0;       // referenced only by files that no head reads
    uint64_t unreferenced_vectors = 0;  // referenced by no file: vacuum would free them
    uint64_t full_files = 0, full_bytes = 0;    // graph files commits read, by kind
    uint64_t delta_files = 0, delta_bytes = 0;
    // Of those, files that only dropped commits wrote: kept as bases of kept chains.
    uint64_t base_only_files = 0, base_only_bytes = 0;
    // This domain's files nothing names: graph files no commit names, vector files a vacuum
    // replaced (crash leftovers, which gc deletes).
    uint64_t orphan_files = 0, orphan_bytes = 0;
};

struct SpaceReport {
    std::vector<DomainSpace> domains;  // sorted by name
    uint64_t catalog_bytes = 0;        // the catalog file
    uint64_t temporary_files = 0, temporary_bytes = 0;  // .tmp-* files in the store directory
};

// What Store::vacuum did to one domain.
struct VacuumReport {
    std::string domain;
    bool rewritten = false;  // false: every vector was referenced, and nothing changed
    std::string vector_file;  // the domain's vector file now
    uint64_t vectors_before = 0, vectors_after = 0;
    uint64_t vector_file_bytes_before = 0, vector_file_bytes_after = 0;
    uint64_t graph_files = 0;  // graph files rewritten (every file a commit reads)
    uint64_t graph_bytes_before = 0, graph_bytes_after = 0;
};

// Called with the share of the work done, 0 ... 1.
using VacuumProgress = std::function<void(double)>;

}  // namespace vstore
