// Sections "open" (from nothing loaded to the first result, against hnswlib's loadIndex, and
// the npm peers' hnswlib 0.8 loadIndex and usearch view; Fashion-MNIST and, in a full run, the
// big synthetic set) and
// "pool" (bounded memory: pool mode in a child process of its own, against mapped mode).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "bench.h"
#include "peers.h"

namespace bench {

namespace {

struct OpenTimes {
    double open_store = 0, open_commit = 0, first_search = 0;
    double total() const { return open_store + open_commit + first_search; }
};

OpenTimes open_vstore(const std::filesystem::path& dir, const float* query) {
    OpenTimes t;
    auto start = Clock::now();
    auto store = vstore::Store::open(dir.string(), store_options(1));
    t.open_store = seconds_since(start);
    start = Clock::now();
    auto snapshot = store->open_commit(kDomain, "base");
    t.open_commit = seconds_since(start);
    start = Clock::now();
    const auto hits = snapshot->search({query, snapshot->domain().dimension}, 10, 64);
    t.first_search = seconds_since(start);
    if (hits.size() != 10)
        throw std::runtime_error("open: the first search found " + std::to_string(hits.size()));
    return t;
}

struct LoadTimes {
    double load = 0, first_query = 0;
    double total() const { return load + first_query; }
};

LoadTimes load_hnswlib(const std::filesystem::path& file, uint32_t dim, const float* query) {
    LoadTimes t;
    auto start = Clock::now();
    auto index = HnswlibIndex::load(file.string(), dim, Metric::kL2);
    t.load = seconds_since(start);
    start = Clock::now();
    index->set_ef(64);
    std::vector<Hit> hits;
    index->search(query, 10, hits);
    t.first_query = seconds_since(start);
    if (hits.size() != 10)
        throw std::runtime_error("open: hnswlib's first query found " +
                                 std::to_string(hits.size()));
    return t;
}

LoadTimes load_hnswlib08(const std::filesystem::path& file, uint32_t dim, const float* query) {
    LoadTimes t;
    auto start = Clock::now();
    auto index = Hnswlib08Index::load(file.string(), dim, Metric::kL2);
    t.load = seconds_since(start);
    start = Clock::now();
    index->set_ef(64);
    std::vector<Hit> hits;
    index->search(query, 10, hits);
    t.first_query = seconds_since(start);
    if (hits.size() != 10)
        throw std::runtime_error("open: hnswlib 0.8's first query found " +
                                 std::to_string(hits.size()));
    return t;
}

// usearch's view(): the file memory-mapped and searched in place.
LoadTimes view_usearch(const std::filesystem::path& file, const float* query) {
    LoadTimes t;
    auto start = Clock::now();
    auto index = UsearchIndex::view(file.string());
    t.load = seconds_since(start);
    start = Clock::now();
    index->set_ef(64);
    std::vector<Hit> hits;
    index->search(query, 10, hits);
    t.first_query = seconds_since(start);
    if (hits.size() != 10)
        throw std::runtime_error("open: usearch's first query found " +
                                 std::to_string(hits.size()));
    return t;
}

std::string ms(double seconds) {
    return fixed(seconds * 1000, seconds < 0.01 ? 2 : 1);
}

std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file())
            files.push_back(e.path());
    return files;
}

