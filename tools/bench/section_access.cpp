// Sections "access" (LoadedVec reads, mapped vs pool, beside a plain array) and "replace"
// (the two replace strategies), as the README's Performance section quotes them.
#include <random>
#include <sstream>

#include "bench.h"
#include "vstore/vector_file.h"

namespace bench {

namespace {

// A distance-like reduction over one vector, so the reads cannot be optimised away and cost
// what a distance computation costs.
inline float squared_norm(const float* v, uint32_t dim) {
    float s = 0;
    for (uint32_t i = 0; i < dim; ++i)
        s += v[i] * v[i];
    return s;
}

struct AccessRow {
    std::string access;
    std::string mode;
    uint64_t reads;
    double seconds;
};

template <typename ReadOne>
AccessRow measure_access(const std::string& access, const std::string& mode,
                         const std::vector<uint64_t>& order, ReadOne read_one) {
    volatile float sink = 0;
    auto pass = [&] {
        float acc = 0;
        for (uint64_t n : order)
            acc += read_one(n);
        sink = acc;
    };
    pass();  // untimed: every mode starts from the same warm page cache and its own warm state
    const auto start = Clock::now();
    pass();
    (void)sink;
    return {access, mode, order.size(), seconds_since(start)};
}

}  // namespace

void section_access(SectionContext& context) {
    const Config& config = context.config;
    const Vectors& data = context.fixtures.fashion_base();
    const uint32_t dim = data.dim;
    const auto path = config.scratch_dir / "access.vecs";
    std::filesystem::remove(path);
    {
        vstore::VectorFileOptions writable;
        writable.writable = true;
        vstore::VectorFile::create(path.string(), "fashion-mnist", dim, writable)
            ->append(data.values);
    }
    const uint64_t vector_file_bytes = file_bytes(path);

    std::vector<uint64_t> sequential(data.rows);
    for (uint64_t i = 0; i < data.rows; ++i)
        sequential[i] = i;
    std::vector<uint64_t> random(config.access_random_reads);
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<uint64_t> pick(0, data.rows - 1);
    for (auto& n : random)
        n = pick(rng);

    auto mapped = vstore::VectorFile::open(path.string());
    vstore::VectorFileOptions whole;
    whole.mode = vstore::ServingMode::kPool;
    whole.pool_budget_bytes = vector_file_bytes + (size_t(1) << 20);
    auto pool_whole = vstore::VectorFile::open(path.string(), whole);
    vstore::VectorFileOptions quarter = whole;
    quarter.pool_budget_bytes = vector_file_bytes / 4;
    auto pool_quarter = vstore::VectorFile::open(path.string(), quarter);

    auto via_handle = [dim](const vstore::VectorFile& file) {
        return [&file, dim](uint64_t n) {
            const vstore::LoadedVec v = file.get(n);
            return squared_norm(v.data(), dim);
        };
    };
    std::vector<AccessRow> rows;
    for (const std::string access : {"sequential", "random"}) {
        progress("access", access + " reads");
        const auto& order = access == "sequential" ? sequential : random;
        rows.push_back(measure_access(access, "in-memory array (baseline)", order,
                                      [&](uint64_t n) { return squared_norm(data.row(n), dim); }));
        rows.push_back(measure_access(
            access, "mapped, mapped_vector() hot path", order,
            [&](uint64_t n) { return squared_norm(mapped->mapped_vector(n), dim); }));
        rows.push_back(measure_access(access, "mapped, LoadedVec", order, via_handle(*mapped)));
        rows.push_back(
            measure_access(access, "pool, budget = whole file", order, via_handle(*pool_whole)));
        rows.push_back(
            measure_access(access, "pool, budget = 1/4 of file", order, via_handle(*pool_quarter)));
    }

    std::ostringstream out;
    out << "## Vector file access (Fashion-MNIST, " << data.rows << " x " << dim << ", file "
        << vector_file_bytes / 1000000 << " MB)\n\n"
        << "Each read computes a squared norm over the whole vector (the cost of a distance), "
           "on one thread; each figure is the second of two passes, so every mode starts "
           "warm.\n\n"
        << "| access | mode | reads | vectors/s | GB/s | vs baseline |\n"
        << "|---|---|---:|---:|---:|---:|\n";
    double baseline = 0;
    for (const AccessRow& r : rows) {
        const double rate = r.reads / r.seconds;
        if (r.mode.rfind("in-memory", 0) == 0)
            baseline = rate;
        out << "| " << r.access << " | " << r.mode << " | " << r.reads << " | " << fixed(rate, 0)
            << " | " << fixed(rate * dim * 4 / 1e9, 2) << " | " << ratio(rate, baseline) << " |\n";
    }
    const auto stats = pool_quarter->pool_stats();
    out << "\nPool at 1/4 budget: " << stats.frame_count << " frames of " << stats.frame_bytes
        << " bytes; " << stats.hits << " hits, " << stats.misses << " misses, " << stats.evictions
        << " evictions.\n";
    context.report.add_section(out.str());
    mapped.reset();
    pool_whole.reset();
    pool_quarter.reset();
    std::filesystem::remove(path);
}

void section_replace(SectionContext& context) {
    const Config& config = context.config;
    const Vectors& base = context.fixtures.fashion_all_train();
    const Vectors& test = context.fixtures.fashion_queries();
    const uint32_t dim = base.dim;
    const uint64_t base_rows = std::min(config.replace_base, base.rows);
    const uint64_t replaced = std::min(config.replace_count, base_rows);
    const uint64_t queries = std::min<uint64_t>(config.queries, test.rows - replaced);
    // Queries from the end of the test set; the replacing vectors from its start.
    Vectors query_set;
    query_set.rows = queries;
    query_set.dim = dim;
    query_set.values.assign(test.row(test.rows - queries),
                            test.row(test.rows - queries) + queries * dim);

    std::ostringstream out;
    out << "## Replace strategies (Fashion-MNIST: " << base_rows << " items, " << replaced
        << " replaced by test images; recall@10 at ef=64 over " << queries << " queries)\n\n"
        << "| strategy | commit time (s) | recall@10 |\n|---|---:|---:|\n";
    std::optional<GroundTruth> truth;
    for (auto strategy :
         {vstore::ReplaceStrategy::kUpdate, vstore::ReplaceStrategy::kDeleteInsert}) {
        const bool update = strategy == vstore::ReplaceStrategy::kUpdate;
        progress("replace", update ? "updatePoint" : "delete, then insert");
        const auto dir = config.scratch_dir / "replace-store";
        std::filesystem::remove_all(dir);
        vstore::StoreOptions options = store_options(config.threads);
        options.replace_strategy = strategy;
        auto store = vstore::Store::create(dir.string(), options);
        store->create_domain(kDomain, {.dimension = dim});
        commit_changes(*store, "c1", "", items_of(base, 0, base_rows), {}, dim);
        const auto start = Clock::now();
        {
            auto builder = store->begin_commit(kDomain, "c2", "c1");
            for (uint64_t n = 0; n < replaced; ++n)
                builder.replace(std::to_string(n * (base_rows / replaced)), {test.row(n), dim});
            builder.finish();
        }
        const double seconds = seconds_since(start);
        if (!truth) {
            // The final set: base with every replaced label pointing at its test image.
            std::vector<Item> final_items = items_of(base, 0, base_rows);
            for (uint64_t n = 0; n < replaced; ++n)
                final_items[n * (base_rows / replaced)].data = test.row(n);
            truth = exact_ground_truth(config, "replace final set", final_items, dim, Metric::kL2,
                                       query_set, queries, 10);
        }
        auto snapshot = store->open_commit(kDomain, "c2");
        const SearchRun run =
            run_queries(query_set, queries, *truth, vstore_searcher(*snapshot, 10, 64), 0);
        out << "| " << (update ? "update (hnswlib updatePoint)" : "delete, then insert") << " | "
            << fixed(seconds, 2) << " | " << fixed(run.recall, 4) << " |\n";
        snapshot.reset();
        store.reset();
        std::filesystem::remove_all(dir);
    }
    context.report.add_section(out.str());
}

}  // namespace bench
