#include "vstore/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "crash_point.h"
#include "file_io.h"
#include "hnsw_graph.h"
#include "snapshot_impl.h"
#include "vstore/format/file_names.h"

namespace vstore {

using detail::commit_seed;
using detail::HnswGraph;
using detail::now_ms;
using detail::short_id;
using detail::thread_count;

namespace {

constexpr size_t kMaxIdBytes = 4096;
constexpr size_t kDefaultEf = 64;

// Writes `bytes` to `dir/name` durably: a temporary file, fsync, rename, fsync of the directory.
void write_file_durably(const std::string& dir, const std::string& name,
                        const std::vector<uint8_t>& bytes) {
    const std::string tmp = dir + "/.tmp-" + std::to_string(::getpid()) + "-" +
                            std::to_string(std::hash<std::string>{}(name));
    const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error::io("cannot create '" + tmp + "'", errno);
    try {
        // Written in two halves so that a crash test can stop between them.
        const size_t half = bytes.size() / 2;
        detail::write_all(fd, bytes.data(), half, 0, tmp);
        detail::crash_point("graph-half-written");
        detail::write_all(fd, bytes.data() + half, bytes.size() - half, half, tmp);
        if (::fsync(fd) != 0)
            throw Error::io("cannot sync '" + tmp + "'", errno);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error::io("cannot rename '" + tmp + "' to '" + name + "'", err);
    }
    detail::crash_point("graph-renamed");
    detail::sync_directory(dir);
}

}  // namespace

// ---- Snapshot ----------------------------------------------------------------------------

Snapshot::Snapshot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Snapshot::~Snapshot() = default;
const CommitInfo& Snapshot::info() const {
    return impl_->info;
}
const DomainInfo& Snapshot::domain() const {
    return impl_->domain;
}
uint64_t Snapshot::size() const {
    return impl_->graph->live_count();
}

std::vector<SearchHit> Snapshot::search(std::span<const float> query, size_t k, size_t ef) const {
    const auto q = impl_->prepare_query(query);
    if (size() <= impl_->options.exact_threshold || k >= size()) {
        return impl_->to_hits(impl_->graph->search_exact(q.data(), k));
    }
    return impl_->to_hits(
        impl_->graph->search(q.data(), k, ef == 0 ? std::max(k, kDefaultEf) : ef));
}

std::vector<SearchHit> Snapshot::search_exact(std::span<const float> query, size_t k) const {
    const auto q = impl_->prepare_query(query);
    return impl_->to_hits(impl_->graph->search_exact(q.data(), k));
}

std::vector<SearchHit> Snapshot::similar(const std::string& id, size_t k, size_t ef) const {
    const auto v = vector(id);
    auto hits = search(v, k + 1, ef == 0 ? 0 : ef + 1);
    std::erase_if(hits, [&](const SearchHit& h) { return h.id == id; });
    if (hits.size() > k)
        hits.resize(k);
    return hits;
}

std::vector<DuplicatePair> Snapshot::duplicates(float threshold) const {
    std::vector<DuplicatePair> pairs;
    std::set<std::pair<uint64_t, uint64_t>> seen;
    const size_t k = std::min<size_t>(size() - (size() > 0), 2 * impl_->domain.m);
    const auto scan = impl_->file->scan_scope();  // every live vector is a query
    for (const auto& [key, id] : impl_->id_of) {
        const auto v = vector(id);
        for (const SearchHit& h : search(v, k + 1)) {
            if (h.distance > threshold || h.id == id)
                continue;
            const uint64_t other = impl_->key_of().at(h.id);
            const auto p = std::minmax(key, other);
            if (seen.insert(p).second) {
                const auto& [a, b] = std::minmax(id, h.id);
                pairs.push_back({a, b, h.distance});
            }
        }
    }
    std::sort(pairs.begin(), pairs.end(), [](const DuplicatePair& x, const DuplicatePair& y) {
        return std::tie(x.distance, x.a, x.b) < std::tie(y.distance, y.a, y.b);
    });
    return pairs;
}

bool Snapshot::contains(const std::string& id) const {
    return impl_->key_of().count(id) != 0;
}

std::vector<float> Snapshot::vector(const std::string& id) const {
    const uint64_t index = *impl_->graph->vector_of(impl_->key(id));
    const LoadedVec v = impl_->file->get(index);
    return {v.data(), v.data() + v.dimension()};
}

std::vector<std::string> Snapshot::ids() const {
    std::vector<std::string> out;
    out.reserve(impl_->id_of.size());
    for (const auto& [key, id] : impl_->id_of)
        out.push_back(id);
    std::sort(out.begin(), out.end());
    return out;
}

GraphCheck Snapshot::check_graph() const {
    const auto h = impl_->graph->health();
    return {h.unreachable_live, h.links_to_removed};
}

// ---- Store -------------------------------------------------------------------------------

struct Store::Impl {
    std::string dir;
    StoreOptions options;
    std::unique_ptr<Catalog> catalog;

