// Section "lifecycle": the chain section's chain of small commits, built with the default graph
// policy on a copy of the Fashion-MNIST base store, then the lifecycle of spec/lifecycle.md:
// Store::gc keeping the newest commits, and Store::vacuum. Measured: the time of each call, the
// bytes they free (Store::space and the directory's size after each step), and whether every
// kept commit answers exactly as before, after gc and after vacuum.
#include <algorithm>
#include <bit>
#include <set>
#include <sstream>
#include <stdexcept>

#include "bench.h"

namespace bench {

namespace {

constexpr size_t kLifecycleK = 10;
constexpr size_t kLifecycleEf = 64;

// One commit's answers: every query's hits, as Snapshot::search gives them.
using Answers = std::vector<std::vector<vstore::SearchHit>>;

Answers answers_of(const vstore::Snapshot& snapshot, const Vectors& queries) {
    Answers answers;
    answers.reserve(queries.rows);
    for (uint64_t q = 0; q < queries.rows; ++q)
        answers.push_back(
            snapshot.search({queries.row(q), queries.dim}, kLifecycleK, kLifecycleEf));
    return answers;
}

// The same ids in the same order, and the same distances bit for bit.
bool same_hits(const std::vector<vstore::SearchHit>& a, const std::vector<vstore::SearchHit>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.id == y.id &&
               std::bit_cast<uint32_t>(x.distance) == std::bit_cast<uint32_t>(y.distance);
    });
}

// The kept commits' answers compared with those recorded before gc.
struct AnswerCheck {
    size_t commits = 0;                // commits compared
    uint64_t queries = 0;              // answers compared
    uint64_t differing = 0;            // of them, answers that differ
    std::vector<std::string> missing;  // recorded commits the store no longer has
    bool unchanged() const { return differing == 0 && missing.empty(); }
    std::string text() const {
        if (unchanged())
            return "unchanged: yes (" + std::to_string(commits) + " commits × " +
                   with_commas(queries / std::max<size_t>(1, commits)) + " queries)";
        std::string t = "unchanged: **no**";
        if (differing > 0)
            t += ", " + with_commas(differing) + " of " + with_commas(queries) + " answers differ";
        if (!missing.empty()) {
            t += ", dropped:";
            for (const auto& m : missing)
                t += " " + m;
        }
        return t;
    }
};

// Each recorded commit opened from `store` (a fresh Store object: no index pool holds it) and
// asked the same queries.
AnswerCheck check_answers(vstore::Store& store, const std::map<std::string, Answers>& recorded,
                          const Vectors& queries) {
    std::set<std::string> present;
    for (const vstore::CommitInfo& c : store.commits(kDomain))
        present.insert(c.commit);
    AnswerCheck check;
    for (const auto& [commit, before] : recorded) {
        if (!present.count(commit)) {
            check.missing.push_back(commit);
            continue;
        }
        const Answers now = answers_of(*store.open_commit(kDomain, commit), queries);
        ++check.commits;
        for (size_t q = 0; q < before.size(); ++q) {
            ++check.queries;
            check.differing += !same_hits(before[q], now[q]);
        }
    }
    return check;
}

// The store after one step: Store::space of the domain, and the directory as du counts it.
struct StoreState {
    vstore::DomainSpace space;
    uint64_t catalog_bytes = 0;
    uint64_t directory_bytes = 0;
    double space_seconds = 0;
};

StoreState state_of(const vstore::Store& store, const std::filesystem::path& dir) {
    StoreState state;
    const auto start = Clock::now();
    const vstore::SpaceReport report = store.space(kDomain);
    state.space_seconds = seconds_since(start);
    if (report.domains.size() != 1)
        throw std::runtime_error("lifecycle: Store::space of domain '" + kDomain + "' reported " +
                                 std::to_string(report.domains.size()) + " domains");
    state.space = report.domains.front();
    state.catalog_bytes = report.catalog_bytes;
    state.directory_bytes = directory_bytes(dir);
    return state;
}

uint64_t files_bytes(const std::vector<vstore::GraphFileRef>& files) {
    uint64_t bytes = 0;
    for (const auto& f : files)
        bytes += f.bytes;
    return bytes;
}

std::string files_text(const std::vector<vstore::GraphFileRef>& files) {
    return std::to_string(files.size()) + " (" + bytes_text(files_bytes(files)) + ")";
}

std::string before_after(uint64_t before, uint64_t after) {
    std::string text = bytes_text(before) + " → " + bytes_text(after) + " (";
    text += after <= before ? "−" : "+";
    text += bytes_text(after <= before ? before - after : after - before);
    return text + ")";
}

std::string seconds_text(double seconds) {
    return fixed(seconds, seconds < 1 ? 3 : 2);
}

}  // namespace

