#include "vstore/format/graph_file_v2.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

#include "graph_zstd.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"

namespace vstore::format {
namespace {

// spec/graph-file.md, "Header".
constexpr std::array<uint8_t, 8> kMagic = {'V', 'S', 'T', 'O', 'R', 'E', 'G', 'F'};

constexpr uint32_t kOffVersion = 8;
constexpr uint32_t kOffKind = 12;
constexpr uint32_t kOffHeaderBytes = 16;
constexpr uint32_t kOffFlags = 20;
constexpr uint32_t kOffFeatures = 24;
constexpr uint32_t kOffMetric = 28;
constexpr uint32_t kOffDimension = 32;
constexpr uint32_t kOffM = 36;
constexpr uint32_t kOffEfConstruction = 40;
constexpr uint32_t kOffMaxLevel = 44;
constexpr uint32_t kOffEntryPoint = 48;
constexpr uint32_t kOffNodeCount = 56;
constexpr uint32_t kOffLiveCount = 64;
constexpr uint32_t kOffTombstoneCount = 72;
constexpr uint32_t kOffRemovedCount = 80;
constexpr uint32_t kOffVectorCount = 88;
constexpr uint32_t kOffCreated = 96;
constexpr uint32_t kOffUpperCount = 104;
constexpr uint32_t kOffLinkCount = 112;
constexpr uint32_t kOffBaseNodeCount = 120;
constexpr uint32_t kOffBaseFileBytes = 128;
constexpr uint32_t kOffBaseFileChecksum = 136;
constexpr uint32_t kOffChainDepth = 144;
constexpr uint32_t kOffReserved = 148;
constexpr uint32_t kOffKindArea = 152;  // full: the section table; delta: the body fields
constexpr uint32_t kOffNames = 344;     // domain, commit, parent, base_file: u8 length + bytes

// Full: 8 entries of {u64 offset, u64 bytes, u64 checksum}.
constexpr uint32_t kSectionEntryBytes = 24;
static_assert(kOffKindArea + kFullSectionCount * kSectionEntryBytes == kOffNames);

// Delta: the body fields.
constexpr uint32_t kOffBodyEncoding = 152;
constexpr uint32_t kOffBodyReserved = 156;
constexpr uint32_t kOffRawBodyBytes = 160;
constexpr uint32_t kOffStoredBodyBytes = 168;
constexpr uint32_t kOffRawBodyChecksum = 176;
constexpr uint32_t kOffStoredBodyChecksum = 184;
constexpr uint32_t kOffVectorChangeCount = 192;
constexpr uint32_t kOffFlagChangeCount = 200;
constexpr uint32_t kOffListChangeCount = 208;
constexpr uint32_t kOffTailLinkCount = 216;
constexpr uint32_t kDeltaFieldsEnd = 224;  // zeros from here up to kOffNames

constexpr uint32_t kFlagHasParent = 1;
constexpr uint32_t kEncodingRaw = 0;
constexpr uint32_t kEncodingZstd = 1;

constexpr size_t kMaxNameBytes = 255;
constexpr uint32_t kMaxDimension = 65536;
constexpr uint32_t kMinM = 2;
constexpr uint32_t kMaxM = 2048;
constexpr uint64_t kNodeLimit = uint64_t(1) << 32;  // N and U are below this

constexpr uint64_t align64(uint64_t n) {
    return (n + 63) & ~uint64_t(63);
}
constexpr uint32_t kMinHeaderBytes = align64(kOffNames + 4 + 8);                     // 384
constexpr uint32_t kMaxHeaderBytes = align64(kOffNames + 4 + 4 * kMaxNameBytes + 8);  // 1408
static_assert(kMinHeaderBytes == 384 && kMaxHeaderBytes == 1408);

// Bytes of the raw delta body per new node (vector_index 8, key 8, level 1, flags 1), per
// vector change (4 + 8), flag change (4 + 1), list change (4 + 1 + 2 + 2) and tail link.
constexpr uint64_t kDeltaPerNewNode = 18;
constexpr uint64_t kDeltaPerVectorChange = 12;
constexpr uint64_t kDeltaPerFlagChange = 5;
constexpr uint64_t kDeltaPerListChange = 9;
constexpr uint64_t kDeltaPerTailLink = 4;

constexpr std::array<const char*, kFullSectionCount> kSectionNames = {
    "vector_index", "key", "level", "flags", "upper_index", "layer0", "upper", "codes"};

std::string section_label(uint32_t s) {
    return "section " + std::to_string(s) + " (" + kSectionNames[s] + ")";
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

bool flags_valid(uint8_t f) {
    return (f & ~kNodeFlagMask) == 0 && f != kNodeFlagMask;
}

std::string flags_fault(uint8_t f) {
    if ((f & ~kNodeFlagMask) != 0)
        return "unknown flags " + hex(f);
    return "flags " + hex(f) + " (tombstone and removed together)";
}

void check_name_length(const char* what, const std::string& s) {
    if (s.size() > kMaxNameBytes) {
        throw Error::invalid_argument(std::string("graph file ") + what + " is " +
                                      std::to_string(s.size()) + " bytes; the limit is " +
                                      std::to_string(kMaxNameBytes));
    }
}

// The sizes and offsets of the eight sections of a full file (checksums zero).
std::array<SectionRef, kFullSectionCount> full_sections(uint64_t header_bytes, uint64_t n,
                                                        uint64_t u, uint64_t m) {
    const std::array<uint64_t, kFullSectionCount> sizes = {
        8 * n, 8 * n, n, n, 4 * n, 4 * (2 * m + 1) * n, 4 * (m + 1) * u, 0};
    std::array<SectionRef, kFullSectionCount> out{};
    uint64_t at = header_bytes;
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        out[s].offset = at;
        out[s].bytes = sizes[s];
        at = align64(at + sizes[s]);
    }
    return out;
}

// align64(348 + d + c + p + b + 8): the fixed fields, four length bytes, the names, the checksum.
uint32_t header_bytes_for(const GraphHeader& h, const std::string& parent, size_t base_file) {
    return static_cast<uint32_t>(align64(kOffNames + 4 + h.domain.size() + h.commit.size() +
                                         parent.size() + base_file + 8));
}

// Writes the fields common to both kinds, the names and the padding (the output is zero-filled);
// the kind-specific area and the header checksum are the caller's.
void write_common_header(uint8_t* p, const GraphHeader& h, GraphKind kind, uint32_t header_bytes,
                         const std::string& parent) {
    std::copy(kMagic.begin(), kMagic.end(), p);
    store_le<uint32_t>(p + kOffVersion, kGraphFormatV2);
    store_le<uint32_t>(p + kOffKind, static_cast<uint32_t>(kind));
    store_le<uint32_t>(p + kOffHeaderBytes, header_bytes);
    store_le<uint32_t>(p + kOffFlags, h.parent ? kFlagHasParent : 0);
    store_le<uint32_t>(p + kOffFeatures, 0);
    store_le<uint32_t>(p + kOffMetric, static_cast<uint32_t>(h.metric));
    store_le<uint32_t>(p + kOffDimension, h.dimension);
    store_le<uint32_t>(p + kOffM, h.m);
    store_le<uint32_t>(p + kOffEfConstruction, h.ef_construction);
    store_le<int32_t>(p + kOffMaxLevel, h.max_level);
    store_le<int64_t>(p + kOffEntryPoint, h.entry_point);
    store_le<uint64_t>(p + kOffNodeCount, h.node_count);
    store_le<uint64_t>(p + kOffLiveCount, h.live_count);
    store_le<uint64_t>(p + kOffTombstoneCount, h.tombstone_count);
    store_le<uint64_t>(p + kOffRemovedCount, h.removed_count);
    store_le<uint64_t>(p + kOffVectorCount, h.vector_count);
    store_le<uint64_t>(p + kOffCreated, h.created_unix_ms);
    store_le<uint64_t>(p + kOffUpperCount, h.upper_count);
    store_le<uint64_t>(p + kOffLinkCount, h.link_count);
    const bool delta = kind == GraphKind::kDelta;
    store_le<uint64_t>(p + kOffBaseNodeCount, delta ? h.base_node_count : 0);
    store_le<uint64_t>(p + kOffBaseFileBytes, delta ? h.base_file_bytes : 0);
    store_le<uint64_t>(p + kOffBaseFileChecksum, delta ? h.base_file_checksum : 0);
    store_le<uint32_t>(p + kOffChainDepth, delta ? h.chain_depth : 0);
    store_le<uint32_t>(p + kOffReserved, 0);
    uint8_t* at = p + kOffNames;
    for (const std::string* s : {&h.domain, &h.commit, &parent, &h.base_file}) {
        if (!delta && s == &h.base_file)
            break;  // a full file's base_file is empty: the zero length byte is already there
        *at++ = static_cast<uint8_t>(s->size());
        at = std::copy(s->begin(), s->end(), at);
    }
}

void seal_header(uint8_t* p, uint32_t header_bytes) {
    store_le<uint64_t>(p + header_bytes - 8, checksum64({p, header_bytes - 8u}));
}

// Everything in the header, as parsed and checked.
struct ParsedHeader {
    GraphHeader h;
    std::array<SectionRef, kFullSectionCount> sections{};  // full
    uint32_t body_encoding = 0;                            // delta, from here on
    uint64_t raw_body_bytes = 0;
    uint64_t stored_body_bytes = 0;
    uint64_t raw_body_checksum = 0;
    uint64_t stored_body_checksum = 0;
    uint64_t vector_change_count = 0;
    uint64_t flag_change_count = 0;
    uint64_t list_change_count = 0;
    uint64_t tail_link_count = 0;
};

class Faults {
  public:
    Faults(std::string_view file, uint64_t size)
        : where_("graph file '" + std::string(file) + "'"), size_(size) {}
    const std::string& where() const { return where_; }
    Error corrupt(const std::string& what) const { return Error::corruption(where_ + ": " + what); }
    Error truncated(const std::string& need) const {
        return Error::corruption(where_ + " is truncated: it has " + std::to_string(size_) +
                                 " bytes; " + need);
    }