// One data set's open measurement. `npm_peers`: build the npm peers for it when this build has
// them (the big synthetic set measures only the peers already built, to save their builds).
void measure_open(SectionContext& context, BuiltPair& pair, bool npm_peers) {
    const Config& config = context.config;
    const uint32_t dim = pair.base->dim;
    // A copy of the store: one process opens a store directory once (LMDB), and the fixture's
    // is open. The copy is the same bytes.
    const auto dir = config.scratch_dir / "open-store";
    std::filesystem::remove_all(dir);
    std::filesystem::copy(pair.vstore.dir, dir, std::filesystem::copy_options::recursive);
    const auto hnswlib_file = config.scratch_dir / "open-hnswlib.bin";
    progress("open", pair.name + ": saving the peers' index files");
    pair.hnswlib->save(hnswlib_file.string());
    // The npm peers, when this build has them: the same graph parameters, saved by each.
    if (npm_peers)
        context.fixtures.build_npm_peers(pair);
    const bool with_hnswlib08 = pair.hnswlib08 != nullptr, with_usearch = pair.usearch != nullptr;
    const auto hnswlib08_file = config.scratch_dir / "open-hnswlib08.bin";
    const auto usearch_file = config.scratch_dir / "open-usearch.usearch";
    if (with_hnswlib08)
        pair.hnswlib08->save(hnswlib08_file.string());
    if (with_usearch)
        pair.usearch->save(usearch_file.string());
    const auto vstore_files = files_in(dir);
    uint64_t graph_bytes = 0, vector_bytes = 0;
    for (const auto& f : vstore_files) {
        if (f.extension() == ".hnsw")
            graph_bytes += file_bytes(f);
        if (f.extension() == ".vecs")
            vector_bytes += file_bytes(f);
    }
    const float* query = pair.queries->row(0);

    constexpr int kWarmRuns = 5, kColdRuns = 3;
    progress("open", pair.name + ": warm, " + std::to_string(kWarmRuns) + " runs each");
    open_vstore(dir, query);  // untimed: warms the page cache for all
    load_hnswlib(hnswlib_file, dim, query);
    if (with_hnswlib08)
        load_hnswlib08(hnswlib08_file, dim, query);
    if (with_usearch)
        view_usearch(usearch_file, query);
    std::vector<OpenTimes> vstore_warm;
    std::vector<LoadTimes> hnswlib_warm, hnswlib08_warm, usearch_warm;
    for (int i = 0; i < kWarmRuns; ++i) {
        vstore_warm.push_back(open_vstore(dir, query));
        hnswlib_warm.push_back(load_hnswlib(hnswlib_file, dim, query));
        if (with_hnswlib08)
            hnswlib08_warm.push_back(load_hnswlib08(hnswlib08_file, dim, query));
        if (with_usearch)
            usearch_warm.push_back(view_usearch(usearch_file, query));
    }

    // Cold: the files' pages evicted from the page cache before every run.
    progress("open", pair.name + ": cold, " + std::to_string(kColdRuns) + " runs each");
    bool dropped_all = false;
    double resident_after = 0;
    std::vector<OpenTimes> vstore_cold;
    std::vector<LoadTimes> hnswlib_cold, hnswlib08_cold, usearch_cold;
    std::vector<std::filesystem::path> all_files = vstore_files;
    all_files.push_back(hnswlib_file);
    if (with_hnswlib08)
        all_files.push_back(hnswlib08_file);
    if (with_usearch)
        all_files.push_back(usearch_file);
    auto evict = [&] {
        evict_from_page_cache(all_files, config.try_drop_caches);
        for (const auto& f : all_files)
            resident_after = std::max(resident_after, resident_fraction(f));
    };
    for (int i = 0; i < kColdRuns; ++i) {
        dropped_all = evict_from_page_cache(all_files, config.try_drop_caches);
        for (const auto& f : all_files)
            resident_after = std::max(resident_after, resident_fraction(f));
        vstore_cold.push_back(open_vstore(dir, query));
        evict();
        hnswlib_cold.push_back(load_hnswlib(hnswlib_file, dim, query));
        if (with_hnswlib08) {
            evict();
            hnswlib08_cold.push_back(load_hnswlib08(hnswlib08_file, dim, query));
        }
        if (with_usearch) {
            evict();
            usearch_cold.push_back(view_usearch(usearch_file, query));
        }
    }
    const bool cold_ok = resident_after < 0.05;

    auto totals = [](const auto& runs) {
        std::vector<double> v;
        for (const auto& r : runs)
            v.push_back(r.total());
        return median_of(std::move(v));
    };

    std::ostringstream out;
    out << "## Open: from nothing loaded to the first result (" << pair.name << ")\n\n"
        << "vstore: `Store::open` (a new store object, mapped mode), `open_commit` (reads the "
           "commit's catalog record, memory-maps the vector file and the commit's full graph "
           "file and checks the graph file's header and section table: the graph is searched "
           "in place from the mapping, its pages read as a search reaches them, and ids are "
           "read from the catalog for the hits only), and a first `search` (k=10, ef=64). "
           "hnswlib: `loadIndex` of the "
           "file `saveIndex` wrote for the same graph (it holds the vectors too), `setEf(64)` "
           "and a first `searchKnn`. Medians of "
        << kWarmRuns << " warm runs (files in the page cache) and " << kColdRuns
        << " cold runs. Files: vstore graph " << bytes_text(graph_bytes) << " + vector file "
        << bytes_text(vector_bytes) << "; hnswlib index " << bytes_text(file_bytes(hnswlib_file))
        << ".\n\n";
    if (cold_ok) {
        out << "Cold: before each run every file involved was evicted from the page cache "
               "(`fdatasync` + `posix_fadvise(DONTNEED)`"
            << (dropped_all ? ", and `echo 3 > /proc/sys/vm/drop_caches`" : "")
            << "); `mincore` found at most " << fixed(resident_after * 100, 1)
            << " % of any file resident afterwards.\n\n";
    } else {
        out << "Cold runs could not be had: after eviction `mincore` still found "
            << fixed(resident_after * 100, 0)
            << " % of a file resident, so the figures are warm only.\n\n";
    }
    out << "| page cache | vstore Store::open (ms) | open_commit (ms) | first search (ms) | "
           "vstore total (ms) | hnswlib loadIndex (ms) | first query (ms) | hnswlib total (ms) "
           "| vstore / hnswlib |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    auto row = [&](const std::string& state, const auto& v, const auto& h) {
        out << "| " << state << " | " << ms(median_of(v, &OpenTimes::open_store)) << " | "
            << ms(median_of(v, &OpenTimes::open_commit)) << " | "
            << ms(median_of(v, &OpenTimes::first_search)) << " | " << ms(totals(v)) << " | "
            << ms(median_of(h, &LoadTimes::load)) << " | "
            << ms(median_of(h, &LoadTimes::first_query)) << " | " << ms(totals(h)) << " | "
            << ratio(totals(v), totals(h)) << " |\n";
    };
    row("warm", vstore_warm, hnswlib_warm);
    if (cold_ok)
        row("cold", vstore_cold, hnswlib_cold);

    // The npm peers, measured in the same interleaved runs.
    out << "\n";
    if (with_hnswlib08 || with_usearch) {
        out << "Beside the peers fetched from the npm registry, in the same runs (each "
               "evicted from the page cache before its cold runs as above):";
        if (with_hnswlib08)
            out << " hnswlib 0.8: `loadIndex` of its `saveIndex` file ("
                << bytes_text(file_bytes(hnswlib08_file))
                << "), `setEf(64)` and a first `searchKnn`;";
        if (with_usearch)
            out << " usearch: `view()` of its `save()` file ("
                << bytes_text(file_bytes(usearch_file))
                << ", memory-mapped and searched in place), `change_expansion_search(64)` and a "
                   "first `search`;";
        out << " k = 10.\n\n| page cache | vstore total (ms) |";
        if (with_hnswlib08)
            out << " hnswlib 0.8 loadIndex (ms) | first query (ms) | hnswlib 0.8 total (ms) | "
                   "vstore / hnswlib 0.8 |";
        if (with_usearch)
            out << " usearch view (ms) | first query (ms) | usearch total (ms) | vstore / "
                   "usearch |";
        out << "\n|---|---:|";
        for (int i = 0; i < int(with_hnswlib08) + int(with_usearch); ++i)
            out << "---:|---:|---:|---:|";
        out << "\n";
        auto peer_row = [&](const std::string& state, const auto& v, const auto& h08,
                            const auto& u) {
            out << "| " << state << " | " << ms(totals(v)) << " |";
            if (with_hnswlib08)
                out << " " << ms(median_of(h08, &LoadTimes::load)) << " | "
                    << ms(median_of(h08, &LoadTimes::first_query)) << " | " << ms(totals(h08))
                    << " | " << ratio(totals(v), totals(h08)) << " |";
            if (with_usearch)
                out << " " << ms(median_of(u, &LoadTimes::load)) << " | "
                    << ms(median_of(u, &LoadTimes::first_query)) << " | " << ms(totals(u)) << " | "
                    << ratio(totals(v), totals(u)) << " |";
            out << "\n";
        };
        peer_row("warm", vstore_warm, hnswlib08_warm, usearch_warm);
        if (cold_ok)
            peer_row("cold", vstore_cold, hnswlib08_cold, usearch_cold);
    }
    if (!with_hnswlib08 || !with_usearch) {
        const bool fetched = hnswlib08_available() || usearch_available();
        out << (with_hnswlib08 ? "usearch was"
                : with_usearch ? "hnswlib 0.8 was"
                               : "hnswlib 0.8 and usearch were")
            << (npm_peers || !fetched
                    ? " not fetched from the npm registry (`tools/run-bench` fetches them): not "
                      "measured.\n"
                    : " not built for this set (their builds would add minutes to the run): not "
                      "measured.\n");
    }
    context.report.add_section(out.str());
    // The targets: a tenth of hnswlib's time warm, half of it cold.
    auto target = [&](const std::string& state, double mine, double peer, double allowed,
                      const std::string& allowed_text) {
        const double share = mine / peer;
        context.report.add_target(
            {"open-to-first-result ≤ " + allowed_text + " of hnswlib's load + first query (" +
                 pair.name + ", " + state + ")",
             ms(mine) + " ms vs " + ms(peer) + " ms: " + fixed(share, 3) + "×", share <= allowed,
             fixed(share / allowed, 2) + "× the allowed time",
             "warm, what remains is fixed work: the catalog's read transactions, the mappings "
             "of two files, the graph header's checks, and the first search's visited list "
             "(two bytes a node) and id lookups in the catalog. Cold, the first search faults "
             "in each graph and vector page it visits from disk, one 4 KiB page at a time "
             "(the mappings are advised random access), while hnswlib reads its one file "
             "sequentially; so the figure depends on the disk's latency rather than its "
             "throughput. Closing it: the graph's upper layers and entry region read ahead "
             "in one request at open, and the vector pages of the nodes a search will visit "
             "prefetched in batches (madvise WILLNEED) rather than faulted one by one."});
    };
    target("warm", totals(vstore_warm), totals(hnswlib_warm), 0.1, "1/10");
    if (cold_ok)
        target("cold", totals(vstore_cold), totals(hnswlib_cold), 0.5, "1/2");
    std::filesystem::remove_all(dir);
    std::filesystem::remove(hnswlib_file);
    std::filesystem::remove(hnswlib08_file);
    std::filesystem::remove(usearch_file);
}

}  // namespace

