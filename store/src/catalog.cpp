// The LMDB catalog (spec/catalog.md).
#include "vstore/catalog.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <string_view>

#include "crash_point.h"
#include "file_io.h"
#include "lmdb_meta.h"
#include "lmdb_tree_check.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"
#include "writer_lock.h"

namespace vstore {

namespace detail {
// Test seam: replaces the 64-bit hash of long external ids (spec/catalog.md, "ids") so that
// tests can force collisions; nullptr restores XXH3-64. Not part of the public API.
void set_catalog_id_hash_for_testing(uint64_t (*hash)(std::string_view));
}  // namespace detail

namespace {

// ---- The environment (spec/catalog.md); the records' bytes are format/catalog_records ----

constexpr size_t kMapSize = size_t(1) << 40;  // 1 TiB of address space; the file stays sparse
constexpr size_t kMinMapSize = size_t(1) << 30;
constexpr unsigned kMaxDbs = 8;
constexpr unsigned kMaxReaders = 1024;

std::atomic<uint64_t (*)(std::string_view)> g_id_hash{&format::external_id_hash};

// ---- Catalogs open in this process ---------------------------------------------------------

// LMDB forbids opening one environment twice in a process (closing either handle would drop
// the other's POSIX locks). Keyed by canonical directory; the value is the opening pid, so a
// child after fork() is not refused because of its parent's catalogs.
std::mutex g_open_mutex;
std::map<std::string, pid_t> g_open;

class Registration {
  public:
    Registration() = default;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { release(); }

    void acquire(const std::string& key, const std::string& path) {
        std::lock_guard lock(g_open_mutex);
        auto [it, inserted] = g_open.emplace(key, ::getpid());
        if (!inserted) {
            if (it->second == ::getpid())
                throw Error::conflict("catalog '" + path + "' is already open in this process");
            it->second = ::getpid();
        }
        key_ = key;
    }

    void release() {
        if (key_.empty())
            return;
        std::lock_guard lock(g_open_mutex);
        auto it = g_open.find(key_);
        if (it != g_open.end() && it->second == ::getpid())
            g_open.erase(it);
        key_.clear();
    }