    std::mutex files_mutex;
    std::map<std::string, std::shared_ptr<VectorFile>> files;  // readers, one per domain

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

    std::shared_ptr<VectorFile> reader(const DomainInfo& d, uint64_t needed) {
        std::lock_guard lock(files_mutex);
        auto& f = files[d.name];
        if (!f) {
            VectorFileOptions o;
            o.mode = options.mode;
            o.pool_budget_bytes = options.pool_budget_bytes;
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

    DomainInfo domain(const std::string& name) const {
        auto d = catalog->domain(name);
        if (!d)
            throw Error::not_found("unknown domain '" + name + "'");
        return *d;
    }

    CommitInfo commit(const std::string& domain_name, const std::string& commit) const {
        auto c = catalog->commit(domain_name, commit);
        if (!c) {
            domain(domain_name);
            throw Error::not_found("unknown commit '" + commit + "' in domain '" + domain_name +
                                   "'");
        }
        return *c;
    }

    std::shared_ptr<const Snapshot> load(const DomainInfo& d, const CommitInfo& c) {
        const std::string path = dir + "/" + c.graph_file;
        std::vector<uint8_t> bytes;
        try {
            bytes = detail::read_whole_file(path);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::kNotFound)
                throw;
            throw Error::corruption("graph file '" + c.graph_file + "' of commit '" + c.commit +
                                    "' is missing");
        }
        if (bytes.size() != c.graph_bytes ||
            format::graph_file_checksum(bytes) != c.graph_checksum) {
            throw Error::corruption("graph file '" + c.graph_file + "' of commit '" + c.commit +
                                    "' does not match the checksum the catalog recorded");
        }
        const auto data = format::decode_graph_file(bytes, path);
        auto impl = std::make_unique<Snapshot::Impl>();
        impl->file = reader(d, c.vector_count);
        impl->graph =
            HnswGraph::from_file_data(data, *impl->file, 0, commit_seed(d.name, c.commit));
        const std::vector<uint64_t> keys = impl->graph->live_keys();
        auto ids = catalog->external_ids(d.name, keys);
        impl->id_of.reserve(keys.size());
        for (size_t i = 0; i < keys.size(); ++i) {
            if (!ids[i]) {
                throw Error::corruption("commit '" + c.commit + "' of domain '" + d.name +
                                        "' refers to key " + std::to_string(keys[i]) +
                                        ", which the catalog does not know");
            }
            impl->id_of.emplace(keys[i], std::move(*ids[i]));
        }
        return finish_snapshot(std::move(impl), d, c);
    }

    // `impl` holds the graph, its vector file and the ids of its live keys.
    std::shared_ptr<const Snapshot> finish_snapshot(std::unique_ptr<Snapshot::Impl> impl,
                                                    const DomainInfo& d, const CommitInfo& c) {
        impl->info = c;
        impl->domain = d;
        impl->options = options;
        return std::shared_ptr<const Snapshot>(new Snapshot(std::move(impl)));
    }

    // Drops least recently used loaded commits beyond the caps. Users keep theirs alive
    // through their shared_ptr; the pool only forgets them.
    void enforce_caps_locked(const std::string& keep) {
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

    void admit(const std::string& key, std::shared_ptr<const Snapshot> snapshot) {
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

    std::shared_ptr<const Snapshot> open_commit(const std::string& domain_name,
                                                const std::string& commit_id) {
        const std::string key = domain_name + '\0' + commit_id;
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
            const DomainInfo d = domain(domain_name);
            auto snapshot = load(d, commit(domain_name, commit_id));
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
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::create(const std::string& dir, StoreOptions options) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw Error::io("cannot create store directory '" + dir + "'", ec.value());
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

DomainInfo Store::create_domain(const std::string& name, const DomainOptions& options) {
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
    while (chain.back().parent) {
        chain.push_back(impl_->commit(domain, *chain.back().parent));
        if (chain.size() > 1'000'000)
            throw Error::corruption("commit chain of '" + commit + "' loops");
    }
    return chain;
}

std::shared_ptr<const Snapshot> Store::open_commit(const std::string& domain,
                                                   const std::string& commit) {
    return impl_->open_commit(domain, commit);
}

IndexPoolStats Store::index_pool_stats() const {
    std::lock_guard lock(impl_->pool_mutex);
    return impl_->pool_stats;
}

// ---- CommitBuilder -------------------------------------------------------------------------

struct CommitBuilder::Impl {
    Store::Impl* store = nullptr;
    DomainInfo domain;
    std::string commit;
    std::optional<std::string> parent;
    int lock_fd = -1;

    enum class Op { kInsert, kDelete, kReplace };
    struct Operation {
        Op op;
        std::string id;
        size_t vector = 0;  // index into `vectors` / dimension
    };
    std::vector<Operation> ops;
    std::unordered_set<std::string> ids_in_batch;
    std::vector<float> vectors;
    bool finished = false;
    // The parent, loaded at the first operation; in snapshot mode (put), the ids put unchanged.
    enum class Mode { kUnknown, kOperations, kSnapshot } mode = Mode::kUnknown;
    std::shared_ptr<const Snapshot> parent_snapshot;
    // Snapshot mode revisits most of the parent's vectors.
    std::optional<VectorFile::ScanScope> parent_scan;
    std::unordered_set<std::string> unchanged;
    bool deletes_added = false;

    void enter(Mode wanted) {
        if (mode == Mode::kUnknown)
            mode = wanted;
        if (mode != wanted) {
            throw Error::invalid_argument(
                "commit '" + commit + "' mixes put() (snapshot mode) with insert/remove/replace");
        }
    }

    // Whether `id` is live in the parent, which is loaded at the first operation.
    bool parent_live(const std::string& id) {
        if (parent && !parent_snapshot)
            parent_snapshot = store->open_commit(domain.name, *parent);
        return parent_snapshot && parent_snapshot->contains(id);
    }

    void put(const std::string& id, std::span<const float> vector) {
        enter(Mode::kSnapshot);
        if (unchanged.count(id)) {
            throw Error::invalid_argument("id '" + short_id(id) + "' appears twice in commit '" +
                                          commit + "'");
        }
        const bool in_parent = parent_live(id);
        add(in_parent ? Op::kReplace : Op::kInsert, id, vector);
        if (!in_parent)
            return;
        // Compare the vector as it would be stored with the parent's, bit for bit.
        const Snapshot::Impl& p = *parent_snapshot->impl_;
        if (!parent_scan)
            parent_scan.emplace(p.file->scan_scope());
        const LoadedVec old = p.file->get(*p.graph->vector_of(p.key(id)));
        const float* now = vectors.data() + vectors.size() - domain.dimension;
        if (std::memcmp(old.data(), now, domain.dimension * sizeof(float)) == 0) {
            vectors.resize(vectors.size() - domain.dimension);
            ops.pop_back();
            ids_in_batch.erase(id);
            unchanged.insert(id);
        }
    }

    // Snapshot mode: every id of the parent that was not put is deleted.
    void delete_ids_not_put() {
        if (mode != Mode::kSnapshot || !parent_snapshot || deletes_added)
            return;
        deletes_added = true;
        std::vector<std::string> gone;
        for (const auto& [key, id] : parent_snapshot->impl_->id_of) {
            if (!ids_in_batch.count(id) && !unchanged.count(id))
                gone.push_back(id);
        }
        std::sort(gone.begin(), gone.end());
        for (const auto& id : gone)
            add(Op::kDelete, id, {});
    }

    ~Impl() {
        if (lock_fd >= 0)
            ::close(lock_fd);  // releases the store's writer lock
    }

    void add(Op op, const std::string& id, std::span<const float> vector) {
        if (finished)
            throw Error::invalid_argument("commit '" + commit + "' is already finished");
        if (id.empty() || id.size() > kMaxIdBytes) {
            throw Error::invalid_argument("id '" + short_id(id) + "' must be 1.." +
                                          std::to_string(kMaxIdBytes) + " bytes");
        }
        if (ids_in_batch.count(id)) {
            throw Error::invalid_argument("id '" + short_id(id) + "' appears twice in commit '" +
                                          commit + "'");
        }
        // Checked against the parent as it is added, so that the caller's error names it.
        const bool live = parent_live(id);
        if (op == Op::kInsert && live) {
            throw Error::conflict("id '" + short_id(id) + "' is already live in parent commit '" +
                                  *parent + "'");
        }
        if (op != Op::kInsert && !live) {
            throw Error::not_found("id '" + short_id(id) + "' is not live in " +
                                   (parent ? "parent commit '" + *parent + "'"
                                           : std::string("an empty first commit")) +
                                   "; cannot " + (op == Op::kDelete ? "delete" : "replace") +
                                   " it");
        }
        Operation o{op, id, 0};
        if (op != Op::kDelete) {
            if (vector.size() != domain.dimension) {
                throw Error::invalid_argument("vector of id '" + short_id(id) + "' has " +
                                              std::to_string(vector.size()) +
                                              " components; domain '" + domain.name + "' has " +
                                              std::to_string(domain.dimension));
            }
            double norm = 0;
            for (float x : vector) {
                if (!std::isfinite(x)) {
                    throw Error::invalid_argument("vector of id '" + short_id(id) +
                                                  "' has a NaN or infinite component");
                }
                norm += double(x) * x;
            }
            o.vector = vectors.size() / domain.dimension;
            vectors.insert(vectors.end(), vector.begin(), vector.end());
            if (domain.metric == Metric::kCosine) {
                if (norm == 0) {
                    vectors.resize(vectors.size() - domain.dimension);
                    throw Error::invalid_argument("vector of id '" + short_id(id) +
                                                  "' is zero, which has no cosine distance");
                }
                const float inv = static_cast<float>(1.0 / std::sqrt(norm));
                for (size_t i = vectors.size() - domain.dimension; i < vectors.size(); ++i) {
                    vectors[i] *= inv;
                }
            }
        }
        ids_in_batch.insert(id);
        ops.push_back(std::move(o));
    }
};

CommitBuilder::CommitBuilder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CommitBuilder::CommitBuilder(CommitBuilder&&) noexcept = default;
CommitBuilder& CommitBuilder::operator=(CommitBuilder&&) noexcept = default;
CommitBuilder::~CommitBuilder() = default;

void CommitBuilder::insert(const std::string& id, std::span<const float> vector) {
    impl_->enter(Impl::Mode::kOperations);
    impl_->add(Impl::Op::kInsert, id, vector);
}
void CommitBuilder::remove(const std::string& id) {
    impl_->enter(Impl::Mode::kOperations);
    impl_->add(Impl::Op::kDelete, id, {});
}
void CommitBuilder::replace(const std::string& id, std::span<const float> vector) {
    impl_->enter(Impl::Mode::kOperations);
    impl_->add(Impl::Op::kReplace, id, vector);
}
void CommitBuilder::put(const std::string& id, std::span<const float> vector) {
    impl_->put(id, vector);
}

CommitBuilder Store::begin_commit(const std::string& domain, const std::string& commit,
                                  std::optional<std::string> parent) {
    format::validate_name("commit", commit);
    auto impl = std::make_unique<CommitBuilder::Impl>();
    impl->store = impl_.get();
    impl->domain = impl_->domain(domain);
    impl->commit = commit;
    impl->parent = parent;
    format::graph_file_name(domain, commit);  // validates the resulting file name
    // One writer per store, across processes: held until the builder finishes or is dropped.
    const std::string lock_path = impl_->dir + "/writer.lock";
    impl->lock_fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (impl->lock_fd < 0)
        throw Error::io("cannot open '" + lock_path + "'", errno);
    if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        throw Error::conflict("store '" + impl_->dir + "' is busy: another commit is being built");
    }
    if (impl_->catalog->commit(domain, commit)) {
        throw Error::conflict("commit '" + commit + "' already exists in domain '" + domain + "'");
    }
    if (parent && !impl_->catalog->commit(domain, *parent)) {
        throw Error::not_found("unknown parent commit '" + *parent + "' in domain '" + domain +
                               "'");
    }
    return CommitBuilder(std::move(impl));
}

CommitInfo CommitBuilder::finish() {
    Impl& b = *impl_;
    if (b.finished)
        throw Error::invalid_argument("commit '" + b.commit + "' is already finished");
    Store::Impl& store = *b.store;
    const DomainInfo& d = b.domain;
    const unsigned threads = thread_count(store.options.threads);

    if (b.parent && !b.parent_snapshot)
        b.parent_snapshot = store.open_commit(d.name, *b.parent);
    const std::shared_ptr<const Snapshot> parent = b.parent_snapshot;
    b.delete_ids_not_put();

    // Every operation was checked against the parent as it was added.
    CommitInfo info;
    info.domain = d.name;
    info.commit = b.commit;
    info.parent = b.parent;
    std::vector<std::pair<std::string, uint64_t>> new_ids;
    uint64_t next_key = store.catalog->domain(d.name)->next_key;
    std::vector<uint64_t> op_keys(b.ops.size());
    for (size_t i = 0; i < b.ops.size(); ++i) {
        const auto& op = b.ops[i];
        if (op.op == Impl::Op::kInsert) {
            if (auto key = store.catalog->find_key(d.name, op.id)) {
                op_keys[i] = *key;
            } else {
                op_keys[i] = next_key++;
                new_ids.emplace_back(op.id, op_keys[i]);
            }
            ++info.inserted;
        } else {
            op_keys[i] = parent->impl_->key_of().at(op.id);
            ++(op.op == Impl::Op::kDelete ? info.deleted : info.replaced);
        }
    }

    // Vectors first, durable before anything refers to them.
    uint64_t first_vector = 0;
    {
        VectorFileOptions w;
        w.writable = true;
        auto writer = VectorFile::open(store.dir + "/" + d.vector_file, w);
        first_vector = writer->append(b.vectors);
        info.vector_count = writer->size();
    }
    detail::crash_point("vectors-appended");
    auto file = store.reader(d, info.vector_count);

    const uint64_t seed = commit_seed(d.name, b.commit);
    const size_t additions = info.inserted + info.replaced;
    std::unique_ptr<HnswGraph> graph =
        parent ? HnswGraph::from_file_data(parent->impl_->graph->to_file_data(), *file, additions,
                                           seed)
               : std::make_unique<HnswGraph>(
                     detail::GraphParams{d.metric, d.dimension, d.m, d.ef_construction}, *file,
                     additions, seed);
    const bool replace_by_update = store.options.replace_strategy == ReplaceStrategy::kUpdate;
    std::vector<uint64_t> deletes;
    std::vector<std::pair<uint64_t, uint64_t>> inserts;
    for (size_t i = 0; i < b.ops.size(); ++i) {
        const auto& op = b.ops[i];
        const bool reinsert = op.op == Impl::Op::kReplace && !replace_by_update;
        if (op.op == Impl::Op::kDelete || reinsert)
            deletes.push_back(op_keys[i]);
        if (op.op == Impl::Op::kInsert || reinsert) {
            inserts.emplace_back(op_keys[i], first_vector + op.vector);
        }
    }
    graph->remove_batch(deletes, threads);
    if (replace_by_update) {
        for (size_t i = 0; i < b.ops.size(); ++i) {
            if (b.ops[i].op == Impl::Op::kReplace) {
                graph->replace(op_keys[i], first_vector + b.ops[i].vector);
            }
        }
    }
    graph->insert_batch(inserts, threads);
    if (graph->tombstone_count() > store.options.tombstone_threshold * graph->node_count()) {
        // Compaction: a fresh graph of the live nodes, built in parallel.
        std::vector<std::pair<uint64_t, uint64_t>> live;
        for (uint64_t key : graph->live_keys())
            live.emplace_back(key, *graph->vector_of(key));
        graph = std::make_unique<HnswGraph>(graph->params(), *file, live.size(), seed);
        graph->insert_batch(live, threads);
        info.compacted = true;
    }
    graph->repair_reachability();

    format::GraphFileData data = graph->to_file_data();
    data.domain = d.name;
    data.commit = b.commit;
    data.parent = b.parent;
    data.vector_count = info.vector_count;
    data.created_unix_ms = info.created_unix_ms = now_ms();
    const auto bytes = format::encode_graph_file(data);
    info.graph_file = format::graph_file_name(d.name, b.commit);
    info.graph_bytes = bytes.size();
    info.graph_checksum = format::graph_file_checksum(bytes);
    info.live_count = graph->live_count();
    info.tombstone_count = graph->tombstone_count();
    write_file_durably(store.dir, info.graph_file, bytes);

    store.catalog->publish_commit(info, new_ids);
    detail::crash_point("catalog-published");
    b.finished = true;
    ::close(b.lock_fd);  // the store is free for the next writer
    b.lock_fd = -1;

    // The new commit's ids follow from its parent's and the batch, without the catalog.
    auto impl = std::make_unique<Snapshot::Impl>();
    if (parent)
        impl->id_of = parent->impl_->id_of;
    for (size_t i = 0; i < b.ops.size(); ++i) {
        const auto& op = b.ops[i];
        if (op.op == Impl::Op::kDelete) {
            impl->id_of.erase(op_keys[i]);
        } else if (op.op == Impl::Op::kInsert) {
            impl->id_of.emplace(op_keys[i], op.id);
        }
    }
    impl->file = file;
    impl->graph = std::move(graph);
    store.admit(d.name + '\0' + b.commit, store.finish_snapshot(std::move(impl), d, info));
    return info;
}

}  // namespace vstore