  private:
    std::string where_;
    uint64_t size_;
};

// spec/graph-file.md, "Reading the header", steps 1-12. `want`: the kind the caller reads, or
// nullopt for either. Reads only the header; never compares with the file's length beyond it.
ParsedHeader parse_header(std::span<const uint8_t> bytes, std::string_view file,
                          std::optional<GraphKind> want) {
    const Faults f(file, bytes.size());
    const uint64_t size = bytes.size();
    const uint8_t* p = bytes.data();

    // 1-3: magic, version, kind: the version first, as a later version may change the rest.
    if (size < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), p))
        throw Error::corruption(f.where() + " is not a graph file (bad magic)");
    if (size < kOffVersion + 4)
        throw f.truncated("the version field ends at byte 12");
    const uint32_t version = load_le<uint32_t>(p + kOffVersion);
    if (version != kGraphFormatV2) {
        throw Error::invalid_argument(f.where() + " has format version " +
                                      std::to_string(version) +
                                      "; this build reads versions 1 and 2");
    }
    if (size < kOffKind + 4)
        throw f.truncated("the kind field ends at byte 16");
    const uint32_t kind_value = load_le<uint32_t>(p + kOffKind);
    if (kind_value != uint32_t(GraphKind::kFull) && kind_value != uint32_t(GraphKind::kDelta))
        throw f.corrupt("kind " + std::to_string(kind_value) + " is not 1 (full) or 2 (delta)");
    const auto kind = static_cast<GraphKind>(kind_value);
    if (want && kind != *want) {
        throw Error::invalid_argument(f.where() + " is a " + std::string(graph_kind_name(kind)) +
                                      " graph file, not a " +
                                      std::string(graph_kind_name(*want)) + " one");
    }
    const bool delta = kind == GraphKind::kDelta;

    // 4-5: header length and checksum.
    if (size < kMinHeaderBytes)
        throw f.truncated("the smallest header is " + std::to_string(kMinHeaderBytes));
    const uint32_t header_bytes = load_le<uint32_t>(p + kOffHeaderBytes);
    if (header_bytes < kMinHeaderBytes || header_bytes > kMaxHeaderBytes ||
        header_bytes % 64 != 0) {
        throw f.corrupt("header_bytes " + std::to_string(header_bytes) +
                        " is not a multiple of 64 in " + std::to_string(kMinHeaderBytes) + ".." +
                        std::to_string(kMaxHeaderBytes));
    }
    if (size < header_bytes)
        throw f.truncated("the header is " + std::to_string(header_bytes));
    const uint32_t checked = header_bytes - 8;
    if (load_le<uint64_t>(p + checked) != checksum64({p, checked}))
        throw f.corrupt("header checksum mismatch");

    // 6: flags and the reserved field.
    const uint32_t flags = load_le<uint32_t>(p + kOffFlags);
    if ((flags & ~kFlagHasParent) != 0)
        throw f.corrupt("unknown header flags " + hex(flags));
    if (load_le<uint32_t>(p + kOffReserved) != 0)
        throw f.corrupt("reserved header field is not zero");

    // 7: names and padding.
    ParsedHeader out;
    GraphHeader& h = out.h;
    h.kind = kind;
    h.header_bytes = header_bytes;
    uint64_t at = kOffNames;
    auto read_name = [&](const char* what) {
        if (at + 1 > checked)
            throw f.corrupt(std::string("the ") + what + " length lies past the header");
        const uint8_t len = p[at];
        if (at + 1 + len > checked)
            throw f.corrupt(std::string("the ") + what + " name runs past the header");
        std::string s(reinterpret_cast<const char*>(p + at + 1), len);
        at += 1 + len;
        return s;
    };
    h.domain = read_name("domain");
    h.commit = read_name("commit");
    std::string parent = read_name("parent");
    if (flags & kFlagHasParent) {
        h.parent = std::move(parent);
    } else if (!parent.empty()) {
        throw f.corrupt("a parent name is present but the has_parent flag is clear");
    }
    h.base_file = read_name("base_file");
    if (!delta && !h.base_file.empty())
        throw f.corrupt("a full graph file names a base file (of " +
                        std::to_string(h.base_file.size()) + " bytes)");
    if (delta && h.base_file.empty())
        throw f.corrupt("a delta graph file must name its base file, but base_file is empty");
    if (align64(at + 8) != header_bytes) {
        throw f.corrupt("header_bytes " + std::to_string(header_bytes) + " does not match its " +
                        std::to_string(at) + " bytes of fields and names");
    }
    if (!all_zero({p + at, checked - at}))
        throw f.corrupt("header padding is not zero");

