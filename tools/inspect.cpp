#include "inspect.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <vector>

#include "progress.h"
#include "text.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/graph_file.h"
#include "vstore/format/vector_file_format.h"
#include "vstore/pack.h"
#include "vstore/store.h"
#include "vstore/vector_file.h"

namespace vstore::cli {
namespace {

using nlohmann::json;

// Graph files (spec/graph-file.md): the magic and the header fields that decode_graph_file
// does not hand back (GraphFileData carries the graph, not how the file stores it).
constexpr std::array<uint8_t, 8> kGraphFileMagic = {'V', 'S', 'T', 'O', 'R', 'E', 'G', 'F'};
constexpr size_t kGraphOffVersion = 8;
constexpr size_t kGraphOffHeaderBytes = 12;
constexpr size_t kGraphOffLinkCount = 72;
constexpr size_t kGraphOffBodyEncoding = 80;
constexpr size_t kGraphOffRawBodyBytes = 88;
constexpr size_t kGraphOffStoredBodyBytes = 96;
constexpr uint32_t kGraphBodyZstd = 1;

// A store is a directory holding this file (spec/store-layout.md).
constexpr const char* kCatalogFileName = "catalog";

// The width of the label column of the text output.
constexpr int kLabelWidth = 16;

std::string percent(double fraction) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << fraction * 100 << " %";
    return s.str();
}

std::string fixed2(double value) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << value;
    return s.str();
}

