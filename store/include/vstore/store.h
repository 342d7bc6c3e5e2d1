// The public API of vstore: a store directory of domains, each with one vector file and one
// HNSW graph per commit, built incrementally from its parent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vstore/consistency.h"
#include "vstore/crash_leftovers.h"
#include "vstore/format/error.h"
#include "vstore/lifecycle.h"
#include "vstore/records.h"
#include "vstore/format/export.h"

namespace vstore {

using format::Metric;

struct DomainOptions {
    uint32_t dimension = 0;
    Metric metric = Metric::kL2;
    uint32_t m = 16;  // M of the HNSW paper
    uint32_t ef_construction = 200;
};

// How Replace repairs the graph around a node whose vector changed. Measured by vstore-bench
// (Fashion-MNIST, 20,000 items, 5,000 replaced): delete-then-insert keeps recall@10 at ef=64
// as well or slightly better (0.9980 vs 0.9975) and commits 3-4.6x faster, since inserts run
// in parallel and updatePoint does not; it is the default.
enum class ReplaceStrategy {
    kUpdate,        // hnswlib's updatePoint: the node keeps its place and level, its links are
                    // recomputed for the new vector, and its neighbours' links repaired
    kDeleteInsert,  // the node is deleted (layered semantics) and the id inserted anew
};

// How a commit's graph is stored (spec/graph-file.md, "Chain policy"). A commit writes a delta
// over an earlier graph file unless the deltas a reader would lay over the full file pass
// `max_delta_share` of a full file's size, or the chain would pass `max_chain_depth` deltas;
// then it writes a full file again, so that opening any commit stays cheap.
struct GraphPolicy {
    enum class DeltaBase {
        kParent,    // a delta over the parent's graph file: each delta holds one commit's change
        kLastFull,  // a delta over the full file at the root of the parent's chain: one delta
                    // to read, holding every change since that full file
    };
    DeltaBase delta_base = DeltaBase::kParent;
    double max_delta_share = 0.10;
    uint32_t max_chain_depth = 6;
    bool deltas = true;  // false: every commit writes a full file
};

struct StoreOptions {
    ServingMode mode = ServingMode::kMapped;       // how vector files are served
    size_t pool_budget_bytes = size_t(256) << 20;  // per vector file, in pool mode
    size_t index_pool_commits = 16;                // loaded commits kept (LRU)
    size_t index_pool_bytes = size_t(4) << 30;     // and their graphs' memory at most
    uint64_t exact_threshold = 1000;    // search() scans exactly when the live set is this small
    // A filtered search scans its allowed items exactly when there are at most
    // max(exact_threshold, filter_crossover * sqrt(ef * live)) of them, else it searches the
    // graph. Measured on Fashion-MNIST 60k x 784, k 10, ef 64: the exact scan and the graph
    // break even near 6,000 allowed (10 %), i.e. 3 x sqrt(64 x 60,000).
    double filter_crossover = 3.0;
    double tombstone_threshold = 0.10;  // a commit compacts when tombstones exceed this share
    unsigned threads = 0;               // for building and exact batches; 0 = all cores
    ReplaceStrategy replace_strategy = ReplaceStrategy::kDeleteInsert;
    GraphPolicy graph_policy;
    // Content-addressed vectors (spec/lifecycle.md): an insert or replace whose vector is
    // bit-identical to one the domain already stores refers to that vector instead of
    // appending it again. The catalog keeps an index of the vectors' hashes.
    bool reuse_vectors = true;
    // Mapped mode checks each vector against its stored checksum on its first use, so that a
    // damaged vector is Error(kCorruption) and never an answer (spec/vector-file.md,
    // "Reading"). Turning it off exists to measure what the check costs (vstore-bench,
    // section "checks"); pool mode always checks.
    bool verify_mapped_vectors = true;
    // Told what a writer (begin_commit, assign, create_domain, drop_commits, vacuum) removed
    // of what crashed writers left: every `.tmp-*` file it finds once it holds the writer
    // lock (spec/lifecycle.md, "Crash leftovers"). Called only when it removed something.
    CrashLeftoversReport on_crash_leftovers;
};

struct SearchHit {
    std::string id;
    float distance;
    bool operator==(const SearchHit&) const = default;
};

struct DuplicatePair {
    std::string a, b;  // a < b
    float distance;
};

// What a structural check of a loaded graph found; both are zero in a sound graph.
struct GraphCheck {
    uint64_t unreachable_live = 0;  // live nodes not reachable from the entry point in layer 0
    uint64_t links_to_removed = 0;  // adjacency entries naming a removed node
};

struct IndexPoolStats {
    size_t commits = 0;  // loaded commits held by the pool
    size_t bytes = 0;    // their graphs' memory
    uint64_t loads = 0;  // commits read from graph files
    uint64_t hits = 0;
    uint64_t evictions = 0;
};

// A domain's vector file as this Store serves it: open once a commit of the domain is.
struct VectorFileStats {
    std::string domain;
    std::string file;  // file name inside the store directory
    ServingMode mode = ServingMode::kMapped;
    uint64_t vectors = 0;    // durable vectors, as far as the reader knows
    BufferPoolStats pool;    // pool mode's frames and traffic; all zero in mapped mode
};

// A set of allowed ids resolved against one Snapshot (Snapshot::filter): the live items a
// filtered search may return. Immutable and cheap to copy; one filter serves any number of
// queries on any number of threads, but only with the snapshot that made it.
class VSTORE_API SearchFilter {
  public:
    // Distinct ids given that are live in the snapshot: the items a search may return.
    uint64_t size() const;
    // Ids given, duplicates and ids the commit lacks included.
    uint64_t given() const;
    // The commit (and its domain) the filter was resolved against.
    const std::string& domain() const;
    const std::string& commit() const;

