// Store::verify_consistency (spec/consistency.md): a small store made through the public API,
// then damaged so that every file's own checksums, and the catalog's seals and record checks,
// still pass, while one invariant between the files breaks. Each damage must be reported,
// naming the invariant, the domain and the commit; the intact store reports nothing.
#include <catch2/catch.hpp>
#include <functional>
#include <sstream>

#include "catalog_raw_env.h"
#include "graph_file_reader.h"
#include "test_support.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/catalog.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

using namespace vstore;
using test::RawEnv;
using test::TempDir;

namespace {

constexpr uint32_t kDim = 4;
constexpr const char* kDomain = "d";

std::vector<float> vec(float x) {
    return {x, 1.0f, 0.5f * x, -1.0f};
}

StoreOptions options(bool deltas) {
    StoreOptions o;
    o.threads = 1;
    o.graph_policy.deltas = deltas;
    return o;
}

// c1 inserts a..e; c2 on c1 deletes a, replaces b, inserts f (a delta over c1's file, or a
// full file without deltas); c3 is c2 assigned again, sharing its graph (owner c2).
void make_store(const std::string& dir, bool deltas = true) {
    auto store = Store::create(dir, options(deltas));
    store->create_domain(kDomain, {.dimension = kDim});
    auto c1 = store->begin_commit(kDomain, "c1", std::nullopt);
    const char* ids[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; ++i)
        c1.insert(ids[i], vec(static_cast<float>(i)));
    c1.finish();
    auto c2 = store->begin_commit(kDomain, "c2", "c1");
    c2.remove("a");
    c2.replace("b", vec(10));
    c2.insert("f", vec(11));
    c2.finish();
    store->assign(kDomain, "c2", "c3");
}

ConsistencyReport verify(const std::string& dir) {
    return Store::open(dir)->verify_consistency(kDomain);
}

std::string describe(const ConsistencyReport& r) {
    std::ostringstream out;
    for (const auto& p : r.problems)
        out << "problem " << p.invariant << " [" << p.domain << "/" << p.commit << "] " << p.what
            << '\n';
    for (const auto& p : r.unreadable)
        out << "unreadable " << p.invariant << " [" << p.domain << "/" << p.commit << "] " << p.what
            << '\n';
    return out.str();
}

// Whether `r` has a problem of `invariant` for domain d and `commit` ("" for the domain
// itself) whose message contains `text`.
bool reports(const ConsistencyReport& r, const std::string& invariant, const std::string& commit,
             const std::string& text) {
    for (const auto& p : r.problems) {
        if (p.invariant == invariant && p.domain == kDomain && p.commit == commit &&
            p.what.find(text) != std::string::npos)
            return true;
    }
    return false;
}

bool reports_invariant(const ConsistencyReport& r, const std::string& invariant) {
    for (const auto& p : r.problems) {
        if (p.invariant == invariant)
            return true;
    }
    return false;
}

std::string commit_key(const std::string& commit) {
    return format::scoped_key(kDomain, commit);
}

// Rewrites the record of `commit`, resealed.
void edit_commit(RawEnv& raw, const std::string& commit,
                 const std::function<void(format::CommitRecord&)>& edit) {
    const auto bytes = raw.record("commits", commit_key(commit));
    REQUIRE(bytes);
    format::CommitRecord r = format::decode_commit_record(
        "raw", kDomain, commit, {reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    edit(r);
    raw.put_record("commits", commit_key(commit), format::encode_commit_record(kDomain, commit, r));
}

void edit_domain(RawEnv& raw, const std::string& domain,
                 const std::function<void(format::DomainRecord&)>& edit) {
    const auto bytes = raw.record("domains", domain);
    REQUIRE(bytes);
    format::DomainRecord r = format::decode_domain_record(
        "raw", domain, {reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    edit(r);
    raw.put_record("domains", domain, format::encode_domain_record(r));
}

class NodesSource : public format::GraphSource {
  public:
    explicit NodesSource(const std::vector<format::GraphNode>& nodes) : nodes_(nodes) {}
    uint64_t node_count() const override { return nodes_.size(); }
    uint64_t vector_index(uint32_t i) const override { return nodes_[i].vector_index; }
    uint64_t key(uint32_t i) const override { return nodes_[i].key; }
    uint32_t level(uint32_t i) const override { return nodes_[i].level; }
    uint8_t flags(uint32_t i) const override {
        return nodes_[i].tombstone ? format::kNodeTombstone : 0;
    }
    std::span<const uint32_t> links(uint32_t i, uint32_t layer) const override {
        return nodes_[i].links[layer];
    }

  private:
    const std::vector<format::GraphNode>& nodes_;
};

// Rewrites the full graph file of `commit` (in a store made without deltas) with `edit`
// applied to its header and nodes, a valid file with valid checksums, and every record whose
// chain names it (the commit's, and those sharing its graph) to the new length and checksum.
void rewrite_graph(const std::string& dir, const std::string& commit,
                   const std::function<void(format::GraphHeader&, format::GraphFileData&)>& edit) {
    std::string name;
    {
        const auto store = Store::open(dir);
        const CommitInfo c = store->commit(kDomain, commit);
        REQUIRE(c.graph_chain.size() == 1);
        name = c.graph_file;
    }
    const std::string path = dir + "/" + name;
    const std::vector<uint8_t> old_bytes = test::read_file(path);
    format::GraphHeader h = format::parse_full_graph(old_bytes, name).header;
    REQUIRE(h.removed_count == 0);  // GraphFileData has no removed nodes
    format::GraphFileData g = test::read_full_graph(old_bytes, name);
    edit(h, g);
    const std::vector<uint8_t> bytes = format::encode_full_graph(h, NodesSource(g.nodes));
    std::filesystem::remove(path);
    test::write_bytes(path, 0, bytes);
    const format::GraphFileRecord now{name, bytes.size(), format::graph_file_checksum(bytes)};
    RawEnv raw(dir + "/catalog");
    for (const std::string& key : raw.keys("commits")) {
        const std::string other = key.substr(std::string(kDomain).size() + 1);
        edit_commit(raw, other, [&](format::CommitRecord& r) {
            for (auto& entry : r.graph_chain) {
                if (entry.name == name)
                    entry = now;
            }
            if (r.graph_file == name) {
                r.graph_bytes = now.bytes;
                r.graph_checksum = now.checksum;
            }
        });
    }
}

// Two live nodes of a graph, by ordinal.
std::pair<size_t, size_t> two_live_nodes(const format::GraphFileData& g) {
    std::vector<size_t> live;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (!g.nodes[i].tombstone)
            live.push_back(i);
    }
    REQUIRE(live.size() >= 2);
    return {live[0], live[1]};
}

}  // namespace

TEST_CASE("verify_consistency: an intact store reports no problem, after assign, drop and vacuum",
          "[consistency]") {
    for (const bool deltas : {true, false}) {
        TempDir dir;
        make_store(dir.path().string(), deltas);
        auto store = Store::open(dir.path().string(), options(deltas));
        INFO("deltas " << deltas);
        ConsistencyReport r = store->verify_consistency(kDomain);
        INFO(describe(r));
        CHECK(r.ok());
        CHECK(r.unreadable.empty());
        CHECK(r.domain == kDomain);
        CHECK(r.commits_checked == 3);
        CHECK(r.vector_entries_checked == 7);  // a..e, b's new vector, f
        // c3 on c2, sharing nothing, then c2 dropped: c3's parent and graph owner are gone.
        auto c4 = store->begin_commit(kDomain, "c4", "c3");
        c4.insert("g", vec(12));
        c4.finish();
        store->drop_commits(kDomain, {"c1", "c2"});
        r = store->verify_consistency(kDomain);
        INFO(describe(r));
        CHECK(r.ok());
        CHECK(r.commits_checked == 2);
        store->vacuum(kDomain);
        r = store->verify_consistency(kDomain);
        INFO(describe(r));
        CHECK(r.ok());
        CHECK(r.unreadable.empty());
        CHECK(r.commits_checked == 2);
        // Every vector the vacuum kept is in the content index again.
        CHECK(r.vector_entries_checked ==
              VectorFile::open(dir.file(store->domain(kDomain).vector_file))->size());
        CHECK(test::code_of([&] { store->verify_consistency("nope"); }) == ErrorCode::kNotFound);
    }
}

TEST_CASE("verify_consistency reports D2: a vector file of another domain or dimension",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    std::string other_file, wide_file;
    {
        make_store(s);
        auto store = Store::open(s);
        other_file = store->create_domain("other", {.dimension = kDim}).vector_file;
        wide_file = store->create_domain("wide", {.dimension = 2 * kDim}).vector_file;
    }
    REQUIRE(verify(s).ok());
    SECTION("another domain's") {
        {
            RawEnv raw(s + "/catalog");
            edit_domain(raw, kDomain, [&](format::DomainRecord& d) { d.vector_file = other_file; });
        }
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "D2", "", "vector file '" + other_file + "' belongs to domain 'other'"));
    }
    SECTION("another dimension") {
        {
            RawEnv raw(s + "/catalog");
            edit_domain(raw, kDomain, [&](format::DomainRecord& d) { d.vector_file = wide_file; });
        }
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "D2", "",
                      "vector file '" + wide_file + "' has dimension 8; the domain records 4"));
    }
}

