#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file.h"

using namespace vstore;
using namespace vstore::format;

namespace {

// Field offsets of the header (spec/graph-file.md), repeated here so the tests check the spec.
constexpr size_t kOffVersion = 8;
constexpr size_t kOffHeaderBytes = 12;
constexpr size_t kOffFlags = 16;
constexpr size_t kOffNodeCount = 64;
constexpr size_t kOffLinkCount = 72;
constexpr size_t kOffBodyEncoding = 80;
constexpr size_t kOffReserved = 84;
constexpr size_t kOffRawBodyBytes = 88;
constexpr size_t kOffStoredBodyBytes = 96;
constexpr size_t kOffRawBodyChecksum = 104;
constexpr size_t kOffStoredBodyChecksum = 112;

const std::string kFile = "store/t%2Fd@c1.hnsw";

uint32_t header_bytes_of(const std::vector<uint8_t>& f) {
    return load_le<uint32_t>(f.data() + kOffHeaderBytes);
}
uint32_t encoding_of(const std::vector<uint8_t>& f) {
    return load_le<uint32_t>(f.data() + kOffBodyEncoding);
}

// Recomputes the body checksums (the raw one for raw bodies only) and the header checksum
// after surgery.
void refix(std::vector<uint8_t>& f) {
    const uint32_t hb = header_bytes_of(f);
    const uint64_t stored = checksum64({f.data() + hb, f.size() - hb});
    store_le<uint64_t>(f.data() + kOffStoredBodyChecksum, stored);
    if (encoding_of(f) == 0)
        store_le<uint64_t>(f.data() + kOffRawBodyChecksum, stored);
    store_le<uint64_t>(f.data() + hb - 8, checksum64({f.data(), hb - 8u}));
}

struct Failure {
    ErrorCode code;
    std::string message;
};

std::optional<Failure> decode_failure(std::span<const uint8_t> bytes) {
    try {
        decode_graph_file(bytes, kFile);
    } catch (const Error& e) {
        return Failure{e.code(), e.message()};
    }
    return std::nullopt;
}

void require_corruption(const std::vector<uint8_t>& bytes, const std::string& fragment) {
    const auto f = decode_failure(bytes);
    REQUIRE(f);
    INFO(f->message);
    CHECK(f->code == ErrorCode::kCorruption);
    CHECK_THAT(f->message, Catch::Contains(fragment));
    CHECK_THAT(f->message, Catch::Contains("graph file '" + kFile + "'"));
    CHECK(f->message.find('\n') == std::string::npos);
}

// Encodes a graph that breaks a structural rule and checks that decoding names the fault.
void require_refused(const GraphFileData& g, const std::string& fragment) {
    require_corruption(encode_graph_file(g), fragment);
}

void require_same(const GraphFileData& a, const GraphFileData& b) {
    CHECK(a.domain == b.domain);
    CHECK(a.commit == b.commit);
    CHECK(a.parent == b.parent);
    CHECK(a.metric == b.metric);
    CHECK(a.dimension == b.dimension);
    CHECK(a.m == b.m);
    CHECK(a.ef_construction == b.ef_construction);
    CHECK(a.vector_count == b.vector_count);
    CHECK(a.created_unix_ms == b.created_unix_ms);
    CHECK(a.entry_point == b.entry_point);
    CHECK(a.max_level == b.max_level);
    REQUIRE(a.nodes.size() == b.nodes.size());
    for (size_t i = 0; i < a.nodes.size(); ++i) {
        INFO("node " << i);
        REQUIRE(a.nodes[i].vector_index == b.nodes[i].vector_index);
        REQUIRE(a.nodes[i].key == b.nodes[i].key);
        REQUIRE(a.nodes[i].level == b.nodes[i].level);
        REQUIRE(a.nodes[i].tombstone == b.nodes[i].tombstone);
        REQUIRE(a.nodes[i].links == b.nodes[i].links);
    }
}

GraphFileData round_trip(const GraphFileData& g) {
    const auto bytes = encode_graph_file(g);
    const GraphFileData back = decode_graph_file(bytes, kFile);
    require_same(g, back);
    // Encoding is deterministic, so the decoded graph encodes to the same bytes.
    CHECK(encode_graph_file(back) == bytes);
    return back;
}

// Four nodes, M = 2 (layer 0 holds at most 4 links, layer 1 at most 2). Nodes 0 and 3 live in
// layers 0 and 1; node 0 is the entry point.
GraphFileData small_graph() {
    GraphFileData g;
    g.domain = "t/d";
    g.commit = "c1";
    g.metric = Metric::kL2;
    g.dimension = 4;
    g.m = 2;
    g.ef_construction = 10;
    g.vector_count = 10;
    g.created_unix_ms = 1700000000000;
    g.entry_point = 0;
    g.max_level = 1;
    g.nodes.resize(4);
    g.nodes[0] = {0, 0x9E3779B97F4A7C15, 1, false, {{1, 2, 3}, {3}}};
    g.nodes[1] = {1, 0xD1B54A32D192ED03, 0, true, {{0, 2}}};
    g.nodes[2] = {2, 0x8CB92BA72F3D8DD7, 0, false, {{1}}};
    g.nodes[3] = {7, 0xABCDEF0123456789, 1, false, {{0}, {0}}};
    return g;
}

// Two nodes whose vector indices and keys are random 64-bit values: zstd cannot shrink this
// body by 1/8 (63 of 62 bytes at level 3, 55 at level 19), so it is stored raw.
GraphFileData raw_graph() {
    GraphFileData g;
    g.domain = "t/d";
    g.commit = "c1";
    g.parent = "c0";
    g.metric = Metric::kIp;
    g.dimension = 3;
    g.m = 2;
    g.vector_count = ~uint64_t(0);
    g.entry_point = 1;
    g.max_level = 1;
    g.nodes.push_back({0x5851F42D4C957F2D, 0x9E3779B97F4A7C15, 0, true, {{1}}});
    g.nodes.push_back({0x14057B7EF767814F, 0xD1B54A32D192ED03, 1, false, {{0}, {}}});
    return g;
}

// A valid random HNSW-shaped graph: levels drawn like hnswlib's (geometric, mult = 1/ln M),
// each layer of each node linked to up to its cap of distinct random nodes living in that layer.
GraphFileData random_graph(size_t n, uint32_t m, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    GraphFileData g;
    g.domain = "test/random";
    g.commit = "c7";
    g.parent = "c6";
    g.metric = Metric::kIp;
    g.dimension = 128;
    g.m = m;
    g.ef_construction = 100;
    g.vector_count = n + 100;
    g.created_unix_ms = 1712345678901;
    const double mult = 1.0 / std::log(double(m));
    std::vector<uint32_t> levels(n);
    std::vector<std::vector<uint32_t>> in_layer(1);
    for (size_t i = 0; i < n; ++i) {
        const double r = -std::log(1.0 - unit(rng)) * mult;
        levels[i] = static_cast<uint32_t>(std::min(64.0, std::floor(r)));
        if (in_layer.size() <= levels[i])
            in_layer.resize(levels[i] + 1);
        for (uint32_t l = 0; l <= levels[i]; ++l)
            in_layer[l].push_back(static_cast<uint32_t>(i));
    }
    g.nodes.resize(n);
    g.max_level = -1;
    for (size_t i = 0; i < n; ++i) {
        GraphNode& node = g.nodes[i];
        node.vector_index = rng() % g.vector_count;
        node.key = rng();
        node.level = levels[i];
        node.tombstone = rng() % 10 == 0;
        node.links.resize(node.level + 1);
        for (uint32_t l = 0; l <= node.level; ++l) {
            const auto& pool = in_layer[l];
            const size_t cap = l == 0 ? 2 * m : m;
            const size_t want = std::min<size_t>(rng() % (cap + 1), pool.size() - 1);
            std::set<uint32_t> chosen;
            while (chosen.size() < want) {
                const uint32_t to = pool[rng() % pool.size()];
                if (to != i)
                    chosen.insert(to);
            }
            node.links[l].assign(chosen.begin(), chosen.end());
            std::shuffle(node.links[l].begin(), node.links[l].end(), rng);
        }
        if (int32_t(node.level) > g.max_level) {
            g.max_level = int32_t(node.level);
            g.entry_point = int64_t(i);
        }
    }
    return g;
}

// n nodes in layer 0, node i linked to the next 2*M nodes around the ring: very regular, so
// zstd compresses it well.
GraphFileData ring_graph(size_t n, uint32_t m) {
    GraphFileData g;
    g.domain = "test/ring";
    g.commit = "main";
    g.metric = Metric::kCosine;
    g.dimension = 32;
    g.m = m;
    g.vector_count = n;
    g.entry_point = 0;
    g.max_level = 0;
    g.nodes.resize(n);
    for (size_t i = 0; i < n; ++i) {
        GraphNode& node = g.nodes[i];
        node.vector_index = i;
        node.key = 1000 + i;
        node.links.resize(1);
        for (uint32_t k = 1; k <= 2 * m; ++k)
            node.links[0].push_back(static_cast<uint32_t>((i + k) % n));
    }
    return g;
}

}  // namespace

