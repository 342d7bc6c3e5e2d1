// Section "chain": a base and a chain of small commits (0.1 % of the base each: inserts,
// deletes and replaces in equal parts), once per graph storage policy (a delta over the
// parent's file, a delta over the last full file, every commit a full file). For each commit:
// the bytes it adds (graph and vectors), its commit time, the time from nothing loaded to a
// first result, and its recall@10. Then the search speed of the chain's last delta commit
// against the same commit packed as one full graph file (vstore::Pack).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "bench.h"
#include "vstore/pack.h"

namespace bench {

namespace {

constexpr size_t kChainEf = 64;

struct ChainPolicy {
    std::string name;   // as the report names it
    std::string label;  // for plot keys and directories
    vstore::GraphPolicy policy;
};

std::vector<ChainPolicy> chain_policies() {
    std::vector<ChainPolicy> policies;
    vstore::GraphPolicy parent;  // the default
    policies.push_back({"delta over the parent (default)", "parent", parent});
    vstore::GraphPolicy last_full;
    last_full.delta_base = vstore::GraphPolicy::DeltaBase::kLastFull;
    policies.push_back({"delta over the last full file", "last-full", last_full});
    vstore::GraphPolicy full;
    full.deltas = false;
    policies.push_back({"deltas off (every commit full)", "full", full});
    return policies;
}

// The exact neighbours of every commit of the chain, kept up to date as the chain changes:
// the distance of each query to each label (infinite for a label that is not live), so that a
// commit costs a scan of the matrix, not a brute-force search over the whole set.
class ChainTruth {
  public:
    ChainTruth(const Vectors& queries, uint64_t query_count, uint64_t labels, unsigned threads)
        : queries_(queries),
          count_(std::min(query_count, queries.rows)),
          labels_(labels),
          threads_(threads),
          distances_(count_ * labels, INFINITY) {}

    // Sets label..label+items.size()'s distances from `items` (labels taken from the items),
    // in blocks of items that stay in cache while every query scans them.
    void set(const std::vector<Item>& items) {
        const uint32_t dim = queries_.dim;
        constexpr uint64_t kBlock = 64;
        parallel_for((items.size() + kBlock - 1) / kBlock, threads_, [&](uint64_t block) {
            const uint64_t b0 = block * kBlock, b1 = std::min<uint64_t>(items.size(), b0 + kBlock);
            for (uint64_t q = 0; q < count_; ++q) {
                const float* query = queries_.row(q);
                float* row = distances_.data() + q * labels_;
                for (uint64_t i = b0; i < b1; ++i)
                    row[items[i].label] = distance(Metric::kL2, query, items[i].data, dim);
            }
        });
    }
    void remove(const std::vector<uint64_t>& labels) {
        for (uint64_t q = 0; q < count_; ++q)
            for (uint64_t label : labels)
                distances_[q * labels_ + label] = INFINITY;
    }
    // The k nearest live labels of every query, as brute_force orders them.
    GroundTruth truth(uint32_t k) const {
        GroundTruth t;
        t.k = k;
        t.labels.assign(count_ * k, UINT64_MAX);
        t.distances.assign(count_ * k, INFINITY);
        parallel_for(count_, threads_, [&](uint64_t q) {
            const float* row = distances_.data() + q * labels_;
            std::vector<std::pair<float, uint64_t>> best;  // a max-heap of the k best
            best.reserve(k + 1);
            for (uint64_t label = 0; label < labels_; ++label) {
                const float d = row[label];
                if (best.size() == k && !(std::pair{d, label} < best.front()))
                    continue;
                if (d == INFINITY)
                    continue;
                best.push_back({d, label});
                std::push_heap(best.begin(), best.end());
                if (best.size() > k) {
                    std::pop_heap(best.begin(), best.end());
                    best.pop_back();
                }
            }
            std::sort_heap(best.begin(), best.end());
            for (size_t i = 0; i < best.size(); ++i) {
                t.labels[q * k + i] = best[i].second;
                t.distances[q * k + i] = best[i].first;
            }
        });
        return t;
    }
    uint64_t queries() const { return count_; }

