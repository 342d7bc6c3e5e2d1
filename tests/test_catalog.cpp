#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "catalog_raw_env.h"
#include "test_support.h"
#include "vstore/catalog.h"
#include "vstore/format/bytes.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

using namespace vstore;
using vstore::test::RawEnv;
using vstore::test::TempDir;

namespace vstore::detail {
// Test seam in store/src/catalog.cpp: replaces the hash of long external ids.
void set_catalog_id_hash_for_testing(uint64_t (*hash)(std::string_view));
}  // namespace vstore::detail

namespace {

using Ids = std::vector<std::pair<std::string, uint64_t>>;

DomainInfo make_domain(const std::string& name, uint32_t dim = 8,
                       format::Metric metric = format::Metric::kL2) {
    DomainInfo d;
    d.name = name;
    d.dimension = dim;
    d.metric = metric;
    d.m = 12;
    d.ef_construction = 100;
    d.vector_file = format::percent_encode(name).substr(0, 200) + ".vecs";
    d.created_unix_ms = 1700000000000ULL + dim;
    return d;
}

// A commit whose every field is derived from `n`, so that a reader can check it.
CommitInfo make_commit(const std::string& domain, const std::string& name,
                       std::optional<std::string> parent, uint64_t n) {
    CommitInfo c;
    c.domain = domain;
    c.commit = name;
    c.parent = std::move(parent);
    c.graph_file = name.substr(0, 200) + ".hnsw";
    c.graph_checksum = 0x9E3779B97F4A7C15ULL * (n + 1);
    c.graph_bytes = 4096 + n;
    c.vector_count = 10 * n + 1;
    c.live_count = 7 * n + 2;
    c.tombstone_count = n % 5;
    c.inserted = n + 3;
    c.deleted = n + 4;
    c.replaced = n + 5;
    c.compacted = n % 3 == 0;
    c.created_unix_ms = 1700000000000ULL + n;
    c.graph_chain = {{c.graph_file, c.graph_bytes, c.graph_checksum}};
    return c;
}

std::string dump(const Catalog& c, const DomainInfo& d) {
    std::ostringstream o;
    o << d.name << '|' << d.dimension << '|' << static_cast<uint32_t>(d.metric) << '|' << d.m << '|'
      << d.ef_construction << '|' << d.vector_file << '|' << c.next_key(d.name) << '|'
      << d.created_unix_ms;
    return o.str();
}

std::string dump(const CommitInfo& c) {
    std::ostringstream o;
    o << c.domain << '|' << c.commit << '|' << (c.parent ? "P:" + *c.parent : "-") << '|'
      << c.graph_file << '|' << c.graph_checksum << '|' << c.graph_bytes << '|' << c.vector_count
      << '|' << c.live_count << '|' << c.tombstone_count << '|' << c.inserted << '|' << c.deleted
      << '|' << c.replaced << '|' << c.compacted << '|' << c.created_unix_ms << '|'
      << static_cast<uint32_t>(c.graph_kind) << '|' << c.graph_format << '|'
      << (c.graph_owner ? "O:" + *c.graph_owner : "-");
    for (const auto& f : c.graph_chain)
        o << "|<" << f.name << ',' << f.bytes << ',' << f.checksum << '>';
    return o.str();
}

std::string dump(const std::optional<CommitInfo>& c) {
    return c ? dump(*c) : "none";
}

template <typename F>
ErrorCode error_of(F&& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message != nullptr)
            *message = e.message();
        return e.code();
    }
    FAIL("no error was thrown");
    return ErrorCode::kIO;
}

// n ids starting at key `first`, named "<tag>-<i>".
Ids fresh_ids(const std::string& tag, uint64_t first, size_t n) {
    Ids ids;
    for (size_t i = 0; i < n; ++i)
        ids.emplace_back(tag + "-" + std::to_string(i), first + i);
    return ids;
}

std::string hex(std::string_view s) {
    std::string out;
    char b[4];
    for (unsigned char c : s) {
        std::snprintf(b, sizeof b, "%02x", c);
        out += b;
    }
    return out;
}

// Everything the public API can tell about a catalog, for before/after comparisons.
std::string snapshot(const Catalog& c, const std::vector<std::string>& probe_ids) {
    std::ostringstream o;
    for (const auto& d : c.domains()) {
        o << "D " << dump(c, d) << '\n';
        for (const auto& cm : c.commits(d.name))
            o << "C " << dump(cm) << '\n';
        for (uint64_t k = 0; k < c.next_key(d.name) + 3; ++k) {
            const auto id = c.external_id(d.name, k);
            o << "K " << k << ' ' << (id ? hex(*id) : "none") << '\n';
        }
        for (const auto& id : probe_ids) {
            const auto k = c.find_key(d.name, id);
            o << "I " << hex(id) << ' ' << (k ? std::to_string(*k) : "none") << '\n';
        }
    }
    return o.str();
}

std::string with_nul(const std::string& a, const std::string& b) {
    return a + std::string(1, '\0') + b;
}

std::string from_hex(std::string_view h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string le32(uint32_t v) {
    std::string out(4, '\0');
    format::store_le(reinterpret_cast<uint8_t*>(out.data()), v);
    return out;
}

std::string le64(uint64_t v) {
    std::string out(8, '\0');
    format::store_le(reinterpret_cast<uint8_t*>(out.data()), v);
    return out;
}

// The fields of a record version 2 commit record, laid out as spec/catalog.md says without any
// check, so that tests can write records the catalog must refuse. A length or count left at -1
// is that of its field.
struct RawCommitV2 {
    struct Entry {
        std::string name;
        uint64_t bytes = 0;
        uint64_t checksum = 0;
        int64_t name_length = -1;
    };
    uint32_t version = 2;
    int64_t flags = -1;  // -1: from parent, compacted and owner
    bool compacted = false;
    uint64_t graph_checksum = 0;
    uint64_t graph_bytes = 0;
    uint64_t counts[7] = {5, 4, 1, 2, 1, 0, 1700000000000ULL};  // ... created_unix_ms
    uint32_t kind = 2;
    uint32_t graph_format = 2;
    std::string parent, graph_file, owner;
    int64_t parent_length = -1, graph_file_length = -1, owner_length = -1, chain_count = -1;
    std::vector<Entry> chain;

    std::string bytes() const {
        const auto len = [](int64_t given, size_t actual) {
            return given >= 0 ? static_cast<uint32_t>(given) : static_cast<uint32_t>(actual);
        };
        const uint32_t f = flags >= 0 ? static_cast<uint32_t>(flags)
                                      : (parent.empty() ? 0u : 1u) | (compacted ? 2u : 0u) |
                                            (owner.empty() ? 0u : 4u);
        std::string out = le32(version) + le32(f) + le64(graph_checksum) + le64(graph_bytes);
        for (uint64_t v : counts)
            out += le64(v);
        out += le32(kind) + le32(graph_format) + le32(len(parent_length, parent.size())) +
               le32(len(graph_file_length, graph_file.size())) +
               le32(len(owner_length, owner.size())) + le32(len(chain_count, chain.size()));
        out += parent + graph_file + owner;
        for (const auto& e : chain)
            out +=
                le32(len(e.name_length, e.name.size())) + e.name + le64(e.bytes) + le64(e.checksum);
        return out;
    }
};

// A valid delta record: parent "p", graph file "d.hnsw" over the full "root.hnsw".
RawCommitV2 valid_raw_delta() {
    RawCommitV2 r;
    r.parent = "p";
    r.graph_file = "d.hnsw";
    r.graph_bytes = 50;
    r.graph_checksum = 0xD0D0;
    r.chain = {{"root.hnsw", 100, 0xAAAA}, {"d.hnsw", 50, 0xD0D0}};
    return r;
}

// prefix ‖ n ‖ suffix. (Built with += : g++ 12 warns falsely, -Wrestrict, about "literal" +
// std::string&& once inlined.)
std::string numbered_name(const char* prefix, uint64_t n, const char* suffix = "") {
    std::string out = prefix;
    out += std::to_string(n);
    out += suffix;
    return out;
}

// A chain of `n` files: a full root, then deltas; the last is `last`.
std::vector<GraphFileRef> chain_of(size_t n, const GraphFileRef& last) {
    std::vector<GraphFileRef> chain;
    for (size_t i = 0; i + 1 < n; ++i)
        chain.push_back({numbered_name("f", i, ".hnsw"), 1000 + i, 0x1000 + i});
    chain.push_back(last);
    return chain;
}

struct HashOverride {
    explicit HashOverride(uint64_t (*h)(std::string_view)) {
        detail::set_catalog_id_hash_for_testing(h);
    }
    ~HashOverride() { detail::set_catalog_id_hash_for_testing(nullptr); }
};

}  // namespace

