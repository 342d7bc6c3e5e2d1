// Packs (spec/pack.md): round trips through every kind, refusals of Pack::write, damaged pack
// directories, hostile archives crafted entry by entry, the id file, and CommitBuilder::put().
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "graph_file_reader.h"
#include "test_support.h"
#include "vstore/format/bytes.h"
#include "vstore/format/graph_file.h"
#include "vstore/format/id_file.h"
#include "vstore/pack.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

using namespace vstore;
using vstore::test::numbered;
using vstore::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kDim = 16;

std::span<const float> row(const std::vector<float>& v, size_t i, uint32_t dim) {
    return {v.data() + i * dim, dim};
}

// What `fn` threw: the name of the vstore::Error's code ("corruption", ...) or "no error".
// Any other exception escapes and fails the test.
template <typename Fn>
std::string outcome(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return std::string(error_code_name(e.code()));
    }
    return "no error";
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// The message of the vstore::Error `fn` threw, for diagnostics; empty when none.
template <typename Fn>
std::string message_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

std::string read_text(const std::string& path) {
    const auto bytes = test::read_file(path);
    return std::string(bytes.begin(), bytes.end());
}

// Replaces the file's contents.
void write_text(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(text.data(), 1, text.size(), f) == text.size());
    std::fclose(f);
}

std::string path_in(const fs::path& dir, const std::string& name) {
    return (dir / name).string();
}

// The names in a directory.
std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
        names.insert(e.path().filename().string());
    return names;
}

// Extraction directories of open (or leaked) archive packs in the system's temp directory.
size_t pack_temp_dirs() {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path())) {
        if (e.path().filename().string().rfind("vstore-pack-", 0) == 0)
            ++n;
    }
    return n;
}

// Points TMPDIR (and so std::filesystem::temp_directory_path()) at a private directory for the
// scope, so that whatever Pack::open leaves there is this test's doing alone.
class ScopedTmpdir {
  public:
    explicit ScopedTmpdir(const fs::path& dir) {
        fs::create_directories(dir);
        if (const char* old = std::getenv("TMPDIR"))
            old_ = old;
        ::setenv("TMPDIR", dir.c_str(), 1);
    }
    ~ScopedTmpdir() {
        if (old_)
            ::setenv("TMPDIR", old_->c_str(), 1);
        else
            ::unsetenv("TMPDIR");
    }
    ScopedTmpdir(const ScopedTmpdir&) = delete;
    ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;

  private:
    std::optional<std::string> old_;
};

class ScopedCwd {
  public:
    explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
    ~ScopedCwd() {
        std::error_code ec;
        fs::current_path(old_, ec);
    }
    ScopedCwd(const ScopedCwd&) = delete;
    ScopedCwd& operator=(const ScopedCwd&) = delete;

  private:
    fs::path old_;
};

// Domains "d" (l2) and "cos" (cosine) of dimension 16, each with commit c1 of `n` seeded vectors
// v0..v{n-1} and c2 on c1: every 10th removed, every 25th replaced, n/10 new ones n0.. inserted.
std::unique_ptr<Store> make_store(const std::string& dir, uint64_t n) {
    StoreOptions options;
    options.graph_policy.deltas = false;  // check_layout compares full files node for node
    auto store = Store::create(dir, options);
    const auto data = test::random_vectors(n, kDim, 11);
    const auto fresh = test::random_vectors(n / 5 + 2, kDim, 12);
    for (const char* domain : {"d", "cos"}) {
        const bool cosine = std::string(domain) == "cos";
        store->create_domain(domain, {kDim, cosine ? Metric::kCosine : Metric::kL2});
        auto b1 = store->begin_commit(domain, "c1", std::nullopt);
        for (uint64_t i = 0; i < n; ++i)
            b1.insert(numbered("v", i), row(data, i, kDim));
        b1.finish();
        auto b2 = store->begin_commit(domain, "c2", "c1");
        for (uint64_t i = 0; i < n; ++i) {
            if (i % 10 == 3)
                b2.remove(numbered("v", i));
            else if (i % 25 == 7)
                b2.replace(numbered("v", i), row(fresh, i / 25, kDim));
        }
        for (uint64_t i = 0; i < n / 10; ++i)
            b2.insert(numbered("n", i), row(fresh, n / 25 + 1 + i, kDim));
        b2.finish();
    }
    return store;
}

// Every answer of `pack` equals the same answer of `ref`, the commit in its store.
// `gone` are ids not live in the commit.
void check_same_answers(const Snapshot& pack, const Snapshot& ref, int queries, uint64_t seed,
                        const std::vector<std::string>& gone) {
    REQUIRE(pack.size() == ref.size());
    const auto ids = ref.ids();
    REQUIRE(ids.size() == ref.size());
    CHECK(pack.ids() == ids);
    size_t missing = 0, vectors_differ = 0;
    for (const auto& id : ids) {
        if (!pack.contains(id))
            ++missing;
        else if (pack.vector(id) != ref.vector(id))
            ++vectors_differ;
    }
    CHECK(missing == 0);
    CHECK(vectors_differ == 0);
    for (const auto& id : gone) {
        CHECK_FALSE(ref.contains(id));
        CHECK_FALSE(pack.contains(id));
        CHECK(outcome([&] { pack.vector(id); }) == outcome([&] { ref.vector(id); }));
        CHECK(outcome([&] { pack.similar(id, 5); }) == "not found");
    }

    const auto qs = test::random_vectors(queries, kDim, seed);
    size_t search_differ = 0, exact_differ = 0, similar_differ = 0, short_answers = 0;
    for (int i = 0; i < queries; ++i) {
        const auto q = row(qs, i, kDim);
        const auto hits = pack.search(q, 10, 64);
        if (hits.size() != 10)
            ++short_answers;
        if (hits != ref.search(q, 10, 64))
            ++search_differ;
        if (pack.search_exact(q, 10) != ref.search_exact(q, 10))
            ++exact_differ;
        const std::string& id = ids[(size_t(i) * 7919) % ids.size()];
        const auto sim = pack.similar(id, 10, 64);
        if (sim.size() != 10 || sim != ref.similar(id, 10, 64))
            ++similar_differ;
    }
    CHECK(short_answers == 0);
    CHECK(search_differ == 0);
    CHECK(exact_differ == 0);
    CHECK(similar_differ == 0);
}

// The pack's commit, domain and config describe `ref`, and its graph is sound.
void check_same_info(const Pack& pack, const Snapshot& ref) {
    const auto s = pack.snapshot();
    const CommitInfo& a = s->info();
    const CommitInfo& b = ref.info();
    CHECK(a.domain == b.domain);
    CHECK(a.commit == b.commit);
    CHECK(a.parent == b.parent);
    CHECK(a.live_count == b.live_count);
    CHECK(a.tombstone_count == b.tombstone_count);
    CHECK(a.inserted == b.inserted);
    CHECK(a.deleted == b.deleted);
    CHECK(a.replaced == b.replaced);
    CHECK(a.compacted == b.compacted);
    CHECK(a.created_unix_ms == b.created_unix_ms);
    CHECK(a.vector_count == b.live_count + b.tombstone_count);
    CHECK(s->domain().name == ref.domain().name);
    CHECK(s->domain().dimension == ref.domain().dimension);
    CHECK(s->domain().metric == ref.domain().metric);
    CHECK(s->domain().m == ref.domain().m);
    CHECK(s->domain().ef_construction == ref.domain().ef_construction);

    const PackConfig& c = pack.config();
    CHECK(c.domain.name == b.domain);
    CHECK(c.domain.dimension == ref.domain().dimension);
    CHECK(c.domain.metric == ref.domain().metric);
    CHECK(c.domain.m == ref.domain().m);
    CHECK(c.domain.ef_construction == ref.domain().ef_construction);
    CHECK(c.commit.commit == b.commit);
    CHECK(c.commit.parent == b.parent);
    CHECK(c.commit.live_count == b.live_count);
    CHECK(c.commit.tombstone_count == b.tombstone_count);
    CHECK(c.commit.inserted == b.inserted);
    CHECK(c.commit.deleted == b.deleted);
    CHECK(c.commit.replaced == b.replaced);
    CHECK(c.commit.compacted == b.compacted);
    CHECK(c.commit.created_unix_ms == b.created_unix_ms);
    REQUIRE(c.files.size() == 3);
    CHECK(c.files[0].name == kPackGraphName);
    CHECK(c.files[1].name == kPackVectorsName);
    CHECK(c.files[2].name == kPackIdsName);
    CHECK(c.json.rfind("{", 0) == 0);
    CHECK(c.json.find("\"format\": \"vstore-pack\"") != std::string::npos);
    CHECK(c.json.find("\"format_version\": 1") != std::string::npos);
    CHECK(c.json.find("\"backend\": \"vstore-hnsw\"") != std::string::npos);

    const GraphCheck g = s->check_graph();
    CHECK(g.unreachable_live == 0);
    CHECK(g.links_to_removed == 0);
}

