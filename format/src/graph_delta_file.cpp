// Graph file version 2, delta files: encoding and decoding.
#include "vstore/format/graph_file_v2.h"

#include "graph_file_v2_header.h"

namespace vstore::format {

using namespace graph_v2;

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

}  // namespace vstore::format