    // 8: features, after the checksum: only an intact header can ask for a feature.
    h.features = load_le<uint32_t>(p + kOffFeatures);
    if (h.features != 0) {
        throw Error::invalid_argument(f.where() + " uses features " + hex(h.features) +
                                      " this build does not read");
    }

    // 9: parameters.
    const uint32_t metric = load_le<uint32_t>(p + kOffMetric);
    if (metric < 1 || metric > 3)
        throw f.corrupt("metric " + std::to_string(metric) + " is not 1 (l2), 2 (cosine) or 3 (ip)");
    h.metric = static_cast<Metric>(metric);
    h.dimension = load_le<uint32_t>(p + kOffDimension);
    if (h.dimension == 0 || h.dimension > kMaxDimension) {
        throw f.corrupt("dimension " + std::to_string(h.dimension) + " is outside 1.." +
                        std::to_string(kMaxDimension));
    }
    h.m = load_le<uint32_t>(p + kOffM);
    if (h.m < kMinM || h.m > kMaxM) {
        throw f.corrupt("M " + std::to_string(h.m) + " is outside " + std::to_string(kMinM) +
                        ".." + std::to_string(kMaxM));
    }
    h.ef_construction = load_le<uint32_t>(p + kOffEfConstruction);
    h.max_level = load_le<int32_t>(p + kOffMaxLevel);
    h.entry_point = load_le<int64_t>(p + kOffEntryPoint);
    h.node_count = load_le<uint64_t>(p + kOffNodeCount);
    h.live_count = load_le<uint64_t>(p + kOffLiveCount);
    h.tombstone_count = load_le<uint64_t>(p + kOffTombstoneCount);
    h.removed_count = load_le<uint64_t>(p + kOffRemovedCount);
    h.vector_count = load_le<uint64_t>(p + kOffVectorCount);
    h.created_unix_ms = load_le<uint64_t>(p + kOffCreated);
    h.upper_count = load_le<uint64_t>(p + kOffUpperCount);
    h.link_count = load_le<uint64_t>(p + kOffLinkCount);
    h.base_node_count = load_le<uint64_t>(p + kOffBaseNodeCount);
    h.base_file_bytes = load_le<uint64_t>(p + kOffBaseFileBytes);
    h.base_file_checksum = load_le<uint64_t>(p + kOffBaseFileChecksum);
    h.chain_depth = load_le<uint32_t>(p + kOffChainDepth);

    // 10: counts. N < 2^32 and M <= 2048 keep every product below in 64 bits.
    const uint64_t n = h.node_count;
    if (n >= kNodeLimit)
        throw f.corrupt("node_count " + std::to_string(n) + " is not below 2^32");
    if (h.live_count > n || h.tombstone_count > n - h.live_count ||
        h.removed_count != n - h.live_count - h.tombstone_count) {
        throw f.corrupt("live_count " + std::to_string(h.live_count) + ", tombstone_count " +
                        std::to_string(h.tombstone_count) + " and removed_count " +
                        std::to_string(h.removed_count) + " do not add up to node_count " +
                        std::to_string(n));
    }
    if (h.upper_count > uint64_t(kMaxGraphLevel) * n) {
        throw f.corrupt("upper_count " + std::to_string(h.upper_count) + " is more than " +
                        std::to_string(kMaxGraphLevel) + " x node_count " + std::to_string(n));
    }
    if (h.upper_count >= kNodeLimit)
        throw f.corrupt("upper_count " + std::to_string(h.upper_count) + " is not below 2^32");
    const uint64_t max_links = 2 * uint64_t(h.m) * n + uint64_t(h.m) * h.upper_count;
    if (h.link_count > max_links) {
        throw f.corrupt("link_count " + std::to_string(h.link_count) +
                        " is more than the lists can hold (2M x node_count + M x upper_count = " +
                        std::to_string(max_links) + ")");
    }
    if (!delta) {
        if (h.base_node_count != 0 || h.base_file_bytes != 0 || h.base_file_checksum != 0) {
            throw f.corrupt("a full graph file has base_node_count " +
                            std::to_string(h.base_node_count) + ", base_file_bytes " +
                            std::to_string(h.base_file_bytes) + ", base_file_checksum " +
                            hex(h.base_file_checksum) + " (they must be 0)");
        }
        if (h.chain_depth != 0) {
            throw f.corrupt("a full graph file has chain_depth " + std::to_string(h.chain_depth) +
                            " (it must be 0)");
        }
    } else {
        if (h.base_node_count > n) {
            throw f.corrupt("base_node_count " + std::to_string(h.base_node_count) +
                            " is more than node_count " + std::to_string(n));
        }
        if (h.chain_depth == 0)
            throw f.corrupt("a delta graph file has chain_depth 0 (it must be at least 1)");
    }

    // 11: entry point and top level, as far as the header goes.
    if (n - h.removed_count == 0) {
        if (h.entry_point != -1) {
            throw f.corrupt("entry_point is " + std::to_string(h.entry_point) +
                            " but the graph has no node that is not removed (it must be -1)");
        }
        if (h.max_level != -1) {
            throw f.corrupt("max_level is " + std::to_string(h.max_level) +
                            " but the graph has no node that is not removed (it must be -1)");
        }
    } else {
        if (h.entry_point < 0 || uint64_t(h.entry_point) >= n) {
            throw f.corrupt("entry_point " + std::to_string(h.entry_point) +
                            " is not a node (the graph has " + std::to_string(n) + " nodes)");
        }
        if (h.max_level < 0 || h.max_level > int32_t(kMaxGraphLevel)) {
            throw f.corrupt("max_level " + std::to_string(h.max_level) + " is outside 0.." +
                            std::to_string(kMaxGraphLevel));
        }
    }

    // 12: the kind-specific area.
    if (!delta) {
        const auto want_sections = full_sections(header_bytes, n, h.upper_count, h.m);
        for (uint32_t s = 0; s < kFullSectionCount; ++s) {
            const uint8_t* e = p + kOffKindArea + s * kSectionEntryBytes;
            SectionRef& ref = out.sections[s];
            ref.offset = load_le<uint64_t>(e);
            ref.bytes = load_le<uint64_t>(e + 8);
            ref.checksum = load_le<uint64_t>(e + 16);
            if (ref.offset != want_sections[s].offset) {
                throw f.corrupt(section_label(s) + " starts at " + std::to_string(ref.offset) +
                                "; it must start at " + std::to_string(want_sections[s].offset));
            }
            if (ref.bytes != want_sections[s].bytes) {
                throw f.corrupt(section_label(s) + " has " + std::to_string(ref.bytes) +
                                " bytes; it must have " + std::to_string(want_sections[s].bytes) +
                                " (node_count " + std::to_string(n) + ", upper_count " +
                                std::to_string(h.upper_count) + ", M " + std::to_string(h.m) +
                                ")");
            }
        }
        const uint64_t empty_checksum = checksum64({});
        if (out.sections[kSectionCodes].checksum != empty_checksum) {
            throw f.corrupt(section_label(kSectionCodes) + " checksum " +
                            hex(out.sections[kSectionCodes].checksum) +
                            " is not that of no bytes (" + hex(empty_checksum) + ")");
        }
        return out;
    }

