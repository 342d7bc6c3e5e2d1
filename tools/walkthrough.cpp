// The main job: writes Fashion-MNIST's 60,000 training vectors into a domain's vector file and
// reads them back through LoadedVec handles in both serving modes, saying what it does.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "vstore/format/file_names.h"
#include "vstore/format/idx_file.h"
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

}  // namespace

int main(int argc, char** argv) {
    const std::string out_dir = argc > 1 ? argv[1] : "out/walkthrough";
    const std::string domain = "fashion-mnist/train";
    try {
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
        std::printf(
            "done: every vector came back bit for bit in both modes.\n"
            "look at the file with: vstore inspect --verify '%s'\n",
            path.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "walkthrough: %s\n", e.what());
        return 1;
    }
}
