// Graph file format version 2 (spec/graph-file.md): full and delta files, their exact bytes and
// every check a reader makes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file.h"
#include "vstore/format/graph_file_v2.h"

using namespace vstore;
using namespace vstore::format;

namespace {

// Field offsets (spec/graph-file.md, "Header"), repeated here so that the tests check the spec.
constexpr size_t kOffVersion = 8;
constexpr size_t kOffKind = 12;
constexpr size_t kOffHeaderBytes = 16;
constexpr size_t kOffFlags = 20;
constexpr size_t kOffFeatures = 24;
constexpr size_t kOffMetric = 28;
constexpr size_t kOffDimension = 32;
constexpr size_t kOffM = 36;
constexpr size_t kOffEfConstruction = 40;
constexpr size_t kOffMaxLevel = 44;
constexpr size_t kOffEntryPoint = 48;
constexpr size_t kOffNodeCount = 56;
constexpr size_t kOffLiveCount = 64;
constexpr size_t kOffTombstoneCount = 72;
constexpr size_t kOffRemovedCount = 80;
constexpr size_t kOffVectorCount = 88;
constexpr size_t kOffCreated = 96;
constexpr size_t kOffUpperCount = 104;
constexpr size_t kOffLinkCount = 112;
constexpr size_t kOffBaseNodeCount = 120;
constexpr size_t kOffBaseFileBytes = 128;
constexpr size_t kOffBaseFileChecksum = 136;
constexpr size_t kOffChainDepth = 144;
constexpr size_t kOffReserved = 148;
constexpr size_t kOffSectionTable = 152;  // full: 8 x {offset, bytes, checksum}
constexpr size_t kOffNames = 344;
// Delta body fields.
constexpr size_t kOffBodyEncoding = 152;
constexpr size_t kOffBodyReserved = 156;
constexpr size_t kOffRawBodyBytes = 160;
constexpr size_t kOffStoredBodyBytes = 168;
constexpr size_t kOffRawBodyChecksum = 176;
constexpr size_t kOffStoredBodyChecksum = 184;
constexpr size_t kOffVectorChangeCount = 192;
constexpr size_t kOffFlagChangeCount = 200;
constexpr size_t kOffListChangeCount = 208;
constexpr size_t kOffTailLinkCount = 216;

constexpr uint64_t kEmptyChecksum = 0x2D06800538D394C2ULL;  // XXH3-64 of no bytes

const std::string kFile = "store/t%2Fd@c1.hnsw";
const std::array<const char*, kFullSectionCount> kSectionLabels = {
    "vector_index", "key", "level", "flags", "upper_index", "layer0", "upper", "codes"};

uint64_t align64(uint64_t x) {
    return (x + 63) / 64 * 64;
}
uint32_t header_bytes_of(const std::vector<uint8_t>& f) {
    return load_le<uint32_t>(f.data() + kOffHeaderBytes);
}
size_t section_entry(uint32_t s) {
    return kOffSectionTable + 24 * size_t(s);
}
uint64_t section_offset(const std::vector<uint8_t>& f, uint32_t s) {
    return load_le<uint64_t>(f.data() + section_entry(s));
}

// Recomputes the header checksum after surgery.
void refix_header(std::vector<uint8_t>& f) {
    const uint32_t hb = header_bytes_of(f);
    if (hb >= 16 && hb <= f.size())
        store_le<uint64_t>(f.data() + hb - 8, checksum64({f.data(), hb - 8u}));
}
// Full file: every section checksum from the table (where the section lies in the file), then
// the header checksum.
void refix_full(std::vector<uint8_t>& f) {
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        const uint64_t off = load_le<uint64_t>(f.data() + section_entry(s));
        const uint64_t len = load_le<uint64_t>(f.data() + section_entry(s) + 8);
        if (off <= f.size() && len <= f.size() - off)
            store_le<uint64_t>(f.data() + section_entry(s) + 16, checksum64({f.data() + off, len}));
    }
    refix_header(f);
}
// Delta file: the body checksums (the raw one for a raw body only), then the header checksum.
void refix_delta(std::vector<uint8_t>& f) {
    const uint32_t hb = header_bytes_of(f);
    const uint64_t stored = checksum64({f.data() + hb, f.size() - hb});
    store_le<uint64_t>(f.data() + kOffStoredBodyChecksum, stored);
    if (load_le<uint32_t>(f.data() + kOffBodyEncoding) == 0)
        store_le<uint64_t>(f.data() + kOffRawBodyChecksum, stored);
    refix_header(f);
}
template <typename T>
std::vector<uint8_t> patched(std::vector<uint8_t> f, size_t off, T value,
                             void (*refix)(std::vector<uint8_t>&) = refix_header) {
    store_le<T>(f.data() + off, value);
    refix(f);
    return f;
}

// ---- failures -----------------------------------------------------------------------------

struct Failure {
    ErrorCode code;
    std::string message;
};

std::optional<Failure> failure_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return Failure{e.code(), e.message()};
    }
    return std::nullopt;
}
std::optional<Failure> full_failure(std::span<const uint8_t> bytes) {
    return failure_of([&] { verify_full_graph(bytes, parse_full_graph(bytes, kFile), kFile); });
}
std::optional<Failure> parse_failure(std::span<const uint8_t> bytes) {
    return failure_of([&] { parse_full_graph(bytes, kFile); });
}
std::optional<Failure> delta_failure(std::span<const uint8_t> bytes) {
    return failure_of([&] { decode_delta_graph(bytes, kFile); });
}

// The failure is `code`, names the file at the start of one line and contains `fragment`.
void require_failure(const std::optional<Failure>& f, ErrorCode code, const std::string& fragment) {
    REQUIRE(f);
    INFO(f->message);
    CHECK(f->code == code);
    CHECK_THAT(f->message, Catch::Contains(fragment));
    CHECK_THAT(f->message, Catch::StartsWith("graph file '" + kFile + "'"));
    CHECK(f->message.find('\n') == std::string::npos);
}
void require_full_corruption(const std::vector<uint8_t>& bytes, const std::string& fragment) {
    require_failure(full_failure(bytes), ErrorCode::kCorruption, fragment);
}
void require_parse_corruption(const std::vector<uint8_t>& bytes, const std::string& fragment) {
    require_failure(parse_failure(bytes), ErrorCode::kCorruption, fragment);
}
void require_delta_corruption(const std::vector<uint8_t>& bytes, const std::string& fragment) {
    require_failure(delta_failure(bytes), ErrorCode::kCorruption, fragment);
}
template <typename Fn>
void require_invalid_argument(Fn fn, const std::string& fragment) {
    const auto f = failure_of(fn);
    REQUIRE(f);
    INFO(f->message);
    CHECK(f->code == ErrorCode::kInvalidArgument);
    CHECK_THAT(f->message, Catch::Contains(fragment));
}

// ---- full graphs --------------------------------------------------------------------------

struct TestNode {
    uint64_t vector_index = 0;
    uint64_t key = 0;
    uint32_t level = 0;
    uint8_t flags = 0;
    std::vector<std::vector<uint32_t>> links;  // level + 1 lists
};

class VecSource : public GraphSource {
  public:
    explicit VecSource(const std::vector<TestNode>& nodes) : nodes_(nodes) {}
    uint64_t node_count() const override { return nodes_.size(); }
    uint64_t vector_index(uint32_t i) const override { return nodes_[i].vector_index; }
    uint64_t key(uint32_t i) const override { return nodes_[i].key; }
    uint32_t level(uint32_t i) const override { return nodes_[i].level; }
    uint8_t flags(uint32_t i) const override { return nodes_[i].flags; }
    std::span<const uint32_t> links(uint32_t i, uint32_t layer) const override {
        const auto& l = nodes_[i].links;
        return layer < l.size() ? std::span<const uint32_t>(l[layer]) : std::span<const uint32_t>();
    }

  private:
    const std::vector<TestNode>& nodes_;
};

struct TestGraph {
    GraphHeader header;
    std::vector<TestNode> nodes;
};

std::vector<uint8_t> encode(const TestGraph& g) {
    return encode_full_graph(g.header, VecSource(g.nodes));
}

// The counts a header must carry for these nodes.
void fill_counts(GraphHeader& h, const std::vector<TestNode>& nodes) {
    h.node_count = nodes.size();
    h.live_count = h.tombstone_count = h.removed_count = h.upper_count = h.link_count = 0;
    for (const TestNode& x : nodes) {
        if (x.flags & kNodeRemoved)
            ++h.removed_count;
        else if (x.flags & kNodeTombstone)
            ++h.tombstone_count;
        else
            ++h.live_count;
        h.upper_count += x.level;
        for (const auto& l : x.links)
            h.link_count += l.size();
    }
}

// Sets max_level and entry_point: the first node of the top level among nodes not removed.
void fill_entry_point(GraphHeader& h, const std::vector<TestNode>& nodes) {
    h.max_level = -1;
    h.entry_point = -1;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (!(nodes[i].flags & kNodeRemoved) && int32_t(nodes[i].level) > h.max_level) {
            h.max_level = int32_t(nodes[i].level);
            h.entry_point = int64_t(i);
        }
    }
}

// Parses and verifies, then reads every node back from the sections as the spec lays them out.
TestGraph read_full(const std::vector<uint8_t>& bytes) {
    const FullGraphLayout layout = parse_full_graph(bytes, kFile);
    verify_full_graph(bytes, layout, kFile);
    TestGraph g;
    g.header = layout.header;
    const uint8_t* p = bytes.data();
    const uint64_t n = layout.header.node_count;
    const uint32_t m = layout.header.m;
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        CHECK(layout.sections[s].offset % 64 == 0);
        CHECK(layout.sections[s].offset == section_offset(bytes, s));
    }
    auto at = [&](uint32_t s) { return p + layout.sections[s].offset; };
    CHECK(layout.layer0_words() == 2 * m + 1);
    CHECK(layout.upper_words() == m + 1);
    g.nodes.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
        TestNode& x = g.nodes[i];
        x.vector_index = load_le<uint64_t>(at(kSectionVectorIndex) + 8 * i);
        x.key = load_le<uint64_t>(at(kSectionKey) + 8 * i);
        x.level = at(kSectionLevel)[i];
        x.flags = at(kSectionFlags)[i];
        const uint32_t first_upper = load_le<uint32_t>(at(kSectionUpperIndex) + 4 * i);
        x.links.resize(x.level + 1);
        for (uint32_t l = 0; l <= x.level; ++l) {
            const uint8_t* rec = l == 0 ? at(kSectionLayer0) + 4 * (2 * m + 1) * i
                                        : at(kSectionUpper) + 4 * (m + 1) * (first_upper + l - 1);
            const uint32_t count = load_le<uint32_t>(rec);
            for (uint32_t k = 0; k < count; ++k)
                x.links[l].push_back(load_le<uint32_t>(rec + 4 * (k + 1)));
        }
    }
    return g;
}

void require_same_nodes(const std::vector<TestNode>& a, const std::vector<TestNode>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        INFO("node " << i);
        REQUIRE(a[i].vector_index == b[i].vector_index);
        REQUIRE(a[i].key == b[i].key);
        REQUIRE(a[i].level == b[i].level);
        REQUIRE(a[i].flags == b[i].flags);
        REQUIRE(a[i].links == b[i].links);
    }
}

void require_same_header(const GraphHeader& a, const GraphHeader& b) {
    CHECK(a.domain == b.domain);
    CHECK(a.commit == b.commit);
    CHECK(a.parent == b.parent);
    CHECK(a.metric == b.metric);
    CHECK(a.dimension == b.dimension);
    CHECK(a.m == b.m);
    CHECK(a.ef_construction == b.ef_construction);
    CHECK(a.features == b.features);
    CHECK(a.max_level == b.max_level);
    CHECK(a.entry_point == b.entry_point);
    CHECK(a.vector_count == b.vector_count);
    CHECK(a.created_unix_ms == b.created_unix_ms);
}

// Encodes, reads back, compares, and checks that encoding is deterministic.
std::vector<uint8_t> round_trip_full(const TestGraph& g) {
    const auto bytes = encode(g);
    const TestGraph back = read_full(bytes);
    require_same_header(g.header, back.header);
    require_same_nodes(g.nodes, back.nodes);
    GraphHeader counts;
    fill_counts(counts, g.nodes);
    CHECK(back.header.kind == GraphKind::kFull);
    CHECK(back.header.node_count == counts.node_count);
    CHECK(back.header.live_count == counts.live_count);
    CHECK(back.header.tombstone_count == counts.tombstone_count);
    CHECK(back.header.removed_count == counts.removed_count);
    CHECK(back.header.upper_count == counts.upper_count);
    CHECK(back.header.link_count == counts.link_count);
    CHECK(back.header.base_file.empty());
    CHECK(back.header.base_node_count == 0);
    CHECK(back.header.chain_depth == 0);
    CHECK(back.header.header_bytes == header_bytes_of(bytes));
    CHECK(bytes.size() % 64 == 0);
    CHECK(encode(back) == bytes);
    return bytes;
}