TEST_CASE("catalog: domains and commits round-trip through a reopen, sorted", "[catalog]") {
    TempDir dir;
    std::vector<std::string> expected_domains, expected_commits;
    {
        auto c = Catalog::open(dir.path().string(), true);
        CHECK(c->domains().empty());
        const std::vector<std::pair<std::string, format::Metric>> names = {
            {"zeta", format::Metric::kIp},  {"admin/star_wars", format::Metric::kCosine},
            {"Alpha", format::Metric::kL2}, {"caf\xC3\xA9", format::Metric::kIp},
            {"admin", format::Metric::kL2}, {std::string(255, 'd'), format::Metric::kCosine}};
        uint32_t dim = 1;
        for (const auto& [name, metric] : names) {
            DomainInfo d = make_domain(name, dim, metric);
            // 255-byte names don't encode. (Formatted, not concatenated: g++ 12 warns falsely
            // on string concatenations inlined here.)
            char vector_file[32];
            std::snprintf(vector_file, sizeof vector_file, "v%u.vecs", dim);
            d.vector_file = vector_file;
            d.m = 2 + dim % 2000;
            d.ef_construction = 1 + dim;
            dim = dim * 7 + 3;  // 1, 10, 73, 514, 3601, 25210
            c->create_domain(d);
        }
        // Commits, created out of order, with and without parents, one with a 255-byte name.
        const std::vector<std::string> commit_names = {"c2", "c10", "a", std::string(255, 'z'),
                                                       "b\xE2\x82\xAC"};
        std::optional<std::string> parent;
        uint64_t n = 0;
        for (const auto& name : commit_names) {
            c->publish_commit(make_commit("admin", name, parent, n), fresh_ids(name, 2 * n, 2));
            parent = name;
            ++n;
        }
        c->publish_commit(make_commit("admin/star_wars", std::string(255, 'c'), std::nullopt, 99),
                          {});
        for (const auto& d : c->domains())
            expected_domains.push_back(dump(*c, d));
        for (const auto& cm : c->commits("admin"))
            expected_commits.push_back(dump(cm));
    }
    auto c = Catalog::open(dir.path().string(), false);
    std::vector<std::string> names;
    for (const auto& d : c->domains())
        names.push_back(d.name);
    CHECK(names == std::vector<std::string>{"Alpha", "admin", "admin/star_wars", "caf\xC3\xA9",
                                            std::string(255, 'd'), "zeta"});
    std::vector<std::string> got;
    for (const auto& d : c->domains())
        got.push_back(dump(*c, d));
    CHECK(got == expected_domains);

    // Every field of one domain, checked by hand.
    const auto star = c->domain("admin/star_wars");
    REQUIRE(star);
    CHECK(star->name == "admin/star_wars");
    CHECK(star->dimension == 10);
    CHECK(star->metric == format::Metric::kCosine);
    CHECK(star->m == 12);
    CHECK(star->ef_construction == 11);
    CHECK(star->vector_file == "v10.vecs");
    CHECK(c->next_key("admin/star_wars") == 0);
    CHECK(star->created_unix_ms == 1700000000010ULL);
    CHECK(c->next_key("admin") == 10);
    CHECK_FALSE(c->domain("nope"));
    std::string nope;
    CHECK(error_of([&] { c->next_key("nope"); }, &nope) == ErrorCode::kNotFound);
    CHECK(nope == "unknown domain 'nope'");

    const auto commits = c->commits("admin");
    std::vector<std::string> commit_names;
    got.clear();
    for (const auto& cm : commits) {
        commit_names.push_back(cm.commit);
        got.push_back(dump(cm));
    }
    CHECK(commit_names ==
          std::vector<std::string>{"a", "b\xE2\x82\xAC", "c10", "c2", std::string(255, 'z')});
    CHECK(got == expected_commits);
    // Every field of one commit against what was published.
    CHECK(dump(c->commit("admin", "c10")) == dump(make_commit("admin", "c10", "c2", 1)));
    CHECK(dump(c->commit("admin", "c2")) == dump(make_commit("admin", "c2", std::nullopt, 0)));
    CHECK(c->commit("admin", "c2")->compacted);
    CHECK_FALSE(c->commit("admin", "c10")->compacted);
    CHECK_FALSE(c->commit("admin", "c2")->parent);
    CHECK_FALSE(c->commit("admin", "nope"));
    CHECK_FALSE(c->commit("admin/star_wars", "c2"));
    CHECK(c->commits("admin/star_wars").size() == 1);
    CHECK(c->commits("Alpha").empty());
    CHECK(c->commits("unknown").empty());
    // Names are validated on reads too.
    CHECK(error_of([&] { c->domain(""); }) == ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { c->next_key(""); }) == ErrorCode::kInvalidArgument);
    CHECK(error_of([&] { c->commits(std::string("a\0b", 3)); }) == ErrorCode::kInvalidArgument);
}

TEST_CASE("catalog: open refuses missing, foreign and doubly opened catalogs", "[catalog]") {
    TempDir dir;
    const std::string d = dir.path().string();
    std::string msg;
    CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kNotFound);
    CHECK(msg.find("catalog") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("catalog")));
    CHECK(error_of([&] { Catalog::open(dir.file("no-such-dir"), true); }) == ErrorCode::kNotFound);

    {
        auto c = Catalog::open(d, true);
        CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kConflict);
        CHECK(msg.find("already open in this process") != std::string::npos);
        // Another spelling of the same directory is the same catalog.
        CHECK(error_of([&] { Catalog::open(d + "/./", true); }) == ErrorCode::kConflict);
        c->create_domain(make_domain("kept"));
    }
    // Released on destruction; creation left no temporary files behind, only the writer lock
    // it took while it wrote them.
    auto c = Catalog::open(d, false);
    CHECK(c->domain("kept"));
    c.reset();
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        const auto name = e.path().filename().string();
        CHECK((name == "catalog" || name == "catalog-lock" || name == "writer.lock"));
    }

    SECTION("garbage") {
        TempDir other;
        std::vector<uint8_t> junk(20000);
        std::mt19937 rng(5);
        for (auto& b : junk)
            b = static_cast<uint8_t>(rng());
        test::write_bytes(other.file("catalog"), 0, junk);
        CHECK(error_of([&] { Catalog::open(other.path().string(), false); }, &msg) ==
              ErrorCode::kCorruption);
        CHECK(msg.find("not a vstore catalog") != std::string::npos);
        CHECK(error_of([&] { Catalog::open(other.path().string(), true); }) ==
              ErrorCode::kCorruption);
    }
    SECTION("empty file") {
        TempDir other;
        test::write_bytes(other.file("catalog"), 0, {});
        CHECK(error_of([&] { Catalog::open(other.path().string(), true); }, &msg) ==
              ErrorCode::kCorruption);
        CHECK(std::filesystem::file_size(other.file("catalog")) == 0);  // not initialised
    }
    SECTION("an LMDB environment that is not a catalog") {
        TempDir other;
        {
            MDB_env* env;
            REQUIRE(mdb_env_create(&env) == 0);
            REQUIRE(mdb_env_open(env, other.file("catalog").c_str(), MDB_NOSUBDIR, 0644) == 0);
            MDB_txn* txn;
            REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
            MDB_dbi dbi;
            REQUIRE(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0);
            std::string k = "hello", v = "world";
            MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
            REQUIRE(mdb_put(txn, dbi, &kv, &vv, 0) == 0);
            REQUIRE(mdb_txn_commit(txn) == 0);
            mdb_env_close(env);
        }
        CHECK(error_of([&] { Catalog::open(other.path().string(), true); }, &msg) ==
              ErrorCode::kCorruption);
        CHECK(msg.find("not a vstore catalog") != std::string::npos);
    }
    SECTION("format record damaged or of another version") {
        std::string format;
        {
            RawEnv raw(dir.file("catalog"));
            format = *raw.get("meta", "format");
            std::string v3 = format.substr(0, format::kCatalogFormatRecordBytes);
            v3[8] = 3;
            raw.put("meta", "format", format::seal_catalog_value("format", v3));
        }
        // Not damaged, only of a version this build does not read: as for every file kind.
        CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kInvalidArgument);
        CHECK(msg.find("has format version 3; this build reads versions 1 and 2") !=
              std::string::npos);
        {
            RawEnv raw(dir.file("catalog"));
            std::string flipped = format;
            flipped[2] ^= 1;  // the magic, or version and length that disagree
            raw.put("meta", "format", flipped);
        }
        CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kCorruption);
        CHECK(msg.find("not a vstore catalog") != std::string::npos);
        {
            RawEnv raw(dir.file("catalog"));
            std::string bad_seal = format;
            bad_seal.back() ^= 1;
            raw.put("meta", "format", bad_seal);
        }
        CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kCorruption);
        CHECK(msg.find("fails its checksum") != std::string::npos);
        {
            RawEnv raw(dir.file("catalog"));
            raw.put("meta", "format", std::nullopt);
        }
        CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kCorruption);
        CHECK(msg.find("not a vstore catalog") != std::string::npos);
        {
            RawEnv raw(dir.file("catalog"));
            raw.put("meta", "format", format);
        }
        CHECK(Catalog::open(d, false)->domain("kept"));
    }
}