  private:
    const Vectors& queries_;
    uint64_t count_, labels_;
    unsigned threads_;
    std::vector<float> distances_;  // count_ x labels_
};

struct StepResult {
    size_t step = 0;
    vstore::format::GraphKind kind = vstore::format::GraphKind::kFull;
    uint32_t depth = 0;            // deltas between this commit's graph and its full file
    uint64_t graph_bytes = 0;      // the graph file this commit wrote (0: none)
    uint64_t vector_bytes = 0;     // the vector file's growth
    uint64_t directory_bytes = 0;  // the store directory's growth, as du counts it
    double commit_seconds = 0;
    double open_seconds = 0;  // median of the runs: Store::open + open_commit + first search
    double open_commit_seconds = 0;
    double recall = 0;
};

struct PolicyRun {
    ChainPolicy policy;
    std::vector<StepResult> steps;  // steps[0] is the base
    uint64_t total_graph() const {
        uint64_t t = 0;
        for (size_t i = 1; i < steps.size(); ++i)
            t += steps[i].graph_bytes;
        return t;
    }
    uint64_t total_vectors() const {
        uint64_t t = 0;
        for (size_t i = 1; i < steps.size(); ++i)
            t += steps[i].vector_bytes;
        return t;
    }
    uint64_t total_directory() const {
        uint64_t t = 0;
        for (size_t i = 1; i < steps.size(); ++i)
            t += steps[i].directory_bytes;
        return t;
    }
    size_t full_files() const {
        size_t n = 0;
        for (size_t i = 1; i < steps.size(); ++i)
            n += steps[i].kind == vstore::format::GraphKind::kFull;
        return n;
    }
    double mean_commit_seconds() const {
        double t = 0;
        for (size_t i = 1; i < steps.size(); ++i)
            t += steps[i].commit_seconds;
        return steps.size() > 1 ? t / double(steps.size() - 1) : 0;
    }
    uint32_t max_depth() const {
        uint32_t d = 0;
        for (const auto& s : steps)
            d = std::max(d, s.depth);
        return d;
    }
};

std::string ms_text(double seconds) {
    return fixed(seconds * 1000, seconds < 0.01 ? 2 : 1);
}

std::string kind_text(const StepResult& s) {
    if (s.step > 0 && s.graph_bytes == 0)
        return "shared";
    return s.kind == vstore::format::GraphKind::kFull ? "full"
                                                      : "delta, depth " + std::to_string(s.depth);
}

// One pass over the queries (no repetition: the recall is what matters here).
double recall_pass(const vstore::Snapshot& snapshot, const Vectors& queries,
                   const GroundTruth& truth) {
    const SearchFn search = vstore_searcher(snapshot, 10, kChainEf);
    std::vector<Hit> hits;
    double recall = 0;
    for (uint64_t q = 0; q < truth.queries(); ++q) {
        search(queries.row(q), hits);
        recall += recall_of(truth, q, hits);
    }
    return truth.queries() == 0 ? 0 : recall / truth.queries();
}

struct DeltaVsPacked {
    std::string commit;
    uint32_t depth = 0;
    uint64_t delta_bytes = 0, packed_graph_bytes = 0;
    std::vector<size_t> ef;
    std::vector<SearchRun> delta, packed;
    double geometric_mean_ratio() const {
        double log_sum = 0;
        for (size_t i = 0; i < ef.size(); ++i)
            log_sum += std::log(delta[i].qps / packed[i].qps);
        return ef.empty() ? 0 : std::exp(log_sum / double(ef.size()));
    }
    double lowest_ratio() const {
        double lowest = INFINITY;
        for (size_t i = 0; i < ef.size(); ++i)
            lowest = std::min(lowest, delta[i].qps / packed[i].qps);
        return lowest;
    }
};

}  // namespace

void section_chain(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const Vectors& base = *pair.base;
    const Vectors& test = context.fixtures.fashion_queries();
    const uint32_t dim = base.dim;
    const uint64_t n = base.rows;
    const size_t commits = config.chain_commits;
    const Vectors queries = tail_rows(test, config.queries);
    // New vectors (inserts and replacements) from the start of the test set, queries from its
    // end: they never meet. The plan is the same for every policy.
    const ChainPlan chain =
        chain_plan("chain", n, test, queries.rows, commits, config.chain_change_share);
    const uint64_t per_kind = chain.per_kind;
    const std::vector<ChainStep>& plan = chain.steps;

    // The exact neighbours of every commit.
    progress("chain", "exact neighbours of " + with_commas(queries.rows) + " queries for the " +
                          std::to_string(commits + 1) + " commits");
    const auto truth_start = Clock::now();
    std::vector<GroundTruth> truths;
    {
        ChainTruth matrix(queries, config.queries, n + per_kind * commits, config.threads);
        matrix.set(items_of(base));
        truths.push_back(matrix.truth(10));
        for (size_t s = 1; s <= commits; ++s) {
            matrix.remove(plan[s].removes);
            matrix.set(plan[s].replaces);
            matrix.set(plan[s].inserts);
            truths.push_back(matrix.truth(10));
        }
    }
    progress("chain", "exact neighbours in " + fixed(seconds_since(truth_start), 1) + " s");

    const int open_runs = config.quick ? 3 : 5;
    const float* first_query = queries.row(0);
    std::vector<PolicyRun> runs;
    std::vector<DeltaVsPacked> comparisons;  // the last delta commit, then the deepest
    for (const ChainPolicy& policy : chain_policies()) {
        PolicyRun run;
        run.policy = policy;
        const auto dir = config.scratch_dir / ("chain-" + policy.label);
        std::filesystem::remove_all(dir);
        std::filesystem::copy(pair.vstore.dir, dir, std::filesystem::copy_options::recursive);
        vstore::StoreOptions options = store_options(config.threads);
        options.graph_policy = policy.policy;
        const auto vector_file = dir / pair.vstore.store->domain(kDomain).vector_file;

        std::unique_ptr<vstore::Store> store;
        std::shared_ptr<const vstore::Snapshot> snapshot;
        // From nothing loaded to a first result: a fresh Store (the previous one closed, so
        // that no index pool holds the commit), open_commit and one search; the files are in
        // the page cache (they were just written, or read by the previous run).
        auto open_step = [&](StepResult& r) {
            std::vector<double> totals, commit_times;
            for (int i = 0; i < open_runs; ++i) {
                snapshot.reset();
                store.reset();
                auto start = Clock::now();
                store = vstore::Store::open(dir.string(), options);
                const auto commit_start = Clock::now();
                snapshot = store->open_commit(kDomain, chain_commit_name(r.step));
                commit_times.push_back(seconds_since(commit_start));
                const auto hits = snapshot->search({first_query, dim}, 10, kChainEf);
                totals.push_back(seconds_since(start));
                if (hits.size() != 10)
                    throw std::runtime_error("chain: the first search of " +
                                             chain_commit_name(r.step) + " found " +
                                             std::to_string(hits.size()));
            }
            // The fastest run: the machine may be shared, and the fastest is the least
            // disturbed (one descheduling would otherwise decide a commit's point).
            r.open_seconds = *std::min_element(totals.begin(), totals.end());
            r.open_commit_seconds = *std::min_element(commit_times.begin(), commit_times.end());
            r.recall = recall_pass(*snapshot, queries, truths[r.step]);
        };

        progress("chain", policy.name + ": " + std::to_string(commits) + " commits of " +
                              with_commas(3 * per_kind) + " operations on " + with_commas(n));
        StepResult base_result;
        base_result.step = 0;
        {
            const vstore::CommitInfo info = pair.vstore.first.info;
            base_result.kind = info.graph_kind;
            base_result.graph_bytes = info.graph_bytes;
        }
        open_step(base_result);
        run.steps.push_back(base_result);
        for (size_t s = 1; s <= commits; ++s) {
            StepResult r;
            r.step = s;
            snapshot.reset();
            const uint64_t du_before = directory_bytes(dir);
            const uint64_t vectors_before = file_bytes(vector_file);
            const auto start = Clock::now();
            const vstore::CommitInfo info = apply_chain_step(
                *store, chain_commit_name(s), chain_commit_name(s - 1), plan[s], dim);
            r.commit_seconds = seconds_since(start);
            r.kind = info.graph_kind;
            r.depth = info.graph_chain.empty() ? 0 : uint32_t(info.graph_chain.size() - 1);
            r.graph_bytes = info.graph_owner ? 0 : info.graph_bytes;
            r.vector_bytes = file_bytes(vector_file) - vectors_before;
            r.directory_bytes = directory_bytes(dir) - du_before;
            open_step(r);
            if (s == 1 || s % std::max<size_t>(1, commits / 10) == 0 || s == commits)
                progress("chain", policy.label + " " + chain_commit_name(s) + ": " + kind_text(r) +
                                      ", graph " + bytes_text(r.graph_bytes) + ", commit " +
                                      fixed(r.commit_seconds, 3) + " s, open " +
                                      ms_text(r.open_seconds) + " ms, recall " +
                                      fixed(r.recall, 4));
            run.steps.push_back(r);
        }

        // The default policy's last delta commit against the same commit as one full file;
        // and the chain's deepest delta, when that is another commit.
        auto compare = [&](size_t step) {
            DeltaVsPacked c;
            c.commit = chain_commit_name(step);
            c.depth = run.steps[step].depth;
            const vstore::CommitInfo info = store->commit(kDomain, c.commit);
            for (size_t i = 1; i < info.graph_chain.size(); ++i)
                c.delta_bytes += info.graph_chain[i].bytes;
            const auto pack_dir = config.scratch_dir / "chain-pack";
            std::filesystem::remove_all(pack_dir);
            progress("chain", "pack of " + c.commit + " (a single full graph file)");
            const vstore::PackConfig packed_config =
                vstore::Pack::write(*store, kDomain, c.commit, pack_dir.string());
            // The member's size (the config's CommitInfo leaves graph_bytes at 0).
            for (const vstore::PackFile& f : packed_config.files)
                if (f.name == vstore::kPackGraphName)
                    c.packed_graph_bytes = f.bytes;
            auto pack = vstore::Pack::open(pack_dir.string(), store_options(1));
            auto packed = pack->snapshot();
            auto delta = store->open_commit(kDomain, c.commit);
            const GroundTruth& truth = truths[step];
            const int rounds = config.quick ? 1 : 3;
            for (size_t ef : kEfSweep) {
                std::vector<SearchRun> d, p;
                for (int round = 0; round < rounds; ++round) {
                    d.push_back(run_queries(queries, truth.queries(), truth,
                                            vstore_searcher(*delta, 10, ef)));
                    p.push_back(run_queries(queries, truth.queries(), truth,
                                            vstore_searcher(*packed, 10, ef)));
                }
                auto by_qps = [](const SearchRun& a, const SearchRun& b) { return a.qps < b.qps; };
                std::sort(d.begin(), d.end(), by_qps);
                std::sort(p.begin(), p.end(), by_qps);
                c.ef.push_back(ef);
                c.delta.push_back(d[d.size() / 2]);
                c.packed.push_back(p[p.size() / 2]);
                progress("chain", c.commit + " ef=" + std::to_string(ef) + "  delta " +
                                      fixed(c.delta.back().recall, 4) + " @ " +
                                      fixed(c.delta.back().qps, 0) + "/s  packed " +
                                      fixed(c.packed.back().recall, 4) + " @ " +
                                      fixed(c.packed.back().qps, 0) + "/s");
            }
            delta.reset();
            packed.reset();
            pack.reset();
            std::filesystem::remove_all(pack_dir);
            comparisons.push_back(std::move(c));
        };
        if (policy.policy.deltas &&
            policy.policy.delta_base == vstore::GraphPolicy::DeltaBase::kParent) {
            size_t last_delta = 0, deepest = 0;
            for (size_t s = 1; s <= commits; ++s) {
                if (run.steps[s].kind != vstore::format::GraphKind::kDelta ||
                    run.steps[s].graph_bytes == 0)
                    continue;
                last_delta = s;
                if (deepest == 0 || run.steps[s].depth >= run.steps[deepest].depth)
                    deepest = s;
            }
            if (last_delta > 0)
                compare(last_delta);
            if (deepest > 0 && deepest != last_delta)
                compare(deepest);
        }
        snapshot.reset();
        store.reset();
        std::filesystem::remove_all(dir);
        runs.push_back(std::move(run));
    }

    // ---- The report ----
    const uint64_t base_graph = pair.vstore.first.info.graph_bytes;
    const size_t every = std::max<size_t>(1, commits / 10);
    std::ostringstream out;
    out << "## Chain: " << commits << " commits of " << fixed(config.chain_change_share * 100, 1)
        << " % each, per graph storage policy (" << pair.name << ")\n\n"
        << "On the base commit of the Fashion-MNIST set (" << with_commas(n) << " items, its "
        << "graph a full file of " << bytes_text(base_graph) << "), " << commits
        << " commits one on another, each of " << with_commas(3 * per_kind)
        << " operations: " << with_commas(per_kind) << " deletes, " << with_commas(per_kind)
        << " replaces and " << with_commas(per_kind)
        << " inserts (ids drawn at random from the live set with a fixed seed, new vectors "
           "from the start of the test images; the same chain for every policy). Each commit "
           "runs on "
        << config.threads << " threads, with replaces as delete-then-insert (the default). "
        << "Open: a fresh `Store::open` (the previous store object closed, so no index pool "
           "holds the commit), `open_commit` and a first search (k=10, ef="
        << kChainEf << "), the files warm in the page cache; "
        << "the fastest of " << open_runs
        << " runs (the machine may be shared: the fastest is the least disturbed), and of it "
           "`open_commit` alone"
        << ". Recall@10 at ef = " << kChainEf << " over the last " << with_commas(queries.rows)
        << " test images, one pass, against the exact neighbours of each commit's live set. "
           "Graph bytes: the graph file the commit wrote; vector bytes: the vector file's "
           "growth; store growth: the store directory's allocated size (as `du` counts it) "
           "after the commit less before, so the catalog is in it too. The policies "
           "(`StoreOptions::graph_policy`): a delta over the parent's graph file (default), a "
           "delta over the full file at the root of the parent's chain, or deltas off; with "
           "deltas, a full file is written again when the deltas a reader lays over the full "
           "file would pass `max_delta_share` = "
        << fixed(vstore::GraphPolicy{}.max_delta_share, 2)
        << " of a full file, or the chain `max_chain_depth` = "
        << vstore::GraphPolicy{}.max_chain_depth
        << " deltas. Left out, to keep the full run within its hour: the chain on the 1M "
           "synthetic set (each of its commits copies and compares a graph of a million nodes, "
           "seconds apiece, and the section makes three chains).\n\n"
        << "| policy | graph bytes added | vector bytes added | store growth | full files "
           "written | deepest chain | mean commit (s) | open base (ms) | open "
        << chain_commit_name(1) << " (ms) | open " << chain_commit_name(commits) << " (ms) | "
        << chain_commit_name(commits) << " / " << chain_commit_name(1) << " | recall "
        << chain_commit_name(1) << " | recall " << chain_commit_name(commits) << " |\n"
        << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : runs) {
        const StepResult& first = r.steps[1];
        const StepResult& last = r.steps.back();
        out << "| " << r.policy.name << " | " << bytes_text(r.total_graph()) << " ("
            << fixed(100.0 * r.total_graph() / base_graph, 0) << " % of the base's file) | "
            << bytes_text(r.total_vectors()) << " | " << bytes_text(r.total_directory()) << " | "
            << r.full_files() << " | " << r.max_depth() << " | "
            << fixed(r.mean_commit_seconds(), 3) << " | " << ms_text(r.steps[0].open_seconds)
            << " | " << ms_text(first.open_seconds) << " | " << ms_text(last.open_seconds) << " | "
            << ratio(last.open_seconds, first.open_seconds) << " | " << fixed(first.recall, 4)
            << " | " << fixed(last.recall, 4) << " |\n";
    }
    out << "\n"
        << (every == 1 ? std::string("Every")
                       : "The first and every " + std::to_string(every) + "th")
        << " commit, each policy (graph bytes: of that commit, and of all commits so far):\n";
    for (const auto& r : runs) {
        out << "\n### " << r.policy.name << "\n\n"
            << "| commit | graph file | graph bytes | graph bytes so far | vector bytes so far | "
               "commit (s) | open (ms) | of which open_commit (ms) | recall@10 |\n"
            << "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
        uint64_t graph_so_far = 0, vectors_so_far = 0;
        for (const auto& s : r.steps) {
            if (s.step > 0) {
                graph_so_far += s.graph_bytes;
                vectors_so_far += s.vector_bytes;
            }
            if (!(s.step <= 1 || s.step % every == 0 || s.step == commits))
                continue;
            out << "| " << chain_commit_name(s.step) << " | " << kind_text(s) << " | "
                << bytes_text(s.graph_bytes) << " | " << bytes_text(graph_so_far) << " | "
                << bytes_text(vectors_so_far) << " | "
                << (s.step == 0 ? fixed(pair.vstore.first.seconds, 2) + " (build)"
                                : fixed(s.commit_seconds, 3))
                << " | " << ms_text(s.open_seconds) << " | " << ms_text(s.open_commit_seconds)
                << " | " << fixed(s.recall, 4) << " |\n";
        }
    }
    out << "\n![chain: bytes, commit time, open time and recall of every commit](chain.png)\n";

