// `vstore inspect` of graph files (spec/graph-file.md): version 2 full files (read in place
// from their sections), version 2 deltas (decoded, and checked against their bases beside
// them), and version 1 files (decoded whole). Every offset and field comes from the format
// API; nothing here knows where a field sits in the file.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <span>
#include <string_view>
#include <unordered_map>

#include "inspect_common.h"
#include "text.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file.h"
#include "vstore/format/graph_file_v2.h"

namespace vstore::cli::inspecting {
namespace {

using format::GraphHeader;
using format::GraphKind;

std::string_view section_name(uint32_t section) {
    switch (section) {
        case format::kSectionVectorIndex:
            return "vector_index";
        case format::kSectionKey:
            return "key";
        case format::kSectionLevel:
            return "level";
        case format::kSectionFlags:
            return "flags";
        case format::kSectionUpperIndex:
            return "upper_index";
        case format::kSectionLayer0:
            return "layer0";
        case format::kSectionUpper:
            return "upper";
        case format::kSectionCodes:
            return "codes";
        default:
            return "unknown";
    }
}

// One graph, node by node, whatever file holds it.
class GraphView {
  public:
    virtual ~GraphView() = default;
    virtual uint64_t size() const = 0;
    virtual uint32_t level(uint64_t node) const = 0;
    virtual uint8_t flags(uint64_t node) const = 0;  // format::kNodeTombstone, kNodeRemoved
    virtual uint64_t key(uint64_t node) const = 0;
    // The node's list in `layer` (0 .. level), into `out`.
    virtual void links(uint64_t node, uint32_t layer, std::vector<uint32_t>& out) const = 0;
};

// A version 1 graph, decoded whole.
class V1Graph final : public GraphView {
  public:
    explicit V1Graph(const format::GraphFileData& g) : g_(g) {}
    uint64_t size() const override { return g_.nodes.size(); }
    uint32_t level(uint64_t node) const override { return g_.nodes[node].level; }
    uint8_t flags(uint64_t node) const override {
        return g_.nodes[node].tombstone ? format::kNodeTombstone : 0;
    }
    uint64_t key(uint64_t node) const override { return g_.nodes[node].key; }
    void links(uint64_t node, uint32_t layer, std::vector<uint32_t>& out) const override {
        const auto& lists = g_.nodes[node].links;
        if (layer < lists.size())
            out.assign(lists[layer].begin(), lists[layer].end());
        else
            out.clear();
    }

  private:
    const format::GraphFileData& g_;
};

// The sections of a version 2 full file, read in place. Only for a file verify_full_graph
// accepted: every level, upper index and count is then within its section.
class FullGraph final : public GraphView {
  public:
    FullGraph(std::span<const uint8_t> bytes, const format::FullGraphLayout& layout)
        : bytes_(bytes), layout_(layout) {}
    uint64_t size() const override { return layout_.header.node_count; }
    uint32_t level(uint64_t node) const override {
        return bytes_[at(format::kSectionLevel) + node];
    }
    uint8_t flags(uint64_t node) const override { return bytes_[at(format::kSectionFlags) + node]; }
    uint64_t key(uint64_t node) const override {
        return format::load_le<uint64_t>(&bytes_[at(format::kSectionKey) + 8 * node]);
    }
    void links(uint64_t node, uint32_t layer, std::vector<uint32_t>& out) const override {
        uint64_t record = 0;
        if (layer == 0) {
            record = at(format::kSectionLayer0) + 4 * uint64_t(layout_.layer0_words()) * node;
        } else {
            const uint64_t first_upper =
                format::load_le<uint32_t>(&bytes_[at(format::kSectionUpperIndex) + 4 * node]);
            record = at(format::kSectionUpper) +
                     4 * uint64_t(layout_.upper_words()) * (first_upper + layer - 1);
        }
        // A record is a u32 count, then the slots.
        const uint32_t count = format::load_le<uint32_t>(&bytes_[record]);
        out.resize(count);
        for (uint32_t k = 0; k < count; ++k)
            out[k] = format::load_le<uint32_t>(&bytes_[record + 4 + 4 * uint64_t(k)]);
    }