// The pack directory's members are laid out as spec/pack.md says: node i has vector i and id i,
// the graph's links, levels, tombstones and entry point are the store's, tombstones keep their
// vectors and have empty ids.
void check_layout(const std::string& pack_dir, Store& store, const std::string& domain,
                  const std::string& commit) {
    const auto ref = store.open_commit(domain, commit);
    const CommitInfo& info = ref->info();
    // The store's stores write full files only (make_store), laid out as a pack's graph is.
    REQUIRE(info.graph_kind == format::GraphKind::kFull);
    const auto g = test::read_full_graph(
        test::read_file((fs::path(pack_dir) / kPackGraphName).string()), "pack graph");
    const auto s = test::read_full_graph(
        test::read_file((fs::path(store.dir()) / info.graph_file).string()), "store graph");
    CHECK(g.domain == domain);
    CHECK(g.commit == commit);
    CHECK(g.parent == info.parent);
    CHECK(g.created_unix_ms == info.created_unix_ms);
    CHECK(g.vector_count == info.live_count + info.tombstone_count);
    CHECK(g.metric == s.metric);
    CHECK(g.dimension == s.dimension);
    CHECK(g.m == s.m);
    CHECK(g.ef_construction == s.ef_construction);
    CHECK(g.entry_point == s.entry_point);
    CHECK(g.max_level == s.max_level);
    REQUIRE(g.nodes.size() == info.live_count + info.tombstone_count);
    REQUIRE(s.nodes.size() == g.nodes.size());

    const auto ids = format::decode_id_file(
        test::read_file((fs::path(pack_dir) / kPackIdsName).string()), "pack ids");
    REQUIRE(ids.size() == g.nodes.size());
    const auto vectors = VectorFile::open((fs::path(pack_dir) / kPackVectorsName).string());
    CHECK(vectors->domain() == domain);
    CHECK(vectors->dimension() == kDim);
    REQUIRE(vectors->size() == g.nodes.size());
    const auto store_vectors =
        VectorFile::open((fs::path(store.dir()) / store.domain(domain).vector_file).string());

    size_t numbering = 0, graph = 0, id_marks = 0, live_vectors = 0, tomb_vectors = 0;
    size_t tombstones = 0;
    std::set<std::string> live_ids;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const auto& node = g.nodes[i];
        if (node.vector_index != i || node.key != i)
            ++numbering;
        if (node.level != s.nodes[i].level || node.tombstone != s.nodes[i].tombstone ||
            node.links != s.nodes[i].links) {
            ++graph;
        }
        if (node.tombstone != ids[i].empty())
            ++id_marks;
        const auto v = vectors->get(i);
        const std::vector<float> mine(v.values().begin(), v.values().end());
        if (node.tombstone) {
            ++tombstones;
            const auto w = store_vectors->get(s.nodes[i].vector_index);
            if (mine != std::vector<float>(w.values().begin(), w.values().end()))
                ++tomb_vectors;
        } else {
            live_ids.insert(ids[i]);
            if (mine != ref->vector(ids[i]))
                ++live_vectors;
        }
    }
    CHECK(numbering == 0);
    CHECK(graph == 0);
    CHECK(id_marks == 0);
    CHECK(live_vectors == 0);
    CHECK(tomb_vectors == 0);
    CHECK(tombstones == info.tombstone_count);
    const auto ref_ids = ref->ids();
    CHECK(live_ids == std::set<std::string>(ref_ids.begin(), ref_ids.end()));
}

// ---- archives made by hand ------------------------------------------------------------------

struct TarEntry {
    std::string path;
    std::string data;
    unsigned type = AE_IFREG;
    std::optional<int64_t> size;  // the declared size; the data's when unset
    std::string symlink;
    std::string hardlink;
    unsigned perm = 0644;
};

TarEntry file_entry(const std::string& path, const std::string& data) {
    TarEntry e;
    e.path = path;
    e.data = data;
    return e;
}

TarEntry special_entry(const std::string& path, unsigned type) {
    TarEntry e;
    e.path = path;
    e.type = type;
    e.perm = type == AE_IFDIR ? 0755 : 0644;
    return e;
}

// A pax tar archive of `entries`, xz-compressed or not, written as given.
void write_tar(const std::string& path, const std::vector<TarEntry>& entries, bool xz) {
    archive* a = archive_write_new();
    REQUIRE(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
    if (xz)
        REQUIRE(archive_write_add_filter_xz(a) == ARCHIVE_OK);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& t : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.path.c_str());
        archive_entry_set_filetype(e, t.type);
        archive_entry_set_perm(e, t.perm);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (!t.symlink.empty())
            archive_entry_set_symlink(e, t.symlink.c_str());
        if (!t.hardlink.empty())
            archive_entry_set_hardlink(e, t.hardlink.c_str());
        if (t.type == AE_IFCHR || t.type == AE_IFBLK)
            archive_entry_set_rdev(e, makedev(1, 3));
        archive_entry_set_size(e, static_cast<la_int64_t>(t.size.value_or(t.data.size())));
        REQUIRE(archive_write_header(a, e) >= ARCHIVE_WARN);
        if (!t.data.empty())
            REQUIRE(archive_write_data(a, t.data.data(), t.data.size()) >= 0);
        archive_entry_free(e);
    }
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
}

struct ReadEntry {
    std::string path;
    unsigned type = 0;
    unsigned perm = 0;
    std::string data;
};

std::vector<ReadEntry> read_tar(const std::string& path) {
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK);
    std::vector<ReadEntry> out;
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        ReadEntry r;
        r.path = archive_entry_pathname(e);
        r.type = archive_entry_filetype(e);
        r.perm = archive_entry_perm(e);
        std::vector<char> buf(1 << 16);
        for (la_ssize_t n; (n = archive_read_data(a, buf.data(), buf.size())) > 0;)
            r.data.append(buf.data(), size_t(n));
        out.push_back(std::move(r));
    }
    archive_read_free(a);
    return out;
}

std::string member_path(const std::string& dir, const char* name) {
    return path_in(dir, name);
}

// The member files of a pack directory, by name.
struct Members {
    std::string config, embeddings, vectors, ids;
};

Members read_members(const std::string& dir) {
    return {
        read_text(member_path(dir, kPackConfigName)), read_text(member_path(dir, kPackGraphName)),
        read_text(member_path(dir, kPackVectorsName)), read_text(member_path(dir, kPackIdsName))};
}

std::vector<TarEntry> good_entries(const Members& m, const std::string& top) {
    const std::string prefix = top.empty() ? std::string() : top + "/";
    return {file_entry(prefix + kPackConfigName, m.config),
            file_entry(prefix + kPackGraphName, m.embeddings),
            file_entry(prefix + kPackVectorsName, m.vectors),
            file_entry(prefix + kPackIdsName, m.ids)};
}

// ---- config surgery -------------------------------------------------------------------------

// `json` with the value after `"key": ` (the first such key at or after `after`) replaced.
std::string with_field(std::string json, const std::string& key, const std::string& value,
                       const std::string& after = "") {
    const size_t from = after.empty() ? 0 : json.find(after);
    REQUIRE(from != std::string::npos);
    std::string needle = "\"";
    needle += key;
    needle += "\": ";
    size_t at = json.find(needle, from);
    REQUIRE(at != std::string::npos);
    at += needle.size();
    const size_t end = json.find_first_of(",\n", at);
    json.replace(at, end - at, value);
    return json;
}

// Replaces member `name` of the pack directory and records its new size and checksum in the
// config, so that only the member's meaning is wrong.
void rewrite_member(const std::string& dir, const char* name, const std::vector<uint8_t>& bytes) {
    write_text(member_path(dir, name), std::string(bytes.begin(), bytes.end()));
    std::string after = "\"";
    after += name;
    after += "\": {";
    std::string config = read_text(member_path(dir, kPackConfigName));
    config = with_field(config, "bytes", std::to_string(bytes.size()), after);
    std::string quoted = "\"";  // piecewise: g++ 12's false -Wrestrict on a concatenation
    quoted += hex64(format::checksum64(bytes));
    quoted += '"';
    config = with_field(config, "xxh3", quoted, after);
    write_text(member_path(dir, kPackConfigName), config);
}

// A fresh copy of the pack directory `src` at `dst`.
std::string copy_pack(const std::string& src, const std::string& dst) {
    fs::remove_all(dst);
    fs::copy(src, dst, fs::copy_options::recursive);
    return dst;
}

// Opens copies (at `work`) of the pack directory `good` whose config lacks one of `missing`
// (the key renamed) or has one key set to a value of the wrong type; returns the cases that
// were not refused as corruption.
std::vector<std::string> config_not_refused(
    const std::string& good, const std::string& work, const std::vector<const char*>& missing,
    const std::vector<std::pair<const char*, const char*>>& retyped) {
    const std::string config = read_text(member_path(good, kPackConfigName));
    std::vector<std::string> accepted;
    auto attempt = [&](const std::string& what, const std::string& text) {
        copy_pack(good, work);
        write_text(member_path(work, kPackConfigName), text);
        const std::string got = outcome([&] { Pack::open(work); });
        if (got != "corruption")
            accepted.push_back(what + ": " + got);
    };
    for (const char* key : missing) {
        std::string needle = "\"";
        needle += key;
        needle += "\":";
        std::string renamed = config;
        const size_t at = renamed.find(needle);
        REQUIRE(at != std::string::npos);
        renamed.insert(at + 1, "no-");
        attempt(std::string("without ") + key, renamed);
    }
    for (const auto& [key, value] : retyped)
        attempt(std::string(key) + " = " + value, with_field(config, key, value));
    return accepted;
}

}  // namespace

// ---- 1. round trips -------------------------------------------------------------------------

