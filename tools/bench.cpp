// vstore-bench: measures vstore beside a plain in-memory baseline on real data.
// Today: LoadedVec access to a vector file, mapped vs pool mode, on Fashion-MNIST.
#include <CLI/CLI.hpp>
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <thread>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "vstore/format/idx_file.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

namespace {

using Clock = std::chrono::steady_clock;

// A distance-like reduction over one vector, so the reads cannot be optimised away and cost
// what a distance computation costs.
inline float squared_norm(const float* v, uint32_t dim) {
    float s = 0;
    for (uint32_t i = 0; i < dim; ++i)
        s += v[i] * v[i];
    return s;
}

struct Row {
    std::string access;
    std::string mode;
    uint64_t reads;
    double seconds;
    uint32_t dim;
};

Row measure(const std::string& access, const std::string& mode, uint32_t dim,
            const std::vector<uint64_t>& order,
            const std::function<const float*(uint64_t)>& get_ptr,
            const std::function<float(uint64_t)>& via_handle) {
    volatile float sink = 0;
    auto pass = [&] {
        float acc = 0;
        if (get_ptr) {
            for (uint64_t n : order)
                acc += squared_norm(get_ptr(n), dim);
        } else {
            for (uint64_t n : order)
                acc += via_handle(n);
        }
        sink = acc;
    };
    pass();  // untimed: every mode starts from the same warm page cache and its own warm state
    const auto t0 = Clock::now();
    pass();
    return {access, mode, order.size(), std::chrono::duration<double>(Clock::now() - t0).count(),
            dim};
}

// Recall@10 at ef = 64 after replacing a share of a Fashion-MNIST commit's vectors, for each
// replace strategy: which one keeps the graph better.
// Time to build a first commit of `rows` Fashion-MNIST vectors, beside hnswlib building the
// same vectors with the same M, ef_construction and thread count.
std::string build_versus_hnswlib(const std::string& dir, uint64_t rows) {
    const auto data = vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_train_path(), rows);
    const uint32_t dim = data.columns;
    std::ostringstream out;
    out << "## Build: first commit of " << data.rows
        << " Fashion-MNIST vectors (M=16, ef_construction=200)\n\n"
        << "| threads | hnswlib (s) | vstore finish() (s) | vstore / hnswlib |\n|---:|---:|---:|---:|\n";
    for (unsigned threads : {1u, 2u}) {
        hnswlib::L2Space space(dim);
        hnswlib::HierarchicalNSW<float> index(&space, data.rows, 16, 200, 100);
        auto t0 = Clock::now();
        std::atomic<uint64_t> next{0};
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([&] {
                for (uint64_t i = next++; i < data.rows; i = next++) index.addPoint(data.row(i), i);
            });
        }
        for (auto& t : pool) t.join();
        const double hnswlib_s = std::chrono::duration<double>(Clock::now() - t0).count();

        const std::string path = dir + "/build-store";
        std::filesystem::remove_all(path);
        vstore::StoreOptions o;
        o.threads = threads;
        auto store = vstore::Store::create(path, o);
        store->create_domain("fashion", {dim});
        auto b = store->begin_commit("fashion", "c1", std::nullopt);
        for (uint64_t n = 0; n < data.rows; ++n) b.insert(std::to_string(n), {data.row(n), dim});
        t0 = Clock::now();
        b.finish();  // appends and syncs the vectors, builds, writes and publishes the graph
        const double vstore_s = std::chrono::duration<double>(Clock::now() - t0).count();
        char line[128];
        std::snprintf(line, sizeof line, "| %u | %.2f | %.2f | %.2f |\n", threads, hnswlib_s, vstore_s,
                      vstore_s / hnswlib_s);
        out << line;
        store.reset();
        std::filesystem::remove_all(path);
    }
    return out.str();
}

