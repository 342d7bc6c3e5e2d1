// `vstore inspect`: recognises a vstore file (vector file, graph file) or pack archive by its
// magic, or a store or pack directory by its layout, and shows what it holds.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace vstore::cli {

struct InspectOptions {
    bool verify = false;
    bool json = false;
    bool quiet = false;  // no progress line on stderr while verifying
    uint64_t max_unpacked = 0;  // the extraction bound of a pack archive; 0 = the default
};

// Writes the description of `path` (a vector file, a graph file, a store or a pack) to
// `out`, as aligned text or, with json, as one JSON object whose "kind" says what it is.
//
// The JSON keys (the text output is printed from the same object):
//
// "kind": "vector file": path, format_version, domain, element_type, dimension, vector_bytes,
//   page_bytes, vectors_per_page, padding_bytes, page_waste, pages_per_group,
//   vectors_per_group, group_overhead, count, pages, commit_sequence, created, file_id;
//   --verify adds verify {ok, file_bytes, tail_bytes, pages_checked, vectors_checked, problems}.
//
// "kind": "graph file" (spec/graph-file.md): path, format_version (1 or 2), graph_kind ("full"
//   or "delta"; a version 1 file holds a full graph), domain, commit, parent (null for a first
//   commit), metric, dimension, m, ef_construction, vector_count, created, nodes (removed slots
//   included), live, tombstones, removed, links, entry_point (null for an empty graph, else
//   {ordinal, key, level}; a delta's key is null unless the entry point is a new node),
//   max_level, file_bytes, file_checksum (XXH3-64, as the catalog records it), and
//   - full files and version 1: level_histogram (nodes that are not removed, by top level),
//     degree [{layer, nodes, min, mean, max, without_links}];
//   - version 2 full files: upper_records, header_bytes, sections [{section, name, offset,
//     bytes, checksum}] (vector_index, key, level, flags, upper_index, layer0, upper, codes);
//   - deltas: upper_records, base {file, bytes, checksum, node_count}, chain_depth, new_nodes,
//     vector_changes, flag_changes, list_changes, tail_links, body_encoding ("raw" or "zstd"),
//     raw_body_bytes, stored_body_bytes, header_bytes, delta_bytes (the file's length).
//   --verify adds verify {ok, problems} and, for full graphs, links_checked,
//   tombstones_with_live_key (tombstones whose key a live node has: a replaced id's earlier
//   nodes), lists_with_duplicate_links and first_duplicate_link (legal, noted, no problem)
//   (and for version 2 sections_checked); for a delta, chain [{file, found, ok, graph_kind, chain_depth}]: its
//   base files found beside it, down to the full file.
//
// "kind": "store": path, domain_count, commit_count, graph_files {files, bytes, full {files,
//   bytes}, delta {files, bytes}, v1 {files, bytes}, shared_commits} (each file once), domains
//   [{name, dimension, metric, m, ef_construction, created, interned_ids, vector_file, vectors,
//   commits [{commit, parent, parent_dropped, created, live, tombstones, inserted, deleted, replaced,
//   vector_count, graph_file, graph_bytes, graph_checksum, graph_kind, graph_format,
//   chain_depth, graph_chain [{file, bytes, checksum}] (the full file first), graph_owner (the
//   commit whose graph it shares, or null), graph_owner_dropped, compacted}]}]; --verify adds verify {ok,
//   vector_files_checked, vectors_checked, commits_checked, content_entries_checked (content
//   index entries hashed by the cross-checks), problems}; a cross-check's problem is
//   {where "domain 'D'[, commit 'C']", what "<invariant of spec/consistency.md>: <message>"}.
//
// "kind": "pack": path, pack_kind, config (the pack's config as written), archive_bytes (an
//   archive), graph and vectors (described as above, path the member's name); --verify adds
//   verify {ok, problems}.
//
// Every problems list is [{where, what}].
// Returns the exit status: 0 when it is readable (and, with verify, every checksum,
// structural check and cross-check holds), 1 otherwise. Errors go to `err` as one line; with verify, the
// output lists every problem and `err` gets one line naming the first.
int inspect(const std::string& path, const InspectOptions& options, std::ostream& out,
            std::ostream& err);

}  // namespace vstore::cli