  private:
    friend class Snapshot;
    struct VSTORE_HIDDEN Impl;
    explicit SearchFilter(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> impl_;
};

// One commit of a domain, loaded: immutable, shareable across threads.
class VSTORE_API Snapshot {
  public:
    ~Snapshot();
    const CommitInfo& info() const;
    const DomainInfo& domain() const;
    uint64_t size() const;  // live items

    // The k nearest live items, ascending by distance. ef (0: max(k, 64)) is raised to k.
    // Exact when the live set is at most StoreOptions::exact_threshold or k >= size().
    std::vector<SearchHit> search(std::span<const float> query, size_t k, size_t ef = 0) const;
    // Brute force over exactly the live items. Both throw Error(kInvalidArgument) for a query
    // of the wrong dimension, with a NaN or infinite component, a squared norm above 2^125
    // (spec/vector-file.md, "Values"), or zero under cosine.
    std::vector<SearchHit> search_exact(std::span<const float> query, size_t k) const;
    // search_exact for each query of a batch, `queries` holding them one after another (a
    // row-major queries x dimension matrix): the same hits in the same order with the same
    // distances, computed together, on StoreOptions::threads threads (0: all cores).
    // Error(kInvalidArgument) as search_exact for any query, naming its position, or for a
    // batch that is no whole number of queries.
    std::vector<std::vector<SearchHit>> search_exact_batch(std::span<const float> queries,
                                                           size_t k) const;

    // Filtered search (spec/search.md, "Filtered search"). filter() resolves ids once: an id
    // the commit lacks (never inserted, deleted, or not even a valid id) is no error, it can
    // never be returned; SearchFilter::size() says how many of the ids are live.
    SearchFilter filter(std::span<const std::string> allowed_ids) const;
    // The k nearest of the filter's items, ascending by distance; fewer only when the filter
    // holds fewer than k. A small allowed set (StoreOptions::filter_crossover) or k at least
    // its size is scanned exactly; otherwise the graph is searched with the other items
    // navigating but never returned, ef (0: max(k, 64)) raised to k. Error(kInvalidArgument)
    // for a filter another snapshot made, and for a query search() refuses.
    std::vector<SearchHit> search(std::span<const float> query, size_t k, size_t ef,
                                  const SearchFilter& filter) const;
    // Brute force over exactly the filter's items; its errors are the filtered search's.
    std::vector<SearchHit> search_exact(std::span<const float> query, size_t k,
                                        const SearchFilter& filter) const;
    // Neighbours of a stored item, not itself. Error(kNotFound) for an id that is not live.
    std::vector<SearchHit> similar(const std::string& id, size_t k, size_t ef = 0) const;
    // Pairs of live items within `threshold` of each other, found through the graph, each once.
    std::vector<DuplicatePair> duplicates(float threshold) const;