TEST_CASE(
    "verify_consistency reports D3: a content index entry past the file or of another "
    "vector",
    "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s);
    REQUIRE(verify(s).ok());
    const uint64_t hash_of_0 = format::vector_hash(vec(0));
    SECTION("past the end") {
        {
            RawEnv raw(s + "/catalog");
            raw.put_record("vectors", format::vector_record_key(kDomain, hash_of_0, 7),
                           format::encode_vector_record());
        }
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "D3", "", ", vector 7) names no vector: vector file 'd.vecs' holds 7"));
    }
    SECTION("another vector's hash") {
        {
            RawEnv raw(s + "/catalog");
            raw.put_record("vectors", format::vector_record_key(kDomain, hash_of_0, 3),
                           format::encode_vector_record());
        }
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "D3", "", ", vector 3) does not match: the vector's hash is 0x"));
        CHECK(r.problems.size() == 1);
    }
}

TEST_CASE("verify_consistency reports G6: a commit's vector_count that is not its graph's",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s);
    {
        RawEnv raw(s + "/catalog");
        edit_commit(raw, "c2", [](format::CommitRecord& r) { r.vector_count = 6; });
    }
    const auto r = verify(s);
    INFO(describe(r));
    CHECK(reports(r, "G6", "c2", "has vector_count 7; the commit records 6"));
    CHECK_FALSE(reports_invariant(r, "C2"));  // 6 is still at least c1's 5
}

