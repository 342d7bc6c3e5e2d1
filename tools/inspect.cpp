// `vstore inspect`: recognises what it is given and describes it. Vector files, stores and
// packs are here; graph files are in inspect_graph.cpp.
#include "inspect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <string_view>
#include <vector>

#include "inspect_common.h"
#include "json_output.h"
#include "progress.h"
#include "text.h"
#include "vstore/catalog.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/format/vector_file_format.h"
#include "vstore/pack.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

namespace vstore::cli {
namespace inspecting {

void print_table(std::ostream& out, const std::string& indent,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right_aligned) {
    std::vector<size_t> widths(right_aligned.size(), 0);
    for (const auto& r : rows) {
        for (size_t c = 0; c < r.size(); ++c)
            widths[c] = std::max(widths[c], r[c].size());
    }
    for (const auto& r : rows) {
        std::string line = indent;
        for (size_t c = 0; c < r.size(); ++c) {
            const std::string pad(widths[c] - r[c].size(), ' ');
            line += right_aligned[c] ? pad + r[c] : r[c] + pad;
            if (c + 1 < r.size())
                line += "  ";
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out << line << '\n';
    }
}

}  // namespace inspecting

namespace {

using namespace inspecting;

// A store is a directory holding this file (spec/store-layout.md).
constexpr const char* kCatalogFileName = "catalog";

// The first bytes of a file, for recognising its kind: enough for any magic and the graph
// file's version.
std::vector<uint8_t> read_start(const std::string& path) {
    std::vector<uint8_t> start(12, 0);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error::not_found("'" + path + "' does not exist or cannot be read");
    in.read(reinterpret_cast<char*>(start.data()), static_cast<std::streamsize>(start.size()));
    start.resize(static_cast<size_t>(in.gcount()));
    return start;
}

// ---- Vector files -------------------------------------------------------------------------

json describe_vector_file(const VectorFile& f) {
    const auto& l = f.layout();
    const auto& h = f.header();
    const uint64_t count = f.size();
    return json{
        {"kind", "vector file"},
        {"path", f.path()},
        {"format_version", h.version},
        {"domain", h.domain},
        {"element_type", "float32"},
        {"dimension", l.dimension},
        {"vector_bytes", l.vector_bytes},
        {"page_bytes", l.page_bytes},
        {"vectors_per_page", l.vectors_per_page},
        {"padding_bytes", l.padding_bytes()},
        {"page_waste", l.page_waste()},
        {"pages_per_group", l.pages_per_group},
        {"vectors_per_group", l.vectors_per_group},
        {"group_overhead", l.group_overhead()},
        {"count", count},
        {"pages", l.pages_for(count)},
        {"commit_sequence", f.commit_sequence()},
        {"created", iso_time(h.created_unix_ms)},
        {"file_id", hex64(h.file_id)},
    };
}

json describe_report(const VectorFileReport& r) {
    json problems = json::array();
    for (const auto& p : r.problems)
        problems.push_back({{"where", p.where}, {"what", p.what}});
    return json{{"ok", r.ok()},
                {"file_bytes", r.file_bytes},
                {"tail_bytes", r.tail_bytes},
                {"pages_checked", r.pages_checked},
                {"vectors_checked", r.vectors_checked},
                {"problems", problems}};
}

Description describe_vector_file_at(const std::string& path, const InspectOptions& options) {
    const auto file = VectorFile::open(path);
    Description d{describe_vector_file(*file), {}};
    if (options.verify) {
        const auto report = file->verify();
        d.doc["verify"] = describe_report(report);
        for (const auto& p : report.problems)
            d.problems.push_back({p.where, p.what});
    }
    return d;
}

void print_vector_file(const json& d, std::ostream& out) {
    auto row = [&](const char* label, const std::string& value) {
        inspecting::row(out, label, value);
    };
    row("kind", "vector file (format version " + d["format_version"].dump() + ")");
    row("path", d["path"].get<std::string>());
    row("domain", d["domain"].get<std::string>());
    row("element type", d["element_type"].get<std::string>());
    row("dimension", d["dimension"].dump() + " (" + d["vector_bytes"].dump() + " bytes a vector)");
    row("page", d["page_bytes"].dump() + " bytes (" +
                    std::to_string(d["page_bytes"].get<uint32_t>() / format::kOsPageBytes) +
                    " OS pages), " + d["vectors_per_page"].dump() + " vectors, " +
                    d["padding_bytes"].dump() + " bytes padding (" +
                    percent(d["page_waste"].get<double>()) + " waste)");
    row("group", "1 checksum page + " + d["pages_per_group"].dump() +
                     " data pages = " + d["vectors_per_group"].dump() + " vectors (" +
                     percent(d["group_overhead"].get<double>()) + " overhead)");
    row("vectors", d["count"].dump());
    row("data pages", d["pages"].dump());
    row("commit seq", d["commit_sequence"].dump());
    row("created", d["created"].get<std::string>());
    row("file id", d["file_id"].get<std::string>());
    if (d.contains("verify")) {
        const json& v = d["verify"];
        row("file size", v["file_bytes"].dump() + " bytes");
        row("torn tail", v["tail_bytes"].dump() + " bytes (ignored)");
        row("verify", (v["ok"].get<bool>() ? std::string("ok") : std::string("FAILED")) + ": " +
                          v["pages_checked"].dump() + " pages, " + v["vectors_checked"].dump() +
                          " vectors checked");
        print_problems(v, out);
    }
}

// ---- Stores -------------------------------------------------------------------------------

json describe_commit(const CommitInfo& c) {
    json chain = json::array();
    for (const GraphFileRef& ref : c.graph_chain)
        chain.push_back(
            {{"file", ref.name}, {"bytes", ref.bytes}, {"checksum", hex64(ref.checksum)}});
    return json{
        {"commit", c.commit},
        {"parent", c.parent ? json(*c.parent) : json(nullptr)},
        {"parent_dropped", c.parent_dropped},
        {"created", iso_time(c.created_unix_ms)},
        {"live", c.live_count},
        {"tombstones", c.tombstone_count},
        {"inserted", c.inserted},
        {"deleted", c.deleted},
        {"replaced", c.replaced},
        {"vector_count", c.vector_count},
        {"graph_file", c.graph_file},
        {"graph_bytes", c.graph_bytes},
        {"graph_checksum", hex64(c.graph_checksum)},
        {"graph_kind", std::string(format::graph_kind_name(c.graph_kind))},
        {"graph_format", c.graph_format},
        {"chain_depth", c.graph_chain.empty() ? 0 : c.graph_chain.size() - 1},
        {"graph_chain", chain},
        {"graph_owner", c.graph_owner ? json(*c.graph_owner) : json(nullptr)},
        {"graph_owner_dropped", c.owner_dropped},
        {"compacted", c.compacted},
    };
}

// Commits in the order they were made (a parent is always older than its children), which
// reads better than the catalog's order by name.
std::vector<CommitInfo> commits_oldest_first(const Store& store, const std::string& domain) {
    auto commits = store.commits(domain);
    std::stable_sort(commits.begin(), commits.end(), [](const CommitInfo& a, const CommitInfo& b) {
        return a.created_unix_ms < b.created_unix_ms;
    });
    return commits;
}

// --verify of one commit: Store::verify_graph reads every byte of the commit's graph chain
// (each file against the catalog's length and checksum, every section and rule of the full
// file at the root, each delta applied to its base); then the commit is loaded and its graph
// walked. A commit whose files fail is reported once, by the first check.
void verify_commit(Store& store, const DomainInfo& domain, const CommitInfo& commit,
                   std::vector<Problem>& problems) {
    const std::string where = "domain '" + domain.name + "', commit '" + commit.commit + "'";
    try {
        store.verify_graph(domain.name, commit.commit);
        const auto snapshot = store.open_commit(domain.name, commit.commit);
        const GraphCheck check = snapshot->check_graph();
        if (check.unreachable_live != 0) {
            problems.push_back({where, count_of(check.unreachable_live, "live node") +
                                           " not reachable from the entry point in layer 0"});
        }
        if (check.links_to_removed != 0) {
            problems.push_back(
                {where, count_of(check.links_to_removed, "link") + " to a removed node"});
        }
        if (snapshot->size() != commit.live_count) {
            problems.push_back({where, "graph file '" + commit.graph_file + "' holds " +
                                           std::to_string(snapshot->size()) +
                                           " live items; the catalog records " +
                                           std::to_string(commit.live_count)});
        }
    } catch (const Error& e) {
        problems.push_back({where, e.what()});
    }
}

// --verify of a domain beyond each file on its own: Store::verify_consistency cross-checks
// the catalog's records, the vector file and the graph files (spec/consistency.md). What it
// could not read at all, verify_commit and the vector file's verify report already.
void cross_check_domain(const Store& store, const DomainInfo& domain,
                        std::vector<Problem>& problems, uint64_t& entries_checked) {
    try {
        const ConsistencyReport report = store.verify_consistency(domain.name);
        entries_checked += report.vector_entries_checked;
        for (const ConsistencyProblem& p : report.problems) {
            std::string where = "domain '" + p.domain + "'";
            if (!p.commit.empty())
                where += ", commit '" + p.commit + "'";
            problems.push_back({std::move(where), p.invariant + ": " + p.what});
        }
    } catch (const Error& e) {
        problems.push_back({"domain '" + domain.name + "'", e.what()});
    }
}

// The graph files of a store by kind, each file once however many commits share it.
struct GraphFileTotals {
    struct Kind {
        uint64_t files = 0, bytes = 0;
    };
    Kind full, delta, v1;
    uint64_t shared_commits = 0;
    std::set<std::string> seen;