void section_open(SectionContext& context) {
    measure_open(context, context.fixtures.fashion(), true);
    // The big synthetic set in a full run (--quick has none): hnswlib 0.6.2 only, unless the
    // npm peers were built for it already.
    if (context.config.big_synthetic > 0)
        measure_open(context, context.fixtures.synthetic_pair(context.config.big_synthetic, false),
                     false);
}

// ---- pool ----------------------------------------------------------------------------------

namespace {

std::map<std::string, std::string> run_child(const std::vector<std::string>& args) {
    std::string command = "'/proc/" + std::to_string(::getpid()) + "/exe' --child-search";
    for (const auto& a : args)
        command += " '" + a + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr)
        throw std::runtime_error("pool: cannot start " + command);
    std::map<std::string, std::string> values;
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
        std::istringstream in(line);
        std::string key, value;
        if (in >> key >> value)
            values[key] = value;
    }
    const int status = ::pclose(pipe);
    if (status != 0 || values.count("peak_rss_bytes") == 0)
        throw std::runtime_error("pool: the child search failed (status " + std::to_string(status) +
                                 "): " + command);
    return values;
}

uint64_t status_field(const std::string& field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field + ":", 0) == 0)
            return std::stoull(line.substr(field.size() + 1)) * 1024;  // kB
    }
    return 0;
}

}  // namespace