    out.body_encoding = load_le<uint32_t>(p + kOffBodyEncoding);
    out.raw_body_bytes = load_le<uint64_t>(p + kOffRawBodyBytes);
    out.stored_body_bytes = load_le<uint64_t>(p + kOffStoredBodyBytes);
    out.raw_body_checksum = load_le<uint64_t>(p + kOffRawBodyChecksum);
    out.stored_body_checksum = load_le<uint64_t>(p + kOffStoredBodyChecksum);
    out.vector_change_count = load_le<uint64_t>(p + kOffVectorChangeCount);
    out.flag_change_count = load_le<uint64_t>(p + kOffFlagChangeCount);
    out.list_change_count = load_le<uint64_t>(p + kOffListChangeCount);
    out.tail_link_count = load_le<uint64_t>(p + kOffTailLinkCount);
    if (out.body_encoding != kEncodingRaw && out.body_encoding != kEncodingZstd) {
        throw f.corrupt("body_encoding " + std::to_string(out.body_encoding) +
                        " is not 0 (raw) or 1 (zstd)");
    }
    if (load_le<uint32_t>(p + kOffBodyReserved) != 0)
        throw f.corrupt("reserved body field is not zero");
    if (!all_zero({p + kDeltaFieldsEnd, kOffNames - kDeltaFieldsEnd}))
        throw f.corrupt("the unused bytes 224..343 of the delta header are not zero");
    // Each count is bounded by what it counts, which keeps raw_body_bytes' formula in 64 bits.
    const uint64_t base = h.base_node_count;
    const uint64_t a = out.vector_change_count, b = out.flag_change_count,
                   c = out.list_change_count, t = out.tail_link_count;
    if (a > base) {
        throw f.corrupt("vector_change_count " + std::to_string(a) +
                        " is more than base_node_count " + std::to_string(base));
    }
    if (b > base) {
        throw f.corrupt("flag_change_count " + std::to_string(b) +
                        " is more than base_node_count " + std::to_string(base));
    }
    if (c > (uint64_t(kMaxGraphLevel) + 1) * n) {
        throw f.corrupt("list_change_count " + std::to_string(c) + " is more than 65 x node_count " +
                        std::to_string(n));
    }
    if (t > 2 * uint64_t(h.m) * c) {
        throw f.corrupt("tail_link_count " + std::to_string(t) +
                        " is more than 2M x list_change_count (" +
                        std::to_string(2 * h.m * c) + ")");
    }
    const uint64_t want_raw = kDeltaPerNewNode * (n - base) + kDeltaPerVectorChange * a +
                              kDeltaPerFlagChange * b + kDeltaPerListChange * c +
                              kDeltaPerTailLink * t;
    if (out.raw_body_bytes != want_raw) {
        throw f.corrupt("raw_body_bytes " + std::to_string(out.raw_body_bytes) +
                        " does not match " + std::to_string(n - base) + " new nodes, " +
                        std::to_string(a) + " vector changes, " + std::to_string(b) +
                        " flag changes, " + std::to_string(c) + " list changes and " +
                        std::to_string(t) + " tail links (" + std::to_string(want_raw) +
                        " bytes)");
    }
    if (out.body_encoding == kEncodingRaw && out.stored_body_bytes != out.raw_body_bytes) {
        throw f.corrupt("raw body: raw_body_bytes " + std::to_string(out.raw_body_bytes) +
                        " differs from stored_body_bytes " +
                        std::to_string(out.stored_body_bytes));
    }
    if (out.body_encoding == kEncodingZstd && out.stored_body_bytes == 0)
        throw f.corrupt("zstd body is empty");
    if (out.body_encoding == kEncodingZstd &&
        detail::zstd_claim_too_large(out.raw_body_bytes, out.stored_body_bytes)) {
        throw f.corrupt("zstd body: raw_body_bytes " + std::to_string(out.raw_body_bytes) +
                        " is more than " + std::to_string(detail::kGraphMaxZstdExpansion) +
                        " times stored_body_bytes " + std::to_string(out.stored_body_bytes));
    }
    return out;
}

}  // namespace

uint32_t graph_file_version(std::span<const uint8_t> bytes, std::string_view file) {
    const Faults f(file, bytes.size());
    if (bytes.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes.data()))
        throw Error::corruption(f.where() + " is not a graph file (bad magic)");
    if (bytes.size() < kOffVersion + 4)
        throw f.truncated("the version field ends at byte 12");
    return load_le<uint32_t>(bytes.data() + kOffVersion);
}

std::string_view graph_kind_name(GraphKind kind) {
    switch (kind) {
        case GraphKind::kFull:
            return "full";
        case GraphKind::kDelta:
            return "delta";
    }
    return "unknown";
}

// ---- Full files -------------------------------------------------------------------------

