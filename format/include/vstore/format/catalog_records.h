// The bytes of the catalog's records and keys (spec/catalog.md): the format record, domain
// records, commit records (version 1 read, version 2 read and written), id and key records,
// and the keys they are stored under. The LMDB environment that holds them is store/'s.
//
// Every decoder checks its record as strictly as the spec says and throws Error(kCorruption)
// "catalog '<catalog>': <the record> is malformed: <detail>", `catalog` being the path of the
// catalog file; encoders throw Error(kInvalidArgument) for what the format cannot hold.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/format/file_names.h"
#include "vstore/format/graph_file_v2.h"

namespace vstore::format {

// ---- Constants ------------------------------------------------------------------------------

inline constexpr char kCatalogMagic[8] = {'V', 'S', 'C', 'A', 'T', 'L', 'O', 'G'};
// Format version 2 seals every value (see "Seals" below); a catalog of version 1 (no seals) is
// upgraded to version 2 when it is opened.
inline constexpr uint32_t kCatalogFormatVersion = 2;
inline constexpr uint32_t kCatalogFormatV1 = 1;
inline constexpr size_t kCatalogFormatRecordBytes = 12;  // before its seal
inline constexpr size_t kCatalogSealBytes = 8;

// Record versions: domain, id and key records are version 1; commit records are written as
// version 2, and version 1 commit records are still read.
inline constexpr uint32_t kCatalogRecordVersion = 1;
inline constexpr uint32_t kCommitRecordV1 = 1;
inline constexpr uint32_t kCommitRecordV2 = 2;

inline constexpr size_t kDomainRecordFixed = 40;
inline constexpr size_t kCommitRecordV1Fixed = 88;
inline constexpr size_t kCommitRecordV2Fixed = 104;
inline constexpr size_t kGraphChainEntryFixed = 20;  // u32 name length, u64 bytes, u64 checksum
inline constexpr size_t kIdRecordFixed = 12;
inline constexpr size_t kKeyRecordFixed = 4;
inline constexpr size_t kVectorRecordBytes = 4;

inline constexpr uint32_t kCommitFlagHasParent = 1;
inline constexpr uint32_t kCommitFlagCompacted = 2;
inline constexpr uint32_t kCommitFlagHasOwner = 4;  // record version 2 only
// Record version 2 only, set by Store::drop_commits when it rewrites a kept commit's record:
// the parent (bit 3) or the graph owner (bit 4) it names was dropped. The name is kept, to
// say where the history was cut; it names no commit any more, or an unrelated later one.
inline constexpr uint32_t kCommitFlagParentDropped = 8;
inline constexpr uint32_t kCommitFlagOwnerDropped = 16;

inline constexpr size_t kMaxGraphChain = 4096;  // files in a commit's graph chain

// Ids up to kShortIdMax bytes are stored verbatim in `ids` keys; longer ids by their first
// kLongIdPrefix bytes, an XXH3-64 of the whole id and a collision counter.
inline constexpr size_t kShortIdMax = 240;
inline constexpr size_t kLongIdPrefix = 240;
inline constexpr size_t kLongIdBase = kLongIdPrefix + 8;  // prefix + hash
inline constexpr size_t kLongIdPart = kLongIdBase + 4;    // ... + BE u32 counter
// The longest key written: a 255-byte domain, NUL, a 255-byte commit.
inline constexpr size_t kCatalogLongestKey = kMaxNameBytes * 2 + 1;

// ---- Helpers ------------------------------------------------------------------------------

// A file name recorded in the catalog: one path component of 1 ... 255 bytes, no '/' or NUL,
// not "." or "..".
bool is_catalog_file_name(std::string_view name);

// An external id for a one-line message: at most 80 bytes of it, quoted, with every byte
// outside printable ASCII (and ' and \) written as \xHH, and the length when cut.
std::string describe_external_id(std::string_view id);

// An external id a store admits (spec/catalog.md, "External ids and keys"): 1 ... 4096 bytes of
// valid UTF-8. Throws Error(kInvalidArgument) naming the id (describe_external_id) and its
// length, or the offset of its first byte that is not UTF-8. Readers take the ids already
// stored as they are, whatever their bytes.
void validate_external_id(std::string_view id);

// ---- Keys ---------------------------------------------------------------------------------

// `domain ‖ 00 ‖ rest`: the keys of `commits`, of short ids in `ids`, and the prefix of a
// domain's entries.
std::string scoped_key(std::string_view domain, std::string_view rest);
// `domain ‖ 00 ‖ BE u64 key`: the key of `keys`.
std::string key_record_key(std::string_view domain, uint64_t key);
// For an id longer than kShortIdMax: `domain ‖ 00 ‖ id[0 … 239] ‖ u64 hash` (hash = XXH3-64 of
// the whole id, little-endian); the collision counter follows in the entry's key.
std::string long_id_base(std::string_view domain, std::string_view id, uint64_t hash);
// `base ‖ BE u32 counter`.
std::string long_id_key(std::string_view base, uint32_t counter);
// XXH3-64 of an external id, as in long id keys.
uint64_t external_id_hash(std::string_view id);

// ---- Seals --------------------------------------------------------------------------------

// In format version 2 every value in the catalog, the format record included, is its record
// followed by a seal: the u64 XXH3-64 of the record, seeded with the XXH3-64 of the entry's
// key. LMDB keeps no checksums of its own; the seal catches a damaged record or key.
std::string seal_catalog_value(std::string_view key, std::string record);
// The record of a sealed value. Error(kCorruption) "catalog '…': the entry <key> of database
// '<database>' fails its checksum" (or "is N bytes, shorter than its seal").
std::span<const uint8_t> unseal_catalog_value(std::string_view catalog, std::string_view database,
                                              std::string_view key,
                                              std::span<const uint8_t> value);

// ---- The format record (`meta`, key "format") ---------------------------------------------

// The sealed record of format version 2 (20 bytes).
std::string encode_catalog_format_record();
// Checks the record (nullopt: absent) and returns its format version: 2, or 1 for a catalog
// made before seals (12 bytes, unsealed). Error(kCorruption) "catalog '…' is not a vstore
// catalog: no valid format record in 'meta'" or "catalog '…' has format version X; this build
// reads versions 1 and 2".
uint32_t check_catalog_format_record(std::string_view catalog,
                                     std::optional<std::span<const uint8_t>> bytes);

// ---- Domain records -----------------------------------------------------------------------

struct DomainRecord {  // the value; the name is the key
    uint32_t dimension = 0;
    Metric metric = Metric::kL2;
    uint32_t m = 16;
    uint32_t ef_construction = 200;
    std::string vector_file;
    uint64_t next_key = 0;
    uint64_t created_unix_ms = 0;
};

std::string encode_domain_record(const DomainRecord& d);
DomainRecord decode_domain_record(std::string_view catalog, std::string_view domain,
                                  std::span<const uint8_t> bytes);

// ---- Commit records -----------------------------------------------------------------------

struct GraphFileRecord {
    std::string name;
    uint64_t bytes = 0;
    uint64_t checksum = 0;
    bool operator==(const GraphFileRecord&) const = default;
};

struct CommitRecord {  // the value; domain and commit names are the key
    std::optional<std::string> parent;
    std::string graph_file;
    uint64_t graph_checksum = 0;
    uint64_t graph_bytes = 0;
    uint64_t vector_count = 0;
    uint64_t live_count = 0;
    uint64_t tombstone_count = 0;
    uint64_t inserted = 0, deleted = 0, replaced = 0;
    bool compacted = false;
    uint64_t created_unix_ms = 0;
    GraphKind graph_kind = GraphKind::kFull;
    uint32_t graph_format = kGraphFormatV2;
    std::vector<GraphFileRecord> graph_chain;  // the full root first, graph_file last
    std::optional<std::string> graph_owner;
    bool parent_dropped = false;  // kCommitFlagParentDropped; only with a parent
    bool owner_dropped = false;   // kCommitFlagOwnerDropped; only with an owner
};

// The first rule of a version 2 commit record that `r` breaks, as a message detail, or
// nullopt: parent and owner 1 ... 255 bytes, parent_dropped only with a parent and
// owner_dropped only with an owner, the owner not `commit` itself, graph_file a file
// name, kind 1 or 2, graph_format 1 or 2 (2 for a delta), 1 ... 4096 chain entries (exactly 1
// for a full graph, at least 2 for a delta), every entry's name a file name and distinct, the
// last entry equal to (graph_file, graph_bytes, graph_checksum).
std::optional<std::string> commit_record_fault(std::string_view commit, const CommitRecord& r);

// A record version 2 value. Error(kInvalidArgument) "commit 'C' in domain 'D': <fault>" when
// commit_record_fault finds one.
std::string encode_commit_record(std::string_view domain, std::string_view commit,
                                 const CommitRecord& r);
// Either record version. A version 1 record decodes as graph_format 1, kind full, the chain
// {graph_file} and no owner.
CommitRecord decode_commit_record(std::string_view catalog, std::string_view domain,
                                  std::string_view commit, std::span<const uint8_t> bytes);

// ---- The content index (`vectors`) --------------------------------------------------------

// XXH3-64 (seed 0) of a vector's bytes as the vector file stores them: the key of the content
// index, by which a commit finds a bit-identical vector the domain already stores.
uint64_t vector_hash(std::span<const float> vector);
// `domain ‖ 00 ‖ BE u64 hash`: the prefix of every entry of one hash.
std::string vector_record_prefix(std::string_view domain, uint64_t hash);
// `domain ‖ 00 ‖ BE u64 hash ‖ BE u64 index`.
std::string vector_record_key(std::string_view domain, uint64_t hash, uint64_t index);
// The value: u32 record version 1.
std::string encode_vector_record();
// The index of an entry, checked: the key's length and the value.
uint64_t decode_vector_record_key(std::string_view catalog, std::string_view domain,
                                  std::span<const uint8_t> key, std::span<const uint8_t> value);

// ---- Id records (`ids`) and key records (`keys`) ------------------------------------------

// The value of an `ids` entry: the key, and for a long id the whole id.
std::string encode_id_record(uint64_t key, std::string_view id);
// The key of a short id's entry (exactly 12 bytes).
uint64_t decode_short_id_record(std::string_view catalog, std::string_view domain,
                                std::string_view id, std::span<const uint8_t> bytes);

struct LongIdEntry {
    uint64_t key = 0;
    std::string_view stored_id;  // into the value
    uint32_t counter = 0;        // from the entry's key
};
// A long id's entry under `entry_key` (which starts with the id's long_id_base), checked:
// the key's length, the record version, the stored id's length, prefix and `hash` against the
// key. `id` is the id looked up, for messages.
LongIdEntry decode_long_id_record(std::string_view catalog, std::string_view domain,
                                  std::string_view id, std::string_view entry_key,
                                  std::span<const uint8_t> bytes,
                                  uint64_t (*hash)(std::string_view));

std::string encode_key_record(std::string_view id);
// The external id of `key` (1 ... 4096 bytes).
std::string decode_key_record(std::string_view catalog, std::string_view domain, uint64_t key,
                              std::span<const uint8_t> bytes);

}  // namespace vstore::format
