// vstore-bench: vstore measured beside hnswlib and FAISS on the same data, in one run.
// Shared pieces of the benchmark: configuration, data sets, ground truth, timing, the report.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vstore/store.h"

namespace bench {

using Clock = std::chrono::steady_clock;
using vstore::Metric;

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- Configuration -----------------------------------------------------------------------

struct Config {
    bool quick = false;
    bool smoke = false;  // tiny sizes: the test suite's run, for errors, not figures
    std::filesystem::path out_dir;
    std::filesystem::path scratch_dir;  // stores and index files; removed at the end
    std::filesystem::path cache_dir;    // ground truth, kept between runs
    unsigned threads = 2;               // the most threads any build uses

    uint64_t fashion_base = 60000;    // Fashion-MNIST base vectors
    uint64_t search_queries = 10000;  // queries of the recall/QPS curve
    uint64_t queries = 1000;          // queries of the other sections
    uint64_t churn_base = 40000;      // live items in the churn experiment
    unsigned churn_generations = 10;
    size_t chain_commits = 100;         // the chain and lifecycle sections' commits (Fashion-MNIST)
    double chain_change_share = 0.001;  // of the base, per commit of the chain
    std::vector<uint64_t> synthetic_sizes = {100000, 300000, 1000000};  // L2, growth
    std::vector<uint64_t> cosine_sizes = {100000};                      // cosine, growth
    uint64_t big_synthetic = 1000000;  // 0: no synthetic set in build and incremental
    bool big_single_thread = false;    // also build the big set on one thread (~20 minutes)
    uint64_t access_random_reads = 2000000;
    uint64_t replace_base = 20000, replace_count = 5000;
    uint64_t exact_single_queries = 200;  // one-at-a-time exact queries
    uint64_t exact_batch = 1000;          // queries in one exact batch
    uint64_t bandwidth_buffer_bytes = uint64_t(1) << 30;
    bool try_drop_caches = true;  // the open section's cold runs
};

// ---- Progress on stderr ------------------------------------------------------------------

void progress(const std::string& section, const std::string& message);

// ---- Vectors and data sets ---------------------------------------------------------------

struct Vectors {
    uint64_t rows = 0;
    uint32_t dim = 0;
    std::vector<float> values;  // rows * dim, row-major
    const float* row(uint64_t r) const { return values.data() + r * dim; }
    float* row(uint64_t r) { return values.data() + r * dim; }
};

// One vector with the label every system knows it by (hnswlib label, FAISS position mapped
// back, vstore id = the label in decimal).
struct Item {
    uint64_t label;
    const float* data;
};

std::vector<Item> items_of(const Vectors& v, uint64_t first_row = 0, uint64_t count = UINT64_MAX,
                           uint64_t first_label = 0);

// Fashion-MNIST from Debian's dataset-fashion-mnist: `rows` training images (0: all).
Vectors fashion_train(uint64_t rows);
Vectors fashion_test(uint64_t rows);

// Seeded clustered Gaussian vectors: each cluster a low-rank Gaussian around its centre, plus
// isotropic noise. Row i depends only on (seed, i), so a smaller set is a prefix of a larger.
// `normalized` rescales every row to unit length (the cosine variant).
Vectors synthetic_vectors(uint64_t first_row, uint64_t rows, uint32_t dim, uint64_t seed,
                          bool normalized);
inline constexpr uint32_t kSyntheticDim = 128;
inline constexpr uint64_t kSyntheticBaseSeed = 20240501;
inline constexpr uint64_t kSyntheticQuerySeed = 977;

// ---- Distances, ground truth, recall ------------------------------------------------------

// The distance every system reports: squared L2, or 1 - a.b for cosine on unit vectors.
float distance(Metric metric, const float* a, const float* b, uint32_t dim);

struct Hit {
    uint64_t label;
    float distance;
};

// The exact k nearest items of each query, ascending.
struct GroundTruth {
    uint32_t k = 0;
    std::vector<uint64_t> labels;  // queries * k
    std::vector<float> distances;
    uint64_t queries() const { return k == 0 ? 0 : labels.size() / k; }
};

// Exact search of `queries` over `items` on `threads` threads, cached in cache_dir under a
// key of the data's bytes (and `what`, a readable name for the file).
GroundTruth exact_ground_truth(const Config& config, const std::string& what,
                               const std::vector<Item>& items, uint32_t dim, Metric metric,
                               const Vectors& queries, uint64_t query_count, uint32_t k);

// The ground truth's file format (also the cache's), and a plain one for query vectors.
void save_truth(const std::filesystem::path& path, const GroundTruth& truth);
std::optional<GroundTruth> load_truth(const std::filesystem::path& path);
void save_vectors(const std::filesystem::path& path, const Vectors& vectors);
Vectors load_vectors(const std::filesystem::path& path);
// The last `count` rows of `v` (queries kept apart from rows a section inserts).
Vectors tail_rows(const Vectors& v, uint64_t count);

// recall@k of one answer: a hit counts when it is one of the true k, or lies no farther than
// the true k-th (ties, and duplicate vectors, are common in Fashion-MNIST).
double recall_of(const GroundTruth& truth, uint64_t query, std::span<const Hit> hits);

// ---- Search sweeps -----------------------------------------------------------------------

using SearchFn = std::function<void(const float* query, std::vector<Hit>& out)>;

struct SearchRun {
    double recall = 0;
    double qps = 0;
    uint64_t queries = 0;
};

// Runs queries [0, count) one at a time on this thread (after an untimed warm-up of up to
// `warmup` of them) and measures recall@k against `truth` and queries per second. The queries
// are run again until the timing has lasted min_measure_seconds, so that a short measurement
// is not at the mercy of one interruption.
extern double min_measure_seconds;
SearchRun run_queries(const Vectors& queries, uint64_t count, const GroundTruth& truth,
                      const SearchFn& search, uint64_t warmup = 100);

struct CurvePoint {
    size_t ef;
    double recall;
    double qps;
};
using Curve = std::vector<CurvePoint>;

// Queries per second at `recall` on a curve measured at increasing ef: interpolated (QPS on a
// log scale) between the two points around it; the first point's QPS when even the smallest
// ef reaches it (marked by `at_first`); nothing when no point reaches it.
struct QpsAtRecall {
    std::optional<double> qps;
    bool at_first = false;
};
QpsAtRecall qps_at_recall(const Curve& curve, double recall);

inline const std::vector<size_t> kEfSweep = {10, 16, 24, 32, 48, 64, 96, 128, 256};

// ---- vstore helpers ----------------------------------------------------------------------

inline const std::string kDomain = "bench";

vstore::StoreOptions store_options(unsigned threads);

struct TimedCommit {
    vstore::CommitInfo info;
    double seconds = 0;  // begin_commit to finish(), inclusive
};

// A new store at `dir` (replacing what is there) with one domain and a first commit of items.
struct BuiltStore {
    std::filesystem::path dir;
    std::unique_ptr<vstore::Store> store;
    TimedCommit first;
};
BuiltStore build_store(const std::filesystem::path& dir, const std::vector<Item>& items,
                       uint32_t dim, Metric metric, unsigned threads,
                       const std::string& commit = "base");

// Commits `inserts` and `removes` (labels) on top of `parent`.
TimedCommit commit_changes(vstore::Store& store, const std::string& commit,
                           const std::string& parent, const std::vector<Item>& inserts,
                           const std::vector<uint64_t>& removes, uint32_t dim);

SearchFn vstore_searcher(const vstore::Snapshot& snapshot, size_t k, size_t ef);

// A copy of a store directory (replacing what is at `to`) without its lock files, so that it
// can be opened beside the original: LMDB allows one environment per directory in a process.
void copy_store(const std::filesystem::path& from, const std::filesystem::path& to);

// ---- The chain of small commits (sections chain and lifecycle) ---------------------------

// One commit of a chain: labels deleted, and (label, vector) inserted or replaced.
struct ChainStep {
    std::vector<Item> inserts;
    std::vector<uint64_t> removes;
    std::vector<Item> replaces;
};

// A chain of `commits` commits on a base whose labels are 0 .. base_rows - 1, each changing
// change_share of the base, a third each by deletes, replaces and inserts: ids drawn at random
// from the live set with a fixed seed, new vectors from the start of `new_vectors` (new labels
// from base_rows on). The last `reserved_rows` of new_vectors are kept apart (the queries);
// too few rows for both is an error naming `section`. steps[0] is the base's, empty.
struct ChainPlan {
    uint64_t per_kind = 0;  // deletes, replaces and inserts of each commit
    std::vector<ChainStep> steps;
};
ChainPlan chain_plan(const std::string& section, uint64_t base_rows, const Vectors& new_vectors,
                     uint64_t reserved_rows, size_t commits, double change_share);
std::string chain_commit_name(size_t step);  // "base", then "c001", "c002", ...
// Commits one step of a plan on top of `parent`: its deletes, then replaces, then inserts.
vstore::CommitInfo apply_chain_step(vstore::Store& store, const std::string& commit,
                                    const std::string& parent, const ChainStep& step, uint32_t dim);

// ---- System helpers ----------------------------------------------------------------------

struct MachineInfo {
    std::string cpu_model;
    unsigned cores = 0;
    uint64_t memory_bytes = 0;
    std::string kernel;
    std::string compiler;
    std::string flags;
};
MachineInfo machine_info();
std::string load_average();                              // "/proc/loadavg"'s first three fields
uint64_t directory_bytes(const std::filesystem::path&);  // as du counts: allocated blocks
uint64_t file_bytes(const std::filesystem::path&);
std::string package_version(const std::string& debian_package);  // "" when not installed
bool command_exists(const std::string& command);

// Evicts the files' pages from the page cache (fdatasync, posix_fadvise DONTNEED); with
// `drop_all`, also writes 3 to /proc/sys/vm/drop_caches, returning whether that worked.
bool evict_from_page_cache(const std::vector<std::filesystem::path>& files, bool drop_all);
double resident_fraction(const std::filesystem::path& file);  // by mincore

// Single-thread and multi-thread streaming-read bandwidth over a buffer, bytes/s (best pass).
double read_bandwidth(uint64_t buffer_bytes, unsigned threads);

// The median of `values` (the upper one of an even count; 0 when empty), and of one member
// of each of `runs`.
double median_of(std::vector<double> values);
template <typename Run>
double median_of(const std::vector<Run>& runs, double Run::*member) {
    std::vector<double> values;
    for (const Run& r : runs)
        values.push_back(r.*member);
    return median_of(std::move(values));
}

// Runs fn(i) for i in [0, n) on `threads` threads.
void parallel_for(uint64_t n, unsigned threads, const std::function<void(uint64_t)>& fn);

// ---- Formatting and the report -----------------------------------------------------------

std::string fixed(double value, int decimals);
std::string ratio(double numerator, double denominator);  // "1.23" or "n/a"
std::string bytes_text(uint64_t bytes);                   // "12.3 MB"
std::string with_commas(uint64_t n);

struct Target {
    std::string what;      // the target as the issue states it
    std::string measured;  // the figure, with its ratio
    std::optional<bool> met;
    std::string margin;  // by how much it is met or missed
    std::string why;     // when missed: the engine's reason, and what would close it
};

class Report {
  public:
    explicit Report(const Config& config);
    void set_header(const std::string& markdown) { header_ = markdown; }
    void add_section(const std::string& markdown);
    void add_target(Target target);
    void add_note(const std::string& markdown) { notes_.push_back(markdown); }
    void write() const;  // DIR/report.md, rewritten as sections finish