  private:
    uint64_t at(uint32_t section) const { return layout_.sections[section].offset; }
    std::span<const uint8_t> bytes_;
    const format::FullGraphLayout& layout_;
};

// Out-degree statistics of one layer, over the nodes that live in it.
struct LayerDegrees {
    uint64_t nodes = 0;
    uint64_t min = std::numeric_limits<uint64_t>::max();
    uint64_t max = 0;
    uint64_t total = 0;
    uint64_t without_links = 0;
};

// What the nodes and lists add up to. Removed nodes (empty slots) are counted apart and are
// in neither the histogram nor the degrees.
struct GraphStats {
    uint64_t live = 0, tombstones = 0, removed = 0, links = 0;
    std::vector<uint64_t> level_histogram;  // by top level
    std::vector<LayerDegrees> layers;
};

GraphStats graph_stats(const GraphView& g) {
    GraphStats s;
    std::vector<uint32_t> list;
    for (uint64_t i = 0; i < g.size(); ++i) {
        const uint8_t flags = g.flags(i);
        if (flags & format::kNodeRemoved) {
            ++s.removed;
            continue;
        }
        ++(flags & format::kNodeTombstone ? s.tombstones : s.live);
        const uint32_t level = g.level(i);
        if (s.level_histogram.size() <= level) {
            s.level_histogram.resize(level + 1, 0);
            s.layers.resize(level + 1);
        }
        ++s.level_histogram[level];
        for (uint32_t layer = 0; layer <= level; ++layer) {
            g.links(i, layer, list);
            LayerDegrees& d = s.layers[layer];
            const uint64_t degree = list.size();
            ++d.nodes;
            d.min = std::min(d.min, degree);
            d.max = std::max(d.max, degree);
            d.total += degree;
            d.without_links += degree == 0 ? 1 : 0;
            s.links += degree;
        }
    }
    return s;
}

// What --verify found in the lists that is no problem: a list that names a node twice is
// legal (spec/graph-file.md, "Graph rules": a search skips the second, as hnswlib's does) but
// never written by vstore, so it is counted and the first one named.
struct DuplicateLinks {
    uint64_t lists = 0;
    std::string first;  // "node i, layer l"
};

// The checks --verify adds to those the format's readers make. Decoding (v1) and
// verify_full_graph (v2) already refuse a link to a node that does not exist, to itself, or
// to a node whose top level is below the link's layer; they are checked again here so that
// the report does not depend on the readers' internals. A live node that layer 0 cannot reach
// from the entry point is legal in the format but a search can never return it: the store
// refuses to publish such a commit, and --verify reports it.
std::vector<Problem> check_graph_links(const GraphView& g, int64_t entry_point,
                                       uint64_t& links_checked, DuplicateLinks& duplicates) {
    std::vector<Problem> problems;
    const uint64_t n = g.size();
    duplicates = {};
    // The number of the neighbour list in which each node was last seen: finds duplicates
    // within a list in one pass, without clearing anything between lists.
    std::vector<uint64_t> seen_in_list(n, std::numeric_limits<uint64_t>::max());
    uint64_t list_number = 0;
    std::vector<uint32_t> list;
    links_checked = 0;
    for (uint64_t i = 0; i < n; ++i) {
        const uint32_t level = g.level(i);
        for (uint32_t layer = 0; layer <= level; ++layer, ++list_number) {
            const auto where = [&] {
                return "node " + std::to_string(i) + ", layer " + std::to_string(layer);
            };
            bool duplicate = false;
            g.links(i, layer, list);
            for (const uint32_t target : list) {
                ++links_checked;
                if (target >= n) {
                    problems.push_back({where(), "links to node " + std::to_string(target) +
                                                     ", which does not exist"});
                    continue;
                }
                if (target == i)
                    problems.push_back({where(), "links to itself"});
                if (g.level(target) < layer) {
                    problems.push_back({where(), "links to node " + std::to_string(target) +
                                                     ", whose top level is " +
                                                     std::to_string(g.level(target))});
                }
                if (g.flags(target) & format::kNodeRemoved)
                    problems.push_back(
                        {where(), "links to removed node " + std::to_string(target)});
                if (seen_in_list[target] == list_number)
                    duplicate = true;
                seen_in_list[target] = list_number;
            }
            if (duplicate && duplicates.lists++ == 0)
                duplicates.first = where();
        }
    }

    // Reachability in layer 0, the walk the store makes after every commit. Tombstones are
    // walked through: they still serve navigation. Removed nodes are empty slots.
    if (entry_point >= 0 && static_cast<uint64_t>(entry_point) < n) {
        std::vector<bool> reached(n, false);
        std::vector<uint32_t> stack = {static_cast<uint32_t>(entry_point)};
        reached[entry_point] = true;
        while (!stack.empty()) {
            const uint32_t u = stack.back();
            stack.pop_back();
            g.links(u, 0, list);
            for (const uint32_t v : list) {
                if (v < n && !reached[v]) {
                    reached[v] = true;
                    stack.push_back(v);
                }
            }
        }
        uint64_t unreachable = 0;
        uint64_t first = 0;
        for (uint64_t i = 0; i < n; ++i) {
            if (!reached[i] && g.flags(i) == 0 && unreachable++ == 0)
                first = i;
        }
        if (unreachable > 0) {
            problems.push_back({"layer 0", count_of(unreachable, "live node") +
                                               " not reachable from the entry point (first: "
                                               "node " +
                                               std::to_string(first) + ")"});
        }
    }
    return problems;
}

// The fields every graph file has, whatever its version and kind.
json header_json(const std::string& path, uint32_t version, GraphKind kind, const GraphHeader& h) {
    return json{
        {"kind", "graph file"},
        {"path", path},
        {"format_version", version},
        {"graph_kind", std::string(format::graph_kind_name(kind))},
        {"domain", h.domain},
        {"commit", h.commit},
        {"parent", h.parent ? json(*h.parent) : json(nullptr)},
        {"metric", std::string(format::metric_name(h.metric))},
        {"dimension", h.dimension},
        {"m", h.m},
        {"ef_construction", h.ef_construction},
        {"vector_count", h.vector_count},
        {"created", iso_time(h.created_unix_ms)},
    };
}

// The node counts, entry point, histogram and degrees of a graph read node by node.
void add_graph_stats(json& doc, const GraphView& g, const GraphStats& s, int64_t entry_point,
                     int32_t max_level) {
    json degree = json::array();
    for (size_t layer = 0; layer < s.layers.size(); ++layer) {
        const LayerDegrees& d = s.layers[layer];
        degree.push_back({{"layer", layer},
                          {"nodes", d.nodes},
                          {"min", d.nodes ? d.min : 0},
                          {"mean", d.nodes ? double(d.total) / double(d.nodes) : 0.0},
                          {"max", d.max},
                          {"without_links", d.without_links}});
    }
    json entry = nullptr;
    if (entry_point >= 0) {
        entry = {{"ordinal", entry_point},
                 {"key", g.key(static_cast<uint64_t>(entry_point))},
                 {"level", g.level(static_cast<uint64_t>(entry_point))}};
    }
    doc["nodes"] = g.size();
    doc["live"] = s.live;
    doc["tombstones"] = s.tombstones;
    doc["removed"] = s.removed;
    doc["links"] = s.links;
    doc["entry_point"] = entry;
    doc["max_level"] = max_level;
    doc["level_histogram"] = s.level_histogram;
    doc["degree"] = degree;
}

// Keys (spec/graph-file.md, "Keys"): at most one live node has a given key, which is how a
// reader finds an id's node. A tombstone keeps the key its id had, so a replaced id's key is
// on its live node and on the tombstones of its earlier vectors: legal, and counted.
// Removed slots' keys mean nothing.
std::vector<Problem> check_graph_keys(const GraphView& g, uint64_t& tombstones_with_live_key) {
    std::vector<Problem> problems;
    std::unordered_map<uint64_t, uint64_t> live_node_of;
    uint64_t live_twice = 0;
    std::string first;
    for (uint64_t i = 0; i < g.size(); ++i) {
        if (g.flags(i) != 0)
            continue;
        const auto [at, fresh] = live_node_of.emplace(g.key(i), i);
        if (!fresh && live_twice++ == 0) {
            first = "key " + std::to_string(g.key(i)) + " on nodes " + std::to_string(at->second) +
                    " and " + std::to_string(i);
        }
    }
    if (live_twice > 0) {
        problems.push_back({"keys", count_of(live_twice, "live node") +
                                        " with a key another live node has (first: " + first +
                                        ")"});
    }
    tombstones_with_live_key = 0;
    for (uint64_t i = 0; i < g.size(); ++i) {
        if ((g.flags(i) & format::kNodeTombstone) && live_node_of.count(g.key(i)))
            ++tombstones_with_live_key;
    }
    return problems;
}

void add_link_checks(Description& d, const GraphView& g, int64_t entry_point) {
    uint64_t links_checked = 0;
    uint64_t tombstones_with_live_key = 0;
    DuplicateLinks duplicates;
    d.problems = check_graph_links(g, entry_point, links_checked, duplicates);
    for (auto& p : check_graph_keys(g, tombstones_with_live_key))
        d.problems.push_back(std::move(p));
    d.doc["verify"] = {{"ok", d.problems.empty()},
                       {"links_checked", links_checked},
                       {"tombstones_with_live_key", tombstones_with_live_key},
                       {"lists_with_duplicate_links", duplicates.lists},
                       {"first_duplicate_link",
                        duplicates.lists > 0 ? json(duplicates.first) : json(nullptr)},
                       {"problems", problems_json(d.problems)}};
}

// ---- Version 1 ------------------------------------------------------------------------------

Description describe_v1(const std::string& path, const std::vector<uint8_t>& bytes,
                        const InspectOptions& options) {
    // Checks every checksum and every graph rule of version 1; a damaged file stops here with
    // a one-line error naming it.
    const format::GraphFileData g = format::decode_graph_file(bytes, path);
    GraphHeader h;
    h.domain = g.domain;
    h.commit = g.commit;
    h.parent = g.parent;
    h.metric = g.metric;
    h.dimension = g.dimension;
    h.m = g.m;
    h.ef_construction = g.ef_construction;
    h.vector_count = g.vector_count;
    h.created_unix_ms = g.created_unix_ms;
    // A version 1 file holds every node and list: a full graph (the store reads it as one).
    Description d{header_json(path, format::kGraphFormatV1, GraphKind::kFull, h), {}};
    const V1Graph view(g);
    add_graph_stats(d.doc, view, graph_stats(view), g.entry_point, g.max_level);
    d.doc["file_bytes"] = bytes.size();
    d.doc["file_checksum"] = hex64(format::graph_file_checksum(bytes));
    if (options.verify)
        add_link_checks(d, view, g.entry_point);
    return d;
}

// ---- Version 2, full ------------------------------------------------------------------------

Description describe_full(const std::string& path, const std::vector<uint8_t>& bytes,
                          const InspectOptions& options) {
    const format::FullGraphLayout layout = format::parse_full_graph(bytes, path);
    // Every section checksum and graph rule, before anything is read from the sections: the
    // description is computed from them. A damaged file stops here, with or without --verify.
    format::verify_full_graph(bytes, layout, path);
    const GraphHeader& h = layout.header;
    Description d{header_json(path, format::kGraphFormatV2, GraphKind::kFull, h), {}};
    const FullGraph view(bytes, layout);
    add_graph_stats(d.doc, view, graph_stats(view), h.entry_point, h.max_level);
    d.doc["upper_records"] = h.upper_count;
    d.doc["file_bytes"] = bytes.size();
    d.doc["header_bytes"] = h.header_bytes;
    json sections = json::array();
    for (uint32_t s = 0; s < format::kFullSectionCount; ++s) {
        const format::SectionRef& ref = layout.sections[s];
        sections.push_back({{"section", s},
                            {"name", std::string(section_name(s))},
                            {"offset", ref.offset},
                            {"bytes", ref.bytes},
                            {"checksum", hex64(ref.checksum)}});
    }
    d.doc["sections"] = sections;
    d.doc["file_checksum"] = hex64(format::graph_file_checksum(bytes));
    if (options.verify) {
        add_link_checks(d, view, h.entry_point);
        d.doc["verify"]["sections_checked"] = format::kFullSectionCount;
    }
    return d;
}

// ---- Version 2, delta -----------------------------------------------------------------------

// The header of any graph file, checked through: a full file's every section and rule, a
// delta's body, a version 1 file decoded. What a delta's base must be before it is applied.
GraphHeader read_checked_header(const std::vector<uint8_t>& bytes, const std::string& file) {
    if (format::graph_file_version(bytes, file) == format::kGraphFormatV1) {
        const format::GraphFileData g = format::decode_graph_file(bytes, file);
        GraphHeader h;
        h.kind = GraphKind::kFull;
        h.domain = g.domain;
        h.metric = g.metric;
        h.dimension = g.dimension;
        h.m = g.m;
        h.node_count = g.nodes.size();
        return h;
    }
    const GraphHeader h = format::parse_graph_header(bytes, file);
    if (h.kind == GraphKind::kDelta)
        return format::decode_delta_graph(bytes, file).header;
    const format::FullGraphLayout layout = format::parse_full_graph(bytes, file);
    format::verify_full_graph(bytes, layout, file);
    return layout.header;
}

// --verify of a delta: follows its base files, in the same directory, down to the full file at
// the root of the chain, as far as they are there. Each base must have the length and checksum
// the file above it names, be a sound graph file, and fit (nodes, chain depth, domain and
// parameters). What only applying the deltas shows (prefixes within the base's lists, links
// to nodes of the right level) is the store's: `inspect --verify` of the store applies them.
json check_base_chain(const std::string& path, const GraphHeader& delta,
                      std::vector<Problem>& problems) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(path).parent_path();
    json chain = json::array();
    GraphHeader above = delta;
    std::string above_name = fs::path(path).filename().string();
    // A chain is at most chain_depth files below this one; the bound keeps a loop of files
    // naming each other finite.
    for (uint32_t step = 0; above.kind == GraphKind::kDelta && step < delta.chain_depth; ++step) {
        const std::string name = above.base_file;
        const std::string where = "base file '" + name + "'";
        const fs::path base_path = dir / name;
        std::error_code ec;
        if (!fs::is_regular_file(base_path, ec)) {
            chain.push_back({{"file", name}, {"found", false}});
            break;
        }
        const size_t before = problems.size();
        json entry = {{"file", name}, {"found", true}};
        try {
            const std::vector<uint8_t> bytes = read_whole_file(base_path.string());
            if (bytes.size() != above.base_file_bytes) {
                problems.push_back({where, "has " + std::to_string(bytes.size()) + " bytes; '" +
                                               above_name + "' was made on a base of " +
                                               std::to_string(above.base_file_bytes)});
            } else if (format::graph_file_checksum(bytes) != above.base_file_checksum) {
                problems.push_back({where, "has XXH3-64 " +
                                               hex64(format::graph_file_checksum(bytes)) + "; '" +
                                               above_name + "' was made on a base with " +
                                               hex64(above.base_file_checksum)});
            } else {
                const GraphHeader base = read_checked_header(bytes, base_path.string());
                entry["graph_kind"] = std::string(format::graph_kind_name(base.kind));
                entry["chain_depth"] = base.chain_depth;
                auto mismatch = [&](const std::string& what) {
                    problems.push_back({where, what + " ('" + above_name + "' builds on it)"});
                };
                if (base.node_count != above.base_node_count) {
                    mismatch("holds " + std::to_string(base.node_count) + " nodes, not " +
                             std::to_string(above.base_node_count));
                }
                if (base.chain_depth + 1 != above.chain_depth) {
                    mismatch("has chain depth " + std::to_string(base.chain_depth) + ", not " +
                             std::to_string(above.chain_depth - 1));
                }
                if (base.domain != above.domain || base.metric != above.metric ||
                    base.dimension != above.dimension || base.m != above.m) {
                    mismatch("is a graph of another domain or other parameters");
                }
                above = base;
                above_name = name;
            }
        } catch (const Error& e) {
            problems.push_back({where, e.what()});
        }
        entry["ok"] = problems.size() == before;
        chain.push_back(entry);
        if (problems.size() != before)
            break;
    }
    return chain;
}

Description describe_delta(const std::string& path, const std::vector<uint8_t>& bytes,
                           const InspectOptions& options) {
    // Both body checksums and every delta rule; a damaged file stops here.
    const format::DecodedDelta decoded = format::decode_delta_graph(bytes, path);
    const GraphHeader& h = decoded.header;
    const format::GraphDelta& delta = decoded.delta;
    Description d{header_json(path, format::kGraphFormatV2, GraphKind::kDelta, h), {}};
    json& doc = d.doc;
    // The graph the delta yields, as its header gives it.
    doc["nodes"] = h.node_count;
    doc["live"] = h.live_count;
    doc["tombstones"] = h.tombstone_count;
    doc["removed"] = h.removed_count;
    doc["upper_records"] = h.upper_count;
    doc["links"] = h.link_count;
    json entry = nullptr;
    if (h.entry_point >= 0) {
        // Its key is in this file only when the entry point is one of the new nodes.
        const uint64_t ordinal = static_cast<uint64_t>(h.entry_point);
        entry = {{"ordinal", h.entry_point}, {"level", h.max_level}, {"key", nullptr}};
        if (ordinal >= h.base_node_count)
            entry["key"] = delta.new_nodes.at(ordinal - h.base_node_count).key;
    }
    doc["entry_point"] = entry;
    doc["max_level"] = h.max_level;
    doc["base"] = {{"file", h.base_file},
                   {"bytes", h.base_file_bytes},
                   {"checksum", hex64(h.base_file_checksum)},
                   {"node_count", h.base_node_count}};
    doc["chain_depth"] = h.chain_depth;
    doc["new_nodes"] = delta.new_nodes.size();
    doc["vector_changes"] = delta.vector_changes.size();
    doc["flag_changes"] = delta.flag_changes.size();
    doc["list_changes"] = delta.list_changes.size();
    doc["tail_links"] = delta.tail_links.size();
    // The format API gives neither the body's encoding nor its raw length: the raw length is
    // that of its columns (spec/graph-file.md, "Delta body"), and a raw body is stored as it
    // is, so a stored body of another length is zstd. (vstore stores zstd only when it saves
    // an eighth, so a zstd body it wrote never has the raw length.)
    const uint64_t raw =
        18 * uint64_t(delta.new_nodes.size()) + 12 * uint64_t(delta.vector_changes.size()) +
        5 * uint64_t(delta.flag_changes.size()) + 9 * uint64_t(delta.list_changes.size()) +
        4 * uint64_t(delta.tail_links.size());
    const uint64_t stored = bytes.size() - h.header_bytes;
    doc["body_encoding"] = stored == raw ? "raw" : "zstd";
    doc["raw_body_bytes"] = raw;
    doc["stored_body_bytes"] = stored;
    doc["header_bytes"] = h.header_bytes;
    doc["delta_bytes"] = bytes.size();
    doc["file_bytes"] = bytes.size();
    doc["file_checksum"] = hex64(format::graph_file_checksum(bytes));
    if (options.verify) {
        json chain = check_base_chain(path, h, d.problems);
        doc["verify"] = {
            {"ok", d.problems.empty()}, {"chain", chain}, {"problems", problems_json(d.problems)}};
    }
    return d;
}

// ---- Text -----------------------------------------------------------------------------------

void print_degrees(const json& d, std::ostream& out) {
    const uint64_t counted = d["live"].get<uint64_t>() + d["tombstones"].get<uint64_t>();
    const json& histogram = d["level_histogram"];
    row(out, "levels", histogram.empty() ? "none (empty graph)" : "nodes by their top level:");
    for (size_t level = 0; level < histogram.size(); ++level) {
        const uint64_t nodes = histogram[level].get<uint64_t>();
        row(out, "  level " + std::to_string(level),
            std::to_string(nodes) + " (" +
                percent(counted ? double(nodes) / double(counted) : 0.0) + ")");
    }
    row(out, "out-degree",
        d["degree"].empty() ? "none (empty graph)"
                            : "links per node in each layer (min / mean / max):");
    for (const auto& layer : d["degree"]) {
        std::string line = count_of(layer["nodes"].get<uint64_t>(), "node") + ": " +
                           text(layer["min"]) + " / " + fixed2(layer["mean"].get<double>()) +
                           " / " + text(layer["max"]);
        if (layer["layer"].get<uint64_t>() == 0)
            line += ", " + text(layer["without_links"]) + " without links";
        row(out, "  layer " + text(layer["layer"]), line);
    }
}

std::string kind_line(const json& d) {
    if (d["format_version"].get<uint32_t>() == format::kGraphFormatV1)
        return "graph file (format version 1, legacy)";
    return "graph file (format version " + text(d["format_version"]) + ", " +
           text(d["graph_kind"]) + ")";
}

}  // namespace

