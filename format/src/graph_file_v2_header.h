// Internal to format/: the header that both kinds of graph file version 2 share
// (spec/graph-file.md, "Header"), its field offsets and the checks common to every reader.
// Used by graph_file_v2.cpp, graph_full_file.cpp and graph_delta_file.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "graph_zstd.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file_v2.h"

namespace vstore::format::graph_v2 {

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
constexpr uint32_t kMinHeaderBytes = align64(kOffNames + 4 + 8);                      // 384
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

inline std::string section_label(uint32_t s) {
    return "section " + std::to_string(s) + " (" + kSectionNames[s] + ")";
}

inline std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

inline bool flags_valid(uint8_t f) {
    return (f & ~kNodeFlagMask) == 0 && f != kNodeFlagMask;
}

inline std::string flags_fault(uint8_t f) {
    if ((f & ~kNodeFlagMask) != 0)
        return "unknown flags " + hex(f);
    return "flags " + hex(f) + " (tombstone and removed together)";
}

inline void check_name_length(const char* what, const std::string& s) {
    if (s.size() > kMaxNameBytes) {
        throw Error::invalid_argument(std::string("graph file ") + what + " is " +
                                      std::to_string(s.size()) + " bytes; the limit is " +
                                      std::to_string(kMaxNameBytes));
    }
}

// The sizes and offsets of the eight sections of a full file (checksums zero).
inline std::array<SectionRef, kFullSectionCount> full_sections(uint64_t header_bytes, uint64_t n,
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
inline uint32_t header_bytes_for(const GraphHeader& h, const std::string& parent,
                                 size_t base_file) {
    return static_cast<uint32_t>(
        align64(kOffNames + 4 + h.domain.size() + h.commit.size() + parent.size() + base_file + 8));
}

// Writes the fields common to both kinds, the names and the padding (the output is zero-filled);
// the kind-specific area and the header checksum are the caller's.
inline void write_common_header(uint8_t* p, const GraphHeader& h, GraphKind kind,
                                uint32_t header_bytes, const std::string& parent) {
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

inline void seal_header(uint8_t* p, uint32_t header_bytes) {
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
inline ParsedHeader parse_header(std::span<const uint8_t> bytes, std::string_view file,
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
        throw Error::version_mismatch(f.where(), version, "versions 1 and 2");
    }
    if (size < kOffKind + 4)
        throw f.truncated("the kind field ends at byte 16");
    const uint32_t kind_value = load_le<uint32_t>(p + kOffKind);
    if (kind_value != uint32_t(GraphKind::kFull) && kind_value != uint32_t(GraphKind::kDelta))
        throw f.corrupt("kind " + std::to_string(kind_value) + " is not 1 (full) or 2 (delta)");
    const auto kind = static_cast<GraphKind>(kind_value);
    if (want && kind != *want) {
        throw Error::invalid_argument(f.where() + " is a " + std::string(graph_kind_name(kind)) +
                                      " graph file, not a " + std::string(graph_kind_name(*want)) +
                                      " one");
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
        throw f.corrupt("metric " + std::to_string(metric) +
                        " is not 1 (l2), 2 (cosine) or 3 (ip)");
    h.metric = static_cast<Metric>(metric);
    h.dimension = load_le<uint32_t>(p + kOffDimension);
    if (h.dimension == 0 || h.dimension > kMaxDimension) {
        throw f.corrupt("dimension " + std::to_string(h.dimension) + " is outside 1.." +
                        std::to_string(kMaxDimension));
    }
    h.m = load_le<uint32_t>(p + kOffM);
    if (h.m < kMinM || h.m > kMaxM) {
        throw f.corrupt("M " + std::to_string(h.m) + " is outside " + std::to_string(kMinM) + ".." +
                        std::to_string(kMaxM));
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
                                std::to_string(h.upper_count) + ", M " + std::to_string(h.m) + ")");
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
        throw f.corrupt("list_change_count " + std::to_string(c) +
                        " is more than 65 x node_count " + std::to_string(n));
    }
    if (t > 2 * uint64_t(h.m) * c) {
        throw f.corrupt("tail_link_count " + std::to_string(t) +
                        " is more than 2M x list_change_count (" + std::to_string(2 * h.m * c) +
                        ")");
    }
    const uint64_t want_raw = kDeltaPerNewNode * (n - base) + kDeltaPerVectorChange * a +
                              kDeltaPerFlagChange * b + kDeltaPerListChange * c +
                              kDeltaPerTailLink * t;
    if (out.raw_body_bytes != want_raw) {
        throw f.corrupt("raw_body_bytes " + std::to_string(out.raw_body_bytes) +
                        " does not match " + std::to_string(n - base) + " new nodes, " +
                        std::to_string(a) + " vector changes, " + std::to_string(b) +
                        " flag changes, " + std::to_string(c) + " list changes and " +
                        std::to_string(t) + " tail links (" + std::to_string(want_raw) + " bytes)");
    }
    if (out.body_encoding == kEncodingRaw && out.stored_body_bytes != out.raw_body_bytes) {
        throw f.corrupt("raw body: raw_body_bytes " + std::to_string(out.raw_body_bytes) +
                        " differs from stored_body_bytes " + std::to_string(out.stored_body_bytes));
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

}  // namespace vstore::format::graph_v2
