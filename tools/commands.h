// The commands of the `vstore` command line, each one function of its parsed arguments that
// writes its results to `out` and returns the exit status. Errors are thrown (vstore::Error
// for input and data, UsageError for the way the command was called); main() reports them.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "vstore/store.h"

namespace vstore::cli {

struct Common {
    bool json = false;
    bool quiet = false;    // no progress on stderr
    unsigned threads = 0;  // 0 = all cores
    // --max-unpacked: the extraction bound of a pack archive (spec/pack.md); 0 = the default.
    uint64_t max_unpacked = 0;
};

// The store options every command opens a store with: its --threads, and a writer that removes
// what crashed writers left says so on stderr (spec/lifecycle.md, "Crash leftovers").
StoreOptions store_options(const Common& c);

int run_init(const std::string& store, std::ostream& out);

struct DomainCreateArgs {
    std::string store, domain;
    uint32_t dimension = 0;
    std::string metric = "l2";
    uint32_t m = 16;
    uint32_t ef_construction = 200;
};
int run_domain_create(const DomainCreateArgs& a, const Common& c, std::ostream& out);
int run_domain_list(const std::string& source, const Common& c, std::ostream& out);

// --embed-command and its settings: how texts become vectors (spec/embed-command.md).
struct EmbedArgs {
    std::string command;          // empty: none given
    double timeout_seconds = 30;  // --embed-timeout, for each request
    size_t batch_size = 64;       // --embed-batch-size
};

struct IndexArgs {
    std::string store, domain, commit;
    std::optional<std::string> parent;
    std::string ops;       // --ops FILE (JSON Lines of operations), "-" = stdin
    std::string snapshot;  // --snapshot FILE (the whole set: .jsonl, .fvecs, .npy)
    std::string sqlite;    // --sqlite DB --table T (the whole set)
    std::string table;
    std::string llm_db;  // --llm-db DB --collection NAME (one collection of llm's database)
    std::string collection;
    EmbedArgs embed;  // for operations and snapshot items with a "string"
};
int run_index(const IndexArgs& a, const Common& c, std::ostream& out);

struct AssignArgs {
    std::string store, domain;
    std::string source;  // --source: the existing commit whose graph and vectors are taken
    std::string target;  // --target: the new commit
};
// A new commit that shares an existing commit's graph (Store::assign): no graph file written.
int run_assign(const AssignArgs& a, const Common& c, std::ostream& out);

struct ReadArgs {
    std::string source;  // a store or a pack
    std::optional<std::string> domain, commit;
};

// Search one commit, or several domains at once: --domain repeated, with one --commit for all
// of them or one per --domain in the same order (search_many).
struct SearchArgs {
    std::string source;  // a store or a pack
    std::vector<std::string> domains, commits;
    std::optional<std::string> vector;  // --vector '[...]'
    std::string vector_file;            // --vector-file FILE
    std::optional<std::string> id;      // --id X: the stored vector of X (in the first domain)
    std::optional<std::string> text;    // --text T: the vector of T, from --embed-command
    EmbedArgs embed;
    size_t k = 10;
    size_t ef = 0;
    bool exact = false;
    std::string only_ids;  // --only-ids FILE: the ids results may have, one a line
};
int run_search(const SearchArgs& a, const Common& c, std::ostream& out);

struct SimilarArgs : ReadArgs {
    std::string id;
    size_t k = 10;
    size_t ef = 0;
};
int run_similar(const SimilarArgs& a, const Common& c, std::ostream& out);

struct DuplicatesArgs : ReadArgs {
    float threshold = 0;
};
int run_duplicates(const DuplicatesArgs& a, const Common& c, std::ostream& out);

int run_log(const ReadArgs& a, const Common& c, std::ostream& out);

struct PackArgs {
    std::string store, domain, commit, out;
};
int run_pack(const PackArgs& a, const Common& c, std::ostream& out);

// The lifecycle commands (lifecycle_commands.cpp).
struct DropArgs {
    std::string store, domain;
    std::vector<std::string> commits;
    bool dry_run = false;
};
int run_drop(const DropArgs& a, const Common& c, std::ostream& out);

// A store and the domain a command is limited to (all of them when absent).
struct StoreScopeArgs {
    std::string store;
    std::optional<std::string> domain;
};

struct GcArgs : StoreScopeArgs {
    std::optional<size_t> keep_last;
    std::vector<std::string> keep_files;  // --keep FILE: commit ids, one a line
    bool dry_run = false;
};
int run_gc(const GcArgs& a, const Common& c, std::ostream& out);
int run_vacuum(const StoreScopeArgs& a, const Common& c, std::ostream& out);
int run_du(const StoreScopeArgs& a, const Common& c, std::ostream& out);

}  // namespace vstore::cli