TEST_CASE("verify_consistency reports G8: a graph file of another commit or parent",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s, /*deltas=*/false);
    REQUIRE(verify(s).ok());
    SECTION("another commit") {
        rewrite_graph(s, "c2",
                      [](format::GraphHeader& h, format::GraphFileData&) { h.commit = "c9"; });
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "G8", "c2", "was written by commit 'c9', not by 'c2'"));
        CHECK(reports(r, "G8", "c3",
                      "was written by commit 'c9', not by 'c2' (the owner of the graph"));
    }
    SECTION("another parent") {
        rewrite_graph(s, "c2", [](format::GraphHeader& h, format::GraphFileData&) {
            h.parent = std::nullopt;
        });
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "G8", "c2", "names parent none; commit 'c2' has parent 'c1'"));
        CHECK(reports(r, "G8", "c3", "names parent none; commit 'c2' has parent 'c1'"));
    }
}

TEST_CASE("verify_consistency reports G9: a graph built with another ef_construction",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s, /*deltas=*/false);
    rewrite_graph(s, "c1",
                  [](format::GraphHeader& h, format::GraphFileData&) { h.ef_construction = 17; });
    const auto r = verify(s);
    INFO(describe(r));
    CHECK(reports(r, "G9", "c1", "has ef_construction 17; the domain records 200"));
    CHECK_FALSE(reports_invariant(r, "G8"));
    CHECK(r.problems.size() == 1);
}

