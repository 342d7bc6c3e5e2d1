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

void print_hits(const char* label, const std::vector<vstore::SearchHit>& hits) {
    std::printf("   %s:", label);
    for (const auto& h : hits)
        std::printf("  %s (%.0f)", h.id.c_str(), h.distance);
    std::printf("\n");
}

// The versioned index on the same data: two commits, each searchable for ever.
int run_versioned_index(const std::string& out_dir, const vstore::format::IdxMatrix& data) {
    const auto test = vstore::format::read_idx_ubyte(vstore::format::fashion_mnist_test_path());
    const uint32_t dim = data.columns;
    const std::string store_dir = out_dir + "/store";
    std::filesystem::remove_all(store_dir);
    auto image = [&](uint64_t n) { return std::span<const float>(data.row(n), dim); };
    auto id = [](uint64_t n) { return "train/" + std::to_string(n); };

    auto t0 = Clock::now();
    auto store = vstore::Store::create(store_dir);
    store->create_domain("fashion-mnist", {.dimension = dim});
    {
        auto b = store->begin_commit("fashion-mnist", "c1", std::nullopt);
        for (uint64_t n = 0; n < 50000; ++n)
            b.insert(id(n), image(n));
        const auto info = b.finish();
        std::printf("6. commit c1: inserted %llu images in %.1f s; graph file %.1f MB\n",
                    static_cast<unsigned long long>(info.inserted), seconds_since(t0),
                    info.graph_bytes / 1e6);
    }
    t0 = Clock::now();
    {
        auto b = store->begin_commit("fashion-mnist", "c2", "c1");
        for (uint64_t n = 50000; n < 60000; ++n)
            b.insert(id(n), image(n));
        for (uint64_t n = 0; n < 2000; ++n)
            b.remove(id(n * 25));
        // Replaced images take a test image as their new vector.
        for (uint64_t n = 0; n < 1000; ++n)
            b.replace(id(n * 25 + 1), {test.row(n), dim});
        const auto info = b.finish();
        std::printf(
            "7. commit c2 on c1: +%llu -%llu ~%llu in %.1f s; %llu live, %llu tombstones; "
            "graph file %.1f MB\n",
            static_cast<unsigned long long>(info.inserted),
            static_cast<unsigned long long>(info.deleted),
            static_cast<unsigned long long>(info.replaced), seconds_since(t0),
            static_cast<unsigned long long>(info.live_count),
            static_cast<unsigned long long>(info.tombstone_count), info.graph_bytes / 1e6);
    }
    // Query with train/0's image (deleted in c2) and test image 0 (train/1's vector in c2).
    auto c1 = store->open_commit("fashion-mnist", "c1");
    auto c2 = store->open_commit("fashion-mnist", "c2");
    std::printf("8. search k=5 for train/0's image (deleted in c2):\n");
    print_hits("c1", c1->search(image(0), 5));
    print_hits("c2", c2->search(image(0), 5));
    std::printf("   search k=3 for test image 0 (train/1's new vector in c2):\n");
    print_hits("c1", c1->search({test.row(0), dim}, 3));
    print_hits("c2", c2->search({test.row(0), dim}, 3));
    const bool ok = c1->search(image(0), 1).at(0).id == id(0) &&
                    c2->search({test.row(0), dim}, 1).at(0).id == id(1) && !c2->contains(id(0));
    std::printf("9. log of c2:\n");
    for (const auto& c : store->log("fashion-mnist", "c2")) {
        std::printf("   %s  parent %-4s  +%llu -%llu ~%llu  live %llu\n", c.commit.c_str(),
                    c.parent ? c.parent->c_str() : "-", static_cast<unsigned long long>(c.inserted),
                    static_cast<unsigned long long>(c.deleted),
                    static_cast<unsigned long long>(c.replaced),
                    static_cast<unsigned long long>(c.live_count));
    }
    if (!ok) {
        std::fprintf(stderr, "walkthrough failed: the commits did not answer as they should\n");
        return 1;
    }
    std::printf("done: c1 still answers as before c2 existed; c2 sees its changes.\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Usage: vstore-walkthrough [OUT_DIR] [--vector-file-only]
    const std::string out_dir = argc > 1 ? argv[1] : "out/walkthrough";
    const bool vector_file_only = argc > 2 && std::string(argv[2]) == "--vector-file-only";
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
        std::printf("   every vector came back bit for bit in both modes.\n");
        return vector_file_only ? 0 : run_versioned_index(out_dir, data);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "walkthrough: %s\n", e.what());
        return 1;
    }
}
