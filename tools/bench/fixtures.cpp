// vstore through its public API, and the data sets and builds several sections share.
#include <charconv>

#include "bench.h"
#include "peers.h"

namespace bench {

vstore::StoreOptions store_options(unsigned threads) {
    vstore::StoreOptions options;
    options.threads = threads;
    options.exact_threshold = 0;  // search() always goes through the graph
    return options;
}

BuiltStore build_store(const std::filesystem::path& dir, const std::vector<Item>& items,
                       uint32_t dim, Metric metric, unsigned threads, const std::string& commit) {
    std::filesystem::remove_all(dir);
    BuiltStore built;
    built.dir = dir;
    built.store = vstore::Store::create(dir.string(), store_options(threads));
    built.store->create_domain(
        kDomain, {.dimension = dim, .metric = metric, .m = 16, .ef_construction = 200});
    built.first = commit_changes(*built.store, commit, "", items, {}, dim);
    return built;
}

TimedCommit commit_changes(vstore::Store& store, const std::string& commit,
                           const std::string& parent, const std::vector<Item>& inserts,
                           const std::vector<uint64_t>& removes, uint32_t dim) {
    const auto start = Clock::now();
    auto builder = store.begin_commit(
        kDomain, commit, parent.empty() ? std::nullopt : std::optional<std::string>(parent));
    for (uint64_t label : removes)
        builder.remove(std::to_string(label));
    for (const Item& item : inserts)
        builder.insert(std::to_string(item.label), {item.data, dim});
    TimedCommit timed;
    timed.info = builder.finish();
    timed.seconds = seconds_since(start);
    return timed;
}

SearchFn vstore_searcher(const vstore::Snapshot& snapshot, size_t k, size_t ef) {
    const uint32_t dim = snapshot.domain().dimension;
    return [&snapshot, k, ef, dim](const float* query, std::vector<Hit>& out) {
        const auto hits = snapshot.search({query, dim}, k, ef);
        out.resize(hits.size());
        for (size_t i = 0; i < hits.size(); ++i) {
            uint64_t label = 0;
            std::from_chars(hits[i].id.data(), hits[i].id.data() + hits[i].id.size(), label);
            out[i] = {label, hits[i].distance};
        }
    };
}

void copy_store(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::filesystem::remove_all(to);
    std::filesystem::create_directories(to);
    for (const auto& e : std::filesystem::directory_iterator(from)) {
        const std::string name = e.path().filename().string();
        if (name == "catalog-lock" || name == "writer.lock" || !e.is_regular_file())
            continue;
        std::filesystem::copy_file(e.path(), to / name);
    }
}

// ---- Fixtures ----------------------------------------------------------------------------

Fixtures::Fixtures(const Config& config) : config_(config) {}
Fixtures::~Fixtures() = default;

const Vectors& Fixtures::fashion_base() {
    if (!fashion_base_) {
        fashion_base_ = std::make_unique<Vectors>(fashion_train(config_.fashion_base));
    }
    return *fashion_base_;
}

const Vectors& Fixtures::fashion_all_train() {
    if (!fashion_all_train_)
        fashion_all_train_ = std::make_unique<Vectors>(fashion_train(0));
    return *fashion_all_train_;
}

const Vectors& Fixtures::fashion_queries() {
    if (!fashion_queries_)
        fashion_queries_ = std::make_unique<Vectors>(fashion_test(0));
    return *fashion_queries_;
}

BuiltPair Fixtures::build_pair(const std::string& name, const Vectors& base, const Vectors& queries,
                               uint64_t query_count, Metric metric, const std::string& dir_name) {
    BuiltPair pair;
    pair.name = name;
    pair.metric = metric;
    pair.base = &base;
    pair.queries = &queries;
    pair.threads = config_.threads;
    const auto items = items_of(base);
    pair.truth =
        exact_ground_truth(config_, name, items, base.dim, metric, queries, query_count, 10);
    progress("build", name + ": hnswlib on " + std::to_string(config_.threads) + " threads");
    auto hnswlib = build_hnswlib(items, base.dim, metric, config_.threads);
    pair.hnswlib = std::move(hnswlib.index);
    pair.hnswlib_build_seconds = hnswlib.seconds;
    progress("build", name + ": hnswlib " + fixed(hnswlib.seconds, 2) + " s; vstore on " +
                          std::to_string(config_.threads) + " threads");
    pair.vstore =
        build_store(config_.scratch_dir / dir_name, items, base.dim, metric, config_.threads);
    pair.snapshot = pair.vstore.store->open_commit(kDomain, "base");
    progress("build", name + ": vstore " + fixed(pair.vstore.first.seconds, 2) + " s");
    return pair;
}

void Fixtures::build_npm_peers(BuiltPair& pair) {
    const auto items = items_of(*pair.base);
    const std::string threads = std::to_string(pair.threads);
    if (hnswlib08_available() && !pair.hnswlib08) {
        progress("build", pair.name + ": hnswlib 0.8 on " + threads + " threads");
        auto built = build_hnswlib08(items, pair.base->dim, pair.metric, pair.threads);
        pair.hnswlib08 = std::move(built.index);
        pair.hnswlib08_build_seconds = built.seconds;
        progress("build", pair.name + ": hnswlib 0.8 " + fixed(built.seconds, 2) + " s");
    }
    if (usearch_available() && !pair.usearch) {
        progress("build", pair.name + ": usearch on " + threads + " threads");
        auto built = build_usearch(items, pair.base->dim, pair.metric, pair.threads);
        pair.usearch = std::move(built.index);
        pair.usearch_build_seconds = built.seconds;
        progress("build", pair.name + ": usearch " + fixed(built.seconds, 2) + " s");
    }
}

BuiltPair& Fixtures::fashion() {
    if (!fashion_) {
        const Vectors& base = fashion_base();
        fashion_ = std::make_unique<BuiltPair>(build_pair(
            "Fashion-MNIST " + with_commas(base.rows) + " x " + std::to_string(base.dim) + " (l2)",
            base, fashion_queries(), config_.search_queries, Metric::kL2, "fashion-store"));
    }
    return *fashion_;
}

const Vectors& Fixtures::synthetic(uint64_t rows, bool cosine) {
    auto& slot = synthetic_[{rows, cosine}];
    if (!slot) {
        const auto start = Clock::now();
        slot = std::make_unique<Vectors>(
            synthetic_vectors(0, rows, kSyntheticDim, kSyntheticBaseSeed, cosine));
        progress("data", "synthetic " + with_commas(rows) + " x 128" +
                             (cosine ? " (normalized)" : "") + " generated in " +
                             fixed(seconds_since(start), 1) + " s");
    }
    return *slot;
}

const Vectors& Fixtures::synthetic_queries(bool cosine) {
    auto& slot = synthetic_queries_[cosine];
    if (!slot) {
        slot = std::make_unique<Vectors>(
            synthetic_vectors(0, 10000, kSyntheticDim, kSyntheticQuerySeed, cosine));
    }
    return *slot;
}

BuiltPair& Fixtures::synthetic_pair(uint64_t rows, bool cosine) {
    auto& slot = synthetic_pairs_[{rows, cosine}];
    if (!slot) {
        const Vectors& base = synthetic(rows, cosine);
        const std::string name =
            "synthetic " + with_commas(rows) + " x 128 (" + (cosine ? "cosine" : "l2") + ")";
        slot = std::make_unique<BuiltPair>(build_pair(
            name, base, synthetic_queries(cosine), config_.queries,
            cosine ? Metric::kCosine : Metric::kL2,
            "synthetic-" + std::to_string(rows) + (cosine ? "-cosine" : "-l2") + "-store"));
    }
    return *slot;
}

void Fixtures::release_synthetic(uint64_t rows, bool cosine) {
    auto it = synthetic_pairs_.find({rows, cosine});
    if (it != synthetic_pairs_.end()) {
        const auto dir = it->second->vstore.dir;
        synthetic_pairs_.erase(it);
        std::filesystem::remove_all(dir);
    }
    synthetic_.erase({rows, cosine});
}

}  // namespace bench