// "1 node", "3 nodes": a count with its noun, in the plural unless it is one.
std::string count_of(uint64_t count, const std::string& noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// A JSON string or number as text, without the quotes dump() would add to a string.
std::string text(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// One aligned "label  value" line of the text output.
void row(std::ostream& out, const std::string& label, const std::string& value) {
    out << std::left << std::setw(kLabelWidth) << label << value << '\n';
}

// Something wrong that a check found; inspect exits 1 when there is any.
struct Problem {
    std::string where;  // "vector 100", "domain 'd', commit 'c2'", "layer 0", ...
    std::string what;
};

json problems_json(const std::vector<Problem>& problems) {
    json out = json::array();
    for (const auto& p : problems)
        out.push_back({{"where", p.where}, {"what", p.what}});
    return out;
}

void print_problems(const json& verify, std::ostream& out) {
    for (const auto& p : verify["problems"])
        out << "  " << p["where"].get<std::string>() << ": " << p["what"].get<std::string>()
            << '\n';
}

// What a describer returns: the JSON document (the text output is printed from it too, so
// both always say the same) and the problems that --verify found.
struct Description {
    json doc;
    std::vector<Problem> problems;
};

std::vector<uint8_t> read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error::not_found("'" + path + "' does not exist or cannot be read");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    if (in.bad())
        throw Error::io("cannot read '" + path + "'", errno);
    return bytes;
}

// First bytes of a file, for recognising its kind.
std::array<uint8_t, 8> read_magic(const std::string& path) {
    std::array<uint8_t, 8> magic{};
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error::not_found("'" + path + "' does not exist or cannot be read");
    in.read(reinterpret_cast<char*>(magic.data()), magic.size());
    return magic;
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
    auto row = [&](const char* label, const std::string& value) { cli::row(out, label, value); };
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

// ---- Graph files --------------------------------------------------------------------------

// Out-degree statistics of one layer, over the nodes that live in it.
struct LayerDegrees {
    uint64_t nodes = 0;
    uint64_t min = std::numeric_limits<uint64_t>::max();
    uint64_t max = 0;
    uint64_t total = 0;
    uint64_t without_links = 0;
};

// The checks --verify adds to those decode_graph_file makes. Decoding already refuses a link
// to a node that does not exist, to itself, or to a node whose top level is below the link's
// layer; they are checked again here so that the report does not depend on the decoder's
// internals. Duplicate neighbours and live nodes that layer 0 cannot reach from the entry
// point are legal in the format but never written by vstore, and make searches worse.
std::vector<Problem> check_graph_links(const format::GraphFileData& g, uint64_t& links_checked) {
    std::vector<Problem> problems;
    const size_t n = g.nodes.size();
    uint64_t duplicate_lists = 0;
    std::string first_duplicate;
    // The number of the neighbour list in which each node was last seen: finds duplicates
    // within a list in one pass, without clearing anything between lists.
    std::vector<uint64_t> seen_in_list(n, std::numeric_limits<uint64_t>::max());
    uint64_t list_number = 0;
    links_checked = 0;
    for (size_t i = 0; i < n; ++i) {
        const auto& node = g.nodes[i];
        for (size_t layer = 0; layer < node.links.size(); ++layer, ++list_number) {
            const auto where = [&] {
                return "node " + std::to_string(i) + ", layer " + std::to_string(layer);
            };
            bool duplicate = false;
            for (const uint32_t target : node.links[layer]) {
                ++links_checked;
                if (target >= n) {
                    problems.push_back({where(), "links to node " + std::to_string(target) +
                                                     ", which does not exist"});
                    continue;
                }
                if (target == i)
                    problems.push_back({where(), "links to itself"});
                if (g.nodes[target].level < layer) {
                    problems.push_back({where(), "links to node " + std::to_string(target) +
                                                     ", whose top level is " +
                                                     std::to_string(g.nodes[target].level)});
                }
                if (seen_in_list[target] == list_number)
                    duplicate = true;
                seen_in_list[target] = list_number;
            }
            if (duplicate && duplicate_lists++ == 0)
                first_duplicate = where();
        }
    }
    if (duplicate_lists > 0) {
        problems.push_back({"neighbour lists", count_of(duplicate_lists, "list") +
                                                   " with a node twice (first: " + first_duplicate +
                                                   ")"});
    }

    // Reachability in layer 0, the walk the store makes after every commit. Tombstones are
    // walked through: they still serve navigation.
    if (g.entry_point >= 0 && static_cast<size_t>(g.entry_point) < n) {
        std::vector<bool> reached(n, false);
        std::vector<uint32_t> stack = {static_cast<uint32_t>(g.entry_point)};
        reached[g.entry_point] = true;
        while (!stack.empty()) {
            const uint32_t u = stack.back();
            stack.pop_back();
            for (const uint32_t v : g.nodes[u].links.at(0)) {
                if (v < n && !reached[v]) {
                    reached[v] = true;
                    stack.push_back(v);
                }
            }
        }
        uint64_t unreachable = 0;
        size_t first = 0;
        for (size_t i = 0; i < n; ++i) {
            if (!reached[i] && !g.nodes[i].tombstone && unreachable++ == 0)
                first = i;
        }
        if (unreachable > 0) {
            problems.push_back({"layer 0", count_of(unreachable, "live node") +
                                               " not reachable from the entry point (first: "
                                               "node " +
                                               std::to_string(first) + ")"});
        }
    }
    return problems;
}

Description describe_graph_file(const std::string& path, const InspectOptions& options) {
    const auto bytes = read_whole_file(path);
    // Checks every checksum and every graph rule of the spec; a damaged file stops here with
    // a one-line error naming it.
    const format::GraphFileData g = format::decode_graph_file(bytes, path);
    const uint8_t* header = bytes.data();

    uint64_t live = 0, tombstones = 0;
    std::vector<uint64_t> level_histogram(g.max_level >= 0 ? g.max_level + 1 : 0, 0);
    std::vector<LayerDegrees> layers(level_histogram.size());
    for (const auto& node : g.nodes) {
        (node.tombstone ? tombstones : live)++;
        ++level_histogram.at(node.level);
        for (size_t layer = 0; layer < node.links.size(); ++layer) {
            LayerDegrees& s = layers.at(layer);
            const uint64_t degree = node.links[layer].size();
            ++s.nodes;
            s.min = std::min(s.min, degree);
            s.max = std::max(s.max, degree);
            s.total += degree;
            s.without_links += degree == 0 ? 1 : 0;
        }
    }
    json degree = json::array();
    for (size_t layer = 0; layer < layers.size(); ++layer) {
        const LayerDegrees& s = layers[layer];
        degree.push_back({{"layer", layer},
                          {"nodes", s.nodes},
                          {"min", s.nodes ? s.min : 0},
                          {"mean", s.nodes ? double(s.total) / double(s.nodes) : 0.0},
                          {"max", s.max},
                          {"without_links", s.without_links}});
    }
    json entry_point = nullptr;
    if (g.entry_point >= 0) {
        const auto& node = g.nodes.at(g.entry_point);
        entry_point = {{"ordinal", g.entry_point}, {"key", node.key}, {"level", node.level}};
    }
    const uint32_t body_encoding = format::load_le<uint32_t>(header + kGraphOffBodyEncoding);
    json doc{
        {"kind", "graph file"},
        {"path", path},
        {"format_version", format::load_le<uint32_t>(header + kGraphOffVersion)},
        {"domain", g.domain},
        {"commit", g.commit},
        {"parent", g.parent ? json(*g.parent) : json(nullptr)},
        {"metric", std::string(format::metric_name(g.metric))},
        {"dimension", g.dimension},
        {"m", g.m},
        {"ef_construction", g.ef_construction},
        {"vector_count", g.vector_count},
        {"created", iso_time(g.created_unix_ms)},
        {"nodes", g.nodes.size()},
        {"live", live},
        {"tombstones", tombstones},
        {"links", format::load_le<uint64_t>(header + kGraphOffLinkCount)},
        {"entry_point", entry_point},
        {"max_level", g.max_level},
        {"level_histogram", level_histogram},
        {"degree", degree},
        {"file_bytes", bytes.size()},
        {"header_bytes", format::load_le<uint32_t>(header + kGraphOffHeaderBytes)},
        {"body_encoding", body_encoding == kGraphBodyZstd ? "zstd" : "raw"},
        {"raw_body_bytes", format::load_le<uint64_t>(header + kGraphOffRawBodyBytes)},
        {"stored_body_bytes", format::load_le<uint64_t>(header + kGraphOffStoredBodyBytes)},
        {"file_checksum", hex64(format::graph_file_checksum(bytes))},
    };
    Description d{std::move(doc), {}};
    if (options.verify) {
        uint64_t links_checked = 0;
        d.problems = check_graph_links(g, links_checked);
        d.doc["verify"] = {{"ok", d.problems.empty()},
                           {"links_checked", links_checked},
                           {"problems", problems_json(d.problems)}};
    }
    return d;
}

void print_graph_file(const json& d, std::ostream& out) {
    auto row = [&](const std::string& label, const std::string& value) {
        cli::row(out, label, value);
    };
    const uint64_t m = d["m"].get<uint64_t>();
    row("kind", "graph file (format version " + d["format_version"].dump() + ")");
    row("path", text(d["path"]));
    row("domain", text(d["domain"]));
    row("commit", text(d["commit"]));
    row("parent", d["parent"].is_null() ? "none (a first commit)" : text(d["parent"]));
    row("metric", text(d["metric"]));
    row("dimension", text(d["dimension"]));
    row("M", std::to_string(m) + " (at most " + std::to_string(2 * m) +
                 " links a node in layer 0, " + std::to_string(m) + " in upper layers)");
    row("ef_construction", text(d["ef_construction"]));
    row("vector count",
        text(d["vector_count"]) + " (vectors in the domain's file when the graph was made)");
    row("created", text(d["created"]));
    row("nodes", text(d["nodes"]) + ": " + text(d["live"]) + " live, " + text(d["tombstones"]) +
                     " tombstoned (kept for navigation, never returned)");
    row("links", text(d["links"]));
    if (d["entry_point"].is_null()) {
        row("entry point", "none (empty graph)");
    } else {
        const json& e = d["entry_point"];
        row("entry point", "node " + text(e["ordinal"]) + " (key " + text(e["key"]) + "), level " +
                               text(e["level"]));
    }
    row("max level", text(d["max_level"]));

    const uint64_t node_count = d["nodes"].get<uint64_t>();
    const json& histogram = d["level_histogram"];
    row("levels", histogram.empty() ? "none (empty graph)" : "nodes by their top level:");
    for (size_t level = 0; level < histogram.size(); ++level) {
        const uint64_t nodes = histogram[level].get<uint64_t>();
        row("  level " + std::to_string(level),
            std::to_string(nodes) + " (" +
                percent(node_count ? double(nodes) / double(node_count) : 0.0) + ")");
    }
    row("out-degree", d["degree"].empty() ? "none (empty graph)"
                                          : "links per node in each layer (min / mean / max):");
    for (const auto& layer : d["degree"]) {
        std::string line = count_of(layer["nodes"].get<uint64_t>(), "node") + ": " +
                           text(layer["min"]) + " / " + fixed2(layer["mean"].get<double>()) +
                           " / " + text(layer["max"]);
        if (layer["layer"].get<uint64_t>() == 0)
            line += ", " + text(layer["without_links"]) + " without links";
        row("  layer " + text(layer["layer"]), line);
    }

    row("file size", text(d["file_bytes"]) + " bytes: " + text(d["header_bytes"]) +
                         "-byte header, " + text(d["stored_body_bytes"]) + "-byte body");
    const uint64_t raw = d["raw_body_bytes"].get<uint64_t>();
    const uint64_t stored = d["stored_body_bytes"].get<uint64_t>();
    if (text(d["body_encoding"]) == "zstd") {
        row("body", "zstd-compressed, " + std::to_string(stored) + " bytes for " +
                        std::to_string(raw) + " raw (" +
                        percent(raw ? double(stored) / double(raw) : 0.0) + ")");
    } else {
        row("body", "raw (not compressed), " + std::to_string(raw) + " bytes");
    }
    row("file checksum", "XXH3-64 " + text(d["file_checksum"]) + " (the catalog records it)");
    if (d.contains("verify")) {
        const json& v = d["verify"];
        if (v["ok"].get<bool>()) {
            row("verify", "ok: every checksum and graph rule holds, " + text(v["links_checked"]) +
                              " links checked, layer 0 reaches every live node");
        } else {
            row("verify", "FAILED: " + count_of(v["problems"].size(), "problem"));
            print_problems(v, out);
        }
    }
}

// ---- Stores -------------------------------------------------------------------------------

json describe_commit(const CommitInfo& c) {
    return json{
        {"commit", c.commit},
        {"parent", c.parent ? json(*c.parent) : json(nullptr)},
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

// --verify of one commit: loading checks the graph file's size and checksum against the
// catalog and decodes it; then the loaded graph is walked.
void verify_commit(Store& store, const DomainInfo& domain, const CommitInfo& commit,
                   std::vector<Problem>& problems) {
    const std::string where = "domain '" + domain.name + "', commit '" + commit.commit + "'";
    try {
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

Description describe_store(const std::string& dir, const InspectOptions& options) {
    StoreOptions store_options;
    // --verify loads every commit once, in turn: keep one loaded graph at a time.
    store_options.index_pool_commits = 1;
    const auto store = Store::open(dir, store_options);

    std::vector<Problem> problems;
    uint64_t vectors_checked = 0, vector_files_checked = 0, commits_checked = 0;
    uint64_t commit_count = 0;
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
            ++commit_count;
            if (options.verify) {
                verify_commit(*store, domain, commit, problems);
                ++commits_checked;
            }
        }
        domains.push_back({
            {"name", domain.name},
            {"dimension", domain.dimension},
            {"metric", std::string(format::metric_name(domain.metric))},
            {"m", domain.m},
            {"ef_construction", domain.ef_construction},
            {"created", iso_time(domain.created_unix_ms)},
            {"interned_ids", domain.next_key},
            {"vector_file", domain.vector_file},
            {"vectors", vectors},
            {"commits", commits},
        });
    }
    json doc{{"kind", "store"},
             {"path", dir},
             {"domain_count", domains.size()},
             {"commit_count", commit_count},
             {"domains", domains}};
    if (options.verify) {
        doc["verify"] = {{"ok", problems.empty()},
                         {"vector_files_checked", vector_files_checked},
                         {"vectors_checked", vectors_checked},
                         {"commits_checked", commits_checked},
                         {"problems", problems_json(problems)}};
    }
    return {std::move(doc), std::move(problems)};
}

// Prints rows of cells as columns, each as wide as its widest cell; numeric columns are
// right-aligned so their digits line up.
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

void print_store(const json& d, std::ostream& out) {
    row(out, "kind", "store");
    row(out, "path", text(d["path"]));
    row(out, "domains", text(d["domain_count"]));
    row(out, "commits", text(d["commit_count"]));
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
                ", oldest first (changes: +inserted "
                "-deleted ~replaced):");
        std::vector<std::vector<std::string>> table = {{"commit", "parent", "created", "live",
                                                        "tombstones", "changes", "compacted",
                                                        "graph file", "graph bytes"}};
        for (const auto& c : commits) {
            table.push_back({text(c["commit"]), c["parent"].is_null() ? "-" : text(c["parent"]),
                             text(c["created"]), text(c["live"]), text(c["tombstones"]),
                             changes_text(c), c["compacted"].get<bool>() ? "yes" : "no",
                             text(c["graph_file"]), text(c["graph_bytes"])});
        }
        print_table(out, "  ", table, {false, false, false, true, true, false, false, false, true});
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
                    "; every graph matches its catalog checksum, decodes, and "
                    "reaches every live node");
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
    const auto pack = Pack::open(path);
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
    row(out, "operations",
        "+" + text(c["operations"]["inserted"]) + " -" + text(c["operations"]["deleted"]) + " ~" +
            text(c["operations"]["replaced"]));
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
    const auto magic = read_magic(path);
    if (magic == format::kVectorFileMagic)
        return Kind::kVectorFile;
    if (magic == kGraphFileMagic)
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
            out << d.doc.dump(2) << '\n';
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
