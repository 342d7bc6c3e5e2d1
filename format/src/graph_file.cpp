#include "vstore/format/graph_file.h"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>

#include "graph_zstd.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

namespace vstore::format {
namespace {

// spec/graph-file.md, "Version 1 (legacy)", "V1 header".
constexpr std::array<uint8_t, 8> kGraphFileMagic = {'V', 'S', 'T', 'O', 'R', 'E', 'G', 'F'};
constexpr uint32_t kGraphFileVersion = 1;

constexpr uint32_t kOffVersion = 8;
constexpr uint32_t kOffHeaderBytes = 12;
constexpr uint32_t kOffFlags = 16;
constexpr uint32_t kOffMetric = 20;
constexpr uint32_t kOffDimension = 24;
constexpr uint32_t kOffM = 28;
constexpr uint32_t kOffEfConstruction = 32;
constexpr uint32_t kOffMaxLevel = 36;
constexpr uint32_t kOffVectorCount = 40;
constexpr uint32_t kOffCreated = 48;
constexpr uint32_t kOffEntryPoint = 56;
constexpr uint32_t kOffNodeCount = 64;
constexpr uint32_t kOffLinkCount = 72;
constexpr uint32_t kOffBodyEncoding = 80;
constexpr uint32_t kOffReserved = 84;
constexpr uint32_t kOffRawBodyBytes = 88;
constexpr uint32_t kOffStoredBodyBytes = 96;
constexpr uint32_t kOffRawBodyChecksum = 104;
constexpr uint32_t kOffStoredBodyChecksum = 112;
constexpr uint32_t kOffStrings = 120;  // domain, commit, parent: each a u8 length + bytes

constexpr uint32_t kFlagHasParent = 1;
constexpr uint8_t kNodeFlagTombstone = 1;
constexpr uint32_t kEncodingRaw = 0;
constexpr uint32_t kEncodingZstd = 1;
constexpr uint64_t kMaxZstdExpansion = detail::kGraphMaxZstdExpansion;

constexpr size_t kMaxStringBytes = 255;
constexpr uint32_t kMaxLevel = 64;
constexpr uint32_t kMaxDimension = 65536;
constexpr uint32_t kMinM = 2;
constexpr uint32_t kMaxM = 2048;

constexpr uint64_t align8(uint64_t n) {
    return (n + 7) & ~uint64_t(7);
}
constexpr uint32_t kMinHeaderBytes = align8(kOffStrings + 3) + 8;                        // 136
constexpr uint32_t kMaxHeaderBytes = align8(kOffStrings + 3 + 3 * kMaxStringBytes) + 8;  // 896
static_assert(kMinHeaderBytes == 136 && kMaxHeaderBytes == 896);

// Bytes per node in the columns whose size depends only on the node count: vector_index (8),
// key (8), level (4), flags (1).
constexpr uint64_t kPerNodeBytes = 21;

void check_string_length(const char* what, const std::string& s) {
    if (s.size() > kMaxStringBytes) {
        throw Error::invalid_argument(std::string("graph file ") + what + " is " +
                                      std::to_string(s.size()) + " bytes; the limit is " +
                                      std::to_string(kMaxStringBytes));
    }
}

std::vector<uint8_t> encode_body(const GraphFileData& g, uint64_t& link_count) {
    const size_t n = g.nodes.size();
    uint64_t slots = 0;
    link_count = 0;
    for (size_t i = 0; i < n; ++i) {
        const GraphNode& node = g.nodes[i];
        if (node.links.size() != uint64_t(node.level) + 1) {
            throw Error::invalid_argument(
                "graph node " + std::to_string(i) + " has level " + std::to_string(node.level) +
                " but " + std::to_string(node.links.size()) + " link lists; it needs level + 1");
        }
        slots += node.links.size();
        for (const auto& layer : node.links) {
            if (layer.size() > std::numeric_limits<uint32_t>::max()) {
                throw Error::invalid_argument("graph node " + std::to_string(i) +
                                              " has too many links");
            }
            link_count += layer.size();
        }
    }
    // Columns: vector_index, key, level, degree, link, flags (spec/graph-file.md, "V1 body").
    std::vector<uint8_t> body(kPerNodeBytes * n + 4 * slots + 4 * link_count);
    uint8_t* vector_col = body.data();
    uint8_t* key_col = vector_col + 8 * n;
    uint8_t* level_col = key_col + 8 * n;
    uint8_t* degree = level_col + 4 * n;
    uint8_t* link = degree + 4 * slots;
    uint8_t* flag_col = link + 4 * link_count;
    for (size_t i = 0; i < n; ++i) {
        const GraphNode& node = g.nodes[i];
        store_le<uint64_t>(vector_col + 8 * i, node.vector_index);
        store_le<uint64_t>(key_col + 8 * i, node.key);
        store_le<uint32_t>(level_col + 4 * i, node.level);
        for (const auto& layer : node.links) {
            store_le<uint32_t>(degree, static_cast<uint32_t>(layer.size()));
            degree += 4;
            for (uint32_t to : layer) {
                store_le<uint32_t>(link, to);
                link += 4;
            }
        }
        flag_col[i] = node.tombstone ? kNodeFlagTombstone : 0;
    }
    return body;
}

using detail::compress_if_worth_it;
using detail::decompress_body;

}  // namespace

std::string_view metric_name(Metric metric) {
    switch (metric) {
        case Metric::kL2:
            return "l2";
        case Metric::kCosine:
            return "cosine";
        case Metric::kIp:
            return "ip";
    }
    return "unknown";
}

std::optional<Metric> metric_from_name(std::string_view name) {
    for (Metric m : {Metric::kL2, Metric::kCosine, Metric::kIp}) {
        if (metric_name(m) == name)
            return m;
    }
    return std::nullopt;
}

std::vector<uint8_t> encode_graph_file(const GraphFileData& g) {
    check_string_length("domain", g.domain);
    check_string_length("commit", g.commit);
    if (g.parent)
        check_string_length("parent", *g.parent);

    uint64_t link_count = 0;
    const std::vector<uint8_t> raw = encode_body(g, link_count);
    const auto compressed = compress_if_worth_it(raw);
    const std::vector<uint8_t>& stored = compressed ? *compressed : raw;

    const std::string parent = g.parent.value_or("");
    const uint64_t strings_end =
        kOffStrings + 3 + g.domain.size() + g.commit.size() + parent.size();
    const uint32_t header_bytes = static_cast<uint32_t>(align8(strings_end) + 8);

    std::vector<uint8_t> out(header_bytes + stored.size());  // zero-filled: padding
    uint8_t* p = out.data();
    std::copy(kGraphFileMagic.begin(), kGraphFileMagic.end(), p);
    store_le<uint32_t>(p + kOffVersion, kGraphFileVersion);
    store_le<uint32_t>(p + kOffHeaderBytes, header_bytes);
    store_le<uint32_t>(p + kOffFlags, g.parent ? kFlagHasParent : 0);
    store_le<uint32_t>(p + kOffMetric, static_cast<uint32_t>(g.metric));
    store_le<uint32_t>(p + kOffDimension, g.dimension);
    store_le<uint32_t>(p + kOffM, g.m);
    store_le<uint32_t>(p + kOffEfConstruction, g.ef_construction);
    store_le<int32_t>(p + kOffMaxLevel, g.max_level);
    store_le<uint64_t>(p + kOffVectorCount, g.vector_count);
    store_le<uint64_t>(p + kOffCreated, g.created_unix_ms);
    store_le<int64_t>(p + kOffEntryPoint, g.entry_point);
    store_le<uint64_t>(p + kOffNodeCount, g.nodes.size());
    store_le<uint64_t>(p + kOffLinkCount, link_count);
    store_le<uint32_t>(p + kOffBodyEncoding, compressed ? kEncodingZstd : kEncodingRaw);
    store_le<uint32_t>(p + kOffReserved, 0);
    store_le<uint64_t>(p + kOffRawBodyBytes, raw.size());
    store_le<uint64_t>(p + kOffStoredBodyBytes, stored.size());
    const uint64_t raw_checksum = checksum64(raw);
    store_le<uint64_t>(p + kOffRawBodyChecksum, raw_checksum);
    store_le<uint64_t>(p + kOffStoredBodyChecksum,
                       compressed ? checksum64(*compressed) : raw_checksum);
    size_t at = kOffStrings;
    for (const std::string* s : {&g.domain, &g.commit, &parent}) {
        p[at] = static_cast<uint8_t>(s->size());
        std::copy(s->begin(), s->end(), p + at + 1);
        at += 1 + s->size();
    }
    store_le<uint64_t>(p + header_bytes - 8, checksum64({p, header_bytes - 8u}));
    std::copy(stored.begin(), stored.end(), p + header_bytes);
    return out;
}

GraphFileData decode_graph_file(std::span<const uint8_t> bytes, std::string_view file) {
    const std::string where = "graph file '" + std::string(file) + "'";
    auto corrupt = [&](const std::string& what) { return Error::corruption(where + ": " + what); };
    auto truncated = [&](const std::string& need) {
        return Error::corruption(where + " is truncated: it has " + std::to_string(bytes.size()) +
                                 " bytes; " + need);
    };
    const uint64_t size = bytes.size();
    const uint8_t* p = bytes.data();

    // Magic, then the version before anything else: a later version may change the rest.
    if (size < kGraphFileMagic.size() ||
        !std::equal(kGraphFileMagic.begin(), kGraphFileMagic.end(), p)) {
        throw Error::corruption(where + " is not a graph file (bad magic)");
    }
    if (size < kOffVersion + 4)
        throw truncated("the version field ends at byte 12");
    const uint32_t version = load_le<uint32_t>(p + kOffVersion);
    if (version != kGraphFileVersion) {
        throw Error::version_mismatch(where, version,
                                      "version " + std::to_string(kGraphFileVersion));
    }
    if (size < kMinHeaderBytes)
        throw truncated("the smallest header is " + std::to_string(kMinHeaderBytes));
    const uint32_t header_bytes = load_le<uint32_t>(p + kOffHeaderBytes);
    if (header_bytes < kMinHeaderBytes || header_bytes > kMaxHeaderBytes || header_bytes % 8 != 0) {
        throw corrupt("header_bytes " + std::to_string(header_bytes) +
                      " is not a multiple of 8 in " + std::to_string(kMinHeaderBytes) + ".." +
                      std::to_string(kMaxHeaderBytes));
    }
    if (size < header_bytes)
        throw truncated("the header is " + std::to_string(header_bytes));
    const uint32_t checked = header_bytes - 8;
    if (load_le<uint64_t>(p + checked) != checksum64({p, checked}))
        throw corrupt("header checksum mismatch");

    // Strings, padding, flags and reserved fields.
    const uint32_t flags = load_le<uint32_t>(p + kOffFlags);
    if ((flags & ~kFlagHasParent) != 0)
        throw corrupt("unknown header flags " + std::to_string(flags));
    uint64_t at = kOffStrings;
    auto read_string = [&](const char* what) {
        if (at + 1 > checked)
            throw corrupt(std::string("the ") + what + " length lies past the header");
        const uint8_t len = p[at];
        if (at + 1 + len > checked)
            throw corrupt(std::string("the ") + what + " runs past the header");
        std::string s(reinterpret_cast<const char*>(p + at + 1), len);
        at += 1 + len;
        return s;
    };
    GraphFileData g;
    g.domain = read_string("domain");
    g.commit = read_string("commit");
    std::string parent = read_string("parent");
    if (flags & kFlagHasParent) {
        g.parent = std::move(parent);
    } else if (!parent.empty()) {
        throw corrupt("a parent name is present but the has_parent flag is clear");
    }
    if (align8(at) + 8 != header_bytes) {
        throw corrupt("header_bytes " + std::to_string(header_bytes) + " does not match its " +
                      std::to_string(at) + " bytes of fields and names");
    }
    if (!all_zero({p + at, checked - at}))
        throw corrupt("header padding is not zero");
    if (load_le<uint32_t>(p + kOffReserved) != 0)
        throw corrupt("reserved header field is not zero");

    // Parameters.
    const uint32_t metric = load_le<uint32_t>(p + kOffMetric);
    if (metric < 1 || metric > 3)
        throw corrupt("metric " + std::to_string(metric) + " is not 1 (l2), 2 (cosine) or 3 (ip)");
    g.metric = static_cast<Metric>(metric);
    g.dimension = load_le<uint32_t>(p + kOffDimension);
    if (g.dimension == 0 || g.dimension > kMaxDimension) {
        throw corrupt("dimension " + std::to_string(g.dimension) + " is outside 1.." +
                      std::to_string(kMaxDimension));
    }
    g.m = load_le<uint32_t>(p + kOffM);
    if (g.m < kMinM || g.m > kMaxM) {
        throw corrupt("M " + std::to_string(g.m) + " is outside " + std::to_string(kMinM) + ".." +
                      std::to_string(kMaxM));
    }
    g.ef_construction = load_le<uint32_t>(p + kOffEfConstruction);
    g.max_level = load_le<int32_t>(p + kOffMaxLevel);
    g.vector_count = load_le<uint64_t>(p + kOffVectorCount);
    g.created_unix_ms = load_le<uint64_t>(p + kOffCreated);
    g.entry_point = load_le<int64_t>(p + kOffEntryPoint);
    const uint64_t node_count = load_le<uint64_t>(p + kOffNodeCount);
    const uint64_t link_count = load_le<uint64_t>(p + kOffLinkCount);

    // Entry point and top level, as far as they can be checked without the body.
    if (node_count == 0) {
        if (g.entry_point != -1) {
            throw corrupt("entry_point is " + std::to_string(g.entry_point) +
                          " but the graph has no nodes (it must be -1)");
        }
        if (g.max_level != -1) {
            throw corrupt("max_level is " + std::to_string(g.max_level) +
                          " but the graph has no nodes (it must be -1)");
        }
    } else {
        if (g.entry_point == -1) {
            throw corrupt("entry_point is -1 but the graph has " + std::to_string(node_count) +
                          " nodes");
        }
        if (g.entry_point < 0 || uint64_t(g.entry_point) >= node_count) {
            throw corrupt("entry_point " + std::to_string(g.entry_point) +
                          " is not a node (the graph has " + std::to_string(node_count) +
                          " nodes)");
        }
        if (g.max_level < 0 || g.max_level > int32_t(kMaxLevel)) {
            throw corrupt("max_level " + std::to_string(g.max_level) + " is outside 0.." +
                          std::to_string(kMaxLevel));
        }
    }

    // Body lengths, all checked against the file size before anything is allocated.
    const uint32_t encoding = load_le<uint32_t>(p + kOffBodyEncoding);
    const uint64_t raw_bytes = load_le<uint64_t>(p + kOffRawBodyBytes);
    const uint64_t stored_bytes = load_le<uint64_t>(p + kOffStoredBodyBytes);
    if (encoding != kEncodingRaw && encoding != kEncodingZstd) {
        throw corrupt("body_encoding " + std::to_string(encoding) + " is not 0 (raw) or 1 (zstd)");
    }
    const uint64_t body_in_file = size - header_bytes;
    if (stored_bytes > body_in_file) {
        throw truncated("the header and body need " + std::to_string(header_bytes) + " + " +
                        std::to_string(stored_bytes));
    }
    if (stored_bytes < body_in_file) {
        throw Error::corruption(where + " has " + std::to_string(body_in_file - stored_bytes) +
                                " trailing bytes after its body");
    }
    if (encoding == kEncodingRaw && raw_bytes != stored_bytes) {
        throw corrupt("raw body: raw_body_bytes " + std::to_string(raw_bytes) +
                      " differs from stored_body_bytes " + std::to_string(stored_bytes));
    }
    if (encoding == kEncodingZstd && stored_bytes == 0)
        throw corrupt("zstd body is empty");
    // A zstd frame expands at most 32768-fold (a block of at most 128 KiB takes at least four
    // bytes), so a larger raw_body_bytes is a lie; the check keeps raw_body_bytes + 1 in range.
    if (encoding == kEncodingZstd &&
        raw_bytes / kMaxZstdExpansion + (raw_bytes % kMaxZstdExpansion != 0) > stored_bytes) {
        throw corrupt("zstd body: raw_body_bytes " + std::to_string(raw_bytes) + " is more than " +
                      std::to_string(kMaxZstdExpansion) + " times stored_body_bytes " +
                      std::to_string(stored_bytes));
    }
    // raw = 21 N + 4 S + 4 L with N <= S <= 65 N (N: nodes, S: layers of all nodes, L: links),
    // so 25 N + 4 L <= raw <= 281 N + 4 L. Written so that nothing overflows.
    bool counts_fit = node_count <= raw_bytes / (kPerNodeBytes + 4) &&
                      link_count <= (raw_bytes - (kPerNodeBytes + 4) * node_count) / 4;
    if (counts_fit) {
        const uint64_t rest = raw_bytes - 4 * link_count;  // >= 25 N
        const uint64_t per_node_max = kPerNodeBytes + 4 * (kMaxLevel + 1);
        counts_fit = rest / per_node_max + (rest % per_node_max != 0) <= node_count;
    }
    if (!counts_fit) {
        throw corrupt("raw_body_bytes " + std::to_string(raw_bytes) + " cannot hold " +
                      std::to_string(node_count) + " nodes with " + std::to_string(link_count) +
                      " links");
    }

    // The body.
    // The stored bytes are checked before zstd sees them, and the raw bytes after.
    const std::span<const uint8_t> stored = bytes.subspan(header_bytes);
    const uint64_t stored_checksum = checksum64(stored);
    if (load_le<uint64_t>(p + kOffStoredBodyChecksum) != stored_checksum)
        throw corrupt("stored body checksum mismatch");
    std::vector<uint8_t> decompressed;
    std::span<const uint8_t> body = stored;
    if (encoding == kEncodingZstd) {
        decompressed = decompress_body(stored, raw_bytes, where);
        body = decompressed;
    }
    const uint64_t raw_checksum = encoding == kEncodingZstd ? checksum64(body) : stored_checksum;
    if (load_le<uint64_t>(p + kOffRawBodyChecksum) != raw_checksum)
        throw corrupt("raw body checksum mismatch");

    const uint8_t* b = body.data();
    const size_t n = static_cast<size_t>(node_count);
    const uint8_t* vector_col = b;
    const uint8_t* key_col = vector_col + 8 * n;
    const uint8_t* level_col = key_col + 8 * n;
    const uint8_t* degree_col = level_col + 4 * n;

    uint64_t slots = 0;  // S
    uint32_t top = 0;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t level = load_le<uint32_t>(level_col + 4 * i);
        if (level > kMaxLevel) {
            throw corrupt("node " + std::to_string(i) + " has level " + std::to_string(level) +
                          "; the limit is " + std::to_string(kMaxLevel));
        }
        top = std::max(top, level);
        slots += level + 1;
    }
    if (raw_bytes != kPerNodeBytes * node_count + 4 * slots + 4 * link_count) {
        throw corrupt("raw_body_bytes " + std::to_string(raw_bytes) + " does not match " +
                      std::to_string(node_count) + " nodes in " + std::to_string(slots) +
                      " layers with " + std::to_string(link_count) + " links");
    }
    const uint8_t* link_col = degree_col + 4 * slots;
    const uint8_t* flag_col = link_col + 4 * link_count;
    {
        uint64_t sum = 0;
        for (uint64_t s = 0; s < slots; ++s)
            sum += load_le<uint32_t>(degree_col + 4 * s);
        if (sum != link_count) {
            throw corrupt("the degrees of its nodes add up to " + std::to_string(sum) +
                          " links, but link_count is " + std::to_string(link_count));
        }
    }

