// Makes a small, known store for the command-line tests, through the public library API only
// (so the tests do not depend on the `vstore` commands that build stores):
//   domain "d": dimension 8, l2, M 16, ef_construction 200
//   commit c1:         insert v0 .. v299 (300 seeded random vectors)
//   commit c2 on c1:   delete v0 .. v29, replace v30 .. v39, insert v300 .. v349
// so c2 has 320 live items, +50 -30 ~10; c2's graph is a delta over c1's full file.
// Usage: vstore-make-small-store DIR   (DIR must not hold a store yet)
//
// Also, for the checks `inspect --verify` makes beyond the format's, a full graph file of
// format 2 in which every checksum and graph rule holds but that vstore would never write:
// node 2 is live and no node links to it, and node 1 lists node 0 twice (node 3 is removed).
// Usage: vstore-make-small-store --odd-graph FILE
// The same with node 0 linking to node 2 too, so that only the duplicate is odd:
// Usage: vstore-make-small-store --duplicate-link-graph FILE
//
// And a store whose commit c2 replaces every id of c1 (domain "r", M 2, every graph a full
// file, no compaction), so that c2's graph file has tombstones that keep the key of a live
// node (spec/graph-file.md, "Keys").
// Usage: vstore-make-small-store --replaced DIR
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vstore/format/graph_file_v2.h"
#include "vstore/store.h"

namespace {

constexpr uint32_t kDimension = 8;

// Seeded, so every run makes the same vectors.
class VectorSource {
  public:
    explicit VectorSource(uint64_t seed) : rng_(seed) {}
    std::vector<float> next() {
        std::vector<float> v(kDimension);
        for (auto& x : v)
            x = uniform_(rng_);
        return v;
    }

  private:
    std::mt19937_64 rng_;
    std::uniform_real_distribution<float> uniform_{-1.0f, 1.0f};
};

// "v<n>". Appended, not `"v" + std::to_string(n)`: g++ 12 warns falsely (-Wrestrict) there.
std::string id(int n) {
    std::string id = "v";
    id += std::to_string(n);
    return id;
}

void print(const vstore::CommitInfo& c) {
    std::printf("%s: live %llu, tombstones %llu, +%llu -%llu ~%llu, %s\n", c.commit.c_str(),
                static_cast<unsigned long long>(c.live_count),
                static_cast<unsigned long long>(c.tombstone_count),
                static_cast<unsigned long long>(c.inserted),
                static_cast<unsigned long long>(c.deleted),
                static_cast<unsigned long long>(c.replaced), c.graph_file.c_str());
}

}  // namespace

// The odd graph as a format-2 full file, written with encode_full_graph, which checks none of
// the graph rules; verify_full_graph accepts it (duplicates and reachability are not rules).
// Node 3 is removed: an empty slot, which the counts show and the walk must not miss. With
// `reachable`, node 0 links to node 2 too: only the duplicate is odd.
class OddGraph : public vstore::format::GraphSource {
  public:
    explicit OddGraph(bool reachable) : links_(reachable ? kReachable : kLinks) {}
    uint64_t node_count() const override { return kLinks.size(); }
    uint64_t vector_index(uint32_t node) const override { return node == 3 ? 0 : node; }
    uint64_t key(uint32_t node) const override { return node; }
    uint32_t level(uint32_t) const override { return 0; }
    uint8_t flags(uint32_t node) const override {
        return node == 3 ? vstore::format::kNodeRemoved : 0;
    }
    std::span<const uint32_t> links(uint32_t node, uint32_t layer) const override {
        if (layer != 0)
            return {};
        return links_[node];
    }

  private:
    // Node 1 lists node 0 twice; no node links to node 2 (but in kReachable, node 0).
    inline static const std::vector<std::vector<uint32_t>> kLinks = {{1}, {0, 0}, {0}, {}};
    inline static const std::vector<std::vector<uint32_t>> kReachable = {{1, 2}, {0, 0}, {0}, {}};
    const std::vector<std::vector<uint32_t>>& links_;
};

void write_odd_graph(const std::string& path, bool reachable) {
    vstore::format::GraphHeader h;
    h.domain = "d";
    h.commit = "odd";
    h.dimension = kDimension;
    h.m = 16;
    h.vector_count = 3;
    h.created_unix_ms = 1700000000000;
    h.entry_point = 0;
    h.max_level = 0;
    const auto bytes = vstore::format::encode_full_graph(h, OddGraph(reachable));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out.flush())
        throw std::runtime_error("cannot write '" + path + "'");
}

// M 2 puts half the nodes in layer 1 and above, where a replaced node stays as a tombstone.
void write_replaced_store(const std::string& dir) {
    vstore::StoreOptions options;
    options.graph_policy.deltas = false;
    options.tombstone_threshold = 1;
    auto store = vstore::Store::create(dir, options);
    store->create_domain(
        "r", {.dimension = kDimension, .metric = vstore::Metric::kL2, .m = 2, .ef_construction = 20});
    VectorSource vectors(20240502);
    auto c1 = store->begin_commit("r", "c1", std::nullopt);
    for (int n = 0; n < 40; ++n)
        c1.insert(id(n), vectors.next());
    print(c1.finish());
    auto c2 = store->begin_commit("r", "c2", "c1");
    for (int n = 0; n < 40; ++n)
        c2.replace(id(n), vectors.next());
    print(c2.finish());
}

int main(int argc, char** argv) {
    const bool odd_graph = argc == 3 && std::strcmp(argv[1], "--odd-graph") == 0;
    const bool duplicate_link = argc == 3 && std::strcmp(argv[1], "--duplicate-link-graph") == 0;
    const bool replaced = argc == 3 && std::strcmp(argv[1], "--replaced") == 0;
    if (argc != 2 && !odd_graph && !duplicate_link && !replaced) {
        std::fprintf(stderr,
                     "usage: %s DIR | --odd-graph FILE | --duplicate-link-graph FILE | "
                     "--replaced DIR\n",
                     argv[0]);
        return 2;
    }
    try {
        if (odd_graph || duplicate_link) {
            write_odd_graph(argv[2], /*reachable=*/duplicate_link);
            return 0;
        }
        if (replaced) {
            write_replaced_store(argv[2]);
            return 0;
        }
        // c2 changes 30 % of c1, past the default chain policy's share for a delta: the tests
        // want c2 to be a delta over c1's full file, so any delta is kept.
        vstore::StoreOptions options;
        options.graph_policy.max_delta_share = 1;
        auto store = vstore::Store::create(argv[1], options);
        store->create_domain("d", {.dimension = kDimension,
                                   .metric = vstore::Metric::kL2,
                                   .m = 16,
                                   .ef_construction = 200});
        VectorSource vectors(20240501);

        auto c1 = store->begin_commit("d", "c1", std::nullopt);
        for (int n = 0; n < 300; ++n)
            c1.insert(id(n), vectors.next());
        print(c1.finish());

        auto c2 = store->begin_commit("d", "c2", "c1");
        for (int n = 0; n < 30; ++n)
            c2.remove(id(n));
        for (int n = 30; n < 40; ++n)
            c2.replace(id(n), vectors.next());
        for (int n = 300; n < 350; ++n)
            c2.insert(id(n), vectors.next());
        print(c2.finish());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vstore-make-small-store: %s\n", e.what());
        return 1;
    }
}
