// A commit's graph files in a store directory: opening the chain a commit records, writing a
// new file durably, and checking every byte of a chain. Internal to store/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph_layers.h"
#include "vstore/catalog.h"

namespace vstore::detail {

// The graph of commit `c`: its chain's full root mapped, each delta read and laid over it. A
// version 1 file is read whole, checked against the catalog's checksum and converted. Every
// file must have the length the catalog recorded; a delta must name the file before it in
// the chain, by name, length and checksum, and match the checksum the catalog recorded. A
// mapped full file's checksums are not read here (that would read the whole file): its
// header is checked, and every read a search makes is bounds-checked; verify_commit_graph
// checks every byte. Error(kCorruption) naming the file and commit.
std::shared_ptr<const GraphLayers> open_commit_graph(const std::string& dir, const CommitInfo& c);

// Every file of the chain against the catalog's checksums, and every section and rule of the
// full root (format::verify_full_graph); the deltas as open_commit_graph applies them.
void verify_commit_graph(const std::string& dir, const CommitInfo& c);

// Writes `bytes` to `dir/name` durably: a temporary file, fsync, rename, fsync of the
// directory. Crash points "graph-half-written" and "graph-renamed".
void write_graph_file(const std::string& dir, const std::string& name,
                      const std::vector<uint8_t>& bytes);

}  // namespace vstore::detail