std::vector<uint8_t> encode_full_graph(const GraphHeader& header, const GraphSource& source) {
    check_name_length("domain", header.domain);
    check_name_length("commit", header.commit);
    if (header.parent)
        check_name_length("parent", *header.parent);
    if (header.features != 0) {
        throw Error::invalid_argument("graph file features " + hex(header.features) +
                                      " cannot be written by this build (it writes 0)");
    }
    // M shapes the records, so it must be one the format allows.
    if (header.m < kMinM || header.m > kMaxM) {
        throw Error::invalid_argument("graph M " + std::to_string(header.m) + " is outside " +
                                      std::to_string(kMinM) + ".." + std::to_string(kMaxM));
    }
    const uint64_t n = source.node_count();
    if (n >= kNodeLimit) {
        throw Error::invalid_argument("a graph file holds at most 2^32 - 1 nodes; this graph has " +
                                      std::to_string(n));
    }

    // Pass 1: levels and flags give U and the counts, hence the layout.
    GraphHeader h = header;
    h.node_count = n;
    h.live_count = h.tombstone_count = h.removed_count = 0;
    h.upper_count = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t level = source.level(i);
        if (level > kMaxGraphLevel) {
            throw Error::invalid_argument("graph node " + std::to_string(i) + " has level " +
                                          std::to_string(level) + "; the limit is " +
                                          std::to_string(kMaxGraphLevel));
        }
        h.upper_count += level;
        const uint8_t fl = source.flags(i);
        if (fl & kNodeRemoved)
            ++h.removed_count;
        else if (fl & kNodeTombstone)
            ++h.tombstone_count;
        else
            ++h.live_count;
    }
    if (h.upper_count >= kNodeLimit) {
        throw Error::invalid_argument("a graph file holds at most 2^32 - 1 upper-layer records; "
                                      "this graph has " +
                                      std::to_string(h.upper_count));
    }

    const std::string parent = header.parent.value_or("");
    const uint32_t header_bytes = header_bytes_for(h, parent, 0);
    auto sections = full_sections(header_bytes, n, h.upper_count, h.m);
    const uint64_t file_bytes = sections[kSectionCodes].offset;
    std::vector<uint8_t> out(file_bytes);  // zero-filled: padding and unused slots
    uint8_t* p = out.data();

    // Pass 2: the columns and the lists.
    uint8_t* vector_col = p + sections[kSectionVectorIndex].offset;
    uint8_t* key_col = p + sections[kSectionKey].offset;
    uint8_t* level_col = p + sections[kSectionLevel].offset;
    uint8_t* flag_col = p + sections[kSectionFlags].offset;
    uint8_t* upper_index_col = p + sections[kSectionUpperIndex].offset;
    uint8_t* layer0 = p + sections[kSectionLayer0].offset;
    uint8_t* upper = p + sections[kSectionUpper].offset;
    const uint64_t layer0_record = 4 * (2 * uint64_t(h.m) + 1);
    const uint64_t upper_record = 4 * (uint64_t(h.m) + 1);
    uint64_t upper_next = 0;
    uint64_t links = 0;
    uint64_t removed_again = 0, tombstones_again = 0;
    for (uint32_t i = 0; i < n; ++i) {
        // A source that answers differently than in pass 1 must not make us write out of place.
        const uint32_t level = source.level(i);
        const uint8_t fl = source.flags(i);
        if (level > kMaxGraphLevel || upper_next + level > h.upper_count)
            throw Error::invalid_argument("the graph source changed its levels while it was written");
        removed_again += (fl & kNodeRemoved) != 0;
        tombstones_again += (fl & kNodeRemoved) == 0 && (fl & kNodeTombstone) != 0;
        store_le<uint64_t>(vector_col + 8 * uint64_t(i), source.vector_index(i));
        store_le<uint64_t>(key_col + 8 * uint64_t(i), source.key(i));
        level_col[i] = static_cast<uint8_t>(level);
        flag_col[i] = fl;
        store_le<uint32_t>(upper_index_col + 4 * uint64_t(i), static_cast<uint32_t>(upper_next));
        for (uint32_t l = 0; l <= level; ++l) {
            const std::span<const uint32_t> list = source.links(i, l);
            const uint64_t cap = l == 0 ? 2 * uint64_t(h.m) : h.m;
            if (list.size() > cap) {
                throw Error::invalid_argument(
                    "graph node " + std::to_string(i) + " has " + std::to_string(list.size()) +
                    " links in layer " + std::to_string(l) + "; the limit is " +
                    std::to_string(cap) + (l == 0 ? " (2*M)" : " (M)"));
            }
            uint8_t* rec = l == 0 ? layer0 + layer0_record * i : upper + upper_record * upper_next++;
            store_le<uint32_t>(rec, static_cast<uint32_t>(list.size()));
            for (size_t k = 0; k < list.size(); ++k)
                store_le<uint32_t>(rec + 4 * (k + 1), list[k]);
            links += list.size();
        }
    }
    if (upper_next != h.upper_count || removed_again != h.removed_count ||
        tombstones_again != h.tombstone_count)
        throw Error::invalid_argument("the graph source changed its levels or flags while it was "
                                      "written");
    h.link_count = links;

    for (auto& s : sections)
        s.checksum = checksum64({p + s.offset, static_cast<size_t>(s.bytes)});
    write_common_header(p, h, GraphKind::kFull, header_bytes, parent);
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        uint8_t* e = p + kOffKindArea + s * kSectionEntryBytes;
        store_le<uint64_t>(e, sections[s].offset);
        store_le<uint64_t>(e + 8, sections[s].bytes);
        store_le<uint64_t>(e + 16, sections[s].checksum);
    }
    seal_header(p, header_bytes);
    return out;
}

FullGraphLayout parse_full_graph(std::span<const uint8_t> bytes, std::string_view file) {
    ParsedHeader ph = parse_header(bytes, file, GraphKind::kFull);
    const Faults f(file, bytes.size());
    const uint64_t end = ph.sections[kSectionCodes].offset;  // the codes section is empty
    if (bytes.size() < end)
        throw f.truncated("its sections end at byte " + std::to_string(end));
    if (bytes.size() > end) {
        throw Error::corruption(f.where() + " has " + std::to_string(bytes.size() - end) +
                                " trailing bytes after its last section");
    }
    FullGraphLayout layout;
    layout.header = std::move(ph.h);
    layout.sections = ph.sections;
    return layout;
}