TEST_CASE("catalog: create_domain validates and refuses duplicates", "[catalog]") {
    TempDir dir;
    auto c = Catalog::open(dir.path().string(), true);
    c->create_domain(make_domain("x"));
    std::string msg;
    CHECK(error_of([&] { c->create_domain(make_domain("x", 3)); }, &msg) == ErrorCode::kConflict);
    CHECK(msg == "domain 'x' already exists");

    const auto bad = [&](auto change) {
        DomainInfo d = make_domain("y");
        change(d);
        return error_of([&] { c->create_domain(d); });
    };
    CHECK(bad([](DomainInfo& d) { d.name = ""; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.name = std::string(256, 'a'); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.name = "\xFF"; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.dimension = 0; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.dimension = 65537; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.m = 1; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.m = 2049; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.ef_construction = 0; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.metric = static_cast<format::Metric>(9); }) ==
          ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.vector_file = ""; }) == ErrorCode::kInvalidArgument);
    CHECK(bad([](DomainInfo& d) { d.vector_file = "../y.vecs"; }) == ErrorCode::kInvalidArgument);
    CHECK_FALSE(c->domain("y"));
    CHECK(c->domains().size() == 1);

    // The bounds themselves are accepted.
    DomainInfo lo = make_domain("lo", 1);
    lo.m = 2;
    lo.ef_construction = 1;
    c->create_domain(lo);
    DomainInfo hi = make_domain("hi", 65536);
    hi.m = 2048;
    c->create_domain(hi);
    CHECK(c->domains().size() == 3);
}