  private:
    const Config& config_;
    std::string header_;
    std::vector<std::string> sections_;
    std::vector<Target> targets_;
    std::vector<std::string> notes_;
};

// Files written under the output directory for the plots (data, gnuplot script).
struct Plot {
    std::string name;     // "search-recall-qps" -> DIR/search-recall-qps.png
    std::string gnuplot;  // the script's body, after the terminal and output lines
    std::vector<std::pair<std::string, std::string>> data_files;  // name, contents
};

// ---- Shared fixtures: what several sections measure on ------------------------------------

class HnswlibIndex;
class Hnswlib08Index;
class UsearchIndex;

// A data set built once by vstore and hnswlib on `threads` threads, with its ground truth.
// The npm peers (hnswlib 0.8, usearch), when this build has them, are built on the same threads
// only when a section asks for them (Fixtures::build_npm_peers).
struct BuiltPair {
    std::string name;  // "Fashion-MNIST 60,000 x 784 (l2)"
    Metric metric = Metric::kL2;
    const Vectors* base = nullptr;
    const Vectors* queries = nullptr;
    BuiltStore vstore;
    std::shared_ptr<const vstore::Snapshot> snapshot;
    std::unique_ptr<HnswlibIndex> hnswlib;
    double hnswlib_build_seconds = 0;
    std::unique_ptr<Hnswlib08Index> hnswlib08;  // null when absent or not built yet
    double hnswlib08_build_seconds = 0;
    std::unique_ptr<UsearchIndex> usearch;
    double usearch_build_seconds = 0;
    unsigned threads = 0;
    GroundTruth truth;  // of `queries` (config.queries of them, or search_queries for Fashion)
};

class Fixtures {
  public:
    explicit Fixtures(const Config& config);
    ~Fixtures();
    const Config& config() const { return config_; }