GraphHeader base_header() {
    GraphHeader h;
    h.domain = "d";
    h.commit = "c1";
    h.parent = "c0";
    h.metric = Metric::kL2;
    h.dimension = 2;
    h.m = 2;
    h.ef_construction = 10;
    h.vector_count = 3;
    h.created_unix_ms = 1700000000000;
    return h;
}

// spec/graph-file.md, "Example 1": M = 2, four nodes: 0 and 2 in layers 0 and 1, 1 a
// tombstone, 3 a removed slot.
TestGraph example_graph() {
    TestGraph g;
    g.header = base_header();
    g.header.entry_point = 0;
    g.header.max_level = 1;
    g.nodes = {{0, 10, 1, 0, {{1, 2}, {2}}},
               {1, 11, 0, kNodeTombstone, {{0}}},
               {2, 12, 1, 0, {{0}, {0}}},
               {0, 13, 0, kNodeRemoved, {{}}}};
    return g;
}

// A valid HNSW-shaped graph: levels drawn like hnswlib's (at most max_level), about 10% of the
// nodes tombstones and 10% removed (no links, never linked to); each other node's layer l
// linked to distinct random nodes of that layer that are not removed.
TestGraph random_graph(size_t n, uint32_t m, uint64_t seed, uint32_t level_cap = 64) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    TestGraph g;
    g.header.domain = "test/random";
    g.header.commit = "c7";
    g.header.parent = "c6";
    g.header.metric = Metric::kIp;
    g.header.dimension = 128;
    g.header.m = m;
    g.header.ef_construction = 100;
    g.header.vector_count = n + 100;
    g.header.created_unix_ms = 1712345678901;
    const double mult = 1.0 / std::log(double(m));
    g.nodes.resize(n);
    std::vector<std::vector<uint32_t>> in_layer(1);
    for (size_t i = 0; i < n; ++i) {
        TestNode& x = g.nodes[i];
        x.level = static_cast<uint32_t>(
            std::min<double>(level_cap, std::floor(-std::log(1.0 - unit(rng)) * mult)));
        const uint64_t r = rng() % 10;
        x.flags = r == 0 ? kNodeTombstone : r == 1 ? kNodeRemoved : 0;
        x.vector_index = rng() % g.header.vector_count;
        x.key = rng();
        x.links.resize(x.level + 1);
        if (x.flags & kNodeRemoved)
            continue;
        if (in_layer.size() <= x.level)
            in_layer.resize(x.level + 1);
        for (uint32_t l = 0; l <= x.level; ++l)
            in_layer[l].push_back(static_cast<uint32_t>(i));
    }
    for (size_t i = 0; i < n; ++i) {
        TestNode& x = g.nodes[i];
        if (x.flags & kNodeRemoved)
            continue;
        for (uint32_t l = 0; l <= x.level; ++l) {
            const auto& pool = in_layer[l];
            const size_t cap = l == 0 ? 2 * m : m;
            const size_t want = std::min<size_t>(rng() % (cap + 1), pool.size() - 1);
            std::set<uint32_t> chosen;
            while (chosen.size() < want) {
                const uint32_t to = pool[rng() % pool.size()];
                if (to != i)
                    chosen.insert(to);
            }
            x.links[l].assign(chosen.begin(), chosen.end());
            std::shuffle(x.links[l].begin(), x.links[l].end(), rng);
        }
    }
    fill_entry_point(g.header, g.nodes);
    return g;
}

// ---- deltas -------------------------------------------------------------------------------

struct TestDelta {
    GraphHeader header;
    GraphDelta delta;
};

// The delta that turns `base` (whose file is `base_bytes`) into `target`, as a store would
// write it: target's nodes 0..N_base-1 keep their levels.
TestDelta make_delta(const TestGraph& base, const std::vector<uint8_t>& base_bytes,
                     const TestGraph& target, const std::string& base_file,
                     uint32_t base_chain_depth = 0) {
    TestDelta d;
    d.header = target.header;
    fill_counts(d.header, target.nodes);
    d.header.base_file = base_file;
    d.header.base_file_bytes = base_bytes.size();
    d.header.base_file_checksum = graph_file_checksum(base_bytes);
    d.header.base_node_count = base.nodes.size();
    d.header.chain_depth = base_chain_depth + 1;
    const size_t nb = base.nodes.size();
    for (size_t i = 0; i < target.nodes.size(); ++i) {
        const TestNode& t = target.nodes[i];
        const TestNode* b = i < nb ? &base.nodes[i] : nullptr;
        if (!b) {
            d.delta.new_nodes.push_back(
                {t.vector_index, t.key, static_cast<uint8_t>(t.level), t.flags});
        } else {
            REQUIRE(b->level == t.level);
            if (b->vector_index != t.vector_index)
                d.delta.vector_changes.push_back({uint32_t(i), t.vector_index});
            if (b->flags != t.flags)
                d.delta.flag_changes.push_back({uint32_t(i), t.flags});
        }
        for (uint32_t l = 0; l <= t.level; ++l) {
            static const std::vector<uint32_t> none;
            const auto& old = b ? b->links[l] : none;
            const auto& now = t.links[l];
            if (old == now)
                continue;
            size_t prefix = 0;
            while (prefix < old.size() && prefix < now.size() && old[prefix] == now[prefix])
                ++prefix;
            d.delta.list_changes.push_back({uint32_t(i), uint8_t(l), uint16_t(prefix),
                                            uint16_t(now.size() - prefix), 0});
            d.delta.tail_links.insert(d.delta.tail_links.end(), now.begin() + prefix, now.end());
        }
    }
    return d;
}

// What a store does with a delta: base nodes with their changes, then the new nodes; each
// changed list is the base's prefix and the tail.
TestGraph apply_delta(const TestGraph& base, const DecodedDelta& dd) {
    TestGraph g;
    g.header = dd.header;
    g.nodes = base.nodes;
    REQUIRE(dd.header.base_node_count == base.nodes.size());
    for (const DeltaNode& x : dd.delta.new_nodes)
        g.nodes.push_back({x.vector_index, x.key, x.level, x.flags,
                           std::vector<std::vector<uint32_t>>(x.level + 1u)});
    for (const auto& [node, value] : dd.delta.vector_changes)
        g.nodes[node].vector_index = value;
    for (const auto& [node, value] : dd.delta.flag_changes)
        g.nodes[node].flags = value;
    for (const ListChange& c : dd.delta.list_changes) {
        REQUIRE(c.layer <= g.nodes[c.node].level);
        auto& list = g.nodes[c.node].links[c.layer];
        REQUIRE(c.prefix <= list.size());
        list.resize(c.prefix);
        list.insert(list.end(), dd.delta.tail_links.begin() + int64_t(c.tail_begin),
                    dd.delta.tail_links.begin() + int64_t(c.tail_begin + c.tail_count));
    }
    return g;
}

// A valid successor of `base`: a few vectors replaced, nodes tombstoned and removed (their
// lists emptied and every link to them dropped), lists cut and extended, `added` new nodes.
TestGraph mutate(const TestGraph& base, uint64_t seed, size_t added) {
    std::mt19937_64 rng(seed);
    TestGraph g = base;
    g.header.parent = base.header.commit;
    g.header.commit = base.header.commit + "+";
    g.header.vector_count = base.header.vector_count + added;
    g.header.created_unix_ms = base.header.created_unix_ms + 1000;
    const uint32_t m = g.header.m;
    const double mult = 1.0 / std::log(double(m));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (size_t k = 0; k < added; ++k) {
        TestNode x;
        x.vector_index = base.header.vector_count + k;
        x.key = rng();
        x.level = static_cast<uint32_t>(
            std::min<double>(8, std::floor(-std::log(1.0 - unit(rng)) * mult)));
        x.flags = rng() % 8 == 0 ? kNodeTombstone : 0;
        x.links.resize(x.level + 1);
        g.nodes.push_back(x);
    }
    const size_t n = g.nodes.size();
    for (size_t i = 0; i < base.nodes.size(); ++i) {
        TestNode& x = g.nodes[i];
        if (x.flags & kNodeRemoved)
            continue;
        const uint64_t r = rng() % 40;
        if (r == 0)
            x.vector_index = rng() % g.header.vector_count;
        else if (r == 1)
            x.flags = kNodeTombstone;
        else if (r == 2)
            x.flags = 0;
        else if (r == 3)
            x.flags = kNodeRemoved;
    }
    for (size_t i = 0; i < n; ++i) {  // removed nodes hold no links and are never linked to
        TestNode& x = g.nodes[i];
        for (auto& list : x.links) {
            if (x.flags & kNodeRemoved)
                list.clear();
            std::erase_if(list, [&](uint32_t to) { return (g.nodes[to].flags & kNodeRemoved) != 0; });
        }
    }
    for (size_t i = 0; i < n; ++i) {
        TestNode& x = g.nodes[i];
        if (x.flags & kNodeRemoved)
            continue;
        for (uint32_t l = 0; l <= x.level; ++l) {
            auto& list = x.links[l];
            const bool is_new = i >= base.nodes.size();
            if (!is_new && rng() % 6 != 0)
                continue;
            const size_t cap = l == 0 ? 2 * m : m;
            if (!list.empty())
                list.resize(rng() % (list.size() + 1));
            const size_t want = list.size() + rng() % (cap - list.size() + 1);
            for (int tries = 0; list.size() < want && tries < 50; ++tries) {
                const uint32_t to = static_cast<uint32_t>(rng() % n);
                const TestNode& t = g.nodes[to];
                if (to == i || (t.flags & kNodeRemoved) || t.level < l ||
                    std::find(list.begin(), list.end(), to) != list.end())
                    continue;
                list.push_back(to);
            }
        }
    }
    fill_entry_point(g.header, g.nodes);
    return g;
}

void require_same_delta(const GraphDelta& a, const GraphDelta& b) {
    REQUIRE(a.new_nodes.size() == b.new_nodes.size());
    for (size_t k = 0; k < a.new_nodes.size(); ++k) {
        INFO("new node " << k);
        CHECK(a.new_nodes[k].vector_index == b.new_nodes[k].vector_index);
        CHECK(a.new_nodes[k].key == b.new_nodes[k].key);
        CHECK(a.new_nodes[k].level == b.new_nodes[k].level);
        CHECK(a.new_nodes[k].flags == b.new_nodes[k].flags);
    }
    CHECK(a.vector_changes == b.vector_changes);
    CHECK(a.flag_changes == b.flag_changes);
    REQUIRE(a.list_changes.size() == b.list_changes.size());
    uint64_t begin = 0;
    for (size_t k = 0; k < a.list_changes.size(); ++k) {
        INFO("list change " << k);
        CHECK(a.list_changes[k].node == b.list_changes[k].node);
        CHECK(a.list_changes[k].layer == b.list_changes[k].layer);
        CHECK(a.list_changes[k].prefix == b.list_changes[k].prefix);
        CHECK(a.list_changes[k].tail_count == b.list_changes[k].tail_count);
        CHECK(b.list_changes[k].tail_begin == begin);  // filled by the decoder
        begin += b.list_changes[k].tail_count;
    }
    CHECK(a.tail_links == b.tail_links);
}

void require_same_delta_header(const GraphHeader& a, const GraphHeader& b) {
    require_same_header(a, b);
    CHECK(b.kind == GraphKind::kDelta);
    CHECK(a.node_count == b.node_count);
    CHECK(a.live_count == b.live_count);
    CHECK(a.tombstone_count == b.tombstone_count);
    CHECK(a.removed_count == b.removed_count);
    CHECK(a.upper_count == b.upper_count);
    CHECK(a.link_count == b.link_count);
    CHECK(a.base_file == b.base_file);
    CHECK(a.base_file_bytes == b.base_file_bytes);
    CHECK(a.base_file_checksum == b.base_file_checksum);
    CHECK(a.base_node_count == b.base_node_count);
    CHECK(a.chain_depth == b.chain_depth);
}

std::vector<uint8_t> round_trip_delta(const TestDelta& d) {
    const auto bytes = encode_delta_graph(d.header, d.delta);
    const DecodedDelta back = decode_delta_graph(bytes, kFile);
    require_same_delta_header(d.header, back.header);
    require_same_delta(d.delta, back.delta);
    CHECK(back.header.header_bytes == header_bytes_of(bytes));
    CHECK(encode_delta_graph(back.header, back.delta) == bytes);
    return bytes;
}