    bool contains(const std::string& id) const;
    std::vector<float> vector(const std::string& id) const;  // as stored (normalized for cosine)
    std::vector<std::string> ids() const;                    // live ids, sorted
    GraphCheck check_graph() const;

  private:
    friend class Store;
    friend class CommitBuilder;
    friend class Pack;
    struct VSTORE_HIDDEN Impl;
    explicit Snapshot(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class Store;

// A batch of operations that becomes one commit. Operations are checked as they are added;
// finish() checks them against the parent and makes the commit durable and visible at once.
// A builder that is destroyed unfinished leaves nothing any reader can see.
class VSTORE_API CommitBuilder {
  public:
    CommitBuilder(CommitBuilder&&) noexcept;
    CommitBuilder& operator=(CommitBuilder&&) noexcept;
    ~CommitBuilder();

    // Each throws Error(kInvalidArgument) for a wrong dimension, a NaN or infinite component,
    // a squared norm above 2^125 (so that no distance can overflow: spec/vector-file.md,
    // "Values"), a zero vector under cosine, an id that is empty, over 4096 bytes or (but for
    // remove(), so that ids stored before the rule can go) not valid UTF-8, or an id already in
    // this batch; Error(kConflict) for an insert of an id live in the parent, Error(kNotFound) for a
    // delete or replace of an id that is not. The parent is loaded at the first operation.
    void insert(const std::string& id, std::span<const float> vector);
    void remove(const std::string& id);
    void replace(const std::string& id, std::span<const float> vector);

    // Snapshot mode, for a caller that knows the whole set but not what changed: states that
    // the new commit holds `id` with `vector`. An id the parent lacks becomes an insert, one
    // whose stored vector differs (after cosine normalization) a replace, an equal one is left
    // alone, and finish() deletes every id of the parent that was never put. The checks of
    // insert() apply; Error(kInvalidArgument) for an id put twice or a builder that mixes
    // put() with insert/remove/replace.
    void put(const std::string& id, std::span<const float> vector);
    // Declares the builder in snapshot mode before any put(), for a caller that reads a whole
    // set which may turn out empty: a snapshot is the whole set, so one that puts nothing
    // deletes every id of the parent. put() declares it too; Error(kInvalidArgument) after
    // insert/remove/replace.
    void begin_snapshot();

    // Makes the commit durable and visible; when it throws, nothing is committed.
    CommitInfo finish();

  private:
    friend class Store;
    struct VSTORE_HIDDEN Impl;
    explicit CommitBuilder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class VSTORE_API Store {
  public:
    // Creates the directory (if needed) and an empty catalog. Error(kConflict) if it holds one.
    static std::unique_ptr<Store> create(const std::string& dir, StoreOptions options = {});
    static std::unique_ptr<Store> open(const std::string& dir, StoreOptions options = {});
    // The Store this process already has open at `dir` through open_shared (the same
    // directory by canonical path; the options of that first opening hold), else open(). For
    // callers that each name a store by path, as the Python module and the SQLite extension
    // do, since a process may hold only one Store per directory. Error(kConflict) while the
    // directory is open through open() or create().
    static std::shared_ptr<Store> open_shared(const std::string& dir, StoreOptions options = {});
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    const std::string& dir() const;
    DomainInfo create_domain(const std::string& name, const DomainOptions& options);
    DomainInfo domain(const std::string& name) const;  // Error(kNotFound) if unknown
    std::vector<DomainInfo> domains() const;
    CommitInfo commit(const std::string& domain, const std::string& commit) const;
    std::vector<CommitInfo> commits(const std::string& domain) const;
    // The chain from `commit` back to its root, newest first; it ends early at a commit whose
    // parent was dropped.
    std::vector<CommitInfo> log(const std::string& domain, const std::string& commit) const;

    // Starts a commit. Error(kNotFound) for an unknown domain or parent, Error(kConflict) when
    // the commit exists or another builder (in any process) is writing this store.
    CommitBuilder begin_commit(const std::string& domain, const std::string& commit,
                               std::optional<std::string> parent);

    // Records commit `new_commit` with the graph and vectors of `existing_commit`, writing no
    // graph file (seed 002's /assign): for a git commit that touched no embeddings. The new
    // commit's parent is `existing_commit`. Error(kNotFound) for an unknown domain or
    // existing commit, Error(kConflict) when `new_commit` exists or another builder is writing.
    CommitInfo assign(const std::string& domain, const std::string& existing_commit,
                      const std::string& new_commit);

    // Reads every byte of commit `commit`'s graph files: each file against the checksum the
    // catalog recorded, every section and graph rule of the full file at the root of its
    // chain, and each delta against its base as it is applied. Error(kCorruption) naming the
    // file at fault; Error(kNotFound) for an unknown domain or commit.
    void verify_graph(const std::string& domain, const std::string& commit) const;
    // Cross-checks one domain's files against its catalog records (spec/consistency.md, the
    // invariants open does not check): the vector file's header against the domain record
    // (D2), every content index entry against the vector it names, hashing it (D3), and for
    // every commit its yielded graph's header (G6 vector_count, G8 commit and parent, G9
    // ef_construction) and keys (K1 no key live twice, K2 every key of a live node or
    // tombstone below next_key and in the keys table), a shared graph's record against its
    // owner's (C1), and vector_count against the parent's (C2). Each broken invariant is a
    // problem of the report, naming the domain and commit; changes nothing. Error(kNotFound)
    // for an unknown domain.
    ConsistencyReport verify_consistency(const std::string& domain) const;

    // Drops commits of a domain in one catalog transaction (spec/lifecycle.md). Every kept
    // commit answers exactly as before: a graph file that a kept commit's chain still needs
    // stays, whoever wrote it, and the others are deleted. A kept commit whose parent (or
    // graph owner) is dropped is marked so (CommitInfo::parent_dropped); log stops there.
    // Snapshots already open keep answering; open_commit of a dropped commit is
    // Error(kNotFound). Error(kNotFound) for an unknown domain or commit, Error(kConflict)
    // while another writer holds the store; nothing is dropped then. With `dry_run`, the
    // report of what would happen, and nothing changes.
    DroppedCommits drop_commits(const std::string& domain, const std::vector<std::string>& commits,
                                bool dry_run = false);
    // Retention: keeps the commits GcOptions names and the newest keep_last of each domain,
    // drops the others (as drop_commits), and deletes the files no commit names that crashes
    // left: graph files of the domains looked at, temporary files of crashed writers.
    // Error(kInvalidArgument) when the options keep nothing by name or number.
    GcReport gc(const GcOptions& options);
    // Rewrites a domain's vector file with only the vectors its commits' graph files refer to,
    // in their order, and every graph file to match (spec/lifecycle.md, "Vacuum"); every
    // commit answers exactly as before. A crash at any moment leaves the old files in force
    // or the new ones, never a mix; what the other leaves behind, gc deletes. Snapshots open
    // before keep answering from the old files until they are closed. Every graph file is
    // checked against its catalog checksum before anything is written, and every vector
    // against its page checksum as it is copied: Error(kCorruption) naming the file, and the
    // catalog and the old files are unchanged (a new file written so far is left for gc).
    // Error(kNotFound) for an unknown domain, Error(kConflict) while another writer holds the
    // store. Also fills the content index (reuse_vectors) for every vector kept.
    VacuumReport vacuum(const std::string& domain, const VacuumProgress& progress = {});
    // Where the bytes of one domain, or of every domain, are. Reads every graph file's vector
    // references (the vector column of full files, deltas whole); changes nothing.
    SpaceReport space(const std::optional<std::string>& domain = std::nullopt) const;

    // A loaded commit, from the index pool when it is there. Safe from any number of threads.
    std::shared_ptr<const Snapshot> open_commit(const std::string& domain,
                                                const std::string& commit);
    IndexPoolStats index_pool_stats() const;
    // The vector files open for reading, by domain name.
    std::vector<VectorFileStats> vector_file_stats() const;

  private:
    friend class CommitBuilder;
    struct VSTORE_HIDDEN Impl;
    explicit Store(std::unique_ptr<Impl> impl);
    static std::unique_ptr<Store> open_catalog(const std::string& dir, StoreOptions options,
                                               bool create);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vstore
