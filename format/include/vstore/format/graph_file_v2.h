// The bytes of graph file format version 2 (spec/graph-file.md): a *full* file laid out to be
// memory-mapped and searched in place, and a *delta* file that holds only what differs from
// the file it builds on. Version 1 files are read by graph_file.h; graph_file_version() tells
// the two apart.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vstore/format/graph_file.h"

namespace vstore::format {

inline constexpr uint32_t kGraphFormatV1 = 1;
inline constexpr uint32_t kGraphFormatV2 = 2;

// The format version of a graph file, from its first 12 bytes: Error(kCorruption) for a file
// that is too short or lacks the magic. Any version number is returned as it is.
uint32_t graph_file_version(std::span<const uint8_t> bytes, std::string_view file);


// Node flags (a u8 per node).
inline constexpr uint8_t kNodeTombstone = 1;  // kept for navigation, never a result
inline constexpr uint8_t kNodeRemoved = 2;    // an empty slot: no links, never linked to
inline constexpr uint8_t kNodeFlagMask = 3;   // both bits set together is invalid

inline constexpr uint32_t kMaxGraphLevel = 64;
inline constexpr uint32_t kMinGraphM = 2;
inline constexpr uint32_t kMaxGraphM = 2048;

// The length of the longest full file the format allows for `nodes` nodes with this M
// (spec/graph-file.md, "Sections"): the longest header, every node at level 64, 63 bytes of
// padding after each section. Exact in 64 bits for nodes <= 2^41 and M <= kMaxGraphM.
constexpr uint64_t max_full_graph_bytes(uint64_t nodes, uint32_t m) {
    return 1408 + 7 * 63 + nodes * (26 + 8 * uint64_t(m) + 4 * uint64_t(kMaxGraphLevel) * (m + 1));
}

// Header fields common to both kinds. The counts describe the graph the file yields: for a
// delta, the graph after applying it to its base.
struct GraphHeader {
    GraphKind kind = GraphKind::kFull;
    std::string domain;
    std::string commit;
    std::optional<std::string> parent;
    Metric metric = Metric::kL2;
    uint32_t dimension = 0;
    uint32_t m = 16;
    uint32_t ef_construction = 200;
    uint32_t features = 0;  // must be 0 in this version; bit 0 is reserved for a codes section
    int32_t max_level = -1;
    int64_t entry_point = -1;      // node ordinal; -1 (and max_level -1) when no node is
                                   // live or a tombstone (N = 0, or every node removed)
    uint64_t node_count = 0;       // slots, removed ones included
    uint64_t live_count = 0;       // nodes with neither flag
    uint64_t tombstone_count = 0;  // nodes flagged tombstone
    uint64_t removed_count = 0;    // nodes flagged removed
    uint64_t vector_count = 0;     // vectors of the domain's file the graph may refer to
    uint64_t created_unix_ms = 0;
    uint64_t upper_count = 0;  // U: (node, layer >= 1) pairs = sum of levels
    uint64_t link_count = 0;   // L: links of all nodes in all layers

    // Delta only (empty / zero in a full file).
    std::string base_file;            // name of the file this delta applies to, in the same directory
    uint64_t base_file_bytes = 0;     // its length
    uint64_t base_file_checksum = 0;  // graph_file_checksum of its bytes
    uint64_t base_node_count = 0;     // node_count of the base's graph
    uint32_t chain_depth = 0;         // 0 for a full file; a delta's is its base's + 1