    g.nodes.resize(n);
    uint64_t slot = 0;
    uint64_t link = 0;
    for (size_t i = 0; i < n; ++i) {
        GraphNode& node = g.nodes[i];
        node.vector_index = load_le<uint64_t>(vector_col + 8 * i);
        node.key = load_le<uint64_t>(key_col + 8 * i);
        node.level = load_le<uint32_t>(level_col + 4 * i);
        const uint8_t flag = flag_col[i];
        if ((flag & ~kNodeFlagTombstone) != 0) {
            throw corrupt("node " + std::to_string(i) + " has unknown flags " +
                          std::to_string(flag));
        }
        node.tombstone = (flag & kNodeFlagTombstone) != 0;
        if (node.vector_index >= g.vector_count) {
            throw corrupt("node " + std::to_string(i) + " refers to vector " +
                          std::to_string(node.vector_index) + " but vector_count is " +
                          std::to_string(g.vector_count));
        }
        node.links.resize(node.level + 1);
        for (uint32_t l = 0; l <= node.level; ++l) {
            const uint32_t degree = load_le<uint32_t>(degree_col + 4 * slot++);
            const uint64_t cap = l == 0 ? 2 * uint64_t(g.m) : g.m;
            if (degree > cap) {
                throw corrupt("node " + std::to_string(i) + " has " + std::to_string(degree) +
                              " links in layer " + std::to_string(l) + "; the limit is " +
                              std::to_string(cap) + (l == 0 ? " (2*M)" : " (M)"));
            }
            auto& out = node.links[l];
            out.resize(degree);
            for (uint32_t k = 0; k < degree; ++k) {
                const uint32_t to = load_le<uint32_t>(link_col + 4 * link++);
                if (to >= node_count) {
                    throw corrupt("node " + std::to_string(i) + " links in layer " +
                                  std::to_string(l) + " to node " + std::to_string(to) +
                                  ", which does not exist");
                }
                if (to == i) {
                    throw corrupt("node " + std::to_string(i) + " links to itself in layer " +
                                  std::to_string(l));
                }
                const uint32_t to_level = load_le<uint32_t>(level_col + 4 * size_t(to));
                if (to_level < l) {
                    throw corrupt("node " + std::to_string(i) + " links in layer " +
                                  std::to_string(l) + " to node " + std::to_string(to) +
                                  ", whose level is " + std::to_string(to_level));
                }
                out[k] = to;
            }
        }
    }

