// Sections "build" (first commit vs hnswlib and the npm peers, 1 and N threads), "search" (the
// recall/QPS curve beside hnswlib 0.6.2, FAISS, hnswlib 0.8 and usearch) and "growth" (beside
// hnswlib on synthetic sets of growing size).
#include <algorithm>
#include <sstream>

#include "bench.h"
#include "peers.h"

namespace bench {

namespace {

const double kRecallLevels[] = {0.90, 0.95, 0.99};

struct NamedCurve {
    std::string system;
    Curve curve;
};

std::string qps_text(const QpsAtRecall& at) {
    if (!at.qps)
        return "not reached";
    return (at.at_first ? "≥ " : "") + fixed(*at.qps, 0);
}

// "vstore / peer" at one recall level, with a note when the smallest ef already passed it.
std::string qps_ratio_text(const QpsAtRecall& mine, const QpsAtRecall& peer) {
    if (!mine.qps || !peer.qps)
        return "n/a";
    return ratio(*mine.qps, *peer.qps) + (mine.at_first || peer.at_first ? " (at ef=10)" : "");
}

// Measures the curves of several systems, ef by ef, the systems taking turns at each ef so
// that a change of load on the machine touches all of them alike. Each ef is measured in
// `rounds` rounds of turns and each system's median QPS kept, so that one interrupted
// measurement cannot decide a ratio.
struct Contender {
    std::string system;
    std::function<SearchFn(size_t ef)> searcher_at;
};

std::vector<NamedCurve> measure_curves(const std::string& section, const BuiltPair& pair,
                                       uint64_t query_count,
                                       const std::vector<Contender>& contenders, int rounds) {
    std::vector<NamedCurve> curves;
    for (const auto& c : contenders)
        curves.push_back({c.system, {}});
    for (size_t ef : kEfSweep) {
        std::vector<std::vector<SearchRun>> runs(contenders.size());
        for (int round = 0; round < rounds; ++round) {
            for (size_t i = 0; i < contenders.size(); ++i) {
                runs[i].push_back(run_queries(*pair.queries, query_count, pair.truth,
                                              contenders[i].searcher_at(ef)));
            }
        }
        std::string line = "ef=" + std::to_string(ef);
        for (size_t i = 0; i < contenders.size(); ++i) {
            auto& r = runs[i];
            std::sort(r.begin(), r.end(),
                      [](const SearchRun& a, const SearchRun& b) { return a.qps < b.qps; });
            const SearchRun& median = r[r.size() / 2];
            curves[i].curve.push_back({ef, median.recall, median.qps});
            line += "  " + contenders[i].system + " " + fixed(median.recall, 4) + " @ " +
                    fixed(median.qps, 0) + "/s";
        }
        progress(section, line);
    }
    return curves;
}

// Rounds of measure_curves: three in a full run, one in --quick.
int search_rounds(const Config& config) {
    return config.quick ? 1 : 3;
}

std::string curve_table(const std::vector<NamedCurve>& curves) {
    std::ostringstream out;
    out << "| ef |";
    for (const auto& c : curves)
        out << " " << c.system << " recall@10 | " << c.system << " QPS |";
    for (size_t i = 1; i < curves.size(); ++i)
        out << " QPS vstore / " << curves[i].system << " |";
    out << "\n|---:|";
    for (size_t i = 0; i < curves.size(); ++i)
        out << "---:|---:|";
    for (size_t i = 1; i < curves.size(); ++i)
        out << "---:|";
    out << "\n";
    for (size_t p = 0; p < kEfSweep.size(); ++p) {
        out << "| " << kEfSweep[p] << " |";
        for (const auto& c : curves)
            out << " " << fixed(c.curve[p].recall, 4) << " | " << fixed(c.curve[p].qps, 0) << " |";
        for (size_t i = 1; i < curves.size(); ++i)
            out << " " << ratio(curves[0].curve[p].qps, curves[i].curve[p].qps) << " |";
        out << "\n";
    }
    return out.str();
}

std::string recall_level_table(const std::vector<NamedCurve>& curves) {
    std::ostringstream out;
    out << "| recall@10 |";
    for (const auto& c : curves)
        out << " " << c.system << " QPS |";
    for (size_t i = 1; i < curves.size(); ++i)
        out << " vstore / " << curves[i].system << " |";
    out << "\n|---:|";
    for (size_t i = 0; i < 2 * curves.size() - 1; ++i)
        out << "---:|";
    out << "\n";
    for (double level : kRecallLevels) {
        out << "| " << fixed(level, 2) << " |";
        std::vector<QpsAtRecall> at;
        for (const auto& c : curves) {
            at.push_back(qps_at_recall(c.curve, level));
            out << " " << qps_text(at.back()) << " |";
        }
        for (size_t i = 1; i < curves.size(); ++i)
            out << " " << qps_ratio_text(at[0], at[i]) << " |";
        out << "\n";
    }
    return out.str();
}

std::string curve_data(const Curve& curve) {
    std::ostringstream out;
    out << "# ef recall qps\n";
    for (const auto& p : curve)
        out << p.ef << " " << p.recall << " " << p.qps << "\n";
    return out.str();
}

// With `paired`, curves come as (vstore, peer) per data set and each pair shares a colour.
Plot recall_qps_plot(const std::string& name, const std::string& title,
                     const std::vector<NamedCurve>& curves, bool paired = false) {
    Plot plot;
    plot.name = name;
    std::ostringstream script;
    script << "set title '" << title << "'\n"
           << "set xlabel 'recall@10'\nset ylabel 'queries per second (one thread, log scale)'\n"
           << "set logscale y\nset grid\nset key bottom left\n"
           << "plot ";
    for (size_t i = 0; i < curves.size(); ++i) {
        std::string file = name + "-" + curves[i].system + ".dat";
        std::replace(file.begin(), file.end(), ' ', '-');
        plot.data_files.push_back({file, curve_data(curves[i].curve)});
        // The peers dashed, vstore solid; one colour per data set when several are plotted.
        const bool peer = curves[i].system.rfind("vstore", 0) != 0;
        script << (i ? ", " : "") << "'" << file << "' using 2:3 with linespoints lw 2 dt "
               << (peer ? 2 : 1) << " lc " << (paired ? i / 2 + 1 : i + 1) << " title '"
               << curves[i].system << "'";
    }
    script << "\n";
    plot.gnuplot = script.str();
    return plot;
}

void add_ratio_targets(Report& report, const std::vector<NamedCurve>& curves,
                       const std::string& data_name) {
    for (double level : {0.95, 0.99}) {
        Target t;
        t.what = "search QPS vstore / hnswlib ≥ 1.0 at recall " + fixed(level, 2) + " (" +
                 data_name + ")";
        const auto mine = qps_at_recall(curves[0].curve, level);
        const auto peer = qps_at_recall(curves[1].curve, level);
        if (mine.qps && peer.qps) {
            const double r = *mine.qps / *peer.qps;
            t.measured = fixed(*mine.qps, 0) + " vs " + fixed(*peer.qps, 0) +
                         " QPS: " + fixed(r, 2) +
                         (mine.at_first || peer.at_first ? " (at ef=10)" : "");
            t.met = r >= 1.0;
            t.margin = (r >= 1.0 ? "+" : "") + fixed((r - 1.0) * 100, 0) + " %";
        } else {
            t.measured = std::string("recall ") + fixed(level, 2) + " not reached by " +
                         (!mine.qps ? "vstore" : "hnswlib") + " at ef ≤ 256";
            t.met = mine.qps.has_value() && !peer.qps.has_value();
            t.margin = "n/a";
        }
        t.why =
            "vstore searches the graph file in place: for each node it reads the layer-0 "
            "record from the mapped graph, prefetches the visited marks and vector indices of "
            "all neighbours, then the vectors of the unvisited ones (their addresses computed "
            "from the index: page and slot by multiplication), and only then computes "
            "distances; hnswlib keeps each vector inline beside its links, one load away. What "
            "remains is that extra dependent load per neighbour, work hnswlib does not do (each "
            "query is copied and checked for non-finite values, its hits' ids read from the "
            "catalog's cache), and 4 KiB pages for two mappings. Closing it: quantized codes "
            "beside the neighbour lists (the reserved codes section of the format), reranked "
            "with the float vectors, and huge pages where the file system has them.";
        report.add_target(t);
    }
}

}  // namespace

// ---- build ---------------------------------------------------------------------------------

void section_build(SectionContext& context) {
    const Config& config = context.config;
    const bool with_hnswlib08 = hnswlib08_available(), with_usearch = usearch_available();
    std::ostringstream out;
    out << "## Build: first commit (M=16, ef_construction=200)\n\n"
        << "Time to build the first commit of a set. vstore: `begin_commit`, `insert` of every "
           "item, `finish()` (which appends and syncs the vectors, builds the graph, writes "
           "and syncs the graph file and publishes the commit). hnswlib (0.6.2, and 0.8 when "
           "fetched): constructing `HierarchicalNSW` and `addPoint` of every item from the same "
           "number of threads. usearch, when fetched: `index_dense_gt::make` (f32, connectivity "
           "16, expansion_add 200), `reserve` and `add` of every item from the same threads "
           "(each its own thread slot). Same M, ef_construction, data and compiler flags; the "
           "peers keep their index in memory (no file written).\n\n";
    if (!with_hnswlib08 || !with_usearch) {
        out << (with_hnswlib08 ? "usearch was"
                : with_usearch ? "hnswlib 0.8 was"
                               : "hnswlib 0.8 and usearch were")
            << " not fetched from the npm registry (`tools/run-bench` fetches them): not "
               "measured, no column.\n\n";
    }
    out << "| data | threads | hnswlib (s) | vstore (s) | vstore / hnswlib | vstore graph file |";
    if (with_hnswlib08)
        out << " hnswlib 0.8 (s) | vstore / hnswlib 0.8 |";
    if (with_usearch)
        out << " usearch (s) | vstore / usearch |";
    out << "\n|---|---:|---:|---:|---:|---:|";
    for (int i = 0; i < int(with_hnswlib08) + int(with_usearch); ++i)
        out << "---:|---:|";
    out << "\n";
    bool some_peer_skipped = false;
    // `npm_peers`: also time hnswlib 0.8 and usearch (Fashion-MNIST only: on the big synthetic
    // set their builds would add minutes to a run that has 45).
    auto measure = [&](const std::string& name, const Vectors& base, Metric metric,
                       BuiltPair& pair_at_full_threads, bool single_thread, bool npm_peers) {
        for (unsigned threads = single_thread ? 1 : config.threads; threads <= config.threads;
             ++threads) {
            double hnswlib_s = 0, vstore_s = 0;
            double hnswlib08_s = 0, usearch_s = 0;
            uint64_t graph_bytes = 0;
            if (threads == config.threads) {
                hnswlib_s = pair_at_full_threads.hnswlib_build_seconds;
                vstore_s = pair_at_full_threads.vstore.first.seconds;
                graph_bytes = pair_at_full_threads.vstore.first.info.graph_bytes;
                if (npm_peers) {
                    context.fixtures.build_npm_peers(pair_at_full_threads);
                    hnswlib08_s = pair_at_full_threads.hnswlib08_build_seconds;
                    usearch_s = pair_at_full_threads.usearch_build_seconds;
                }
            } else {
                const auto items = items_of(base);
                progress("build", name + ": hnswlib on " + std::to_string(threads) + " thread(s)");
                hnswlib_s = build_hnswlib(items, base.dim, metric, threads).seconds;
                progress("build", name + ": hnswlib " + fixed(hnswlib_s, 2) + " s; vstore on " +
                                      std::to_string(threads) + " thread(s)");
                auto built = build_store(config.scratch_dir / "build-store", items, base.dim,
                                         metric, threads);
                vstore_s = built.first.seconds;
                graph_bytes = built.first.info.graph_bytes;
                progress("build", name + ": vstore " + fixed(vstore_s, 2) + " s");
                built.store.reset();
                std::filesystem::remove_all(built.dir);
                if (npm_peers && with_hnswlib08) {
                    progress("build",
                             name + ": hnswlib 0.8 on " + std::to_string(threads) + " thread(s)");
                    hnswlib08_s = build_hnswlib08(items, base.dim, metric, threads).seconds;
                    progress("build", name + ": hnswlib 0.8 " + fixed(hnswlib08_s, 2) + " s");
                }
                if (npm_peers && with_usearch) {
                    progress("build",
                             name + ": usearch on " + std::to_string(threads) + " thread(s)");
                    usearch_s = build_usearch(items, base.dim, metric, threads).seconds;
                    progress("build", name + ": usearch " + fixed(usearch_s, 2) + " s");
                }
            }
            out << "| " << name << " | " << threads << " | " << fixed(hnswlib_s, 2) << " | "
                << fixed(vstore_s, 2) << " | " << ratio(vstore_s, hnswlib_s) << " | "
                << bytes_text(graph_bytes) << " |";
            auto peer_cells = [&](bool available, double peer_s) {
                if (!available)
                    return;
                if (!npm_peers) {
                    out << " not built | |";
                    some_peer_skipped = true;
                    return;
                }
                out << " " << fixed(peer_s, 2) << " | " << ratio(vstore_s, peer_s) << " |";
            };
            peer_cells(with_hnswlib08, hnswlib08_s);
            peer_cells(with_usearch, usearch_s);
            out << "\n";
        }
    };
    // The full-thread builds are the shared fixtures, built first.
    BuiltPair& fashion = context.fixtures.fashion();
    measure("Fashion-MNIST " + with_commas(fashion.base->rows), *fashion.base, Metric::kL2, fashion,
            true, true);
    if (config.big_synthetic > 0) {
        BuiltPair& big = context.fixtures.synthetic_pair(config.big_synthetic, false);
        measure("synthetic " + with_commas(config.big_synthetic) + " x 128", *big.base, Metric::kL2,
                big, config.big_single_thread, false);
        if (!config.big_single_thread && config.threads > 1) {
            out << "\nThe synthetic set was built on " << config.threads
                << " threads only: on one thread its two builds alone would take about 20 "
                   "minutes of the run's 60 (`--big-single-thread` adds them).\n";
        }
    }
    if (some_peer_skipped) {
        out << "\nhnswlib 0.8 and usearch are built on Fashion-MNIST only: their builds of the "
               "synthetic set would add minutes to the run.\n";
    }
    context.report.add_section(out.str());
}

// ---- search --------------------------------------------------------------------------------

void section_search(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const uint64_t query_count = pair.truth.queries();
    std::vector<Contender> contenders;
    contenders.push_back(
        {"vstore", [&](size_t ef) { return vstore_searcher(*pair.snapshot, 10, ef); }});
    contenders.push_back({"hnswlib", [&](size_t ef) {
                              pair.hnswlib->set_ef(ef);
                              return hnswlib_searcher(*pair.hnswlib, 10);
                          }});
    std::unique_ptr<FaissHnsw> faiss;
    double faiss_build_seconds = 0;
    if (faiss_available()) {
        progress("search",
                 "FAISS IndexHNSWFlat build on " + std::to_string(config.threads) + " threads");
        faiss_set_threads(static_cast<int>(config.threads));
        const auto start = Clock::now();
        faiss = std::make_unique<FaissHnsw>(items_of(*pair.base), pair.base->dim, 16, 200);
        faiss_build_seconds = seconds_since(start);
        faiss_set_threads(1);
        contenders.push_back({"FAISS", [&](size_t ef) -> SearchFn {
                                  faiss->set_ef(ef);
                                  const FaissHnsw* index = faiss.get();
                                  return [index](const float* q, std::vector<Hit>& out) {
                                      index->search(q, 10, out);
                                  };
                              }});
    }
    context.fixtures.build_npm_peers(pair);
    if (pair.hnswlib08) {
        contenders.push_back({"hnswlib 0.8", [&](size_t ef) {
                                  pair.hnswlib08->set_ef(ef);
                                  return index_searcher(*pair.hnswlib08, 10);
                              }});
    }
    if (pair.usearch) {
        contenders.push_back({"usearch", [&](size_t ef) {
                                  pair.usearch->set_ef(ef);
                                  return index_searcher(*pair.usearch, 10);
                              }});
    }
    const auto curves =
        measure_curves("search", pair, query_count, contenders, search_rounds(config));

    std::ostringstream out;
    out << "## Search: recall@10 against queries per second (" << pair.name << ")\n\n"
        << with_commas(query_count) << " Fashion-MNIST test images as queries, k = 10, one "
        << "thread, one query at a time (after an untimed warm-up of 100), at each ef; the "
           "systems take turns at each ef, "
        << (search_rounds(config) == 1 ? std::string("in one round")
                                       : std::to_string(search_rounds(config)) +
                                             " rounds of turns, each system's median QPS kept")
        << ". vstore: `Snapshot::search` (exact_threshold = 0, "
           "so always the graph), hits as (id, distance) with string ids. hnswlib: "
           "`searchKnn` after `setEf`. FAISS, when installed: `IndexHNSWFlat` (M=16, "
           "efConstruction=200), "
           "`search` with n = 1 after `hnsw.efSearch = ef`, on one OpenMP thread. "
           "hnswlib 0.8, when fetched (npm `hnswlib-node`'s headers): `searchKnn` after "
           "`setEf`, as 0.6.2. usearch, when fetched (npm `usearch`): `index_dense_gt::search` "
           "(k = 10, thread slot 0) after `change_expansion_search(ef)`. "
           "All built from the same vectors on "
        << config.threads
        << " threads. Recall counts a hit as correct when it is one of the true 10 or no "
           "farther than the true 10th (duplicate images tie).\n\n";
    if (!faiss)
        out << "FAISS is not installed (Debian `libfaiss-dev`; `tools/run-bench` installs it): "
               "no FAISS column.\n\n";
    else
        out << "FAISS " << faiss_version() << " `IndexHNSWFlat` built in "
            << fixed(faiss_build_seconds, 2) << " s on " << config.threads << " threads.\n\n";
    if (pair.hnswlib08)
        out << "hnswlib " << hnswlib08_version() << " built in "
            << fixed(pair.hnswlib08_build_seconds, 2) << " s on " << pair.threads
            << " threads.\n\n";
    else
        out << "hnswlib 0.8 was not fetched from the npm registry (`tools/run-bench` fetches "
               "package `hnswlib-node`): not measured, no column.\n\n";
    if (pair.usearch)
        out << "usearch " << usearch_version() << " built in "
            << fixed(pair.usearch_build_seconds, 2) << " s on " << pair.threads
            << " threads; distances: " << usearch_kernel() << ".\n\n";
    else
        out << "usearch was not fetched from the npm registry (`tools/run-bench` fetches "
               "package `usearch`): not measured, no column.\n\n";
    out << curve_table(curves)
        << "\nQueries per second at equal recall, interpolated on each curve between the two "
           "ef around it (on a log scale of QPS); \"≥\" when even ef = 10 exceeds that "
           "recall:\n\n"
        << recall_level_table(curves) << "\n![recall against QPS](search-recall-qps.png)\n";
    context.report.add_section(out.str());
    add_ratio_targets(context.report, curves, "Fashion-MNIST");
    context.plots.push_back(recall_qps_plot(
        "search-recall-qps", pair.name + ", k=10, one thread, one query at a time", curves));
}

// ---- growth --------------------------------------------------------------------------------

void section_growth(SectionContext& context) {
    const Config& config = context.config;
    std::ostringstream summary, details;
    summary << "## Growth: synthetic clustered sets of 128 dimensions\n\n"
            << "Seeded clustered Gaussian sets (1,000 clusters, each a 40-dimensional Gaussian "
               "around its centre plus isotropic noise; the cosine variant normalizes every "
               "vector). Each set built by vstore and hnswlib on "
            << config.threads << " threads, then " << with_commas(config.queries)
            << " queries from the same clusters swept over ef as in the search section (one "
               "thread, one query at a time).\n\n"
            << "| data | hnswlib build (s) | vstore build (s) | vstore / hnswlib | vstore graph "
               "file | hnswlib index in memory | recall@10 ef=64 vstore / hnswlib | QPS "
               "vstore / hnswlib at recall 0.90 | at 0.95 | at 0.99 |\n"
            << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    std::vector<std::pair<uint64_t, bool>> sets;
    for (uint64_t n : config.synthetic_sizes)
        sets.push_back({n, false});
    for (uint64_t n : config.cosine_sizes)
        sets.push_back({n, true});
    std::vector<NamedCurve> plotted;
    for (const auto& [rows, cosine] : sets) {
        BuiltPair& pair = context.fixtures.synthetic_pair(rows, cosine);
        std::vector<Contender> contenders;
        contenders.push_back(
            {"vstore", [&](size_t ef) { return vstore_searcher(*pair.snapshot, 10, ef); }});
        contenders.push_back({"hnswlib", [&](size_t ef) {
                                  pair.hnswlib->set_ef(ef);
                                  return hnswlib_searcher(*pair.hnswlib, 10);
                              }});
        const auto curves = measure_curves("growth", pair, pair.truth.queries(), contenders,
                                           search_rounds(config));
        summary << "| " << pair.name << " | " << fixed(pair.hnswlib_build_seconds, 2) << " | "
                << fixed(pair.vstore.first.seconds, 2) << " | "
                << ratio(pair.vstore.first.seconds, pair.hnswlib_build_seconds) << " | "
                << bytes_text(pair.vstore.first.info.graph_bytes) << " | "
                << bytes_text(pair.hnswlib->memory_bytes()) << " | "
                << fixed(curves[0].curve[5].recall, 4) << " / "
                << fixed(curves[1].curve[5].recall, 4) << " |";
        for (double level : kRecallLevels) {
            summary << " "
                    << qps_ratio_text(qps_at_recall(curves[0].curve, level),
                                      qps_at_recall(curves[1].curve, level))
                    << " |";
        }
        summary << "\n";
        details << "\n### " << pair.name << "\n\n" << curve_table(curves);
        if (!cosine) {
            for (const auto& c : curves)
                plotted.push_back({c.system + "-" + std::to_string(rows), c.curve});
        }
        if (rows != config.big_synthetic || cosine)
            context.fixtures.release_synthetic(rows, cosine);
    }
    context.report.add_section(summary.str() + "\nCurves:\n" + details.str() +
                               "\n![growth: recall against QPS](growth-recall-qps.png)\n");
    if (!plotted.empty()) {
        context.plots.push_back(recall_qps_plot(
            "growth-recall-qps", "synthetic 128-d (l2), k=10, one thread", plotted, true));
    }
}

}  // namespace bench
