// Store: opening a store directory, its domains and commits, and the index pool of loaded
// commits. The commit pipeline is in commit_builder.cpp, a loaded commit in snapshot.cpp.
#include "vstore/store.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "file_io.h"
#include "graph_files.h"
#include "store_files.h"
#include "store_impl.h"
#include "vstore/format/file_names.h"

namespace vstore {

using detail::now_ms;

// ---- CatalogKeyIds -----------------------------------------------------------------------

namespace detail {

std::vector<std::string> CatalogKeyIds::ids(std::span<const uint64_t> keys) const {
    std::vector<std::string> out(keys.size());
    std::vector<uint64_t> missing;
    std::vector<size_t> where;
    std::vector<std::optional<std::string>> found;
    {
        std::shared_lock lock(mutex_);
        for (size_t i = 0; i < keys.size(); ++i) {
            auto it = cache_.find(keys[i]);
            if (it != cache_.end()) {
                out[i] = it->second;
            } else {
                missing.push_back(keys[i]);
                where.push_back(i);
            }
        }
        if (missing.empty())
            return out;
        if (catalog_ != nullptr)
            found = catalog_->external_ids(domain_, missing);
        else
            found.resize(missing.size());
    }
    std::unique_lock lock(mutex_);
    for (size_t j = 0; j < missing.size(); ++j) {
        if (!found[j]) {
            throw Error::corruption("domain '" + domain_ + "' has a graph that refers to key " +
                                    std::to_string(missing[j]) +
                                    ", which the catalog does not know");
        }
        out[where[j]] = *found[j];
        cache_.emplace(missing[j], std::move(*found[j]));
    }
    return out;
}

std::optional<uint64_t> CatalogKeyIds::key(const std::string& id) const {
    std::shared_lock lock(mutex_);
    if (catalog_ != nullptr)
        return catalog_->find_key(domain_, id);
    auto it = keys_.find(id);
    if (it == keys_.end())
        return std::nullopt;
    return it->second;
}

void CatalogKeyIds::detach() {
    std::unique_lock lock(mutex_);
    if (catalog_ == nullptr)
        return;
    std::vector<uint64_t> all(catalog_->domain(domain_) ? catalog_->next_key(domain_) : 0);
    for (uint64_t k = 0; k < all.size(); ++k)
        all[k] = k;
    auto ids = catalog_->external_ids(domain_, all);
    for (uint64_t k = 0; k < all.size(); ++k) {
        if (ids[k]) {
            keys_.emplace(*ids[k], k);
            cache_.emplace(k, std::move(*ids[k]));
        }
    }
    catalog_ = nullptr;
}

}  // namespace detail

// ---- Store::Impl -------------------------------------------------------------------------

std::shared_ptr<VectorFile> Store::Impl::reader(const DomainInfo& d, uint64_t needed) {
    std::lock_guard lock(files_mutex);
    auto& f = files[d.name];
    // After a vacuum the domain has a new vector file; snapshots of the old one keep theirs.
    if (!f || f->path() != dir + "/" + d.vector_file) {
        VectorFileOptions o;
        o.mode = options.mode;
        o.pool_budget_bytes = options.pool_budget_bytes;
        o.verify_mapped = options.verify_mapped_vectors;
        f = VectorFile::open(dir + "/" + d.vector_file, o);
    }
    if (f->size() < needed)
        f->refresh();
    if (f->size() < needed) {
        throw Error::corruption("vector file '" + d.vector_file + "' holds " +
                                std::to_string(f->size()) + " vectors; the catalog needs " +
                                std::to_string(needed));
    }
    return f;
}

std::shared_ptr<const detail::KeyIds> Store::Impl::ids_of(const std::string& domain) {
    std::lock_guard lock(files_mutex);
    auto& k = key_ids[domain];
    if (!k)
        k = std::make_shared<detail::CatalogKeyIds>(*catalog, domain);
    return k;
}

DomainInfo Store::Impl::domain(const std::string& name) const {
    auto d = catalog->domain(name);
    if (!d)
        throw Error::not_found("unknown domain '" + name + "'");
    return *d;
}

CommitInfo Store::Impl::commit(const std::string& domain_name, const std::string& commit) const {
    auto c = catalog->commit(domain_name, commit);
    if (!c) {
        domain(domain_name);
        throw Error::not_found("unknown commit '" + commit + "' in domain '" + domain_name + "'");
    }
    return *c;
}

std::shared_ptr<const Snapshot> Store::Impl::load(const DomainInfo& d, const CommitInfo& c) {
    auto graph = detail::open_commit_graph(dir, c);
    return Snapshot::Impl::make(c, d, options, reader(d, c.vector_count), std::move(graph),
                                ids_of(d.name));
}

// Drops least recently used loaded commits beyond the caps. Users keep theirs alive through
// their shared_ptr; the pool only forgets them.
void Store::Impl::enforce_caps_locked(const std::string& keep) {
    auto it = lru.end();
    while (it != lru.begin() && (lru.size() > options.index_pool_commits ||
                                 pool_stats.bytes > options.index_pool_bytes)) {
        --it;
        if (it->key == keep || !it->ready)
            continue;
        pool_stats.bytes -= it->bytes;
        pool_index.erase(it->key);
        it = lru.erase(it);
        ++pool_stats.evictions;
    }
    pool_stats.commits = lru.size();
}

// A commit's entry names its graph file and checksum too, so that a commit dropped and made
// again under its name, or rewritten by a vacuum, is never answered from the old entry.
std::string Store::Impl::pool_key(const CommitInfo& c) {
    return c.domain + '\0' + c.commit + '\0' + c.graph_file + '\0' +
           std::to_string(c.graph_checksum);
}

void Store::Impl::forget(const std::string& domain, const std::set<std::string>& commits) {
    std::lock_guard lock(pool_mutex);
    for (auto it = lru.begin(); it != lru.end();) {
        const CommitInfo* info = it->ready ? &it->snapshot.get()->info() : nullptr;
        if (!info || info->domain != domain || !commits.count(info->commit)) {
            ++it;
            continue;
        }
        pool_stats.bytes -= it->bytes;
        pool_index.erase(it->key);
        it = lru.erase(it);
    }
    pool_stats.commits = lru.size();
}

void Store::Impl::forget_vector_file(const std::string& domain) {
    std::lock_guard lock(files_mutex);
    files.erase(domain);
}

void Store::Impl::admit(std::shared_ptr<const Snapshot> snapshot) {
    const std::string key = pool_key(snapshot->info());
    std::promise<std::shared_ptr<const Snapshot>> p;
    p.set_value(snapshot);
    std::lock_guard lock(pool_mutex);
    if (pool_index.count(key))
        return;
    lru.push_front({key, p.get_future().share(), snapshot->impl_->graph->memory_bytes(), true});
    pool_index[key] = lru.begin();
    pool_stats.bytes += lru.front().bytes;
    enforce_caps_locked(key);
}

std::shared_ptr<const Snapshot> Store::Impl::open_commit(const std::string& domain_name,
                                                         const std::string& commit_id) {
    const CommitInfo c = commit(domain_name, commit_id);
    const std::string key = pool_key(c);
    std::promise<std::shared_ptr<const Snapshot>> promise;
    {
        std::unique_lock lock(pool_mutex);
        auto it = pool_index.find(key);
        if (it != pool_index.end()) {
            lru.splice(lru.begin(), lru, it->second);
            ++pool_stats.hits;
            auto future = it->second->snapshot;
            lock.unlock();
            return future.get();
        }
        lru.push_front({key, promise.get_future().share(), 0, false});
        pool_index[key] = lru.begin();
    }
    try {
        std::shared_ptr<const Snapshot> snapshot;
        try {
            // The commit's and the domain's records are read in two transactions: a vacuum
            // in between would pair old graph files with the new vector file. It changed the
            // commit's record too, so reading that again tells.
            const DomainInfo d = domain(domain_name);
            if (pool_key(commit(domain_name, commit_id)) != key)
                throw Error::conflict("commit '" + commit_id + "' in domain '" + domain_name +
                                      "' was rewritten by a vacuum while it was being opened; "
                                      "open it again");
            snapshot = load(d, c);
        } catch (const Error&) {
            // Another process may have dropped the commit, and deleted its files, after its
            // record was read here: say that, rather than that a file is missing.
            if (!catalog->commit(domain_name, commit_id))
                throw Error::not_found("commit '" + commit_id + "' in domain '" + domain_name +
                                       "' was dropped while it was being opened");
            throw;
        }
        promise.set_value(snapshot);
        std::lock_guard lock(pool_mutex);
        ++pool_stats.loads;
        auto it = pool_index.find(key);
        if (it != pool_index.end()) {
            it->second->ready = true;
            it->second->bytes = snapshot->impl_->graph->memory_bytes();
            pool_stats.bytes += it->second->bytes;
        }
        enforce_caps_locked(key);
        return snapshot;
    } catch (...) {
        promise.set_exception(std::current_exception());
        std::lock_guard lock(pool_mutex);
        auto it = pool_index.find(key);
        if (it != pool_index.end()) {
            lru.erase(it->second);
            pool_index.erase(it);
        }
        throw;
    }
}

// ---- Store -------------------------------------------------------------------------------

void Store::Impl::detach_snapshots() {
    {
        std::lock_guard lock(pool_mutex);
        pool_index.clear();
        lru.clear();
    }
    std::lock_guard lock(files_mutex);
    for (auto& [domain, ids] : key_ids) {
        if (ids.use_count() > 1)
            ids->detach();
    }
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() {
    impl_->detach_snapshots();
}

std::unique_ptr<Store> Store::create(const std::string& dir, StoreOptions options) {
    detail::create_directories_durably(dir);
    if (std::filesystem::exists(dir + "/catalog")) {
        throw Error::conflict("'" + dir + "' already holds a store");
    }
    return open_catalog(dir, options, /*create=*/true);
}

std::unique_ptr<Store> Store::open(const std::string& dir, StoreOptions options) {
    if (!std::filesystem::is_directory(dir)) {
        throw Error::not_found("store directory '" + dir + "' does not exist");
    }
    return open_catalog(dir, options, /*create=*/false);
}

std::unique_ptr<Store> Store::open_catalog(const std::string& dir, StoreOptions options,
                                           bool create) {
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->options = options;
    impl->catalog = Catalog::open(dir, create);
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::dir() const {
    return impl_->dir;
}

detail::WriterLock Store::Impl::writer_lock(bool keep_leftovers) {
    detail::WriterLock lock(dir);
    if (!keep_leftovers) {
        const CrashLeftovers removed = detail::remove_temporary_files(dir);
        if (!removed.names.empty() && options.on_crash_leftovers)
            options.on_crash_leftovers(removed);
    }
    return lock;
}

DomainInfo Store::create_domain(const std::string& name, const DomainOptions& options) {
    // A writer: its vector file's header is a temporary file until it is linked into place.
    const detail::WriterLock lock = impl_->writer_lock();
    DomainInfo d;
    d.name = name;
    d.dimension = options.dimension;
    d.metric = options.metric;
    d.m = options.m;
    d.ef_construction = options.ef_construction;
    d.vector_file = format::vector_file_name(name);
    d.created_unix_ms = now_ms();
    if (impl_->catalog->domain(name))
        throw Error::conflict("domain '" + name + "' already exists");
    format::VectorLayout::for_dimension(options.dimension);  // validates the dimension
    if (options.m < 2 || options.m > 2048 || options.ef_construction < 1) {
        throw Error::invalid_argument("domain '" + name +
                                      "': M must be 2..2048 and ef_construction >= 1");
    }
    const std::string path = impl_->dir + "/" + d.vector_file;
    // A vector file without a catalog entry is what a crash between the two steps leaves;
    // it holds nothing any commit refers to and is made anew.
    if (std::filesystem::exists(path))
        std::filesystem::remove(path);
    VectorFile::create(path, name, options.dimension);
    impl_->catalog->create_domain(d);
    return d;
}

DomainInfo Store::domain(const std::string& name) const {
    return impl_->domain(name);
}
std::vector<DomainInfo> Store::domains() const {
    return impl_->catalog->domains();
}
CommitInfo Store::commit(const std::string& domain, const std::string& commit) const {
    return impl_->commit(domain, commit);
}
std::vector<CommitInfo> Store::commits(const std::string& domain) const {
    impl_->domain(domain);
    return impl_->catalog->commits(domain);
}

std::vector<CommitInfo> Store::log(const std::string& domain, const std::string& commit) const {
    std::vector<CommitInfo> chain = {impl_->commit(domain, commit)};
    while (chain.back().parent && !chain.back().parent_dropped) {
        chain.push_back(impl_->commit(domain, *chain.back().parent));
        if (chain.size() > 1'000'000)
            throw Error::corruption("commit chain of '" + commit + "' loops");
    }
    return chain;
}

void Store::verify_graph(const std::string& domain, const std::string& commit) const {
    detail::verify_commit_graph(impl_->dir, impl_->commit(domain, commit));
}

std::shared_ptr<const Snapshot> Store::open_commit(const std::string& domain,
                                                   const std::string& commit) {
    return impl_->open_commit(domain, commit);
}

IndexPoolStats Store::index_pool_stats() const {
    std::lock_guard lock(impl_->pool_mutex);
    return impl_->pool_stats;
}

std::vector<VectorFileStats> Store::vector_file_stats() const {
    std::lock_guard lock(impl_->files_mutex);
    std::vector<VectorFileStats> all;
    for (const auto& [domain, file] : impl_->files) {
        if (!file)
            continue;
        all.push_back({domain, std::filesystem::path(file->path()).filename().string(),
                       file->mode(), file->size(), file->pool_stats()});
    }
    return all;
}

}  // namespace vstore
