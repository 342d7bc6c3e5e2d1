#include "graph_layers.h"

#include <algorithm>

#include "vstore/format/error.h"

namespace vstore::detail {

namespace {

// A version 1 graph read as a source for the version 2 encoder.
class V1Source : public format::GraphSource {
  public:
    explicit V1Source(const format::GraphFileData& g) : g_(g) {}
    uint64_t node_count() const override { return g_.nodes.size(); }
    uint64_t vector_index(uint32_t i) const override { return g_.nodes[i].vector_index; }
    uint64_t key(uint32_t i) const override { return g_.nodes[i].key; }
    uint32_t level(uint32_t i) const override { return g_.nodes[i].level; }
    uint8_t flags(uint32_t i) const override {
        return g_.nodes[i].tombstone ? format::kNodeTombstone : 0;
    }
    std::span<const uint32_t> links(uint32_t i, uint32_t layer) const override {
        return g_.nodes[i].links[layer];
    }

  private:
    const format::GraphFileData& g_;
};

}  // namespace

GraphLayers::GraphLayers(Part root, std::vector<Part> deltas) : root_(std::move(root)) {
    layout_ = format::parse_full_graph(root_.bytes->bytes(), root_.name);
    header_ = layout_.header;
    top_name_ = root_.name;
    m_ = header_.m;
    w0_ = layout_.layer0_words();
    wu_ = layout_.upper_words();
    n_ = root_n_ = static_cast<uint32_t>(header_.node_count);
    root_u_ = header_.upper_count;
    const uint8_t* base = root_.bytes->bytes().data();
    auto at = [&](format::FullSection s) { return base + layout_.sections[s].offset; };
    root_vec_ = at(format::kSectionVectorIndex);
    root_key_ = at(format::kSectionKey);
    root_level_ = at(format::kSectionLevel);
    root_flags_ = at(format::kSectionFlags);
    root_upper_index_ = at(format::kSectionUpperIndex);
    // Sections start at multiples of 64 in a mapping (page aligned) or a vector's buffer
    // (aligned for at least 16), so the record arrays are aligned for u32.
    root_l0_ = reinterpret_cast<const uint32_t*>(at(format::kSectionLayer0));
    root_upper_ = reinterpret_cast<const uint32_t*>(at(format::kSectionUpper));
    for (const Part& d : deltas)
        apply(d);
}

std::shared_ptr<const GraphLayers> GraphLayers::from_v1(std::span<const uint8_t> bytes,
                                                        const std::string& name) {
    const format::GraphFileData g = format::decode_graph_file(bytes, name);
    format::GraphHeader h;
    h.domain = g.domain;
    h.commit = g.commit;
    h.parent = g.parent;
    h.metric = g.metric;
    h.dimension = g.dimension;
    h.m = g.m;
    h.ef_construction = g.ef_construction;
    h.max_level = g.max_level;
    h.entry_point = g.entry_point;
    h.vector_count = g.vector_count;
    h.created_unix_ms = g.created_unix_ms;
    auto held = FileBytes::hold(format::encode_full_graph(h, V1Source(g)));
    return std::make_shared<const GraphLayers>(Part{name, std::move(held)}, std::vector<Part>{});
}

uint64_t GraphLayers::delta_bytes() const {
    uint64_t total = 0;
    for (uint64_t b : delta_bytes_)
        total += b;
    return total;
}

void GraphLayers::bad_link(uint64_t link) const {
    throw Error::corruption("graph file '" + top_name_ + "' links to node " +
                            std::to_string(link) + " of a graph of " + std::to_string(n_));
}

void GraphLayers::bad_count(uint32_t node, uint32_t layer, uint32_t count) const {
    throw Error::corruption("graph file '" + top_name_ + "' gives node " + std::to_string(node) +
                            " " + std::to_string(count) + " links in layer " +
                            std::to_string(layer) + "; at most " +
                            std::to_string(max_degree(layer)) + " are allowed");
}

std::span<const uint32_t> GraphLayers::root_upper(uint32_t i, uint32_t layer) const {
    const uint64_t record = uint64_t{format::load_le<uint32_t>(root_upper_index_ + 4 * size_t(i))} +
                            layer - 1;
    if (record >= root_u_) {
        throw Error::corruption("graph file '" + root_.name + "': node " + std::to_string(i) +
                                " has no upper record for layer " + std::to_string(layer));
    }
    const uint32_t* rec = root_upper_ + record * wu_;
    if (rec[0] > m_)
        bad_count(i, layer, rec[0]);
    return {rec + 1, rec[0]};
}

std::span<const uint32_t> GraphLayers::links(uint32_t i, uint32_t layer) const {
    if (i >= n_)
        bad_link(i);
    if (layer == 0) {
        const uint32_t* rec = list0(i);
        if (rec[0] > 2 * m_)
            bad_count(i, 0, rec[0]);
        return {rec + 1, rec[0]};
    }
    if (layer > level(i)) {
        throw Error::corruption("graph file '" + top_name_ + "': node " + std::to_string(i) +
                                " of level " + std::to_string(level(i)) +
                                " is asked for its links in layer " + std::to_string(layer));
    }
    if (!upper_.empty()) {
        auto it = upper_.find(uint64_t{i} << 8 | layer);
        if (it != upper_.end()) {
            const uint32_t* rec = upper_records_.data() + size_t(it->second) * wu_;
            return {rec + 1, rec[0]};
        }
    }
    if (i >= root_n_)
        return {};  // a new node's list that no delta filled
    return root_upper(i, layer);
}

void GraphLayers::apply(const Part& part) {
    const format::DecodedDelta decoded = format::decode_delta_graph(part.bytes->bytes(), part.name);
    const format::GraphHeader& h = decoded.header;
    const format::GraphDelta& d = decoded.delta;
    auto corrupt = [&](const std::string& what) {
        return Error::corruption("graph file '" + part.name + "' " + what);
    };
    if (h.domain != header_.domain || h.metric != header_.metric ||
        h.dimension != header_.dimension || h.m != header_.m) {
        throw corrupt("does not match the domain or parameters of its base '" + top_name_ + "'");
    }
    if (h.base_node_count != n_) {
        throw corrupt("applies to a graph of " + std::to_string(h.base_node_count) +
                      " nodes; its base '" + top_name_ + "' has " + std::to_string(n_));
    }
    if (!overlaid_) {
        flags_.assign(root_flags_, root_flags_ + root_n_);
        changed0_bits_.assign((size_t{root_n_} + 63) / 64, 0);
        slot0_.assign(root_n_, UINT32_MAX);
        overlaid_ = true;
    }
    const uint32_t old_n = n_;
    n_ = static_cast<uint32_t>(h.node_count);
    flags_.resize(n_, 0);
    new_l0_.resize(size_t(n_ - root_n_) * w0_, 0);
    for (size_t j = 0; j < d.new_nodes.size(); ++j) {
        const format::DeltaNode& node = d.new_nodes[j];
        new_vec_.push_back(node.vector_index);
        new_key_.push_back(node.key);
        new_level_.push_back(node.level);
        flags_[old_n + j] = node.flags;
    }
    for (const auto& [node, value] : d.vector_changes) {
        if (node >= root_n_)
            new_vec_[node - root_n_] = value;
        else
            vec_changes_[node] = value;
    }
    for (const auto& [node, value] : d.flag_changes)
        flags_[node] = value;

    std::vector<uint32_t> list;
    for (const format::ListChange& c : d.list_changes) {
        if (c.layer > level(c.node)) {
            throw corrupt("changes the layer-" + std::to_string(c.layer) + " list of node " +
                          std::to_string(c.node) + ", whose level is " +
                          std::to_string(level(c.node)));
        }
        const auto current = c.node < old_n && c.prefix > 0 ? links(c.node, c.layer)
                                                            : std::span<const uint32_t>{};
        if (c.prefix > current.size()) {
            throw corrupt("keeps " + std::to_string(c.prefix) + " links of node " +
                          std::to_string(c.node) + " in layer " + std::to_string(c.layer) +
                          "; its base has " + std::to_string(current.size()));
        }
        list.assign(current.begin(), current.begin() + c.prefix);
        const auto tail = std::span(d.tail_links).subspan(c.tail_begin, c.tail_count);
        list.insert(list.end(), tail.begin(), tail.end());
        for (uint32_t link : list) {
            if (link >= n_ || link == c.node || (c.layer > 0 && level(link) < c.layer)) {
                throw corrupt("links node " + std::to_string(c.node) + " in layer " +
                              std::to_string(c.layer) + " to node " + std::to_string(link) +
                              ", which cannot be its neighbour there");
            }
        }
        uint32_t* rec = nullptr;
        if (c.layer == 0 && c.node >= root_n_) {
            rec = new_l0_.data() + size_t(c.node - root_n_) * w0_;
        } else if (c.layer == 0) {
            if (slot0_[c.node] == UINT32_MAX) {
                slot0_[c.node] = static_cast<uint32_t>(l0_records_.size() / w0_);
                l0_records_.resize(l0_records_.size() + w0_, 0);
                changed0_bits_[c.node >> 6] |= uint64_t{1} << (c.node & 63);
            }
            rec = l0_records_.data() + size_t(slot0_[c.node]) * w0_;
        } else {
            auto [it, fresh] = upper_.try_emplace(uint64_t{c.node} << 8 | c.layer,
                                                  uint32_t(upper_records_.size() / wu_));
            if (fresh)
                upper_records_.resize(upper_records_.size() + wu_, 0);
            rec = upper_records_.data() + size_t(it->second) * wu_;
        }
        const uint32_t words = c.layer == 0 ? w0_ : wu_;
        std::fill(rec, rec + words, 0);
        rec[0] = static_cast<uint32_t>(list.size());
        std::copy(list.begin(), list.end(), rec + 1);
    }

    uint64_t live = 0, tombstones = 0, removed = 0;
    for (uint8_t f : flags_) {
        live += f == 0;
        tombstones += f == format::kNodeTombstone;
        removed += f == format::kNodeRemoved;
    }
    if (live != h.live_count || tombstones != h.tombstone_count || removed != h.removed_count)
        throw corrupt("counts nodes that its flags do not");
    if (h.entry_point >= 0 &&
        (level(static_cast<uint32_t>(h.entry_point)) != uint32_t(h.max_level) ||
         (flags_[h.entry_point] & format::kNodeRemoved))) {
        throw corrupt("has an entry point that is not a node of the top level");
    }
    header_ = h;
    top_name_ = part.name;
    delta_bytes_.push_back(part.bytes->bytes().size());
}

size_t GraphLayers::memory_bytes() const {
    return sizeof(*this) + flags_.capacity() + 8 * (new_vec_.capacity() + new_key_.capacity()) +
           new_level_.capacity() + 4 * new_l0_.capacity() + 8 * changed0_bits_.capacity() +
           4 * slot0_.capacity() + 4 * l0_records_.capacity() + 32 * upper_.size() +
           4 * upper_records_.capacity() + 24 * vec_changes_.size() +
           2 * size_t{n_} * visited_free_.size();
}

std::unique_ptr<GraphLayers::Visited> GraphLayers::take_visited() const {
    std::unique_ptr<Visited> v;
    {
        std::lock_guard lock(visited_mutex_);
        if (!visited_free_.empty()) {
            v = std::move(visited_free_.back());
            visited_free_.pop_back();
        }
    }
    if (!v) {
        v = std::make_unique<Visited>();
        v->marks.assign(n_, 0);
    }
    if (++v->tag == 0) {  // the tags wrapped: clear the marks once in 65535 searches
        std::fill(v->marks.begin(), v->marks.end(), 0);
        v->tag = 1;
    }
    return v;
}

void GraphLayers::give_back(std::unique_ptr<Visited> v) const {
    std::lock_guard lock(visited_mutex_);
    visited_free_.push_back(std::move(v));
}

}  // namespace vstore::detail