TEST_CASE("a pack answers every query exactly as its commit does, in every kind", "[pack]") {
    TempDir dir;
    ScopedTmpdir tmp(dir.path() / "tmp");
    auto store = make_store(dir.file("s"), 2000);
    for (const char* domain : {"d", "cos"}) {
        INFO("domain " << domain);
        const auto ref = store->open_commit(domain, "c2");
        const CommitInfo& c2 = ref->info();
        // Enough items that search() walks the graph, and some deleted nodes left as tombstones.
        REQUIRE(ref->size() > StoreOptions{}.exact_threshold);
        CHECK(c2.deleted == 200);
        CHECK(c2.replaced == 80);
        CHECK(c2.inserted == 200);
        CHECK_FALSE(c2.compacted);
        CHECK(c2.tombstone_count > 0);

        const fs::path out = dir.path() / "packs" / domain;
        fs::create_directories(out);
        const std::vector<std::pair<std::string, PackKind>> kinds = {
            {"c2-pack", PackKind::kDirectory},
            {"c2-pack.tar.xz", PackKind::kTarXz},
            {"c2-pack.tar.zst", PackKind::kTarZstd},
            {"c2-pack.tar", PackKind::kTar},
        };
        for (const auto& [name, kind] : kinds) {
            INFO("pack " << name);
            const std::string path = path_in(out, name);
            CHECK(pack_kind_for(path) == kind);
            std::vector<double> progress;
            PackWriteOptions options;
            options.progress = [&](double p) { progress.push_back(p); };
            const PackConfig written = Pack::write(*store, domain, "c2", path, options);
            CHECK(written.commit.commit == "c2");
            CHECK(written.commit.parent == std::optional<std::string>("c1"));
            CHECK(written.commit.live_count == c2.live_count);
            REQUIRE_FALSE(progress.empty());
            CHECK(progress.back() == 1.0);
            CHECK(std::is_sorted(progress.begin(), progress.end()));
            CHECK(Pack::looks_like_pack(path));

            const size_t temp_before = pack_temp_dirs();
            auto pack = Pack::open(path);
            CHECK(pack->kind() == kind);
            CHECK(pack->path() == path);
            CHECK(pack_temp_dirs() == temp_before + (kind == PackKind::kDirectory ? 0 : 1));
            for (const auto& e : fs::directory_iterator(fs::temp_directory_path())) {
                if (e.path().filename().string().rfind("vstore-pack-", 0) == 0) {
                    CHECK((fs::status(e.path()).permissions() & fs::perms::all) ==
                          fs::perms::owner_all);
                }
            }
            CHECK(pack->config().json == written.json);
            check_same_info(*pack, *ref);
            check_same_answers(*pack->snapshot(), *ref, 200, 99, {"v3", "v13", "n999", "nope"});
            pack.reset();
            CHECK(pack_temp_dirs() == temp_before);

            // Served from a pool of page frames instead of a mapping: the same answers.
            StoreOptions pooled;
            pooled.mode = ServingMode::kPool;
            pooled.pool_budget_bytes = size_t(64) << 10;
            check_same_answers(*Pack::open(path, pooled)->snapshot(), *ref, 20, 98, {"v3"});
            CHECK(pack_temp_dirs() == temp_before);
        }
        // Exactly the four packs: no staging directory is left behind.
        CHECK(listing(out) ==
              std::set<std::string>{"c2-pack", "c2-pack.tar.xz", "c2-pack.tar.zst", "c2-pack.tar"});
        CHECK(listing(out / "c2-pack") == std::set<std::string>{kPackConfigName, kPackGraphName,
                                                                kPackVectorsName, kPackIdsName});
        check_layout(path_in(out, "c2-pack"), *store, domain, "c2");
        const PackConfig config = Pack::open(path_in(out, "c2-pack"))->config();
        for (const auto& f : config.files)
            CHECK(fs::file_size(out / "c2-pack" / f.name) == f.bytes);
        const std::string config_text = read_text(path_in(out / "c2-pack", kPackConfigName));
        CHECK(config_text.find("\"parent\": \"c1\"") != std::string::npos);
        CHECK(config_text.find("\"count\": 2000") != std::string::npos);

        // Archives hold the four members, config first, under a directory named after the
        // archive, as regular files of mode 0644; the data members are the directory pack's.
        const Members dir_members = read_members(path_in(out, "c2-pack"));
        for (const char* archive_name : {"c2-pack.tar.xz", "c2-pack.tar.zst", "c2-pack.tar"}) {
            INFO("archive " << archive_name);
            const auto entries = read_tar(path_in(out, archive_name));
            REQUIRE(entries.size() == 4);
            CHECK(entries[0].path == "c2-pack/config");
            CHECK(entries[1].path == "c2-pack/embeddings");
            CHECK(entries[2].path == "c2-pack/vectors");
            CHECK(entries[3].path == "c2-pack/ids");
            for (const auto& e : entries) {
                CHECK(e.type == AE_IFREG);
                CHECK(e.perm == 0644);
            }
            // The archive's own config records each member's size and checksum; the graph and
            // ids are the directory pack's bytes (the vector file's header differs: creation
            // time and file id).
            for (size_t i = 1; i < 4; ++i) {
                const std::vector<uint8_t> data(entries[i].data.begin(), entries[i].data.end());
                CHECK(entries[0].data.find(hex64(format::checksum64(data))) != std::string::npos);
            }
            CHECK(entries[1].data == dir_members.embeddings);
            CHECK(entries[2].data.size() == dir_members.vectors.size());
            CHECK(entries[3].data == dir_members.ids);
        }
    }
    CHECK_FALSE(Pack::looks_like_pack(dir.file("s")));
    CHECK(pack_kind_for("x.tar.gz") == PackKind::kDirectory);
}

TEST_CASE("packs of a root commit and of a compacting commit", "[pack]") {
    TempDir dir;
    ScopedTmpdir tmp(dir.path() / "tmp");
    auto store = make_store(dir.file("s"), 1500);
    for (const char* name : {"root", "root.tar.xz"}) {
        INFO("pack " << name);
        const PackConfig written = Pack::write(*store, "cos", "c1", dir.file(name));
        CHECK_FALSE(written.commit.parent.has_value());
        auto pack = Pack::open(dir.file(name));
        CHECK_FALSE(pack->snapshot()->info().parent.has_value());
        CHECK(pack->config().json.find("\"parent\": null") != std::string::npos);
        const auto ref = store->open_commit("cos", "c1");
        CHECK(pack->snapshot()->info().tombstone_count == 0);
        check_same_info(*pack, *ref);
        check_same_answers(*pack->snapshot(), *ref, 50, 7, {"n0", "nope"});
    }
    check_layout(dir.file("root"), *store, "cos", "c1");

    // A commit that compacted its tombstones away.
    {
        auto b = store->begin_commit("d", "c3", "c2");
        for (int i = 0; i < 1500; ++i) {
            if (i % 10 != 3 && i % 10 != 0)
                b.remove(numbered("v", i));
        }
        const CommitInfo c3 = b.finish();
        REQUIRE(c3.compacted);
        CHECK(c3.tombstone_count == 0);
    }
    Pack::write(*store, "d", "c3", dir.file("c3.tar.zst"));
    Pack::write(*store, "d", "c3", dir.file("c3"));
    check_layout(dir.file("c3"), *store, "d", "c3");
    auto pack = Pack::open(dir.file("c3.tar.zst"));
    CHECK(pack->config().commit.compacted);
    CHECK(pack->config().json.find("\"compacted\": true") != std::string::npos);
    const auto ref = store->open_commit("d", "c3");
    check_same_info(*pack, *ref);
    check_same_answers(*pack->snapshot(), *ref, 50, 8, {"v3", "v6", "nope"});

    // Packs need nothing of their store: with the store gone, the same answers.
    const auto qs = test::random_vectors(20, kDim, 21);
    std::vector<std::vector<SearchHit>> expected;
    for (int i = 0; i < 20; ++i)
        expected.push_back(ref->search(row(qs, i, kDim), 10, 64));
    pack.reset();
    store.reset();
    fs::remove_all(dir.file("s"));
    for (const char* name : {"c3", "c3.tar.zst"}) {
        INFO("pack " << name);
        const auto alone = Pack::open(dir.file(name))->snapshot();
        for (int i = 0; i < 20; ++i)
            CHECK(alone->search(row(qs, i, kDim), 10, 64) == expected[i]);
    }
}

// ---- 2. Pack::write refusals ----------------------------------------------------------------

TEST_CASE("Pack::write never writes over anything and leaves nothing when it fails", "[pack]") {
    TempDir dir;
    auto store = make_store(dir.file("s"), 120);
    const fs::path out = dir.path() / "out";
    fs::create_directories(out);

    // An existing directory, with something in it.
    fs::create_directories(out / "taken");
    write_text(path_in(out / "taken", "keep"), "mine");
    // An existing file under an archive name.
    write_text(path_in(out, "taken.tar.xz"), "not a pack");
    // A dangling symbolic link.
    fs::create_symlink(out / "nowhere", out / "link.tar");
    const auto before = listing(out);
    for (const char* name : {"taken", "taken.tar.xz", "link.tar"}) {
        INFO("output " << name);
        CHECK(outcome([&] { Pack::write(*store, "d", "c2", path_in(out, name)); }) == "conflict");
        CHECK(listing(out) == before);
    }
    CHECK(listing(out / "taken") == std::set<std::string>{"keep"});
    CHECK(read_text(path_in(out / "taken", "keep")) == "mine");
    CHECK(read_text(path_in(out, "taken.tar.xz")) == "not a pack");
    CHECK_FALSE(fs::exists(out / "nowhere"));

    // Unknown domain or commit: nothing created, no staging directory left.
    for (const char* name : {"p", "p.tar.xz", "p.tar"}) {
        INFO("output " << name);
        CHECK(outcome([&] { Pack::write(*store, "nope", "c2", path_in(out, name)); }) ==
              "not found");
        CHECK(outcome([&] { Pack::write(*store, "d", "c9", path_in(out, name)); }) == "not found");
        CHECK(listing(out) == before);
    }
    // A parent directory that does not exist: an error, nothing created.
    CHECK(outcome([&] { Pack::write(*store, "d", "c2", path_in(out / "missing", "p")); }) !=
          "no error");
    CHECK(listing(out) == before);

    // And a pack written beside them appears whole, alone.
    Pack::write(*store, "d", "c2", path_in(out, "p.tar"));
    auto after = before;
    after.insert("p.tar");
    CHECK(listing(out) == after);
    CHECK(Pack::open(path_in(out, "p.tar"))->snapshot()->size() ==
          store->open_commit("d", "c2")->size());
}

// ---- 3. damaged pack directories ------------------------------------------------------------

