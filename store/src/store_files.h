// The files of a store directory as the lifecycle operations see them: which graph files the
// catalog's commits name, which files nothing names, the vectors a graph file refers to, and
// the name a new graph file takes. Internal to store/.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "vstore/catalog.h"
#include "vstore/crash_leftovers.h"

namespace vstore::detail {

// Every file named in the graph chains of `commits`.
std::set<std::string> chain_files(const std::vector<CommitInfo>& commits);

// The first of `name_of(1)`, `name_of(2)`, ... (a file name per generation) that `usable`
// accepts. Error(kConflict) with the message `exhausted` when the generations' names pass
// the 255-byte limit first (name_of throws Error(kInvalidArgument) then) after generation 1
// fitted; name_of's own error when generation 1 does not fit.
std::string first_usable_name(const std::function<std::string(uint32_t)>& name_of,
                              const std::function<bool(const std::string&)>& usable,
                              const std::string& exhausted);

// The graph file name a new commit writes: graph_file_name(domain, commit), or the first
// generation @2, @3, ... whose file either does not exist or is named by no commit of the
// domain (then it is a crash's leftover, and is overwritten). Error(kConflict) when every
// name that fits the 255-byte limit is taken.
std::string free_graph_file_name(const std::string& dir, const Catalog& catalog,
                                 const std::string& domain, const std::string& commit);

struct StoreFile {
    std::string name;
    uint64_t bytes = 0;
};
// The domain's files in `dir` that nothing names: graph files (format::is_graph_file_of) that
// no commit of `commits` (the domain's, all of them) names, and vector files of any generation
// (format::is_vector_file_of) other than the domain's record names.
std::vector<StoreFile> orphan_files(const std::string& dir, const DomainInfo& domain,
                                    const std::vector<CommitInfo>& commits);
// The `.tmp-*` files in `dir`, sorted by name. Only a holder of the writer lock writes them,
// and none outlives its writer's hold, so under the lock every one is a crashed writer's
// (spec/lifecycle.md, "Crash leftovers").
std::vector<StoreFile> temporary_files(const std::string& dir);

// Under the writer lock: unlinks every `.tmp-*` file of `dir`, syncs the directory when it
// removed any, and says what it removed. A file that cannot be unlinked is left, silently:
// the writer that found it has its own work to do.
CrashLeftovers remove_temporary_files(const std::string& dir);

// The vector indices that graph file `name` (its bytes) names: every node's of a full file
// (version 1 or 2), the new nodes' and the changed vector indices of a delta.
// Error(kCorruption) naming the file when it cannot be read as a graph file.
std::vector<uint64_t> graph_file_vectors(std::span<const uint8_t> bytes, const std::string& name);

// The size of a file, 0 when it cannot be read.
uint64_t size_of_file(const std::string& path);

// Deletes the named files of `dir` (a missing one is no error) and syncs the directory.
void remove_store_files(const std::string& dir, const std::vector<std::string>& names);

}  // namespace vstore::detail