// An independent writer of a raw-stored delta file, straight from the spec's tables, that
// checks nothing: the counts A, B, C, T are the lengths of the delta's vectors.
std::vector<uint8_t> spec_delta_file(const GraphHeader& h, const GraphDelta& d) {
    std::vector<uint8_t> body;
    auto put = [&body](auto v) {
        const size_t at = body.size();
        body.resize(at + sizeof v);
        store_le(body.data() + at, v);
    };
    for (const auto& x : d.new_nodes)
        put(x.vector_index);
    for (const auto& x : d.new_nodes)
        put(x.key);
    for (const auto& x : d.new_nodes)
        put(x.level);
    for (const auto& x : d.new_nodes)
        put(x.flags);
    for (const auto& x : d.vector_changes)
        put(x.first);
    for (const auto& x : d.vector_changes)
        put(x.second);
    for (const auto& x : d.flag_changes)
        put(x.first);
    for (const auto& x : d.flag_changes)
        put(x.second);
    for (const auto& x : d.list_changes)
        put(x.node);
    for (const auto& x : d.list_changes)
        put(x.layer);
    for (const auto& x : d.list_changes)
        put(x.prefix);
    for (const auto& x : d.list_changes)
        put(x.tail_count);
    for (uint32_t x : d.tail_links)
        put(x);

    const std::string parent = h.parent.value_or("");
    const uint32_t hb = static_cast<uint32_t>(align64(348 + h.domain.size() + h.commit.size() +
                                                      parent.size() + h.base_file.size() + 8));
    std::vector<uint8_t> f(hb + body.size());
    uint8_t* p = f.data();
    std::copy_n("VSTOREGF", 8, p);
    store_le<uint32_t>(p + kOffVersion, 2);
    store_le<uint32_t>(p + kOffKind, 2);
    store_le<uint32_t>(p + kOffHeaderBytes, hb);
    store_le<uint32_t>(p + kOffFlags, h.parent ? 1 : 0);
    store_le<uint32_t>(p + kOffFeatures, h.features);
    store_le<uint32_t>(p + kOffMetric, uint32_t(h.metric));
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
    store_le<uint64_t>(p + kOffBaseNodeCount, h.base_node_count);
    store_le<uint64_t>(p + kOffBaseFileBytes, h.base_file_bytes);
    store_le<uint64_t>(p + kOffBaseFileChecksum, h.base_file_checksum);
    store_le<uint32_t>(p + kOffChainDepth, h.chain_depth);
    store_le<uint32_t>(p + kOffBodyEncoding, 0);
    store_le<uint64_t>(p + kOffRawBodyBytes, body.size());
    store_le<uint64_t>(p + kOffStoredBodyBytes, body.size());
    store_le<uint64_t>(p + kOffRawBodyChecksum, checksum64(body));
    store_le<uint64_t>(p + kOffStoredBodyChecksum, checksum64(body));
    store_le<uint64_t>(p + kOffVectorChangeCount, d.vector_changes.size());
    store_le<uint64_t>(p + kOffFlagChangeCount, d.flag_changes.size());
    store_le<uint64_t>(p + kOffListChangeCount, d.list_changes.size());
    store_le<uint64_t>(p + kOffTailLinkCount, d.tail_links.size());
    uint8_t* at = p + kOffNames;
    for (const std::string* s : {&h.domain, &h.commit, &parent, &h.base_file}) {
        *at++ = uint8_t(s->size());
        at = std::copy(s->begin(), s->end(), at);
    }
    std::copy(body.begin(), body.end(), p + hb);
    refix_header(f);
    return f;
}

// Replaces a delta file's body by `stored`, zstd-encoded, claiming `raw_bytes` raw bytes whose
// checksum is `raw_checksum`.
std::vector<uint8_t> with_zstd_body(std::vector<uint8_t> f, const std::vector<uint8_t>& stored,
                                    uint64_t raw_bytes, uint64_t raw_checksum) {
    f.resize(header_bytes_of(f));
    f.insert(f.end(), stored.begin(), stored.end());
    store_le<uint32_t>(f.data() + kOffBodyEncoding, 1);
    store_le<uint64_t>(f.data() + kOffRawBodyBytes, raw_bytes);
    store_le<uint64_t>(f.data() + kOffStoredBodyBytes, stored.size());
    store_le<uint64_t>(f.data() + kOffRawBodyChecksum, raw_checksum);
    refix_delta(f);
    return f;
}

// Hand-made zstd frames (RFC 8878), independent of the library's encoder: a frame header
// without content size (the window descriptor 0x38 is 2^17 = 128 KiB), then blocks.
std::vector<uint8_t> frame_header(uint8_t window_descriptor = 0x38) {
    return {0x28, 0xB5, 0x2F, 0xFD, 0x00, window_descriptor};
}
void add_block(std::vector<uint8_t>& f, uint32_t type, uint32_t size, bool last) {
    const uint32_t h = (last ? 1u : 0u) | (type << 1) | (size << 3);
    f.push_back(uint8_t(h));
    f.push_back(uint8_t(h >> 8));
    f.push_back(uint8_t(h >> 16));
}
// A frame of RLE blocks (4 bytes each for up to 128 KiB) that decodes to `total` copies of
// `value`.
std::vector<uint8_t> rle_frame(uint64_t total, uint8_t value, uint8_t window_descriptor = 0x38) {
    std::vector<uint8_t> f = frame_header(window_descriptor);
    do {
        const uint32_t block = uint32_t(std::min<uint64_t>(total, 128 * 1024));
        total -= block;
        add_block(f, 1, block, total == 0);
        f.push_back(value);
    } while (total > 0);
    return f;
}
// A frame of one raw block holding `content` (at most 128 KiB).
std::vector<uint8_t> raw_frame(const std::vector<uint8_t>& content) {
    std::vector<uint8_t> f = frame_header();
    add_block(f, 0, uint32_t(content.size()), true);
    f.insert(f.end(), content.begin(), content.end());
    return f;
}

// A delta of n new nodes whose raw body is all zeros (vector 0, key 0, level 0, live) on a
// base of one node: valid, and its body is 18 n zero bytes.
TestDelta zero_delta(uint64_t n) {
    TestDelta d;
    d.header = base_header();
    d.header.commit = "c2";
    d.header.parent = "c1";
    d.header.vector_count = 1;
    d.header.node_count = 1 + n;
    d.header.live_count = 1 + n;
    d.header.entry_point = 0;
    d.header.max_level = 0;
    d.header.base_file = "d@c1.hnsw";
    d.header.base_node_count = 1;
    d.header.chain_depth = 1;
    d.delta.new_nodes.resize(n);
    return d;
}

// spec/graph-file.md, "Example 2": on the file of Example 1, node 1's vector becomes 3, node 2
// becomes a tombstone, and node 1's layer-0 list keeps its first link and gains node 2.
TestDelta example_delta(const std::vector<uint8_t>& base_bytes) {
    TestDelta d;
    d.header = base_header();
    d.header.commit = "c2";
    d.header.parent = "c1";
    d.header.vector_count = 4;
    d.header.created_unix_ms = 1700000060000;
    d.header.entry_point = 0;
    d.header.max_level = 1;
    d.header.node_count = 4;
    d.header.live_count = 1;
    d.header.tombstone_count = 2;
    d.header.removed_count = 1;
    d.header.upper_count = 2;
    d.header.link_count = 7;
    d.header.base_file = "d@c1.hnsw";
    d.header.base_file_bytes = base_bytes.size();
    d.header.base_file_checksum = graph_file_checksum(base_bytes);
    d.header.base_node_count = 4;
    d.header.chain_depth = 1;
    d.delta.vector_changes = {{1, 3}};
    d.delta.flag_changes = {{2, kNodeTombstone}};
    d.delta.list_changes = {{1, 0, 1, 1, 0}};
    d.delta.tail_links = {2};
    return d;
}

// A valid delta touching every column, for the rule tests: two new nodes (4 at level 1, 5 at
// level 0) on the four nodes of Example 1.
TestDelta rule_delta() {
    TestDelta d = example_delta(encode(example_graph()));
    d.header.vector_count = 6;
    d.header.node_count = 6;
    d.header.live_count = 3;
    d.header.tombstone_count = 2;
    d.header.removed_count = 1;
    d.header.upper_count = 3;
    d.header.link_count = 12;
    d.delta.new_nodes = {{4, 14, 1, 0}, {5, 15, 0, 0}};
    d.delta.list_changes = {{0, 0, 2, 1, 0}, {4, 0, 0, 2, 0}, {4, 1, 0, 1, 0}, {5, 0, 0, 1, 0}};
    d.delta.tail_links = {4, 0, 5, 0, 4};
    return d;
}

// Rows of a hex dump as the spec prints them: {offset, bytes}; rows left out are zero.
struct Row {
    size_t offset;
    std::vector<uint8_t> bytes;
};
std::vector<uint8_t> from_rows(size_t size, const std::vector<Row>& rows) {
    std::vector<uint8_t> out(size);
    for (const Row& r : rows) {
        REQUIRE(r.offset + r.bytes.size() <= size);
        std::copy(r.bytes.begin(), r.bytes.end(), out.begin() + int64_t(r.offset));
    }
    return out;
}

}  // namespace

// ---- versions and kinds ---------------------------------------------------------------------

TEST_CASE("v2: graph_file_version tells the versions apart", "[graph-file-v2]") {
    GraphFileData v1;
    v1.dimension = 4;
    CHECK(graph_file_version(encode_graph_file(v1), kFile) == kGraphFormatV1);
    const auto full = encode(example_graph());
    CHECK(graph_file_version(full, kFile) == kGraphFormatV2);
    CHECK(graph_file_version(encode_delta_graph(example_delta(full).header,
                                                example_delta(full).delta),
                             kFile) == kGraphFormatV2);
    // Any number is returned as it is.
    auto v9 = full;
    store_le<uint32_t>(v9.data() + kOffVersion, 9);
    CHECK(graph_file_version(v9, kFile) == 9);
    // The first 12 bytes are enough.
    CHECK(graph_file_version(std::span(full).first(12), kFile) == 2);

    require_failure(failure_of([] { graph_file_version({}, kFile); }), ErrorCode::kCorruption,
                    "not a graph file (bad magic)");
    const std::vector<uint8_t> not_graph = {'V', 'S', 'T', 'O', 'R', 'E', 'V', 'F', 2, 0, 0, 0};
    require_failure(failure_of([&] { graph_file_version(not_graph, kFile); }),
                    ErrorCode::kCorruption, "bad magic");
    require_failure(failure_of([&] { graph_file_version(std::span(full).first(11), kFile); }),
                    ErrorCode::kCorruption, "truncated");

    CHECK(graph_kind_name(GraphKind::kFull) == "full");
    CHECK(graph_kind_name(GraphKind::kDelta) == "delta");
}

TEST_CASE("v2: each reader refuses the other kind and other versions", "[graph-file-v2]") {
    const auto full = encode(example_graph());
    const TestDelta d = example_delta(full);
    const auto delta = encode_delta_graph(d.header, d.delta);

    require_failure(parse_failure(delta), ErrorCode::kInvalidArgument,
                    "is a delta graph file, not a full one");
    require_failure(delta_failure(full), ErrorCode::kInvalidArgument,
                    "is a full graph file, not a delta one");

    GraphFileData v1;
    v1.dimension = 4;
    for (const auto& bytes : {encode_graph_file(v1), patched(full, kOffVersion, uint32_t(3)),
                              patched(delta, kOffVersion, uint32_t(0xFFFFFFFF))}) {
        const uint32_t v = load_le<uint32_t>(bytes.data() + kOffVersion);
        const std::string msg =
            "has format version " + std::to_string(v) + "; this build reads versions 1 and 2";
        require_failure(parse_failure(bytes), ErrorCode::kInvalidArgument, msg);
        require_failure(delta_failure(bytes), ErrorCode::kInvalidArgument, msg);
        require_failure(failure_of([&] { parse_graph_header(bytes, kFile); }),
                        ErrorCode::kInvalidArgument, msg);
    }
    // The version is read before anything else: 12 bytes are enough to refuse it.
    const std::vector<uint8_t> stub = {'V', 'S', 'T', 'O', 'R', 'E', 'G', 'F', 1, 0, 0, 0};
    require_failure(parse_failure(stub), ErrorCode::kInvalidArgument, "format version 1");

    // Kinds other than 1 and 2 are damage.
    for (uint32_t kind : {0u, 3u, 0x80000001u}) {
        require_parse_corruption(patched(full, kOffKind, kind),
                                 "kind " + std::to_string(kind) + " is not 1 (full) or 2 (delta)");
        require_delta_corruption(patched(delta, kOffKind, kind), "is not 1 (full) or 2 (delta)");
    }
}