    for (const DeltaVsPacked& c : comparisons) {
        out << "\n### Search on delta commit " << c.commit
            << " against the same graph as one full file\n\n"
            << "Commit " << c.commit << " of the default policy's chain ("
            << (&c == &comparisons.front() ? "its last delta commit" : "its deepest delta")
            << ", depth " << c.depth << ": " << bytes_text(c.delta_bytes)
            << " of deltas laid over its full file) searched as the store opens it, against "
               "the same commit written as a pack (`vstore::Pack::write`, a directory) and "
               "opened with `Pack::open(...)->snapshot()`: one full graph file of "
            << bytes_text(c.packed_graph_bytes)
            << ", mapped and searched in place, and its own vector file in node order. k = "
               "10, one thread, one query at a time, the two taking turns at each ef, "
            << (config.quick ? std::string("one round") : "3 rounds, each one's median QPS kept")
            << ".\n\n| ef | recall@10 delta | QPS delta | recall@10 packed | QPS packed | QPS "
               "delta / packed |\n|---:|---:|---:|---:|---:|---:|\n";
        for (size_t i = 0; i < c.ef.size(); ++i) {
            out << "| " << c.ef[i] << " | " << fixed(c.delta[i].recall, 4) << " | "
                << fixed(c.delta[i].qps, 0) << " | " << fixed(c.packed[i].recall, 4) << " | "
                << fixed(c.packed[i].qps, 0) << " | " << fixed(c.delta[i].qps / c.packed[i].qps, 2)
                << " |\n";
        }
        out << "\nGeometric mean of the ratios over the " << c.ef.size()
            << " ef values: " << fixed(c.geometric_mean_ratio(), 3) << "; lowest "
            << fixed(c.lowest_ratio(), 3) << ".\n";
    }
    if (comparisons.empty()) {
        out << "\nNo commit of the default policy's chain was a delta: no delta/packed "
               "comparison.\n";
    }
    context.report.add_section(out.str());