TEST_CASE("catalog: external ids map to keys and back, whatever their length", "[catalog]") {
    TempDir dir;
    auto c = Catalog::open(dir.path().string(), true);
    c->create_domain(make_domain("d"));
    c->create_domain(make_domain("d2"));

    const std::string shared(400, 'p');
    std::vector<std::string> ids = {
        "a",
        "luke",
        std::string("nul\0inside", 10),
        std::string(1, '\0'),
        "caf\xC3\xA9",
        std::string(239, 'e'),
        std::string(240, 'e'),  // the longest id stored verbatim in the key
        std::string(241, 'e'),  // the shortest stored by prefix and hash
        std::string(248, 'e'),
        std::string(252, 'e'),
        std::string(4096, 'f'),
        shared + "1",
        shared + "2",
        shared + std::string(3695, 'q') + "x",  // 4096 bytes sharing the first 400
        shared + std::string(3695, 'q') + "y",
        std::string(4095, 'f'),
    };
    // 3000 bytes of random characters, of every UTF-8 length (ids are valid UTF-8).
    std::mt19937 rng(11);
    std::string random_long;
    while (random_long.size() < 3000) {
        uint32_t cp = rng() % 0x110000;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp -= 0x800;  // no surrogates
        if (random_long.size() + 4 > 3000)
            cp = rng() % 0x80;
        if (cp < 0x80) {
            random_long += static_cast<char>(cp);
        } else if (cp < 0x800) {
            random_long += static_cast<char>(0xC0 | cp >> 6);
            random_long += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            random_long += static_cast<char>(0xE0 | cp >> 12);
            random_long += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            random_long += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            random_long += static_cast<char>(0xF0 | cp >> 18);
            random_long += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
            random_long += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            random_long += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    REQUIRE(random_long.size() == 3000);
    ids.push_back(random_long);

    // Published over three commits, so next_key advances between them.
    uint64_t next = 0;
    size_t pos = 0;
    for (int commit = 0; commit < 3; ++commit) {
        REQUIRE(c->next_key("d") == next);
        Ids batch;
        const size_t take = commit == 2 ? ids.size() - pos : 6;
        for (size_t i = 0; i < take; ++i)
            batch.emplace_back(ids[pos + i], next + i);
        std::optional<std::string> parent;
        if (commit > 0)
            parent = "c" + std::to_string(commit - 1);
        c->publish_commit(make_commit("d", "c" + std::to_string(commit), parent, commit), batch);
        pos += take;
        next += take;
    }
    CHECK(c->next_key("d") == ids.size());
    // An empty commit leaves next_key alone.
    c->publish_commit(make_commit("d", "empty", "c2", 9), {});
    CHECK(c->next_key("d") == ids.size());

    // Both ways, before and after a reopen.
    for (int pass = 0; pass < 2; ++pass) {
        for (size_t k = 0; k < ids.size(); ++k) {
            INFO("key " << k << ", id of " << ids[k].size() << " bytes");
            CHECK(c->find_key("d", ids[k]) == std::optional<uint64_t>(k));
            CHECK(c->external_id("d", k) == std::optional<std::string>(ids[k]));
            CHECK_FALSE(c->find_key("d2", ids[k]));
        }
        CHECK_FALSE(c->external_id("d", ids.size()));
        CHECK_FALSE(c->external_id("d2", 0));
        CHECK_FALSE(c->find_key("d", shared));
        CHECK_FALSE(c->find_key("d", shared + "3"));
        CHECK_FALSE(c->find_key("d", std::string(4096, 'g')));
        CHECK_FALSE(c->find_key("d", std::string(4097, 'f')));  // too long to exist
        CHECK_FALSE(c->find_key("d", ""));
        CHECK_FALSE(c->find_key("nope", "a"));
        c.reset();
        c = Catalog::open(dir.path().string(), false);
    }

    // A new id that is not UTF-8 is refused, naming it and its first invalid byte, and
    // nothing is written.
    std::string message;
    CHECK(test::code_of(
              [&] {
                  c->publish_commit(make_commit("d", "bad-utf8", "c2", 10),
                                    {{"ok", ids.size()}, {"ab\xC0\xAF", ids.size() + 1}});
              },
              &message) == ErrorCode::kInvalidArgument);
    CHECK_THAT(message, Catch::Contains("commit 'bad-utf8' in domain 'd': external id "
                                        "'ab\\xC0\\xAF' is not valid UTF-8 (byte 2)"));
    CHECK_FALSE(c->commit("d", "bad-utf8"));
    CHECK_FALSE(c->find_key("d", "ok"));
    CHECK(c->next_key("d") == ids.size());

    // The same ids in another domain get that domain's own keys.
    c->publish_commit(make_commit("d2", "c0", std::nullopt, 0),
                      {{ids[10], 0}, {"a", 1}, {ids[1], 2}});
    CHECK(c->find_key("d2", ids[10]) == 0u);
    CHECK(c->find_key("d2", "a") == 1u);
    CHECK(c->find_key("d", "a") == 0u);
    CHECK(c->external_id("d2", 2) == ids[1]);
    CHECK(c->next_key("d2") == 3);
    CHECK(c->next_key("d") == ids.size());
}

TEST_CASE("catalog: long ids whose hashes collide are told apart", "[catalog]") {
    HashOverride constant_hash([](std::string_view) -> uint64_t { return 42; });
    TempDir dir;
    const std::string shared(240, 's');
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(shared + std::string(static_cast<size_t>(1 + i * 700), 'a' + i));
    {
        auto c = Catalog::open(dir.path().string(), true);
        c->create_domain(make_domain("d"));
        c->publish_commit(make_commit("d", "c0", std::nullopt, 0), {{ids[0], 0}, {ids[1], 1}});
        c->publish_commit(make_commit("d", "c1", "c0", 1), {{ids[2], 2}, {ids[3], 3}});
        std::string msg;
        CHECK(error_of(
                  [&] {
                      c->publish_commit(make_commit("d", "c2", "c1", 2), {{ids[1], 4}});
                  },
                  &msg) == ErrorCode::kConflict);
        CHECK(msg.find("already interned") != std::string::npos);
        CHECK(error_of([&] {
                  c->publish_commit(make_commit("d", "c2", "c1", 2), {{ids[4], 4}, {ids[4], 5}});
              }) == ErrorCode::kInvalidArgument);
        c->publish_commit(make_commit("d", "c2", "c1", 2), {{ids[4], 4}});
        for (size_t k = 0; k < ids.size(); ++k) {
            CHECK(c->find_key("d", ids[k]) == std::optional<uint64_t>(k));
            CHECK(c->external_id("d", k) == ids[k]);
        }
        CHECK_FALSE(c->find_key("d", shared + "zz"));
    }
    // Stored as one chain: the same prefix and hash, counters 0 ... 4.
    RawEnv raw(dir.file("catalog"));
    std::vector<std::string> keys = raw.keys("ids");
    REQUIRE(keys.size() == 5);
    for (uint32_t i = 0; i < 5; ++i) {
        std::string expected = with_nul("d", shared) + std::string("\x2A\0\0\0\0\0\0\0", 8) +
                               std::string("\0\0\0", 3) + std::string(1, static_cast<char>(i));
        CHECK(hex(keys[i]) == hex(expected));
    }
}

TEST_CASE("catalog: a failed publish_commit writes nothing", "[catalog]") {
    TempDir dir;
    auto c = Catalog::open(dir.path().string(), true);
    c->create_domain(make_domain("d"));
    c->create_domain(make_domain("other"));
    const std::string long_id = std::string(300, 'L') + "1";
    c->publish_commit(make_commit("d", "base", std::nullopt, 0),
                      {{"x", 0}, {"y", 1}, {long_id, 2}});
    c->publish_commit(make_commit("other", "base", std::nullopt, 1), {{"x", 0}});

    const std::vector<std::string> probes = {
        "x", "y", long_id, "new-0", "new-1", "new-2", "fresh", std::string(300, 'L') + "2"};
    const std::string before = snapshot(*c, probes);
    const auto bytes_before = test::read_file(dir.file("catalog"));

    const auto fails = [&](const CommitInfo& commit, const Ids& ids, ErrorCode code,
                           const std::string& needle) {
        std::string msg;
        CHECK(error_of([&] { c->publish_commit(commit, ids); }, &msg) == code);
        INFO("message: " << msg);
        CHECK(msg.find(needle) != std::string::npos);
        CHECK(snapshot(*c, probes) == before);
    };
    const CommitInfo next = make_commit("d", "next", "base", 1);

    fails(make_commit("nope", "next", std::nullopt, 1), fresh_ids("new", 3, 2),
          ErrorCode::kNotFound, "unknown domain 'nope'");
    fails(make_commit("d", "base", std::nullopt, 1), fresh_ids("new", 3, 2), ErrorCode::kConflict,
          "commit 'base' already exists in domain 'd'");
    fails(make_commit("d", "next", "ghost", 1), fresh_ids("new", 3, 2), ErrorCode::kNotFound,
          "unknown parent commit 'ghost'");
    fails(next, fresh_ids("new", 4, 2), ErrorCode::kInvalidArgument, "expected 3");
    fails(next, fresh_ids("new", 0, 2), ErrorCode::kInvalidArgument, "expected 3");
    fails(next, {{"new-0", 3}, {"new-1", 5}}, ErrorCode::kInvalidArgument, "expected 4");
    fails(next, {{"new-0", 3}, {"new-1", 4}, {"x", 5}}, ErrorCode::kConflict,
          "external id 'x' is already interned in domain 'd'");
    fails(next, {{"new-0", 3}, {long_id, 4}}, ErrorCode::kConflict, "is already interned");
    fails(next, {{"new-0", 3}, {"new-1", 4}, {"new-0", 5}}, ErrorCode::kInvalidArgument,
          "appears twice");
    fails(next, {{"new-0", 3}, {"", 4}}, ErrorCode::kInvalidArgument, "has 0 bytes");
    fails(next, {{"new-0", 3}, {std::string(4097, 'Z'), 4}}, ErrorCode::kInvalidArgument,
          "(4097 bytes)");
    fails(make_commit("d", "", "base", 1), {}, ErrorCode::kInvalidArgument, "commit");
    fails(make_commit("d", "next", std::string("a\0b", 3), 1), {}, ErrorCode::kInvalidArgument,
          "commit");
    CommitInfo no_file = next;
    no_file.graph_file = "a/b.hnsw";
    fails(no_file, {}, ErrorCode::kInvalidArgument, "graph file");
    // Ids are named in messages, cut to 80 bytes, with unprintable bytes escaped.
    std::string msg;
    error_of([&] { c->publish_commit(next, {{std::string(4097, '\x01'), 3}}); }, &msg);
    std::string shown = "'";
    for (int i = 0; i < 80; ++i)
        shown += "\\x01";
    CHECK(msg.find(shown + "'... (4097 bytes)") != std::string::npos);
    CHECK(msg.size() < 500);

    // Nothing was written: not even to the file (LMDB never writes an aborted transaction).
    CHECK(test::read_file(dir.file("catalog")) == bytes_before);
    c.reset();
    c = Catalog::open(dir.path().string(), false);
    CHECK(snapshot(*c, probes) == before);

    // And the catalog still takes the commit that was refused in all those forms.
    c->publish_commit(next, fresh_ids("new", 3, 3));
    CHECK(c->next_key("d") == 6);
    CHECK(c->find_key("d", "new-2") == 5u);
    CHECK(c->external_id("d", 4) == "new-1");
}

TEST_CASE("catalog: a rewritten domain record keeps the stored next_key and the domain's name",
          "[catalog]") {
    TempDir dir;
    auto c = Catalog::open(dir.path().string(), true);
    c->create_domain(make_domain("d"));
    const CommitInfo c0 = make_commit("d", "c0", std::nullopt, 0);
    c->publish_commit(c0, fresh_ids("a", 0, 3));

    DomainInfo moved = *c->domain("d");
    moved.vector_file = "d@2.vecs";
    c->rewrite_commits("d", {}, {c0}, moved);
    CHECK(c->domain("d")->vector_file == "d@2.vecs");
    CHECK(c->next_key("d") == 3);
    // Interning goes on from the kept next_key.
    c->publish_commit(make_commit("d", "c1", "c0", 1), fresh_ids("b", 3, 2));
    CHECK(c->next_key("d") == 5);
    CHECK(c->external_id("d", 3) == "b-0");

    DomainInfo renamed = moved;
    renamed.name = "e";
    renamed.vector_file = "e.vecs";
    std::string msg;
    CHECK(error_of([&] { c->rewrite_commits("d", {}, {}, renamed); }, &msg) ==
          ErrorCode::kInvalidArgument);
    CHECK(msg == "domain 'd': a rewritten domain record must keep its name");
    CHECK(c->domain("d")->vector_file == "d@2.vecs");
    CHECK(c->next_key("d") == 5);
}

TEST_CASE("catalog: the bytes on disk are those of spec/catalog.md", "[catalog]") {
    TempDir dir;
    const std::string dom = "admin/star_wars";
    const std::string long_id(300, 'x');
    {
        auto c = Catalog::open(dir.path().string(), true);
        DomainInfo d;
        d.name = dom;
        d.dimension = 3;
        d.metric = format::Metric::kCosine;
        d.m = 16;
        d.ef_construction = 200;
        d.vector_file = "admin%2Fstar_wars.vecs";
        d.created_unix_ms = 1700000000000ULL;
        c->create_domain(d);
        CommitInfo v1;
        v1.domain = dom;
        v1.commit = "v1";
        v1.graph_file = "admin%2Fstar_wars@v1.hnsw";
        v1.graph_checksum = 0x0123456789ABCDEFULL;
        v1.graph_bytes = 4096;
        v1.vector_count = 2;
        v1.live_count = 2;
        v1.inserted = 2;
        v1.created_unix_ms = 1700000000001ULL;
        v1.graph_chain = {{v1.graph_file, 4096, 0x0123456789ABCDEFULL}};
        c->publish_commit(v1, {{"luke", 0}, {long_id, 1}});
        // A delta over v1's file that replaced one vector.
        CommitInfo v2 = v1;
        v2.commit = "v2";
        v2.parent = "v1";
        v2.graph_file = "admin%2Fstar_wars@v2.hnsw";
        v2.graph_checksum = 0xFEDCBA9876543210ULL;
        v2.graph_bytes = 512;
        v2.vector_count = 3;
        v2.inserted = 0;
        v2.replaced = 1;
        v2.created_unix_ms = 1700000000002ULL;
        v2.graph_kind = format::GraphKind::kDelta;
        v2.graph_chain = {v1.graph_chain[0], {v2.graph_file, 512, 0xFEDCBA9876543210ULL}};
        c->publish_commit(v2, {});
        // A commit that changed nothing: it shares v2's graph.
        CommitInfo v3 = v2;
        v3.commit = "v3";
        v3.parent = "v2";
        v3.replaced = 0;
        v3.created_unix_ms = 1700000000003ULL;
        v3.graph_owner = "v2";
        c->publish_commit(v3, {});
    }
    const uint64_t h = format::checksum64({reinterpret_cast<const uint8_t*>(long_id.data()), 300});
    CHECK(h == 0xA5D1B4607DC83554ULL);  // the spec's check value
    std::string long_key = with_nul(dom, long_id.substr(0, 240));
    for (int i = 0; i < 8; ++i)
        long_key.push_back(static_cast<char>(h >> (8 * i)));
    long_key += std::string(4, '\0');
    {
        RawEnv raw(dir.file("catalog"));
        CHECK(hex(*raw.get("meta", "format")) ==
              "56534341544c4f47"
              "02000000"
              "932202745c2659d4");  // the seal: XXH3-64 of the 12 bytes, seeded by XXH3("format")
        CHECK(hex(*raw.get("ids", with_nul(dom, "luke"))) ==
              "01000000"
              "0000000000000000"
              "63b705380b9f2f79");  // seeded by XXH3 of the key "admin/star_wars\0luke"
        CHECK(raw.keys("meta") == std::vector<std::string>{"format"});
        CHECK(hex(*raw.record("domains", dom)) ==
              "01000000"
              "03000000"
              "02000000"
              "10000000"
              "c8000000"
              "16000000"
              "0200000000000000"
              "0068e5cf8b010000" +
                  hex("admin%2Fstar_wars.vecs"));
        const std::string f1 = hex("admin%2Fstar_wars@v1.hnsw");
        const std::string f2 = hex("admin%2Fstar_wars@v2.hnsw");
        CHECK(hex(*raw.record("commits", with_nul(dom, "v1"))) ==
              "02000000"
              "00000000"
              "efcdab8967452301"
              "0010000000000000"
              "0200000000000000"
              "0200000000000000"
              "0000000000000000"
              "0200000000000000"
              "0000000000000000"
              "0000000000000000"
              "0168e5cf8b010000"
              "01000000"
              "02000000"
              "00000000"
              "19000000"
              "00000000"
              "01000000" +
                  f1 + "19000000" + f1 + "0010000000000000" + "efcdab8967452301");
        CHECK(raw.record("commits", with_nul(dom, "v1"))->size() == 174);
        CHECK(hex(*raw.record("commits", with_nul(dom, "v2"))) ==
              "02000000"
              "01000000"
              "1032547698badcfe"
              "0002000000000000"
              "0300000000000000"
              "0200000000000000"
              "0000000000000000"
              "0000000000000000"
              "0000000000000000"
              "0100000000000000"
              "0268e5cf8b010000"
              "02000000"
              "02000000"
              "02000000"
              "19000000"
              "00000000"
              "02000000" +
                  hex("v1") + f2 + "19000000" + f1 + "0010000000000000" + "efcdab8967452301" +
                  "19000000" + f2 + "0002000000000000" + "1032547698badcfe");
        CHECK(raw.record("commits", with_nul(dom, "v2"))->size() == 221);
        CHECK(hex(*raw.record("commits", with_nul(dom, "v3"))) ==
              "02000000"
              "05000000"
              "1032547698badcfe"
              "0002000000000000"
              "0300000000000000"
              "0200000000000000"
              "0000000000000000"
              "0000000000000000"
              "0000000000000000"
              "0000000000000000"
              "0368e5cf8b010000"
              "02000000"
              "02000000"
              "02000000"
              "19000000"
              "02000000"
              "02000000" +
                  hex("v2") + f2 + hex("v2") + "19000000" + f1 + "0010000000000000" +
                  "efcdab8967452301" + "19000000" + f2 + "0002000000000000" + "1032547698badcfe");
        CHECK(raw.record("commits", with_nul(dom, "v3"))->size() == 223);
        CHECK(hex(*raw.record("ids", with_nul(dom, "luke"))) ==
              "01000000"
              "0000000000000000");
        CHECK(hex(*raw.record("ids", long_key)) ==
              "01000000"
              "0100000000000000" +
                  hex(long_id));
        CHECK(raw.keys("ids").size() == 2);
        CHECK(hex(*raw.record("keys", with_nul(dom, std::string(8, '\0')))) ==
              "01000000" + hex("luke"));
        CHECK(hex(*raw.record("keys", with_nul(dom, std::string(7, '\0') + "\x01"))) ==
              "01000000" + hex(long_id));
        CHECK(raw.keys("keys").size() == 2);

        // Damage: a short domain record, a commit record with a byte too many, a keys entry of
        // an unknown record version, a long id whose stored id no longer matches its key.
        raw.put_record("domains", dom, raw.record("domains", dom)->substr(0, 30));
        raw.put_record("commits", with_nul(dom, "v2"),
                       *raw.record("commits", with_nul(dom, "v2")) + "!");
        raw.put_record("keys", with_nul(dom, std::string(8, '\0')),
                       std::string("\x02\0\0\0luke", 8));
        std::string bad_long = *raw.record("ids", long_key);
        bad_long.back() = 'y';
        raw.put_record("ids", long_key, bad_long);
    }
    auto c = Catalog::open(dir.path().string(), false);
    std::string msg;
    CHECK(error_of([&] { c->domain(dom); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("domain 'admin/star_wars'") != std::string::npos);
    CHECK(error_of([&] { c->domains(); }) == ErrorCode::kCorruption);
    CHECK(error_of([&] { c->commit(dom, "v2"); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("commit 'v2' in domain 'admin/star_wars'") != std::string::npos);
    CHECK(error_of([&] { c->commits(dom); }) == ErrorCode::kCorruption);
    CHECK(c->commit(dom, "v1")->graph_bytes == 4096);
    CHECK(c->commit(dom, "v3")->graph_owner == "v2");
    CHECK(error_of([&] { c->external_id(dom, 0); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("record version 2") != std::string::npos);
    CHECK(error_of([&] { c->find_key(dom, long_id); }) == ErrorCode::kCorruption);
    CHECK(c->find_key(dom, "luke") == 0u);
    // A publish that needs the damaged domain record fails and writes nothing.
    CHECK(error_of([&] { c->publish_commit(make_commit(dom, "v3", "v1", 3), {}); }) ==
          ErrorCode::kCorruption);
}

TEST_CASE("catalog: full, delta and shared commits round-trip with their graph chains",
          "[catalog]") {
    TempDir dir;
    std::vector<std::string> expected;
    {
        auto c = Catalog::open(dir.path().string(), true);
        c->create_domain(make_domain("d"));
        // A full root, two deltas over it (the second's chain has 3 files), a commit that
        // changed nothing and so shares the second delta's graph, and a delta at the longest
        // chain the record holds.
        CommitInfo full = make_commit("d", "root", std::nullopt, 1);
        full.graph_format = 2;
        c->publish_commit(full, fresh_ids("r", 0, 2));

        CommitInfo d1 = make_commit("d", "d1", "root", 2);
        d1.graph_kind = format::GraphKind::kDelta;
        d1.graph_chain = {full.graph_chain[0], {d1.graph_file, d1.graph_bytes, d1.graph_checksum}};
        c->publish_commit(d1, fresh_ids("d1", 2, 1));

        CommitInfo d2 = make_commit("d", "d2", "d1", 4);
        d2.graph_kind = format::GraphKind::kDelta;
        d2.graph_chain = d1.graph_chain;
        d2.graph_chain.push_back({d2.graph_file, d2.graph_bytes, d2.graph_checksum});
        c->publish_commit(d2, {});

        CommitInfo shared = make_commit("d", "same", "d2", 5);
        shared.graph_file = d2.graph_file;
        shared.graph_bytes = d2.graph_bytes;
        shared.graph_checksum = d2.graph_checksum;
        shared.graph_kind = d2.graph_kind;
        shared.graph_chain = d2.graph_chain;
        shared.graph_owner = "d2";
        c->publish_commit(shared, {});

        CommitInfo longest = make_commit("d", "long", "root", 7);
        longest.graph_kind = format::GraphKind::kDelta;
        longest.graph_chain =
            chain_of(4096, {longest.graph_file, longest.graph_bytes, longest.graph_checksum});
        c->publish_commit(longest, {});

        // An old-format full graph (graph_format 1) in a new record.
        CommitInfo old_graph = make_commit("d", "old", std::nullopt, 8);
        old_graph.graph_format = 1;
        c->publish_commit(old_graph, {});

        for (const CommitInfo* ci : {&d1, &d2, &longest, &old_graph, &full, &shared})
            expected.push_back(dump(*ci));
        CHECK(dump(c->commit("d", "d2")) == dump(d2));
    }
    auto c = Catalog::open(dir.path().string(), false);
    std::vector<std::string> got;
    for (const auto& cm : c->commits("d"))
        got.push_back(dump(cm));
    CHECK(got == expected);  // sorted by name: d1, d2, long, old, root, same

    const auto d2 = c->commit("d", "d2");
    REQUIRE(d2);
    CHECK(d2->graph_kind == format::GraphKind::kDelta);
    CHECK(d2->graph_format == 2);
    REQUIRE(d2->graph_chain.size() == 3);
    CHECK(d2->graph_chain[0] == GraphFileRef{"root.hnsw", 4096 + 1, 0x9E3779B97F4A7C15ULL * 2});
    CHECK(d2->graph_chain[1] == GraphFileRef{"d1.hnsw", 4096 + 2, 0x9E3779B97F4A7C15ULL * 3});
    CHECK(d2->graph_chain[2] == GraphFileRef{d2->graph_file, d2->graph_bytes, d2->graph_checksum});
    CHECK_FALSE(d2->graph_owner);
    const auto same = c->commit("d", "same");
    REQUIRE(same);
    CHECK(same->graph_owner == "d2");
    CHECK(same->graph_file == "d2.hnsw");
    CHECK(same->graph_chain == d2->graph_chain);
    const auto root = c->commit("d", "root");
    CHECK(root->graph_kind == format::GraphKind::kFull);
    CHECK(root->graph_chain ==
          std::vector<GraphFileRef>{{"root.hnsw", 4097, root->graph_checksum}});
    CHECK(c->commit("d", "long")->graph_chain.size() == 4096);
    CHECK(c->commit("d", "old")->graph_format == 1);
}

TEST_CASE("catalog: record version 1 commits are still read", "[catalog]") {
    TempDir dir;
    const std::string dom = "admin/star_wars";
    {
        auto c = Catalog::open(dir.path().string(), true);
        DomainInfo d = make_domain(dom, 3, format::Metric::kCosine);
        d.vector_file = "admin%2Fstar_wars.vecs";
        c->create_domain(d);
    }
    // The two record version 1 examples of spec/catalog.md, as a store made before record
    // version 2 holds them, and two damaged ones.
    const std::string v1 = from_hex(
        "0100000000000000efcdab89674523010010000000000000020000000000000002000000000000000000000000"
        "0000000200000000000000000000000000000000000000000000000168e5cf8b010000000000001900000061"
        "646d696e253246737461725f776172734076312e686e7377");
    const std::string v2 = from_hex(
        "0100000003000000efcdab89674523010010000000000000020000000000000001000000000000000000000000"
        "0000000000000000000000010000000000000000000000000000000168e5cf8b010000020000001900000076"
        "3161646d696e253246737461725f776172734076322e686e7377");
    REQUIRE(v1.size() == 113);
    REQUIRE(v2.size() == 115);
    {
        RawEnv raw(dir.file("catalog"));
        raw.put_records("commits", {{with_nul(dom, "v1"), v1},
                                    {with_nul(dom, "v2"), v2},
                                    {with_nul(dom, "long"), v1 + "!"},
                                    {with_nul(dom, "short"), v1.substr(0, 87)}});
    }
    auto c = Catalog::open(dir.path().string(), false);
    const auto a = c->commit(dom, "v1");
    REQUIRE(a);
    CHECK_FALSE(a->parent);
    CHECK(a->graph_file == "admin%2Fstar_wars@v1.hnsw");
    CHECK(a->graph_checksum == 0x0123456789ABCDEFULL);
    CHECK(a->graph_bytes == 4096);
    CHECK(a->vector_count == 2);
    CHECK(a->live_count == 2);
    CHECK(a->tombstone_count == 0);
    CHECK(a->inserted == 2);
    CHECK(a->deleted == 0);
    CHECK(a->replaced == 0);
    CHECK_FALSE(a->compacted);
    CHECK(a->created_unix_ms == 1700000000001ULL);
    CHECK(a->graph_kind == format::GraphKind::kFull);
    CHECK(a->graph_format == 1);
    CHECK(a->graph_chain ==
          std::vector<GraphFileRef>{{"admin%2Fstar_wars@v1.hnsw", 4096, 0x0123456789ABCDEFULL}});
    CHECK_FALSE(a->graph_owner);
    const auto b = c->commit(dom, "v2");
    REQUIRE(b);
    CHECK(b->parent == "v1");
    CHECK(b->compacted);
    CHECK(b->live_count == 1);
    CHECK(b->deleted == 1);
    CHECK(b->graph_format == 1);
    CHECK(b->graph_chain ==
          std::vector<GraphFileRef>{{"admin%2Fstar_wars@v2.hnsw", 4096, 0x0123456789ABCDEFULL}});
    std::string msg;
    CHECK(error_of([&] { c->commit(dom, "long"); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("commit 'long' in domain 'admin/star_wars' is malformed: 114 bytes, expected "
                   "88 + 0 + 25") != std::string::npos);
    CHECK(error_of([&] { c->commit(dom, "short"); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("shorter than its fixed part of 88") != std::string::npos);

    // A commit on top of a version 1 one is recorded as version 2.
    CommitInfo v3 = make_commit(dom, "v3", "v2", 3);
    c->publish_commit(v3, {});
    CHECK(dump(c->commit(dom, "v3")) == dump(v3));
    c.reset();
    RawEnv raw(dir.file("catalog"));
    CHECK(hex(raw.record("commits", with_nul(dom, "v3"))->substr(0, 4)) == "02000000");
    CHECK(*raw.record("commits", with_nul(dom, "v1")) == v1);  // never rewritten
}

TEST_CASE("catalog: malformed version 2 commit records are refused", "[catalog]") {
    TempDir dir;
    {
        auto c = Catalog::open(dir.path().string(), true);
        c->create_domain(make_domain("d"));
    }
    const RawCommitV2 base = valid_raw_delta();
    const std::string good = base.bytes();
    REQUIRE(good.size() == 104 + 1 + 6 + 0 + (20 + 9) + (20 + 6));

    // (commit name, record, a part of the message)
    std::vector<std::tuple<std::string, std::string, std::string>> cases;
    for (size_t n = 0; n < good.size(); ++n)
        cases.emplace_back(numbered_name("cut", n), good.substr(0, n), "bytes");
    cases.emplace_back("extra", good + std::string(1, '\0'), "expected 166");
    const auto add = [&](const std::string& name, const std::string& needle, auto&& change) {
        RawCommitV2 r = base;
        change(r);
        cases.emplace_back(name, r.bytes(), needle);
    };
    add("version0", "record version 0; this build reads versions 1 and 2",
        [](RawCommitV2& r) { r.version = 0; });
    add("version3", "record version 3", [](RawCommitV2& r) { r.version = 3; });
    add("flag32", "unknown flags 33", [](RawCommitV2& r) { r.flags = 1 | 32; });
    add("droppedparent", "a dropped parent without a parent", [](RawCommitV2& r) {
        r.parent.clear();
        r.flags = 8;
    });
    add("droppedowner", "a dropped graph owner without a graph owner",
        [](RawCommitV2& r) { r.flags = 1 | 16; });
    add("noparentflag", "parent length 1 without a parent", [](RawCommitV2& r) { r.flags = 0; });
    add("parentflag", "parent length 0 with a parent", [](RawCommitV2& r) {
        r.parent.clear();
        r.flags = 1;
    });
    add("ownerflag", "owner length 0 with an owner", [](RawCommitV2& r) { r.flags = 1 | 4; });
    add("noownerflag", "owner length 1 without an owner", [](RawCommitV2& r) {
        r.owner = "o";
        r.flags = 1;
    });
    add("parent256", "parent length 256", [](RawCommitV2& r) { r.parent = std::string(256, 'p'); });
    add("parenthuge", "parent length 4294967295",
        [](RawCommitV2& r) { r.parent_length = 0xFFFFFFFF; });
    add("owner256", "owner length 256", [](RawCommitV2& r) { r.owner = std::string(256, 'o'); });
    add("ownerself", "graph owner is the commit itself",
        [](RawCommitV2& r) { r.owner = "ownerself"; });
    add("nofile", "graph file name of 0 bytes", [](RawCommitV2& r) { r.graph_file.clear(); });
    add("file256", "graph file name of 256 bytes",
        [](RawCommitV2& r) { r.graph_file = std::string(256, 'f'); });
    add("kind0", "graph kind 0", [](RawCommitV2& r) { r.kind = 0; });
    add("kind3", "graph kind 3", [](RawCommitV2& r) { r.kind = 3; });
    add("format0", "graph format 0", [](RawCommitV2& r) { r.graph_format = 0; });
    add("format3", "graph format 3", [](RawCommitV2& r) { r.graph_format = 3; });
    add("deltaformat1", "a delta graph in graph format 1",
        [](RawCommitV2& r) { r.graph_format = 1; });
    add("fulltwo", "a full graph with a graph chain of 2 files",
        [](RawCommitV2& r) { r.kind = 1; });
    add("deltaone", "a delta graph with a graph chain of 1 file",
        [](RawCommitV2& r) { r.chain.erase(r.chain.begin()); });
    add("count0", "a graph chain of 0 files", [](RawCommitV2& r) { r.chain.clear(); });
    add("count4097", "a graph chain of 4097 files", [](RawCommitV2& r) {
        const RawCommitV2::Entry last = r.chain.back();
        r.chain.clear();
        for (int i = 0; i < 4096; ++i)
            r.chain.push_back({numbered_name("f", i), 1, 2, -1});
        r.chain.push_back(last);
    });
    add("countmore", "104 + 1 + 6 + 0 + 3 chain entries of at least 20",
        [](RawCommitV2& r) { r.chain_count = 3; });
    add("countless", "166 bytes, expected 140", [](RawCommitV2& r) { r.chain_count = 1; });
    add("countfield", "chain entries of at least 20", [](RawCommitV2& r) { r.chain_count = 4096; });
    add("name0", "graph chain entry 0 has a name of 0 bytes",
        [](RawCommitV2& r) { r.chain[0].name.clear(); });
    add("name256", "graph chain entry 1 has a name of 256 bytes",
        [](RawCommitV2& r) { r.chain[1].name_length = 256; });
    add("namehuge", "graph chain entry 0 has a name of 4294967295 bytes",
        [](RawCommitV2& r) { r.chain[0].name_length = 0xFFFFFFFF; });
    add("namelong", "cut short", [](RawCommitV2& r) { r.chain[1].name_length = 7; });
    add("nameslash", "graph chain entry 0 'a/root' is not a file name",
        [](RawCommitV2& r) { r.chain[0].name = "a/root"; });
    add("namedots", "graph chain entry 0 '..' is not a file name",
        [](RawCommitV2& r) { r.chain[0].name = ".."; });
    add("namenul", "graph chain entry 0 'a\\x00b' is not a file name",
        [](RawCommitV2& r) { r.chain[0].name = std::string("a\0b", 3); });
    add("fileslash", "graph file 'x/d.hnsw' is not a file name", [](RawCommitV2& r) {
        r.graph_file = "x/d.hnsw";
        r.chain[1].name = r.graph_file;
    });
    add("lastname", "is not the graph file", [](RawCommitV2& r) { r.chain[1].name = "e.hnsw"; });
    add("lastbytes", "is not the graph file", [](RawCommitV2& r) { r.chain[1].bytes = 51; });
    add("lastsum", "is not the graph file", [](RawCommitV2& r) { r.chain[1].checksum = 1; });
    add("twice", "names 'root.hnsw' twice",
        [](RawCommitV2& r) { r.chain.insert(r.chain.begin(), r.chain[0]); });
    add("twicelast", "names 'd.hnsw' twice",
        [](RawCommitV2& r) { r.chain.insert(r.chain.begin(), r.chain[1]); });
    {
        RawEnv raw(dir.file("catalog"));
        std::vector<std::pair<std::string, std::string>> entries = {{with_nul("d", "ok"), good}};
        for (const auto& [name, bytes, needle] : cases)
            entries.emplace_back(with_nul("d", name), bytes);
        raw.put_records("commits", entries);
    }
    auto c = Catalog::open(dir.path().string(), false);
    const auto ok = c->commit("d", "ok");
    REQUIRE(ok);  // the raw layout is the catalog's
    CHECK(ok->parent == "p");
    CHECK(ok->graph_kind == format::GraphKind::kDelta);
    CHECK(ok->graph_chain ==
          std::vector<GraphFileRef>{{"root.hnsw", 100, 0xAAAA}, {"d.hnsw", 50, 0xD0D0}});
    CHECK(ok->vector_count == 5);
    CHECK(ok->replaced == 0);
    CHECK(ok->created_unix_ms == 1700000000000ULL);
    for (const auto& [name, bytes, needle] : cases) {
        INFO("case " << name << ", " << bytes.size() << " bytes");
        std::string msg;
        // Init-captures: clang 14 cannot capture a structured binding itself.
        CHECK(error_of([&, &name = name] { c->commit("d", name); }, &msg) == ErrorCode::kCorruption);
        INFO("message: " << msg);
        CHECK(msg.find("the record of commit '" + name + "' in domain 'd' is malformed: ") !=
              std::string::npos);
        CHECK(msg.find(needle) != std::string::npos);
        CHECK(msg.size() < 1000);
    }
    CHECK(error_of([&] { c->commits("d"); }) == ErrorCode::kCorruption);
}

TEST_CASE("catalog: publish_commit refuses invalid graph chains and writes nothing", "[catalog]") {
    TempDir dir;
    auto c = Catalog::open(dir.path().string(), true);
    c->create_domain(make_domain("d"));
    c->publish_commit(make_commit("d", "base", std::nullopt, 0), {{"x", 0}});
    const std::vector<std::string> probes = {"x", "new-0"};
    const std::string before = snapshot(*c, probes);
    const auto bytes_before = test::read_file(dir.file("catalog"));

    const CommitInfo good = [] {
        CommitInfo n = make_commit("d", "next", "base", 1);
        n.graph_kind = format::GraphKind::kDelta;
        n.graph_chain = {{"base.hnsw", 4096, 0x9E3779B97F4A7C15ULL},
                         {n.graph_file, n.graph_bytes, n.graph_checksum}};
        return n;
    }();
    const auto fails = [&](const std::string& needle, auto&& change) {
        CommitInfo bad = good;
        change(bad);
        std::string msg;
        CHECK(error_of([&] { c->publish_commit(bad, fresh_ids("new", 1, 1)); }, &msg) ==
              ErrorCode::kInvalidArgument);
        INFO("message: " << msg);
        CHECK(msg.find(needle) != std::string::npos);
        CHECK(snapshot(*c, probes) == before);
    };
    fails("commit 'next' in domain 'd': an empty graph chain",
          [](CommitInfo& n) { n.graph_chain.clear(); });
    fails("a delta graph with a graph chain of 1 file",
          [](CommitInfo& n) { n.graph_chain.erase(n.graph_chain.begin()); });
    fails("a full graph with a graph chain of 2 files",
          [](CommitInfo& n) { n.graph_kind = format::GraphKind::kFull; });
    fails("graph kind 3", [](CommitInfo& n) { n.graph_kind = static_cast<format::GraphKind>(3); });
    fails("graph format 0", [](CommitInfo& n) { n.graph_format = 0; });
    fails("a delta graph in graph format 1", [](CommitInfo& n) { n.graph_format = 1; });
    fails("is not the graph file", [](CommitInfo& n) { n.graph_chain.back().bytes += 1; });
    fails("is not the graph file", [](CommitInfo& n) { n.graph_chain.back().checksum ^= 1; });
    fails("is not the graph file", [](CommitInfo& n) { n.graph_chain.back().name = "other"; });
    fails("graph chain entry 0 '' is not a file name",
          [](CommitInfo& n) { n.graph_chain[0].name.clear(); });
    fails("graph chain entry 0 'a/b' is not a file name",
          [](CommitInfo& n) { n.graph_chain[0].name = "a/b"; });
    fails("graph chain entry 0 '.' is not a file name",
          [](CommitInfo& n) { n.graph_chain[0].name = std::string(1, '.'); });
    fails("graph chain entry 0 ",
          [](CommitInfo& n) { n.graph_chain[0].name = std::string(256, 'n'); });
    fails("a graph chain of 4097 files, more than 4096", [](CommitInfo& n) {
        n.graph_chain = chain_of(4097, {n.graph_file, n.graph_bytes, n.graph_checksum});
    });
    fails("names 'base.hnsw' twice",
          [](CommitInfo& n) { n.graph_chain.insert(n.graph_chain.begin(), n.graph_chain[0]); });
    fails("graph owner is the commit itself", [](CommitInfo& n) { n.graph_owner = "next"; });
    fails("commit", [](CommitInfo& n) { n.graph_owner = ""; });
    fails("commit", [](CommitInfo& n) { n.graph_owner = std::string("a\0b", 3); });
    fails("graph file", [](CommitInfo& n) { n.graph_file = "a/b.hnsw"; });

    CHECK(test::read_file(dir.file("catalog")) == bytes_before);
    c->publish_commit(good, fresh_ids("new", 1, 1));
    CHECK(dump(c->commit("d", "next")) == dump(good));
    CHECK(c->next_key("d") == 2);
}

TEST_CASE("catalog readers see consistent data while another thread publishes",
          "[catalog][concurrency]") {
    TempDir dir;
    auto c = Catalog::open(dir.path().string(), true);
    c->create_domain(make_domain("live"));
    const auto id_of = [](uint64_t key) { return "id-" + std::to_string(key); };
    const auto ids_in = [](uint64_t n) { return 1 + n % 13; };
    constexpr uint64_t kCommits = 300;

    std::atomic<bool> done{false};
    std::atomic<uint64_t> checks{0}, bad{0};
    std::mutex errors_mutex;
    std::string errors;
    const auto note = [&](const std::string& e) {
        ++bad;
        std::lock_guard lock(errors_mutex);
        if (errors.size() < 2000)
            errors += e + "\n";
    };
    const auto reader = [&](int seed) {
        std::mt19937_64 rng(seed);
        try {
            while (!done.load()) {
                // A read of next_key; every key below it must map both ways.
                const uint64_t next_key = c->next_key("live");
                if (next_key > 0) {
                    const uint64_t k = rng() % next_key;
                    if (c->external_id("live", k) != id_of(k))
                        note("key " + std::to_string(k) + " has no id");
                    if (c->find_key("live", id_of(k)) != k)
                        note("id of key " + std::to_string(k) + " not found");
                    if (c->external_id("live", next_key - 1) != id_of(next_key - 1))
                        note("last key missing");
                }
                // Commits are whole, in order, and the newest one's ids are there.
                const auto commits = c->commits("live");
                uint64_t total_ids = 0;
                for (const auto& cm : commits) {
                    const uint64_t n = cm.graph_bytes - 4096;
                    total_ids += ids_in(n);
                    if (dump(cm) != dump(make_commit("live", cm.commit, cm.parent, n)))
                        note("commit " + cm.commit + " differs");
                }
                if (commits.size() > 0 && !c->find_key("live", id_of(total_ids - 1)))
                    note("ids of the newest commit missing");
                if (c->next_key("live") < total_ids)
                    note("next_key went back");
                ++checks;
            }
        } catch (const std::exception& e) {
            note(e.what());
        }
    };
    std::vector<std::thread> readers;
    readers.emplace_back(reader, 1);
    readers.emplace_back(reader, 2);
    std::thread writer([&] {
        try {
            uint64_t key = 0;
            for (uint64_t n = 0; n < kCommits; ++n) {
                char name[32];
                std::snprintf(name, sizeof name, "c%05llu", static_cast<unsigned long long>(n));
                std::optional<std::string> parent;
                if (n > 0) {
                    char p[32];
                    std::snprintf(p, sizeof p, "c%05llu", static_cast<unsigned long long>(n - 1));
                    parent = p;
                }
                Ids ids;
                for (uint64_t i = 0; i < ids_in(n); ++i, ++key)
                    ids.emplace_back(id_of(key), key);
                c->publish_commit(make_commit("live", name, parent, n), ids);
            }
        } catch (const std::exception& e) {
            note(std::string("writer: ") + e.what());
        }
        done = true;
    });
    writer.join();
    for (auto& r : readers)
        r.join();
    INFO(errors);
    CHECK(bad == 0);
    CHECK(checks > 0);
    CHECK(c->commits("live").size() == kCommits);
}

TEST_CASE("catalog: a writer killed at random moments leaves whole commits", "[catalog][crash]") {
    TempDir dir;
    const std::string d = dir.path().string();
    const std::string dom = "crash";
    Catalog::open(d, true)->create_domain(make_domain(dom));
    const auto name_of = [](uint64_t n) {
        char s[32];
        std::snprintf(s, sizeof s, "c%06llu", static_cast<unsigned long long>(n));
        return std::string(s);
    };
    const auto ids_in = [](uint64_t n) { return 1 + n % 7; };
    // Every fifth key's id is long (stored by prefix and hash).
    const auto id_of = [](uint64_t key) {
        std::string id = "id-" + std::to_string(key);
        if (key % 5 == 0)
            id += std::string(300 + key % 100, '#');
        return id;
    };
    const auto expected = [&](uint64_t n) {
        return make_commit(dom, name_of(n), n > 0 ? std::optional(name_of(n - 1)) : std::nullopt,
                           n);
    };

    std::mt19937 rng(77);
    std::vector<uint64_t> reported;  // commit numbers whose publish returned
    for (int round = 0; round < 20; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::close(fds[0]);
            try {
                auto c = Catalog::open(d, false);
                uint64_t n = c->commits(dom).size();
                uint64_t key = c->next_key(dom);
                for (;; ++n) {
                    Ids ids;
                    for (uint64_t i = 0; i < ids_in(n); ++i, ++key)
                        ids.emplace_back(id_of(key), key);
                    c->publish_commit(expected(n), ids);
                    if (::write(fds[1], &n, sizeof n) != sizeof n)
                        ::_exit(3);
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "child: %s\n", e.what());
                ::_exit(2);
            }
        }
        ::close(fds[1]);
        uint64_t value;
        // Every other round waits for the child's first published commit before the random
        // sleep, so that kills land after reported commits whatever the speed of the machine
        // (fix: a 1-30 ms sleep alone could end before any publish, and the check below failed).
        if (round % 2 == 0) {
            REQUIRE(::read(fds[0], &value, sizeof value) == sizeof value);
            reported.push_back(value);
        }
        ::usleep(1000 + rng() % 30000);
        ::kill(child, SIGKILL);
        while (::read(fds[0], &value, sizeof value) == sizeof value)
            reported.push_back(value);
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(WIFSIGNALED(status));

        auto c = Catalog::open(d, false);
        const auto commits = c->commits(dom);
        INFO("round " << round << ": " << reported.size() << " reported, " << commits.size()
                      << " found");
        // Commits are exactly 0 ... count-1, each intact, and include every reported one.
        uint64_t total_ids = 0;
        for (uint64_t n = 0; n < commits.size(); ++n) {
            REQUIRE(dump(commits[n]) == dump(expected(n)));
            total_ids += ids_in(n);
        }
        if (!reported.empty())
            REQUIRE(commits.size() > reported.back());
        // The id mappings are exactly those of the commits present.
        const uint64_t next_key = c->next_key(dom);
        REQUIRE(next_key == total_ids);
        for (uint64_t k = 0; k < next_key; ++k) {
            REQUIRE(c->external_id(dom, k) == id_of(k));
            REQUIRE(c->find_key(dom, id_of(k)) == k);
        }
        REQUIRE_FALSE(c->external_id(dom, next_key));
        REQUIRE_FALSE(c->find_key(dom, id_of(next_key)));
    }
    CHECK(reported.size() > 0);
    WARN(reported.size() << " commits reported over 20 kills");
}

TEST_CASE("catalog: a catalog of format version 1 gains its seals when opened", "[catalog]") {
    TempDir dir;
    const std::string d = dir.path().string();
    const Ids ids = {{"a", 0}, {std::string(300, 'l'), 1}, {"c", 2}};
    std::string before;
    {
        auto c = Catalog::open(d, true);
        c->create_domain(make_domain("dom"));
        c->publish_commit(make_commit("dom", "c1", std::nullopt, 1), ids, {{0x1234, 0}, {7, 2}});
        c->publish_commit(make_commit("dom", "c2", "c1", 2), {});
        before = snapshot(*c, {"a", std::string(300, 'l'), "c", "missing"});
    }
    const std::vector<const char*> databases = {"domains", "commits", "ids", "keys", "vectors"};
    {
        // What a build before seals wrote: the same records, unsealed, and format version 1.
        RawEnv raw(dir.file("catalog"));
        for (const char* db : databases) {
            for (const std::string& key : raw.keys(db))
                raw.put(db, key, raw.record(db, key));
        }
        raw.put("meta", "format", from_hex("56534341544c4f4701000000"));
    }
    {
        auto c = Catalog::open(d, false);
        CHECK(snapshot(*c, {"a", std::string(300, 'l'), "c", "missing"}) == before);
        CHECK(c->vectors_with_hashes("dom", std::vector<uint64_t>{0x1234, 7}) ==
              std::vector<std::vector<uint64_t>>{{0}, {2}});
    }
    RawEnv raw(dir.file("catalog"));
    CHECK(hex(*raw.get("meta", "format")) == "56534341544c4f4702000000932202745c2659d4");
    size_t sealed = 0;
    for (const char* db : databases) {
        for (const std::string& key : raw.keys(db)) {
            CHECK(raw.record(db, key));  // REQUIREs a valid seal
            ++sealed;
        }
    }
    CHECK(sealed == 1 + 2 + 3 + 3 + 2);
}

TEST_CASE(
    "catalog: an LMDB node claiming more bytes than the file holds is refused at open, "
    "never read past the file (the walk of LMDB's pages)",
    "[catalog][corruption]") {
    TempDir dir;
    const std::string d = dir.path().string();
    // A 4000-byte id: its ids and keys records live on overflow pages, and the ids entry's key
    // (the domain, NUL, the id's first 240 bytes, its hash and counter) is on a leaf page.
    std::string id = "this-prefix-names-the-node-";
    id.resize(4000, 'z');
    {
        auto c = Catalog::open(d, true);
        c->create_domain(make_domain("dom"));
        c->publish_commit(make_commit("dom", "c1", std::nullopt, 1), {{id, 0}});
    }
    // LMDB 0.9's leaf node: u16 mn_lo, u16 mn_hi (the data size), u16 flags, u16 key size, then
    // the key. The size becomes 16 MiB, far past the end of the file.
    const std::vector<uint8_t> bytes = test::read_file(dir.file("catalog"));
    const std::string file(bytes.begin(), bytes.end());
    const std::string key_start = std::string("dom") + '\0' + id.substr(0, 240);
    const size_t at = file.find(key_start);
    REQUIRE(at != std::string::npos);
    REQUIRE(file.find(key_start, at + 1) == std::string::npos);
    REQUIRE(at >= 8);
    test::write_bytes(dir.file("catalog"), at - 8, {0xFF, 0xFF, 0xFF, 0x00});

    std::string msg;
    CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("of database 'ids' begins a run of 1 overflow pages for 16777215 bytes") !=
          std::string::npos);
}

TEST_CASE(
    "catalog: a leaf node flagged as duplicate data is refused at open, before LMDB "
    "follows it to a SIGSEGV (the walk of its pages)",
    "[catalog][corruption]") {
    TempDir dir;
    const std::string d = dir.path().string();
    const std::string id = "the-id-whose-node-is-damaged";
    {
        auto c = Catalog::open(d, true);
        c->create_domain(make_domain("dom"));
        c->publish_commit(make_commit("dom", "c1", std::nullopt, 1), {{id, 0}});
    }
    // LMDB 0.9's leaf node: u16 mn_lo, u16 mn_hi, u16 mn_flags, u16 mn_ksize, then the key
    // (for an ids entry: the domain, NUL, the id, ...). F_DUPDATA is 0x04.
    const std::vector<uint8_t> bytes = test::read_file(dir.file("catalog"));
    const std::string file(bytes.begin(), bytes.end());
    const size_t at = file.find(std::string("dom") + '\0' + id);
    REQUIRE(at != std::string::npos);
    REQUIRE(at >= 8);
    test::write_bytes(dir.file("catalog"), at - 4, {0x04, 0x00});
    std::string msg;
    CHECK(error_of([&] { Catalog::open(d, false); }, &msg) == ErrorCode::kCorruption);
    CHECK(msg.find("of database 'ids' has node 0 with flags 4") != std::string::npos);
}