TEST_CASE("a damaged pack directory is refused", "[pack]") {
    TempDir dir;
    auto store = make_store(dir.file("s"), 300);
    const std::string good = dir.file("good");
    Pack::write(*store, "d", "c2", good);
    REQUIRE(outcome([&] { Pack::open(good); }) == "no error");
    const std::string work = dir.file("work");
    auto open_work = [&] { return outcome([&] { Pack::open(work); }); };

    SECTION("a flipped byte in any data member") {
        for (const char* name : {kPackGraphName, kPackVectorsName, kPackIdsName}) {
            const uint64_t size = fs::file_size(member_path(good, name));
            for (uint64_t offset : {uint64_t(0), uint64_t(20), size / 2, size - 1}) {
                INFO(name << " byte " << offset);
                copy_pack(good, work);
                test::flip_byte(member_path(work, name), offset);
                CHECK(open_work() == "corruption");
            }
        }
    }
    SECTION("a missing member") {
        for (const char* name : {kPackGraphName, kPackVectorsName, kPackIdsName}) {
            INFO(name);
            copy_pack(good, work);
            fs::remove(member_path(work, name));
            CHECK(open_work() == "corruption");
        }
        copy_pack(good, work);
        fs::remove(member_path(work, kPackConfigName));
        CHECK(open_work() != "no error");
        CHECK(outcome([&] { Pack::open(dir.file("absent")); }) == "not found");
    }
    SECTION("a truncated member") {
        for (const char* name : {kPackConfigName, kPackGraphName, kPackVectorsName, kPackIdsName}) {
            INFO(name);
            copy_pack(good, work);
            const std::string path = member_path(work, name);
            // (The config's last byte is a newline it can do without.)
            const uint64_t size = fs::file_size(path);
            for (uint64_t keep : {size - 2, size / 2, uint64_t(0)}) {
                INFO("cut to " << keep);
                copy_pack(good, work);
                fs::resize_file(path, keep);
                CHECK(open_work() != "no error");
            }
            if (std::string(name) != kPackConfigName) {
                copy_pack(good, work);
                fs::resize_file(path, size - 1);
                CHECK(open_work() == "corruption");
            }
        }
    }
    SECTION("a config that does not describe the members") {
        const std::string config = read_text(member_path(good, kPackConfigName));
        const uint64_t live = store->open_commit("d", "c2")->size();
        struct Case {
            const char* what;
            std::string text;
            const char* expected;  // nullptr: any vstore::Error
        };
        const std::vector<Case> cases = {
            {"count one more", with_field(config, "count", std::to_string(live + 1)), "corruption"},
            {"count one less", with_field(config, "count", std::to_string(live - 1)), "corruption"},
            {"tombstones one more",
             with_field(config, "tombstones",
                        std::to_string(store->open_commit("d", "c2")->info().tombstone_count + 1)),
             "corruption"},
            {"format_version 2", with_field(config, "format_version", "2"), "invalid argument"},
            {"format_version 0", with_field(config, "format_version", "0"), "invalid argument"},
            {"format_version a string", with_field(config, "format_version", "\"1\""), nullptr},
            {"another format", with_field(config, "format", "\"txtai\""), nullptr},
            {"not JSON", config.substr(0, config.size() / 2), nullptr},
            {"empty", "", nullptr},
            {"a JSON array", "[1, 2, 3]", nullptr},
            {"another metric", with_field(config, "metric", "\"cosine\""), "corruption"},
            {"another dimension", with_field(config, "dimensions", "17"), "corruption"},
            {"another domain", with_field(config, "domain", "\"e\""), "corruption"},
            {"another commit", with_field(config, "commit", "\"c3\""), "corruption"},
            {"another parent", with_field(config, "parent", "\"c0\""), "corruption"},
            {"no parent", with_field(config, "parent", "null"), "corruption"},
            {"another M", with_field(config, "m", "8"), "corruption"},
            {"ids one byte longer", with_field(config, "bytes", "1", "\"ids\": {"), "corruption"},
            {"another checksum", with_field(config, "xxh3", "\"0123456789abcdef\"", "\"vectors\""),
             "corruption"},
            {"a short checksum", with_field(config, "xxh3", "\"0123\"", "\"vectors\""), nullptr},
            {"negative count", with_field(config, "count", "-1"), nullptr},
            {"a config over 1 MiB", config + std::string((size_t(1) << 20) + 1, ' '), nullptr},
        };
        for (const auto& c : cases) {
            INFO(c.what);
            REQUIRE(c.text != config);
            copy_pack(good, work);
            write_text(member_path(work, kPackConfigName), c.text);
            const std::string got = open_work();
            if (c.expected)
                CHECK(got == c.expected);
            else
                CHECK(got != "no error");
        }
        // Every field the spec lists is required, with its type (backend, system, created
        // and updated: see the case further down).
        CHECK(config_not_refused(good, work, {"format",
                                              "format_version",
                                              "build",
                                              "vstore",
                                              "dimensions",
                                              "metric",
                                              "count",
                                              "tombstones",
                                              "domain",
                                              "commit",
                                              "parent",
                                              "operations",
                                              "compacted",
                                              "created_unix_ms",
                                              "updated_unix_ms",
                                              "files",
                                              "m",
                                              "ef_construction",
                                              "inserted",
                                              "deleted",
                                              "replaced",
                                              "embeddings",
                                              "ids"},
                                 {{"vstore", "7"},
                                  {"compacted", "1"},
                                  {"count", "\"2\""},
                                  {"count", "2.5"},
                                  {"commit", "7"},
                                  {"parent", "7"},
                                  {"metric", "\"hamming\""}}) == std::vector<std::string>{});
        // A member the spec does not have, in "files".
        copy_pack(good, work);
        std::string extra_file = config;
        extra_file.insert(extra_file.find("\"files\": {") + 10,
                          "\n    \"extra\": {\"bytes\": 1, \"xxh3\": \"0000000000000000\"},");
        write_text(member_path(work, kPackConfigName), extra_file);
        CHECK(open_work() == "corruption");

        // Unknown fields are ignored.
        copy_pack(good, work);
        std::string extra = config;
        extra.insert(1, "\n  \"comment\": \"made by hand\",");
        write_text(member_path(work, kPackConfigName), extra);
        CHECK(open_work() == "no error");
    }
    SECTION("members with sound checksums but the wrong meaning") {
        const auto ids =
            format::decode_id_file(test::read_file(member_path(good, kPackIdsName)), "ids");
        const auto pack = Pack::open(good);
        REQUIRE(pack->snapshot()->info().tombstone_count > 0);
        size_t live_at = 0, tomb_at = 0;
        while (ids[live_at].empty())
            ++live_at;
        while (!ids[tomb_at].empty())
            ++tomb_at;
        size_t other_live = live_at + 1;
        while (ids[other_live].empty())
            ++other_live;

        auto with = [&](std::vector<std::string> v) { return format::encode_id_file(v); };
        auto dup = ids;
        dup[other_live] = ids[live_at];
        auto no_id = ids;
        no_id[live_at].clear();
        auto tomb_id = ids;
        tomb_id[tomb_at] = "ghost";
        auto short_ids = ids;
        short_ids.pop_back();
        auto long_ids = ids;
        long_ids.push_back("extra");
        for (const auto& [what, bytes] : std::vector<std::pair<const char*, std::vector<uint8_t>>>{
                 {"an id twice", with(dup)},
                 {"a live node without an id", with(no_id)},
                 {"a tombstone with an id", with(tomb_id)},
                 {"one id too few", with(short_ids)},
                 {"one id too many", with(long_ids)},
                 {"a graph file as ids", test::read_file(member_path(good, kPackGraphName))}}) {
            INFO(what);
            copy_pack(good, work);
            rewrite_member(work, kPackIdsName, bytes);
            CHECK(open_work() == "corruption");
        }
        // The same surgery with the unchanged ids opens fine: the surgery itself is sound.
        copy_pack(good, work);
        rewrite_member(work, kPackIdsName, with(ids));
        CHECK(open_work() == "no error");

        // A vector file of another pack (another domain) or one vector short.
        const std::string other = dir.file("other");
        Pack::write(*store, "cos", "c2", other);
        copy_pack(good, work);
        rewrite_member(work, kPackVectorsName,
                       test::read_file(member_path(other, kPackVectorsName)));
        CHECK(open_work() == "corruption");
        copy_pack(good, work);
        rewrite_member(work, kPackGraphName, test::read_file(member_path(other, kPackGraphName)));
        CHECK(open_work() == "corruption");
        copy_pack(good, work);
        const auto vectors = test::read_file(member_path(good, kPackVectorsName));
        rewrite_member(work, kPackVectorsName,
                       {vectors.begin(), vectors.end() - kDim * sizeof(float)});
        INFO(message_of([&] { Pack::open(work); }));
        CHECK(open_work() == "corruption");
    }
}

// ---- 4. hostile archives --------------------------------------------------------------------

