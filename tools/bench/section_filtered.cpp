// Section "filtered": search restricted to a random subset of the ids (SearchFilter), at
// several selectivities: recall@10 and QPS of the filtered search beside the exact scan over
// the subset, and the graph search forced at every selectivity, which is how the crossover
// between the two (StoreOptions::filter_crossover) was chosen.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "bench.h"

namespace bench {

namespace {

constexpr size_t kK = 10;
constexpr size_t kEf = 64;  // Snapshot::search's default for k = 10

// The selectivities the issue sets targets at; the others map the crossover.
const std::vector<double> kTargetShares = {0.5, 0.1, 0.01, 0.001};
const std::vector<double> kShares = {0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.001};

struct Subset {
    double share = 0;
    std::vector<std::string> ids;
    GroundTruth truth;  // the exact 10 nearest within the subset
};

std::string percent(double share) {
    std::ostringstream s;
    s << share * 100 << " %";
    return s.str();
}

// A random subset of round(share * rows) labels (at least one), the same in every run, with
// the ground truth over just its vectors.
Subset make_subset(const Config& config, const BuiltPair& pair, double share, uint64_t queries) {
    const uint64_t rows = pair.base->rows;
    std::vector<uint64_t> labels(rows);
    std::iota(labels.begin(), labels.end(), uint64_t{0});
    std::mt19937_64 rng(20260 + static_cast<uint64_t>(share * 1e6));
    std::shuffle(labels.begin(), labels.end(), rng);
    labels.resize(std::max<uint64_t>(1, std::llround(share * double(rows))));
    std::sort(labels.begin(), labels.end());
    Subset s;
    s.share = share;
    std::vector<Item> items;
    for (uint64_t label : labels) {
        s.ids.push_back(std::to_string(label));
        items.push_back({label, pair.base->row(label)});
    }
    s.truth = exact_ground_truth(config, pair.name + " filtered " + percent(share), items,
                                 pair.base->dim, pair.metric, *pair.queries, queries, kK);
    return s;
}

void to_bench_hits(const std::vector<vstore::SearchHit>& hits, std::vector<Hit>& out) {
    out.resize(hits.size());
    for (size_t i = 0; i < hits.size(); ++i) {
        uint64_t label = 0;
        std::from_chars(hits[i].id.data(), hits[i].id.data() + hits[i].id.size(), label);
        out[i] = {label, hits[i].distance};
    }
}

SearchFn filtered_searcher(const vstore::Snapshot& snapshot, const vstore::SearchFilter& filter) {
    const uint32_t dim = snapshot.domain().dimension;
    return [&snapshot, &filter, dim](const float* query, std::vector<Hit>& out) {
        to_bench_hits(snapshot.search({query, dim}, kK, kEf, filter), out);
    };
}

SearchFn exact_searcher(const vstore::Snapshot& snapshot, const vstore::SearchFilter& filter) {
    const uint32_t dim = snapshot.domain().dimension;
    return [&snapshot, &filter, dim](const float* query, std::vector<Hit>& out) {
        to_bench_hits(snapshot.search_exact({query, dim}, kK, filter), out);
    };
}

// The rule of spec/search.md, "Filtered search", for the report's "path" column.
bool scans_exactly(uint64_t allowed, uint64_t live, const vstore::StoreOptions& o) {
    return allowed <= o.exact_threshold || kK >= allowed || kEf >= allowed ||
           double(allowed) <= o.filter_crossover * std::sqrt(double(kEf) * double(live));
}

struct Row {
    double share = 0;
    uint64_t allowed = 0;
    bool exact_path = false;
    SearchRun filtered, exact, graph;
};

}  // namespace

void section_filtered(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const vstore::Snapshot& snapshot = *pair.snapshot;
    const uint64_t queries = std::min(config.queries, pair.queries->rows);
    const vstore::StoreOptions options = store_options(config.threads);

    // The same commit in a store whose filtered searches always take the graph (when the
    // allowed set is wider than ef): LMDB opens a directory once per process, hence the copy.
    progress("filtered", "a copy of the store whose filtered searches always use the graph");
    const auto graph_dir = config.scratch_dir / "filtered-graph-store";
    copy_store(pair.vstore.dir, graph_dir);
    vstore::StoreOptions graph_options = options;
    graph_options.filter_crossover = 0;
    auto graph_store = vstore::Store::open(graph_dir.string(), graph_options);
    const auto graph_snapshot = graph_store->open_commit(kDomain, "base");

    std::vector<Row> rows;
    for (double share : kShares) {
        progress("filtered", "selectivity " + percent(share) + ": subset and its ground truth");
        const Subset subset = make_subset(config, pair, share, queries);
        const auto filter_start = Clock::now();
        const vstore::SearchFilter filter = snapshot.filter(subset.ids);
        const double filter_seconds = seconds_since(filter_start);
        const vstore::SearchFilter graph_filter = graph_snapshot->filter(subset.ids);
        Row row;
        row.share = share;
        row.allowed = filter.size();
        row.exact_path = scans_exactly(row.allowed, snapshot.size(), options);
        progress("filtered", "selectivity " + percent(share) + ": " + with_commas(row.allowed) +
                                 " allowed, filter made in " + fixed(filter_seconds * 1e3, 1) +
                                 " ms; searching");
        row.filtered =
            run_queries(*pair.queries, queries, subset.truth, filtered_searcher(snapshot, filter));
        row.exact =
            run_queries(*pair.queries, queries, subset.truth, exact_searcher(snapshot, filter));
        row.graph = run_queries(*pair.queries, queries, subset.truth,
                                filtered_searcher(*graph_snapshot, graph_filter));
        rows.push_back(row);
    }
    graph_store.reset();
    std::filesystem::remove_all(graph_dir);

    std::ostringstream out;
    out << "## Filtered search (" << pair.name << ")\n\n"
        << "`Snapshot::search(query, 10, 64, filter)` with a `SearchFilter` of a random subset "
           "of the ids, at each selectivity (share of the "
        << with_commas(pair.base->rows) << " items allowed), over " << with_commas(queries)
        << " test images, one query at a time on one thread; recall@10 against the exact 10 "
           "nearest within the subset. \"Exact scan\" is `search_exact(query, 10, filter)`, "
           "the brute force over the subset alone. \"Graph\" is the graph search forced "
           "(`filter_crossover = 0`): the other items navigate as tombstones but are never "
           "returned. The filtered search scans exactly when the allowed set is at most "
        << fixed(options.filter_crossover, 1) << " × sqrt(ef × live) = "
        << with_commas(static_cast<uint64_t>(options.filter_crossover *
                                             std::sqrt(double(kEf) * double(snapshot.size()))))
        << " items here, else it takes the graph.\n\n"
        << "| selectivity | allowed | path | recall@10 | QPS | exact scan QPS | filtered / "
           "exact | graph recall@10 | graph QPS |\n"
        << "|---:|---:|---|---:|---:|---:|---:|---:|---:|\n";
    for (const Row& r : rows) {
        const bool target =
            std::find(kTargetShares.begin(), kTargetShares.end(), r.share) != kTargetShares.end();
        const std::string share = target ? "**" + percent(r.share) + "**" : percent(r.share);
        out << "| " << share << " | " << with_commas(r.allowed) << " | "
            << (r.exact_path ? "exact" : "graph") << " | " << fixed(r.filtered.recall, 4) << " | "
            << fixed(r.filtered.qps, 1) << " | " << fixed(r.exact.qps, 1) << " | "
            << ratio(r.filtered.qps, r.exact.qps) << " | " << fixed(r.graph.recall, 4) << " | "
            << fixed(r.graph.qps, 1) << " |\n";
    }
    out << "\nThe selectivities in bold are the issue's targets. Where the graph's QPS "
           "passes the exact scan's is the crossover the rule encodes.\n";
    context.report.add_section(out.str());

    for (const Row& r : rows) {
        if (std::find(kTargetShares.begin(), kTargetShares.end(), r.share) == kTargetShares.end())
            continue;
        const bool met = r.filtered.recall >= 0.95 && r.filtered.qps >= r.exact.qps;
        context.report.add_target(
            {"filtered search at selectivity " + percent(r.share) +
                 ": recall@10 ≥ 0.95 and QPS ≥ the exact scan's over the subset",
             "recall " + fixed(r.filtered.recall, 4) + ", " + fixed(r.filtered.qps, 1) + " vs " +
                 fixed(r.exact.qps, 1) + " queries/s (" + (r.exact_path ? "exact" : "graph") +
                 " path)",
             met, ratio(r.filtered.qps, r.exact.qps) + "× the exact scan",
             met ? ""
                 : "Both runs of the exact path are the same scan: a ratio just below 1 is "
                   "the shared machine's noise. A graph path below the scan means the "
                   "crossover sits too low for this machine."});
    }
}

}  // namespace bench