    // ---- Targets ----
    for (const auto& r : runs) {
        // The slowest commit of the chain, not the last: where the last falls in the policy's
        // cycle of full files must not decide the target.
        size_t worst_step = 1;
        for (size_t s = 1; s < r.steps.size(); ++s) {
            if (r.steps[s].open_seconds > r.steps[worst_step].open_seconds)
                worst_step = s;
        }
        const double first = r.steps[1].open_seconds;
        const double last = r.steps[worst_step].open_seconds;
        const double share = last / first;
        context.report.add_target(
            {"chain, " + r.policy.name + ": open of every commit up to " +
                 chain_commit_name(commits) + " ≤ 2× " + chain_commit_name(1) + "'s",
             "slowest " + chain_commit_name(worst_step) + ": " + ms_text(last) + " ms vs " +
                 ms_text(first) + " ms: " + fixed(share, 2) + "× (" +
                 kind_text(r.steps[worst_step]) + " vs " + kind_text(r.steps[1]) + ")",
             share <= 2.0, fixed(share / 2.0, 2) + "× the allowed time",
             "opening a delta commit reads every delta of its chain whole (checksum, zstd "
             "decompression, decoding) and lays each over the mapped full file in memory (new "
             "nodes, flags and changed lists copied into overlay tables, each link checked), so "
             "the open time grows with the bytes of deltas read: over the parent, the sum of the "
             "chain; over the last full file, its one delta, which holds every change since that "
             "file. It falls back when the policy writes a full file again (max_delta_share of a "
             "full file's bytes, max_chain_depth deltas). Closing it: a smaller max_delta_share "
             "where open time matters (more full files, more bytes), or overlays kept in a form "
             "that is mapped rather than decoded at open."});
    }
    if (!comparisons.empty()) {
        const DeltaVsPacked& c = comparisons.front();
        const double geo = c.geometric_mean_ratio();
        std::string measured =
            fixed(geo, 3) + "× (lowest at one ef " + fixed(c.lowest_ratio(), 3) + "×)";
        if (comparisons.size() > 1) {
            const DeltaVsPacked& deep = comparisons.back();
            measured += "; the chain's deepest delta, " + deep.commit + " (depth " +
                        std::to_string(deep.depth) + "): " + fixed(deep.geometric_mean_ratio(), 3) +
                        "×";
        }
        context.report.add_target(
            {"search QPS of a delta commit ≥ 0.95× the same graph as a full file (" + c.commit +
                 ", depth " + std::to_string(c.depth) + ", geometric mean over ef " +
                 std::to_string(kEfSweep.front()) + "–" + std::to_string(kEfSweep.back()) + ")",
             measured, geo >= 0.95,
             (geo >= 0.95 ? "+" : "") + fixed((geo - 0.95) * 100, 1) + " points vs the 0.95 bar",
             "a node whose layer-0 list a delta of the chain changed is found through a bit "
             "set and a dense slot array into the overlay's records rather than at its fixed place in "
             "the mapped file, and new nodes' vectors lie at the end of the vector file, away "
             "from their neighbours' (the pack writes vectors in node order). Closing it: a "
             "full file written again sooner (the policy's max_delta_share), or the overlays' "
             "records laid out in node order."});
    }