    uint32_t header_bytes = 0;  // as read; ignored by the encoders
};

// ---- Full files -------------------------------------------------------------------------

// The sections of a full file, in file order. Each starts at a multiple of 64 bytes.
enum FullSection : uint32_t {
    kSectionVectorIndex = 0,  // u64[N]: the node's vector in the domain's vector file
    kSectionKey = 1,          // u64[N]: the node's interned external id
    kSectionLevel = 2,        // u8[N]: the node lives in layers 0..level (<= 64)
    kSectionFlags = 3,        // u8[N]: kNodeTombstone, kNodeRemoved
    kSectionUpperIndex = 4,   // u32[N]: the node's first record in kSectionUpper (0 if level 0)
    kSectionLayer0 = 5,       // N records of u32[2M + 1]: count, then 2M neighbour slots
    kSectionUpper = 6,        // U records of u32[M + 1]: count, then M neighbour slots
    kSectionCodes = 7,        // reserved for quantized codes; empty in this version
    kFullSectionCount = 8,
};

struct SectionRef {
    uint64_t offset = 0;    // from the start of the file, a multiple of 64
    uint64_t bytes = 0;     // exact length; padding up to the next section is zero
    uint64_t checksum = 0;  // XXH3-64 of the section's bytes
};

// Where everything is in a full file, from its header alone.
struct FullGraphLayout {
    GraphHeader header;
    std::array<SectionRef, kFullSectionCount> sections{};
    uint32_t layer0_words() const { return 2 * header.m + 1; }  // u32 per layer-0 record
    uint32_t upper_words() const { return header.m + 1; }       // u32 per upper record
};

// A graph to be written as a full file, read node by node.
class GraphSource {
  public:
    virtual ~GraphSource() = default;
    virtual uint64_t node_count() const = 0;
    virtual uint64_t vector_index(uint32_t node) const = 0;
    virtual uint64_t key(uint32_t node) const = 0;
    virtual uint32_t level(uint32_t node) const = 0;
    virtual uint8_t flags(uint32_t node) const = 0;
    // The neighbours of `node` in `layer` (0..level), as node ordinals, in search order.
    virtual std::span<const uint32_t> links(uint32_t node, uint32_t layer) const = 0;
};

// The whole full file. From `header`: names, parameters, entry_point, max_level, vector_count,
// created_unix_ms; node_count, the four counts, upper_count and link_count are computed from
// the source. Error(kInvalidArgument) for what the format cannot hold (a name over 255 bytes,
// a level over 64, a list longer than its layer allows, more than 2^32 - 1 nodes or upper
// records, an M outside 2..2048 (it sizes the records), features other than 0). The graph
// rules are not checked: tests write files readers refuse.
std::vector<uint8_t> encode_full_graph(const GraphHeader& header, const GraphSource& source);

// Checks what can be checked from the header in O(1): magic, version, kind, header checksum,
// every field's range, the section table (offsets, alignment, exact sizes from N, U and M,
// zero padding is NOT read) against `bytes.size()`, the file's exact length. `bytes` is the
// whole file (a mapping); only its header is read. Error(kCorruption) for damage,
// Error(kInvalidArgument) for a version or feature this build does not read.
FullGraphLayout parse_full_graph(std::span<const uint8_t> bytes, std::string_view file);

// Every section checksum, the padding, and every graph rule (levels, flags, degrees, links in
// range, not to self, not to removed nodes, to nodes living in the layer; the upper index;
// the counts; the entry point). O(file). Error(kCorruption) naming the file and the first
// fault found; Error(kInvalidArgument) if `layout` is not what parse_full_graph gives for
// `bytes`. Allocates nothing.
void verify_full_graph(std::span<const uint8_t> bytes, const FullGraphLayout& layout,
                       std::string_view file);

// ---- Delta files ------------------------------------------------------------------------

struct DeltaNode {  // a node appended after the base's last
    uint64_t vector_index = 0;
    uint64_t key = 0;
    uint8_t level = 0;
    uint8_t flags = 0;
};

// A changed list: the new list is the first `prefix` entries of the base's list for the same
// (node, layer) followed by tail_links[tail_begin .. tail_begin + tail_count). A new node's
// lists have prefix 0; a (node, layer) of a new node without an entry is empty.
struct ListChange {
    uint32_t node = 0;
    uint8_t layer = 0;
    uint16_t prefix = 0;
    uint16_t tail_count = 0;
    uint64_t tail_begin = 0;  // filled by the decoder; the encoder takes changes in order
};

struct GraphDelta {
    std::vector<DeltaNode> new_nodes;  // ordinals base_node_count, base_node_count + 1, ...
    std::vector<std::pair<uint32_t, uint64_t>> vector_changes;  // (base node, new vector index)
    std::vector<std::pair<uint32_t, uint8_t>> flag_changes;     // (base node, new flags)
    std::vector<ListChange> list_changes;  // strictly ascending by (node, layer)
    std::vector<uint32_t> tail_links;      // the tails, concatenated in list_changes order
};

// The whole delta file; the body is zstd-compressed when that saves at least 1/8. From
// `header`: everything but header_bytes. Error(kInvalidArgument) for what the format cannot
// hold (names over 255 bytes, changes out of order, a tail that does not fit its list, tails
// that do not add up to tail_links, node_count - base_node_count other than the number of new
// nodes, features other than 0). Nothing else is checked: tests write deltas readers refuse.
std::vector<uint8_t> encode_delta_graph(const GraphHeader& header, const GraphDelta& delta);

// Decodes and checks a delta on its own: magic, version, kind, both checksums, every length
// before anything is allocated or decompressed, the order of the changes, node ordinals below
// node_count, changed nodes below base_node_count, new nodes' levels and flags, vector
// indices below vector_count, layers within their node's level, list lengths within the layer's
// limit, links below node_count and not to the node itself; a new node that is not removed
// has a level <= max_level, and a new node that is the entry point is not removed and has
// level max_level. What needs the base (prefixes within the base lists, link targets' levels
// and flags, the base's identity) is the applier's to check.
struct DecodedDelta {
    GraphHeader header;
    GraphDelta delta;
};
DecodedDelta decode_delta_graph(std::span<const uint8_t> bytes, std::string_view file);

// Either kind's header alone (checked as far as the header goes), for inspect and policies.
// `bytes` is the file or just its first header_bytes bytes: the file's length is not checked.
GraphHeader parse_graph_header(std::span<const uint8_t> bytes, std::string_view file);

}  // namespace vstore::format