TEST_CASE("v2: parse_graph_header reads either kind from the header alone", "[graph-file-v2]") {
    const TestGraph g = example_graph();
    const auto full = encode(g);
    const TestDelta d = example_delta(full);
    const auto delta = encode_delta_graph(d.header, d.delta);

    const GraphHeader hf = parse_graph_header(full, kFile);
    CHECK(hf.kind == GraphKind::kFull);
    require_same_header(g.header, hf);
    CHECK(hf.node_count == 4);
    CHECK(hf.live_count == 2);
    CHECK(hf.tombstone_count == 1);
    CHECK(hf.removed_count == 1);
    CHECK(hf.upper_count == 2);
    CHECK(hf.link_count == 6);
    CHECK(hf.header_bytes == 384);
    const GraphHeader hd = parse_graph_header(delta, kFile);
    require_same_delta_header(d.header, hd);

    // Only the header is read: its first header_bytes bytes are enough, one fewer is not.
    for (const auto* f : {&full, &delta}) {
        const uint32_t hb = header_bytes_of(*f);
        CHECK_NOTHROW(parse_graph_header(std::span(*f).first(hb), kFile));
        require_failure(failure_of([&] { parse_graph_header(std::span(*f).first(hb - 1), kFile); }),
                        ErrorCode::kCorruption, "truncated");
    }
    // The same header checks as the readers of each kind.
    require_failure(failure_of([&] { parse_graph_header(patched(full, kOffM, uint32_t(1)), kFile); }),
                    ErrorCode::kCorruption, "M 1 is outside 2..2048");
    require_failure(
        failure_of([&] { parse_graph_header(patched(delta, kOffChainDepth, uint32_t(0)), kFile); }),
        ErrorCode::kCorruption, "chain_depth 0");
}

// ---- full files -----------------------------------------------------------------------------

TEST_CASE("v2: an empty full graph round-trips", "[graph-file-v2]") {
    TestGraph g;
    g.header.domain = "empty/domain";
    g.header.commit = "c0";
    g.header.metric = Metric::kCosine;
    g.header.dimension = 1536;
    const auto bytes = round_trip_full(g);
    // The header alone: every section is empty and starts at header_bytes.
    CHECK(bytes.size() == 384);
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        CHECK(section_offset(bytes, s) == 384);
        CHECK(load_le<uint64_t>(bytes.data() + section_entry(s) + 8) == 0);
        CHECK(load_le<uint64_t>(bytes.data() + section_entry(s) + 16) == kEmptyChecksum);
    }
    const auto back = parse_full_graph(bytes, kFile).header;
    CHECK(back.entry_point == -1);
    CHECK(back.max_level == -1);
    CHECK_FALSE(back.parent);
}

TEST_CASE("v2: a one-node full graph round-trips", "[graph-file-v2]") {
    TestGraph g;
    g.header = base_header();
    g.header.vector_count = 1;
    g.header.entry_point = 0;
    g.header.max_level = 0;
    g.nodes = {{0, 0xFEDCBA9876543210, 0, 0, {{}}}};
    auto bytes = round_trip_full(g);
    // header 384; vector_index 8 -> 448; key 8 -> 512; level, flags 1 each -> 576, 640;
    // upper_index 4 -> 704; layer0 one record of 5 words -> 768; upper empty at 768.
    CHECK(bytes.size() == 768);
    CHECK(section_offset(bytes, kSectionUpper) == 768);
    // A tombstone at level 3 without links is valid too, and so is a graph whose only node is
    // removed: it then has no entry point.
    g.nodes[0] = {0, 5, 3, kNodeTombstone, {{}, {}, {}, {}}};
    g.header.max_level = 3;
    round_trip_full(g);
    g.nodes[0].flags = kNodeRemoved;
    g.header.max_level = -1;
    g.header.entry_point = -1;
    round_trip_full(g);
}

TEST_CASE("v2: multi-layer full graphs with tombstones and removed slots round-trip",
          "[graph-file-v2]") {
    round_trip_full(example_graph());
    for (uint64_t seed : {1, 2, 3}) {
        INFO("seed " << seed);
        const TestGraph g = random_graph(1500, 16, seed);
        REQUIRE(g.header.max_level >= 2);
        const auto bytes = round_trip_full(g);
        GraphHeader c;
        fill_counts(c, g.nodes);
        REQUIRE(c.removed_count > 0);
        REQUIRE(c.tombstone_count > 0);
        // The exact size: eight sections, each starting at a multiple of 64.
        uint64_t at = header_bytes_of(bytes);
        for (uint64_t size : {8 * c.node_count, 8 * c.node_count, c.node_count, c.node_count,
                              4 * c.node_count, 4 * 33 * c.node_count, 4 * 17 * c.upper_count})
            at = align64(at + size);
        CHECK(bytes.size() == at);
    }
    // Small M gives tall graphs; M = 2048 the widest records.
    const TestGraph tall = random_graph(3000, 2, 10);
    REQUIRE(tall.header.max_level >= 5);
    round_trip_full(tall);
    round_trip_full(random_graph(40, 2048, 11));
    // Level 64, the highest.
    TestGraph top = example_graph();
    top.nodes[1].level = 64;
    top.nodes[1].links.resize(65);
    top.nodes[1].flags = 0;
    fill_entry_point(top.header, top.nodes);
    CHECK(top.header.entry_point == 1);
    round_trip_full(top);
}

TEST_CASE("v2: names of every length round-trip", "[graph-file-v2]") {
    TestGraph g = example_graph();
    const auto base_bytes = encode(g);
    for (size_t len : {size_t(0), size_t(1), size_t(7), size_t(100), size_t(255)}) {
        INFO("length " << len);
        g.header.domain = std::string(len, 'd');
        g.header.commit = std::string(len, 'c');
        g.header.parent = std::string(len, 'p');
        const auto bytes = round_trip_full(g);
        CHECK(header_bytes_of(bytes) == align64(348 + 3 * len + 8));
        TestDelta d = example_delta(base_bytes);
        d.header.domain = g.header.domain;
        d.header.commit = g.header.commit;
        d.header.parent = g.header.parent;
        d.header.base_file = std::string(std::max<size_t>(len, 1), 'b');
        const auto delta = round_trip_delta(d);
        CHECK(header_bytes_of(delta) == align64(348 + 3 * len + std::max<size_t>(len, 1) + 8));
    }
    // Four names of 255 bytes: the largest header.
    TestDelta d = example_delta(base_bytes);
    d.header.domain = std::string(255, 'd');
    d.header.commit = std::string(255, 'c');
    d.header.parent = std::string(255, 'p');
    d.header.base_file = std::string(255, 'b');
    CHECK(header_bytes_of(round_trip_delta(d)) == 1408);
    // No parent, and a present but empty parent, are different.
    g.header.parent.reset();
    CHECK_FALSE(read_full(round_trip_full(g)).header.parent);
    g.header.parent = "";
    CHECK(read_full(round_trip_full(g)).header.parent == std::optional<std::string>(""));
}

