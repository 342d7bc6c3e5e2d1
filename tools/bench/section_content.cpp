// The content index (spec/lifecycle.md, "Content-addressed vectors"): the same commits on two
// copies of the Fashion-MNIST base store, one reusing bit-identical stored vectors (the
// default) and one appending every vector, to weigh the bytes saved against the time spent.
#include <filesystem>
#include <sstream>

#include "bench.h"
#include "vstore/vector_file.h"

namespace bench {

namespace {

struct ContentRun {
    double seconds = 0;
    uint64_t vectors_added = 0;
    uint64_t vector_bytes_added = 0;
    uint64_t catalog_bytes_added = 0;
};

// Runs `fill` as commit `name` on `parent` and measures what it added.
ContentRun measure(vstore::Store& store, const std::filesystem::path& dir, const std::string& name,
                   const std::string& parent,
                   const std::function<void(vstore::CommitBuilder&)>& fill) {
    const auto vector_file = dir / store.domain(kDomain).vector_file;
    const uint64_t vectors_before = vstore::VectorFile::open(vector_file.string())->size();
    const uint64_t bytes_before = file_bytes(vector_file);
    const uint64_t catalog_before = file_bytes(dir / "catalog");
    const auto start = Clock::now();
    auto b = store.begin_commit(kDomain, name, parent);
    fill(b);
    b.finish();
    ContentRun r;
    r.seconds = seconds_since(start);
    r.vectors_added = vstore::VectorFile::open(vector_file.string())->size() - vectors_before;
    r.vector_bytes_added = file_bytes(vector_file) - bytes_before;
    r.catalog_bytes_added = file_bytes(dir / "catalog") - catalog_before;
    return r;
}

}  // namespace

void section_content(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const Vectors& test = context.fixtures.fashion_queries();
    const Vectors& base = *pair.base;
    const uint32_t dim = base.dim;
    const uint64_t m = base.rows / 100;  // 1 % of the base per kind of change
    auto id = [](const char* prefix, uint64_t n) { return prefix + std::to_string(n); };
    auto base_row = [&](uint64_t r) { return std::span<const float>(base.row(r), dim); };
    auto test_row = [&](uint64_t r) { return std::span<const float>(test.row(r), dim); };

    struct Kind {
        std::string name, what;
        ContentRun on, off;
    };
    std::vector<Kind> kinds = {
        {"moves", with_commas(m) + " ids deleted and their vectors inserted under new ids, " +
                      with_commas(m) + " new vectors inserted", {}, {}},
        {"edit", with_commas(m) + " vectors replaced by new ones", {}, {}},
        {"revert", "the same " + with_commas(m) + " replaced back by their earlier vectors", {}, {}},
    };
    uint64_t catalog_end_on = 0, catalog_end_off = 0, store_end_on = 0, store_end_off = 0;
    for (const bool reuse : {true, false}) {
        const auto dir = config.scratch_dir / (reuse ? "content-on" : "content-off");
        std::filesystem::remove_all(dir);
        std::filesystem::copy(pair.vstore.dir, dir, std::filesystem::copy_options::recursive);
        vstore::StoreOptions options = store_options(config.threads);
        options.reuse_vectors = reuse;
        auto store = vstore::Store::open(dir.string(), options);
        progress("content", std::string("reuse_vectors ") + (reuse ? "on" : "off") + ": " +
                                kinds[0].name + ", " + kinds[1].name + ", " + kinds[2].name);
        // Base ids are the row numbers; the first m move, the next m are edited and reverted.
        const auto moves = measure(*store, dir, "moves", "base", [&](vstore::CommitBuilder& b) {
            for (uint64_t r = 0; r < m; ++r) {
                b.remove(std::to_string(r));
                b.insert(id("moved-", r), base_row(r));
                b.insert(id("test-", r), test_row(r));
            }
        });
        const auto edit = measure(*store, dir, "edit", "moves", [&](vstore::CommitBuilder& b) {
            for (uint64_t r = m; r < 2 * m; ++r)
                b.replace(std::to_string(r), test_row(m + r));
        });
        const auto revert = measure(*store, dir, "revert", "edit", [&](vstore::CommitBuilder& b) {
            for (uint64_t r = m; r < 2 * m; ++r)
                b.replace(std::to_string(r), base_row(r));
        });
        // Then ten commits of new vectors, where nothing can be reused: whether the catalog
        // pages the content index dirtied are reused, and what the store holds in the end.
        std::string parent = "revert";
        for (int i = 0; i < 10; ++i) {
            const std::string name = "more-" + std::to_string(i);
            measure(*store, dir, name, parent, [&](vstore::CommitBuilder& b) {
                for (uint64_t r = 0; r < m / 4; ++r)
                    b.replace(std::to_string(2 * m + r), test_row(3 * m + uint64_t(i) * (m / 4) + r));
            });
            parent = name;
        }
        (reuse ? catalog_end_on : catalog_end_off) = file_bytes(dir / "catalog");
        (reuse ? store_end_on : store_end_off) = directory_bytes(dir);
        (reuse ? kinds[0].on : kinds[0].off) = moves;
        (reuse ? kinds[1].on : kinds[1].off) = edit;
        (reuse ? kinds[2].on : kinds[2].off) = revert;
        store.reset();
        std::filesystem::remove_all(dir);
    }

    std::ostringstream out;
    out << "## Content-addressed vectors\n\n"
        << "Three commits on the Fashion-MNIST base of " << with_commas(base.rows)
        << " images, made twice on copies of the same store: with `StoreOptions::reuse_vectors` "
           "on (the default: a vector bit-identical to one the domain stores is referred to, not "
           "appended) and off. *moves*: "
        << kinds[0].what << "; *edit*: " << kinds[1].what << "; *revert*: " << kinds[2].what
        << ". Vectors appended and the vector file's growth; the catalog's growth (LMDB's file, "
           "which grows by whole pages); commit time, on "
        << config.threads << " threads.\n\n"
        << "| commit | vectors appended (on / off) | vector file growth (on / off) | catalog "
           "growth (on / off) | commit time, s (on / off) | time on / off |\n"
        << "|---|---:|---:|---:|---:|---:|\n";
    for (const Kind& k : kinds) {
        out << "| " << k.name << " | " << with_commas(k.on.vectors_added) << " / "
            << with_commas(k.off.vectors_added) << " | " << bytes_text(k.on.vector_bytes_added)
            << " / " << bytes_text(k.off.vector_bytes_added) << " | "
            << bytes_text(k.on.catalog_bytes_added) << " / "
            << bytes_text(k.off.catalog_bytes_added) << " | " << fixed(k.on.seconds, 2) << " / "
            << fixed(k.off.seconds, 2) << " | "
            << fixed(k.off.seconds > 0 ? k.on.seconds / k.off.seconds : 0, 2) << " |\n";
    }
    out << "\nThen ten commits each replacing " << with_commas(m / 4)
        << " vectors by new ones (nothing to reuse). In the end the catalog file is "
        << bytes_text(catalog_end_on) << " with the content index and "
        << bytes_text(catalog_end_off) << " without it; the store directory "
        << bytes_text(store_end_on) << " against " << bytes_text(store_end_off) << " ("
        << fixed(store_end_off > 0 ? double(store_end_on) / double(store_end_off) : 0, 3)
        << "×).\n";
    context.report.add_section(out.str());
}

}  // namespace bench
