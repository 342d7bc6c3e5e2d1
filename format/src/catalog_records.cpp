// The catalog's records and keys (spec/catalog.md).
#include "vstore/format/catalog_records.h"

#include <algorithm>
#include <cstring>

#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

namespace vstore::format {
namespace {

using Bytes = std::span<const uint8_t>;

void put_u32(std::string& out, uint32_t v) {
    uint8_t b[4];
    store_le(b, v);
    out.append(reinterpret_cast<const char*>(b), 4);
}

void put_u64(std::string& out, uint64_t v) {
    uint8_t b[8];
    store_le(b, v);
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
    return load_le<uint32_t>(b.data() + off);
}

uint64_t u64_at(Bytes b, size_t off) {
    return load_le<uint64_t>(b.data() + off);
}

std::string str_at(Bytes b, size_t off, size_t len) {
    return {reinterpret_cast<const char*>(b.data() + off), len};
}

std::string where(std::string_view catalog) {
    return "catalog '" + std::string(catalog) + "'";
}

[[noreturn]] void malformed(std::string_view catalog, const std::string& record,
                            const std::string& detail) {
    throw Error::corruption(where(catalog) + ": " + record + " is malformed: " + detail);
}

std::string domain_record_name(std::string_view domain) {
    return "the record of domain '" + std::string(domain) + "'";
}

std::string commit_record_name(std::string_view domain, std::string_view commit) {
    return "the record of commit '" + std::string(commit) + "' in domain '" + std::string(domain) +
           "'";
}

std::string id_record_name(std::string_view domain, std::string_view id) {
    return "the ids entry of " + describe_external_id(id) + " in domain '" + std::string(domain) +
           "'";
}

// A record of record version 1 (domain, id, key): at least `fixed` bytes, version 1.
void check_record_version(std::string_view catalog, const std::string& record, Bytes b,
                          size_t fixed) {
    if (b.size() < fixed)
        malformed(catalog, record,
                  std::to_string(b.size()) + " bytes, shorter than its fixed part of " +
                      std::to_string(fixed));
    if (u32_at(b, 0) != kCatalogRecordVersion)
        malformed(
            catalog, record,
            "record version " + std::to_string(u32_at(b, 0)) + "; this build reads version 1");
}

bool metric_valid(uint32_t m) {
    return m >= 1 && m <= 3;
}

CommitRecord decode_commit_v1(std::string_view catalog, const std::string& record, Bytes b) {
    if (b.size() < kCommitRecordV1Fixed)
        malformed(catalog, record,
                  std::to_string(b.size()) + " bytes, shorter than its fixed part of 88");
    CommitRecord c;
    const uint32_t flags = u32_at(b, 4);
    if ((flags & ~(kCommitFlagHasParent | kCommitFlagCompacted)) != 0)
        malformed(catalog, record, "unknown flags " + std::to_string(flags));
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
    if (b.size() != kCommitRecordV1Fixed + uint64_t(parent_len) + file_len)
        malformed(catalog, record,
                  std::to_string(b.size()) + " bytes, expected 88 + " + std::to_string(parent_len) +
                      " + " + std::to_string(file_len));
    const bool has_parent = (flags & kCommitFlagHasParent) != 0;
    if (has_parent != (parent_len > 0) || parent_len > kMaxNameBytes)
        malformed(catalog, record,
                  "parent length " + std::to_string(parent_len) +
                      (has_parent ? " with" : " without") + " a parent");
    if (file_len == 0)
        malformed(catalog, record, "empty graph file name");
    if (has_parent)
        c.parent = str_at(b, kCommitRecordV1Fixed, parent_len);
    c.graph_file = str_at(b, kCommitRecordV1Fixed + parent_len, file_len);
    c.compacted = (flags & kCommitFlagCompacted) != 0;
    c.graph_kind = GraphKind::kFull;
    c.graph_format = kGraphFormatV1;
    c.graph_chain = {{c.graph_file, c.graph_bytes, c.graph_checksum}};
    return c;
}

CommitRecord decode_commit_v2(std::string_view catalog, std::string_view commit,
                              const std::string& record, Bytes b) {
    const auto bad = [&](const std::string& detail) { malformed(catalog, record, detail); };
    const std::string size = std::to_string(b.size()) + " bytes";
    if (b.size() < kCommitRecordV2Fixed)
        bad(size + ", shorter than its fixed part of 104");
    CommitRecord c;
    const uint32_t flags = u32_at(b, 4);
    if ((flags & ~(kCommitFlagHasParent | kCommitFlagCompacted | kCommitFlagHasOwner |
                   kCommitFlagParentDropped | kCommitFlagOwnerDropped)) != 0)
        bad("unknown flags " + std::to_string(flags));
    c.graph_checksum = u64_at(b, 8);
    c.graph_bytes = u64_at(b, 16);
    c.vector_count = u64_at(b, 24);
    c.live_count = u64_at(b, 32);
    c.tombstone_count = u64_at(b, 40);
    c.inserted = u64_at(b, 48);
    c.deleted = u64_at(b, 56);
    c.replaced = u64_at(b, 64);
    c.created_unix_ms = u64_at(b, 72);
    c.graph_kind = static_cast<GraphKind>(u32_at(b, 80));  // checked by commit_record_fault
    c.graph_format = u32_at(b, 84);
    const uint32_t parent_len = u32_at(b, 88);
    const uint32_t file_len = u32_at(b, 92);
    const uint32_t owner_len = u32_at(b, 96);
    const uint32_t chain_count = u32_at(b, 100);
    const bool has_parent = (flags & kCommitFlagHasParent) != 0;
    const bool has_owner = (flags & kCommitFlagHasOwner) != 0;
    if (has_parent != (parent_len > 0) || parent_len > kMaxNameBytes)
        bad("parent length " + std::to_string(parent_len) + (has_parent ? " with" : " without") +
            " a parent");
    if (has_owner != (owner_len > 0) || owner_len > kMaxNameBytes)
        bad("owner length " + std::to_string(owner_len) + (has_owner ? " with" : " without") +
            " an owner");
    if (file_len == 0 || file_len > kMaxFileNameBytes)
        bad("graph file name of " + std::to_string(file_len) + " bytes");
    if (chain_count == 0 || chain_count > kMaxGraphChain)
        bad("a graph chain of " + std::to_string(chain_count) + " files (1 ... 4096)");
    // Every length above is at most 4096 or 255, so no sum below overflows.
    size_t pos = kCommitRecordV2Fixed + size_t(parent_len) + file_len + owner_len;
    if (b.size() < pos + kGraphChainEntryFixed * chain_count)
        bad(size + ", shorter than 104 + " + std::to_string(parent_len) + " + " +
            std::to_string(file_len) + " + " + std::to_string(owner_len) + " + " +
            std::to_string(chain_count) + " chain entries of at least 20");
    if (has_parent)
        c.parent = str_at(b, kCommitRecordV2Fixed, parent_len);
    c.graph_file = str_at(b, kCommitRecordV2Fixed + parent_len, file_len);
    if (has_owner)
        c.graph_owner = str_at(b, kCommitRecordV2Fixed + parent_len + file_len, owner_len);
    c.graph_chain.reserve(chain_count);
    for (uint32_t i = 0; i < chain_count; ++i) {
        const std::string entry = "graph chain entry " + std::to_string(i);
        if (b.size() - pos < 4)
            bad(size + ", " + entry + " cut short");
        const uint32_t name_len = u32_at(b, pos);
        pos += 4;
        if (name_len == 0 || name_len > kMaxFileNameBytes)
            bad(entry + " has a name of " + std::to_string(name_len) + " bytes");
        if (b.size() - pos < size_t(name_len) + 16)
            bad(size + ", " + entry + " cut short");
        GraphFileRecord f;
        f.name = str_at(b, pos, name_len);
        f.bytes = u64_at(b, pos + name_len);
        f.checksum = u64_at(b, pos + name_len + 8);
        pos += size_t(name_len) + 16;
        c.graph_chain.push_back(std::move(f));
    }
    if (pos != b.size())
        bad(size + ", expected " + std::to_string(pos));
    c.compacted = (flags & kCommitFlagCompacted) != 0;
    c.parent_dropped = (flags & kCommitFlagParentDropped) != 0;
    c.owner_dropped = (flags & kCommitFlagOwnerDropped) != 0;
    if (auto fault = commit_record_fault(commit, c))
        bad(*fault);
    return c;
}

}  // namespace

// ---- Helpers ------------------------------------------------------------------------------

bool is_catalog_file_name(std::string_view name) {
    return !name.empty() && name.size() <= kMaxFileNameBytes && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string describe_external_id(std::string_view id) {
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

void validate_external_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxExternalIdBytes) {
        throw Error::invalid_argument("id " + describe_external_id(id) + " has " +
                                      std::to_string(id.size()) + " bytes; ids have 1 ... " +
                                      std::to_string(kMaxExternalIdBytes));
    }
    if (const size_t bad = first_invalid_utf8(id); bad != std::string_view::npos) {
        throw Error::invalid_argument("id " + describe_external_id(id) +
                                      " is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    }
}

// ---- Keys ---------------------------------------------------------------------------------

std::string scoped_key(std::string_view domain, std::string_view rest) {
    std::string k;
    k.reserve(domain.size() + 1 + rest.size());
    k += domain;
    k.push_back('\0');
    k += rest;
    return k;
}

std::string key_record_key(std::string_view domain, uint64_t key) {
    std::string k = scoped_key(domain, {});
    put_u64_be(k, key);
    return k;
}

std::string long_id_base(std::string_view domain, std::string_view id, uint64_t hash) {
    std::string k = scoped_key(domain, id.substr(0, kLongIdPrefix));
    put_u64(k, hash);
    return k;
}

std::string long_id_key(std::string_view base, uint32_t counter) {
    std::string k(base);
    put_u32_be(k, counter);
    return k;
}

uint64_t external_id_hash(std::string_view id) {
    return checksum64({reinterpret_cast<const uint8_t*>(id.data()), id.size()});
}

// ---- Seals --------------------------------------------------------------------------------

namespace {

uint64_t seal_of(std::string_view key, Bytes record) {
    const uint64_t seed = checksum64({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
    return checksum64(record, seed);
}

}  // namespace

std::string seal_catalog_value(std::string_view key, std::string record) {
    const uint64_t seal =
        seal_of(key, {reinterpret_cast<const uint8_t*>(record.data()), record.size()});
    put_u64(record, seal);
    return record;
}

Bytes unseal_catalog_value(std::string_view catalog, std::string_view database,
                           std::string_view key, Bytes value) {
    const auto entry = [&] {
        return where(catalog) + ": the entry " + describe_external_id(key) + " of database '" +
               std::string(database) + "'";
    };
    if (value.size() < kCatalogSealBytes)
        throw Error::corruption(entry() + " is " + std::to_string(value.size()) +
                                " bytes, shorter than its seal");
    const Bytes record = value.first(value.size() - kCatalogSealBytes);
    if (u64_at(value, record.size()) != seal_of(key, record))
        throw Error::corruption(entry() + " fails its checksum (a damaged record or key)");
    return record;
}

// ---- The format record --------------------------------------------------------------------

std::string encode_catalog_format_record() {
    std::string out(kCatalogMagic, sizeof kCatalogMagic);
    put_u32(out, kCatalogFormatVersion);
    return seal_catalog_value("format", std::move(out));
}

uint32_t check_catalog_format_record(std::string_view catalog, std::optional<Bytes> bytes) {
    const auto not_catalog = [&] {
        return Error::corruption(where(catalog) +
                                 " is not a vstore catalog: no valid format record in 'meta'");
    };
    if (!bytes ||
        (bytes->size() != kCatalogFormatRecordBytes &&
         bytes->size() != kCatalogFormatRecordBytes + kCatalogSealBytes) ||
        std::memcmp(bytes->data(), kCatalogMagic, sizeof kCatalogMagic) != 0)
        throw not_catalog();
    const uint32_t version = u32_at(*bytes, 8);
    const bool sealed = bytes->size() > kCatalogFormatRecordBytes;
    if (version == kCatalogFormatV1 && !sealed)
        return version;
    if (version == kCatalogFormatVersion && sealed) {
        unseal_catalog_value(catalog, "meta", "format", *bytes);
        return version;
    }
    if (version != kCatalogFormatV1 && version != kCatalogFormatVersion)
        throw Error::version_mismatch(where(catalog), version, "versions 1 and 2");
    throw not_catalog();  // a version and a length that disagree
}

// ---- Domain records -----------------------------------------------------------------------

std::string encode_domain_record(const DomainRecord& d) {
    std::string out;
    out.reserve(kDomainRecordFixed + d.vector_file.size());
    put_u32(out, kCatalogRecordVersion);
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

DomainRecord decode_domain_record(std::string_view catalog, std::string_view domain, Bytes b) {
    const std::string record = domain_record_name(domain);
    check_record_version(catalog, record, b, kDomainRecordFixed);
    DomainRecord d;
    d.dimension = u32_at(b, 4);
    const uint32_t metric = u32_at(b, 8);
    d.m = u32_at(b, 12);
    d.ef_construction = u32_at(b, 16);
    const uint32_t file_len = u32_at(b, 20);
    d.next_key = u64_at(b, 24);
    d.created_unix_ms = u64_at(b, 32);
    if (b.size() != kDomainRecordFixed + uint64_t(file_len))
        malformed(catalog, record,
                  std::to_string(b.size()) + " bytes, expected 40 + " + std::to_string(file_len));
    if (d.dimension < 1 || d.dimension > 65536)
        malformed(catalog, record, "dimension " + std::to_string(d.dimension));
    if (!metric_valid(metric))
        malformed(catalog, record, "metric " + std::to_string(metric));
    if (d.m < 2 || d.m > 2048)
        malformed(catalog, record, "M " + std::to_string(d.m));
    if (d.ef_construction < 1)
        malformed(catalog, record, "ef_construction 0");
    if (file_len == 0)
        malformed(catalog, record, "empty vector file name");
    d.metric = static_cast<Metric>(metric);
    d.vector_file = str_at(b, kDomainRecordFixed, file_len);
    return d;
}

// ---- Commit records -----------------------------------------------------------------------

std::optional<std::string> commit_record_fault(std::string_view commit, const CommitRecord& r) {
    const auto file_name_fault = [](const std::string& what, std::string_view name) {
        return what + " " + describe_external_id(name) +
               " is not a file name (1 to 255 bytes, no '/' or NUL, not '.' or '..')";
    };
    if (r.parent && (r.parent->empty() || r.parent->size() > kMaxNameBytes))
        return "a parent name of " + std::to_string(r.parent->size()) + " bytes";
    if (r.parent_dropped && !r.parent)
        return std::string("a dropped parent without a parent");
    if (r.owner_dropped && !r.graph_owner)
        return std::string("a dropped graph owner without a graph owner");
    if (r.graph_owner) {
        if (r.graph_owner->empty() || r.graph_owner->size() > kMaxNameBytes)
            return "a graph owner name of " + std::to_string(r.graph_owner->size()) + " bytes";
        if (*r.graph_owner == commit)
            return std::string(
                "graph owner is the commit itself (a commit that wrote its graph "
                "file has no owner)");
    }
    if (!is_catalog_file_name(r.graph_file))
        return file_name_fault("graph file", r.graph_file);
    const auto kind = static_cast<uint32_t>(r.graph_kind);
    if (r.graph_kind != GraphKind::kFull && r.graph_kind != GraphKind::kDelta)
        return "graph kind " + std::to_string(kind) + " (1 = full, 2 = delta)";
    if (r.graph_format != kGraphFormatV1 && r.graph_format != kGraphFormatV2)
        return "graph format " + std::to_string(r.graph_format) + " (1 or 2)";
    if (r.graph_kind == GraphKind::kDelta && r.graph_format != kGraphFormatV2)
        return "a delta graph in graph format " + std::to_string(r.graph_format) +
               " (deltas are format 2)";
    const size_t n = r.graph_chain.size();
    if (n == 0)
        return std::string("an empty graph chain");
    if (n > kMaxGraphChain)
        return "a graph chain of " + std::to_string(n) + " files, more than 4096";
    if (r.graph_kind == GraphKind::kFull && n != 1)
        return "a full graph with a graph chain of " + std::to_string(n) + " files (exactly 1)";
    if (r.graph_kind == GraphKind::kDelta && n < 2)
        return std::string("a delta graph with a graph chain of 1 file (at least 2)");
    for (size_t i = 0; i < n; ++i) {
        if (!is_catalog_file_name(r.graph_chain[i].name))
            return file_name_fault("graph chain entry " + std::to_string(i), r.graph_chain[i].name);
    }
    std::vector<std::string_view> names;
    names.reserve(n);
    for (const auto& f : r.graph_chain)
        names.push_back(f.name);
    std::sort(names.begin(), names.end());
    if (auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end())
        return "a graph chain that names " + describe_external_id(*dup) + " twice";
    const GraphFileRecord& last = r.graph_chain.back();
    if (last != GraphFileRecord{r.graph_file, r.graph_bytes, r.graph_checksum}) {
        const auto describe = [](const GraphFileRecord& f) {
            return describe_external_id(f.name) + ", " + std::to_string(f.bytes) +
                   " bytes, checksum " + std::to_string(f.checksum);
        };
        return "the last graph chain entry (" + describe(last) + ") is not the graph file (" +
               describe({r.graph_file, r.graph_bytes, r.graph_checksum}) + ")";
    }
    return std::nullopt;
}

std::string encode_commit_record(std::string_view domain, std::string_view commit,
                                 const CommitRecord& c) {
    if (auto fault = commit_record_fault(commit, c))
        throw Error::invalid_argument("commit '" + std::string(commit) + "' in domain '" +
                                      std::string(domain) + "': " + *fault);
    const std::string parent = c.parent.value_or("");
    const std::string owner = c.graph_owner.value_or("");
    size_t size = kCommitRecordV2Fixed + parent.size() + c.graph_file.size() + owner.size();
    for (const auto& f : c.graph_chain)
        size += kGraphChainEntryFixed + f.name.size();
    std::string out;
    out.reserve(size);
    put_u32(out, kCommitRecordV2);
    put_u32(out, (c.parent ? kCommitFlagHasParent : 0) | (c.compacted ? kCommitFlagCompacted : 0) |
                     (c.graph_owner ? kCommitFlagHasOwner : 0) |
                     (c.parent_dropped ? kCommitFlagParentDropped : 0) |
                     (c.owner_dropped ? kCommitFlagOwnerDropped : 0));
    for (uint64_t v : {c.graph_checksum, c.graph_bytes, c.vector_count, c.live_count,
                       c.tombstone_count, c.inserted, c.deleted, c.replaced, c.created_unix_ms})
        put_u64(out, v);
    put_u32(out, static_cast<uint32_t>(c.graph_kind));
    put_u32(out, c.graph_format);
    put_u32(out, static_cast<uint32_t>(parent.size()));
    put_u32(out, static_cast<uint32_t>(c.graph_file.size()));
    put_u32(out, static_cast<uint32_t>(owner.size()));
    put_u32(out, static_cast<uint32_t>(c.graph_chain.size()));
    out += parent;
    out += c.graph_file;
    out += owner;
    for (const auto& f : c.graph_chain) {
        put_u32(out, static_cast<uint32_t>(f.name.size()));
        out += f.name;
        put_u64(out, f.bytes);
        put_u64(out, f.checksum);
    }
    return out;
}

CommitRecord decode_commit_record(std::string_view catalog, std::string_view domain,
                                  std::string_view commit, Bytes b) {
    const std::string record = commit_record_name(domain, commit);
    if (b.size() < 4)
        malformed(catalog, record,
                  std::to_string(b.size()) + " bytes, shorter than its record version");
    const uint32_t version = u32_at(b, 0);
    if (version == kCommitRecordV1)
        return decode_commit_v1(catalog, record, b);
    if (version == kCommitRecordV2)
        return decode_commit_v2(catalog, commit, record, b);
    malformed(catalog, record,
              "record version " + std::to_string(version) + "; this build reads versions 1 and 2");
}

// ---- Id records and key records -----------------------------------------------------------

std::string encode_id_record(uint64_t key, std::string_view id) {
    std::string out;
    put_u32(out, kCatalogRecordVersion);
    put_u64(out, key);
    if (id.size() > kShortIdMax)
        out += id;
    return out;
}

uint64_t decode_short_id_record(std::string_view catalog, std::string_view domain,
                                std::string_view id, Bytes b) {
    const std::string record = id_record_name(domain, id);
    check_record_version(catalog, record, b, kIdRecordFixed);
    if (b.size() != kIdRecordFixed)
        malformed(catalog, record, std::to_string(b.size()) + " bytes, expected 12");
    return u64_at(b, 4);
}

LongIdEntry decode_long_id_record(std::string_view catalog, std::string_view domain,
                                  std::string_view id, std::string_view entry_key, Bytes b,
                                  uint64_t (*hash)(std::string_view)) {
    const std::string record = id_record_name(domain, id);
    if (entry_key.size() != domain.size() + 1 + kLongIdPart)
        malformed(catalog, record, "key of " + std::to_string(entry_key.size()) + " bytes");
    LongIdEntry e;
    e.counter = get_u32_be(entry_key.data() + domain.size() + 1 + kLongIdBase);
    check_record_version(catalog, record, b, kIdRecordFixed);
    e.stored_id = std::string_view(reinterpret_cast<const char*>(b.data()) + kIdRecordFixed,
                                   b.size() - kIdRecordFixed);
    const std::string_view key_prefix = entry_key.substr(domain.size() + 1, kLongIdPrefix);
    const uint64_t key_hash = load_le<uint64_t>(
        reinterpret_cast<const uint8_t*>(entry_key.data() + domain.size() + 1 + kLongIdPrefix));
    if (e.stored_id.size() <= kShortIdMax || e.stored_id.size() > kMaxExternalIdBytes ||
        e.stored_id.substr(0, kLongIdPrefix) != key_prefix || hash(e.stored_id) != key_hash)
        malformed(catalog, record, "its stored id does not match its key");
    e.key = u64_at(b, 4);
    return e;
}

std::string encode_key_record(std::string_view id) {
    std::string out;
    put_u32(out, kCatalogRecordVersion);
    out += id;
    return out;
}

std::string decode_key_record(std::string_view catalog, std::string_view domain, uint64_t key,
                              Bytes b) {
    const std::string record =
        "the keys entry of key " + std::to_string(key) + " in domain '" + std::string(domain) + "'";
    check_record_version(catalog, record, b, kKeyRecordFixed);
    if (b.size() == kKeyRecordFixed || b.size() > kKeyRecordFixed + kMaxExternalIdBytes)
        malformed(catalog, record,
                  "an id of " + std::to_string(b.size() - kKeyRecordFixed) + " bytes");
    return str_at(b, kKeyRecordFixed, b.size() - kKeyRecordFixed);
}

// ---- The content index ----------------------------------------------------------------------

uint64_t vector_hash(std::span<const float> vector) {
    // The vector file stores float32 little-endian, as this (little-endian) host holds them.
    return checksum64({reinterpret_cast<const uint8_t*>(vector.data()), vector.size_bytes()});
}

std::string vector_record_prefix(std::string_view domain, uint64_t hash) {
    std::string k = scoped_key(domain, {});
    put_u64_be(k, hash);
    return k;
}

std::string vector_record_key(std::string_view domain, uint64_t hash, uint64_t index) {
    std::string k = vector_record_prefix(domain, hash);
    put_u64_be(k, index);
    return k;
}

std::string encode_vector_record() {
    std::string v;
    put_u32(v, kCatalogRecordVersion);
    return v;
}

uint64_t decode_vector_record_key(std::string_view catalog, std::string_view domain, Bytes key,
                                  Bytes value) {
    const std::string record = "a vectors entry of domain '" + std::string(domain) + "'";
    if (key.size() != domain.size() + 1 + 16)
        malformed(catalog, record, "a key of " + std::to_string(key.size()) + " bytes");
    check_record_version(catalog, record, value, kVectorRecordBytes);
    if (value.size() != kVectorRecordBytes)
        malformed(catalog, record, std::to_string(value.size()) + " bytes, expected 4");
    uint64_t index = 0;
    for (size_t i = key.size() - 8; i < key.size(); ++i)
        index = (index << 8) | key[i];
    return index;
}

}  // namespace vstore::format