TEST_CASE("metric names", "[graph-file]") {
    CHECK(metric_name(Metric::kL2) == "l2");
    CHECK(metric_name(Metric::kCosine) == "cosine");
    CHECK(metric_name(Metric::kIp) == "ip");
    CHECK(metric_from_name("l2") == Metric::kL2);
    CHECK(metric_from_name("cosine") == Metric::kCosine);
    CHECK(metric_from_name("ip") == Metric::kIp);
    CHECK_FALSE(metric_from_name("L2"));
    CHECK_FALSE(metric_from_name(""));
    CHECK_FALSE(metric_from_name("euclidean"));
}

TEST_CASE("graph file names", "[graph-file]") {
    CHECK(graph_file_name("admin/star_wars", "c1") == "admin%2Fstar_wars@c1.hnsw");
    CHECK(graph_file_name("d", "a@b") == "d@a%40b.hnsw");
    CHECK(graph_file_name(".x", "..") == "%2Ex@%2E..hnsw");
    CHECK(graph_file_name("caf\xC3\xA9", "v 1") == "caf%C3%A9@v%201.hnsw");
    // 200 + 1 + 49 + 5 = 255 bytes is the longest file name allowed.
    CHECK(graph_file_name(std::string(200, 'a'), std::string(49, 'b')).size() == 255);

    auto rejects = [](const std::string& domain, const std::string& commit,
                      const std::vector<std::string>& fragments) {
        try {
            graph_file_name(domain, commit);
            FAIL("accepted '" << domain << "', '" << commit << "'");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::kInvalidArgument);
            for (const auto& f : fragments)
                CHECK_THAT(e.what(), Catch::Contains(f));
        }
    };
    rejects("", "c1", {"domain", "empty"});
    rejects("d", "", {"commit", "empty"});
    rejects("d", "bad\xFF", {"commit", "not valid UTF-8"});
    rejects("bad\xFF", "c1", {"domain", "not valid UTF-8"});
    rejects("d", std::string("a\0b", 3), {"commit", "NUL"});
    rejects("d", std::string(256, 'c'), {"commit", "256 bytes"});
    rejects(std::string(200, 'a'), std::string(50, 'b'),
            {"domain '" + std::string(200, 'a') + "'", "commit '" + std::string(50, 'b') + "'",
             "256-byte", "255"});
    // 85 three-byte characters are 255 bytes as a name but 765 encoded.
    std::string wide;
    for (int i = 0; i < 85; ++i)
        wide += "\xE2\x82\xAC";
    rejects("d", wide, {"file name"});
}