TEST_CASE("v2: the full example of the spec is byte-exact", "[graph-file-v2]") {
    // spec/graph-file.md, "Example 1".
    const std::vector<Row> rows = {
        {0x000, {0x56, 0x53, 0x54, 0x4f, 0x52, 0x45, 0x47, 0x46, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
        {0x010, {0x80, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
        {0x020, {0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
        {0x030, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x040, {0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x050, {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x060, {0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x070, {0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x090, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0a0, {0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb4, 0x7b, 0x24, 0xce, 0x67, 0xfa, 0xb3, 0xc9}},
        {0x0b0, {0xc0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0c0, {0x10, 0x63, 0xbf, 0xd5, 0x18, 0xb3, 0xf4, 0x5a, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0d0, {0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x86, 0x46, 0x67, 0x2a, 0x27, 0x0a, 0x94, 0x71}},
        {0x0e0, {0x40, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0f0, {0x06, 0x78, 0x02, 0x28, 0x73, 0xbf, 0x0e, 0xf1, 0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x100, {0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x5c, 0x7e, 0xd3, 0xd4, 0x3d, 0xdd, 0x03}},
        {0x110, {0xc0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x120, {0x0a, 0xb6, 0x6d, 0xa1, 0xda, 0x82, 0x3d, 0xcf, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x130, {0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb0, 0xa6, 0xdb, 0x11, 0x99, 0x04, 0x0c, 0x39}},
        {0x140, {0x80, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x150, {0xc2, 0x94, 0xd3, 0x38, 0x05, 0x80, 0x06, 0x2d, 0x01, 0x64, 0x02, 0x63, 0x31, 0x02, 0x63, 0x30}},
        {0x170, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x72, 0xae, 0x7f, 0xdd, 0x83, 0xe1, 0xb5, 0xd9}},
        {0x180, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x190, {0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x1c0, {0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x1d0, {0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x200, {0x01, 0x00, 0x01, 0x00}},
        {0x240, {0x00, 0x01, 0x00, 0x02}},
        {0x280, {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}},
        {0x2c0, {0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x2d0, {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x2e0, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x340, {0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
    };
    const std::vector<uint8_t> expected = from_rows(896, rows);
    const auto bytes = encode(example_graph());
    REQUIRE(bytes.size() == 896);
    CHECK(bytes == expected);
    // The check values the spec gives.
    const std::array<std::pair<uint64_t, uint64_t>, kFullSectionCount> sections = {{
        {384, 32}, {448, 32}, {512, 4}, {576, 4}, {640, 16}, {704, 80}, {832, 24}, {896, 0}}};
    const std::array<uint64_t, kFullSectionCount> checksums = {
        0xC9B3FA67CE247BB4ULL, 0x5AF4B318D5BF6310ULL, 0x71940A272A674686ULL,
        0xF10EBF7328027806ULL, 0x03DD3DD4D37E5C68ULL, 0xCF3D82DAA16DB60AULL,
        0x390C049911DBA6B0ULL, kEmptyChecksum};
    const FullGraphLayout layout = parse_full_graph(expected, kFile);
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        INFO("section " << s);
        CHECK(layout.sections[s].offset == sections[s].first);
        CHECK(layout.sections[s].bytes == sections[s].second);
        CHECK(layout.sections[s].checksum == checksums[s]);
        CHECK(checksum64({expected.data() + sections[s].first, sections[s].second}) ==
              checksums[s]);
    }
    CHECK(load_le<uint64_t>(expected.data() + 376) == 0xD9B5E183DD7FAE72ULL);
    CHECK(checksum64({expected.data(), 376}) == 0xD9B5E183DD7FAE72ULL);
    CHECK(graph_file_checksum(expected) == 0xDBBF43C550344D27ULL);
    require_same_nodes(read_full(expected).nodes, example_graph().nodes);
}

TEST_CASE("v2: the delta examples of the spec are byte-exact", "[graph-file-v2]") {
    // spec/graph-file.md, "Example 2": a delta of Example 1, stored raw.
    const std::vector<Row> rows = {
        {0x000, {0x56, 0x53, 0x54, 0x4f, 0x52, 0x45, 0x47, 0x46, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}},
        {0x010, {0x80, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
        {0x020, {0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
        {0x030, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x040, {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x050, {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x060, {0x60, 0x52, 0xe6, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x070, {0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x080, {0x80, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0x4d, 0x34, 0x50, 0xc5, 0x43, 0xbf, 0xdb}},
        {0x090, {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0a0, {0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0b0, {0x20, 0xf9, 0x7f, 0x1b, 0xdd, 0x05, 0x81, 0x15, 0x20, 0xf9, 0x7f, 0x1b, 0xdd, 0x05, 0x81, 0x15}},
        {0x0c0, {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x0d0, {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x150, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x02, 0x63, 0x32, 0x02, 0x63, 0x31}},
        {0x160, {0x09, 0x64, 0x40, 0x63, 0x31, 0x2e, 0x68, 0x6e, 0x73, 0x77, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {0x170, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x1d, 0xab, 0x90, 0x89, 0x5b, 0xaa, 0xe8}},
        {0x180, {0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}},
        {0x190, {0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00}},
    };
    const std::vector<uint8_t> expected = from_rows(414, rows);
    const TestGraph base = example_graph();
    const auto base_bytes = encode(base);
    const TestDelta d = example_delta(base_bytes);
    const auto bytes = encode_delta_graph(d.header, d.delta);
    CHECK(bytes == expected);
    CHECK(spec_delta_file(d.header, d.delta) == expected);  // the spec's tables, independently
    CHECK(load_le<uint64_t>(expected.data() + kOffBaseFileChecksum) == 0xDBBF43C550344D27ULL);
    CHECK(checksum64({expected.data() + 384, 30}) == 0x158105DD1B7FF920ULL);
    CHECK(load_le<uint64_t>(expected.data() + 376) == 0xE8AA5B8990AB1D36ULL);
    CHECK(graph_file_checksum(expected) == 0x4644522641D94B65ULL);
    round_trip_delta(d);
    // Applied to Example 1 it gives the graph the spec describes, a valid full graph.
    const TestGraph after = apply_delta(base, decode_delta_graph(expected, kFile));
    CHECK(after.nodes[1].vector_index == 3);
    CHECK(after.nodes[1].links[0] == std::vector<uint32_t>{0, 2});
    CHECK(after.nodes[2].flags == kNodeTombstone);
    const TestGraph full_after = read_full(encode(after));
    CHECK(full_after.header.live_count == d.header.live_count);
    CHECK(full_after.header.tombstone_count == d.header.tombstone_count);
    CHECK(full_after.header.link_count == d.header.link_count);

    // "Example 3": the raw body of a delta with a new node (stored compressed, so only the raw
    // body, its length and its checksum are fixed).
    TestDelta e = example_delta(base_bytes);
    e.header.vector_count = 5;
    e.header.node_count = 5;
    e.header.live_count = 2;
    e.header.link_count = 9;
    e.delta.new_nodes = {{4, 14, 0, 0}};
    e.delta.vector_changes = {{2, 3}};
    e.delta.flag_changes = {{2, kNodeTombstone}};
    e.delta.list_changes = {{0, 0, 2, 1, 0}, {4, 0, 0, 2, 0}};
    e.delta.tail_links = {4, 0, 2};
    const std::vector<uint8_t> raw_body = {
        0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
        0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    };
    REQUIRE(raw_body.size() == 65);
    CHECK(checksum64(raw_body) == 0xE76FD6F92392152FULL);
    const auto spec_file = spec_delta_file(e.header, e.delta);
    CHECK(std::vector<uint8_t>(spec_file.begin() + 384, spec_file.end()) == raw_body);
    const auto e_bytes = round_trip_delta(e);
    CHECK(load_le<uint64_t>(e_bytes.data() + kOffRawBodyBytes) == 65);
    CHECK(load_le<uint64_t>(e_bytes.data() + kOffRawBodyChecksum) == checksum64(raw_body));
    // Readers take either encoding of the same body.
    const DecodedDelta from_raw = decode_delta_graph(spec_file, kFile);
    require_same_delta(e.delta, from_raw.delta);
    const TestGraph e_after = apply_delta(base, from_raw);
    CHECK(e_after.nodes[0].links[0] == std::vector<uint32_t>{1, 2, 4});
    CHECK(e_after.nodes[4].links[0] == std::vector<uint32_t>{0, 2});
    read_full(encode(e_after));
}

// ---- delta files ----------------------------------------------------------------------------

TEST_CASE("v2: delta files round-trip and apply to their base", "[graph-file-v2]") {
    const TestGraph base = example_graph();
    const auto base_bytes = encode(base);

    SECTION("an empty delta: nothing changed") {
        TestDelta d = make_delta(base, base_bytes, base, "d@c1.hnsw");
        d.header.commit = "c2";
        const auto bytes = round_trip_delta(d);
        CHECK(bytes.size() == 384);  // the header and an empty raw body
        CHECK(load_le<uint32_t>(bytes.data() + kOffBodyEncoding) == 0);
        CHECK(load_le<uint64_t>(bytes.data() + kOffRawBodyBytes) == 0);
        CHECK(load_le<uint64_t>(bytes.data() + kOffStoredBodyChecksum) == kEmptyChecksum);
        const TestGraph after = apply_delta(base, decode_delta_graph(bytes, kFile));
        require_same_nodes(base.nodes, after.nodes);
    }
    SECTION("one new node") {
        TestGraph target = base;
        target.header.commit = "c2";
        target.header.vector_count = 4;
        target.nodes.push_back({3, 99, 1, 0, {{0, 2}, {2}}});
        target.nodes[0].links[0].push_back(4);
        fill_entry_point(target.header, target.nodes);
        const TestDelta d = make_delta(base, base_bytes, target, "d@c1.hnsw");
        REQUIRE(d.delta.new_nodes.size() == 1);
        REQUIRE(d.delta.list_changes.size() == 3);  // node 0 layer 0, node 4 layers 0 and 1
        const auto bytes = round_trip_delta(d);
        const TestGraph after = apply_delta(base, decode_delta_graph(bytes, kFile));
        require_same_nodes(target.nodes, after.nodes);
        read_full(encode(after));
    }
    SECTION("a delta on an empty graph") {
        TestGraph empty;
        empty.header = base_header();
        const auto empty_bytes = encode(empty);
        TestGraph target = base;
        target.header.vector_count = 3;
        const TestDelta d = make_delta(empty, empty_bytes, target, "d@c0.hnsw");
        CHECK(d.header.base_node_count == 0);
        const auto bytes = round_trip_delta(d);
        require_same_nodes(target.nodes, apply_delta(empty, decode_delta_graph(bytes, kFile)).nodes);
    }
    SECTION("chains of multi-layer deltas, zstd-compressed") {
        TestGraph g = random_graph(3000, 8, 21, 6);
        std::vector<uint8_t> file = encode(g);
        bool compressed = false;
        for (uint32_t depth = 0; depth < 4; ++depth) {
            INFO("depth " << depth);
            const TestGraph next = mutate(g, 100 + depth, 200);
            const TestDelta d = make_delta(g, file, next, "f" + std::to_string(depth), depth);
            const auto bytes = round_trip_delta(d);
            compressed |= load_le<uint32_t>(bytes.data() + kOffBodyEncoding) == 1;
            const DecodedDelta dd = decode_delta_graph(bytes, kFile);
            CHECK(dd.header.chain_depth == depth + 1);
            const TestGraph after = apply_delta(g, dd);
            require_same_nodes(next.nodes, after.nodes);
            // The header describes the graph the delta yields, as a full file of it does.
            const auto full = encode(after);
            const GraphHeader fh = read_full(full).header;
            CHECK(fh.node_count == dd.header.node_count);
            CHECK(fh.live_count == dd.header.live_count);
            CHECK(fh.tombstone_count == dd.header.tombstone_count);
            CHECK(fh.removed_count == dd.header.removed_count);
            CHECK(fh.upper_count == dd.header.upper_count);
            CHECK(fh.link_count == dd.header.link_count);
            g = after;
            file = bytes;
        }
        CHECK(compressed);
    }
}

TEST_CASE("v2: the encoders refuse what the format cannot hold", "[graph-file-v2]") {
    const TestGraph g = example_graph();
    for (int which = 0; which < 3; ++which) {
        TestGraph big = g;
        (which == 0 ? big.header.domain : which == 1 ? big.header.commit : *big.header.parent) =
            std::string(256, 'x');
        require_invalid_argument([&] { encode(big); }, "256 bytes; the limit is 255");
    }
    {
        TestGraph bad = g;
        bad.nodes[1].level = 65;
        bad.nodes[1].links.resize(66);
        require_invalid_argument([&] { encode(bad); }, "graph node 1 has level 65");
    }
    {
        TestGraph bad = g;
        bad.nodes[1].links[0] = {0, 2, 0, 2, 0};
        require_invalid_argument([&] { encode(bad); }, "5 links in layer 0; the limit is 4");
        bad = g;
        bad.nodes[0].links[1] = {2, 2, 2};
        require_invalid_argument([&] { encode(bad); }, "3 links in layer 1; the limit is 2");
    }
    {
        TestGraph bad = g;
        bad.header.features = 1;
        require_invalid_argument([&] { encode(bad); }, "features 0x1");
        bad.header.features = 0;
        bad.header.m = 1;
        require_invalid_argument([&] { encode(bad); }, "M 1 is outside 2..2048");
        bad.header.m = 2049;
        require_invalid_argument([&] { encode(bad); }, "M 2049");
    }
    // 2^32 nodes, and 2^32 upper records, do not fit the u32 ordinals.
    class Huge : public GraphSource {
      public:
        Huge(uint64_t n, uint32_t level) : n_(n), level_(level) {}
        uint64_t node_count() const override { return n_; }
        uint64_t vector_index(uint32_t) const override { return 0; }
        uint64_t key(uint32_t) const override { return 0; }
        uint32_t level(uint32_t) const override { return level_; }
        uint8_t flags(uint32_t) const override { return 0; }
        std::span<const uint32_t> links(uint32_t, uint32_t) const override { return {}; }

      private:
        uint64_t n_;
        uint32_t level_;
    };
    require_invalid_argument([&] { encode_full_graph(g.header, Huge(uint64_t(1) << 32, 0)); },
                             "at most 2^32 - 1 nodes");
    require_invalid_argument([&] { encode_full_graph(g.header, Huge(uint64_t(1) << 26, 64)); },
                             "at most 2^32 - 1 upper-layer records");
    // A source whose levels grow between the encoder's two passes is refused, not trusted.
    class Fickle : public GraphSource {
      public:
        uint64_t node_count() const override { return 2; }
        uint64_t vector_index(uint32_t) const override { return 0; }
        uint64_t key(uint32_t) const override { return 0; }
        uint32_t level(uint32_t) const override { return calls_++ < 2 ? 0 : 3; }
        uint8_t flags(uint32_t) const override { return 0; }
        std::span<const uint32_t> links(uint32_t, uint32_t) const override { return {}; }

      private:
        mutable int calls_ = 0;
    };
    require_invalid_argument([&] { encode_full_graph(g.header, Fickle()); },
                             "the graph source changed its levels");

    const TestDelta d = rule_delta();
    REQUIRE_NOTHROW(encode_delta_graph(d.header, d.delta));
    auto refused = [](TestDelta bad, const std::string& fragment) {
        require_invalid_argument([&] { encode_delta_graph(bad.header, bad.delta); }, fragment);
    };
    for (int which = 0; which < 4; ++which) {
        TestDelta bad = d;
        std::string* names[] = {&bad.header.domain, &bad.header.commit, &*bad.header.parent,
                                &bad.header.base_file};
        *names[which] = std::string(256, 'x');
        refused(bad, "256 bytes; the limit is 255");
    }
    TestDelta bad = d;
    bad.header.features = 1;
    refused(bad, "features 0x1");
    bad = d;
    bad.header.node_count = 7;
    refused(bad, "graph delta has 2 new nodes, but node_count 7 - base_node_count 4 differs");
    bad.header.node_count = 3;
    refused(bad, "new nodes");
    bad = d;
    bad.delta.vector_changes = {{2, 1}, {1, 1}};
    refused(bad, "vector changes are not strictly ascending by node at entry 1");
    bad.delta.vector_changes = {{1, 1}, {1, 2}};
    refused(bad, "vector changes are not strictly ascending");
    bad = d;
    bad.delta.flag_changes = {{3, 0}, {3, 1}};
    refused(bad, "flag changes are not strictly ascending by node at entry 1");
    bad = d;
    std::swap(bad.delta.list_changes[1], bad.delta.list_changes[2]);
    refused(bad, "list changes are not strictly ascending by (node, layer) at entry 2");
    bad = d;
    bad.delta.list_changes[0].tail_count = 3;  // prefix 2 + 3 > 2M
    bad.delta.tail_links.insert(bad.delta.tail_links.begin(), {1, 2});
    refused(bad, "list change 0 (node 0, layer 0) holds 2 + 3 links; the limit is 4");
    bad = d;
    bad.delta.list_changes[2].tail_count = 3;  // layer 1: 3 > M
    bad.delta.tail_links.insert(bad.delta.tail_links.begin() + 3, {1, 2});
    refused(bad, "holds 0 + 3 links; the limit is 2");
    bad = d;
    bad.delta.tail_links.push_back(1);
    refused(bad, "tails of 5 links in all, but tail_links has 6");
}

// ---- hostile full files ---------------------------------------------------------------------

TEST_CASE("v2: full header fields that disagree are refused", "[graph-file-v2]") {
    const auto pristine = encode(example_graph());  // 896 bytes, header 384
    REQUIRE_NOTHROW(full_failure(pristine));
    REQUIRE_FALSE(full_failure(pristine));

    require_parse_corruption(patched(pristine, kOffFlags, uint32_t(3)), "unknown header flags 0x3");
    require_parse_corruption(patched(pristine, kOffFlags, uint32_t(0)),
                             "a parent name is present but the has_parent flag is clear");
    require_parse_corruption(patched(pristine, kOffReserved, uint32_t(1)),
                             "reserved header field is not zero");
    require_parse_corruption(patched(pristine, 360, uint8_t(1)), "header padding is not zero");
    require_parse_corruption(patched(pristine, kOffNames, uint8_t(40)),
                             "the domain name runs past the header");
    // The four names end at 353; a base_file name of one byte in a full file.
    require_parse_corruption(patched(pristine, 352, uint8_t(1)), "a full graph file names a base file");
    require_parse_corruption(patched(pristine, 352, uint8_t(30)),
                             "the base_file name runs past the header");
    {
        // A longer header than the names need (its checksum where it then lies).
        auto bytes = pristine;
        store_le<uint32_t>(bytes.data() + kOffHeaderBytes, 448);
        refix_header(bytes);
        require_parse_corruption(bytes, "header_bytes 448 does not match its 353 bytes of fields "
                                        "and names");
    }
    require_failure(parse_failure(patched(pristine, kOffFeatures, uint32_t(1))),
                    ErrorCode::kInvalidArgument, "uses features 0x1 this build does not read");
    require_failure(parse_failure(patched(pristine, kOffFeatures, uint32_t(0x80000000))),
                    ErrorCode::kInvalidArgument, "uses features 0x80000000");
    // Without the checksum fixed, a changed features field is damage.
    {
        auto bytes = pristine;
        bytes[kOffFeatures] = 1;
        require_parse_corruption(bytes, "header checksum mismatch");
    }
    for (uint32_t metric : {0u, 4u})
        require_parse_corruption(patched(pristine, kOffMetric, metric),
                                 "metric " + std::to_string(metric) + " is not");
    require_parse_corruption(patched(pristine, kOffDimension, uint32_t(0)), "dimension 0 is outside 1..65536");
    require_parse_corruption(patched(pristine, kOffDimension, uint32_t(65537)), "dimension 65537");
    require_parse_corruption(patched(pristine, kOffM, uint32_t(1)), "M 1 is outside 2..2048");
    require_parse_corruption(patched(pristine, kOffM, uint32_t(2049)), "M 2049 is outside");
    // M = 3 is a valid M, but the sections were laid out for M = 2.
    require_parse_corruption(patched(pristine, kOffM, uint32_t(3)),
                             "section 5 (layer0) has 80 bytes; it must have 112");

    // Counts.
    require_parse_corruption(patched(pristine, kOffNodeCount, uint64_t(5)),
                             "live_count 2, tombstone_count 1 and removed_count 1 do not add up to "
                             "node_count 5");
    require_parse_corruption(patched(pristine, kOffLiveCount, uint64_t(3)), "do not add up");
    require_parse_corruption(patched(pristine, kOffTombstoneCount, ~uint64_t(0)), "do not add up");
    require_parse_corruption(patched(pristine, kOffRemovedCount, uint64_t(0)), "do not add up");
    require_parse_corruption(patched(pristine, kOffUpperCount, uint64_t(257)),
                             "upper_count 257 is more than 64 x node_count 4");
    require_parse_corruption(patched(pristine, kOffUpperCount, uint64_t(3)),
                             "section 6 (upper) has 24 bytes; it must have 36");
    // 2M N + M U = 16 + 4 = 20 links at most.
    require_parse_corruption(patched(pristine, kOffLinkCount, uint64_t(21)),
                             "link_count 21 is more than the lists can hold");
    require_parse_corruption(patched(pristine, kOffBaseNodeCount, uint64_t(1)),
                             "a full graph file has base_node_count 1");
    require_parse_corruption(patched(pristine, kOffBaseFileBytes, uint64_t(1)), "base_file_bytes 1");
    require_parse_corruption(patched(pristine, kOffBaseFileChecksum, uint64_t(1)),
                             "base_file_checksum 0x1");
    require_parse_corruption(patched(pristine, kOffChainDepth, uint32_t(1)),
                             "a full graph file has chain_depth 1");

    // Entry point and max_level from the header.
    require_parse_corruption(patched(pristine, kOffEntryPoint, int64_t(4)),
                             "entry_point 4 is not a node (the graph has 4 nodes)");
    require_parse_corruption(patched(pristine, kOffEntryPoint, int64_t(-1)), "entry_point -1 is not a node");
    require_parse_corruption(patched(pristine, kOffEntryPoint, INT64_MIN), "is not a node");
    require_parse_corruption(patched(pristine, kOffMaxLevel, int32_t(-1)), "max_level -1 is outside 0..64");
    require_parse_corruption(patched(pristine, kOffMaxLevel, int32_t(65)), "max_level 65 is outside 0..64");
    {
        TestGraph empty;
        empty.header = base_header();
        const auto e = encode(empty);
        require_parse_corruption(patched(e, kOffEntryPoint, int64_t(0)),
                                 "entry_point is 0 but the graph has no node that is not removed");
        require_parse_corruption(patched(e, kOffMaxLevel, int32_t(0)),
                                 "max_level is 0 but the graph has no node that is not removed");
    }

    // The section table: every offset and size exactly as computed.
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        INFO("section " << s);
        const uint64_t off = section_offset(pristine, s);
        const std::string label = "section " + std::to_string(s) + " (" + kSectionLabels[s] + ")";
        require_parse_corruption(patched(pristine, section_entry(s), off + 64),
                                 label + " starts at " + std::to_string(off + 64) +
                                     "; it must start at " + std::to_string(off));
        require_parse_corruption(patched(pristine, section_entry(s), off - 1),
                                 "starts at " + std::to_string(off - 1) + "; it must start at " +
                                     std::to_string(off));
        const uint64_t len = load_le<uint64_t>(pristine.data() + section_entry(s) + 8);
        require_parse_corruption(patched(pristine, section_entry(s) + 8, len + 1),
                                 "has " + std::to_string(len + 1) + " bytes; it must have " +
                                     std::to_string(len));
        require_parse_corruption(patched(pristine, section_entry(s) + 8, ~uint64_t(0)),
                                 "bytes; it must have");
    }
    require_parse_corruption(patched(pristine, section_entry(7) + 16, uint64_t(0)),
                             "section 7 (codes) checksum 0x0 is not that of no bytes");

    // header_bytes other than the right one, with the checksum where it would then lie fixed.
    for (uint32_t hb : {0u, 64u, 320u, 383u, 385u, 448u, 1408u, 1472u, 0xFFFFFFC0u}) {
        INFO("header_bytes " << hb);
        auto bytes = pristine;
        store_le<uint32_t>(bytes.data() + kOffHeaderBytes, hb);
        refix_header(bytes);
        const auto f = parse_failure(bytes);
        REQUIRE(f);
        CHECK(f->code == ErrorCode::kCorruption);
    }

    // The exact length.
    {
        auto bytes = pristine;
        bytes.insert(bytes.end(), 64, 0);
        require_parse_corruption(bytes, "64 trailing bytes after its last section");
        bytes.resize(pristine.size() - 1);
        require_parse_corruption(bytes, "is truncated: it has 895 bytes; its sections end at byte 896");
    }
}

TEST_CASE("v2: verify_full_graph enforces every graph rule", "[graph-file-v2]") {
    const TestGraph g = example_graph();
    const auto pristine = encode(g);
    REQUIRE_FALSE(full_failure(pristine));

    // Graphs the encoder writes as given (it does not check the graph rules): parse_full_graph
    // accepts them, verify_full_graph does not.
    auto refused = [](const TestGraph& bad, const std::string& fragment) {
        const auto bytes = encode(bad);
        REQUIRE_FALSE(parse_failure(bytes));
        require_full_corruption(bytes, fragment);
    };
    TestGraph bad = g;
    bad.nodes[2].links[0] = {0, 9};
    refused(bad, "node 2 links in layer 0 to node 9, which does not exist");
    bad.nodes[2].links[0] = {0xFFFFFFFF};
    refused(bad, "to node 4294967295, which does not exist");
    bad = g;
    bad.nodes[2].links[1] = {2};
    refused(bad, "node 2 links to itself in layer 1");
    bad = g;
    bad.nodes[0].links[1] = {1};
    refused(bad, "node 0 links in layer 1 to node 1, whose level is 0");
    bad = g;
    bad.nodes[0].links[0] = {1, 3};
    refused(bad, "node 0 links in layer 0 to node 3, which is removed");
    bad = g;
    bad.nodes[3].links[0] = {0};
    refused(bad, "removed node 3 has 1 links in layer 0");
    bad = g;
    bad.nodes[1].flags = kNodeTombstone | kNodeRemoved;
    refused(bad, "node 1 has flags 0x3 (tombstone and removed together)");
    bad.nodes[1].flags = 4;
    refused(bad, "node 1 has unknown flags 0x4");
    bad.nodes[1].flags = 0x80 | kNodeTombstone;
    refused(bad, "node 1 has unknown flags 0x81");
    bad = g;
    bad.nodes[2].vector_index = 3;
    refused(bad, "node 2 refers to vector 3 but vector_count is 3");
    bad = g;
    bad.nodes[3].vector_index = 99;  // a removed node's vector is not looked at
    CHECK_FALSE(full_failure(encode(bad)));
    bad = g;
    bad.header.entry_point = 3;
    refused(bad, "entry_point 3 is a removed node");
    bad.header.entry_point = 1;
    refused(bad, "entry_point 1 has level 0, not max_level 1");
    bad.header.entry_point = 2;  // another node at the top level will do
    CHECK_FALSE(full_failure(encode(bad)));
    bad = g;
    bad.header.max_level = 2;
    refused(bad, "max_level is 2 but the highest level of a node that is not removed is 1");
    bad = g;
    bad.nodes[3].level = 2;  // a removed node keeps its level, but it does not count for max_level
    bad.nodes[3].links.resize(3);
    CHECK_FALSE(full_failure(encode(bad)));
    bad.header.max_level = 2;
    bad.header.entry_point = 3;
    refused(bad, "entry_point 3 is a removed node");

    // Bytes changed in the sections, with the section checksums fixed.
    auto section_patched = [&](uint32_t s, uint64_t at, auto value) {
        return patched(pristine, section_offset(pristine, s) + at, value, refix_full);
    };
    require_full_corruption(section_patched(kSectionLevel, 1, uint8_t(65)),
                            "node 1 has level 65; the limit is 64");
    require_full_corruption(section_patched(kSectionUpperIndex, 8, uint32_t(0)),
                            "node 2 has upper_index 0; it must be 1 (the sum of the levels before it)");
    require_full_corruption(section_patched(kSectionLevel, 3, uint8_t(1)),
                            "the node levels add up to 3 upper records, but upper_count is 2");
    require_full_corruption(section_patched(kSectionFlags, 2, uint8_t(kNodeTombstone)),
                            "the flags give 1 live, 2 tombstoned and 1 removed nodes, but the "
                            "header says 2, 1 and 1");
    // Layer-0 records are 5 words: node 1's count at 20, its slots at 24..39.
    require_full_corruption(section_patched(kSectionLayer0, 20, uint32_t(5)),
                            "node 1 has 5 links in layer 0; the limit is 4 (2*M)");
    require_full_corruption(section_patched(kSectionLayer0, 20, uint32_t(0xFFFFFFFF)),
                            "node 1 has 4294967295 links in layer 0");
    require_full_corruption(section_patched(kSectionLayer0, 20 + 4 * 3, uint32_t(7)),
                            "node 1's list in layer 0 has a non-zero unused slot");
    // Upper records are 3 words: node 0's layer 1 first, then node 2's.
    require_full_corruption(section_patched(kSectionUpper, 0, uint32_t(3)),
                            "node 0 has 3 links in layer 1; the limit is 2 (M)");
    require_full_corruption(section_patched(kSectionUpper, 12 + 8, uint32_t(5)),
                            "node 2's list in layer 1 has a non-zero unused slot");
    require_full_corruption(patched(pristine, kOffLinkCount, uint64_t(7)),
                            "the lists hold 6 links, but link_count is 7");

    // Padding between sections and after the last non-empty one.
    require_full_corruption(patched(pristine, 384 + 32, uint8_t(1), refix_full),
                            "the padding after section 0 (vector_index) is not zero");
    require_full_corruption(patched(pristine, 895, uint8_t(0x80), refix_full),
                            "the padding after section 6 (upper) is not zero");
    // Without the checksums fixed, the first damaged section is named.
    {
        auto bytes = pristine;
        bytes[section_offset(bytes, kSectionKey) + 3] ^= 4;
        require_full_corruption(bytes, "section 1 (key) checksum mismatch");
    }

    // A layout that is not this file's is the caller's mistake.
    {
        FullGraphLayout layout = parse_full_graph(pristine, kFile);
        layout.sections[kSectionUpper].bytes += 12;
        require_invalid_argument([&] { verify_full_graph(pristine, layout, kFile); },
                                 "wrong section 6 (upper)");
        const auto other = encode(random_graph(30, 4, 3));
        require_invalid_argument(
            [&] { verify_full_graph(pristine, parse_full_graph(other, kFile), kFile); },
            "the layout passed to verify_full_graph");
    }
}

TEST_CASE("v2: huge claimed sizes in a full header are refused without allocating",
          "[graph-file-v2]") {
    const auto pristine = encode(example_graph());
    // Only the header is read: no claim can make parse_full_graph allocate or read further.
    require_parse_corruption(patched(pristine, kOffNodeCount, uint64_t(1) << 32),
                             "node_count 4294967296 is not below 2^32");
    require_parse_corruption(patched(pristine, kOffNodeCount, ~uint64_t(0)), "is not below 2^32");
    require_parse_corruption(patched(pristine, kOffUpperCount, uint64_t(1) << 40), "is more than 64 x");
    require_parse_corruption(patched(pristine, kOffLinkCount, ~uint64_t(0)), "more than the lists can hold");
    // Counts that add up to 2^32 - 1 nodes and a section table to match: the file is too short.
    auto bytes = pristine;
    const uint64_t n = 0xFFFFFFFF;
    store_le<uint64_t>(bytes.data() + kOffNodeCount, n);
    store_le<uint64_t>(bytes.data() + kOffLiveCount, n - 2);
    store_le<uint64_t>(bytes.data() + kOffUpperCount, n);
    const std::array<uint64_t, 8> sizes = {8 * n, 8 * n, n, n, 4 * n, 20 * n, 12 * n, 0};
    uint64_t at = 384;
    for (uint32_t s = 0; s < kFullSectionCount; ++s) {
        store_le<uint64_t>(bytes.data() + section_entry(s), at);
        store_le<uint64_t>(bytes.data() + section_entry(s) + 8, sizes[s]);
        at = align64(at + sizes[s]);
    }
    refix_header(bytes);
    require_parse_corruption(bytes, "is truncated: it has 896 bytes; its sections end at byte " +
                                        std::to_string(at));
}

// ---- hostile delta files --------------------------------------------------------------------

TEST_CASE("v2: delta header fields that disagree are refused", "[graph-file-v2]") {
    const auto base_bytes = encode(example_graph());
    const TestDelta d = example_delta(base_bytes);
    const auto pristine = encode_delta_graph(d.header, d.delta);  // raw, 414 bytes
    REQUIRE(load_le<uint32_t>(pristine.data() + kOffBodyEncoding) == 0);
    REQUIRE_FALSE(delta_failure(pristine));

    require_delta_corruption(patched(pristine, kOffBaseNodeCount, uint64_t(5)),
                             "base_node_count 5 is more than node_count 4");
    require_delta_corruption(patched(pristine, kOffChainDepth, uint32_t(0)),
                             "a delta graph file has chain_depth 0");
    {
        TestDelta e = d;
        e.header.base_file.clear();
        require_delta_corruption(encode_delta_graph(e.header, e.delta),
                                 "a delta graph file must name its base file");
    }
    require_delta_corruption(patched(pristine, kOffFlags, uint32_t(0)), "has_parent flag is clear");
    require_delta_corruption(patched(pristine, kOffReserved, uint32_t(7)), "reserved header field");
    require_failure(delta_failure(patched(pristine, kOffFeatures, uint32_t(2))),
                    ErrorCode::kInvalidArgument, "uses features 0x2 this build does not read");
    require_delta_corruption(patched(pristine, kOffBodyEncoding, uint32_t(2)),
                             "body_encoding 2 is not 0 (raw) or 1 (zstd)");
    require_delta_corruption(patched(pristine, kOffBodyReserved, uint32_t(1)), "reserved body field");
    require_delta_corruption(patched(pristine, 300, uint8_t(1)),
                             "the unused bytes 224..343 of the delta header are not zero");
    require_delta_corruption(patched(pristine, kOffLiveCount, uint64_t(2)), "do not add up to node_count 4");
    require_delta_corruption(patched(pristine, kOffEntryPoint, int64_t(4)), "entry_point 4 is not a node");
    require_delta_corruption(patched(pristine, kOffMaxLevel, int32_t(-1)), "max_level -1 is outside");

    // Counts against what they count, and the body length they give.
    require_delta_corruption(patched(pristine, kOffVectorChangeCount, uint64_t(5)),
                             "vector_change_count 5 is more than base_node_count 4");
    require_delta_corruption(patched(pristine, kOffFlagChangeCount, uint64_t(5)),
                             "flag_change_count 5 is more than base_node_count 4");
    require_delta_corruption(patched(pristine, kOffListChangeCount, uint64_t(261)),
                             "list_change_count 261 is more than 65 x node_count 4");
    require_delta_corruption(patched(pristine, kOffTailLinkCount, uint64_t(5)),
                             "tail_link_count 5 is more than 2M x list_change_count (4)");
    require_delta_corruption(patched(pristine, kOffVectorChangeCount, uint64_t(2)),
                             "raw_body_bytes 30 does not match 0 new nodes, 2 vector changes, 1 "
                             "flag changes, 1 list changes and 1 tail links (42 bytes)");
    require_delta_corruption(patched(pristine, kOffRawBodyBytes, uint64_t(31)),
                             "raw_body_bytes 31 does not match");
    require_delta_corruption(patched(pristine, kOffNodeCount, uint64_t(5)), "do not add up");
    {
        // One new node more in the header, counts adjusted: the body is 18 bytes short.
        auto bytes = patched(pristine, kOffNodeCount, uint64_t(5));
        bytes = patched(bytes, kOffLiveCount, uint64_t(2));
        require_delta_corruption(bytes, "raw_body_bytes 30 does not match 1 new nodes");
    }
    require_delta_corruption(patched(pristine, kOffStoredBodyBytes, uint64_t(29)),
                             "raw body: raw_body_bytes 30 differs from stored_body_bytes 29");

    // The exact length and the checksums.
    {
        auto bytes = pristine;
        bytes.push_back(0);
        require_delta_corruption(bytes, "has 1 trailing bytes after its body");
        bytes.resize(pristine.size() - 1);
        require_delta_corruption(bytes, "is truncated: it has 413 bytes; the header and body need 384 + 30");
        bytes = pristine;
        bytes.back() ^= 1;
        require_delta_corruption(bytes, "stored body checksum mismatch");
        bytes = patched(pristine, kOffRawBodyChecksum, uint64_t(1));
        require_delta_corruption(bytes, "raw body checksum mismatch");
    }
}

TEST_CASE("v2: decode_delta_graph enforces every delta rule", "[graph-file-v2]") {
    const TestDelta d = rule_delta();
    // The encoder's bytes, whichever encoding it chose, mean what the spec's writer's bytes mean.
    require_same_delta(decode_delta_graph(spec_delta_file(d.header, d.delta), kFile).delta,
                       decode_delta_graph(encode_delta_graph(d.header, d.delta), kFile).delta);
    // Written by the spec's writer, which checks nothing.
    auto refused = [](const TestDelta& bad, const std::string& fragment) {
        require_delta_corruption(spec_delta_file(bad.header, bad.delta), fragment);
    };
    TestDelta bad = d;

    SECTION("new nodes") {
        bad.delta.new_nodes[1].level = 65;
        refused(bad, "new node 5 has level 65; the limit is 64");
        bad = d;
        bad.delta.new_nodes[1].flags = 3;
        refused(bad, "new node 5 has flags 0x3 (tombstone and removed together)");
        bad.delta.new_nodes[1].flags = 8;
        refused(bad, "new node 5 has unknown flags 0x8");
        bad = d;
        bad.delta.new_nodes[0].vector_index = 6;
        refused(bad, "new node 4 refers to vector 6 but vector_count is 6");
        bad = d;
        bad.delta.new_nodes[1].level = 2;
        refused(bad, "new node 5 has level 2, above max_level 1");
        bad.delta.new_nodes[1].flags = kNodeRemoved;  // a removed node's level is not bounded
        bad.header.live_count = 2;
        bad.header.removed_count = 2;
        bad.delta.list_changes.pop_back();
        bad.delta.tail_links.pop_back();
        CHECK_FALSE(delta_failure(spec_delta_file(bad.header, bad.delta)));
        bad = d;
        bad.header.entry_point = 5;
        refused(bad, "entry_point 5 has level 0, not max_level 1");
        bad.header.entry_point = 4;
        CHECK_FALSE(delta_failure(spec_delta_file(bad.header, bad.delta)));
        bad.delta.new_nodes[0].flags = kNodeRemoved;
        bad.header.live_count = 2;
        bad.header.removed_count = 2;
        refused(bad, "entry_point 4 is a removed node");
    }
    SECTION("vector changes") {
        bad.delta.vector_changes = {{2, 3}, {1, 3}};
        refused(bad, "vector change 1 is for node 1 after node 2 (not strictly ascending)");
        bad.delta.vector_changes = {{1, 3}, {1, 3}};
        refused(bad, "vector change 1 is for node 1 after node 1");
        bad.delta.vector_changes = {{4, 3}};
        refused(bad, "vector change 0 is for node 4, which is not a base node (base_node_count 4)");
        bad.delta.vector_changes = {{0xFFFFFFFF, 3}};
        refused(bad, "which is not a base node");
        bad.delta.vector_changes = {{1, 6}};
        refused(bad, "vector change 0 gives node 1 vector 6 but vector_count is 6");
    }
    SECTION("flag changes") {
        bad.delta.flag_changes = {{2, 1}, {0, 1}};
        refused(bad, "flag change 1 is for node 0 after node 2 (not strictly ascending)");
        bad.delta.flag_changes = {{5, 1}};
        refused(bad, "flag change 0 is for node 5, which is not a base node");
        bad.delta.flag_changes = {{2, 3}};
        refused(bad, "flag change 0 gives node 2 flags 0x3 (tombstone and removed together)");
        bad.delta.flag_changes = {{2, 0x10}};
        refused(bad, "gives node 2 unknown flags 0x10");
    }
    SECTION("list changes") {
        std::swap(bad.delta.list_changes[0], bad.delta.list_changes[1]);
        bad.delta.tail_links = {0, 5, 4, 0, 4};  // the tails follow the changes
        refused(bad, "list change 1 (node 0, layer 0) comes after (node 4, layer 0) (not strictly "
                     "ascending)");
        bad = d;
        bad.delta.list_changes[2].layer = 0;  // (4, 0) twice
        refused(bad, "list change 2 (node 4, layer 0) comes after (node 4, layer 0)");
        bad = d;
        bad.delta.list_changes[3].node = 6;
        refused(bad, "list change 3 (node 6, layer 0) is for a node that does not exist "
                     "(node_count 6)");
        bad = d;
        bad.delta.list_changes[0].layer = 65;
        refused(bad, "list change 0 (node 0, layer 65) is for a layer above 64");
        bad = d;
        bad.delta.list_changes[3].layer = 1;
        refused(bad, "list change 3 (node 5, layer 1) is for new node 5, whose level is 0");
        bad = d;
        bad.delta.list_changes[1].prefix = 1;
        refused(bad, "list change 1 (node 4, layer 0) has prefix 1 but a new node's lists have no "
                     "base list");
        bad = d;
        bad.delta.list_changes[0].prefix = 4;
        refused(bad, "list change 0 (node 0, layer 0) holds 4 + 1 links; the limit is 4 (2*M)");
        bad = d;
        bad.delta.list_changes[2].tail_count = 3;
        bad.delta.tail_links.insert(bad.delta.tail_links.begin() + 4, {1, 2});
        refused(bad, "list change 2 (node 4, layer 1) holds 0 + 3 links; the limit is 2 (M)");
        bad = d;
        bad.delta.tail_links[0] = 6;
        refused(bad, "list change 0 (node 0, layer 0) links to node 6, which does not exist");
        bad.delta.tail_links[0] = 0xFFFFFFFF;
        refused(bad, "links to node 4294967295, which does not exist");
        bad = d;
        bad.delta.tail_links[1] = 4;
        refused(bad, "list change 1 (node 4, layer 0) links the node to itself");
        // Tail counts that do not add up to T (the body length still matches the header).
        bad = d;
        bad.delta.list_changes[3].tail_count = 2;
        refused(bad, "the list changes' tail counts add up to 6 links, but tail_link_count is 5");
        bad = d;
        bad.delta.list_changes[3].tail_count = 0;
        refused(bad, "add up to 4 links, but tail_link_count is 5");
    }
}

TEST_CASE("v2: huge claimed sizes in a delta are refused before anything is allocated",
          "[graph-file-v2]") {
    const TestDelta d = example_delta(encode(example_graph()));
    const auto raw = encode_delta_graph(d.header, d.delta);
    for (uint64_t huge : {uint64_t(1) << 32, uint64_t(1) << 40, uint64_t(1) << 62, ~uint64_t(0)}) {
        INFO("value " << huge);
        require_delta_corruption(patched(raw, kOffVectorChangeCount, huge), "is more than base_node_count");
        require_delta_corruption(patched(raw, kOffFlagChangeCount, huge), "is more than base_node_count");
        require_delta_corruption(patched(raw, kOffListChangeCount, huge), "is more than 65 x node_count");
        require_delta_corruption(patched(raw, kOffTailLinkCount, huge), "is more than 2M x");
        require_delta_corruption(patched(raw, kOffRawBodyBytes, huge), "does not match");
        require_delta_corruption(patched(raw, kOffStoredBodyBytes, huge), "differs from stored_body_bytes");
        require_delta_corruption(patched(raw, kOffNodeCount, huge), "is not below 2^32");
    }
    // Counts that add up to 2^32 - 1 nodes, and a raw body length to match: a raw body must be
    // in the file.
    {
        const uint64_t n = 0xFFFFFFFF;
        auto bytes = patched(raw, kOffNodeCount, n);
        bytes = patched(bytes, kOffLiveCount, n - 3);
        const uint64_t body = 18 * (n - 4) + 30;
        bytes = patched(bytes, kOffRawBodyBytes, body);
        require_delta_corruption(bytes, "differs from stored_body_bytes 30");
        bytes = patched(bytes, kOffStoredBodyBytes, body);
        require_delta_corruption(bytes, "is truncated: it has 414 bytes; the header and body need 384 + " +
                                            std::to_string(body));
        // As zstd, it would need at least body / 32768 stored bytes.
        bytes = patched(bytes, kOffBodyEncoding, uint32_t(1));
        bytes = patched(bytes, kOffStoredBodyBytes, uint64_t(30));
        require_delta_corruption(bytes, "zstd body: raw_body_bytes " + std::to_string(body) +
                                            " is more than 32768 times stored_body_bytes 30");
    }
}

TEST_CASE("v2: zstd bombs and damaged frames in deltas are refused", "[graph-file-v2]") {
    // A delta whose raw body is 18 n zero bytes, and hand-made frames of it.
    const uint64_t n = 20000;  // 360000 raw bytes
    const TestDelta d = zero_delta(n);
    const auto plain = encode_delta_graph(d.header, d.delta);
    REQUIRE(load_le<uint32_t>(plain.data() + kOffBodyEncoding) == 1);
    REQUIRE(load_le<uint64_t>(plain.data() + kOffRawBodyBytes) == 18 * n);
    round_trip_delta(d);
    const uint64_t raw_bytes = 18 * n;
    const uint64_t raw_checksum = checksum64(std::vector<uint8_t>(raw_bytes));

    // The frame made by hand decodes: an RLE expansion the format allows.
    const auto rle = rle_frame(raw_bytes, 0);
    REQUIRE(rle.size() == 6 + 3 * 4);
    const auto good = with_zstd_body(plain, rle, raw_bytes, raw_checksum);
    const DecodedDelta dd = decode_delta_graph(good, kFile);
    CHECK(dd.delta.new_nodes.size() == n);

    // Frames that give more than raw_body_bytes: a bomb is cut off at raw_body_bytes + 1.
    require_delta_corruption(with_zstd_body(plain, rle_frame(raw_bytes + 1, 0), raw_bytes, raw_checksum),
                             "zstd body decompresses to more than raw_body_bytes = 360000 bytes");
    require_delta_corruption(
        with_zstd_body(plain, rle_frame(uint64_t(4) << 30, 0), raw_bytes, raw_checksum),
        "decompresses to more than raw_body_bytes");  // 4 GiB from 128 KiB of frame
    // Fewer bytes than claimed.
    require_delta_corruption(with_zstd_body(plain, rle_frame(raw_bytes - 18, 0), raw_bytes, raw_checksum),
                             "zstd body decompresses to 359982 bytes; raw_body_bytes is 360000");
    // A window over 8 MiB (the descriptor 0x70 is 2^24).
    require_delta_corruption(with_zstd_body(plain, rle_frame(raw_bytes, 0, 0x70), raw_bytes, raw_checksum),
                             "zstd body fails to decompress");
    // Two frames, or bytes after the frame.
    {
        auto two = rle_frame(raw_bytes / 2, 0);
        const auto second = rle_frame(raw_bytes / 2, 0);
        two.insert(two.end(), second.begin(), second.end());
        require_delta_corruption(with_zstd_body(plain, two, raw_bytes, raw_checksum),
                                 "bytes after its zstd frame");
        auto tail = rle;
        tail.insert(tail.end(), {1, 2, 3});
        require_delta_corruption(with_zstd_body(plain, tail, raw_bytes, raw_checksum),
                                 "3 bytes after its zstd frame");
    }
    // A frame cut short.
    {
        auto cut = rle;
        cut.resize(cut.size() - 4);  // the last block missing
        require_delta_corruption(with_zstd_body(plain, cut, raw_bytes, raw_checksum),
                                 "ends in the middle of its zstd frame");
    }
    // Not a frame at all, and an empty zstd body.
    require_delta_corruption(with_zstd_body(plain, std::vector<uint8_t>(64, 0xAB), raw_bytes, raw_checksum),
                             "zstd body fails to decompress");
    {
        const TestDelta none = zero_delta(0);
        const auto empty = encode_delta_graph(none.header, none.delta);
        REQUIRE(empty.size() == 384);
        require_delta_corruption(with_zstd_body(empty, {}, 0, kEmptyChecksum), "zstd body is empty");
    }
    // The output is checked by the raw checksum, then by the rules.
    require_delta_corruption(with_zstd_body(plain, rle, raw_bytes, raw_checksum ^ 1),
                             "raw body checksum mismatch");
    require_delta_corruption(
        with_zstd_body(plain, rle_frame(raw_bytes, 0x41), raw_bytes,
                       checksum64(std::vector<uint8_t>(raw_bytes, 0x41))),
        "new node 1 has level 65");
    // A stored body changed after the checksum was made is caught before zstd sees it.
    {
        auto bytes = good;
        bytes[header_bytes_of(bytes) + 5] = 0x70;  // the window descriptor
        require_delta_corruption(bytes, "stored body checksum mismatch");
    }
    // A raw frame of exactly the body decodes too.
    {
        const TestDelta e = example_delta(encode(example_graph()));
        const auto raw_file = encode_delta_graph(e.header, e.delta);
        const std::vector<uint8_t> body(raw_file.begin() + 384, raw_file.end());
        const auto as_zstd = with_zstd_body(raw_file, raw_frame(body), body.size(), checksum64(body));
        require_same_delta(e.delta, decode_delta_graph(as_zstd, kFile).delta);
        // raw_body_bytes above 32768 x stored_body_bytes is refused before decompressing.
        const TestDelta z = zero_delta(32768 * 12);  // 18 x 32768 x 12 > 32768 x (18 x 12 - 1)
        auto bomb = with_zstd_body(encode_delta_graph(z.header, z.delta),
                                   std::vector<uint8_t>(18 * 12 - 1, 0), 18 * 32768 * 12, 0);
        require_delta_corruption(bomb, "is more than 32768 times stored_body_bytes 215");
    }
}

// ---- damage anywhere ------------------------------------------------------------------------

TEST_CASE("v2: truncation at every length is detected", "[graph-file-v2]") {
    const TestGraph base = example_graph();
    const auto full = encode(base);
    const auto big_full = encode(random_graph(60, 4, 7));
    for (const auto* f : {&full, &big_full}) {
        for (size_t len = 0; len < f->size(); ++len) {
            INFO("full, length " << len << " of " << f->size());
            const std::vector<uint8_t> cut(f->begin(), f->begin() + int64_t(len));
            const auto failure = parse_failure(cut);
            REQUIRE(failure);
            REQUIRE(failure->code == ErrorCode::kCorruption);
            REQUIRE_THAT(failure->message, Catch::StartsWith("graph file '" + kFile + "'"));
            if (len >= 8)
                CHECK_THAT(failure->message, Catch::Contains("truncated"));
        }
    }
    const TestDelta d = example_delta(full);
    const auto raw_delta = encode_delta_graph(d.header, d.delta);
    const TestGraph target = mutate(base, 5, 30);
    const TestDelta z = make_delta(base, full, target, "d@c1.hnsw");
    const auto zstd_delta = encode_delta_graph(z.header, z.delta);
    REQUIRE(load_le<uint32_t>(zstd_delta.data() + kOffBodyEncoding) == 1);
    for (const auto* f : {&raw_delta, &zstd_delta}) {
        for (size_t len = 0; len < f->size(); ++len) {
            INFO("delta, length " << len << " of " << f->size());
            const std::vector<uint8_t> cut(f->begin(), f->begin() + int64_t(len));
            const auto failure = delta_failure(cut);
            REQUIRE(failure);
            REQUIRE(failure->code == ErrorCode::kCorruption);
            if (len >= 8)
                CHECK_THAT(failure->message, Catch::Contains("truncated"));
        }
    }
}

TEST_CASE("v2: a flipped bit in any byte is detected", "[graph-file-v2]") {
    auto expected_code = [](size_t off) {
        return off >= kOffVersion && off < kOffVersion + 4 ? ErrorCode::kInvalidArgument
                                                           : ErrorCode::kCorruption;
    };
    SECTION("full files: parse_full_graph for the header, verify_full_graph for the sections") {
        for (const auto& pristine : {encode(example_graph()), encode(random_graph(40, 3, 9))}) {
            const uint32_t hb = header_bytes_of(pristine);
            for (size_t off = 0; off < pristine.size(); ++off) {
                for (int bit = 0; bit < 8; ++bit) {
                    auto bytes = pristine;
                    bytes[off] ^= uint8_t(1u << bit);
                    INFO("offset " << off << " bit " << bit);
                    const auto parsed = parse_failure(bytes);
                    REQUIRE(bool(parsed) == (off < hb));  // only the header is read
                    const auto f = full_failure(bytes);
                    REQUIRE(f);
                    REQUIRE(f->code == expected_code(off));
                    REQUIRE_THAT(f->message, Catch::StartsWith("graph file '" + kFile + "'"));
                }
            }
        }
    }
    SECTION("delta files") {
        const auto base = encode(example_graph());
        const TestDelta d = example_delta(base);
        const TestDelta z = make_delta(example_graph(), base, mutate(example_graph(), 5, 30), "b");
        for (const auto& pristine :
             {encode_delta_graph(d.header, d.delta), encode_delta_graph(z.header, z.delta)}) {
            for (size_t off = 0; off < pristine.size(); ++off) {
                for (int bit = 0; bit < 8; ++bit) {
                    auto bytes = pristine;
                    bytes[off] ^= uint8_t(1u << bit);
                    INFO("offset " << off << " bit " << bit);
                    const auto f = delta_failure(bytes);
                    REQUIRE(f);
                    REQUIRE(f->code == expected_code(off));
                    REQUIRE_THAT(f->message, Catch::StartsWith("graph file '" + kFile + "'"));
                }
            }
        }
    }
}

TEST_CASE("v2: damage with valid checksums never gets past the readers unnoticed",
          "[graph-file-v2][concurrency]") {
    // Section bytes changed, then every checksum fixed: verify_full_graph either refuses the
    // file or accepts one that is exactly what the encoder writes for what it holds.
    std::mt19937_64 rng(42);
    const std::vector<std::vector<uint8_t>> fulls = {encode(example_graph()),
                                                     encode(random_graph(50, 3, 5))};
    int refused = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = fulls[size_t(round) % fulls.size()];
        const uint32_t hb = header_bytes_of(bytes);
        for (int c = 1 + int(rng() % 3); c > 0; --c) {
            const size_t off = hb + rng() % (bytes.size() - hb);
            bytes[off] = uint8_t(rng() % 3 == 0 ? rng() : bytes[off] ^ (1u << (rng() % 8)));
        }
        refix_full(bytes);
        INFO("full round " << round);
        const auto f = full_failure(bytes);
        if (f) {
            REQUIRE(f->code == ErrorCode::kCorruption);
            ++refused;
        } else {
            REQUIRE(encode(read_full(bytes)) == bytes);
        }
    }
    CHECK(refused > 1500);

    // Raw delta bodies changed, checksums fixed: refused, or a delta that encodes and decodes
    // to itself.
    const TestDelta d = rule_delta();
    const auto delta = spec_delta_file(d.header, d.delta);
    refused = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = delta;
        const uint32_t hb = header_bytes_of(bytes);
        for (int c = 1 + int(rng() % 2); c > 0; --c) {
            const size_t off = hb + rng() % (bytes.size() - hb);
            bytes[off] = uint8_t(rng() % 3 == 0 ? rng() : bytes[off] ^ (1u << (rng() % 8)));
        }
        refix_delta(bytes);
        INFO("delta round " << round);
        try {
            const DecodedDelta back = decode_delta_graph(bytes, kFile);
            const auto again = encode_delta_graph(back.header, back.delta);
            require_same_delta(back.delta, decode_delta_graph(again, kFile).delta);
        } catch (const Error& e) {
            REQUIRE(e.code() == ErrorCode::kCorruption);
            ++refused;
        }
    }
    CHECK(refused > 1000);
}
