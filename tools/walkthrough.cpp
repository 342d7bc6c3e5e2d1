// Fashion-MNIST for the main job. With --vector-file-only (the default): writes the 60,000
// training vectors into a domain's vector file and reads them back through LoadedVec handles in
// both serving modes, saying what it does. With --export: writes the inputs of the main job's
// two commits, which tools/run-main-job feeds to the vstore command line.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>

#include "vstore/format/file_names.h"
#include "vstore/format/idx_file.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Reads every vector through LoadedVec handles, in order and then at random, and compares
// each with the source bit for bit. Returns the number of mismatches.
uint64_t read_back(const vstore::VectorFile& file, const vstore::format::IdxMatrix& data,
                   const char* label) {
    const size_t row_bytes = size_t(data.columns) * sizeof(float);
    uint64_t mismatches = 0;
    auto t0 = Clock::now();
    for (uint64_t n = 0; n < data.rows; ++n) {
        const vstore::LoadedVec v = file.get(n);
        if (std::memcmp(v.data(), data.row(n), row_bytes) != 0)
            ++mismatches;
    }
    const double seq = seconds_since(t0);
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<uint64_t> pick(0, data.rows - 1);
    t0 = Clock::now();
    for (uint64_t i = 0; i < data.rows; ++i) {
        const uint64_t n = pick(rng);
        const vstore::LoadedVec v = file.get(n);
        if (std::memcmp(v.data(), data.row(n), row_bytes) != 0)
            ++mismatches;
    }
    const double rnd = seconds_since(t0);
    std::printf(
        "  %-6s sequential: %llu vectors in %.3f s (%.0f vectors/s); random: %.3f s; "
        "mismatches: %llu\n",
        label, static_cast<unsigned long long>(data.rows), seq, data.rows / seq, rnd,
        static_cast<unsigned long long>(mismatches));
    return mismatches;
}

// Ids are row numbers of the training set, as `vstore index --snapshot` gives .fvecs rows.
constexpr uint64_t kFirstCommitRows = 50000;
constexpr uint64_t kDeleted = 2000;   // rows 0, 25, 50, ...
constexpr uint64_t kReplaced = 1000;  // rows 1, 26, 51, ... take test images 0, 1, 2, ...

void write_json_vector(std::FILE* f, const float* v, uint32_t dim) {
    std::fputc('[', f);
    for (uint32_t i = 0; i < dim; ++i) {
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
        if (i)
            std::fputs(", ", f);
        std::fwrite(buf, 1, size_t(r.ptr - buf), f);
    }
    std::fputc(']', f);
}

std::FILE* create(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        throw std::runtime_error("cannot create '" + path + "'");
    return f;
}

void close(std::FILE* f, const std::string& path) {
    if (std::ferror(f) || std::fclose(f) != 0)
        throw std::runtime_error("cannot write '" + path + "'");
}