    // ---- The plot: every commit ----
    std::ostringstream data;
    data << "# commit";
    for (const auto& r : runs)
        data << " " << r.policy.label << ":graph_bytes_so_far_MB commit_s open_ms recall";
    data << "\n";
    std::vector<uint64_t> so_far(runs.size(), 0);
    for (size_t s = 0; s <= commits; ++s) {
        data << s;
        for (size_t p = 0; p < runs.size(); ++p) {
            const StepResult& st = runs[p].steps[s];
            if (s > 0)
                so_far[p] += st.graph_bytes;
            data << " " << (s == 0 ? NAN : so_far[p] / 1e6) << " "
                 << (s == 0 ? NAN : st.commit_seconds) << " " << st.open_seconds * 1000 << " "
                 << st.recall;
        }
        data << "\n";
    }
    Plot plot;
    plot.name = "chain";
    plot.data_files.push_back({"chain.dat", data.str()});
    std::ostringstream gp;
    gp << "set multiplot layout 2,2 title 'Chain of " << commits << " commits of "
       << fixed(config.chain_change_share * 100, 1) << " % on " << pair.name << "'\n"
       << "set grid\nset key top left font ',9'\nset xlabel 'commit'\nset datafile missing 'nan'\n";
    // The key in the first panel only; bytes on a log scale (deltas and full files differ by
    // orders of magnitude).
    auto panel = [&](const std::string& title, const std::string& ylabel, int column_offset) {
        gp << "set title '" << title << "'\nset ylabel '" << ylabel << "'\n"
           << (column_offset == 0 ? "set logscale y\n" : "unset logscale y\nunset key\n")
           << "plot ";
        for (size_t p = 0; p < runs.size(); ++p) {
            gp << (p ? ", " : "") << "'chain.dat' using 1:" << 2 + 4 * p + column_offset
               << " with lines lw 2 title '" << runs[p].policy.name << "'";
        }
        gp << "\n";
    };
    panel("graph bytes added so far (log scale)", "MB", 0);
    panel("commit time", "seconds", 1);
    panel("open to first result (warm)", "ms", 2);
    panel("recall@10 at ef = " + std::to_string(kChainEf), "recall@10", 3);
    gp << "unset multiplot\n";
    plot.gnuplot = gp.str();
    context.plots.push_back(plot);
}

}  // namespace bench
