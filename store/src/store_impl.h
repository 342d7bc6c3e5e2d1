// Internal to store/: the insides of a Store, shared by store.cpp (opening, the index pool)
// and commit_builder.cpp (the commit pipeline).
#pragma once

#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "graph_layers.h"
#include "snapshot_impl.h"
#include "vstore/store.h"
#include "writer_lock.h"

namespace vstore {

namespace detail {

// The ids of a store's domain, from the catalog, cached as they are read: a search looks up
// only the ids of its hits, and keys never change their id. A snapshot may outlive its store:
// when the store closes, detach() reads the domain's ids into memory and lets the catalog go.
class CatalogKeyIds : public KeyIds {
  public:
    CatalogKeyIds(const Catalog& catalog, std::string domain)
        : catalog_(&catalog), domain_(std::move(domain)) {}
    std::vector<std::string> ids(std::span<const uint64_t> keys) const override;
    std::optional<uint64_t> key(const std::string& id) const override;
    void detach();

  private:
    mutable std::shared_mutex mutex_;  // guards all below; shared while the catalog is read
    const Catalog* catalog_;           // null once detached
    const std::string domain_;
    mutable std::unordered_map<uint64_t, std::string> cache_;
    std::unordered_map<std::string, uint64_t> keys_;  // filled when detached
};

}  // namespace detail

struct Store::Impl {
    std::string dir;
    StoreOptions options;
    std::unique_ptr<Catalog> catalog;

    std::mutex files_mutex;
    std::map<std::string, std::shared_ptr<VectorFile>> files;  // readers, one per domain
    std::map<std::string, std::shared_ptr<detail::CatalogKeyIds>> key_ids;  // per domain

    struct PoolEntry {
        std::string key;
        std::shared_future<std::shared_ptr<const Snapshot>> snapshot;
        size_t bytes = 0;
        bool ready = false;
    };
    mutable std::mutex pool_mutex;
    std::list<PoolEntry> lru;  // most recently used first
    std::unordered_map<std::string, std::list<PoolEntry>::iterator> pool_index;
    IndexPoolStats pool_stats;

    // The domain's vector file, refreshed until it holds `needed` vectors.
    std::shared_ptr<VectorFile> reader(const DomainInfo& d, uint64_t needed);
    std::shared_ptr<const detail::KeyIds> ids_of(const std::string& domain);
    DomainInfo domain(const std::string& name) const;
    CommitInfo commit(const std::string& domain_name, const std::string& commit) const;

    // Commit `c` read from its files.
    std::shared_ptr<const Snapshot> load(const DomainInfo& d, const CommitInfo& c);
    // A loaded commit, from the pool when it is there.
    std::shared_ptr<const Snapshot> open_commit(const std::string& domain_name,
                                                const std::string& commit_id);
    // Puts a commit just made into the pool.
    void admit(std::shared_ptr<const Snapshot> snapshot);
    // Lets the pool forget loaded commits of a domain (dropped ones); their users keep them.
    void forget(const std::string& domain, const std::set<std::string>& commits);
    static std::string pool_key(const CommitInfo& c);
    // Lets go of the domain's cached vector file (after a vacuum replaced it); snapshots that
    // use it keep it open.
    void forget_vector_file(const std::string& domain);
    // Drop and gc, under the writer lock: `drop` deleted and `rewrite` written in one catalog
    // transaction, then the files in `removed` deleted.
    void drop_planned(const std::string& domain, const std::vector<std::string>& drop,
                      const std::vector<CommitInfo>& rewrite,
                      const std::vector<GraphFileRef>& removed);

    // The writer lock (Error(kConflict) when another writer holds it), and then, unless
    // `keep_leftovers` (a dry run, gc), the removal of every temporary file crashed writers
    // left, told to options.on_crash_leftovers (spec/lifecycle.md, "Crash leftovers").
    detail::WriterLock writer_lock(bool keep_leftovers = false);

    // Before the catalog closes: the ids of domains whose snapshots live on move to memory.
    void detach_snapshots();

  private:
    void enforce_caps_locked(const std::string& keep);
};

}  // namespace vstore