TEST_CASE("graph_file_checksum is XXH3-64 of the whole file", "[graph-file]") {
    auto bytes = encode_graph_file(small_graph());
    CHECK(graph_file_checksum(bytes) == checksum64(bytes));
    const uint64_t before = graph_file_checksum(bytes);
    bytes.back() ^= 1;
    CHECK(graph_file_checksum(bytes) != before);
    CHECK(graph_file_checksum({}) == 0x2D06800538D394C2ULL);
}

TEST_CASE("an empty graph round-trips", "[graph-file]") {
    GraphFileData g;
    g.domain = "empty/domain";
    g.commit = "c0";
    g.metric = Metric::kCosine;
    g.dimension = 1536;
    const auto bytes = encode_graph_file(g);
    // Header only: 120 fixed bytes, 3 + 12 + 2 name bytes (137), padding to 144, checksum.
    CHECK(bytes.size() == 152);
    CHECK(header_bytes_of(bytes) == 152);
    CHECK(encoding_of(bytes) == 0);
    CHECK(load_le<uint64_t>(bytes.data() + kOffRawBodyBytes) == 0);
    CHECK(load_le<uint64_t>(bytes.data() + kOffStoredBodyBytes) == 0);
    const auto back = round_trip(g);
    CHECK(back.entry_point == -1);
    CHECK(back.max_level == -1);
    CHECK_FALSE(back.parent);
}

TEST_CASE("a one-node graph round-trips", "[graph-file]") {
    GraphFileData g;
    g.domain = "one";
    g.commit = "c1";
    g.parent = "c0";
    g.dimension = 3;
    g.vector_count = 1;
    g.entry_point = 0;
    g.max_level = 0;
    g.nodes.push_back({0, 0xFEDCBA9876543210, 0, false, {{}}});
    round_trip(g);
    // A tombstoned single node at level 3, without links, is valid too.
    g.nodes[0] = {0, 5, 3, true, {{}, {}, {}, {}}};
    g.max_level = 3;
    round_trip(g);
}

TEST_CASE("names of every length and an empty parent round-trip", "[graph-file]") {
    GraphFileData g = small_graph();
    for (size_t len : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(100), size_t(255)}) {
        INFO("length " << len);
        g.domain = std::string(len, 'd');
        g.commit = std::string(len, 'c');
        g.parent = std::string(len, 'p');
        const auto bytes = encode_graph_file(g);
        CHECK(header_bytes_of(bytes) % 8 == 0);
        CHECK(header_bytes_of(bytes) == (120 + 3 + 3 * len + 7) / 8 * 8 + 8);
        round_trip(g);
    }
    CHECK(header_bytes_of(encode_graph_file(g)) == 896);  // the largest header
    g.parent.reset();
    round_trip(g);
    g.parent = "";  // present but empty is not the same as absent
    CHECK(round_trip(g).parent == std::optional<std::string>(""));
}

TEST_CASE("names longer than 255 bytes cannot be encoded", "[graph-file]") {
    for (int which = 0; which < 3; ++which) {
        GraphFileData g = small_graph();
        const std::string big(256, 'x');
        if (which == 0)
            g.domain = big;
        if (which == 1)
            g.commit = big;
        if (which == 2)
            g.parent = big;
        try {
            encode_graph_file(g);
            FAIL("encoded a 256-byte name");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::kInvalidArgument);
            CHECK_THAT(e.what(), Catch::Contains("256 bytes"));
        }
    }
}

TEST_CASE("a node whose link lists do not match its level cannot be encoded", "[graph-file]") {
    GraphFileData g = small_graph();
    g.nodes[2].links.push_back({});
    try {
        encode_graph_file(g);
        FAIL("encoded a node with level 0 and two link lists");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kInvalidArgument);
        CHECK_THAT(e.what(), Catch::Contains("node 2"));
    }
}