void verify_full_graph(std::span<const uint8_t> bytes, const FullGraphLayout& layout,
                       std::string_view file) {
    const Faults f(file, bytes.size());
    const GraphHeader& h = layout.header;
    const uint8_t* p = bytes.data();

    // The layout must be the one parse_full_graph gives for these bytes: nothing below reads
    // outside the sections it describes.
    if (h.node_count >= kNodeLimit || h.upper_count >= kNodeLimit || h.m < kMinM || h.m > kMaxM ||
        h.header_bytes < kMinHeaderBytes || h.header_bytes > kMaxHeaderBytes) {
        throw Error::invalid_argument(f.where() + ": the layout passed to verify_full_graph is "
                                                  "not one parse_full_graph returns");
    }
    const auto want = full_sections(h.header_bytes, h.node_count, h.upper_count, h.m);
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        if (layout.sections[s].offset != want[s].offset ||
            layout.sections[s].bytes != want[s].bytes) {
            throw Error::invalid_argument(f.where() + ": the layout passed to verify_full_graph "
                                                      "has a wrong " +
                                          section_label(s));
        }
    }
    if (bytes.size() != want[kSectionCodes].offset) {
        throw Error::invalid_argument(f.where() + ": the layout passed to verify_full_graph is "
                                                  "for " +
                                      std::to_string(want[kSectionCodes].offset) +
                                      " bytes, not " + std::to_string(bytes.size()));
    }

    // Checksums, then the padding after each section.
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        const SectionRef& ref = layout.sections[s];
        if (checksum64({p + ref.offset, static_cast<size_t>(ref.bytes)}) != ref.checksum)
            throw f.corrupt(section_label(s) + " checksum mismatch");
    }
    for (uint32_t s = 0; s + 1 < kFullSectionCount; ++s) {
        const uint64_t from = layout.sections[s].offset + layout.sections[s].bytes;
        const uint64_t to = layout.sections[s + 1].offset;
        if (!all_zero({p + from, static_cast<size_t>(to - from)}))
            throw f.corrupt("the padding after " + section_label(s) + " is not zero");
    }

    // The nodes: levels, flags, upper index, vector indices and the counts.
    const uint64_t n = h.node_count;
    const uint32_t m = h.m;
    const uint8_t* vector_col = p + layout.sections[kSectionVectorIndex].offset;
    const uint8_t* level_col = p + layout.sections[kSectionLevel].offset;
    const uint8_t* flag_col = p + layout.sections[kSectionFlags].offset;
    const uint8_t* upper_index_col = p + layout.sections[kSectionUpperIndex].offset;
    const uint8_t* layer0 = p + layout.sections[kSectionLayer0].offset;
    const uint8_t* upper = p + layout.sections[kSectionUpper].offset;
    uint64_t sum_levels = 0;
    uint64_t live = 0, tombstones = 0, removed = 0;
    int32_t top = -1;
    for (uint64_t i = 0; i < n; ++i) {
        const uint8_t level = level_col[i];
        if (level > kMaxGraphLevel) {
            throw f.corrupt("node " + std::to_string(i) + " has level " + std::to_string(level) +
                            "; the limit is " + std::to_string(kMaxGraphLevel));
        }
        const uint8_t fl = flag_col[i];
        if (!flags_valid(fl))
            throw f.corrupt("node " + std::to_string(i) + " has " + flags_fault(fl));
        const uint32_t ui = load_le<uint32_t>(upper_index_col + 4 * i);
        if (ui != sum_levels) {
            throw f.corrupt("node " + std::to_string(i) + " has upper_index " +
                            std::to_string(ui) + "; it must be " + std::to_string(sum_levels) +
                            " (the sum of the levels before it)");
        }
        sum_levels += level;
        if (fl & kNodeRemoved) {
            ++removed;
            continue;
        }
        if (fl & kNodeTombstone)
            ++tombstones;
        else
            ++live;
        const uint64_t vi = load_le<uint64_t>(vector_col + 8 * i);
        if (vi >= h.vector_count) {
            throw f.corrupt("node " + std::to_string(i) + " refers to vector " +
                            std::to_string(vi) + " but vector_count is " +
                            std::to_string(h.vector_count));
        }
        top = std::max<int32_t>(top, level);
    }
    if (sum_levels != h.upper_count) {
        throw f.corrupt("the node levels add up to " + std::to_string(sum_levels) +
                        " upper records, but upper_count is " + std::to_string(h.upper_count));
    }
    if (live != h.live_count || tombstones != h.tombstone_count || removed != h.removed_count) {
        throw f.corrupt("the flags give " + std::to_string(live) + " live, " +
                        std::to_string(tombstones) + " tombstoned and " +
                        std::to_string(removed) + " removed nodes, but the header says " +
                        std::to_string(h.live_count) + ", " + std::to_string(h.tombstone_count) +
                        " and " + std::to_string(h.removed_count));
    }
    if (top >= 0) {  // some node is not removed, so the header has an entry point
        if (h.entry_point < 0 || uint64_t(h.entry_point) >= n)
            throw f.corrupt("entry_point " + std::to_string(h.entry_point) + " is not a node");
        const uint64_t ep = uint64_t(h.entry_point);
        if (flag_col[ep] & kNodeRemoved)
            throw f.corrupt("entry_point " + std::to_string(ep) + " is a removed node");
        if (h.max_level != top) {
            throw f.corrupt("max_level is " + std::to_string(h.max_level) +
                            " but the highest level of a node that is not removed is " +
                            std::to_string(top));
        }
        if (level_col[ep] != top) {
            throw f.corrupt("entry_point " + std::to_string(ep) + " has level " +
                            std::to_string(level_col[ep]) + ", not max_level " +
                            std::to_string(h.max_level));
        }
    }

    // The lists.
    uint64_t links = 0;
    auto check_record = [&](uint64_t i, uint32_t layer, const uint8_t* rec) {
        const uint32_t count = load_le<uint32_t>(rec);
        const uint32_t cap = layer == 0 ? 2 * m : m;
        if (count > cap) {
            throw f.corrupt("node " + std::to_string(i) + " has " + std::to_string(count) +
                            " links in layer " + std::to_string(layer) + "; the limit is " +
                            std::to_string(cap) + (layer == 0 ? " (2*M)" : " (M)"));
        }
        if (count != 0 && (flag_col[i] & kNodeRemoved)) {
            throw f.corrupt("removed node " + std::to_string(i) + " has " +
                            std::to_string(count) + " links in layer " + std::to_string(layer));
        }
        for (uint32_t k = 0; k < count; ++k) {
            const uint32_t to = load_le<uint32_t>(rec + 4 * (uint64_t(k) + 1));
            const std::string from =
                "node " + std::to_string(i) + " links in layer " + std::to_string(layer);
            if (to >= n) {
                throw f.corrupt(from + " to node " + std::to_string(to) +
                                ", which does not exist");
            }
            if (to == i) {
                throw f.corrupt("node " + std::to_string(i) + " links to itself in layer " +
                                std::to_string(layer));
            }
            if (level_col[to] < layer) {
                throw f.corrupt(from + " to node " + std::to_string(to) + ", whose level is " +
                                std::to_string(level_col[to]));
            }
            if (flag_col[to] & kNodeRemoved)
                throw f.corrupt(from + " to node " + std::to_string(to) + ", which is removed");
        }
        if (!all_zero({rec + 4 * (uint64_t(count) + 1), 4 * size_t(cap - count)})) {
            throw f.corrupt("node " + std::to_string(i) + "'s list in layer " +
                            std::to_string(layer) + " has a non-zero unused slot");
        }
        links += count;
    };
    const uint64_t layer0_record = 4 * (2 * uint64_t(m) + 1);
    const uint64_t upper_record = 4 * (uint64_t(m) + 1);
    for (uint64_t i = 0; i < n; ++i) {
        check_record(i, 0, layer0 + layer0_record * i);
        const uint64_t first = load_le<uint32_t>(upper_index_col + 4 * i);
        for (uint32_t l = 1; l <= level_col[i]; ++l)
            check_record(i, l, upper + upper_record * (first + l - 1));
    }
    if (links != h.link_count) {
        throw f.corrupt("the lists hold " + std::to_string(links) + " links, but link_count is " +
                        std::to_string(h.link_count));
    }
}

// ---- Delta files ------------------------------------------------------------------------