TEST_CASE("hostile pack archives are refused and write nothing outside", "[pack]") {
    TempDir dir;
    auto store = make_store(dir.file("s"), 300);
    const std::string good_dir = dir.file("good");
    Pack::write(*store, "d", "c2", good_dir);
    const Members m = read_members(good_dir);
    const auto ref = Pack::open(good_dir)->snapshot();

    // Places a careless extractor would write to.
    const fs::path outside = dir.path() / "outside";
    fs::create_directories(outside);
    write_text(path_in(outside, "victim"), "untouched");
    fs::create_directories(dir.path() / "abs");
    const fs::path cwd = dir.path() / "cwd" / "inner";
    fs::create_directories(cwd);
    ScopedCwd in_cwd(cwd);
    const fs::path private_tmp = dir.path() / "tmp";
    ScopedTmpdir tmp(private_tmp);
    REQUIRE(fs::temp_directory_path() == private_tmp);
    const auto outside_before = listing(outside);
    const auto dir_before = listing(dir.path());

    auto entries = [&](const std::string& top = "p") { return good_entries(m, top); };
    const std::string absolute = path_in(dir.path() / "abs", "config");
    const std::string target = path_in(outside, "target");

    struct Case {
        std::string what;
        std::vector<TarEntry> entries;
        const char* expected;
    };
    std::vector<Case> cases;
    auto add = [&](const std::string& what, std::vector<TarEntry> es,
                   const char* expected = "invalid argument") {
        cases.push_back({what, std::move(es), expected});
    };
    {
        auto es = entries("");
        es[0].path = absolute;
        add("an absolute path", es);
        es = entries();
        es[0].path = "/p/config";
        add("an absolute path under the top directory", es);
        es = entries();
        es[0].path = "p/../config";
        add("a '..' component", es);
        es = entries("");
        es.insert(es.begin(), file_entry("../evil", m.config));
        add("'../evil' first", es);
        es = entries();
        es.push_back(file_entry("../evil", "x"));
        add("'../evil' last", es);
        es = entries("..");
        add("every member under '..'", es);
        es = entries();
        es[1].path = "p/../../evil";
        add("'p/../../evil'", es);
        es = entries();
        es[0].path = "./config";
        add("a '.' component", es);
        es = entries();
        es[2].path = "p//vectors";
        add("an empty component", es);
        es = entries();
        es[0].path = "";
        add("an empty name", es);
        es = entries();
        es[3].path = "p/q/ids";
        add("a member two directories down", es);
    }
    {
        // Links: to a file outside, and the top directory itself as a link to outside.
        auto es = entries();
        TarEntry link = special_entry("p/embeddings", AE_IFLNK);
        link.symlink = target;
        es.insert(es.begin() + 1, link);
        add("a symbolic link to outside, then data through it", es);
        es = entries();
        link = special_entry("p", AE_IFLNK);
        link.symlink = outside.string();
        es.insert(es.begin(), link);
        add("the top directory as a symbolic link", es);
        es = entries();
        link = special_entry("p/embeddings", AE_IFLNK);
        link.symlink = "config";
        es[1] = link;
        add("a member as a relative symbolic link", es);
        es = entries();
        TarEntry hard = special_entry("p/embeddings", AE_IFREG);
        hard.hardlink = path_in(outside, "victim");
        es.insert(es.begin() + 1, hard);
        add("a hard link to a file outside", es);
        es = entries();
        hard = special_entry("p/vectors", AE_IFREG);
        hard.hardlink = "p/config";
        es[2] = hard;
        add("a hard link to another member", es);
        es = entries();
        es[1] = special_entry("p/embeddings", AE_IFCHR);
        add("a character device", es);
        es = entries();
        es[1] = special_entry("p/embeddings", AE_IFBLK);
        add("a block device", es);
        es = entries();
        es[0] = special_entry("p/config", AE_IFIFO);
        add("a FIFO", es);
        es = entries();
        es.insert(es.begin(), special_entry("q", AE_IFDIR));
        add("a directory other than the top one", es);
        es = entries();
        es.insert(es.begin() + 1, special_entry("p/sub", AE_IFDIR));
        add("a subdirectory", es);
        es = entries();
        es.insert(es.begin(), special_entry("p/config", AE_IFDIR));
        add("a member as a directory", es);
        es = entries("");
        es.push_back(file_entry("extra", "x"));
        add("an extra member at the root", es);
    }
    {
        auto es = entries();
        es.push_back(file_entry("p/extra", "x"));
        add("an extra member at the end", es);
        es = entries();
        es.insert(es.begin() + 1, file_entry("p/extra", "x"));
        add("an extra member in the middle", es);
        es = entries();
        es.insert(es.begin(), file_entry("p/README", "x"));
        add("an extra member first", es);
        es = entries();
        es.push_back(es[3]);
        add("a member twice", es);
        es = entries();
        es.insert(es.begin() + 1, es[0]);
        add("the config twice", es);
        es = entries();
        std::swap(es[0], es[1]);
        add("config second", es);
        es = entries();
        std::rotate(es.begin(), es.begin() + 1, es.end());
        add("config last", es);
        es = entries();
        es[1].size = int64_t(m.embeddings.size()) - 1;
        add("a member shorter than the config says", es);
        es = entries();
        es[2].size = int64_t(m.vectors.size()) + 1;
        add("a member longer than the config says", es);
        es = entries();
        es[3].size = 0;
        add("a member empty in the archive", es);
        es = entries();
        es[0].data += std::string(size_t(1) << 20, ' ');
        add("a config over 1 MiB", es);
        es = entries();
        es[2].path = "q/vectors";
        add("members under two top directories", es);
        es = entries();
        es[1].path = "embeddings";
        add("members under a top directory and at the root", es);
        es = entries("");
        es[3].path = "p/ids";
        add("members at the root and under a directory", es);
        es = entries();
        es[0].data = with_field(m.config, "format_version", "2");
        add("config format_version 2", es);
    }
    {
        auto es = entries();
        es.pop_back();
        add("no ids", es, "corruption");
        es = entries();
        es.resize(1);
        add("only the config", es, "corruption");
        es = entries();
        es[0].data = m.config.substr(0, m.config.size() / 2);
        add("a config that is not JSON", es, "corruption");
        es = entries();
        es[1].data[es[1].data.size() / 2] ^= 0x20;
        add("a member whose checksum is wrong", es, "corruption");
    }

    for (bool xz : {false, true}) {
        for (size_t i = 0; i < cases.size(); ++i) {
            const auto& c = cases[i];
            INFO((xz ? "xz: " : "tar: ") << c.what);
            const std::string path = dir.file(numbered(xz ? "hostile-xz-" : "hostile-", i));
            write_tar(path, c.entries, xz);
            CHECK(Pack::looks_like_pack(path));
            CHECK(outcome([&] { Pack::open(path); }) == c.expected);
            // Nothing written anywhere: not outside, not beside cwd, no extraction dir left.
            CHECK_FALSE(fs::exists(absolute));
            CHECK_FALSE(fs::exists("/p/config"));
            CHECK_FALSE(fs::exists(cwd.parent_path() / "evil"));
            CHECK_FALSE(fs::exists(cwd / "evil"));
            CHECK_FALSE(fs::exists(cwd / "p"));
            CHECK_FALSE(fs::exists(target));
            CHECK(listing(outside) == outside_before);
            CHECK(read_text(path_in(outside, "victim")) == "untouched");
            CHECK(listing(dir.path() / "abs").empty());
            CHECK(listing(cwd.parent_path()) == std::set<std::string>{"inner"});
            CHECK(listing(cwd).empty());
            CHECK(pack_temp_dirs() == 0);
            CHECK(listing(private_tmp).empty());
            fs::remove(path);
        }
    }
    CHECK(listing(dir.path()) == dir_before);

    SECTION("damaged archives") {
        for (const char* name : {"c2.tar.xz", "c2.tar.zst", "c2.tar"}) {
            INFO(name);
            const std::string path = dir.file(name);
            Pack::write(*store, "d", "c2", path);
            REQUIRE(outcome([&] { Pack::open(path); }) == "no error");
            const auto bytes = test::read_file(path);
            for (size_t keep : {bytes.size() / 2, bytes.size() / 4, size_t(600)}) {
                INFO("cut to " << keep << " of " << bytes.size() << " bytes");
                const std::string cut = dir.file("cut");
                write_text(cut, std::string(bytes.begin(), bytes.begin() + keep));
                CHECK(outcome([&] { Pack::open(cut); }) == "corruption");
                CHECK(pack_temp_dirs() == 0);
                CHECK(listing(private_tmp).empty());
            }
        }
        std::mt19937_64 rng(5);
        auto random_bytes = [&](size_t n) {
            std::string s(n, '\0');
            for (auto& ch : s)
                ch = static_cast<char>(rng());
            return s;
        };
        std::string xz = random_bytes(8192);
        xz.replace(0, 6,
                   std::string("\xFD"
                               "7zXZ\0",
                               6));
        std::string zst = random_bytes(8192);
        zst.replace(0, 4, std::string("\x28\xB5\x2F\xFD", 4));
        std::string tar = random_bytes(8192);
        tar.replace(257, 6, std::string("ustar\0", 6));
        for (const auto& [what, bytes] : std::vector<std::pair<const char*, std::string>>{
                 {"random bytes after an xz magic", xz},
                 {"random bytes after a zstd magic", zst},
                 {"random bytes around a tar magic", tar}}) {
            INFO(what);
            write_text(dir.file("noise"), bytes);
            CHECK(Pack::looks_like_pack(dir.file("noise")));
            CHECK(outcome([&] { Pack::open(dir.file("noise")); }) == "corruption");
            CHECK(pack_temp_dirs() == 0);
            CHECK(listing(private_tmp).empty());
        }
        write_text(dir.file("noise"), random_bytes(8192));
        CHECK_FALSE(Pack::looks_like_pack(dir.file("noise")));
        CHECK(outcome([&] { Pack::open(dir.file("noise")); }) == "invalid argument");
    }

    SECTION("good hand-made archives open") {
        std::vector<std::pair<std::string, std::vector<TarEntry>>> goods;
        goods.emplace_back("members at the root", entries(""));
        auto es = entries("anything");
        goods.emplace_back("under a directory of another name", es);
        es.insert(es.begin(), special_entry("anything", AE_IFDIR));
        goods.emplace_back("with a directory entry for the top directory", es);
        for (bool xz : {false, true}) {
            for (const auto& [what, es] : goods) {
                INFO((xz ? "xz: " : "tar: ") << what);
                const std::string path = dir.file("hand-made");
                write_tar(path, es, xz);
                {
                    std::unique_ptr<Pack> pack;
                    REQUIRE(outcome([&] { pack = Pack::open(path); }) == "no error");
                    CHECK(pack->kind() == (xz ? PackKind::kTarXz : PackKind::kTar));
                    CHECK(pack_temp_dirs() == 1);
                    CHECK(pack->snapshot()->ids() == ref->ids());
                    const auto q = test::random_vectors(1, kDim, 3);
                    CHECK(pack->snapshot()->search(q, 10, 64) == ref->search(q, 10, 64));
                }
                CHECK(pack_temp_dirs() == 0);
                fs::remove(path);
            }
        }
    }
}

// ---- 5. the id file -------------------------------------------------------------------------