// argv: --child-search STORE MODE BUDGET QUERIES TRUTH EF
int child_search_main(int argc, char** argv) {
    try {
        if (argc != 8)
            throw std::invalid_argument("usage: --child-search STORE MODE BUDGET QUERIES TRUTH EF");
        const std::string dir = argv[2], mode = argv[3];
        const Vectors queries = load_vectors(argv[5]);
        const auto truth = load_truth(argv[6]);
        if (!truth)
            throw std::runtime_error(std::string("cannot read ") + argv[6]);
        const size_t ef = std::stoul(argv[7]);
        if (mode != "none") {
            vstore::StoreOptions options = store_options(1);
            options.mode =
                mode == "pool" ? vstore::ServingMode::kPool : vstore::ServingMode::kMapped;
            options.pool_budget_bytes = std::stoull(argv[4]);
            auto store = vstore::Store::open(dir, options);
            auto snapshot = store->open_commit(kDomain, "base");
            const SearchRun run =
                run_queries(queries, truth->queries(), *truth, vstore_searcher(*snapshot, 10, ef));
            std::printf("qps %.3f\nrecall %.6f\ngraph_bytes %zu\n", run.qps, run.recall,
                        store->index_pool_stats().bytes);
        }
        std::printf("peak_rss_bytes %llu\nrss_bytes %llu\n",
                    static_cast<unsigned long long>(status_field("VmHWM")),
                    static_cast<unsigned long long>(status_field("VmRSS")));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vstore-bench --child-search: %s\n", e.what());
        return 1;
    }
}

