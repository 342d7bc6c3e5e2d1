// Graph file version 2, full files: encoding, the O(1) parse of the header and section table,
// and the verification of every byte.
#include "vstore/format/graph_file_v2.h"

#include "graph_file_v2_header.h"

namespace vstore::format {

using namespace graph_v2;

static_assert(kMinM == kMinGraphM && kMaxM == kMaxGraphM && kMaxHeaderBytes == 1408);

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

}  // namespace vstore::format