TEST_CASE("a body zstd cannot shrink by 1/8 is stored raw", "[graph-file]") {
    const GraphFileData g = raw_graph();
    const auto bytes = encode_graph_file(g);
    CHECK(bytes[kOffBodyEncoding] == 0);
    const uint64_t raw = load_le<uint64_t>(bytes.data() + kOffRawBodyBytes);
    // 21 bytes per node, 4 per layer of each node (3 layers), 4 per link (2 links).
    CHECK(raw == 21 * 2 + 4 * 3 + 4 * 2);
    CHECK(load_le<uint64_t>(bytes.data() + kOffStoredBodyBytes) == raw);
    CHECK(load_le<uint64_t>(bytes.data() + kOffNodeCount) == 2);
    CHECK(load_le<uint64_t>(bytes.data() + kOffLinkCount) == 2);
    CHECK(bytes.size() == header_bytes_of(bytes) + raw);
    round_trip(g);
}

TEST_CASE("small graphs of small numbers are compressed", "[graph-file]") {
    const GraphFileData g = small_graph();
    const auto bytes = encode_graph_file(g);
    const uint64_t raw = load_le<uint64_t>(bytes.data() + kOffRawBodyBytes);
    CHECK(raw == 21 * 4 + 4 * 6 + 4 * 9);  // 4 nodes, 6 layers, 9 links
    CHECK(load_le<uint64_t>(bytes.data() + kOffNodeCount) == 4);
    CHECK(load_le<uint64_t>(bytes.data() + kOffLinkCount) == 9);
    if (encoding_of(bytes) == 1)
        CHECK(8 * load_le<uint64_t>(bytes.data() + kOffStoredBodyBytes) <= 7 * raw);
    round_trip(g);
}

TEST_CASE("a large regular graph is stored zstd-compressed", "[graph-file]") {
    const GraphFileData g = ring_graph(5000, 8);
    const auto bytes = encode_graph_file(g);
    CHECK(bytes[kOffBodyEncoding] == 1);
    const uint64_t raw = load_le<uint64_t>(bytes.data() + kOffRawBodyBytes);
    const uint64_t stored = load_le<uint64_t>(bytes.data() + kOffStoredBodyBytes);
    CHECK(raw == 21 * 5000 + 4 * 5000 + 4 * 5000 * 16);
    CHECK(8 * stored <= 7 * raw);  // saves at least 1/8
    CHECK(bytes.size() == header_bytes_of(bytes) + stored);
    // The zstd frame magic 28 B5 2F FD starts the body.
    const uint32_t hb = header_bytes_of(bytes);
    CHECK(load_le<uint32_t>(bytes.data() + hb) == 0xFD2FB528u);
    round_trip(g);
    // A raw body larger than the 8 MiB window limit of readers still decodes: the writer's
    // frames use a 2 MiB window.
    const GraphFileData big = ring_graph(100000, 8);
    const auto big_bytes = encode_graph_file(big);
    CHECK(encoding_of(big_bytes) == 1);
    CHECK(load_le<uint64_t>(big_bytes.data() + kOffRawBodyBytes) > (uint64_t(8) << 20));
    round_trip(big);
}

TEST_CASE("random multi-level graphs round-trip", "[graph-file]") {
    for (uint64_t seed : {1, 2, 3}) {
        INFO("seed " << seed);
        const GraphFileData g = random_graph(2000, 16, seed);
        REQUIRE(g.max_level >= 2);
        const auto bytes = encode_graph_file(g);
        const uint64_t raw = load_le<uint64_t>(bytes.data() + kOffRawBodyBytes);
        const uint64_t stored = load_le<uint64_t>(bytes.data() + kOffStoredBodyBytes);
        if (encoding_of(bytes) == 1) {
            CHECK(8 * stored <= 7 * raw);
        } else {
            CHECK(encoding_of(bytes) == 0);
            CHECK(stored == raw);
        }
        round_trip(g);
    }
    // Small M gives tall graphs; few nodes with random keys stay raw.
    const GraphFileData tall = random_graph(12, 2, 9);
    REQUIRE(tall.max_level >= 1);
    round_trip(tall);
    const GraphFileData big_tall = random_graph(3000, 2, 10);
    REQUIRE(big_tall.max_level >= 5);
    round_trip(big_tall);
}