void section_pool(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const auto vector_file = pair.vstore.dir / pair.vstore.store->domain(kDomain).vector_file;
    const uint64_t vector_file_size = file_bytes(vector_file);
    const uint64_t budget = vector_file_size / 4;
    const Vectors queries = tail_rows(*pair.queries, config.queries);
    const GroundTruth truth =
        exact_ground_truth(config, pair.name + " tail queries", items_of(*pair.base),
                           pair.base->dim, Metric::kL2, queries, config.queries, 10);
    const auto queries_file = config.scratch_dir / "pool-queries.bin";
    const auto truth_file = config.scratch_dir / "pool-truth.bin";
    save_vectors(queries_file, queries);
    save_truth(truth_file, truth);
    constexpr size_t kEf = 64;
    auto child = [&](const std::string& mode) {
        progress("pool", "child process, " + mode + " mode");
        return run_child({pair.vstore.dir.string(), mode, std::to_string(budget),
                          queries_file.string(), truth_file.string(), std::to_string(kEf)});
    };
    const auto baseline = child("none");
    const auto mapped = child("mapped");
    const auto pooled = child("pool");
    auto number = [](const std::map<std::string, std::string>& m, const std::string& key) {
        return std::stod(m.at(key));
    };
    const double graph = number(pooled, "graph_bytes");
    const double allowed = budget + graph + 64.0 * (1 << 20);
    const double peak = number(pooled, "peak_rss_bytes");

    std::ostringstream out;
    out << "## Bounded memory: pool mode against mapped mode (" << pair.name << ")\n\n"
        << "Each measurement runs in a child process of its own (`vstore-bench --child-search`, "
           "a fresh exec, so its peak is its own): `Store::open` with the serving mode, "
           "`open_commit`, then "
        << with_commas(truth.queries()) << " queries (k=10, ef=" << kEf
        << ", one thread). Peak RSS is the child's VmHWM from /proc/self/status (in mapped "
           "mode it counts the mapped file's pages that were touched). Pool budget: 25 % of "
           "the vector file ("
        << bytes_text(vector_file_size) << ") = " << bytes_text(budget)
        << ". The child that opens nothing (it only reads the queries and their truth) shows "
           "what any process costs.\n\n"
        << "| child | peak RSS | graph in memory | QPS | recall@10 | QPS / mapped | recall − "
           "mapped |\n|---|---:|---:|---:|---:|---:|---:|\n"
        << "| opens nothing | " << bytes_text(number(baseline, "peak_rss_bytes"))
        << " | | | | | |\n"
        << "| mapped | " << bytes_text(number(mapped, "peak_rss_bytes")) << " | "
        << bytes_text(number(mapped, "graph_bytes")) << " | " << fixed(number(mapped, "qps"), 0)
        << " | " << fixed(number(mapped, "recall"), 4) << " | 1.00 | 0 |\n"
        << "| pool, budget " << bytes_text(budget) << " | " << bytes_text(peak) << " | "
        << bytes_text(graph) << " | " << fixed(number(pooled, "qps"), 0) << " | "
        << fixed(number(pooled, "recall"), 4) << " | "
        << ratio(number(pooled, "qps"), number(mapped, "qps")) << " | "
        << fixed(number(pooled, "recall") - number(mapped, "recall"), 4) << " |\n";
    context.report.add_section(out.str());
    context.report.add_target(
        {"pool mode: peak RSS ≤ budget + graph + 64 MiB",
         bytes_text(peak) + " vs " + bytes_text(budget) + " + " + bytes_text(graph) +
             " + 64 MiB = " + bytes_text(allowed),
         peak <= allowed,
         (peak <= allowed ? bytes_text(allowed - peak) + " to spare"
                          : bytes_text(peak - allowed) + " over"),
         "besides the frames and the graph the process holds the two hash maps of every live "
         "id (not counted in 'graph in memory') and the decoded graph file while it loads. "
         "Closing it: ids resolved on demand and the graph decoded in a streaming way."});
    std::filesystem::remove(queries_file);
    std::filesystem::remove(truth_file);
}

}  // namespace bench