std::vector<uint8_t> encode_delta_graph(const GraphHeader& header, const GraphDelta& d) {
    check_name_length("domain", header.domain);
    check_name_length("commit", header.commit);
    if (header.parent)
        check_name_length("parent", *header.parent);
    check_name_length("base_file", header.base_file);
    if (header.features != 0) {
        throw Error::invalid_argument("graph file features " + hex(header.features) +
                                      " cannot be written by this build (it writes 0)");
    }
    if (header.base_node_count > header.node_count ||
        header.node_count - header.base_node_count != d.new_nodes.size()) {
        throw Error::invalid_argument(
            "graph delta has " + std::to_string(d.new_nodes.size()) +
            " new nodes, but node_count " + std::to_string(header.node_count) +
            " - base_node_count " + std::to_string(header.base_node_count) + " differs");
    }
    for (size_t k = 1; k < d.vector_changes.size(); ++k) {
        if (d.vector_changes[k].first <= d.vector_changes[k - 1].first) {
            throw Error::invalid_argument("graph delta vector changes are not strictly "
                                          "ascending by node at entry " +
                                          std::to_string(k));
        }
    }
    for (size_t k = 1; k < d.flag_changes.size(); ++k) {
        if (d.flag_changes[k].first <= d.flag_changes[k - 1].first) {
            throw Error::invalid_argument("graph delta flag changes are not strictly ascending "
                                          "by node at entry " +
                                          std::to_string(k));
        }
    }
    uint64_t tails = 0;
    for (size_t k = 0; k < d.list_changes.size(); ++k) {
        const ListChange& c = d.list_changes[k];
        if (k > 0) {
            const ListChange& prev = d.list_changes[k - 1];
            if (c.node < prev.node || (c.node == prev.node && c.layer <= prev.layer)) {
                throw Error::invalid_argument("graph delta list changes are not strictly "
                                              "ascending by (node, layer) at entry " +
                                              std::to_string(k));
            }
        }
        const uint64_t cap = c.layer == 0 ? 2 * uint64_t(header.m) : header.m;
        if (uint64_t(c.prefix) + c.tail_count > cap) {
            throw Error::invalid_argument(
                "graph delta list change " + std::to_string(k) + " (node " +
                std::to_string(c.node) + ", layer " + std::to_string(c.layer) + ") holds " +
                std::to_string(c.prefix) + " + " + std::to_string(c.tail_count) +
                " links; the limit is " + std::to_string(cap));
        }
        tails += c.tail_count;
    }
    if (tails != d.tail_links.size()) {
        throw Error::invalid_argument("graph delta list changes have tails of " +
                                      std::to_string(tails) + " links in all, but tail_links has " +
                                      std::to_string(d.tail_links.size()));
    }

    // The raw body: columns back to back (spec/graph-file.md, "Delta body").
    const uint64_t n = d.new_nodes.size(), a = d.vector_changes.size(),
                   b = d.flag_changes.size(), c = d.list_changes.size(),
                   t = d.tail_links.size();
    std::vector<uint8_t> raw(kDeltaPerNewNode * n + kDeltaPerVectorChange * a +
                             kDeltaPerFlagChange * b + kDeltaPerListChange * c +
                             kDeltaPerTailLink * t);
    uint8_t* w = raw.data();
    auto put = [&w](auto v) {
        store_le(w, v);
        w += sizeof v;
    };
    for (const DeltaNode& x : d.new_nodes)
        put(x.vector_index);
    for (const DeltaNode& x : d.new_nodes)
        put(x.key);
    for (const DeltaNode& x : d.new_nodes)
        put(x.level);
    for (const DeltaNode& x : d.new_nodes)
        put(x.flags);
    for (const auto& x : d.vector_changes)
        put(x.first);
    for (const auto& x : d.vector_changes)
        put(x.second);
    for (const auto& x : d.flag_changes)
        put(x.first);
    for (const auto& x : d.flag_changes)
        put(x.second);
    for (const ListChange& x : d.list_changes)
        put(x.node);
    for (const ListChange& x : d.list_changes)
        put(x.layer);
    for (const ListChange& x : d.list_changes)
        put(x.prefix);
    for (const ListChange& x : d.list_changes)
        put(x.tail_count);
    for (uint32_t x : d.tail_links)
        put(x);

    const auto compressed = detail::compress_if_worth_it(raw);
    const std::vector<uint8_t>& stored = compressed ? *compressed : raw;
    const std::string parent = header.parent.value_or("");
    const uint32_t header_bytes = header_bytes_for(header, parent, header.base_file.size());
    std::vector<uint8_t> out(header_bytes + stored.size());  // zero-filled: padding
    uint8_t* p = out.data();
    write_common_header(p, header, GraphKind::kDelta, header_bytes, parent);
    const uint64_t raw_checksum = checksum64(raw);
    store_le<uint32_t>(p + kOffBodyEncoding, compressed ? kEncodingZstd : kEncodingRaw);
    store_le<uint32_t>(p + kOffBodyReserved, 0);
    store_le<uint64_t>(p + kOffRawBodyBytes, raw.size());
    store_le<uint64_t>(p + kOffStoredBodyBytes, stored.size());
    store_le<uint64_t>(p + kOffRawBodyChecksum, raw_checksum);
    store_le<uint64_t>(p + kOffStoredBodyChecksum,
                       compressed ? checksum64(*compressed) : raw_checksum);
    store_le<uint64_t>(p + kOffVectorChangeCount, a);
    store_le<uint64_t>(p + kOffFlagChangeCount, b);
    store_le<uint64_t>(p + kOffListChangeCount, c);
    store_le<uint64_t>(p + kOffTailLinkCount, t);
    seal_header(p, header_bytes);
    std::copy(stored.begin(), stored.end(), p + header_bytes);
    return out;
}