TEST_CASE("the example files of the spec are byte-exact", "[graph-file]") {
    // spec/graph-file.md, "Example L1": one node, stored raw.
    GraphFileData one;
    one.domain = "admin/star_wars";
    one.commit = "c2";
    one.parent = "c1";
    one.metric = Metric::kCosine;
    one.dimension = 3;
    one.m = 16;
    one.ef_construction = 200;
    one.vector_count = 1;
    one.created_unix_ms = 1700000000000;
    one.entry_point = 0;
    one.max_level = 0;
    one.nodes.push_back({0, 0x0123456789ABCDEF, 0, false, {{}}});
    const std::vector<uint8_t> expected = {
        0x56, 0x53, 0x54, 0x4f, 0x52, 0x45, 0x47, 0x46, 0x01, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0x00,
        0x00, 0x00, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x19, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b,
        0x0a, 0xae, 0x39, 0xfd, 0x1b, 0xf5, 0x87, 0x2b, 0x0a, 0xae, 0x39, 0xfd, 0x1b, 0xf5, 0x87,
        0x0f, 0x61, 0x64, 0x6d, 0x69, 0x6e, 0x2f, 0x73, 0x74, 0x61, 0x72, 0x5f, 0x77, 0x61, 0x72,
        0x73, 0x02, 0x63, 0x32, 0x02, 0x63, 0x31, 0x00, 0x00, 0x87, 0x18, 0x8e, 0x60, 0x48, 0xb3,
        0xdc, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xef, 0xcd, 0xab, 0x89, 0x67,
        0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    const auto bytes = encode_graph_file(one);
    CHECK(bytes == expected);
    CHECK(load_le<uint64_t>(bytes.data() + kOffRawBodyChecksum) == 0x87F51BFD39AE0A2BULL);
    CHECK(load_le<uint64_t>(bytes.data() + kOffStoredBodyChecksum) == 0x87F51BFD39AE0A2BULL);
    CHECK(load_le<uint64_t>(bytes.data() + 144) == 0xB4DCB348608E1887ULL);
    CHECK(graph_file_checksum(bytes) == 0x2F14AF03CCE97E50ULL);
    require_same(decode_graph_file(expected, kFile), one);

    // "Example L2": the raw body of a four-node, two-layer graph (stored compressed, so only
    // the raw body, its length and its checksum are fixed).
    GraphFileData g;
    g.domain = "admin/star_wars";
    g.commit = "c3";
    g.parent = "c2";
    g.metric = Metric::kL2;
    g.dimension = 3;
    g.m = 2;
    g.ef_construction = 10;
    g.vector_count = 6;
    g.created_unix_ms = 1700000000000;
    g.entry_point = 0;
    g.max_level = 1;
    g.nodes.push_back({0, 0x1122334455667788, 1, false, {{1, 2}, {3}}});
    g.nodes.push_back({1, 0x99AABBCCDDEEFF00, 0, true, {{0, 2}}});
    g.nodes.push_back({2, 0x0123456789ABCDEF, 0, false, {{0}}});
    g.nodes.push_back({5, 42, 1, false, {{0}, {0}}});
    const std::vector<uint8_t> raw_body = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xff,
        0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
        0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    };
    REQUIRE(raw_body.size() == 140);
    CHECK(checksum64(raw_body) == 0x61EB8CB075AD2A71ULL);
    const auto file = encode_graph_file(g);
    CHECK(header_bytes_of(file) == 152);
    CHECK(load_le<uint64_t>(file.data() + kOffRawBodyBytes) == 140);
    CHECK(load_le<uint64_t>(file.data() + kOffNodeCount) == 4);
    CHECK(load_le<uint64_t>(file.data() + kOffLinkCount) == 8);
    CHECK(load_le<uint64_t>(file.data() + kOffRawBodyChecksum) == 0x61EB8CB075AD2A71ULL);
    round_trip(g);
}

TEST_CASE("every flipped header byte is detected", "[graph-file]") {
    const auto pristine = encode_graph_file(raw_graph());
    const uint32_t hb = header_bytes_of(pristine);
    for (size_t off = 0; off < hb; ++off) {
        for (uint8_t mask : {uint8_t(0xFF), uint8_t(0x01), uint8_t(0x80)}) {
            auto bytes = pristine;
            bytes[off] ^= mask;
            INFO("offset " << off << " mask " << int(mask));
            const auto f = decode_failure(bytes);
            REQUIRE(f);
            const ErrorCode want = off >= kOffVersion && off < kOffVersion + 4
                                       ? ErrorCode::kInvalidArgument
                                       : ErrorCode::kCorruption;
            REQUIRE(f->code == want);
            if (off < 8)
                CHECK_THAT(f->message, Catch::Contains("not a graph file"));
        }
    }
}

TEST_CASE("every flipped body byte is detected", "[graph-file]") {
    SECTION("raw body") {
        const auto pristine = encode_graph_file(raw_graph());
        REQUIRE(encoding_of(pristine) == 0);
        for (size_t off = header_bytes_of(pristine); off < pristine.size(); ++off) {
            auto bytes = pristine;
            bytes[off] ^= 0x01;
            INFO("offset " << off);
            require_corruption(bytes, "body checksum mismatch");
        }
    }
    SECTION("zstd body") {
        const auto pristine = encode_graph_file(ring_graph(3000, 4));
        REQUIRE(encoding_of(pristine) == 1);
        for (size_t off = header_bytes_of(pristine); off < pristine.size(); ++off) {
            auto bytes = pristine;
            bytes[off] ^= 0x10;
            INFO("offset " << off);
            const auto f = decode_failure(bytes);
            REQUIRE(f);
            REQUIRE(f->code == ErrorCode::kCorruption);
            REQUIRE_THAT(f->message, Catch::Contains("stored body checksum mismatch"));
        }
    }
}

TEST_CASE("truncation at every length is detected", "[graph-file]") {
    for (const auto& pristine : {encode_graph_file(raw_graph()), encode_graph_file(small_graph()),
                                 encode_graph_file(ring_graph(400, 4))}) {
        for (size_t len = 0; len < pristine.size(); ++len) {
            INFO("length " << len << " of " << pristine.size());
            const std::vector<uint8_t> cut(pristine.begin(), pristine.begin() + len);
            const auto f = decode_failure(cut);
            REQUIRE(f);
            REQUIRE(f->code == ErrorCode::kCorruption);
            if (len >= header_bytes_of(pristine))
                CHECK_THAT(f->message, Catch::Contains("truncated"));
        }
    }
}

TEST_CASE("trailing bytes are refused", "[graph-file]") {
    auto bytes = encode_graph_file(raw_graph());
    bytes.push_back(0);
    require_corruption(bytes, "1 trailing bytes");
    GraphFileData no_nodes;
    no_nodes.dimension = 8;
    auto empty = encode_graph_file(no_nodes);
    empty.insert(empty.end(), 16, 0);
    require_corruption(empty, "16 trailing bytes");
}

