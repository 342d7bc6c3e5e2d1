// vstore-bench: vstore measured beside hnswlib (0.6.2, and 0.8 when fetched), FAISS and usearch
// on the same data in one run; writes DIR/report.md and PNG plots. `--quick` is the test suite's
// smoke run.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench.h"
#include "peers.h"
#include "vstore/format/idx_file.h"

namespace {

using namespace bench;

struct Section {
    std::string name;
    std::string what;
    void (*run)(SectionContext&);
};

const std::vector<Section> kSections = {
    {"access", "LoadedVec reads, mapped and pool, beside an in-memory array", section_access},
    {"build", "first commit vs hnswlib (and hnswlib 0.8, usearch), 1 and N threads", section_build},
    {"search", "recall@10 vs QPS vs hnswlib, FAISS, hnswlib 0.8 and usearch", section_search},
    {"incremental", "1 % and 10 % insert commits vs a rebuild", section_incremental},
    {"chain", "100 commits of 0.1 % each, per graph storage policy", section_chain},
    {"lifecycle",
     "the chain's 100 commits, then gc --keep-last 10 and vacuum: time, bytes "
     "freed, kept commits' answers unchanged",
     section_lifecycle},
    {"content", "content-addressed vectors on and off: moves, edits, reverts", section_content},
    {"open", "open to first result vs hnswlib loadIndex (and usearch view), also on the big "
             "synthetic set",
     section_open},
    {"churn", "10 generations of deletes and inserts", section_churn},
    {"pool", "pool mode memory, QPS, recall vs mapped", section_pool},
    {"exact", "exact search vs FAISS IndexFlatL2 and bandwidth", section_exact},
    {"filtered", "search restricted to allowed ids at 50 % to 0.1 % vs the exact scan of the subset",
     section_filtered},
    {"checks", "mapped mode's first-use vector checks: search QPS and open, checked vs unchecked",
     section_checks},
    {"serve", "vstore serve: search QPS and p50/p99 over HTTP vs in-process at 1, 2 and 8 "
              "clients, idle and during an index task",
     section_serve},
    {"replace", "the two replace strategies", section_replace},
    {"growth", "synthetic sets of growing size, l2 and cosine", section_growth},
};

std::string now_text() {
    const std::time_t t = std::time(nullptr);
    char text[64];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
    return text;
}

std::filesystem::path default_cache_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
        return std::filesystem::path(xdg) / "vstore-bench";
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return std::filesystem::path(home) / ".cache" / "vstore-bench";
    return std::filesystem::temp_directory_path() / "vstore-bench-cache";
}

std::string header(const Config& config, const std::vector<std::string>& sections, double seconds,
                   bool finished, const std::string& load_at_start) {
    const MachineInfo machine = machine_info();
    std::ostringstream out;
    out << "# vstore-bench report\n\n"
        << (finished ? "Run finished"
                     : "**Run in progress** (this file is rewritten as sections "
                       "finish)")
        << ", " << now_text() << "; " << (config.quick ? "`--quick` mode" : "full run")
        << ", sections: " <<
        [&] {
            std::string list;
            for (const auto& s : sections)
                list += (list.empty() ? "" : ", ") + s;
            return list;
        }()
        << "; " << fixed(seconds / 60, 1) << (finished ? " minutes in all" : " minutes so far")
        << ".\n\n"
        << "| machine | |\n|---|---|\n"
        << "| CPU | " << machine.cpu_model << " |\n"
        << "| cores | " << machine.cores << " (builds use " << config.threads << " threads) |\n"
        << "| memory | " << fixed(machine.memory_bytes / double(uint64_t(1) << 30), 1) << " GiB |\n"
        << "| kernel | " << machine.kernel << " |\n"
        << "| compiler | g++ " << machine.compiler << " |\n"
        << "| flags (vstore, vstore-bench and the hnswlib it includes) | `" << machine.flags
        << "` |\n"
        << "| hnswlib | libhnswlib-dev " << package_version("libhnswlib-dev") << " |\n"
        << "| FAISS | "
        << (faiss_available() ? "libfaiss-dev " + package_version("libfaiss-dev") + " (headers " +
                                    faiss_version() + "), BLAS: " +
                                    [] {
                                        const auto blas = std::filesystem::path(
                                            "/usr/lib/x86_64-linux-gnu/libblas.so.3");
                                        std::error_code ec;
                                        const auto target = std::filesystem::canonical(blas, ec);
                                        return ec ? std::string("?") : target.string();
                                    }()
                              : std::string("not installed: no FAISS figures"))
        << " |\n"
        << "| hnswlib 0.8 | "
        << (hnswlib08_available()
                ? hnswlib08_version() + ", namespace renamed to hnswlib08 in its own file"
                : std::string("not fetched from the npm registry (tools/run-bench fetches "
                              "hnswlib-node): not measured"))
        << " |\n"
        << "| usearch | "
        << (usearch_available()
                ? usearch_version() +
                      " (npm usearch), `index_dense_gt`, f32; distances: " + usearch_kernel()
                : std::string("not fetched from the npm registry (tools/run-bench fetches "
                              "usearch): not measured"))
        << " |\n"
        << "| load average at start / now | " << load_at_start << " / " << load_average()
        << " |\n\n"
        << "Every vstore figure stands beside its peer's from this same run. The machine may "
           "be shared: the load average above says how busy it was. Data: Fashion-MNIST "
           "(Debian `dataset-fashion-mnist`, "
        << with_commas(config.fashion_base)
        << " training images as the base unless a section says otherwise, test images as "
           "queries) and seeded synthetic clustered sets; ground truth by exact search in the "
           "bench, cached in `"
        << config.cache_dir.string()
        << "`. Queries per second: one query at a time on one thread unless a table says "
           "otherwise, after an untimed warm-up of up to 100 queries, the query set repeated "
           "until the measurement has lasted "
        << fixed(min_measure_seconds, 1) << " s.\n";
    return out.str();
}