    const Vectors& fashion_base();  // config.fashion_base training images
    const Vectors& fashion_all_train();
    const Vectors& fashion_queries();  // the 10,000 test images
    // Fashion-MNIST base built on config.threads, truth over config.search_queries queries.
    BuiltPair& fashion();

    const Vectors& synthetic(uint64_t rows, bool cosine);
    const Vectors& synthetic_queries(bool cosine);
    BuiltPair& synthetic_pair(uint64_t rows, bool cosine);
    // Builds the pair's npm peers that this build of the bench has and that are not built yet.
    void build_npm_peers(BuiltPair& pair);
    void release_synthetic(uint64_t rows, bool cosine);

  private:
    BuiltPair build_pair(const std::string& name, const Vectors& base, const Vectors& queries,
                         uint64_t query_count, Metric metric, const std::string& dir_name);
    const Config& config_;
    std::unique_ptr<Vectors> fashion_base_, fashion_all_train_, fashion_queries_;
    std::unique_ptr<BuiltPair> fashion_;
    std::map<std::pair<uint64_t, bool>, std::unique_ptr<Vectors>> synthetic_;
    std::map<bool, std::unique_ptr<Vectors>> synthetic_queries_;
    std::map<std::pair<uint64_t, bool>, std::unique_ptr<BuiltPair>> synthetic_pairs_;
};

// ---- Sections ----------------------------------------------------------------------------

struct SectionContext {
    const Config& config;
    Fixtures& fixtures;
    Report& report;
    std::vector<Plot>& plots;
};

void section_access(SectionContext& context);
void section_replace(SectionContext& context);
void section_build(SectionContext& context);
void section_search(SectionContext& context);
void section_incremental(SectionContext& context);
void section_open(SectionContext& context);
void section_churn(SectionContext& context);
void section_chain(SectionContext& context);
void section_lifecycle(SectionContext& context);
void section_content(SectionContext& context);
void section_pool(SectionContext& context);
void section_exact(SectionContext& context);
void section_filtered(SectionContext& context);
void section_checks(SectionContext& context);
void section_serve(SectionContext& context);
void section_growth(SectionContext& context);

// The pool section's measurement in a child process of its own, so that its peak resident
// memory is its own: `vstore-bench --child-search ...`. Returns the exit status.
int child_search_main(int argc, char** argv);

}  // namespace bench
