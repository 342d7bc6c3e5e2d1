// Sections "incremental" (1 % and 10 % insert commits on a base, against a rebuild) and
// "churn" (ten generations of deletes and inserts, against a fresh build and hnswlib's
// markDelete).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "bench.h"
#include "peers.h"

namespace bench {

namespace {

std::filesystem::path vector_file_of(const vstore::Store& store) {
    return std::filesystem::path(store.dir()) / store.domain(kDomain).vector_file;
}

struct IncrementalRow {
    std::string data;
    std::string commit;
    bool changes = true;  // false: a commit that changes nothing (no operations, or assign)
    uint64_t inserted = 0;
    double commit_seconds = 0, rebuild_seconds = 0;
    uint64_t bytes_added = 0, vector_bytes_added = 0, graph_file_bytes = 0, base_graph_bytes = 0;
    vstore::format::GraphKind graph_kind = vstore::format::GraphKind::kFull;
    bool graph_shared = false;  // no graph file written: the commit records another's
    uint32_t chain_depth = 0;
    double recall_commit = 0, recall_fresh = 0, qps_commit = 0, qps_fresh = 0;
    double graph_share() const { return double(graph_file_bytes) / double(base_graph_bytes); }
};

std::string graph_kind_text(const IncrementalRow& r) {
    if (r.graph_shared)
        return "none: the base's";
    return r.graph_kind == vstore::format::GraphKind::kFull
               ? "full"
               : "delta, depth " + std::to_string(r.chain_depth);
}

// Commits 1 % and 10 % of new items on a copy of the pair's store, each on the base, and
// builds each final set from scratch; then a commit of no operations on the base, and
// Store::assign of the base to a new commit.
std::vector<IncrementalRow> measure_incremental(SectionContext& context, BuiltPair& pair,
                                                const std::string& data_name,
                                                const Vectors& new_vectors,
                                                const Vectors& queries) {
    const Config& config = context.config;
    const uint32_t dim = pair.base->dim;
    const auto copy = config.scratch_dir / "incremental-store";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(pair.vstore.dir, copy, std::filesystem::copy_options::recursive);
    auto store = vstore::Store::open(copy.string(), store_options(config.threads));
    const vstore::CommitInfo base_info = store->commit(kDomain, "base");
    std::vector<IncrementalRow> rows;
    auto record = [&](IncrementalRow& row, const vstore::CommitInfo& info, uint64_t du_before,
                      uint64_t vectors_before) {
        row.bytes_added = directory_bytes(copy) - du_before;
        row.vector_bytes_added = file_bytes(vector_file_of(*store)) - vectors_before;
        row.graph_shared = info.graph_owner.has_value();
        row.graph_file_bytes = row.graph_shared ? 0 : info.graph_bytes;
        row.graph_kind = info.graph_kind;
        row.chain_depth = info.graph_chain.empty() ? 0 : uint32_t(info.graph_chain.size() - 1);
        row.base_graph_bytes = base_info.graph_bytes;
    };
    for (const uint64_t percent : {1, 10}) {
        IncrementalRow row;
        row.data = data_name;
        char label[32];
        std::snprintf(label, sizeof label, "+%llu %%", static_cast<unsigned long long>(percent));
        row.commit = label;
        row.inserted = pair.base->rows * percent / 100;
        const auto inserts = items_of(new_vectors, 0, row.inserted, pair.base->rows);
        const std::string commit = "plus" + std::to_string(percent);
        progress("incremental",
                 data_name + ": commit of " + with_commas(row.inserted) + " inserts on the base");
        const uint64_t du_before = directory_bytes(copy);
        const uint64_t vectors_before = file_bytes(vector_file_of(*store));
        const TimedCommit timed = commit_changes(*store, commit, "base", inserts, {}, dim);
        row.commit_seconds = timed.seconds;
        record(row, timed.info, du_before, vectors_before);

        std::vector<Item> final_items = items_of(*pair.base);
        final_items.insert(final_items.end(), inserts.begin(), inserts.end());
        progress("incremental", data_name + ": commit " + fixed(timed.seconds, 2) + " s, " +
                                    graph_kind_text(row) + " graph file of " +
                                    bytes_text(row.graph_file_bytes) + "; rebuild of " +
                                    with_commas(final_items.size()) + " items from scratch");
        auto fresh = build_store(config.scratch_dir / "incremental-fresh", final_items, dim,
                                 pair.metric, config.threads);
        row.rebuild_seconds = fresh.first.seconds;
        const GroundTruth truth =
            exact_ground_truth(config, data_name + " plus " + std::to_string(percent) + "pct",
                               final_items, dim, pair.metric, queries, config.queries, 10);
        auto committed = store->open_commit(kDomain, commit);
        auto rebuilt = fresh.store->open_commit(kDomain, "base");
        const SearchRun on_commit =
            run_queries(queries, truth.queries(), truth, vstore_searcher(*committed, 10, 64));
        const SearchRun on_fresh =
            run_queries(queries, truth.queries(), truth, vstore_searcher(*rebuilt, 10, 64));
        row.recall_commit = on_commit.recall;
        row.recall_fresh = on_fresh.recall;
        row.qps_commit = on_commit.qps;
        row.qps_fresh = on_fresh.qps;
        progress("incremental", data_name + ": rebuild " + fixed(row.rebuild_seconds, 2) +
                                    " s; recall@10 " + fixed(on_commit.recall, 4) + " vs " +
                                    fixed(on_fresh.recall, 4));
        committed.reset();
        rebuilt.reset();
        fresh.store.reset();
        std::filesystem::remove_all(fresh.dir);
        rows.push_back(row);
    }
    // Commits that change nothing: no operations on the base, and the base assigned to a new
    // commit (seed 002's /assign, for a git commit that touched no embeddings).
    for (const bool assign : {false, true}) {
        IncrementalRow row;
        row.data = data_name;
        row.commit = assign ? "`Store::assign`" : "no operations";
        row.changes = false;
        const uint64_t du_before = directory_bytes(copy);
        const uint64_t vectors_before = file_bytes(vector_file_of(*store));
        const auto start = Clock::now();
        vstore::CommitInfo info;
        if (assign) {
            info = store->assign(kDomain, "base", "assigned");
        } else {
            auto builder = store->begin_commit(kDomain, "unchanged", std::string("base"));
            info = builder.finish();
        }
        row.commit_seconds = seconds_since(start);
        record(row, info, du_before, vectors_before);
        progress("incremental", data_name + ": " + row.commit + " " +
                                    fixed(row.commit_seconds * 1000, 1) + " ms, " +
                                    bytes_text(row.bytes_added) + " added");
        rows.push_back(row);
    }
    store.reset();
    std::filesystem::remove_all(copy);
    return rows;
}

}  // namespace

void section_incremental(SectionContext& context) {
    const Config& config = context.config;
    std::vector<IncrementalRow> rows;
    {
        // New items: test images from the start of the test set; queries from its end.
        BuiltPair& fashion = context.fixtures.fashion();
        const Vectors& test = context.fixtures.fashion_queries();
        const Vectors queries = tail_rows(test, config.queries);
        const std::string name = "Fashion-MNIST " + with_commas(fashion.base->rows);
        auto fashion_rows = measure_incremental(context, fashion, name, test, queries);
        rows.insert(rows.end(), fashion_rows.begin(), fashion_rows.end());
    }
    if (config.big_synthetic > 0) {
        BuiltPair& big = context.fixtures.synthetic_pair(config.big_synthetic, false);
        const Vectors new_vectors = synthetic_vectors(big.base->rows, big.base->rows / 10,
                                                      kSyntheticDim, kSyntheticBaseSeed, false);
        auto big_rows =
            measure_incremental(context, big, "synthetic " + with_commas(big.base->rows),
                                new_vectors, context.fixtures.synthetic_queries(false));
        rows.insert(rows.end(), big_rows.begin(), big_rows.end());
    }

    std::ostringstream out;
    out << "## Incremental commit: inserts on a base commit\n\n"
        << "A commit of 1 % and one of 10 % new items, each on the base commit (Fashion-MNIST: "
           "test images as the new items, the last "
        << with_commas(config.queries)
        << " test images as queries), against building the final set from scratch as a "
           "first commit (both on "
        << config.threads
        << " threads, default graph policy: a delta over the parent's graph file when it "
           "pays). Then two commits that change nothing, each on the base: one with no "
           "operations (`begin_commit` and `finish`), and `Store::assign` of the base to a new "
           "commit. Bytes added: the store directory's allocated size (as `du` counts it, so "
           "the catalog is in it) after the commit less before; of it, the vector file's "
           "growth and the graph file the commit wrote (none when it records the base's). "
           "Graph file / base's full file: the graph bytes the commit wrote as a share of the "
           "base commit's full graph file. Recall@10 and QPS at ef = 64 on the commit and on "
           "the rebuilt set.\n\n"
        << "| data | commit | inserted | commit (s) | rebuild (s) | commit / rebuild | bytes "
           "added | vector file growth | graph file written | graph kind | graph file / base's "
           "full file | bytes added / base's graph file | recall commit | recall rebuild | QPS "
           "commit / rebuild |\n"
        << "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n";
    for (const auto& r : rows) {
        out << "| " << r.data << " | " << r.commit << " | " << with_commas(r.inserted) << " | "
            << (r.changes ? fixed(r.commit_seconds, 2) : fixed(r.commit_seconds, 4)) << " | "
            << (r.changes ? fixed(r.rebuild_seconds, 2) : "") << " | "
            << (r.changes ? ratio(r.commit_seconds, r.rebuild_seconds) : "") << " | "
            << bytes_text(r.bytes_added) << " | " << bytes_text(r.vector_bytes_added) << " | "
            << bytes_text(r.graph_file_bytes) << " | " << graph_kind_text(r) << " | "
            << fixed(r.graph_share() * 100, 1) << " % | "
            << ratio(double(r.bytes_added), double(r.base_graph_bytes)) << " | "
            << (r.changes ? fixed(r.recall_commit, 4) : "") << " | "
            << (r.changes ? fixed(r.recall_fresh, 4) : "") << " | "
            << (r.changes ? ratio(r.qps_commit, r.qps_fresh) : "") << " |\n";
    }
    out << "\nThe base's full graph file:";
    for (size_t i = 0; i < rows.size(); ++i) {
        if (i == 0 || rows[i].data != rows[i - 1].data)
            out << (i ? ";" : "") << " " << bytes_text(rows[i].base_graph_bytes) << " ("
                << rows[i].data << ")";
    }
    out << ".\n";
    context.report.add_section(out.str());

    const IncrementalRow& one = rows.front();  // Fashion-MNIST, +1 %
    const double time_share = one.commit_seconds / one.rebuild_seconds;
    context.report.add_target(
        {"1 % commit ≤ 5 % of a full rebuild (" + one.data + ")",
         fixed(one.commit_seconds, 2) + " s vs " + fixed(one.rebuild_seconds, 2) +
             " s: " + fixed(time_share * 100, 1) + " %",
         time_share <= 0.05, fixed(time_share / 0.05, 2) + "× the allowed share",
         "a commit copies the parent's whole graph into hnswlib's in-memory structures, "
         "applies the batch, walks layer 0 to check that every live node is reachable, then "
         "compares every node's lists with the base's to write the delta (or encodes a whole "
         "full file): work in proportion to the graph, not to the batch. Closing it: a graph "
         "kept loaded between commits (copy-on-write) and a diff that visits only the nodes "
         "the batch touched."});
    // Graph bytes: the share of a full file that 1 % and 10 % commits may write.
    for (const auto& r : rows) {
        if (!r.changes)
            continue;
        const bool one_percent = r.commit == "+1 %";
        const double allowed = one_percent ? 0.10 : 0.40;
        const double share = r.graph_share();
        context.report.add_target(
            {"graph bytes a " + std::string(one_percent ? "1" : "10") + " % commit adds ≤ " +
                 fixed(allowed * 100, 0) + " % of a full graph file (" + r.data + ")",
             bytes_text(r.graph_file_bytes) + " (" + graph_kind_text(r) + ") vs " +
                 bytes_text(r.base_graph_bytes) + ": " + fixed(share * 100, 1) +
                 " % (store growth " + bytes_text(r.bytes_added) + ", of it new vectors " +
                 bytes_text(r.vector_bytes_added) + ")",
             share <= allowed, fixed(share / allowed, 2) + "× the allowed bytes",
             "a delta holds every new node's lists and, for every older node whose list an "
             "insert changed, the list from the first link that differs (hnswlib's neighbour "
             "selection reorders or shortens a list it touches, so the kept prefix is often "
             "short). Closing it: lists changed in place written as edits rather than tails, "
             "and new nodes' records without their unused slots."});
    }
    // Commits that change nothing, per data set: the larger of the two.
    for (size_t i = 0; i + 1 < rows.size(); ++i) {
        if (rows[i].changes || rows[i + 1].changes || rows[i].data != rows[i + 1].data)
            continue;
        const IncrementalRow& none = rows[i];
        const IncrementalRow& assign = rows[i + 1];
        const uint64_t most = std::max(none.bytes_added, assign.bytes_added);
        context.report.add_target(
            {"a commit that changes nothing adds ≤ 4 KiB (" + none.data + ")",
             "no operations: " + bytes_text(none.bytes_added) + ", `Store::assign`: " +
                 bytes_text(assign.bytes_added) + " (graph files written: " +
                 bytes_text(none.graph_file_bytes + assign.graph_file_bytes) + ")",
             most <= 4096,
             most <= 4096 ? bytes_text(4096 - most) + " to spare"
                          : bytes_text(most - 4096) + " over",
             "no graph file is written, but the catalog (LMDB) grows: a commit record and the "
             "B-tree pages its write transaction copies take new pages when the free list has "
             "none to reuse, and du counts the file's allocated blocks. Closing it: a catalog "
             "map whose pages are preallocated, or a measure of the file's used pages."});
        ++i;
    }
}

// ---- churn ---------------------------------------------------------------------------------

namespace {

// "g7": the commit of generation 7. (snprintf: g++ 12 warns falsely on "g" + to_string.)
std::string generation_commit(unsigned g) {
    char name[16];
    std::snprintf(name, sizeof name, "g%u", g);
    return name;
}

struct Generation {
    unsigned number = 0;
    uint64_t live = 0, deleted = 0, inserted = 0;
    double commit_seconds = 0, fresh_seconds = 0, hnswlib_seconds = 0;
    uint64_t tombstones = 0, hnswlib_deleted = 0;
    bool compacted = false;
    SearchRun vstore, fresh, hnswlib;
};

}  // namespace

void section_churn(SectionContext& context) {
    const Config& config = context.config;
    const Vectors& train = context.fixtures.fashion_all_train();
    const Vectors& test = context.fixtures.fashion_queries();
    const uint32_t dim = train.dim;
    const uint64_t base_rows =
        std::min<uint64_t>(config.churn_base, train.rows / (1.0 + 0.05 * config.churn_generations));
    const uint64_t per_generation = base_rows / 20;  // 5 %
    const Vectors queries = tail_rows(test, config.queries);
    constexpr size_t kEf = 64;

    // Labels are rows of the training set; new items come after the base, in order.
    std::vector<uint64_t> live(base_rows);
    for (uint64_t i = 0; i < base_rows; ++i)
        live[i] = i;
    uint64_t next_new = base_rows;
    auto items_for = [&](const std::vector<uint64_t>& labels) {
        std::vector<Item> items;
        items.reserve(labels.size());
        for (uint64_t label : labels)
            items.push_back({label, train.row(label)});
        return items;
    };

    progress("churn", "base of " + with_commas(base_rows) + " (vstore and hnswlib)");
    auto vstore_store = build_store(config.scratch_dir / "churn-store", items_for(live), dim,
                                    Metric::kL2, config.threads, "g0");
    auto hnswlib = build_hnswlib(items_for(live), dim, Metric::kL2, config.threads,
                                 base_rows + per_generation * config.churn_generations)
                       .index;
    hnswlib->set_ef(kEf);
    std::mt19937_64 rng(42);
    std::vector<Generation> generations;
    for (unsigned g = 0; g <= config.churn_generations; ++g) {
        Generation gen;
        gen.number = g;
        std::vector<uint64_t> removed;
        std::vector<Item> inserted;
        if (g > 0) {
            std::shuffle(live.begin(), live.end(), rng);
            removed.assign(live.end() - per_generation, live.end());
            live.resize(live.size() - per_generation);
            for (uint64_t i = 0; i < per_generation; ++i) {
                inserted.push_back({next_new, train.row(next_new)});
                live.push_back(next_new++);
            }
            const TimedCommit commit =
                commit_changes(*vstore_store.store, generation_commit(g), generation_commit(g - 1),
                               inserted, removed, dim);
            gen.commit_seconds = commit.seconds;
            gen.tombstones = commit.info.tombstone_count;
            gen.compacted = commit.info.compacted;
            const auto start = Clock::now();
            for (uint64_t label : removed)
                hnswlib->mark_deleted(label);
            hnswlib->add(inserted, config.threads);
            gen.hnswlib_seconds = seconds_since(start);
        } else {
            gen.commit_seconds = vstore_store.first.seconds;
            gen.tombstones = vstore_store.first.info.tombstone_count;
        }
        gen.live = live.size();
        gen.deleted = removed.size();
        gen.inserted = inserted.size();
        gen.hnswlib_deleted = hnswlib->deleted_count();
        std::vector<uint64_t> sorted_live = live;
        std::sort(sorted_live.begin(), sorted_live.end());
        const auto live_items = items_for(sorted_live);
        const GroundTruth truth =
            exact_ground_truth(config, "churn generation " + std::to_string(g), live_items, dim,
                               Metric::kL2, queries, config.queries, 10);
        auto fresh = build_store(config.scratch_dir / "churn-fresh", live_items, dim, Metric::kL2,
                                 config.threads);
        gen.fresh_seconds = fresh.first.seconds;
        auto snapshot = vstore_store.store->open_commit(kDomain, generation_commit(g));
        auto fresh_snapshot = fresh.store->open_commit(kDomain, "base");
        gen.vstore =
            run_queries(queries, truth.queries(), truth, vstore_searcher(*snapshot, 10, kEf));
        gen.fresh =
            run_queries(queries, truth.queries(), truth, vstore_searcher(*fresh_snapshot, 10, kEf));
        gen.hnswlib = run_queries(queries, truth.queries(), truth, hnswlib_searcher(*hnswlib, 10));
        progress("churn",
                 "generation " + std::to_string(g) + ": recall vstore " +
                     fixed(gen.vstore.recall, 4) + ", fresh " + fixed(gen.fresh.recall, 4) +
                     ", hnswlib " + fixed(gen.hnswlib.recall, 4) + "; tombstones " +
                     std::to_string(gen.tombstones) + (gen.compacted ? " (compacted)" : ""));
        fresh_snapshot.reset();
        fresh.store.reset();
        std::filesystem::remove_all(fresh.dir);
        generations.push_back(gen);
    }
    vstore_store.store.reset();
    std::filesystem::remove_all(vstore_store.dir);

    std::ostringstream out;
    out << "## Churn: " << config.churn_generations << " generations of 5 % deletes and 5 % "
        << "inserts\n\n"
        << "Fashion-MNIST: a base of the first " << with_commas(base_rows)
        << " training images; each generation deletes " << with_commas(per_generation)
        << " live ids at random (so both layer-0-only and upper-layer nodes) and inserts as "
           "many new training images, as one vstore commit on the previous one. Beside it: a "
           "fresh vstore build of the same live set (first commit, "
        << config.threads
        << " threads), and hnswlib with `markDelete` for the deleted and `addPoint` for the "
           "new (never reusing deleted slots). Recall@10 and QPS at ef = "
        << kEf << " over the last " << with_commas(config.queries)
        << " test images, one thread, against the exact neighbours in the live set of each "
           "generation. Tombstones: vstore's graph after the commit (it compacts when they "
           "exceed 10 % of its nodes); hnswlib: marked-deleted elements.\n\n"
        << "| gen | live | vstore commit (s) | fresh build (s) | vstore tombstones | hnswlib "
           "deleted | recall vstore | recall fresh | recall hnswlib | QPS vstore | QPS fresh | "
           "QPS hnswlib | QPS vstore / fresh |\n"
        << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    std::ostringstream recall_data, qps_data;
    recall_data << "# generation vstore fresh hnswlib\n";
    qps_data << "# generation vstore fresh hnswlib\n";
    for (const auto& gen : generations) {
        out << "| " << gen.number << " | " << with_commas(gen.live) << " | "
            << fixed(gen.commit_seconds, 2) << (gen.compacted ? " (compacted)" : "") << " | "
            << fixed(gen.fresh_seconds, 2) << " | " << gen.tombstones << " | "
            << gen.hnswlib_deleted << " | " << fixed(gen.vstore.recall, 4) << " | "
            << fixed(gen.fresh.recall, 4) << " | " << fixed(gen.hnswlib.recall, 4) << " | "
            << fixed(gen.vstore.qps, 0) << " | " << fixed(gen.fresh.qps, 0) << " | "
            << fixed(gen.hnswlib.qps, 0) << " | " << ratio(gen.vstore.qps, gen.fresh.qps) << " |\n";
        recall_data << gen.number << " " << gen.vstore.recall << " " << gen.fresh.recall << " "
                    << gen.hnswlib.recall << "\n";
        qps_data << gen.number << " " << gen.vstore.qps << " " << gen.fresh.qps << " "
                 << gen.hnswlib.qps << "\n";
    }
    out << "\n![churn: recall by generation](churn-recall.png) ![churn: QPS by "
           "generation](churn-qps.png)\n";
    context.report.add_section(out.str());

    const Generation& last = generations.back();
    const double recall_gap = last.fresh.recall - last.vstore.recall;
    context.report.add_target(
        {"churn: recall within 0.01 of a fresh build after " +
             std::to_string(config.churn_generations) + " generations",
         fixed(last.vstore.recall, 4) + " vs fresh " + fixed(last.fresh.recall, 4),
         recall_gap <= 0.01,
         (std::abs(recall_gap) < 5e-5 ? std::string("equal to 4 decimals")
          : recall_gap < 0            ? "vstore higher by " + fixed(-recall_gap, 4)
                                      : "lower by " + fixed(recall_gap, 4)),
         "nodes removed from layer 0 leave their neighbours relinked from a local candidate "
         "set, and tombstones stay in the upper layers until compaction: the graph drifts from "
         "what a fresh build makes. Closing it: relinking with a search from the entry point "
         "(as an insert does) rather than from the removed node's neighbours only, or a lower "
         "compaction threshold."});
    const double qps_share = last.vstore.qps / last.fresh.qps;
    context.report.add_target(
        {"churn: QPS ≥ 0.9 × fresh after " + std::to_string(config.churn_generations) +
             " generations",
         fixed(last.vstore.qps, 0) + " vs " + fixed(last.fresh.qps, 0) + ": " +
             fixed(qps_share, 2) + "×",
         qps_share >= 0.9, fixed((qps_share - 0.9) * 100, 0) + " points vs the 0.90 bar",
         "tombstoned nodes are still visited (they serve navigation but fill no result slot) "
         "and the vectors of new nodes lie at the end of the file, away from their "
         "neighbours'. Closing it: compaction at a lower tombstone share, or excluding "
         "tombstones from the layer-0 candidate lists."});

    auto plot = [&](const std::string& name, const std::string& ylabel, const std::string& data,
                    bool log_y) {
        Plot p;
        p.name = name;
        p.data_files.push_back({name + ".dat", data});
        p.gnuplot =
            "set title 'Churn on Fashion-MNIST: 5 % deleted and 5 % inserted per "
            "generation (ef = 64)'\nset xlabel 'generation'\nset ylabel '" +
            ylabel + "'\nset grid\nset key bottom left\n" + (log_y ? "set logscale y\n" : "") +
            "plot '" + name +
            ".dat' using 1:2 with linespoints lw 2 title 'vstore (commits)', '' using "
            "1:3 with linespoints lw 2 title 'fresh build', '' using 1:4 with "
            "linespoints lw 2 title 'hnswlib markDelete'\n";
        context.plots.push_back(p);
    };
    plot("churn-recall", "recall@10", recall_data.str(), false);
    plot("churn-qps", "queries per second", qps_data.str(), true);
}

}  // namespace bench