    void add(const CommitInfo& c) {
        if (c.graph_owner)
            ++shared_commits;
        if (!seen.insert(c.graph_file).second)
            return;
        Kind& k = c.graph_format == format::kGraphFormatV1    ? v1
                  : c.graph_kind == format::GraphKind::kDelta ? delta
                                                              : full;
        ++k.files;
        k.bytes += c.graph_bytes;
    }
    json to_json() const {
        auto kind = [](const Kind& k) { return json{{"files", k.files}, {"bytes", k.bytes}}; };
        return json{{"files", full.files + delta.files + v1.files},
                    {"bytes", full.bytes + delta.bytes + v1.bytes},
                    {"full", kind(full)},
                    {"delta", kind(delta)},
                    {"v1", kind(v1)},
                    {"shared_commits", shared_commits}};
    }
};

Description describe_store(const std::string& dir, const InspectOptions& options) {
    StoreOptions store_options;
    // --verify loads every commit once, in turn: keep one loaded graph at a time.
    store_options.index_pool_commits = 1;
    auto store = Store::open(dir, store_options);

    std::vector<Problem> problems;
    uint64_t vectors_checked = 0, vector_files_checked = 0, commits_checked = 0;
    uint64_t content_entries_checked = 0;
    uint64_t commit_count = 0;
    GraphFileTotals totals;
    json domains = json::array();
    for (const DomainInfo& domain : store->domains()) {
        const std::string vector_path = dir + "/" + domain.vector_file;
        json vectors = nullptr;
        try {
            const auto file = VectorFile::open(vector_path);
            vectors = file->size();
            if (options.verify) {
                const VectorFileReport report = file->verify();
                ++vector_files_checked;
                vectors_checked += report.vectors_checked;
                for (const auto& p : report.problems) {
                    problems.push_back({"domain '" + domain.name + "', vector file '" +
                                            domain.vector_file + "', " + p.where,
                                        p.what});
                }
            }
        } catch (const Error& e) {
            // Without --verify the store cannot be described without its vector file's count;
            // with --verify it is one problem among the others.
            if (!options.verify)
                throw;
            problems.push_back({"domain '" + domain.name + "'", e.what()});
        }

        json commits = json::array();
        for (const CommitInfo& commit : commits_oldest_first(*store, domain.name)) {
            commits.push_back(describe_commit(commit));
            totals.add(commit);
            ++commit_count;
            if (options.verify) {
                verify_commit(*store, domain, commit, problems);
                ++commits_checked;
            }
        }
        if (options.verify)
            cross_check_domain(*store, domain, problems, content_entries_checked);
        domains.push_back({
            {"name", domain.name},
            {"dimension", domain.dimension},
            {"metric", std::string(format::metric_name(domain.metric))},
            {"m", domain.m},
            {"ef_construction", domain.ef_construction},
            {"created", iso_time(domain.created_unix_ms)},
            {"interned_ids", nullptr},  // the catalog's next_key, read below
            {"vector_file", domain.vector_file},
            {"vectors", vectors},
            {"commits", commits},
        });
    }
    // The catalog's count of interned ids, which DomainInfo does not carry. A process may have a
    // catalog open only once, so it is read once the store is closed: a writer may have
    // interned more ids since, never fewer, and domains are never dropped.
    store.reset();
    const auto catalog = Catalog::open(dir, /*create=*/false);
    for (json& domain : domains)
        domain["interned_ids"] = catalog->next_key(domain["name"].get<std::string>());
    json doc{{"kind", "store"},
             {"path", dir},
             {"domain_count", domains.size()},
             {"commit_count", commit_count},
             {"graph_files", totals.to_json()},
             {"domains", domains}};
    if (options.verify) {
        doc["verify"] = {{"ok", problems.empty()},
                         {"vector_files_checked", vector_files_checked},
                         {"vectors_checked", vectors_checked},
                         {"commits_checked", commits_checked},
                         {"content_entries_checked", content_entries_checked},
                         {"problems", problems_json(problems)}};
    }
    return {std::move(doc), std::move(problems)};
}

// "+inserted -deleted ~replaced" of one commit. Appended piece by piece: g++ 12 warns falsely
// (-Wrestrict) about `"+" + std::string&&`.
std::string changes_text(const json& commit) {
    std::string changes = "+";
    changes += text(commit["inserted"]);
    changes += " -";
    changes += text(commit["deleted"]);
    changes += " ~";
    changes += text(commit["replaced"]);
    return changes;
}

// "2 files, 12345 bytes: 1 full (10000 bytes), 1 delta (2345 bytes)"
std::string graph_files_text(const json& g) {
    std::string line =
        count_of(g["files"].get<uint64_t>(), "file") + ", " + text(g["bytes"]) + " bytes";
    std::string kinds;
    for (const char* kind : {"full", "delta", "v1"}) {
        const json& k = g[kind];
        if (k["files"].get<uint64_t>() == 0)
            continue;
        kinds += kinds.empty() ? ": " : ", ";
        kinds += text(k["files"]);
        kinds += std::string_view(kind) == "v1" ? " full of format 1" : std::string(" ") + kind;
        kinds += " (" + text(k["bytes"]) + " bytes)";
    }
    line += kinds;
    const uint64_t shared = g["shared_commits"].get<uint64_t>();
    if (shared != 0)
        line += "; " + count_of(shared, "commit") + " sharing another's graph";
    return line;
}

void print_store(const json& d, std::ostream& out) {
    row(out, "kind", "store");
    row(out, "path", text(d["path"]));
    row(out, "domains", text(d["domain_count"]));
    row(out, "commits", text(d["commit_count"]));
    row(out, "graph files", graph_files_text(d["graph_files"]));
    for (const auto& domain : d["domains"]) {
        out << '\n';
        row(out, "domain", text(domain["name"]));
        row(out, "dimension", text(domain["dimension"]));
        row(out, "metric", text(domain["metric"]));
        row(out, "M", text(domain["m"]));
        row(out, "ef_construction", text(domain["ef_construction"]));
        row(out, "created", text(domain["created"]));
        row(out, "interned ids", text(domain["interned_ids"]));
        row(out, "vector file",
            text(domain["vector_file"]) + " (" +
                (domain["vectors"].is_null() ? std::string("unreadable")
                                             : text(domain["vectors"]) + " vectors") +
                ")");
        const json& commits = domain["commits"];
        if (commits.empty()) {
            row(out, "commits", "none");
            continue;
        }
        row(out, "commits",
            std::to_string(commits.size()) +
                ", oldest first (changes: +inserted -deleted ~replaced; depth: deltas down to "
                "the full graph file):");
        std::vector<std::vector<std::string>> table = {
            {"commit", "parent", "created", "live", "tombstones", "changes", "compacted", "graph",
             "depth", "graph file", "graph bytes", ""}};
        for (const auto& c : commits) {
            std::string kind = text(c["graph_kind"]);
            if (c["graph_format"].get<uint32_t>() == format::kGraphFormatV1)
                kind += " v1";
            std::string parent = c["parent"].is_null() ? "-" : text(c["parent"]);
            if (c["parent_dropped"].get<bool>())
                parent += " (dropped)";
            table.push_back({text(c["commit"]), parent,
                             text(c["created"]), text(c["live"]), text(c["tombstones"]),
                             changes_text(c), c["compacted"].get<bool>() ? "yes" : "no", kind,
                             text(c["chain_depth"]), text(c["graph_file"]), text(c["graph_bytes"]),
                             c["graph_owner"].is_null()
                                 ? std::string()
                                 : "shares the graph of " + text(c["graph_owner"]) +
                                       (c["graph_owner_dropped"].get<bool>() ? " (dropped)"
                                                                             : "")});
        }
        print_table(
            out, "  ", table,
            {false, false, false, true, true, false, false, false, true, false, true, false});
    }
    if (d.contains("verify")) {
        const json& v = d["verify"];
        out << '\n';
        const std::string checked =
            count_of(v["vector_files_checked"].get<uint64_t>(), "vector file") + " (" +
            count_of(v["vectors_checked"].get<uint64_t>(), "vector") + ") and " +
            count_of(v["commits_checked"].get<uint64_t>(), "commit") + " checked";
        if (v["ok"].get<bool>()) {
            row(out, "verify",
                "ok: " + checked +
                    "; every graph file matches its catalog checksum, every full file its "
                    "sections and rules, every delta applies to its base, every graph "
                    "reaches every live node, and the catalog, vector files and graph files "
                    "agree (" +
                    count_of(v["content_entries_checked"].get<uint64_t>(), "indexed vector") +
                    " hashed)");
        } else {
            row(out, "verify",
                "FAILED: " + checked + ", " + count_of(v["problems"].size(), "problem") + ":");
            print_problems(v, out);
        }
    }
}

// ---- Packs --------------------------------------------------------------------------------

bool looks_like_pack(const std::string& path) {
    return Pack::looks_like_pack(path);
}

// Opening a pack checks every member's size and checksum against its config, decodes the
// graph and ids and cross-checks them; --verify adds every vector's checksum and a walk of
// the graph.
Description describe_pack(const std::string& path, const InspectOptions& options) {
    PackOpenOptions open_options;
    open_options.max_extracted_bytes = options.max_unpacked;
    const auto pack = Pack::open(path, {}, open_options);
    const PackConfig& config = pack->config();
    Description d;
    d.doc = json{{"kind", "pack"},
                 {"path", path},
                 {"pack_kind", pack_kind_name(pack->kind())},
                 {"config", json::parse(config.json)}};
    if (pack->kind() != PackKind::kDirectory)
        d.doc["archive_bytes"] = std::filesystem::file_size(path);
    InspectOptions inner = options;
    Description graph = describe_graph_file(pack->directory() + "/" + kPackGraphName, inner);
    Description vectors =
        describe_vector_file_at(pack->directory() + "/" + kPackVectorsName, inner);
    graph.doc["path"] = kPackGraphName;
    vectors.doc["path"] = kPackVectorsName;
    d.doc["graph"] = graph.doc;
    d.doc["vectors"] = vectors.doc;
    for (auto& p : graph.problems)
        d.problems.push_back({std::string(kPackGraphName) + ": " + p.where, p.what});
    for (auto& p : vectors.problems)
        d.problems.push_back({std::string(kPackVectorsName) + ": " + p.where, p.what});
    if (options.verify) {
        const GraphCheck check = pack->snapshot()->check_graph();
        if (check.unreachable_live != 0 || check.links_to_removed != 0) {
            d.problems.push_back({kPackGraphName, std::to_string(check.unreachable_live) +
                                                      " live nodes unreachable, " +
                                                      std::to_string(check.links_to_removed) +
                                                      " links to removed nodes"});
        }
        json problems = json::array();
        for (const auto& p : d.problems)
            problems.push_back({{"where", p.where}, {"what", p.what}});
        d.doc["verify"] = {{"ok", d.problems.empty()}, {"problems", problems}};
    }
    return d;
}

void print_pack(const json& d, std::ostream& out) {
    const json& c = d["config"];
    row(out, "kind",
        "pack (" + text(d["pack_kind"]) + ", format version " + text(c["format_version"]) + ")");
    row(out, "path", text(d["path"]));
    if (d.contains("archive_bytes"))
        row(out, "archive", text(d["archive_bytes"]) + " bytes");
    row(out, "domain", text(c["domain"]));
    row(out, "commit", text(c["commit"]));
    row(out, "parent",
        c["parent"].is_null() ? std::string("none (a root commit)")
                              : text(c["parent"]) + " (not in the pack)");
    row(out, "backend",
        text(c["backend"]) + ", M " + text(c["build"]["m"]) + ", ef_construction " +
            text(c["build"]["ef_construction"]));
    row(out, "vectors", text(c["dimensions"]) + " dimensions, " + text(c["metric"]));
    row(out, "count", text(c["count"]) + " live, " + text(c["tombstones"]) + " tombstones");
    row(out, "operations", changes_text(c["operations"]));
    row(out, "created", text(c["created"]));
    row(out, "packed", text(c["updated"]) + " by vstore " + text(c["vstore"]));
    for (const auto& [name, f] : c["files"].items())
        row(out, "  " + name, text(f["bytes"]) + " bytes, xxh3 " + text(f["xxh3"]));
    out << "\ngraph (" << kPackGraphName << ")\n";
    print_graph_file(d["graph"], out);
    out << "\nvectors (" << kPackVectorsName << ")\n";
    print_vector_file(d["vectors"], out);
    if (d.contains("verify")) {
        out << '\n';
        row(out, "verify",
            d["verify"]["ok"].get<bool>() ? "ok: every member, vector and link checked" : "FAILED");
        print_problems(d["verify"], out);
    }
}

// ---- Dispatch -----------------------------------------------------------------------------

enum class Kind { kVectorFile, kGraphFile, kStore, kPack };

// Recognises what `path` is by its contents, never by its name.
Kind recognise(const std::string& path) {
    if (std::filesystem::is_directory(path)) {
        if (std::filesystem::is_regular_file(std::filesystem::path(path) / kCatalogFileName))
            return Kind::kStore;
        if (looks_like_pack(path))
            return Kind::kPack;
        throw Error::invalid_argument("'" + path +
                                      "' is a directory but not a vstore store (no catalog)");
    }
    const std::vector<uint8_t> start = read_start(path);
    if (start.size() >= format::kVectorFileMagic.size() &&
        std::equal(format::kVectorFileMagic.begin(), format::kVectorFileMagic.end(), start.begin()))
        return Kind::kVectorFile;
    if (starts_as_graph_file(start))
        return Kind::kGraphFile;
    if (looks_like_pack(path))
        return Kind::kPack;
    throw Error::invalid_argument("'" + path + "' is not a vstore file or store (unknown magic)");
}

}  // namespace

int inspect(const std::string& path, const InspectOptions& options, std::ostream& out,
            std::ostream& err) {
    try {
        const Kind kind = recognise(path);
        Progress progress("verifying", options.quiet || !options.verify);
        progress.update("'" + path + "'");
        Description d;
        switch (kind) {
            case Kind::kVectorFile:
                d = describe_vector_file_at(path, options);
                break;
            case Kind::kGraphFile:
                d = describe_graph_file(path, options);
                break;
            case Kind::kStore:
                d = describe_store(path, options);
                break;
            case Kind::kPack:
                d = describe_pack(path, options);
                break;
        }
        progress.done();
        if (options.json) {
            out << json_text(d.doc, 2) << '\n';
        } else {
            switch (kind) {
                case Kind::kVectorFile:
                    print_vector_file(d.doc, out);
                    break;
                case Kind::kGraphFile:
                    print_graph_file(d.doc, out);
                    break;
                case Kind::kStore:
                    print_store(d.doc, out);
                    break;
                case Kind::kPack:
                    print_pack(d.doc, out);
                    break;
            }
        }
        if (d.problems.empty())
            return 0;
        // The output above lists every problem; the error line names the first.
        err << "vstore: verify failed: " << d.problems[0].where << ": " << d.problems[0].what
            << " in '" << path << "'";
        if (d.problems.size() > 1)
            err << " (and " << d.problems.size() - 1 << " more)";
        err << '\n';
        return 1;
    } catch (const std::exception& e) {
        err << "vstore: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace vstore::cli