// The inputs of the main job's commits, as a CI job would export them: c1.fvecs (the first
// 50,000 training images, a whole snapshot), c2.jsonl (operations: insert the other 10,000,
// delete 2,000, replace 1,000 with test images) and two query vectors.
int export_commits(const std::string& out_dir, const vstore::format::IdxMatrix& data) {
    const auto test = vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_test_path());
    const uint32_t dim = data.columns;
    std::filesystem::create_directories(out_dir);
    const auto t0 = Clock::now();
    {
        const std::string path = out_dir + "/c1.fvecs";
        std::FILE* f = create(path);
        const int32_t d = static_cast<int32_t>(dim);
        for (uint64_t n = 0; n < kFirstCommitRows; ++n) {
            std::fwrite(&d, sizeof d, 1, f);
            std::fwrite(data.row(n), sizeof(float), dim, f);
        }
        close(f, path);
    }
    {
        const std::string path = out_dir + "/c2.jsonl";
        std::FILE* f = create(path);
        for (uint64_t n = kFirstCommitRows; n < data.rows; ++n) {
            std::fprintf(f, "{\"id\": \"%llu\", \"op\": \"Inserted\", \"vector\": ",
                         static_cast<unsigned long long>(n));
            write_json_vector(f, data.row(n), dim);
            std::fputs("}\n", f);
        }
        for (uint64_t n = 0; n < kDeleted; ++n) {
            std::fprintf(f, "{\"id\": \"%llu\", \"op\": \"Deleted\"}\n",
                         static_cast<unsigned long long>(n * 25));
        }
        for (uint64_t n = 0; n < kReplaced; ++n) {
            std::fprintf(f, "{\"id\": \"%llu\", \"op\": \"Replaced\", \"vector\": ",
                         static_cast<unsigned long long>(n * 25 + 1));
            write_json_vector(f, test.row(n), dim);
            std::fputs("}\n", f);
        }
        close(f, path);
    }
    // Training image 0 (deleted in c2) and test image 0 (the new vector of id 1 in c2).
    for (const auto& [name, v] : {std::pair{"query-train0.json", data.row(0)},
                                  std::pair{"query-test0.json", test.row(0)}}) {
        const std::string path = out_dir + "/" + name;
        std::FILE* f = create(path);
        write_json_vector(f, v, dim);
        std::fputc('\n', f);
        close(f, path);
    }
    std::printf(
        "exported c1.fvecs (%llu images), c2.jsonl (+%llu -%llu ~%llu) and two queries to %s "
        "in %.1f s\n",
        static_cast<unsigned long long>(kFirstCommitRows),
        static_cast<unsigned long long>(data.rows - kFirstCommitRows),
        static_cast<unsigned long long>(kDeleted), static_cast<unsigned long long>(kReplaced),
        out_dir.c_str(), seconds_since(t0));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Usage: vstore-walkthrough OUT_DIR [--vector-file-only | --export]
    const std::string out_dir = argc > 1 ? argv[1] : "out/walkthrough";
    const std::string mode = argc > 2 ? argv[2] : "--vector-file-only";
    if (mode != "--vector-file-only" && mode != "--export") {
        std::fprintf(stderr, "usage: vstore-walkthrough OUT_DIR [--vector-file-only | --export]\n");
        return 2;
    }
    const std::string domain = "fashion-mnist/train";
    try {
        if (mode == "--export") {
            return export_commits(out_dir, vstore::format::read_idx_ubyte(
                                               vstore::format::fashion_mnist_train_path()));
        }
        std::printf("vstore walkthrough: Fashion-MNIST into a vector file and back\n");
        auto t0 = Clock::now();
        const auto data =
            vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_train_path());
        std::printf("1. read %s: %llu vectors of %u dimensions in %.2f s\n",
                    vstore::format::fashion_mnist_train_path().c_str(),
                    static_cast<unsigned long long>(data.rows), data.columns, seconds_since(t0));

        std::filesystem::create_directories(out_dir);
        const std::string path = out_dir + "/" + vstore::format::vector_file_name(domain);
        std::filesystem::remove(path);
        t0 = Clock::now();
        {
            vstore::VectorFileOptions options;
            options.writable = true;
            auto file = vstore::VectorFile::create(path, domain, data.columns, options);
            const auto& l = file->layout();
            std::printf(
                "2. created %s for domain '%s': pages of %u bytes holding %u vectors "
                "(%.2f %% waste)\n",
                path.c_str(), domain.c_str(), l.page_bytes, l.vectors_per_page,
                l.page_waste() * 100);
            // Appended in batches, as commits would add them; each batch is durable on return.
            constexpr uint64_t kBatch = 10000;
            for (uint64_t first = 0; first < data.rows; first += kBatch) {
                const uint64_t n = std::min(kBatch, data.rows - first);
                file->append({data.row(first), n * data.columns});
            }
            std::printf(
                "3. appended %llu vectors in %llu durable batches in %.2f s; file is "
                "%.1f MB\n",
                static_cast<unsigned long long>(file->size()),
                static_cast<unsigned long long>((data.rows + kBatch - 1) / kBatch),
                seconds_since(t0), std::filesystem::file_size(path) / 1e6);
        }

        std::printf("4. read back through LoadedVec handles:\n");
        uint64_t mismatches = 0;
        {
            auto mapped = vstore::VectorFile::open(path);
            mismatches += read_back(*mapped, data, "mapped");
        }
        {
            vstore::VectorFileOptions options;
            options.mode = vstore::ServingMode::kPool;
            options.pool_budget_bytes = std::filesystem::file_size(path) / 4;
            auto pooled = vstore::VectorFile::open(path, options);
            mismatches += read_back(*pooled, data, "pool");
            const auto s = pooled->pool_stats();
            std::printf(
                "         pool of %zu frames (%.1f MB, a quarter of the file): %llu hits, "
                "%llu misses, %llu evictions\n",
                s.frame_count, s.frame_count * s.frame_bytes / 1e6,
                static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
                static_cast<unsigned long long>(s.evictions));
        }

        t0 = Clock::now();
        const auto report = vstore::VectorFile::open(path)->verify();
        std::printf("5. verify: %s, %llu pages and %llu vectors checked in %.2f s\n",
                    report.ok() ? "ok" : "FAILED",
                    static_cast<unsigned long long>(report.pages_checked),
                    static_cast<unsigned long long>(report.vectors_checked), seconds_since(t0));
        if (mismatches != 0 || !report.ok()) {
            std::fprintf(stderr, "walkthrough failed: %llu mismatches\n",
                         static_cast<unsigned long long>(mismatches));
            return 1;
        }
        std::printf("   every vector came back bit for bit in both modes.\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "walkthrough: %s\n", e.what());
        return 1;
    }
}
