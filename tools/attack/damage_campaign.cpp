// Byte flips and truncations of every kind of file a store and its packs hold, each read by a
// fresh process and classified: detected, harmless, wrong, crash.
#include <fstream>

#include "attack.h"
#include "vstore/format/error.h"
#include "vstore/pack.h"

namespace attack {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kReadTimeoutSeconds = 60;

std::vector<char> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot restore " + path.string());
}

// A store whose graph chain has a full file and deltas, and two packs of its newest commit.
struct Fixture {
    fs::path store, pack, archive;
    std::vector<std::string> commits;
    std::string full_graph, delta_graph, vector_file;
};

Fixture make_fixture(const fs::path& dir) {
    Fixture fx{dir / "store", dir / "c3.pack", dir / "c3.tar.xz", {}, {}, {}, {}};
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto store = vstore::Store::create(fx.store.string());
    store->create_domain(kDomain, {kDim});
    const auto data = random_vectors(2100, 1);
    const auto insert = [&](vstore::CommitBuilder& b, size_t first, size_t count) {
        for (size_t i = first; i < first + count; ++i)
            b.insert("id" + std::to_string(i), {data.data() + i * kDim, kDim});
    };
    {
        auto b = store->begin_commit(kDomain, "c1", std::nullopt);
        insert(b, 0, 2000);
        b.finish();
    }
    {
        auto b = store->begin_commit(kDomain, "c2", "c1");
        for (int i = 0; i < 10; ++i)
            b.remove("id" + std::to_string(i));
        for (int i = 10; i < 20; ++i)
            b.replace("id" + std::to_string(i), {data.data() + (2090 + i - 10) * kDim, kDim});
        insert(b, 2000, 50);
        b.finish();
    }
    {
        auto b = store->begin_commit(kDomain, "c3", "c2");
        for (int i = 20; i < 25; ++i)
            b.remove("id" + std::to_string(i));
        insert(b, 2050, 40);
        b.finish();
    }
    for (const auto& c : store->commits(kDomain)) {
        fx.commits.push_back(c.commit);
        if (c.graph_kind == vstore::format::GraphKind::kFull)
            fx.full_graph = c.graph_file;
        else
            fx.delta_graph = c.graph_file;
    }
    fx.vector_file = store->domain(kDomain).vector_file;
    vstore::PackWriteOptions options;
    options.threads = 1;
    vstore::Pack::write(*store, kDomain, "c3", fx.pack.string(), options);
    vstore::Pack::write(*store, kDomain, "c3", fx.archive.string(), options);
    return fx;
}

std::string read_store(const Fixture& fx) {
    auto store = vstore::Store::open(fx.store.string());
    std::string text;
    for (const auto& c : store->commits(kDomain))
        text += c.commit + ",";
    for (const auto& name : fx.commits)
        text += "\n" + name + ":" + fingerprint(*store->open_commit(kDomain, name));
    return text;
}

std::string read_pack(const fs::path& path) {
    return fingerprint(*vstore::Pack::open(path.string())->snapshot());
}

struct Target {
    std::string kind;
    fs::path file;
    std::function<std::string()> read;
};

void classify(DamageFigures& f, const ChildResult& r, const std::string& expected,
              const std::string& what) {
    const auto note = [&](const std::string& how) {
        if (f.failures.size() < 10)
            f.failures.push_back(what + ": " + how);
    };
    switch (r.kind) {
        case ChildResult::kVstoreError:
            ++f.detected;
            return;
        case ChildResult::kReturned:
            if (r.output == expected) {
                ++f.harmless;
            } else {
                ++f.wrong;
                note("a different answer, no error");
            }
            return;
        case ChildResult::kOtherException:
            ++f.crash;
            note("an exception that is not vstore::Error: " + r.output);
            return;
        case ChildResult::kSignal:
            ++f.crash;
            note("signal " + std::to_string(r.signal));
            return;
        case ChildResult::kTimeout:
            ++f.crash;
            note("no answer within " + std::to_string(kReadTimeoutSeconds) + " s");
            return;
    }
}

}  // namespace

std::vector<DamageFigures> damage_campaign(const fs::path& work, uint64_t flips,
                                           uint64_t truncations, std::mt19937_64& rng) {
    const Fixture fx = make_fixture(work / "damage");
    const auto store_reader = [&fx] { return read_store(fx); };
    std::vector<Target> targets = {
        {"catalog", fx.store / "catalog", store_reader},
        {"vector file", fx.store / fx.vector_file, store_reader},
        {"full graph file", fx.store / fx.full_graph, store_reader},
        {"delta graph file", fx.store / fx.delta_graph, store_reader},
        {"pack config", fx.pack / vstore::kPackConfigName, [&fx] { return read_pack(fx.pack); }},
        {"pack embeddings", fx.pack / vstore::kPackGraphName, [&fx] { return read_pack(fx.pack); }},
        {"pack vectors", fx.pack / vstore::kPackVectorsName, [&fx] { return read_pack(fx.pack); }},
        {"pack ids", fx.pack / vstore::kPackIdsName, [&fx] { return read_pack(fx.pack); }},
        {"pack archive (.tar.xz)", fx.archive, [&fx] { return read_pack(fx.archive); }},
    };
    std::vector<DamageFigures> figures;
    for (const auto& t : targets) {
        DamageFigures f;
        f.kind = t.kind;
        const ChildResult reference = run_child(t.read, kReadTimeoutSeconds);
        if (reference.kind != ChildResult::kReturned)
            throw std::runtime_error("the intact " + t.kind + " does not read: " + reference.output);
        const std::vector<char> original = read_bytes(t.file);
        for (uint64_t i = 0; i < flips + truncations; ++i) {
            std::vector<char> damaged = original;
            std::string what;
            if (i < flips) {
                const size_t at = rng() % damaged.size();
                const auto mask = static_cast<char>(1 + rng() % 255);
                damaged[at] = static_cast<char>(damaged[at] ^ mask);
                what = "byte " + std::to_string(at) + " changed";
            } else {
                damaged.resize(rng() % damaged.size());
                what = "cut to " + std::to_string(damaged.size()) + " bytes";
            }
            write_bytes(t.file, damaged);
            classify(f, run_child(t.read, kReadTimeoutSeconds), reference.output,
                     t.kind + ", " + what);
            write_bytes(t.file, original);
        }
        // The restored file reads as before: the figures were taken over the right fixture.
        if (run_child(t.read, kReadTimeoutSeconds).output != reference.output)
            throw std::runtime_error("the " + t.kind + " does not read as before once restored");
        figures.push_back(std::move(f));
    }
    return figures;
}

}  // namespace attack