void section_lifecycle(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const Vectors& test = context.fixtures.fashion_queries();
    const uint32_t dim = pair.base->dim;
    const uint64_t n = pair.base->rows;
    const size_t commits = config.chain_commits;
    // 10 of the 100-commit chain, 3 of --quick's 10; never every commit of the chain.
    const size_t keep_last = std::min(commits, std::max<size_t>(3, commits / 10));
    const Vectors queries = tail_rows(test, config.queries);
    const ChainPlan chain =
        chain_plan("lifecycle", n, test, queries.rows, commits, config.chain_change_share);

    // The chain, with the default graph policy, on a copy of the base store.
    const auto dir = config.scratch_dir / "lifecycle";
    std::filesystem::remove_all(dir);
    std::filesystem::copy(pair.vstore.dir, dir, std::filesystem::copy_options::recursive);
    const vstore::StoreOptions options = store_options(config.threads);
    auto store = vstore::Store::open(dir.string(), options);
    progress("lifecycle", std::to_string(commits) + " commits of " +
                              with_commas(3 * chain.per_kind) + " operations on " + with_commas(n) +
                              " (default graph policy)");
    double chain_seconds = 0;
    for (size_t s = 1; s <= commits; ++s) {
        const auto start = Clock::now();
        apply_chain_step(*store, chain_commit_name(s), chain_commit_name(s - 1), chain.steps[s],
                         dim);
        chain_seconds += seconds_since(start);
        if (s % std::max<size_t>(1, commits / 10) == 0 || s == commits)
            progress("lifecycle", chain_commit_name(s) + " committed (" + fixed(chain_seconds, 1) +
                                      " s so far)");
    }

    // The commits gc will keep, by its rule (spec/lifecycle.md, "Selection"): newest first by
    // creation time, then by name; and their answers before anything is dropped.
    std::vector<vstore::CommitInfo> all = store->commits(kDomain);
    const size_t commits_before = all.size();
    vstore::sort_newest_first(all);
    std::map<std::string, Answers> recorded;
    for (size_t i = 0; i < keep_last && i < all.size(); ++i)
        recorded[all[i].commit] = answers_of(*store->open_commit(kDomain, all[i].commit), queries);
    progress("lifecycle", "answers of the " + std::to_string(recorded.size()) +
                              " newest commits recorded (" + with_commas(queries.rows) +
                              " queries each)");
    const StoreState chained = state_of(*store, dir);

    // gc --keep-last K.
    vstore::GcOptions gc_options;
    gc_options.domain = kDomain;
    gc_options.keep_last = keep_last;
    auto start = Clock::now();
    const vstore::GcReport gc = store->gc(gc_options);
    const double gc_seconds = seconds_since(start);
    if (gc.domains.size() != 1)
        throw std::runtime_error("lifecycle: gc reported " + std::to_string(gc.domains.size()) +
                                 " domains");
    const vstore::DroppedCommits& dropped = gc.domains.front();
    progress("lifecycle", "gc --keep-last " + std::to_string(keep_last) + ": " +
                              std::to_string(dropped.dropped.size()) + " commits dropped, " +
                              bytes_text(gc.bytes_freed()) + " freed in " +
                              seconds_text(gc_seconds) + " s");
    const StoreState collected = state_of(*store, dir);
    std::set<std::string> kept_names;
    for (const vstore::CommitInfo& c : store->commits(kDomain))
        kept_names.insert(c.commit);
    std::set<std::string> expected_names;
    for (const auto& [name, answers] : recorded)
        expected_names.insert(name);
    const bool kept_as_expected = kept_names == expected_names;
    store.reset();
    store = vstore::Store::open(dir.string(), options);
    const AnswerCheck after_gc = check_answers(*store, recorded, queries);
    progress("lifecycle", "after gc: answers " + after_gc.text());

    // vacuum.
    start = Clock::now();
    const vstore::VacuumReport vacuum = store->vacuum(kDomain);
    const double vacuum_seconds = seconds_since(start);
    progress("lifecycle",
             "vacuum: vector file " +
                 before_after(vacuum.vector_file_bytes_before, vacuum.vector_file_bytes_after) +
                 " in " + seconds_text(vacuum_seconds) + " s");
    const StoreState vacuumed = state_of(*store, dir);
    store.reset();
    store = vstore::Store::open(dir.string(), options);
    const AnswerCheck after_vacuum = check_answers(*store, recorded, queries);
    progress("lifecycle", "after vacuum: answers " + after_vacuum.text());
    store.reset();
    std::filesystem::remove_all(dir);

    // ---- The report ----
    const std::string first_kept = expected_names.empty() ? "" : *expected_names.begin();
    const std::string last_kept = expected_names.empty() ? "" : *expected_names.rbegin();
    const std::string gc_name = "gc --keep-last " + std::to_string(keep_last);
    std::ostringstream out;
    out << "## Lifecycle: gc and vacuum after a chain of " << commits << " commits (" << pair.name
        << ")\n\n"
        << "On a copy of the Fashion-MNIST base store (" << with_commas(n)
        << " items), the chain section's chain with the default graph policy (a delta over "
           "the parent's file): "
        << commits << " commits one on another, each of " << with_commas(3 * chain.per_kind)
        << " operations (" << with_commas(chain.per_kind) << " deletes, "
        << with_commas(chain.per_kind) << " replaces, " << with_commas(chain.per_kind)
        << " inserts; the same plan and seed), on " << config.threads
        << " threads. Then the answers of the " << keep_last << " newest commits (" << first_kept
        << " … " << last_kept << ") are recorded: k = " << kLifecycleK << ", ef = " << kLifecycleEf
        << ", for each of the last " << with_commas(queries.rows)
        << " test images, ids and distances. Then `Store::space` of the domain, `Store::gc` "
           "with `keep_last` = "
        << keep_last << " (the newest by creation time, as `vstore gc --keep-last " << keep_last
        << "`; " << keep_last
        << " = max(3, commits / 10), at most the commits of the chain), "
           "`space` again, `Store::vacuum` of the domain, `space` again. After gc and after "
           "vacuum a fresh `Store::open` (no index pool holds a commit) opens each kept commit "
           "and runs the same queries: *unchanged* means every answer has the same ids in the "
           "same order and the same distances, bit for bit. Times: the wall clock of the one "
           "call (the chain: the sum of its commits), on a machine that may be shared; "
           "`space`'s own time in its column. Store directory: its allocated size as `du` "
           "counts it (catalog and lock file included). Vectors, as `space` counts them: "
           "referenced by a graph file a head reads / only by files no head reads / by no "
           "file (what vacuum frees). Graph files: those the commits' chains name, full + "
           "delta; base-only: of them, files only dropped commits wrote, kept as the bases of "
           "kept chains.\n\n"
        << "| step | time (s) | commits (heads) | store directory | catalog | vector file | "
           "vectors: head / history / unreferenced | graph files: full + delta (base-only) | "
           "graph bytes | `space` (ms) | kept commits' answers |\n"
        << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    auto row = [&](const std::string& step, double seconds, const StoreState& s,
                   const std::string& answers) {
        const vstore::DomainSpace& d = s.space;
        out << "| " << step << " | " << seconds_text(seconds) << " | " << d.commits << " ("
            << d.heads << ") | " << bytes_text(s.directory_bytes) << " | "
            << bytes_text(s.catalog_bytes) << " | " << bytes_text(d.vector_file_bytes) << " | "
            << with_commas(d.head_vectors) << " / " << with_commas(d.history_vectors) << " / "
            << with_commas(d.unreferenced_vectors) << " | " << d.full_files << " + "
            << d.delta_files << " (" << d.base_only_files << ") | "
            << bytes_text(d.full_bytes + d.delta_bytes) << " | " << fixed(s.space_seconds * 1000, 1)
            << " | " << answers << " |\n";
    };
    row(std::to_string(commits) + " commits on the base", chain_seconds, chained,
        "recorded: " + std::to_string(recorded.size()) + " commits × " + with_commas(queries.rows) +
            " queries");
    row("`" + gc_name + "`", gc_seconds, collected, after_gc.text());
    row("`vacuum`", vacuum_seconds, vacuumed, after_vacuum.text());

    out << "\n| operation | measure | value |\n|---|---|---:|\n"
        << "| `" << gc_name << "` | time | " << seconds_text(gc_seconds) << " s |\n"
        << "| | commits dropped | " << dropped.dropped.size() << " of " << commits_before << " |\n"
        << "| | commits kept | " << kept_names.size() << ": "
        << (kept_as_expected ? "the newest " + std::to_string(keep_last) + ", as expected"
                             : std::string("**not** the newest ") + std::to_string(keep_last))
        << " |\n"
        << "| | kept commits cut (parent dropped) | " << dropped.cut.size() << " |\n"
        << "| | bytes freed (`GcReport::bytes_freed`) | " << bytes_text(gc.bytes_freed()) << " |\n"
        << "| | graph files removed | " << files_text(dropped.removed) << " |\n"
        << "| | graph files kept (written by dropped commits, read by kept ones) | "
        << files_text(dropped.kept) << " |\n"
        << "| | orphan files deleted | " << gc.orphans.size() << " (" << bytes_text(gc.orphan_bytes)
        << ") |\n"
        << "| | store directory | "
        << before_after(chained.directory_bytes, collected.directory_bytes) << " |\n"
        << "| `vacuum` | time | " << seconds_text(vacuum_seconds) << " s |\n"
        << "| | rewritten | " << (vacuum.rewritten ? "yes" : "no: every vector was referenced")
        << " |\n"
        << "| | vectors | " << with_commas(vacuum.vectors_before) << " → "
        << with_commas(vacuum.vectors_after) << " |\n"
        << "| | vector file bytes | "
        << before_after(vacuum.vector_file_bytes_before, vacuum.vector_file_bytes_after) << " |\n"
        << "| | graph files rewritten | " << vacuum.graph_files << " |\n"
        << "| | graph bytes | " << before_after(vacuum.graph_bytes_before, vacuum.graph_bytes_after)
        << " |\n"
        << "| | store directory | "
        << before_after(collected.directory_bytes, vacuumed.directory_bytes) << " |\n"
        << "| both | store directory | "
        << before_after(chained.directory_bytes, vacuumed.directory_bytes) << " |\n";
    context.report.add_section(out.str());
}

}  // namespace bench