TEST_CASE("id files round-trip and every damage is detected", "[pack]") {
    using format::decode_id_file;
    using format::encode_id_file;
    auto code = [](std::span<const uint8_t> bytes) {
        return outcome([&] { decode_id_file(bytes, "test"); });
    };

    const std::vector<std::string> ids = {"a", "",   "h\xC3\xA9llo",      std::string(4096, 'x'),
                                          "",  "z0", std::string(1, '\0')};
    const auto bytes = encode_id_file(ids);
    CHECK(bytes.size() == format::kIdFileHeaderBytes + 7 * 4 + 1 + 6 + 4096 + 2 + 1);
    CHECK(std::equal(format::kIdFileMagic.begin(), format::kIdFileMagic.end(), bytes.begin()));
    CHECK(format::load_le<uint32_t>(&bytes[8]) == 1);
    CHECK(format::load_le<uint64_t>(&bytes[16]) == ids.size());
    CHECK(format::load_le<uint64_t>(&bytes[24]) == bytes.size() - 48);
    CHECK(format::load_le<uint64_t>(&bytes[40]) == format::checksum64({bytes.data(), 40}));
    CHECK(format::load_le<uint64_t>(&bytes[32]) ==
          format::checksum64({bytes.data() + 48, bytes.size() - 48}, 0x6964626f6479ULL));
    CHECK(decode_id_file(bytes, "test") == ids);
    CHECK(decode_id_file(encode_id_file({}), "test").empty());
    CHECK(encode_id_file({}).size() == format::kIdFileHeaderBytes);
    CHECK(outcome([&] { encode_id_file({std::string(4097, 'x')}); }) == "invalid argument");

    SECTION("every flipped bit of a small file") {
        const auto small = encode_id_file({"ab", "", "c"});
        std::vector<std::string> undetected;
        for (size_t i = 0; i < small.size(); ++i) {
            for (int bit = -1; bit < 8; ++bit) {  // -1: all eight bits
                auto damaged = small;
                damaged[i] ^= bit < 0 ? 0xFF : uint8_t(1u << bit);
                const std::string got = code(damaged);
                const bool version = i >= 8 && i < 12;
                if (!(got == "corruption" || (version && got == "invalid argument"))) {
                    undetected.push_back(numbered("byte ", i) + numbered(" bit ", bit) + ": " +
                                         got);
                }
            }
        }
        CHECK(undetected == std::vector<std::string>{});
    }
    SECTION("every truncation") {
        for (size_t keep = 0; keep < bytes.size(); ++keep) {
            if (code({bytes.data(), keep}) != "corruption") {
                FAIL_CHECK("cut to " << keep << " bytes: not refused as corruption");
                break;
            }
        }
        auto longer = bytes;
        longer.push_back(0);
        CHECK(code(longer) == "corruption");
    }
    SECTION("headers with valid checksums but impossible fields") {
        // Sets a header field and recomputes both checksums, so only the field is wrong.
        auto forged = [](std::vector<uint8_t> b, size_t at, uint64_t value, size_t width) {
            if (width == 4)
                format::store_le<uint32_t>(&b[at], static_cast<uint32_t>(value));
            else
                format::store_le<uint64_t>(&b[at], value);
            format::store_le<uint64_t>(
                &b[32], format::checksum64({b.data() + 48, b.size() - 48}, 0x6964626f6479ULL));
            format::store_le<uint64_t>(&b[40], format::checksum64({b.data(), 40}));
            return b;
        };
        const auto small = encode_id_file({"ab", "", "c"});
        CHECK(code(forged(small, 16, 3, 8)) == "no error");  // the forging itself is sound
        CHECK(code(forged(small, 16, uint64_t(1) << 60, 8)) == "corruption");
        CHECK(code(forged(small, 16, UINT64_MAX, 8)) == "corruption");
        CHECK(code(forged(small, 16, 4, 8)) == "corruption");
        CHECK(code(forged(small, 16, 2, 8)) == "corruption");  // bytes after the last id
        CHECK(code(forged(small, 8, 2, 4)) == "invalid argument");
        CHECK(code(forged(small, 8, 0, 4)) == "invalid argument");
        // The message every file kind gives a version it does not read (Error::version_mismatch).
        CHECK_THROWS_WITH(decode_id_file(forged(small, 8, 2, 4), "test"),
                          "invalid argument: id file 'test' has format version 2; this build "
                          "reads version 1");
        CHECK(code(forged(small, 12, 1, 4)) == "corruption");
        CHECK(code(forged(small, 24, 100, 8)) == "corruption");
        CHECK(code(forged(small, 48, 0xFFFFFFFF, 4)) == "corruption");  // first length
        CHECK(code(forged(small, 48, 7, 4)) == "corruption");

        // 2^60 entries claimed by a body of 2^60/4 bytes' worth of nothing: refused, no
        // allocation; an id of 4097 bytes is refused though the body holds it.
        std::vector<uint8_t> big(format::kIdFileHeaderBytes + 4 + 4097, 'x');
        std::copy(format::kIdFileMagic.begin(), format::kIdFileMagic.end(), big.begin());
        format::store_le<uint32_t>(&big[8], 1);
        format::store_le<uint32_t>(&big[12], 0);
        format::store_le<uint64_t>(&big[24], big.size() - 48);
        format::store_le<uint32_t>(&big[48], 4097);
        CHECK(code(forged(big, 16, 1, 8)) == "corruption");
        CHECK(code(forged(big, 16, uint64_t(1) << 60, 8)) == "corruption");
        CHECK(code(forged(forged(big, 16, 1, 8), 48, 4096, 4)) == "corruption");  // 1 byte over
        auto exact = big;
        exact.pop_back();
        exact = forged(forged(forged(exact, 24, exact.size() - 48, 8), 48, 4096, 4), 16, 1, 8);
        CHECK(code(exact) == "no error");
        CHECK(decode_id_file(exact, "test") == std::vector<std::string>{std::string(4096, 'x')});
    }
}

// ---- 6. CommitBuilder::put() ----------------------------------------------------------------

TEST_CASE("put() states the whole set and the commit follows from the parent", "[pack]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {4});
    store->create_domain("cos", {4, Metric::kCosine});
    const std::vector<float> va = {1, 2, 3, 4}, vb = {0, 1, 0, 1}, vc = {5, 5, 5, 5},
                             vd = {-1, 0, 2, 0}, vb2 = {0, 1, 0, 2}, ve = {9, 8, 7, 6};
    for (const char* domain : {"d", "cos"}) {
        auto b = store->begin_commit(domain, "c1", std::nullopt);
        b.insert("a", va);
        b.insert("b", vb);
        b.insert("c", vc);
        b.insert("d", vd);
        b.finish();
    }

    SECTION("same, changed, new and omitted ids") {
        auto b = store->begin_commit("d", "c2", "c1");
        b.put("a", va);
        b.put("b", vb2);
        b.put("e", ve);
        const CommitInfo info = b.finish();
        CHECK(info.inserted == 1);
        CHECK(info.deleted == 2);
        CHECK(info.replaced == 1);
        CHECK(info.live_count == 3);
        const auto s = store->open_commit("d", "c2");
        CHECK(s->ids() == std::vector<std::string>{"a", "b", "e"});
        CHECK(s->vector("a") == va);
        CHECK(s->vector("b") == vb2);
        CHECK(s->vector("e") == ve);
        CHECK_FALSE(s->contains("c"));
        CHECK_FALSE(s->contains("d"));
        CHECK(s->search(vb2, 1)[0] == SearchHit{"b", 0.0f});
        // The parent is untouched.
        CHECK(store->open_commit("d", "c1")->ids() == std::vector<std::string>{"a", "b", "c", "d"});
        CHECK(store->open_commit("d", "c1")->vector("b") == vb);

        // The same set again: nothing changes.
        auto b3 = store->begin_commit("d", "c3", "c2");
        b3.put("e", ve);
        b3.put("b", vb2);
        b3.put("a", va);
        const CommitInfo same = b3.finish();
        CHECK(same.inserted == 0);
        CHECK(same.deleted == 0);
        CHECK(same.replaced == 0);
        CHECK(store->open_commit("d", "c3")->ids() == std::vector<std::string>{"a", "b", "e"});
    }
    SECTION("cosine compares normalized vectors") {
        std::vector<float> a2 = va, b_other = vb;
        for (float& x : a2)
            x *= 2;
        b_other[0] = 1;
        auto b = store->begin_commit("cos", "c2", "c1");
        b.put("a", a2);
        b.put("b", b_other);
        b.put("c", vc);
        b.put("d", vd);
        const CommitInfo info = b.finish();
        CHECK(info.inserted == 0);
        CHECK(info.deleted == 0);
        CHECK(info.replaced == 1);
        const auto s = store->open_commit("cos", "c2");
        CHECK(s->vector("a") == store->open_commit("cos", "c1")->vector("a"));
        CHECK(s->vector("b") != store->open_commit("cos", "c1")->vector("b"));
    }
    SECTION("an id put twice is refused") {
        for (const auto& [id, first, second] :
             std::vector<std::tuple<std::string, std::vector<float>, std::vector<float>>>{
                 {"a", va, va},     // unchanged, then again
                 {"a", va, vb},     // unchanged, then changed
                 {"b", vb2, vb2},   // changed, then again
                 {"b", vb2, vb},    // changed, then as it was
                 {"e", ve, ve},     // new, then again
                 {"e", ve, va}}) {  // new, then other
            INFO("id " << id);
            auto b = store->begin_commit("d", "c2", "c1");
            b.put(id, first);
            // Init-captures: clang 14 cannot capture a structured binding itself.
            CHECK(outcome([&, &id = id, &second = second] { b.put(id, second); }) ==
                  "invalid argument");
        }
        CHECK(store->commits("d").size() == 1);
    }
    SECTION("put() and insert/remove/replace do not mix") {
        for (int order = 0; order < 6; ++order) {
            INFO("order " << order);
            auto b = store->begin_commit("d", "c2", "c1");
            switch (order) {
                case 0:
                    b.put("a", va);
                    CHECK(outcome([&] { b.insert("f", ve); }) == "invalid argument");
                    break;
                case 1:
                    b.put("a", va);
                    CHECK(outcome([&] { b.remove("c"); }) == "invalid argument");
                    break;
                case 2:
                    b.put("b", vb2);
                    CHECK(outcome([&] { b.replace("a", ve); }) == "invalid argument");
                    break;
                case 3:
                    b.insert("f", ve);
                    CHECK(outcome([&] { b.put("a", va); }) == "invalid argument");
                    break;
                case 4:
                    b.remove("c");
                    CHECK(outcome([&] { b.put("a", va); }) == "invalid argument");
                    break;
                case 5:
                    b.replace("a", ve);
                    CHECK(outcome([&] { b.put("g", va); }) == "invalid argument");
                    break;
            }
        }
        CHECK(store->commits("d").size() == 1);
    }
    SECTION("put() checks vectors as insert() does") {
        auto b = store->begin_commit("cos", "c2", "c1");
        CHECK(outcome([&] { b.put("a", std::vector<float>{1, 2, 3}); }) == "invalid argument");
        CHECK(outcome([&] { b.put("z", std::vector<float>{0, 0, 0, 0}); }) == "invalid argument");
        CHECK(outcome([&] { b.put("", va); }) == "invalid argument");
        CHECK(outcome([&] {
                  b.put("n", std::vector<float>{1, std::numeric_limits<float>::quiet_NaN(), 0, 0});
              }) == "invalid argument");
    }
    SECTION("an empty snapshot deletes every id of the parent (fix: it committed the parent)") {
        auto b = store->begin_commit("d", "empty", "c1");
        b.begin_snapshot();
        const CommitInfo info = b.finish();
        CHECK(info.inserted == 0);
        CHECK(info.deleted == 4);
        CHECK(info.replaced == 0);
        CHECK(info.live_count == 0);
        const auto s = store->open_commit("d", "empty");
        CHECK(s->size() == 0);
        CHECK(s->ids().empty());
        CHECK(s->search(va, 3).empty());
        CHECK(s->search_exact(va, 3).empty());
        CHECK(store->open_commit("d", "c1")->size() == 4);
        // The set refilled on top of the empty one, and an empty snapshot of the empty set.
        auto refill = store->begin_commit("d", "refilled", "empty");
        refill.put("a", va);
        CHECK(refill.finish().inserted == 1);
        CHECK(store->open_commit("d", "refilled")->search(va, 3) ==
              std::vector<SearchHit>{{"a", 0.0f}});
        auto again = store->begin_commit("d", "empty-again", "empty");
        again.begin_snapshot();
        const CommitInfo nothing = again.finish();
        CHECK(nothing.deleted == 0);
        CHECK(nothing.live_count == 0);
        // A snapshot declared, then an operation: the modes do not mix.
        auto mixed = store->begin_commit("d", "mixed", "c1");
        mixed.begin_snapshot();
        CHECK(outcome([&] { mixed.remove("a"); }) == "invalid argument");
    }
    SECTION("put() on a root commit inserts everything") {
        auto b = store->begin_commit("d", "r", std::nullopt);
        b.put("x", va);
        b.put("y", vb);
        CHECK(outcome([&] { b.put("x", va); }) == "invalid argument");
        const CommitInfo info = b.finish();
        CHECK(info.inserted == 2);
        CHECK(info.deleted == 0);
        CHECK(info.replaced == 0);
        CHECK_FALSE(info.parent.has_value());
        const auto s = store->open_commit("d", "r");
        CHECK(s->ids() == std::vector<std::string>{"x", "y"});
        CHECK(s->vector("y") == vb);
    }
}

