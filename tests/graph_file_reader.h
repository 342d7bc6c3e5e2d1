// For tests: a version 2 full graph file read back whole into format::GraphFileData, through
// the layout the format reports (spec/graph-file.md, "Full files"), after verify_full_graph.
#pragma once

#include <span>
#include <string>

#include "vstore/format/bytes.h"
#include "vstore/format/graph_file_v2.h"

namespace vstore::test {

inline format::GraphFileData read_full_graph(std::span<const uint8_t> bytes,
                                             const std::string& name) {
    const auto layout = format::parse_full_graph(bytes, name);
    format::verify_full_graph(bytes, layout, name);
    const format::GraphHeader& h = layout.header;
    format::GraphFileData g;
    g.domain = h.domain;
    g.commit = h.commit;
    g.parent = h.parent;
    g.metric = h.metric;
    g.dimension = h.dimension;
    g.m = h.m;
    g.ef_construction = h.ef_construction;
    g.vector_count = h.vector_count;
    g.created_unix_ms = h.created_unix_ms;
    g.entry_point = h.entry_point;
    g.max_level = h.max_level;
    auto section = [&](format::FullSection s) { return bytes.data() + layout.sections[s].offset; };
    for (uint64_t i = 0; i < h.node_count; ++i) {
        format::GraphNode node;
        node.vector_index = format::load_le<uint64_t>(section(format::kSectionVectorIndex) + 8 * i);
        node.key = format::load_le<uint64_t>(section(format::kSectionKey) + 8 * i);
        node.level = section(format::kSectionLevel)[i];
        node.tombstone = section(format::kSectionFlags)[i] & format::kNodeTombstone;
        const uint8_t* l0 = section(format::kSectionLayer0) + 4 * layout.layer0_words() * i;
        node.links.emplace_back();
        for (uint32_t j = 0; j < format::load_le<uint32_t>(l0); ++j)
            node.links[0].push_back(format::load_le<uint32_t>(l0 + 4 + 4 * j));
        const uint32_t first = format::load_le<uint32_t>(section(format::kSectionUpperIndex) + 4 * i);
        for (uint32_t l = 1; l <= node.level; ++l) {
            const uint8_t* rec =
                section(format::kSectionUpper) + 4 * layout.upper_words() * (first + l - 1);
            node.links.emplace_back();
            for (uint32_t j = 0; j < format::load_le<uint32_t>(rec); ++j)
                node.links[l].push_back(format::load_le<uint32_t>(rec + 4 + 4 * j));
        }
        g.nodes.push_back(std::move(node));
    }
    return g;
}

}  // namespace vstore::test