std::string replace_strategies(const std::string& dir, uint64_t base_rows, uint64_t replaced,
                               uint64_t queries) {
    const auto base =
        vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_train_path(), base_rows);
    const auto test = vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_test_path());
    const uint32_t dim = base.columns;
    std::ostringstream out;
    out << "## Replace strategies (Fashion-MNIST: " << base_rows << " items, " << replaced
        << " replaced by test images; recall@10 at ef=64 over " << queries << " queries)\n\n"
        << "| strategy | commit time (s) | recall@10 |\n|---|---:|---:|\n";
    for (auto strategy :
         {vstore::ReplaceStrategy::kUpdate, vstore::ReplaceStrategy::kDeleteInsert}) {
        const std::string path = dir + "/replace-store";
        std::filesystem::remove_all(path);
        vstore::StoreOptions o;
        o.replace_strategy = strategy;
        auto store = vstore::Store::create(path, o);
        store->create_domain("fashion", {dim});
        {
            auto b = store->begin_commit("fashion", "c1", std::nullopt);
            for (uint64_t n = 0; n < base.rows; ++n)
                b.insert(std::to_string(n), {base.row(n), dim});
            b.finish();
        }
        const auto t0 = Clock::now();
        {
            auto b = store->begin_commit("fashion", "c2", "c1");
            for (uint64_t n = 0; n < replaced; ++n) {
                b.replace(std::to_string(n * (base.rows / replaced)), {test.row(n), dim});
            }
            b.finish();
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        auto c2 = store->open_commit("fashion", "c2");
        uint64_t found = 0;
        for (uint64_t q = 0; q < queries; ++q) {
            const std::span<const float> query(test.row(test.rows - 1 - q), dim);
            std::vector<std::string> truth;
            for (const auto& h : c2->search_exact(query, 10))
                truth.push_back(h.id);
            for (const auto& h : c2->search(query, 10, 64)) {
                found += std::count(truth.begin(), truth.end(), h.id);
            }
        }
        char line[160];
        std::snprintf(line, sizeof line, "| %s | %.2f | %.4f |\n",
                      strategy == vstore::ReplaceStrategy::kUpdate ? "update (hnswlib updatePoint)"
                                                                   : "delete, then insert",
                      seconds, double(found) / (10.0 * queries));
        out << line;
        store.reset();
        std::filesystem::remove_all(path);
    }
    return out.str();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vstore-bench: vstore measured beside its peers on real data"};
    std::string dir = "/tmp/vstore-bench";
    std::string out_file;
    uint64_t random_reads = 2'000'000;
    uint64_t rows = 0;
    app.add_option("--dir", dir, "Scratch directory for the vector file");
    app.add_option("--out", out_file, "Also write the markdown report to this file");
    app.add_option("--random-reads", random_reads, "Random LoadedVec reads per mode");
    app.add_option("--rows", rows, "Use only the first N Fashion-MNIST vectors (0: all)");
    uint64_t replace_base = 20000, replace_count = 5000, replace_queries = 1000;
    app.add_option("--replace-base", replace_base, "Items in the replace-strategy experiment");
    app.add_option("--replace-count", replace_count, "Items replaced in it");
    app.add_option("--replace-queries", replace_queries, "Queries measuring its recall");
    uint64_t build_rows = 20000;
    app.add_option("--build-rows", build_rows, "Vectors in the build comparison with hnswlib");
    CLI11_PARSE(app, argc, argv);

    try {
        const auto data =
            vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_train_path(), rows);
        const uint32_t dim = data.columns;
        std::filesystem::create_directories(dir);
        const std::string path = dir + "/fashion-mnist.vecs";
        std::filesystem::remove(path);
        {
            vstore::VectorFileOptions w;
            w.writable = true;
            vstore::VectorFile::create(path, "fashion-mnist", dim, w)->append(data.values);
        }
        const uint64_t file_bytes = std::filesystem::file_size(path);

        std::vector<uint64_t> sequential(data.rows);
        for (uint64_t i = 0; i < data.rows; ++i)
            sequential[i] = i;
        std::vector<uint64_t> random(random_reads);
        std::mt19937_64 rng(7);
        std::uniform_int_distribution<uint64_t> pick(0, data.rows - 1);
        for (auto& n : random)
            n = pick(rng);

        auto mapped = vstore::VectorFile::open(path);
        vstore::VectorFileOptions full;
        full.mode = vstore::ServingMode::kPool;
        full.pool_budget_bytes = file_bytes + (size_t(1) << 20);
        auto pool_full = vstore::VectorFile::open(path, full);
        vstore::VectorFileOptions quarter = full;
        quarter.pool_budget_bytes = file_bytes / 4;
        auto pool_quarter = vstore::VectorFile::open(path, quarter);

        auto handle_reader = [dim](const vstore::VectorFile& f) {
            return [&f, dim](uint64_t n) {
                const vstore::LoadedVec v = f.get(n);
                return squared_norm(v.data(), dim);
            };
        };
        std::vector<Row> rows_out;
        for (const auto* access : {"sequential", "random"}) {
            const auto& order = std::string(access) == "sequential" ? sequential : random;
            rows_out.push_back(measure(
                access, "in-memory array (baseline)", dim, order,
                [&](uint64_t n) { return data.row(n); }, nullptr));
            rows_out.push_back(measure(
                access, "mapped, mapped_vector() hot path", dim, order,
                [&](uint64_t n) { return mapped->mapped_vector(n); }, nullptr));
            rows_out.push_back(
                measure(access, "mapped, LoadedVec", dim, order, nullptr, handle_reader(*mapped)));
            rows_out.push_back(measure(access, "pool, budget = whole file", dim, order, nullptr,
                                       handle_reader(*pool_full)));
            rows_out.push_back(measure(access, "pool, budget = 1/4 of file", dim, order, nullptr,
                                       handle_reader(*pool_quarter)));
        }

        std::ostringstream report;
        report << "## Vector file access (Fashion-MNIST, " << data.rows << " x " << dim << ", file "
               << file_bytes / 1000000 << " MB)\n\n"
               << "| access | mode | reads | vectors/s | GB/s | vs baseline |\n"
               << "|---|---|---:|---:|---:|---:|\n";
        double baseline = 0;
        for (const Row& r : rows_out) {
            const double rate = r.reads / r.seconds;
            if (r.mode.rfind("in-memory", 0) == 0)
                baseline = rate;
            char line[256];
            std::snprintf(line, sizeof line, "| %s | %s | %llu | %.0f | %.2f | %.2f |\n",
                          r.access.c_str(), r.mode.c_str(),
                          static_cast<unsigned long long>(r.reads), rate, rate * r.dim * 4 / 1e9,
                          rate / baseline);
            report << line;
        }
        const auto ps = pool_quarter->pool_stats();
        report << "\nPool at 1/4 budget: " << ps.frame_count << " frames of " << ps.frame_bytes
               << " bytes; " << ps.hits << " hits, " << ps.misses << " misses, " << ps.evictions
               << " evictions.\n";
        report << "\n" << build_versus_hnswlib(dir, build_rows);
        report << "\n" << replace_strategies(dir, replace_base, replace_count, replace_queries);
        std::fputs(report.str().c_str(), stdout);
        if (!out_file.empty())
            std::ofstream(out_file) << report.str();
        std::filesystem::remove(path);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vstore-bench: %s\n", e.what());
        return 1;
    }
}