bool starts_as_graph_file(const std::vector<uint8_t>& start) {
    // graph_file_version wants the 12 bytes up to the version; a shorter start is padded so
    // that the magic alone decides.
    std::vector<uint8_t> padded = start;
    if (padded.size() < 12)
        padded.resize(12, 0);
    try {
        format::graph_file_version(padded, "");
        return true;
    } catch (const Error&) {
        return false;
    }
}

Description describe_graph_file(const std::string& path, const InspectOptions& options) {
    const auto bytes = read_whole_file(path);
    if (format::graph_file_version(bytes, path) == format::kGraphFormatV1)
        return describe_v1(path, bytes, options);
    // Any other version than 2 is refused here ("this build reads versions 1 and 2").
    const GraphHeader h = format::parse_graph_header(bytes, path);
    return h.kind == GraphKind::kDelta ? describe_delta(path, bytes, options)
                                       : describe_full(path, bytes, options);
}

void print_graph_file(const json& d, std::ostream& out) {
    auto row = [&](const std::string& label, const std::string& value) {
        inspecting::row(out, label, value);
    };
    const bool delta = text(d["graph_kind"]) == "delta";
    const uint64_t m = d["m"].get<uint64_t>();
    row("kind", kind_line(d));
    row("path", text(d["path"]));
    row("domain", text(d["domain"]));
    row("commit", text(d["commit"]));
    row("parent", d["parent"].is_null() ? "none (a first commit)" : text(d["parent"]));
    row("metric", text(d["metric"]));
    row("dimension", text(d["dimension"]));
    row("M", std::to_string(m) + " (at most " + std::to_string(2 * m) +
                 " links a node in layer 0, " + std::to_string(m) + " in upper layers)");
    row("ef_construction", text(d["ef_construction"]));
    row("vector count",
        text(d["vector_count"]) + " (vectors in the domain's file when the graph was made)");
    row("created", text(d["created"]));
    std::string nodes = text(d["nodes"]) + ": " + text(d["live"]) + " live, " +
                        text(d["tombstones"]) + " tombstoned (kept for navigation, never returned)";
    if (d["removed"].get<uint64_t>() != 0)
        nodes += ", " + text(d["removed"]) + " removed (empty slots)";
    if (delta)
        nodes += "; the graph this delta yields";
    row("nodes", nodes);
    if (d.contains("upper_records"))
        row("upper records", text(d["upper_records"]) + " (node lists in layers 1 and up)");
    row("links", text(d["links"]));
    if (d["entry_point"].is_null()) {
        row("entry point", "none (empty graph)");
    } else {
        const json& e = d["entry_point"];
        const std::string key =
            e["key"].is_null() ? std::string("key in the base") : "key " + text(e["key"]);
        row("entry point",
            "node " + text(e["ordinal"]) + " (" + key + "), level " + text(e["level"]));
    }
    row("max level", text(d["max_level"]));

    if (delta) {
        const json& b = d["base"];
        row("base file", text(b["file"]) + ": " + text(b["bytes"]) + " bytes, XXH3-64 " +
                             text(b["checksum"]) + ", " +
                             count_of(b["node_count"].get<uint64_t>(), "node"));
        row("chain depth", text(d["chain_depth"]) +
                               " (deltas from the full file at the root to "
                               "this one)");
        row("changes", count_of(d["new_nodes"].get<uint64_t>(), "new node") + ", " +
                           count_of(d["vector_changes"].get<uint64_t>(), "vector change") + ", " +
                           count_of(d["flag_changes"].get<uint64_t>(), "flag change") + ", " +
                           count_of(d["list_changes"].get<uint64_t>(), "list change") + " (" +
                           count_of(d["tail_links"].get<uint64_t>(), "tail link") + ")");
        const uint64_t raw = d["raw_body_bytes"].get<uint64_t>();
        const uint64_t stored = d["stored_body_bytes"].get<uint64_t>();
        if (text(d["body_encoding"]) == "zstd") {
            row("body", "zstd-compressed, " + std::to_string(stored) + " bytes for " +
                            std::to_string(raw) + " raw (" +
                            percent(raw ? double(stored) / double(raw) : 0.0) + ")");
        } else {
            row("body", "raw (not compressed), " + std::to_string(raw) + " bytes");
        }
        row("file size", text(d["delta_bytes"]) + " bytes: " + text(d["header_bytes"]) +
                             "-byte header, " + std::to_string(stored) + "-byte body");
    } else {
        print_degrees(d, out);
        if (d.contains("sections")) {
            row("file size", text(d["file_bytes"]) + " bytes: " + text(d["header_bytes"]) +
                                 "-byte header, " + std::to_string(d["sections"].size()) +
                                 " sections at multiples of 64 bytes");
            row("sections", "offset, bytes, XXH3-64 (searched in place from a mapping):");
            std::vector<std::vector<std::string>> table;
            for (const auto& s : d["sections"]) {
                table.push_back({text(s["section"]), text(s["name"]), text(s["offset"]),
                                 text(s["bytes"]), text(s["checksum"])});
            }
            print_table(out, "  ", table, {true, false, true, true, false});
        } else {
            row("file size", text(d["file_bytes"]) + " bytes (a columnar body, decoded whole)");
        }
    }
    row("file checksum", "XXH3-64 " + text(d["file_checksum"]) + " (the catalog records it)");

    if (!d.contains("verify"))
        return;
    const json& v = d["verify"];
    // Legal, so a note whether or not the file has problems.
    auto note_duplicates = [&] {
        if (v.contains("lists_with_duplicate_links") && v["lists_with_duplicate_links"] != 0) {
            row("note", count_of(v["lists_with_duplicate_links"].get<uint64_t>(), "list") +
                            " with a node twice (first: " + text(v["first_duplicate_link"]) +
                            "): legal, a search skips the second, but vstore never writes it");
        }
    };
    if (!v["ok"].get<bool>()) {
        row("verify", "FAILED: " + count_of(v["problems"].size(), "problem"));
        print_problems(v, out);
        note_duplicates();
        return;
    }
    if (!delta) {
        row("verify", "ok: every checksum and graph rule holds, " + text(v["links_checked"]) +
                          " links checked, layer 0 reaches every live node");
        note_duplicates();
        return;
    }
    std::string line = "ok: both body checksums and every delta rule hold";
    const json& chain = v["chain"];
    if (!chain.empty() && chain.back()["found"].get<bool>()) {
        line += "; the chain beside it checked down to the full file '" +
                text(chain.back()["file"]) + "' (" + count_of(chain.size(), "base file") + ")";
    } else if (!chain.empty()) {
        line += "; base file '" + text(chain.back()["file"]) +
                "' is not beside it, so the chain was not checked";
        if (chain.size() > 1)
            line += " past " + count_of(chain.size() - 1, "file");
    }
    row("verify", line);
}

}  // namespace vstore::cli::inspecting