DecodedDelta decode_delta_graph(std::span<const uint8_t> bytes, std::string_view file) {
    ParsedHeader ph = parse_header(bytes, file, GraphKind::kDelta);
    const Faults f(file, bytes.size());
    const GraphHeader& h = ph.h;
    const uint32_t header_bytes = h.header_bytes;

    // The exact length, then the stored bytes before zstd sees them, the raw bytes after.
    const uint64_t body_in_file = bytes.size() - header_bytes;
    if (ph.stored_body_bytes > body_in_file) {
        throw f.truncated("the header and body need " + std::to_string(header_bytes) + " + " +
                          std::to_string(ph.stored_body_bytes));
    }
    if (ph.stored_body_bytes < body_in_file) {
        throw Error::corruption(f.where() + " has " +
                                std::to_string(body_in_file - ph.stored_body_bytes) +
                                " trailing bytes after its body");
    }
    const std::span<const uint8_t> stored = bytes.subspan(header_bytes);
    const uint64_t stored_checksum = checksum64(stored);
    if (ph.stored_body_checksum != stored_checksum)
        throw f.corrupt("stored body checksum mismatch");
    std::vector<uint8_t> decompressed;
    std::span<const uint8_t> body = stored;
    if (ph.body_encoding == kEncodingZstd) {
        decompressed = detail::decompress_body(stored, ph.raw_body_bytes, f.where());
        body = decompressed;
    }
    const uint64_t raw_checksum =
        ph.body_encoding == kEncodingZstd ? checksum64(body) : stored_checksum;
    if (ph.raw_body_checksum != raw_checksum)
        throw f.corrupt("raw body checksum mismatch");

    // The columns (their total length is raw_body_bytes, checked in the header).
    const uint64_t n_total = h.node_count;
    const uint64_t base = h.base_node_count;
    const size_t n = static_cast<size_t>(n_total - base);
    const size_t a = static_cast<size_t>(ph.vector_change_count);
    const size_t b = static_cast<size_t>(ph.flag_change_count);
    const size_t c = static_cast<size_t>(ph.list_change_count);
    const size_t t = static_cast<size_t>(ph.tail_link_count);
    const uint8_t* r = body.data();
    const uint8_t* new_vector = r;
    const uint8_t* new_key = new_vector + 8 * n;
    const uint8_t* new_level = new_key + 8 * n;
    const uint8_t* new_flags = new_level + n;
    const uint8_t* vc_node = new_flags + n;
    const uint8_t* vc_value = vc_node + 4 * a;
    const uint8_t* fc_node = vc_value + 8 * a;
    const uint8_t* fc_value = fc_node + 4 * b;
    const uint8_t* lc_node = fc_value + b;
    const uint8_t* lc_layer = lc_node + 4 * c;
    const uint8_t* lc_prefix = lc_layer + c;
    const uint8_t* lc_tail = lc_prefix + 2 * c;
    const uint8_t* tail = lc_tail + 2 * c;

    DecodedDelta out;
    out.header = std::move(ph.h);
    GraphDelta& d = out.delta;
    const GraphHeader& hh = out.header;

    // New nodes.
    d.new_nodes.resize(n);
    for (size_t k = 0; k < n; ++k) {
        DeltaNode& x = d.new_nodes[k];
        const std::string who = "new node " + std::to_string(base + k);
        x.vector_index = load_le<uint64_t>(new_vector + 8 * k);
        x.key = load_le<uint64_t>(new_key + 8 * k);
        x.level = new_level[k];
        x.flags = new_flags[k];
        if (x.level > kMaxGraphLevel) {
            throw f.corrupt(who + " has level " + std::to_string(x.level) + "; the limit is " +
                            std::to_string(kMaxGraphLevel));
        }
        if (!flags_valid(x.flags))
            throw f.corrupt(who + " has " + flags_fault(x.flags));
        if (x.vector_index >= hh.vector_count) {
            throw f.corrupt(who + " refers to vector " + std::to_string(x.vector_index) +
                            " but vector_count is " + std::to_string(hh.vector_count));
        }
        if (!(x.flags & kNodeRemoved) && int32_t(x.level) > hh.max_level) {
            throw f.corrupt(who + " has level " + std::to_string(x.level) + ", above max_level " +
                            std::to_string(hh.max_level));
        }
        if (uint64_t(hh.entry_point) == base + k && hh.entry_point >= 0) {
            if (x.flags & kNodeRemoved)
                throw f.corrupt("entry_point " + std::to_string(base + k) + " is a removed node");
            if (int32_t(x.level) != hh.max_level) {
                throw f.corrupt("entry_point " + std::to_string(base + k) + " has level " +
                                std::to_string(x.level) + ", not max_level " +
                                std::to_string(hh.max_level));
            }
        }
    }

    // Vector and flag changes: strictly ascending base nodes.
    d.vector_changes.resize(a);
    for (size_t k = 0; k < a; ++k) {
        const uint32_t node = load_le<uint32_t>(vc_node + 4 * k);
        const uint64_t value = load_le<uint64_t>(vc_value + 8 * k);
        if (k > 0 && node <= d.vector_changes[k - 1].first) {
            throw f.corrupt("vector change " + std::to_string(k) + " is for node " +
                            std::to_string(node) + " after node " +
                            std::to_string(d.vector_changes[k - 1].first) +
                            " (not strictly ascending)");
        }
        if (node >= base) {
            throw f.corrupt("vector change " + std::to_string(k) + " is for node " +
                            std::to_string(node) + ", which is not a base node (base_node_count " +
                            std::to_string(base) + ")");
        }
        if (value >= hh.vector_count) {
            throw f.corrupt("vector change " + std::to_string(k) + " gives node " +
                            std::to_string(node) + " vector " + std::to_string(value) +
                            " but vector_count is " + std::to_string(hh.vector_count));
        }
        d.vector_changes[k] = {node, value};
    }
    d.flag_changes.resize(b);
    for (size_t k = 0; k < b; ++k) {
        const uint32_t node = load_le<uint32_t>(fc_node + 4 * k);
        const uint8_t value = fc_value[k];
        if (k > 0 && node <= d.flag_changes[k - 1].first) {
            throw f.corrupt("flag change " + std::to_string(k) + " is for node " +
                            std::to_string(node) + " after node " +
                            std::to_string(d.flag_changes[k - 1].first) +
                            " (not strictly ascending)");
        }
        if (node >= base) {
            throw f.corrupt("flag change " + std::to_string(k) + " is for node " +
                            std::to_string(node) + ", which is not a base node (base_node_count " +
                            std::to_string(base) + ")");
        }
        if (!flags_valid(value)) {
            throw f.corrupt("flag change " + std::to_string(k) + " gives node " +
                            std::to_string(node) + " " + flags_fault(value));
        }
        d.flag_changes[k] = {node, value};
    }

    // List changes: the tails add up first, then each change in order.
    uint64_t tails = 0;
    for (size_t k = 0; k < c; ++k)
        tails += load_le<uint16_t>(lc_tail + 2 * k);
    if (tails != t) {
        throw f.corrupt("the list changes' tail counts add up to " + std::to_string(tails) +
                        " links, but tail_link_count is " + std::to_string(t));
    }
    d.list_changes.resize(c);
    d.tail_links.resize(t);
    uint64_t tail_at = 0;
    for (size_t k = 0; k < c; ++k) {
        ListChange& x = d.list_changes[k];
        x.node = load_le<uint32_t>(lc_node + 4 * k);
        x.layer = lc_layer[k];
        x.prefix = load_le<uint16_t>(lc_prefix + 2 * k);
        x.tail_count = load_le<uint16_t>(lc_tail + 2 * k);
        x.tail_begin = tail_at;
        const std::string which = "list change " + std::to_string(k) + " (node " +
                                  std::to_string(x.node) + ", layer " + std::to_string(x.layer) +
                                  ")";
        if (k > 0) {
            const ListChange& prev = d.list_changes[k - 1];
            if (x.node < prev.node || (x.node == prev.node && x.layer <= prev.layer)) {
                throw f.corrupt(which + " comes after (node " + std::to_string(prev.node) +
                                ", layer " + std::to_string(prev.layer) +
                                ") (not strictly ascending)");
            }
        }
        if (x.node >= n_total) {
            throw f.corrupt(which + " is for a node that does not exist (node_count " +
                            std::to_string(n_total) + ")");
        }
        if (x.layer > kMaxGraphLevel) {
            throw f.corrupt(which + " is for a layer above " + std::to_string(kMaxGraphLevel));
        }
        if (x.node >= base) {
            const uint8_t level = d.new_nodes[x.node - base].level;
            if (x.layer > level) {
                throw f.corrupt(which + " is for new node " + std::to_string(x.node) +
                                ", whose level is " + std::to_string(level));
            }
            if (x.prefix != 0) {
                throw f.corrupt(which + " has prefix " + std::to_string(x.prefix) +
                                " but a new node's lists have no base list (it must be 0)");
            }
        }
        const uint32_t cap = x.layer == 0 ? 2 * hh.m : hh.m;
        if (uint32_t(x.prefix) + x.tail_count > cap) {
            throw f.corrupt(which + " holds " + std::to_string(x.prefix) + " + " +
                            std::to_string(x.tail_count) + " links; the limit is " +
                            std::to_string(cap) + (x.layer == 0 ? " (2*M)" : " (M)"));
        }
        for (uint32_t j = 0; j < x.tail_count; ++j, ++tail_at) {
            const uint32_t to = load_le<uint32_t>(tail + 4 * tail_at);
            if (to >= n_total) {
                throw f.corrupt(which + " links to node " + std::to_string(to) +
                                ", which does not exist");
            }
            if (to == x.node)
                throw f.corrupt(which + " links the node to itself");
            d.tail_links[tail_at] = to;
        }
    }
    return out;
}

GraphHeader parse_graph_header(std::span<const uint8_t> bytes, std::string_view file) {
    return parse_header(bytes, file, std::nullopt).h;
}

}  // namespace vstore::format