void write_plots(const Config& config, const std::vector<Plot>& plots, Report& report) {
    if (plots.empty())
        return;
    for (const Plot& plot : plots) {
        for (const auto& [name, contents] : plot.data_files)
            std::ofstream(config.out_dir / name) << contents;
        std::ofstream(config.out_dir / (plot.name + ".gp"))
            << "set terminal pngcairo noenhanced size 960,640 font ',11'\nset output '" << plot.name
            << ".png'\n"
            << plot.gnuplot;
    }
    if (!command_exists("gnuplot")) {
        report.add_note(
            "gnuplot is not installed (Debian `gnuplot-nox`; `tools/run-bench` "
            "installs it): the plots were skipped; their data and gnuplot scripts "
            "are in the output directory.");
        progress("plots", "gnuplot not installed: skipped");
        return;
    }
    for (const Plot& plot : plots) {
        const std::string command = "cd '" + config.out_dir.string() + "' && gnuplot '" +
                                    plot.name + ".gp' 2>'" + plot.name + ".log'";
        if (std::system(command.c_str()) != 0) {
            report.add_note("gnuplot failed on " + plot.name + ".gp (see " + plot.name +
                            ".log); its data are in the output directory.");
        } else {
            std::filesystem::remove(config.out_dir / (plot.name + ".log"));
            progress("plots", plot.name + ".png");
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::string(argv[1]) == "--child-search")
        return child_search_main(argc, argv);

    CLI::App app{
        "vstore-bench: vstore measured beside hnswlib, FAISS and, when tools/run-bench fetched "
        "them, hnswlib 0.8 and usearch on Fashion-MNIST and synthetic data, in one run. Writes "
        "DIR/report.md (markdown tables, targets met or not) and PNG "
        "plots (with gnuplot).\n\nExample: vstore-bench --out bench-out --quick"};
    Config config;
    std::string out_dir, cache_dir, scratch_dir, only;
    bool keep_scratch = false;
    app.add_option("--out", out_dir, "Output directory for report.md and the plots")->required();
    app.add_flag("--quick", config.quick,
                 "Small sizes (20k base, 200 queries, 30k synthetic): under 4 minutes on 2 cores");
    bool& smoke = config.smoke;
    app.add_flag("--smoke", smoke,
                 "Tiny sizes (3k base, 50 queries): every section runs, for the test suite, "
                 "whose bench test looks for errors, not figures (implies --quick)");
    std::string section_names;
    for (const auto& s : kSections)
        section_names += "\n  " + s.name + ": " + s.what;
    app.add_option("--only", only,
                   "Comma-separated sections to run (default: all):" + section_names);
    app.add_option("--cache", cache_dir,
                   "Where ground truth is cached (default: ~/.cache/vstore-bench)");
    app.add_option("--scratch", scratch_dir,
                   "Where stores and index files are built (default: DIR/scratch, removed at "
                   "the end)");
    app.add_flag("--keep-scratch", keep_scratch, "Keep the scratch directory");
    std::vector<uint64_t> synthetic_sizes, cosine_sizes;
    std::optional<uint64_t> big_synthetic;
    app.add_option("--synthetic-sizes", synthetic_sizes,
                   "Sizes of the synthetic l2 sets of the growth section (default "
                   "100000,300000,1000000; --quick 30000; 0 = none)")
        ->delimiter(',');
    app.add_option("--cosine-sizes", cosine_sizes,
                   "Sizes of the synthetic cosine sets (default 100000; --quick 10000; 0 = none)")
        ->delimiter(',');
    app.add_option("--big-synthetic", big_synthetic,
                   "Size of the synthetic set of the build and incremental sections (default "
                   "1000000; --quick 0 = none)");
    app.add_flag("--big-single-thread", config.big_single_thread,
                 "Also build the big synthetic set on one thread, for vstore and hnswlib (about "
                 "20 more minutes; the full run leaves it out to stay within 60 minutes)");
    std::optional<size_t> chain_commits;
    app.add_option("--chain-commits", chain_commits,
                   "Commits of the chain and lifecycle sections (default 100; --quick 10)")
        ->check(CLI::Range(size_t{1}, size_t{1000}));
    CLI11_PARSE(app, argc, argv);

    config.out_dir = out_dir;
    config.cache_dir = cache_dir.empty() ? default_cache_dir() : std::filesystem::path(cache_dir);
    config.scratch_dir =
        scratch_dir.empty() ? config.out_dir / "scratch" : std::filesystem::path(scratch_dir);
    config.threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
    config.quick = config.quick || smoke;
    if (config.quick) {
        config.fashion_base = 20000;
        config.search_queries = 200;
        config.queries = 200;
        config.churn_base = 5000;
        config.chain_commits = 10;
        config.synthetic_sizes = {30000};
        config.cosine_sizes = {10000};
        config.big_synthetic = 0;
        config.access_random_reads = 200000;
        config.replace_base = 5000;
        config.replace_count = 1250;
        config.exact_single_queries = 50;
        config.exact_batch = 200;
        config.bandwidth_buffer_bytes = uint64_t(256) << 20;
        config.try_drop_caches = false;  // the test suite runs beside other tests
        min_measure_seconds = 0.1;
    }
    if (smoke) {
        config.fashion_base = 3000;
        config.search_queries = 50;
        config.queries = 50;
        config.churn_base = 1000;
        config.chain_commits = 3;
        config.synthetic_sizes = {5000};
        config.cosine_sizes = {2000};
        config.access_random_reads = 20000;
        config.replace_base = 1000;
        config.replace_count = 250;
        config.exact_single_queries = 10;
        config.exact_batch = 50;
        config.bandwidth_buffer_bytes = uint64_t(32) << 20;
        min_measure_seconds = 0.02;
    }

    // A size of 0 means no set of that kind: "--cosine-sizes 0" leaves the cosine sets out.
    auto without_zeros = [](std::vector<uint64_t> sizes) {
        std::erase(sizes, uint64_t{0});
        return sizes;
    };
    if (!synthetic_sizes.empty())
        config.synthetic_sizes = without_zeros(synthetic_sizes);
    if (!cosine_sizes.empty())
        config.cosine_sizes = without_zeros(cosine_sizes);
    if (big_synthetic)
        config.big_synthetic = *big_synthetic;
    if (chain_commits)
        config.chain_commits = *chain_commits;

    std::vector<const Section*> selected;
    if (only.empty()) {
        for (const auto& s : kSections)
            selected.push_back(&s);
    } else {
        std::stringstream list(only);
        for (std::string name; std::getline(list, name, ',');) {
            auto it = std::find_if(kSections.begin(), kSections.end(),
                                   [&](const Section& s) { return s.name == name; });
            if (it == kSections.end()) {
                std::fprintf(stderr, "vstore-bench: unknown section '%s' (see --help)\n",
                             name.c_str());
                return 2;
            }
            selected.push_back(&*it);
        }
    }
    std::vector<std::string> names;
    for (const auto* s : selected)
        names.push_back(s->name);

    int status = 0;
    try {
        std::filesystem::create_directories(config.out_dir);
        std::filesystem::create_directories(config.scratch_dir);
        std::filesystem::create_directories(config.cache_dir);
        const auto start = Clock::now();
        const std::string load_at_start = load_average();
        Report report(config);
        report.set_header(header(config, names, 0, false, load_at_start));
        auto fixtures = std::make_unique<Fixtures>(config);
        std::vector<Plot> plots;
        SectionContext context{config, *fixtures, report, plots};
        std::vector<std::string> failures;
        for (const Section* section : selected) {
            progress(section->name, "start (" + section->what + "); load " + load_average());
            const auto section_start = Clock::now();
            try {
                section->run(context);
                progress(section->name, "done in " + fixed(seconds_since(section_start), 1) + " s");
            } catch (const std::exception& e) {
                failures.push_back(section->name + ": " + e.what());
                report.add_section("## Section " + section->name + " failed\n\n" + e.what() + "\n");
                progress(section->name, std::string("FAILED: ") + e.what());
            }
            report.set_header(header(config, names, seconds_since(start), false, load_at_start));
            report.write();
        }
        write_plots(config, plots, report);
        report.set_header(header(config, names, seconds_since(start), true, load_at_start));
        report.write();
        fixtures.reset();  // closes the stores before their directories go
        if (!keep_scratch)
            std::filesystem::remove_all(config.scratch_dir);
        progress("bench", "report: " + (config.out_dir / "report.md").string() + " (" +
                              fixed(seconds_since(start), 1) + " s)");
        for (const auto& f : failures)
            std::fprintf(stderr, "vstore-bench: section %s\n", f.c_str());
        status = failures.empty() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vstore-bench: %s\n", e.what());
        status = 1;
    }
    return status;
}