TEST_CASE("verify_consistency reports K1: two live nodes with one key", "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s, /*deltas=*/false);
    rewrite_graph(s, "c1", [](format::GraphHeader&, format::GraphFileData& g) {
        const auto [first, second] = two_live_nodes(g);
        g.nodes[second].key = g.nodes[first].key;
    });
    const auto r = verify(s);
    INFO(describe(r));
    CHECK(reports(r, "K1", "c1", "is on live nodes "));
    CHECK(r.problems.size() == 1);
}

TEST_CASE("verify_consistency reports K2: a key past next_key or unknown to the keys table",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    SECTION("past next_key") {
        make_store(s, /*deltas=*/false);
        rewrite_graph(s, "c2", [](format::GraphHeader&, format::GraphFileData& g) {
            g.nodes[two_live_nodes(g).first].key = 9;
        });
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "K2", "c2", " key 9, not below the domain's next_key 6"));
        CHECK(reports(r, "K2", "c3", " key 9, not below the domain's next_key 6"));
        CHECK_FALSE(reports_invariant(r, "K1"));
    }
    SECTION("unknown to the keys table") {
        make_store(s);
        uint64_t key_of_c = 0;
        REQUIRE(verify(s).ok());
        {
            // The catalog's own reader would find the id; only the keys table loses it.
            const auto catalog = Catalog::open(s, false);
            key_of_c = *catalog->find_key(kDomain, "c");
        }
        {
            RawEnv raw(s + "/catalog");
            raw.put("keys", format::key_record_key(kDomain, key_of_c), std::nullopt);
        }
        const auto r = verify(s);
        INFO(describe(r));
        const std::string what =
            " key " + std::to_string(key_of_c) + ", which the catalog's keys table does not know";
        CHECK(reports(r, "K2", "c1", what));
        CHECK(reports(r, "K2", "c2", what));
        CHECK(reports(r, "K2", "c3", what));
    }
}

TEST_CASE("verify_consistency reports C1: a shared graph's record unlike its owner's",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s);
    SECTION("another owner") {
        {
            RawEnv raw(s + "/catalog");
            edit_commit(raw, "c3", [](format::CommitRecord& r) { r.graph_owner = "c1"; });
        }
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "C1", "c3",
                      "shares the graph of commit 'c1' but records another graph "
                      "chain"));
        CHECK(reports(r, "C1", "c3", "but records vector_count 7; the owner 5"));
    }
    SECTION("an owner the domain does not have") {
        {
            RawEnv raw(s + "/catalog");
            edit_commit(raw, "c3", [](format::CommitRecord& r) { r.graph_owner = "c0"; });
        }
        const auto r = verify(s);
        INFO(describe(r));
        CHECK(reports(r, "C1", "c3",
                      "shares the graph of commit 'c0', which the domain does not "
                      "have"));
    }
}

TEST_CASE("verify_consistency reports C2: a commit with fewer vectors than its parent",
          "[consistency]") {
    TempDir dir;
    const std::string s = dir.path().string();
    make_store(s);
    {
        RawEnv raw(s + "/catalog");
        edit_commit(raw, "c1", [](format::CommitRecord& r) { r.vector_count = 7; });
        edit_commit(raw, "c2", [](format::CommitRecord& r) { r.vector_count = 6; });
    }
    const auto r = verify(s);
    INFO(describe(r));
    CHECK(reports(r, "C2", "c2",
                  "records vector_count 6, below the vector_count 7 of its parent "
                  "'c1'"));
    SECTION("not when the parent was dropped") {
        {
            RawEnv raw(s + "/catalog");
            edit_commit(raw, "c2", [](format::CommitRecord& r) { r.parent_dropped = true; });
        }
        CHECK_FALSE(reports_invariant(verify(s), "C2"));
    }
}