// ---- found by these tests and fixed ---------------------------------------------------------

// archive_read_next_header() returns ARCHIVE_RETRY (-10, above ARCHIVE_WARN) for a tar header
// whose checksum fails, with the entry cleared; that is damage, not a hostile name.
TEST_CASE("a damaged tar header after the config is corruption", "[pack]") {
    TempDir dir;
    const fs::path private_tmp = dir.path() / "tmp";
    ScopedTmpdir tmp(private_tmp);
    auto store = make_store(dir.file("s"), 120);
    {
        const std::string path = dir.file("c2-hdr.tar");
        Pack::write(*store, "d", "c2", path);
        std::string bytes = read_text(path);
        for (const char* name : {"c2-hdr/embeddings", "c2-hdr/vectors", "c2-hdr/ids"}) {
            INFO("damaged header of " << name);
            const size_t at = bytes.find(name);
            REQUIRE(at != std::string::npos);
            REQUIRE(at % 512 == 0);
            std::string damaged = bytes;
            damaged[at + 8] ^= 0x01;  // in the name field, covered by the header checksum
            write_text(dir.file("damaged.tar"), damaged);
            INFO(message_of([&] { Pack::open(dir.file("damaged.tar")); }));
            CHECK(outcome([&] { Pack::open(dir.file("damaged.tar")); }) == "corruption");
            CHECK(pack_temp_dirs() == 0);
            CHECK(listing(private_tmp).empty());
        }
    }
}

// spec/pack.md allows "one directory entry for the enclosing directory": not two, and not one
// beside members at the root, which it would not enclose.
TEST_CASE("only one directory entry, for the enclosing directory, is allowed", "[pack]") {
    TempDir dir;
    const fs::path private_tmp = dir.path() / "tmp";
    ScopedTmpdir tmp(private_tmp);
    auto store = make_store(dir.file("s"), 120);
    Pack::write(*store, "d", "c2", dir.file("good"));
    const Members m = read_members(dir.file("good"));
    auto twice = good_entries(m, "p");
    twice.insert(twice.begin(), special_entry("p", AE_IFDIR));
    twice.insert(twice.begin(), special_entry("p", AE_IFDIR));
    auto beside = good_entries(m, "");
    beside.push_back(special_entry("p", AE_IFDIR));
    for (const auto& [what, es] : std::vector<std::pair<const char*, std::vector<TarEntry>>>{
             {"two directory entries for the top directory", twice},
             {"a directory entry beside members at the root", beside}}) {
        INFO(what);
        write_tar(dir.file("dirs.tar"), es, false);
        CHECK(outcome([&] { Pack::open(dir.file("dirs.tar")); }) == "invalid argument");
        CHECK(listing(private_tmp).empty());
    }
}

// spec/pack.md: "Readers require every field listed here with the type given".
TEST_CASE("a pack config needs backend, system, created and updated", "[pack]") {
    TempDir dir;
    auto store = make_store(dir.file("s"), 120);
    Pack::write(*store, "d", "c2", dir.file("good"));
    CHECK(config_not_refused(dir.file("good"), dir.file("work"),
                             {"backend", "system", "created", "updated"},
                             {{"backend", "7"}, {"created", "7"}, {"updated", "7"}}) ==
          std::vector<std::string>{});
}

// A member may not be larger than a pack of its counts can be, so that an archive cannot make
// a reader write more than that (a small, highly compressed stream of zeros, say).
TEST_CASE("a config giving a member more bytes than its counts allow is refused", "[pack]") {
    TempDir dir;
    const fs::path private_tmp = dir.path() / "tmp";
    ScopedTmpdir tmp(private_tmp);
    auto store = make_store(dir.file("s"), 120);
    Pack::write(*store, "d", "c2", dir.file("good"));
    const Members m = read_members(dir.file("good"));
    std::string config = read_text(member_path(dir.file("good"), kPackConfigName));
    const std::string key = "\"vectors\": {\n      \"bytes\": ";
    const size_t at = config.find(key);
    REQUIRE(at != std::string::npos);
    const size_t end = config.find(',', at);
    config.replace(at + key.size(), end - at - key.size(), "1000000000000");
    write_text(member_path(dir.file("good"), kPackConfigName), config);
    const std::string message = message_of([&] { Pack::open(dir.file("good")); });
    CHECK(message.find("larger than a pack of") != std::string::npos);
    CHECK(outcome([&] { Pack::open(dir.file("good")); }) == "corruption");
    // In an archive the refusal comes before any member is extracted.
    auto entries = good_entries(m, "p");
    entries[0].data = config;
    write_tar(dir.file("big.tar.xz"), entries, true);
    CHECK(outcome([&] { Pack::open(dir.file("big.tar.xz")); }) == "corruption");
    CHECK(listing(private_tmp).empty());
}

TEST_CASE("fix: a pack directory with a file that is not a member is refused, naming it",
          "[pack]") {
    TempDir dir;
    auto store = make_store(dir.file("s"), 120);
    const std::string good = dir.file("good");
    Pack::write(*store, "d", "c2", good);
    REQUIRE(outcome([&] { Pack::open(good); }) == "no error");
    const std::string work = dir.file("work");
    for (const char* extra : {"notes.txt", ".hidden", "embeddings.old", "catalog-lock"}) {
        INFO(extra);
        copy_pack(good, work);
        write_text(path_in(work, extra), "x");
        CHECK(outcome([&] { Pack::open(work); }) == "corruption");
        const std::string message = message_of([&] { Pack::open(work); });
        CHECK(message.find(std::string("holds '") + extra + "', which is not a pack member") !=
              std::string::npos);
    }
    // A directory is an entry too, and the first foreign name in byte order is the one named.
    copy_pack(good, work);
    fs::create_directory(path_in(work, "zz"));
    write_text(path_in(work, "aa"), "x");
    CHECK(message_of([&] { Pack::open(work); }).find("holds 'aa'") != std::string::npos);
    copy_pack(good, work);
    fs::create_directory(path_in(work, "sub"));
    CHECK(outcome([&] { Pack::open(work); }) == "corruption");
}

TEST_CASE(
    "fix: a pack's embeddings may be as long as the longest full graph file the format "
    "allows, and no longer",
    "[pack]") {
    TempDir dir;
    auto store = make_store(dir.file("s"), 120);
    const std::string good = dir.file("good");
    Pack::write(*store, "d", "c2", good);
    const std::string config = read_text(member_path(good, kPackConfigName));
    const PackConfig parsed = Pack::open(good)->config();
    const uint64_t nodes = parsed.commit.live_count + parsed.commit.tombstone_count;
    const uint32_t m = parsed.domain.m;
    // Every node at level 64 (graph-file.md allows U up to 64 N), the longest header.
    const uint64_t longest = format::max_full_graph_bytes(nodes, m);
    CHECK(longest == 1849 + nodes * (282 + 264 * uint64_t(m)));
    const std::string work = dir.file("work");
    auto open_with_bytes = [&](uint64_t bytes) {
        copy_pack(good, work);
        write_text(member_path(work, kPackConfigName),
                   with_field(config, "bytes", std::to_string(bytes), "\"embeddings\""));
        return message_of([&] { Pack::open(work); });
    };
    // Within the limit the config is accepted, and the member then fails its recorded size.
    CHECK(open_with_bytes(longest).find("does not match the size and checksum") !=
          std::string::npos);
    CHECK(open_with_bytes(longest + 1).find("'embeddings' is larger than a pack of") !=
          std::string::npos);
    // An M the graph format does not allow is refused before any size is computed from it.
    for (const char* bad_m : {"1", "2049", "4294967295"}) {
        INFO("m " << bad_m);
        copy_pack(good, work);
        write_text(member_path(work, kPackConfigName), with_field(config, "m", bad_m));
        CHECK(outcome([&] { Pack::open(work); }) == "corruption");
        CHECK(message_of([&] { Pack::open(work); }).find("build.m out of range") !=
              std::string::npos);
    }
}

TEST_CASE(
    "fix: exact search breaks ties by node ordinal, so a pack answers ties as its commit "
    "does",
    "[pack][search]") {
    TempDir dir;
    auto store = Store::create(dir.file("s"));
    store->create_domain("d", {kDim});
    const auto data = test::random_vectors(6, kDim, 41);
    {
        auto b = store->begin_commit("d", "c1", std::nullopt);
        for (uint64_t i = 0; i < 5; ++i)
            b.insert(numbered("v", i), row(data, i, kDim));  // v0 has key 0, v1 key 1
        b.finish();
    }
    {
        // v0 becomes a copy of v1: a new node after v1's, with the smaller key.
        auto b = store->begin_commit("d", "c2", "c1");
        b.replace(numbered("v", 0), row(data, 1, kDim));
        b.finish();
    }
    Pack::write(*store, "d", "c2", dir.file("p"));
    const auto pack = Pack::open(dir.file("p"));
    const auto commit = store->open_commit("d", "c2");
    const auto query = row(data, 1, kDim);
    const auto from_store = commit->search_exact(query, 2);
    REQUIRE(from_store.size() == 2);
    CHECK(from_store[0].distance == from_store[1].distance);
    // v1's node comes first in both: the tie goes to the smaller ordinal, not the smaller key.
    CHECK(from_store[0].id == numbered("v", 1));
    CHECK(from_store[1].id == numbered("v", 0));
    CHECK(pack->snapshot()->search_exact(query, 2) == from_store);
    CHECK(pack->snapshot()->search(query, 2) == commit->search(query, 2));
    CHECK(pack->snapshot()->search(query, 5) == commit->search(query, 5));
}