    if (n > 0) {
        if (uint32_t(g.max_level) != top) {
            throw corrupt("max_level is " + std::to_string(g.max_level) +
                          " but the highest node level is " + std::to_string(top));
        }
        const uint32_t entry_level = g.nodes[size_t(g.entry_point)].level;
        if (entry_level != top) {
            throw corrupt("entry_point " + std::to_string(g.entry_point) + " has level " +
                          std::to_string(entry_level) + ", not max_level " +
                          std::to_string(g.max_level));
        }
    }
    return g;
}

uint64_t graph_file_checksum(std::span<const uint8_t> bytes) {
    return checksum64(bytes);
}

std::string graph_file_name(std::string_view domain, std::string_view commit, uint32_t generation) {
    validate_name("domain", domain);
    validate_name("commit", commit);
    if (generation == 0)
        throw Error::invalid_argument("graph file generations start at 1");
    std::string file = percent_encode(domain);
    file += '@';
    file += percent_encode(commit);
    if (generation > 1) {
        file += '@';
        file += std::to_string(generation);
    }
    file += ".hnsw";
    if (file.size() > kMaxFileNameBytes) {
        throw Error::invalid_argument(
            "domain '" + std::string(domain) + "' and commit '" + std::string(commit) +
            "' encode to a " + std::to_string(file.size()) +
            "-byte graph file name; the limit is " + std::to_string(kMaxFileNameBytes));
    }
    return file;
}

bool is_graph_file_of(std::string_view file, std::string_view domain) {
    const std::string prefix = percent_encode(domain) + "@";
    return file.size() > prefix.size() + 5 && file.substr(0, prefix.size()) == prefix &&
           file.substr(file.size() - 5) == ".hnsw";
}

}  // namespace vstore::format