TEST_CASE("bad magic and unknown versions", "[graph-file]") {
    require_corruption({}, "not a graph file");
    require_corruption({'V', 'S', 'T', 'O', 'R', 'E', 'G'}, "not a graph file");
    require_corruption({'V', 'S', 'T', 'O', 'R', 'E', 'V', 'F', 1, 0, 0, 0}, "not a graph file");
    auto bytes = encode_graph_file(small_graph());
    store_le<uint32_t>(bytes.data() + kOffVersion, 2);
    const auto f = decode_failure(bytes);
    REQUIRE(f);
    CHECK(f->code == ErrorCode::kInvalidArgument);
    CHECK_THAT(f->message, Catch::Contains("format version 2"));
    CHECK_THAT(f->message, Catch::Contains(kFile));
    // The version is checked even if the rest of the file is too short to be a header.
    const std::vector<uint8_t> stub = {'V', 'S', 'T', 'O', 'R', 'E', 'G', 'F', 9, 0, 0, 0};
    CHECK(decode_failure(stub)->code == ErrorCode::kInvalidArgument);
}

TEST_CASE("graph structure rules are enforced", "[graph-file]") {
    REQUIRE_NOTHROW(decode_graph_file(encode_graph_file(small_graph()), kFile));

    SECTION("node level above 64") {
        GraphFileData g = small_graph();
        g.nodes[2].level = 65;
        g.nodes[2].links.resize(66);
        require_refused(g, "node 2 has level 65; the limit is 64");
        // Level 64 itself is allowed.
        g.nodes[2].level = 64;
        g.nodes[2].links.resize(65);
        g.max_level = 64;
        g.entry_point = 2;
        round_trip(g);
    }
    SECTION("layer-0 degree above 2*M") {
        GraphFileData g = small_graph();
        g.nodes[1].links[0] = {0, 2, 3, 0, 2};
        require_refused(g, "node 1 has 5 links in layer 0; the limit is 4");
        g.nodes[1].links[0] = {0, 2, 3, 0};  // 2*M exactly is fine
        round_trip(g);
    }
    SECTION("upper-layer degree above M") {
        GraphFileData g = small_graph();
        g.nodes[0].links[1] = {3, 3, 3};
        require_refused(g, "node 0 has 3 links in layer 1; the limit is 2");
    }
    SECTION("link to a node that does not exist") {
        GraphFileData g = small_graph();
        g.nodes[2].links[0] = {1, 4};
        require_refused(g, "node 2 links in layer 0 to node 4, which does not exist");
        g.nodes[2].links[0] = {0xFFFFFFFF};
        require_refused(g, "to node 4294967295, which does not exist");
    }
    SECTION("link to itself") {
        GraphFileData g = small_graph();
        g.nodes[3].links[1] = {3};
        require_refused(g, "node 3 links to itself in layer 1");
    }
    SECTION("link in layer l to a node below layer l") {
        GraphFileData g = small_graph();
        g.nodes[0].links[1] = {1};
        require_refused(g, "node 0 links in layer 1 to node 1, whose level is 0");
    }
    SECTION("entry point out of range") {
        GraphFileData g = small_graph();
        g.entry_point = 4;
        require_refused(g, "entry_point 4 is not a node");
        g.entry_point = -2;
        require_refused(g, "entry_point -2 is not a node");
        g.entry_point = INT64_MAX;
        require_refused(g, "is not a node");
    }
    SECTION("entry point below the top level") {
        GraphFileData g = small_graph();
        g.entry_point = 1;
        require_refused(g, "entry_point 1 has level 0, not max_level 1");
        g.entry_point = 3;  // another node at the top level is a valid entry point
        round_trip(g);
    }
    SECTION("no entry point in a graph with nodes") {
        GraphFileData g = small_graph();
        g.entry_point = -1;
        require_refused(g, "entry_point is -1 but the graph has 4 nodes");
    }
    SECTION("an entry point or level in a graph without nodes") {
        GraphFileData g = small_graph();
        g.nodes.clear();
        g.entry_point = 0;
        require_refused(g, "entry_point is 0 but the graph has no nodes");
        g.entry_point = -1;
        g.max_level = 0;
        require_refused(g, "max_level is 0 but the graph has no nodes");
        g.max_level = -1;
        round_trip(g);
    }
    SECTION("max_level is not the highest node level") {
        GraphFileData g = small_graph();
        g.max_level = 2;
        require_refused(g, "max_level is 2 but the highest node level is 1");
        g.max_level = 0;
        require_refused(g, "max_level is 0 but the highest node level is 1");
        g.max_level = -1;
        require_refused(g, "max_level -1 is outside 0..64");
        g.max_level = 65;
        require_refused(g, "max_level 65 is outside 0..64");
    }
    SECTION("metric") {
        GraphFileData g = small_graph();
        for (uint32_t bad : {0u, 4u, 0xFFFFFFFFu}) {
            g.metric = static_cast<Metric>(bad);
            require_refused(g, "metric " + std::to_string(bad) + " is not");
        }
        for (Metric good : {Metric::kL2, Metric::kCosine, Metric::kIp}) {
            g.metric = good;
            round_trip(g);
        }
    }
    SECTION("dimension") {
        GraphFileData g = small_graph();
        g.dimension = 0;
        require_refused(g, "dimension 0 is outside 1..65536");
        g.dimension = 65537;
        require_refused(g, "dimension 65537 is outside 1..65536");
        g.dimension = 65536;
        round_trip(g);
        g.dimension = 1;
        round_trip(g);
    }
    SECTION("M") {
        GraphFileData g = small_graph();
        g.m = 1;
        require_refused(g, "M 1 is outside 2..2048");
        g.m = 2049;
        require_refused(g, "M 2049 is outside 2..2048");
        g.m = 2048;
        round_trip(g);
    }
    SECTION("a node's vector lies beyond vector_count") {
        GraphFileData g = small_graph();
        g.vector_count = 7;  // node 3 refers to vector 7
        require_refused(g, "node 3 refers to vector 7 but vector_count is 7");
        g.vector_count = 8;
        round_trip(g);
    }
}

