// What Store::verify_consistency reports: the invariants between a domain's catalog records,
// its vector file and its commits' graph files (spec/consistency.md) that opening a commit
// does not check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vstore {

struct ConsistencyProblem {
    std::string invariant;  // its number in spec/consistency.md: "D2", "G8", "K1", "C2", ...
    std::string domain;
    std::string commit;  // empty for a problem of the domain itself (D2, D3)
    std::string what;    // one line naming the file, key, entry or record at fault
};

struct ConsistencyReport {
    std::string domain;
    uint64_t commits_checked = 0;         // commits whose graph was read and cross-checked
    uint64_t vector_entries_checked = 0;  // content index entries hashed against the file
    std::vector<ConsistencyProblem> problems;
    // What could not be read, and so was not cross-checked: the vector file (commit empty)
    // or a commit's graph files, with the error. Store::verify_graph and VectorFile::verify
    // report these themselves; they are not problems of this report.
    std::vector<ConsistencyProblem> unreadable;
    bool ok() const { return problems.empty(); }
};

}  // namespace vstore
