// The LMDB catalog (spec/catalog.md).
#include "vstore/catalog.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

namespace vstore {

namespace detail {
// Test seam: replaces the 64-bit hash of long external ids (spec/catalog.md, "ids") so that
// tests can force collisions; nullptr restores XXH3-64. Not part of the public API.
void set_catalog_id_hash_for_testing(uint64_t (*hash)(std::string_view));
}  // namespace detail

namespace {

// ---- Constants of the format (spec/catalog.md) -------------------------------------------

constexpr char kMagic[8] = {'V', 'S', 'C', 'A', 'T', 'L', 'O', 'G'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kRecordVersion = 1;
constexpr size_t kFormatRecordBytes = 12;

constexpr size_t kMaxIdBytes = 4096;
// Ids up to this length are stored verbatim in `ids` keys; longer ids by their first
// kLongIdPrefix bytes, an XXH3-64 and a collision counter.
constexpr size_t kShortIdMax = 240;
constexpr size_t kLongIdPrefix = 240;
constexpr size_t kLongIdBase = kLongIdPrefix + 8;  // prefix + hash
constexpr size_t kLongIdPart = kLongIdBase + 4;    // ... + counter
// The longest key written: a 255-byte domain, NUL, 255-byte commit.
constexpr size_t kLongestKey = format::kMaxNameBytes * 2 + 1;

constexpr size_t kDomainFixed = 40;
constexpr size_t kCommitFixed = 88;
constexpr size_t kIdValueFixed = 12;
constexpr size_t kKeyValueFixed = 4;

constexpr uint32_t kFlagHasParent = 1;
constexpr uint32_t kFlagCompacted = 2;

constexpr size_t kMapSize = size_t(1) << 40;  // 1 TiB of address space; the file stays sparse
constexpr size_t kMinMapSize = size_t(1) << 30;
constexpr unsigned kMaxDbs = 8;
constexpr unsigned kMaxReaders = 1024;

uint64_t xxh3_id_hash(std::string_view id) {
    return format::checksum64({reinterpret_cast<const uint8_t*>(id.data()), id.size()});
}

std::atomic<uint64_t (*)(std::string_view)> g_id_hash{&xxh3_id_hash};

uint64_t id_hash(std::string_view id) {
    return g_id_hash.load(std::memory_order_relaxed)(id);
}

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

std::string_view view_of(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

MDB_val val_of(const std::string& s) {
    return {s.size(), const_cast<char*>(s.data())};
}

void put_u32(std::string& out, uint32_t v) {
    uint8_t b[4];
    format::store_le(b, v);
    out.append(reinterpret_cast<const char*>(b), 4);
}

void put_u64(std::string& out, uint64_t v) {
    uint8_t b[8];
    format::store_le(b, v);
    out.append(reinterpret_cast<const char*>(b), 8);
}

void put_u32_be(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_u64_be(std::string& out, uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

uint32_t get_u32_be(const char* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
}

uint32_t u32_at(Bytes b, size_t off) {
    return format::load_le<uint32_t>(b.data() + off);
}

uint64_t u64_at(Bytes b, size_t off) {
    return format::load_le<uint64_t>(b.data() + off);
}

std::string str_at(Bytes b, size_t off, size_t len) {
    return {reinterpret_cast<const char*>(b.data() + off), len};
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// An external id for a one-line message: at most 80 bytes of it, quoted, with every byte
// outside printable ASCII (and ' and \) written as \xHH, and the length when cut.
std::string describe_id(std::string_view id) {
    static const char* hex = "0123456789ABCDEF";
    constexpr size_t kShown = 80;
    std::string out = "'";
    for (size_t i = 0; i < std::min(id.size(), kShown); ++i) {
        const auto c = static_cast<uint8_t>(id[i]);
        if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    out += "'";
    if (id.size() > kShown)
        out += "... (" + std::to_string(id.size()) + " bytes)";
    return out;
}

// A file name recorded in the catalog: one non-empty path component.
void validate_file_name(std::string_view what, std::string_view name) {
    if (name.empty() || name.size() > format::kMaxFileNameBytes || name == "." || name == ".." ||
        name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
        throw Error::invalid_argument(std::string(what) + " '" + std::string(name) +
                                      "' is not a file name (1 to 255 bytes, no '/' or NUL, "
                                      "not '.' or '..')");
    }
}

// ---- Keys --------------------------------------------------------------------------------

std::string scoped(const std::string& domain, std::string_view rest) {
    std::string k;
    k.reserve(domain.size() + 1 + rest.size());
    k += domain;
    k.push_back('\0');
    k += rest;
    return k;
}

std::string key_key(const std::string& domain, uint64_t key) {
    std::string k = scoped(domain, {});
    put_u64_be(k, key);
    return k;
}

// For an id longer than kShortIdMax: domain, NUL, first 240 bytes, hash (LE); the counter
// follows in the full key.
std::string long_id_base(const std::string& domain, std::string_view id) {
    std::string k = scoped(domain, id.substr(0, kLongIdPrefix));
    put_u64(k, id_hash(id));
    return k;
}

bool metric_valid(uint32_t m) {
    return m >= 1 && m <= 3;
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
    g_id_hash.store(hash != nullptr ? hash : &xxh3_id_hash);
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
    MDB_dbi meta = 0, domains = 0, commits = 0, ids = 0, keys = 0;

    std::string where() const { return "catalog '" + path + "'"; }

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

    [[noreturn]] void malformed(const std::string& record, const std::string& detail) const {
        throw Error::corruption(where() + ": " + record + " is malformed: " + detail);
    }

    // Record decoders; `record` names the record in errors.
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

    // The value under `key`, or nullopt.
    std::optional<MDB_val> find(MDB_dbi dbi, const std::string& key, const char* what) const {
        MDB_val k = val_of(key), v{};
        const int rc = ::mdb_get(txn_, dbi, &k, &v);
        if (rc == MDB_NOTFOUND)
            return std::nullopt;
        c_.check(rc, what);
        return v;
    }

  private:
    const Core& c_;
    MDB_txn* txn_ = nullptr;
};

class Cursor {
  public:
    Cursor(const Core& c, const Txn& txn, MDB_dbi dbi) : c_(c) {
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
    const MDB_val& value() const { return v_; }

  private:
    bool step(MDB_cursor_op op) {
        const int rc = ::mdb_cursor_get(cur_, &k_, &v_, op);
        if (rc == MDB_NOTFOUND)
            return false;
        c_.check(rc, "cannot read with a cursor");
        return true;
    }

    const Core& c_;
    MDB_cursor* cur_ = nullptr;
    MDB_val k_{}, v_{};
};

std::string domain_record(const std::string& name) {
    return "the record of domain '" + name + "'";
}

std::string commit_record(std::string_view domain, std::string_view commit) {
    return "the record of commit '" + std::string(commit) + "' in domain '" + std::string(domain) +
           "'";
}

std::string encode_domain(const DomainInfo& d) {
    std::string out;
    out.reserve(kDomainFixed + d.vector_file.size());
    put_u32(out, kRecordVersion);
    put_u32(out, d.dimension);
    put_u32(out, static_cast<uint32_t>(d.metric));
    put_u32(out, d.m);
    put_u32(out, d.ef_construction);
    put_u32(out, static_cast<uint32_t>(d.vector_file.size()));
    put_u64(out, d.next_key);
    put_u64(out, d.created_unix_ms);
    out += d.vector_file;
    return out;
}

std::string encode_commit(const CommitInfo& c) {
    const std::string parent = c.parent.value_or("");
    std::string out;
    out.reserve(kCommitFixed + parent.size() + c.graph_file.size());
    put_u32(out, kRecordVersion);
    put_u32(out, (c.parent ? kFlagHasParent : 0) | (c.compacted ? kFlagCompacted : 0));
    for (uint64_t v : {c.graph_checksum, c.graph_bytes, c.vector_count, c.live_count,
                       c.tombstone_count, c.inserted, c.deleted, c.replaced, c.created_unix_ms})
        put_u64(out, v);
    put_u32(out, static_cast<uint32_t>(parent.size()));
    put_u32(out, static_cast<uint32_t>(c.graph_file.size()));
    out += parent;
    out += c.graph_file;
    return out;
}

void check_record_version(const Core& c, const std::string& record, Bytes b, size_t fixed) {
    if (b.size() < fixed)
        c.malformed(record, std::to_string(b.size()) + " bytes, shorter than its fixed part of " +
                                std::to_string(fixed));
    if (u32_at(b, 0) != kRecordVersion)
        c.malformed(record, "record version " + std::to_string(u32_at(b, 0)) +
                                "; this build reads version 1");
}

DomainInfo Core::decode_domain(std::string_view name, Bytes b) const {
    const std::string record = domain_record(std::string(name));
    check_record_version(*this, record, b, kDomainFixed);
    DomainInfo d;
    d.name = std::string(name);
    d.dimension = u32_at(b, 4);
    const uint32_t metric = u32_at(b, 8);
    d.m = u32_at(b, 12);
    d.ef_construction = u32_at(b, 16);
    const uint32_t file_len = u32_at(b, 20);
    d.next_key = u64_at(b, 24);
    d.created_unix_ms = u64_at(b, 32);
    if (b.size() != kDomainFixed + uint64_t(file_len))
        malformed(record,
                  std::to_string(b.size()) + " bytes, expected 40 + " + std::to_string(file_len));
    if (d.dimension < 1 || d.dimension > 65536)
        malformed(record, "dimension " + std::to_string(d.dimension));
    if (!metric_valid(metric))
        malformed(record, "metric " + std::to_string(metric));
    if (d.m < 2 || d.m > 2048)
        malformed(record, "M " + std::to_string(d.m));
    if (d.ef_construction < 1)
        malformed(record, "ef_construction 0");
    if (file_len == 0)
        malformed(record, "empty vector file name");
    d.metric = static_cast<format::Metric>(metric);
    d.vector_file = str_at(b, kDomainFixed, file_len);
    return d;
}

CommitInfo Core::decode_commit(std::string_view domain, std::string_view commit, Bytes b) const {
    const std::string record = commit_record(domain, commit);
    check_record_version(*this, record, b, kCommitFixed);
    CommitInfo c;
    c.domain = std::string(domain);
    c.commit = std::string(commit);
    const uint32_t flags = u32_at(b, 4);
    if ((flags & ~(kFlagHasParent | kFlagCompacted)) != 0)
        malformed(record, "unknown flags " + std::to_string(flags));
    c.graph_checksum = u64_at(b, 8);
    c.graph_bytes = u64_at(b, 16);
    c.vector_count = u64_at(b, 24);
    c.live_count = u64_at(b, 32);
    c.tombstone_count = u64_at(b, 40);
    c.inserted = u64_at(b, 48);
    c.deleted = u64_at(b, 56);
    c.replaced = u64_at(b, 64);
    c.created_unix_ms = u64_at(b, 72);
    const uint32_t parent_len = u32_at(b, 80);
    const uint32_t file_len = u32_at(b, 84);
    if (b.size() != kCommitFixed + uint64_t(parent_len) + file_len)
        malformed(record, std::to_string(b.size()) + " bytes, expected 88 + " +
                              std::to_string(parent_len) + " + " + std::to_string(file_len));
    const bool has_parent = (flags & kFlagHasParent) != 0;
    if (has_parent != (parent_len > 0) || parent_len > format::kMaxNameBytes)
        malformed(record, "parent length " + std::to_string(parent_len) +
                              (has_parent ? " with" : " without") + " a parent");
    if (file_len == 0)
        malformed(record, "empty graph file name");
    if (has_parent)
        c.parent = str_at(b, kCommitFixed, parent_len);
    c.graph_file = str_at(b, kCommitFixed + parent_len, file_len);
    c.compacted = (flags & kFlagCompacted) != 0;
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
    const auto record = [&] {
        return "the ids entry of " + describe_id(id) + " in domain '" + domain + "'";
    };
    if (id.size() <= kShortIdMax) {
        r.entry_key = scoped(domain, id);
        if (auto v = txn.find(c.ids, r.entry_key, "cannot read an id")) {
            const Bytes b = bytes_of(*v);
            check_record_version(c, record(), b, kIdValueFixed);
            if (b.size() != kIdValueFixed)
                c.malformed(record(), std::to_string(b.size()) + " bytes, expected 12");
            r.key = u64_at(b, 4);
        }
        return r;
    }
    // Long ids: scan the collision chain under domain, NUL, prefix, hash.
    const std::string base = long_id_base(domain, id);
    uint64_t next_counter = 0;
    Cursor cur(c, txn, c.ids);
    for (bool ok = cur.seek(base); ok && starts_with(cur.key(), base); ok = cur.next()) {
        if (cur.key().size() != domain.size() + 1 + kLongIdPart)
            c.malformed(record(), "key of " + std::to_string(cur.key().size()) + " bytes");
        const uint32_t counter = get_u32_be(cur.key().data() + base.size());
        const Bytes b = bytes_of(cur.value());
        check_record_version(c, record(), b, kIdValueFixed);
        const std::string_view stored(reinterpret_cast<const char*>(b.data()) + kIdValueFixed,
                                      b.size() - kIdValueFixed);
        if (stored.size() <= kShortIdMax || stored.size() > kMaxIdBytes ||
            stored.substr(0, kLongIdPrefix) != id.substr(0, kLongIdPrefix) ||
            id_hash(stored) != format::load_le<uint64_t>(reinterpret_cast<const uint8_t*>(
                                   cur.key().data() + domain.size() + 1 + kLongIdPrefix)))
            c.malformed(record(), "its stored id does not match its key");
        if (stored == id) {
            r.key = u64_at(b, 4);
            r.entry_key = std::string(cur.key());
            return r;
        }
        next_counter = uint64_t(counter) + 1;
    }
    if (next_counter > UINT32_MAX)
        throw Error::conflict(c.where() + ": too many ids collide with " + describe_id(id));
    r.entry_key = base;
    put_u32_be(r.entry_key, static_cast<uint32_t>(next_counter));
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
        if (::mdb_env_get_maxkeysize(c.env.env) < static_cast<int>(kLongestKey))
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
// creator is fine: its catalog is then opened.
void create_catalog(const std::filesystem::path& dir, const std::string& path) {
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
        for (const char* name : {"meta", "domains", "commits", "ids", "keys"}) {
            MDB_dbi dbi;
            c.check(::mdb_dbi_open(txn.get(), name, MDB_CREATE, &dbi), "cannot create a database");
            if (std::string_view(name) == "meta")
                c.meta = dbi;
        }
        std::string format(kMagic, sizeof kMagic);
        put_u32(format, kFormatVersion);
        const std::string key = "format";
        MDB_val k = val_of(key), v = val_of(format);
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

    Impl& c = *impl;
    open_env(c, c.path);
    int dead = 0;
    c.check(::mdb_reader_check(c.env.env, &dead), "cannot clear stale readers");

    Txn txn(c, false);
    const auto open_db = [&](const char* name, MDB_dbi& dbi) {
        const int rc = ::mdb_dbi_open(txn.get(), name, 0, &dbi);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            throw Error::corruption(c.where() + " is not a vstore catalog: it has no database '" +
                                    name + "'");
        c.check(rc, "cannot open a database");
    };
    open_db("meta", c.meta);
    const auto format = txn.find(c.meta, "format", "cannot read the format record");
    if (!format || format->mv_size != kFormatRecordBytes ||
        std::memcmp(format->mv_data, kMagic, sizeof kMagic) != 0)
        throw Error::corruption(c.where() +
                                " is not a vstore catalog: no valid format record in 'meta'");
    const uint32_t version = u32_at(bytes_of(*format), 8);
    if (version != kFormatVersion)
        throw Error::corruption(c.where() + " has format version " + std::to_string(version) +
                                "; this build reads version 1");
    open_db("domains", c.domains);
    open_db("commits", c.commits);
    open_db("ids", c.ids);
    open_db("keys", c.keys);
    txn.commit();  // makes the database handles available to every later transaction
    return std::unique_ptr<Catalog>(new Catalog(std::move(impl)));
}

std::optional<DomainInfo> Catalog::domain(const std::string& name) const {
    format::validate_name("domain", name);
    Txn txn(*impl_, false);
    const auto v = txn.find(impl_->domains, name, "cannot read a domain");
    if (!v)
        return std::nullopt;
    return impl_->decode_domain(name, bytes_of(*v));
}

std::vector<DomainInfo> Catalog::domains() const {
    Txn txn(*impl_, false);
    Cursor cur(*impl_, txn, impl_->domains);
    std::vector<DomainInfo> out;
    for (bool ok = cur.first(); ok; ok = cur.next())
        out.push_back(impl_->decode_domain(cur.key(), bytes_of(cur.value())));
    return out;
}

std::optional<CommitInfo> Catalog::commit(const std::string& domain,
                                          const std::string& commit) const {
    format::validate_name("domain", domain);
    format::validate_name("commit", commit);
    Txn txn(*impl_, false);
    const auto v = txn.find(impl_->commits, scoped(domain, commit), "cannot read a commit");
    if (!v)
        return std::nullopt;
    return impl_->decode_commit(domain, commit, bytes_of(*v));
}

std::vector<CommitInfo> Catalog::commits(const std::string& domain) const {
    format::validate_name("domain", domain);
    Txn txn(*impl_, false);
    Cursor cur(*impl_, txn, impl_->commits);
    const std::string prefix = scoped(domain, {});
    std::vector<CommitInfo> out;
    for (bool ok = cur.seek(prefix); ok && starts_with(cur.key(), prefix); ok = cur.next())
        out.push_back(
            impl_->decode_commit(domain, cur.key().substr(prefix.size()), bytes_of(cur.value())));
    return out;
}

std::optional<uint64_t> Catalog::find_key(const std::string& domain,
                                          const std::string& external_id) const {
    format::validate_name("domain", domain);
    if (external_id.empty() || external_id.size() > kMaxIdBytes)
        return std::nullopt;
    Txn txn(*impl_, false);
    return lookup_id(*impl_, txn, domain, external_id).key;
}

namespace {

// The id under `key` in the keys table, or nullopt.
std::optional<std::string> read_external_id(const Core& core, const Txn& txn,
                                            const std::string& domain, uint64_t key) {
    const auto v = txn.find(core.keys, key_key(domain, key), "cannot read a key");
    if (!v)
        return std::nullopt;
    const Bytes b = bytes_of(*v);
    const std::string record =
        "the keys entry of key " + std::to_string(key) + " in domain '" + domain + "'";
    check_record_version(core, record, b, kKeyValueFixed);
    if (b.size() == kKeyValueFixed || b.size() > kKeyValueFixed + kMaxIdBytes)
        core.malformed(record, "an id of " + std::to_string(b.size() - kKeyValueFixed) + " bytes");
    return str_at(b, kKeyValueFixed, b.size() - kKeyValueFixed);
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
    if (d.next_key != 0)
        throw Error::invalid_argument(what + ": a new domain starts with next_key 0, not " +
                                      std::to_string(d.next_key));

    Txn txn(*impl_, true);
    const std::string value = encode_domain(d);
    MDB_val k = val_of(d.name), v = val_of(value);
    const int rc = ::mdb_put(txn.get(), impl_->domains, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        throw Error::conflict(what + " already exists");
    impl_->check(rc, "cannot write a domain");
    txn.commit();
}

void Catalog::publish_commit(const CommitInfo& commit,
                             const std::vector<std::pair<std::string, uint64_t>>& new_ids) {
    const std::string& domain = commit.domain;
    format::validate_name("domain", domain);
    format::validate_name("commit", commit.commit);
    if (commit.parent)
        format::validate_name("commit", *commit.parent);
    const std::string in_domain = " in domain '" + domain + "'";
    const std::string what = "commit '" + commit.commit + "'" + in_domain;
    validate_file_name(what + ": graph file", commit.graph_file);
    for (const auto& [id, key] : new_ids) {
        if (id.empty() || id.size() > kMaxIdBytes)
            throw Error::invalid_argument(what + ": external id " + describe_id(id) + " has " +
                                          std::to_string(id.size()) +
                                          " bytes; ids have 1 ... 4096");
    }

    Impl& c = *impl_;
    Txn txn(c, true);  // aborted, writing nothing, unless it reaches commit()
    const auto dv = txn.find(c.domains, domain, "cannot read a domain");
    if (!dv)
        throw Error::not_found("unknown domain '" + domain + "'");
    DomainInfo info = c.decode_domain(domain, bytes_of(*dv));
    const std::string commit_key = scoped(domain, commit.commit);
    if (txn.find(c.commits, commit_key, "cannot read a commit"))
        throw Error::conflict("commit '" + commit.commit + "' already exists" + in_domain);
    if (commit.parent &&
        !txn.find(c.commits, scoped(domain, *commit.parent), "cannot read a commit"))
        throw Error::not_found("unknown parent commit '" + *commit.parent + "'" + in_domain +
                               " of commit '" + commit.commit + "'");
    const uint64_t first = info.next_key;
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
        std::string id_value;
        put_u32(id_value, kRecordVersion);
        put_u64(id_value, key);
        if (id.size() > kShortIdMax)
            id_value += id;
        MDB_val k = val_of(found.entry_key), v = val_of(id_value);
        c.check(::mdb_put(txn.get(), c.ids, &k, &v, MDB_NOOVERWRITE), "cannot write an id");

        std::string key_value;
        put_u32(key_value, kRecordVersion);
        key_value += id;
        const std::string kk = key_key(domain, key);
        MDB_val k2 = val_of(kk), v2 = val_of(key_value);
        const int rc = ::mdb_put(txn.get(), c.keys, &k2, &v2, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            throw Error::corruption(c.where() + ": key " + std::to_string(key) + in_domain +
                                    " is already interned although next_key is " +
                                    std::to_string(first));
        c.check(rc, "cannot write a key");
    }

    info.next_key = first + new_ids.size();
    const std::string dvalue = encode_domain(info);
    MDB_val dk = val_of(domain), dval = val_of(dvalue);
    c.check(::mdb_put(txn.get(), c.domains, &dk, &dval, 0), "cannot write a domain");

    const std::string cvalue = encode_commit(commit);
    MDB_val ck = val_of(commit_key), cval = val_of(cvalue);
    c.check(::mdb_put(txn.get(), c.commits, &ck, &cval, MDB_NOOVERWRITE), "cannot write a commit");
    detail::crash_point("catalog-txn-written");
    txn.commit();
}

}  // namespace vstore