TEST_CASE("header fields that disagree are refused", "[graph-file]") {
    const auto pristine = encode_graph_file(raw_graph());  // header 144 bytes, body 62
    REQUIRE(encoding_of(pristine) == 0);
    REQUIRE(header_bytes_of(pristine) == 144);
    auto patched = [&](size_t off, auto value) {
        auto bytes = pristine;
        store_le(bytes.data() + off, value);
        refix(bytes);
        return bytes;
    };
    REQUIRE_NOTHROW(decode_graph_file(patched(kOffNodeCount, uint64_t(2)), kFile));

    require_corruption(patched(kOffNodeCount, uint64_t(3)),
                       "raw_body_bytes 62 cannot hold 3 nodes");
    // One node: the columns are misread (its level is a piece of a key): any fault will do.
    REQUIRE(decode_failure(patched(kOffNodeCount, uint64_t(1))));
    CHECK(decode_failure(patched(kOffNodeCount, uint64_t(1)))->code == ErrorCode::kCorruption);
    require_corruption(patched(kOffLinkCount, uint64_t(3)), "raw_body_bytes 62 does not match");
    require_corruption(patched(kOffLinkCount, uint64_t(1)), "raw_body_bytes 62 does not match");
    require_corruption(patched(kOffLinkCount, uint64_t(6)), "raw_body_bytes 62 cannot hold");
    require_corruption(patched(kOffRawBodyBytes, uint64_t(63)), "differs from stored_body_bytes");
    require_corruption(patched(kOffStoredBodyBytes, uint64_t(61)), "1 trailing bytes");
    require_corruption(patched(kOffStoredBodyBytes, uint64_t(63)), "truncated");
    require_corruption(patched(kOffBodyEncoding, uint32_t(2)), "body_encoding 2");
    require_corruption(patched(kOffReserved, uint32_t(1)), "reserved header field");
    require_corruption(patched(kOffFlags, uint32_t(0)), "has_parent flag is clear");
    require_corruption(patched(kOffFlags, uint32_t(3)), "unknown header flags 3");
    // Every header_bytes other than the right one.
    for (uint32_t hb :
         {0u, 8u, 128u, 135u, 136u, 143u, 145u, 152u, 160u, 896u, 904u, 0xFFFFFFF8u}) {
        INFO("header_bytes " << hb);
        auto bytes = pristine;
        store_le<uint32_t>(bytes.data() + kOffHeaderBytes, hb);
        if (hb >= 136 && hb <= bytes.size())
            store_le<uint64_t>(bytes.data() + hb - 8, checksum64({bytes.data(), hb - 8u}));
        const auto f = decode_failure(bytes);
        REQUIRE(f);
        CHECK(f->code == ErrorCode::kCorruption);
    }
    // Non-zero header padding, with a correct checksum.
    {
        GraphFileData g = raw_graph();
        g.domain = "d";  // 120 + 3 + 1 + 2 = 126 bytes of fields and names, padding 126..127
        g.parent.reset();
        auto bytes = encode_graph_file(g);
        REQUIRE(header_bytes_of(bytes) == 136);
        bytes[127] = 1;
        refix(bytes);
        require_corruption(bytes, "header padding is not zero");
    }
    // The degrees in the body do not add up to link_count.
    {
        auto bytes = pristine;
        const size_t degree0 = header_bytes_of(bytes) + 20 * 2;  // node 0, layer 0
        store_le<uint32_t>(bytes.data() + degree0, 0);
        refix(bytes);
        require_corruption(bytes, "add up to 1 links, but link_count is 2");
    }
    // Unknown node flags.
    {
        auto bytes = pristine;
        bytes[bytes.size() - 2] = 3;  // flags of node 0: tombstone and an unknown bit
        refix(bytes);
        require_corruption(bytes, "node 0 has unknown flags 3");
        bytes = pristine;
        bytes[bytes.size() - 1] = 0x80;  // flags of node 1
        refix(bytes);
        require_corruption(bytes, "node 1 has unknown flags 128");
    }
}