  private:
    std::string key_;
};

// ---- Byte helpers ------------------------------------------------------------------------

using Bytes = std::span<const uint8_t>;

Bytes bytes_of(const MDB_val& v) {
    return {static_cast<const uint8_t*>(v.mv_data), v.mv_size};
}

Bytes bytes_of_view(std::string_view v) {
    return {reinterpret_cast<const uint8_t*>(v.data()), v.size()};
}

std::string_view view_of(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

MDB_val val_of(const std::string& s) {
    return {s.size(), const_cast<char*>(s.data())};
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// A file name recorded in the catalog: one non-empty path component.
void validate_file_name(std::string_view what, std::string_view name) {
    if (!format::is_catalog_file_name(name)) {
        throw Error::invalid_argument(std::string(what) + " '" + std::string(name) +
                                      "' is not a file name (1 to 255 bytes, no '/' or NUL, "
                                      "not '.' or '..')");
    }
}

bool metric_valid(uint32_t m) {
    return m >= 1 && m <= 3;
}

std::string describe_id(std::string_view id) {
    return format::describe_external_id(id);
}

// ---- RAII wrappers -----------------------------------------------------------------------

struct EnvHandle {
    MDB_env* env = nullptr;
    EnvHandle() = default;
    EnvHandle(const EnvHandle&) = delete;
    EnvHandle& operator=(const EnvHandle&) = delete;
    ~EnvHandle() {
        if (env != nullptr)
            ::mdb_env_close(env);
    }
};

}  // namespace

namespace detail {
void set_catalog_id_hash_for_testing(uint64_t (*hash)(std::string_view)) {
    g_id_hash.store(hash != nullptr ? hash : &format::external_id_hash);
}
}  // namespace detail

// ---- Impl --------------------------------------------------------------------------------

namespace {

// The open environment and its databases. Catalog::Impl is a Core; the helpers below name it
// Core because Catalog::Impl is private to Catalog.
struct Core {
    std::string path;  // <dir>/catalog
    Registration registration;
    EnvHandle env;
    MDB_dbi meta = 0, domains = 0, commits = 0, ids = 0, keys = 0, vectors = 0;
    // The map LMDB reads the data file through (found once, at open), and its page size.
    const uint8_t* map_base = nullptr;
    uint64_t map_bytes = 0;
    uint32_t page_size = 0;

    std::string where() const { return "catalog '" + path + "'"; }

    // A key or value that LMDB hands out from its map must end within the pages in use: a
    // damaged node or overflow header could otherwise send a decoder past the end of the
    // file (SIGBUS) or of the map. Pages a write transaction changed live outside the map.
    void check_mapped(const MDB_val& v, const char* what) const {
        const auto* p = static_cast<const uint8_t*>(v.mv_data);
        if (p < map_base || p >= map_base + map_bytes)
            return;
        MDB_envinfo info;
        check(::mdb_env_info(env.env, &info), "cannot read the environment's state");
        const uint64_t in_use = (uint64_t(info.me_last_pgno) + 1) * page_size;
        const uint64_t offset = static_cast<uint64_t>(p - map_base);
        if (offset > in_use || v.mv_size > in_use - offset) {
            throw Error::corruption(where() + ": " + what + ": an entry of " +
                                    std::to_string(v.mv_size) + " bytes at offset " +
                                    std::to_string(offset) + " runs past the " +
                                    std::to_string(in_use) + " bytes in use (a damaged page)");
        }
    }

    [[noreturn]] void fail(int rc, const std::string& what) const {
        const std::string m = where() + ": " + what + ": " + ::mdb_strerror(rc);
        if (rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            throw Error::corruption(m);
        throw Error(ErrorCode::kIO, m);
    }

    void check(int rc, const char* what) const {
        if (rc != 0)
            fail(rc, what);
    }

    // The name of a database, for messages and seals' errors.
    const char* database_name(MDB_dbi dbi) const {
        if (dbi == domains) return "domains";
        if (dbi == commits) return "commits";
        if (dbi == ids) return "ids";
        if (dbi == keys) return "keys";
        if (dbi == vectors) return "vectors";
        return "meta";
    }

    // The record of a sealed value (format version 2), its seal checked.
    Bytes record_of(MDB_dbi dbi, std::string_view key, const MDB_val& value) const {
        return format::unseal_catalog_value(path, database_name(dbi), key, bytes_of(value));
    }

    // Record decoders (format/catalog_records), converted to the public structs.
    DomainInfo decode_domain(std::string_view name, Bytes b) const;
    CommitInfo decode_commit(std::string_view domain, std::string_view commit, Bytes b) const;
};

class Txn {
  public:
    Txn(const Core& c, bool write) : c_(c) {
        c_.check(::mdb_txn_begin(c_.env.env, nullptr, write ? 0 : MDB_RDONLY, &txn_),
                 write ? "cannot begin a write transaction" : "cannot begin a read transaction");
    }
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    ~Txn() {
        if (txn_ != nullptr)
            ::mdb_txn_abort(txn_);
    }

    MDB_txn* get() const { return txn_; }

    void commit() {
        MDB_txn* t = txn_;
        txn_ = nullptr;  // mdb_txn_commit frees the transaction even when it fails
        c_.check(::mdb_txn_commit(t), "cannot commit");
    }

    // The value under `key` as LMDB holds it, or nullopt.
    std::optional<MDB_val> find_raw(MDB_dbi dbi, const std::string& key, const char* what) const {
        MDB_val k = val_of(key), v{};
        const int rc = ::mdb_get(txn_, dbi, &k, &v);
        if (rc == MDB_NOTFOUND)
            return std::nullopt;
        c_.check(rc, what);
        c_.check_mapped(v, what);
        return v;
    }

    // The record under `key`, its seal checked, or nullopt.
    std::optional<Bytes> find(MDB_dbi dbi, const std::string& key, const char* what) const {
        const auto v = find_raw(dbi, key, what);
        if (!v)
            return std::nullopt;
        return c_.record_of(dbi, key, *v);
    }

    // Writes `record` sealed under `key`; LMDB's return code (MDB_KEYEXIST with
    // MDB_NOOVERWRITE).
    int put(MDB_dbi dbi, const std::string& key, const std::string& record,
            unsigned flags = 0) const {
        const std::string value = format::seal_catalog_value(key, record);
        MDB_val k = val_of(key), v = val_of(value);
        return ::mdb_put(txn_, dbi, &k, &v, flags);
    }

  private:
    const Core& c_;
    MDB_txn* txn_ = nullptr;
};

class Cursor {
  public:
    Cursor(const Core& c, const Txn& txn, MDB_dbi dbi) : c_(c), dbi_(dbi) {
        c_.check(::mdb_cursor_open(txn.get(), dbi, &cur_), "cannot open a cursor");
    }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    ~Cursor() { ::mdb_cursor_close(cur_); }

    // Positions at the first key >= `key` (MDB_SET_RANGE) or moves on (MDB_NEXT); false at
    // the end.
    bool seek(const std::string& key) {
        k_ = val_of(key);
        return step(MDB_SET_RANGE);
    }
    bool first() { return step(MDB_FIRST); }
    bool next() { return step(MDB_NEXT); }
    std::string_view key() const { return view_of(k_); }
    bool key_starts_with(std::string_view prefix) const { return starts_with(key(), prefix); }
    // The record at the cursor, its seal checked.
    Bytes value() const { return c_.record_of(dbi_, key(), v_); }
    // The value as LMDB holds it (a catalog of format version 1 being upgraded).
    const MDB_val& raw_value() const { return v_; }

  private:
    bool step(MDB_cursor_op op) {
        const int rc = ::mdb_cursor_get(cur_, &k_, &v_, op);
        if (rc == MDB_NOTFOUND)
            return false;
        c_.check(rc, "cannot read with a cursor");
        c_.check_mapped(k_, "cannot read with a cursor");
        c_.check_mapped(v_, "cannot read with a cursor");
        return true;
    }

    const Core& c_;
    MDB_dbi dbi_;
    MDB_cursor* cur_ = nullptr;
    MDB_val k_{}, v_{};
};

// ---- Conversions between the public structs and the records -----------------------------

// The record of `d` with `next_key`: the catalog's own state, which DomainInfo does not carry.
format::DomainRecord to_record(const DomainInfo& d, uint64_t next_key) {
    format::DomainRecord r;
    r.dimension = d.dimension;
    r.metric = d.metric;
    r.m = d.m;
    r.ef_construction = d.ef_construction;
    r.vector_file = d.vector_file;
    r.next_key = next_key;
    r.created_unix_ms = d.created_unix_ms;
    return r;
}

format::CommitRecord to_record(const CommitInfo& c) {
    format::CommitRecord r;
    r.parent = c.parent;
    r.graph_file = c.graph_file;
    r.graph_checksum = c.graph_checksum;
    r.graph_bytes = c.graph_bytes;
    r.vector_count = c.vector_count;
    r.live_count = c.live_count;
    r.tombstone_count = c.tombstone_count;
    r.inserted = c.inserted;
    r.deleted = c.deleted;
    r.replaced = c.replaced;
    r.compacted = c.compacted;
    r.created_unix_ms = c.created_unix_ms;
    r.graph_kind = c.graph_kind;
    r.graph_format = c.graph_format;
    r.graph_chain.reserve(c.graph_chain.size());
    for (const GraphFileRef& f : c.graph_chain)
        r.graph_chain.push_back({f.name, f.bytes, f.checksum});
    r.graph_owner = c.graph_owner;
    r.parent_dropped = c.parent_dropped;
    r.owner_dropped = c.owner_dropped;
    return r;
}

DomainInfo Core::decode_domain(std::string_view name, Bytes b) const {
    format::DomainRecord r = format::decode_domain_record(path, name, b);
    DomainInfo d;
    d.name = std::string(name);
    d.dimension = r.dimension;
    d.metric = r.metric;
    d.m = r.m;
    d.ef_construction = r.ef_construction;
    d.vector_file = std::move(r.vector_file);
    d.created_unix_ms = r.created_unix_ms;
    return d;
}

CommitInfo Core::decode_commit(std::string_view domain, std::string_view commit, Bytes b) const {
    format::CommitRecord r = format::decode_commit_record(path, domain, commit, b);
    CommitInfo c;
    c.domain = std::string(domain);
    c.commit = std::string(commit);
    c.parent = std::move(r.parent);
    c.graph_file = std::move(r.graph_file);
    c.graph_checksum = r.graph_checksum;
    c.graph_bytes = r.graph_bytes;
    c.vector_count = r.vector_count;
    c.live_count = r.live_count;
    c.tombstone_count = r.tombstone_count;
    c.inserted = r.inserted;
    c.deleted = r.deleted;
    c.replaced = r.replaced;
    c.compacted = r.compacted;
    c.created_unix_ms = r.created_unix_ms;
    c.graph_kind = r.graph_kind;
    c.graph_format = r.graph_format;
    c.graph_chain.reserve(r.graph_chain.size());
    for (format::GraphFileRecord& f : r.graph_chain)
        c.graph_chain.push_back({std::move(f.name), f.bytes, f.checksum});
    c.graph_owner = std::move(r.graph_owner);
    c.parent_dropped = r.parent_dropped;
    c.owner_dropped = r.owner_dropped;
    return c;
}

// Looks `id` up in `domain`'s part of `ids`: its key if interned, and the LMDB key of its
// entry (for an absent long id: the key with the next free collision counter).
struct IdLookup {
    std::optional<uint64_t> key;
    std::string entry_key;  // where the id is, or where to put it
};

IdLookup lookup_id(const Core& c, const Txn& txn, const std::string& domain, std::string_view id) {
    IdLookup r;
    if (id.size() <= format::kShortIdMax) {
        r.entry_key = format::scoped_key(domain, id);
        if (auto v = txn.find(c.ids, r.entry_key, "cannot read an id"))
            r.key = format::decode_short_id_record(c.path, domain, id, *v);
        return r;
    }
    // Long ids: scan the collision chain under domain, NUL, prefix, hash.
    const auto hash = g_id_hash.load(std::memory_order_relaxed);
    const std::string base = format::long_id_base(domain, id, hash(id));
    uint64_t next_counter = 0;
    Cursor cur(c, txn, c.ids);
    for (bool ok = cur.seek(base); ok && starts_with(cur.key(), base); ok = cur.next()) {
        const format::LongIdEntry e = format::decode_long_id_record(c.path, domain, id, cur.key(),
                                                                    cur.value(), hash);
        if (e.stored_id == id) {
            r.key = e.key;
            r.entry_key = std::string(cur.key());
            return r;
        }
        next_counter = uint64_t(e.counter) + 1;
    }
    if (next_counter > UINT32_MAX)
        throw Error::conflict(c.where() + ": too many ids collide with " + describe_id(id));
    r.entry_key = format::long_id_key(base, static_cast<uint32_t>(next_counter));
    return r;
}

std::string make_tmp_name(const std::filesystem::path& dir) {
    std::random_device rd;
    const uint64_t r = (uint64_t(rd()) << 32) ^ rd();
    char name[64];
    std::snprintf(name, sizeof name, ".tmp-catalog-%d-%016llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(r));
    return (dir / name).string();
}

// Creates and configures an environment handle and opens `path` with it. The map is reserved
// address space, not memory; where the process may not reserve kMapSize (ThreadSanitizer,
// tight address-space limits), smaller reservations are tried down to kMinMapSize.
void open_env(Core& c, const std::string& path) {
    for (size_t map_size = kMapSize;; map_size /= 4) {
        c.check(::mdb_env_create(&c.env.env), "cannot create an LMDB environment");
        c.check(::mdb_env_set_mapsize(c.env.env, map_size), "cannot set the map size");
        c.check(::mdb_env_set_maxdbs(c.env.env, kMaxDbs), "cannot set the number of databases");
        c.check(::mdb_env_set_maxreaders(c.env.env, kMaxReaders),
                "cannot set the number of readers");
        if (::mdb_env_get_maxkeysize(c.env.env) < static_cast<int>(format::kCatalogLongestKey))
            throw Error(ErrorCode::kIO, c.where() + ": this liblmdb's key size limit (" +
                                            std::to_string(::mdb_env_get_maxkeysize(c.env.env)) +
                                            ") is below 511 bytes");
        const int rc = ::mdb_env_open(c.env.env, path.c_str(), MDB_NOSUBDIR | MDB_NOTLS, 0644);
        if (rc == ENOMEM && map_size / 4 >= kMinMapSize) {
            ::mdb_env_close(c.env.env);  // a failed open leaves the handle fit only for this
            c.env.env = nullptr;
            continue;
        }
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            throw Error::corruption(c.where() + " is not a vstore catalog: " + ::mdb_strerror(rc));
        c.check(rc, "cannot open");
        return;
    }
}

// Writes a new, complete catalog under a temporary name and links it to `path`: `path` either
// does not exist or holds the format record and every database. Losing the race to another
// creator is fine: its catalog is then opened. Under the writer lock, as every temporary file
// of a store is written (spec/lifecycle.md, "Crash leftovers").
void create_catalog(const std::filesystem::path& dir, const std::string& path) {
    const detail::WriterLock lock(dir.string(), detail::WriterLock::Wait{});
    struct stat st;
    if (::stat(path.c_str(), &st) == 0)
        return;  // another creator finished while this one waited
    const std::string tmp = make_tmp_name(dir);
    const auto cleanup = [&] {
        ::unlink(tmp.c_str());
        ::unlink((tmp + "-lock").c_str());
    };
    try {
        Core c;
        c.path = tmp;
        open_env(c, tmp);
        Txn txn(c, true);
        for (const char* name : {"meta", "domains", "commits", "ids", "keys", "vectors"}) {
            MDB_dbi dbi;
            c.check(::mdb_dbi_open(txn.get(), name, MDB_CREATE, &dbi), "cannot create a database");
            if (std::string_view(name) == "meta")
                c.meta = dbi;
        }
        const std::string record = format::encode_catalog_format_record();
        const std::string key = "format";
        MDB_val k = val_of(key), v = val_of(record);
        c.check(::mdb_put(txn.get(), c.meta, &k, &v, 0), "cannot write the format record");
        txn.commit();  // durable: LMDB syncs the data, then the meta page
    } catch (...) {
        cleanup();
        throw;
    }
    if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
        const int err = errno;
        cleanup();
        throw Error::io("cannot link '" + tmp + "' to '" + path + "'", err);
    }
    cleanup();
    detail::sync_directory(dir.string());
}

// The format version of the catalog's format record (1 or 2).
uint32_t read_format_version(const Core& c, const Txn& txn) {
    const auto record = txn.find_raw(c.meta, "format", "cannot read the format record");
    return format::check_catalog_format_record(
        c.path, record ? std::optional<Bytes>(bytes_of(*record)) : std::nullopt);
}

// Upgrades a catalog of format version 1 to version 2 inside `txn`: every value of every
// database gains its seal, and the format record says version 2.
void seal_every_value(const Core& c, const Txn& txn) {
    for (const MDB_dbi dbi : {c.domains, c.commits, c.ids, c.keys, c.vectors}) {
        std::vector<std::pair<std::string, std::string>> entries;
        {
            Cursor cur(c, txn, dbi);
            for (bool ok = cur.first(); ok; ok = cur.next())
                entries.emplace_back(cur.key(), view_of(cur.raw_value()));
        }
        for (const auto& [key, record] : entries)
            c.check(txn.put(dbi, key, record), "cannot seal a record");
    }
    const std::string format_key = "format", format_record = format::encode_catalog_format_record();
    MDB_val k = val_of(format_key), v = val_of(format_record);
    c.check(::mdb_put(txn.get(), c.meta, &k, &v, 0), "cannot write the format record");
}

}  // namespace

struct Catalog::Impl : Core {};

// ---- Catalog -----------------------------------------------------------------------------

Catalog::Catalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Catalog::~Catalog() = default;

std::unique_ptr<Catalog> Catalog::open(const std::string& dir, bool create) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path canonical = fs::canonical(dir, ec);
    if (ec || !fs::is_directory(canonical))
        throw Error::not_found("store directory '" + dir + "' does not exist");

    auto impl = std::make_unique<Impl>();
    impl->path = (fs::path(dir) / "catalog").string();
    impl->registration.acquire(canonical.string(), impl->path);

    struct stat st;
    if (::stat(impl->path.c_str(), &st) != 0) {
        if (errno != ENOENT)
            throw Error::io("cannot stat '" + impl->path + "'", errno);
        if (!create)
            throw Error::not_found(impl->where() + " does not exist");
        create_catalog(canonical, (canonical / "catalog").string());
        if (::stat(impl->path.c_str(), &st) != 0)
            throw Error::io("cannot stat '" + impl->path + "'", errno);
    }
    // LMDB would initialise an empty file as a new environment; it is not a catalog.
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        throw Error::corruption(impl->where() + " is not a vstore catalog: the file is empty");

    // LMDB reads whatever pages its meta page names through its map: a truncated file must be
    // refused before the map exists.
    detail::check_lmdb_file_size(impl->path, impl->where());
    Impl& c = *impl;
    open_env(c, c.path);
    MDB_stat stat;
    c.check(::mdb_env_stat(c.env.env, &stat), "cannot read the environment's state");
    c.page_size = stat.ms_psize;
    MDB_envinfo info;
    c.check(::mdb_env_info(c.env.env, &info), "cannot read the environment's state");
    c.map_bytes = info.me_mapsize;
    c.map_base = detail::lmdb_map_address(c.path, c.where());
    int dead = 0;
    c.check(::mdb_reader_check(c.env.env, &dead), "cannot clear stale readers");

    Txn txn(c, false);
    // LMDB follows the pages its trees name without checking them: walk them all once, under
    // this read transaction (which keeps a writer from reusing them), before any lookup.
    if (::stat(impl->path.c_str(), &st) != 0)
        throw Error::io("cannot stat '" + impl->path + "'", errno);
    detail::check_lmdb_trees(c.map_base, std::min<uint64_t>(static_cast<uint64_t>(st.st_size),
                                                           c.map_bytes),
                             c.where());
    const auto open_db = [&](const char* name, MDB_dbi& dbi) {
        const int rc = ::mdb_dbi_open(txn.get(), name, 0, &dbi);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            throw Error::corruption(c.where() + " is not a vstore catalog: it has no database '" +
                                    name + "'");
        c.check(rc, "cannot open a database");
    };
    open_db("meta", c.meta);
    const uint32_t version = read_format_version(c, txn);
    open_db("domains", c.domains);
    open_db("commits", c.commits);
    open_db("ids", c.ids);
    open_db("keys", c.keys);
    // `vectors` (the content index) came later: a catalog made before it gains it, empty.
    const int vrc = ::mdb_dbi_open(txn.get(), "vectors", 0, &c.vectors);
    if (vrc != MDB_NOTFOUND)
        c.check(vrc, "cannot open a database");
    txn.commit();  // makes the database handles available to every later transaction
    if (vrc == MDB_NOTFOUND || version == format::kCatalogFormatV1) {
        // A catalog made by an older build gains what this build writes, in one transaction:
        // the `vectors` database, and the seals of format version 2.
        Txn upgrade(c, true);
        if (vrc == MDB_NOTFOUND)
            c.check(::mdb_dbi_open(upgrade.get(), "vectors", MDB_CREATE, &c.vectors),
                    "cannot create a database");
        // Another process may have upgraded it since the read above.
        if (read_format_version(c, upgrade) == format::kCatalogFormatV1)
            seal_every_value(c, upgrade);
        upgrade.commit();
    }
    return std::unique_ptr<Catalog>(new Catalog(std::move(impl)));
}

std::optional<DomainInfo> Catalog::domain(const std::string& name) const {
    format::validate_name("domain", name);
    Txn txn(*impl_, false);
    const auto v = txn.find(impl_->domains, name, "cannot read a domain");
    if (!v)
        return std::nullopt;
    return impl_->decode_domain(name, *v);
}

uint64_t Catalog::next_key(const std::string& domain) const {
    format::validate_name("domain", domain);
    Txn txn(*impl_, false);
    const auto v = txn.find(impl_->domains, domain, "cannot read a domain");
    if (!v)
        throw Error::not_found("unknown domain '" + domain + "'");
    return format::decode_domain_record(impl_->path, domain, *v).next_key;
}

std::vector<DomainInfo> Catalog::domains() const {
    Txn txn(*impl_, false);
    Cursor cur(*impl_, txn, impl_->domains);
    std::vector<DomainInfo> out;
    for (bool ok = cur.first(); ok; ok = cur.next())
        out.push_back(impl_->decode_domain(cur.key(), cur.value()));
    return out;
}

std::optional<CommitInfo> Catalog::commit(const std::string& domain,
                                          const std::string& commit) const {
    format::validate_name("domain", domain);
    format::validate_name("commit", commit);
    Txn txn(*impl_, false);
    const auto v =
        txn.find(impl_->commits, format::scoped_key(domain, commit), "cannot read a commit");
    if (!v)
        return std::nullopt;
    return impl_->decode_commit(domain, commit, *v);
}

std::vector<CommitInfo> Catalog::commits(const std::string& domain) const {
    format::validate_name("domain", domain);
    Txn txn(*impl_, false);
    Cursor cur(*impl_, txn, impl_->commits);
    const std::string prefix = format::scoped_key(domain, {});
    std::vector<CommitInfo> out;
    for (bool ok = cur.seek(prefix); ok && starts_with(cur.key(), prefix); ok = cur.next())
        out.push_back(
            impl_->decode_commit(domain, cur.key().substr(prefix.size()), cur.value()));
    return out;
}

std::optional<uint64_t> Catalog::find_key(const std::string& domain,
                                          const std::string& external_id) const {
    format::validate_name("domain", domain);
    if (external_id.empty() || external_id.size() > format::kMaxExternalIdBytes)
        return std::nullopt;
    Txn txn(*impl_, false);
    return lookup_id(*impl_, txn, domain, external_id).key;
}

namespace {

// The id under `key` in the keys table, or nullopt.
std::optional<std::string> read_external_id(const Core& core, const Txn& txn,
                                            const std::string& domain, uint64_t key) {
    const auto v = txn.find(core.keys, format::key_record_key(domain, key), "cannot read a key");
    if (!v)
        return std::nullopt;
    return format::decode_key_record(core.path, domain, key, *v);
}

}  // namespace

std::optional<std::string> Catalog::external_id(const std::string& domain, uint64_t key) const {
    format::validate_name("domain", domain);
    Txn txn(*impl_, false);
    return read_external_id(*impl_, txn, domain, key);
}

std::vector<std::optional<std::string>> Catalog::external_ids(
    const std::string& domain, std::span<const uint64_t> keys) const {
    format::validate_name("domain", domain);
    Txn txn(*impl_, false);
    std::vector<std::optional<std::string>> ids;
    ids.reserve(keys.size());
    for (uint64_t key : keys)
        ids.push_back(read_external_id(*impl_, txn, domain, key));
    return ids;
}

void Catalog::create_domain(const DomainInfo& d) {
    format::validate_name("domain", d.name);
    const std::string what = "domain '" + d.name + "'";
    if (d.dimension < 1 || d.dimension > 65536)
        throw Error::invalid_argument(what + ": dimension " + std::to_string(d.dimension) +
                                      " is outside 1 ... 65536");
    if (!metric_valid(static_cast<uint32_t>(d.metric)))
        throw Error::invalid_argument(what + ": unknown metric " +
                                      std::to_string(static_cast<uint32_t>(d.metric)));
    if (d.m < 2 || d.m > 2048)
        throw Error::invalid_argument(what + ": M " + std::to_string(d.m) +
                                      " is outside 2 ... 2048");
    if (d.ef_construction < 1)
        throw Error::invalid_argument(what + ": ef_construction must be at least 1");
    validate_file_name(what + ": vector file", d.vector_file);

    Txn txn(*impl_, true);
    const int rc = txn.put(impl_->domains, d.name, format::encode_domain_record(to_record(d, 0)),
                           MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        throw Error::conflict(what + " already exists");
    impl_->check(rc, "cannot write a domain");
    txn.commit();
}

namespace {

void put_vector_entries(Core& c, Txn& txn, const std::string& domain,
                        const std::vector<VectorHash>& entries) {
    const std::string value = format::encode_vector_record();
    for (const VectorHash& e : entries) {
        c.check(txn.put(c.vectors, format::vector_record_key(domain, e.hash, e.index), value),
                "cannot write a vector entry");
    }
}

}  // namespace

std::vector<std::vector<uint64_t>> Catalog::vectors_with_hashes(
    const std::string& domain, std::span<const uint64_t> hashes) const {
    Txn txn(*impl_, false);
    std::vector<std::vector<uint64_t>> out(hashes.size());
    Cursor cur(*impl_, txn, impl_->vectors);
    for (size_t i = 0; i < hashes.size(); ++i) {
        const std::string prefix = format::vector_record_prefix(domain, hashes[i]);
        // Every key with the prefix is an entry of this hash; decoding checks its length.
        for (bool ok = cur.seek(prefix); ok && cur.key_starts_with(prefix); ok = cur.next())
            out[i].push_back(format::decode_vector_record_key(impl_->path, domain,
                                                              bytes_of_view(cur.key()),
                                                              cur.value()));
    }
    return out;
}

std::vector<VectorHash> Catalog::vector_hashes(const std::string& domain) const {
    format::validate_name("domain", domain);
    Txn txn(*impl_, false);
    Cursor cur(*impl_, txn, impl_->vectors);
    const std::string prefix = format::scoped_key(domain, {});
    std::vector<VectorHash> out;
    for (bool ok = cur.seek(prefix); ok && cur.key_starts_with(prefix); ok = cur.next()) {
        const Bytes key = bytes_of_view(cur.key());
        VectorHash entry;
        // Decoding checks the key's length, so the hash's 8 bytes follow the prefix.
        entry.index = format::decode_vector_record_key(impl_->path, domain, key, cur.value());
        for (size_t i = prefix.size(); i < prefix.size() + 8; ++i)
            entry.hash = (entry.hash << 8) | key[i];
        out.push_back(entry);
    }
    return out;
}

void Catalog::publish_commit(const CommitInfo& commit,
                             const std::vector<std::pair<std::string, uint64_t>>& new_ids,
                             const std::vector<VectorHash>& new_vectors) {
    const std::string& domain = commit.domain;
    format::validate_name("domain", domain);
    format::validate_name("commit", commit.commit);
    if (commit.parent)
        format::validate_name("commit", *commit.parent);
    if (commit.graph_owner)
        format::validate_name("commit", *commit.graph_owner);
    const std::string in_domain = " in domain '" + domain + "'";
    const std::string what = "commit '" + commit.commit + "'" + in_domain;
    // Checks the graph file, kind, format, chain and owner (Error(kInvalidArgument)).
    const std::string cvalue =
        format::encode_commit_record(domain, commit.commit, to_record(commit));
    for (const auto& [id, key] : new_ids) {
        try {
            format::validate_external_id(id);
        } catch (const Error& e) {
            throw Error(e.code(), what + ": external " + e.message());
        }
    }

    Impl& c = *impl_;
    Txn txn(c, true);  // aborted, writing nothing, unless it reaches commit()
    const auto dv = txn.find(c.domains, domain, "cannot read a domain");
    if (!dv)
        throw Error::not_found("unknown domain '" + domain + "'");
    format::DomainRecord record = format::decode_domain_record(c.path, domain, *dv);
    const std::string commit_key = format::scoped_key(domain, commit.commit);
    if (txn.find(c.commits, commit_key, "cannot read a commit"))
        throw Error::conflict("commit '" + commit.commit + "' already exists" + in_domain);
    if (commit.parent &&
        !txn.find(c.commits, format::scoped_key(domain, *commit.parent), "cannot read a commit"))
        throw Error::not_found("unknown parent commit '" + *commit.parent + "'" + in_domain +
                               " of commit '" + commit.commit + "'");
    const uint64_t first = record.next_key;
    if (new_ids.size() > UINT64_MAX - first)
        throw Error::invalid_argument(what + ": too many new ids");
    for (size_t i = 0; i < new_ids.size(); ++i) {
        if (new_ids[i].second != first + i)
            throw Error::invalid_argument(what + ": external id " + describe_id(new_ids[i].first) +
                                          " has key " + std::to_string(new_ids[i].second) +
                                          ", expected " + std::to_string(first + i) +
                                          " (keys run consecutively from the domain's next_key " +
                                          std::to_string(first) + ")");
    }

    for (const auto& [id, key] : new_ids) {
        IdLookup found = lookup_id(c, txn, domain, id);
        if (found.key) {
            if (*found.key >= first)
                throw Error::invalid_argument(what + ": external id " + describe_id(id) +
                                              " appears twice in the new ids");
            throw Error::conflict(what + ": external id " + describe_id(id) +
                                  " is already interned" + in_domain + " with key " +
                                  std::to_string(*found.key));
        }
        c.check(txn.put(c.ids, found.entry_key, format::encode_id_record(key, id), MDB_NOOVERWRITE),
                "cannot write an id");
        const int rc = txn.put(c.keys, format::key_record_key(domain, key),
                               format::encode_key_record(id), MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            throw Error::corruption(c.where() + ": key " + std::to_string(key) + in_domain +
                                    " is already interned although next_key is " +
                                    std::to_string(first));
        c.check(rc, "cannot write a key");
    }

    record.next_key = first + new_ids.size();
    c.check(txn.put(c.domains, domain, format::encode_domain_record(record)),
            "cannot write a domain");
    c.check(txn.put(c.commits, commit_key, cvalue, MDB_NOOVERWRITE), "cannot write a commit");
    put_vector_entries(c, txn, domain, new_vectors);
    detail::crash_point("catalog-txn-written");
    txn.commit();
}

void Catalog::rewrite_commits(const std::string& domain, const std::vector<std::string>& drop,
                              const std::vector<CommitInfo>& rewrite,
                              const std::optional<DomainInfo>& domain_record,
                              const std::optional<std::vector<VectorHash>>& vectors) {
    format::validate_name("domain", domain);
    const std::string in_domain = " in domain '" + domain + "'";
    std::vector<std::pair<std::string, std::string>> records;  // (key, value)
    for (const CommitInfo& commit : rewrite) {
        if (commit.domain != domain)
            throw Error::invalid_argument("commit '" + commit.commit + "' of domain '" +
                                          commit.domain + "' rewritten" + in_domain);
        if (std::find(drop.begin(), drop.end(), commit.commit) != drop.end())
            throw Error::invalid_argument("commit '" + commit.commit + "'" + in_domain +
                                          " is both dropped and rewritten");
        records.emplace_back(format::scoped_key(domain, commit.commit),
                             format::encode_commit_record(domain, commit.commit, to_record(commit)));
    }
    Impl& c = *impl_;
    Txn txn(c, true);  // aborted, writing nothing, unless it reaches commit()
    const auto dv = txn.find(c.domains, domain, "cannot read a domain");
    if (!dv)
        throw Error::not_found("unknown domain '" + domain + "'");
    if (domain_record) {
        const uint64_t next_key = format::decode_domain_record(c.path, domain, *dv).next_key;
        if (domain_record->name != domain)
            throw Error::invalid_argument("domain '" + domain +
                                          "': a rewritten domain record must keep its name");
        c.check(txn.put(c.domains, domain,
                        format::encode_domain_record(to_record(*domain_record, next_key))),
                "cannot write a domain");
    }
    for (const std::string& commit : drop) {
        const std::string key = format::scoped_key(domain, commit);
        MDB_val k = val_of(key);
        const int rc = ::mdb_del(txn.get(), c.commits, &k, nullptr);
        if (rc == MDB_NOTFOUND)
            throw Error::not_found("unknown commit '" + commit + "'" + in_domain);
        c.check(rc, "cannot delete a commit");
    }
    for (size_t i = 0; i < records.size(); ++i) {
        if (!txn.find(c.commits, records[i].first, "cannot read a commit"))
            throw Error::not_found("unknown commit '" + rewrite[i].commit + "'" + in_domain);
        c.check(txn.put(c.commits, records[i].first, records[i].second), "cannot write a commit");
    }
    if (vectors) {
        // The domain's whole content index is replaced: every entry with its prefix goes.
        const std::string prefix = format::scoped_key(domain, "");
        std::vector<std::string> old_keys;
        {
            Cursor cur(c, txn, c.vectors);
            for (bool ok = cur.seek(prefix); ok && cur.key_starts_with(prefix); ok = cur.next())
                old_keys.emplace_back(cur.key());
        }
        for (const std::string& key : old_keys) {
            MDB_val dk = val_of(key);
            c.check(::mdb_del(txn.get(), c.vectors, &dk, nullptr), "cannot delete a vector entry");
        }
        put_vector_entries(c, txn, domain, *vectors);
    }
    detail::crash_point("catalog-rewrite-written");
    txn.commit();
}

}  // namespace vstore
