#include "graph_writer.h"

#include <algorithm>

#include "vstore/format/error.h"

namespace vstore::detail {

CompactSource::CompactSource(const format::GraphSource& source, bool own_payload)
    : source_(source), own_payload_(own_payload) {
    const uint64_t n = source.node_count();
    new_of_.assign(n, UINT32_MAX);
    for (uint32_t i = 0; i < n; ++i) {
        if (!(source.flags(i) & format::kNodeRemoved)) {
            new_of_[i] = static_cast<uint32_t>(old_of_.size());
            old_of_.push_back(i);
        }
    }
}

std::optional<uint32_t> CompactSource::new_of(uint32_t old) const {
    if (old >= new_of_.size() || new_of_[old] == UINT32_MAX)
        return std::nullopt;
    return new_of_[old];
}

std::span<const uint32_t> CompactSource::links(uint32_t i, uint32_t layer) const {
    const auto old = source_.links(old_of_[i], layer);
    scratch_.resize(old.size());
    for (size_t j = 0; j < old.size(); ++j) {
        if (old[j] >= new_of_.size() || new_of_[old[j]] == UINT32_MAX) {
            throw Error::corruption("graph links node " + std::to_string(old_of_[i]) +
                                    " to removed node " + std::to_string(old[j]));
        }
        scratch_[j] = new_of_[old[j]];
    }
    return scratch_;
}

void count_graph(const format::GraphSource& source, format::GraphHeader& h) {
    h.node_count = source.node_count();
    h.live_count = h.tombstone_count = h.removed_count = h.upper_count = h.link_count = 0;
    for (uint32_t i = 0; i < h.node_count; ++i) {
        const uint8_t f = source.flags(i);
        h.live_count += f == 0;
        h.tombstone_count += f == format::kNodeTombstone;
        h.removed_count += f == format::kNodeRemoved;
        const uint32_t level = source.level(i);
        h.upper_count += level;
        for (uint32_t l = 0; l <= level; ++l)
            h.link_count += source.links(i, l).size();
    }
}

format::GraphDelta diff_graph(const format::GraphSource& now, const GraphLayers& base) {
    format::GraphDelta d;
    const uint32_t base_n = base.size();
    const uint64_t n = now.node_count();
    if (n < base_n)
        throw Error::invalid_argument("a delta cannot drop nodes of its base '" + base.name() + "'");
    auto add_list = [&](uint32_t node, uint32_t layer, std::span<const uint32_t> old,
                        std::span<const uint32_t> list) {
        size_t prefix = 0;
        while (prefix < old.size() && prefix < list.size() && old[prefix] == list[prefix])
            ++prefix;
        if (prefix == old.size() && prefix == list.size())
            return;  // unchanged
        format::ListChange c;
        c.node = node;
        c.layer = static_cast<uint8_t>(layer);
        c.prefix = static_cast<uint16_t>(prefix);
        c.tail_count = static_cast<uint16_t>(list.size() - prefix);
        c.tail_begin = d.tail_links.size();
        d.tail_links.insert(d.tail_links.end(), list.begin() + prefix, list.end());
        d.list_changes.push_back(c);
    };
    for (uint32_t i = 0; i < base_n; ++i) {
        if (now.level(i) != base.level(i)) {
            throw Error::invalid_argument("node " + std::to_string(i) + " changed its level over '" +
                                          base.name() + "'");
        }
        if (now.vector_index(i) != base.vector_index(i))
            d.vector_changes.emplace_back(i, now.vector_index(i));
        if (now.flags(i) != base.flags(i))
            d.flag_changes.emplace_back(i, now.flags(i));
        for (uint32_t l = 0; l <= now.level(i); ++l)
            add_list(i, l, base.links(i, l), now.links(i, l));
    }
    for (uint32_t i = base_n; i < n; ++i) {
        d.new_nodes.push_back({now.vector_index(i), now.key(i),
                               static_cast<uint8_t>(now.level(i)), now.flags(i)});
        for (uint32_t l = 0; l <= now.level(i); ++l)
            add_list(i, l, {}, now.links(i, l));
    }
    return d;
}

uint64_t full_graph_bytes(uint64_t nodes, uint64_t upper, uint32_t m) {
    const uint64_t per_node = 8 + 8 + 1 + 1 + 4 + 4 * (2 * uint64_t{m} + 1);
    return 512 + nodes * per_node + upper * 4 * (uint64_t{m} + 1) + 7 * 64;
}

}  // namespace vstore::detail