TEST_CASE("damaged zstd bodies are refused", "[graph-file]") {
    const auto pristine = encode_graph_file(ring_graph(2000, 8));
    REQUIRE(encoding_of(pristine) == 1);
    const uint32_t hb = header_bytes_of(pristine);
    const uint64_t raw = load_le<uint64_t>(pristine.data() + kOffRawBodyBytes);
    const uint64_t stored = load_le<uint64_t>(pristine.data() + kOffStoredBodyBytes);

    SECTION("not a zstd frame") {
        auto bytes = pristine;
        std::fill(bytes.begin() + hb, bytes.end(), 0xAB);
        require_corruption(bytes, "stored body checksum mismatch");
        refix(bytes);  // past the stored checksum, zstd itself refuses the bytes
        require_corruption(bytes, "fails to decompress");
    }
    SECTION("bytes after the frame") {
        auto bytes = pristine;
        bytes.insert(bytes.end(), {1, 2, 3, 4});
        store_le<uint64_t>(bytes.data() + kOffStoredBodyBytes, stored + 4);
        refix(bytes);
        require_corruption(bytes, "4 bytes after its zstd frame");
    }
    SECTION("the frame is cut short") {
        auto bytes = pristine;
        bytes.resize(bytes.size() - 10);
        store_le<uint64_t>(bytes.data() + kOffStoredBodyBytes, stored - 10);
        refix(bytes);
        require_corruption(bytes, "zstd body");
    }
    SECTION("raw_body_bytes too small") {
        auto bytes = pristine;
        store_le<uint64_t>(bytes.data() + kOffRawBodyBytes, raw - 4);
        refix(bytes);
        const auto f = decode_failure(bytes);
        REQUIRE(f);
        CHECK(f->code == ErrorCode::kCorruption);
    }
    SECTION("raw_body_bytes too large") {
        auto bytes = pristine;
        store_le<uint64_t>(bytes.data() + kOffRawBodyBytes, raw + 4);
        refix(bytes);
        require_corruption(bytes, "decompresses to " + std::to_string(raw) + " bytes");
    }
    SECTION("zstd with an empty body") {
        auto bytes = pristine;
        bytes.resize(hb);
        store_le<uint64_t>(bytes.data() + kOffStoredBodyBytes, uint64_t(0));
        refix(bytes);
        require_corruption(bytes, "zstd body is empty");
    }
}

TEST_CASE("hostile lengths are refused before anything is allocated", "[graph-file]") {
    const auto raw_file = encode_graph_file(raw_graph());
    const auto zstd_file = encode_graph_file(ring_graph(2000, 8));
    auto patched = [](std::vector<uint8_t> bytes, size_t off, uint64_t value) {
        store_le<uint64_t>(bytes.data() + off, value);
        refix(bytes);
        return bytes;
    };
    for (uint64_t huge : {uint64_t(1) << 40, uint64_t(1) << 62, ~uint64_t(0)}) {
        INFO("value " << huge);
        require_corruption(patched(raw_file, kOffNodeCount, huge), "cannot hold");
        require_corruption(patched(raw_file, kOffLinkCount, huge), "cannot hold");
        require_corruption(patched(raw_file, kOffRawBodyBytes, huge), "differs");
        require_corruption(patched(raw_file, kOffStoredBodyBytes, huge), "truncated");
        require_corruption(patched(zstd_file, kOffRawBodyBytes, huge), "times stored_body_bytes");
        require_corruption(patched(zstd_file, kOffStoredBodyBytes, huge), "truncated");
        auto both = patched(zstd_file, kOffNodeCount, huge / 32);
        require_corruption(patched(both, kOffRawBodyBytes, huge), "zstd body");
    }
    // A raw_body_bytes just inside the 32768-fold bound: the decoder finds out from the frame.
    const uint64_t stored = load_le<uint64_t>(zstd_file.data() + kOffStoredBodyBytes);
    auto claim = patched(zstd_file, kOffNodeCount, stored * 32768 / 25);
    claim = patched(claim, kOffLinkCount, 0);
    require_corruption(patched(claim, kOffRawBodyBytes, stored * 32768), "decompresses to");
}

TEST_CASE("random damage with valid checksums never gets past validation unnoticed",
          "[graph-file]") {
    // Bytes changed anywhere, then every checksum fixed: the decoder must either refuse the
    // file with an Error or return a graph that satisfies every rule (and so encodes again).
    std::mt19937_64 rng(42);
    const std::vector<std::vector<uint8_t>> files = {encode_graph_file(raw_graph()),
                                                     encode_graph_file(small_graph()),
                                                     encode_graph_file(random_graph(60, 3, 5))};
    int refused = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = files[size_t(round) % files.size()];
        const uint32_t hb = header_bytes_of(bytes);
        const int changes = 1 + int(rng() % 4);
        for (int c = 0; c < changes; ++c) {
            // Mostly the body and the count and length fields, sometimes anywhere.
            size_t off;
            if (rng() % 2 && bytes.size() > hb)
                off = hb + rng() % (bytes.size() - hb);
            else
                off = 12 + rng() % (hb - 20);
            bytes[off] =
                static_cast<uint8_t>(rng() % 3 == 0 ? rng() : bytes[off] ^ (1u << (rng() % 8)));
        }
        if (load_le<uint32_t>(bytes.data() + kOffHeaderBytes) == hb)
            refix(bytes);
        INFO("round " << round);
        try {
            const GraphFileData g = decode_graph_file(bytes, kFile);
            CHECK_NOTHROW(decode_graph_file(encode_graph_file(g), kFile));
        } catch (const Error& e) {
            REQUIRE(e.code() == ErrorCode::kCorruption);
            ++refused;
        }
    }
    CHECK(refused > 2000);
}