// ---- the extraction bound (issue 15, defect 3) ----------------------------------------------

namespace {

// A config as forged for a decompression bomb: counts that allow a `vectors` member of
// `vector_bytes`, and that size and its checksum, so that every rule of the config holds.
std::string forged_config(const std::string& config, uint64_t vector_bytes,
                          uint64_t vector_checksum) {
    const std::string after = "\"vectors\": {";
    std::string forged = with_field(config, "count", "100000000");
    forged = with_field(forged, "bytes", std::to_string(vector_bytes), after);
    // (Built piecewise: g++ 12 warns falsely on a chain of string concatenations.)
    std::string quoted = "\"";
    quoted += hex64(vector_checksum);
    quoted += '"';
    return with_field(forged, "xxh3", quoted, after);
}

}  // namespace

TEST_CASE(
    "extraction bound fix: a forged archive is refused once it passes the bound, and "
    "leaves nothing",
    "[pack]") {
    TempDir dir;
    const fs::path private_tmp = dir.path() / "tmp";
    ScopedTmpdir tmp(private_tmp);
    auto store = make_store(dir.file("s"), 120);
    Pack::write(*store, "d", "c2", dir.file("good"));
    const Members m = read_members(dir.file("good"));

    // 4 MiB of zeros under a self-consistent config: the xz archive is a few kilobytes.
    const std::string zeros(4 << 20, '\0');
    auto entries = good_entries(m, "p");
    entries[0].data = forged_config(
        m.config, zeros.size(),
        format::checksum64({reinterpret_cast<const uint8_t*>(zeros.data()), zeros.size()}));
    entries[2].data = zeros;
    const std::string bomb = dir.file("bomb.tar.xz");
    write_tar(bomb, entries, true);
    REQUIRE(fs::file_size(bomb) < 64 * 1024);

    PackOpenOptions bounded;
    bounded.max_extracted_bytes = 1 << 20;
    const std::string message = message_of([&] { Pack::open(bomb, {}, bounded); });
    CHECK(outcome([&] { Pack::open(bomb, {}, bounded); }) == "invalid argument");
    CHECK(message.find(bomb) != std::string::npos);
    CHECK(message.find("'vectors'") != std::string::npos);
    CHECK(message.find("bound of 1048576 bytes") != std::string::npos);
    CHECK(listing(private_tmp).empty());

    // With the bound raised past what it claims, it is extracted, and its checksum (of the
    // zeros it really holds) matches: the graph and the vectors then disagree.
    bounded.max_extracted_bytes = 64 << 20;
    CHECK(outcome([&] { Pack::open(bomb, {}, bounded); }) == "corruption");
    CHECK(listing(private_tmp).empty());

    // The bound is of the bytes extracted, config included: exactly enough opens; one byte
    // less is refused after the config, naming the member that passes it.
    const std::string good = dir.file("good.tar.xz");
    write_tar(good, good_entries(m, "p"), true);
    const uint64_t total = m.config.size() + m.embeddings.size() + m.vectors.size() + m.ids.size();
    bounded.max_extracted_bytes = total;
    CHECK(Pack::open(good, {}, bounded)->snapshot()->size() == 120);
    bounded.max_extracted_bytes = total - 1;
    const std::string last = message_of([&] { Pack::open(good, {}, bounded); });
    CHECK(last.find("'ids'") != std::string::npos);
    CHECK(outcome([&] { Pack::open(good, {}, bounded); }) == "invalid argument");
    CHECK(listing(private_tmp).empty());
}

TEST_CASE("extraction bound fix: the default is max(256 MiB, 64 times the archive's size)",
          "[pack]") {
    CHECK(kPackExtractionFloorBytes == uint64_t(256) << 20);
    CHECK(kPackExtractionRatio == 64);
    CHECK(default_pack_extraction_bound(0) == uint64_t(256) << 20);
    CHECK(default_pack_extraction_bound(100'000) == uint64_t(256) << 20);
    CHECK(default_pack_extraction_bound(uint64_t(4) << 20) == uint64_t(256) << 20);
    CHECK(default_pack_extraction_bound((uint64_t(4) << 20) + 1) == (uint64_t(256) << 20) + 64);
    CHECK(default_pack_extraction_bound(uint64_t(10) << 30) == uint64_t(640) << 30);
    CHECK(default_pack_extraction_bound(UINT64_MAX / 2) == UINT64_MAX);

    // A small archive whose config claims 300 MiB of vectors is refused by the default bound
    // right after its config, before anything else is extracted (no vector bytes are needed).
    TempDir dir;
    const fs::path private_tmp = dir.path() / "tmp";
    ScopedTmpdir tmp(private_tmp);
    auto store = make_store(dir.file("s"), 120);
    Pack::write(*store, "d", "c2", dir.file("good"));
    const Members m = read_members(dir.file("good"));
    const std::string archive = dir.file("claims.tar.xz");
    write_tar(archive, {file_entry("p/config", forged_config(m.config, uint64_t(300) << 20, 0))},
              true);
    const std::string message = message_of([&] { Pack::open(archive); });
    CHECK(outcome([&] { Pack::open(archive); }) == "invalid argument");
    CHECK(message.find(archive) != std::string::npos);
    CHECK(message.find("'vectors' 314572800 bytes") != std::string::npos);
    CHECK(message.find("bound of 268435456 bytes") != std::string::npos);
    CHECK(listing(private_tmp).empty());
}

// ---- stale staging directories (issue 15, defect 8) -----------------------------------------

namespace {

// The staging directories of pack writers in `dir`.
std::set<std::string> staging_dirs(const fs::path& dir) {
    std::set<std::string> names;
    for (const std::string& name : listing(dir)) {
        if (name.rfind(".vstore-pack-staging-", 0) == 0)
            names.insert(name);
    }
    return names;
}

uint64_t tree_size(const fs::path& dir) {
    uint64_t bytes = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file())
            bytes += e.file_size();
    }
    return bytes;
}

}  // namespace

TEST_CASE(
    "stale staging fix: the next pack writer removes what killed writers left beside its "
    "output, and never a live writer's",
    "[pack]") {
    TempDir dir;
    const std::string store_dir = dir.file("s");
    make_store(store_dir, 300);  // closed again: no store is open when the test forks
    const fs::path out = dir.path() / "out";
    fs::create_directories(out);

    // A live writer, stopped while it stages: a child held in its progress callback.
    int ready[2], never[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(never) == 0);
    const pid_t live = ::fork();
    REQUIRE(live >= 0);
    if (live == 0) {
        try {
            auto store = Store::open(store_dir);
            PackWriteOptions o;
            bool told = false;
            o.progress = [&](double) {
                if (told)
                    return;
                told = true;
                [[maybe_unused]] auto n = ::write(ready[1], "x", 1);
                char c;
                n = ::read(never[0], &c, 1);  // until killed
            };
            Pack::write(*store, "d", "c2", path_in(out, "live.tar.zst"), o);
        } catch (...) {
        }
        ::_exit(2);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    const std::set<std::string> live_dirs = staging_dirs(out);
    REQUIRE(live_dirs.size() == 1);
    CHECK(live_dirs.begin()->rfind(".vstore-pack-staging-" + std::to_string(live) + "-", 0) == 0);

    // A writer killed with every member staged, twice: a directory, then an archive. The
    // second, as the next writer there, removes what the first left.
    std::set<std::string> stale;
    for (const char* name : {"killed", "killed.tar.xz"}) {
        pid_t killed = 0;
        REQUIRE(test::killed_at(
            "pack-staged",
            [&] { Pack::write(*Store::open(store_dir), "d", "c2", path_in(out, name)); }, &killed));
        stale = staging_dirs(out);
        for (const auto& live_dir : live_dirs)
            stale.erase(live_dir);
        REQUIRE(stale.size() == 1);
        CHECK(stale.begin()->rfind(".vstore-pack-staging-" + std::to_string(killed) + "-", 0) == 0);
    }
    const uint64_t stale_bytes = tree_size(out / *stale.begin());
    CHECK(stale_bytes > 0);

    // The next writer removes the killed writer's directory, and only that.
    std::vector<CrashLeftovers> reports;
    PackWriteOptions o;
    o.on_crash_leftovers = [&](const CrashLeftovers& r) { reports.push_back(r); };
    {
        auto store = Store::open(store_dir);
        Pack::write(*store, "d", "c2", path_in(out, "next.tar.zst"), o);
        REQUIRE(reports.size() == 1);
        CHECK(reports[0].dir == out.string());
        CHECK(reports[0].names == std::vector<std::string>(stale.begin(), stale.end()));
        CHECK(reports[0].bytes == stale_bytes);
        CHECK(staging_dirs(out) == live_dirs);
        CHECK(listing(out) == std::set<std::string>{*live_dirs.begin(), "next.tar.zst"});
        // Nothing stale: nothing said.
        Pack::write(*store, "d", "c2", path_in(out, "again"), o);
        CHECK(reports.size() == 1);
    }

    // Once the live writer is killed too, its directory goes with the next write.
    ::kill(live, SIGKILL);
    ::waitpid(live, nullptr, 0);
    for (int fd : {ready[0], ready[1], never[0], never[1]})
        ::close(fd);
    {
        auto store = Store::open(store_dir);
        Pack::write(*store, "d", "c2", path_in(out, "last.tar"), o);
    }
    REQUIRE(reports.size() == 2);
    CHECK(reports[1].names == std::vector<std::string>(live_dirs.begin(), live_dirs.end()));
    CHECK(listing(out) == std::set<std::string>{"next.tar.zst", "again", "last.tar"});
    CHECK(Pack::open(path_in(out, "next.tar.zst"))->snapshot()->size() ==
          Pack::open(path_in(out, "last.tar"))->snapshot()->size());
}
