// The files of a store directory as the lifecycle operations see them: which graph files the
// catalog's commits name, which files nothing names, the vectors a graph file refers to, and
// the name a new graph file takes. Internal to store/.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "vstore/catalog.h"

namespace vstore::detail {

// Every file named in the graph chains of `commits`.
std::set<std::string> chain_files(const std::vector<CommitInfo>& commits);

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
// The `.tmp-*` files in `dir`; with `dead_only`, only those whose writer (the process id in
// the name) no longer runs.
std::vector<StoreFile> temporary_files(const std::string& dir, bool dead_only);

// The vector indices that graph file `ref` names: every node's of a full file (version 1 or
// 2), the new nodes' and the changed vector indices of a delta. Error(kCorruption) naming the
// file when it cannot be read as a graph file.
std::vector<uint64_t> graph_file_vectors(const std::string& dir, const GraphFileRef& ref);

// The size of a file, 0 when it cannot be read.
uint64_t size_of_file(const std::string& path);

// Deletes the named files of `dir` (a missing one is no error) and syncs the directory.
void remove_store_files(const std::string& dir, const std::vector<std::string>& names);

}  // namespace vstore::detail
