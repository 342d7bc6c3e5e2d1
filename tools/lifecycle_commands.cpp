// The lifecycle commands of the command line: drop, gc and du (spec/lifecycle.md).
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "commands.h"
#include "json_output.h"
#include "progress.h"
#include "source.h"
#include "text.h"
#include "vstore/store.h"

namespace vstore::cli {
namespace {

using json = nlohmann::ordered_json;

json files_json(const std::vector<GraphFileRef>& files) {
    json a = json::array();
    for (const auto& f : files)
        a.push_back({{"name", f.name}, {"bytes", f.bytes}});
    return a;
}

json dropped_json(const DroppedCommits& d) {
    return json{{"domain", d.domain},
                {"dropped", d.dropped},
                {"cut", d.cut},
                {"removed", files_json(d.removed)},
                {"kept", files_json(d.kept)},
                {"bytes_freed", d.bytes_freed()}};
}

std::string list_text(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "'" : ", '") + n + "'";
    return out;
}

void print_dropped(const DroppedCommits& d, bool dry_run, std::ostream& out) {
    const char* verb = dry_run ? "would drop" : "dropped";
    out << "domain '" << d.domain << "': " << verb << ' ' << d.dropped.size() << " commit"
        << (d.dropped.size() == 1 ? "" : "s");
    if (!d.dropped.empty())
        out << " (" << list_text(d.dropped) << ")";
    out << "; " << (dry_run ? "would free " : "freed ") << bytes_text(d.bytes_freed()) << " in "
        << d.removed.size() << " graph file" << (d.removed.size() == 1 ? "" : "s") << '\n';
    if (!d.kept.empty()) {
        uint64_t bytes = 0;
        for (const auto& f : d.kept)
            bytes += f.bytes;
        out << "  " << d.kept.size() << " graph file" << (d.kept.size() == 1 ? "" : "s")
            << " of dropped commits kept (" << bytes_text(bytes)
            << "): kept commits build on them\n";
    }
    if (!d.cut.empty())
        out << "  history cut at " << list_text(d.cut) << ": the parent is gone\n";
}

std::vector<std::string> read_keep_file(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        throw Error::not_found("cannot read keep file '" + path + "'");
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        const size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#')
            continue;
        names.push_back(line.substr(start));
    }
    return names;
}

}  // namespace

int run_drop(const DropArgs& a, const Common& c, std::ostream& out) {
    if (a.commits.empty())
        throw UsageError("name at least one --commit to drop");
    auto store = Store::open(a.store, store_options(c));
    const DroppedCommits d = store->drop_commits(a.domain, a.commits, a.dry_run);
    if (c.json) {
        json j = dropped_json(d);
        j["dry_run"] = a.dry_run;
        out << json_text(j, 2) << '\n';
        return 0;
    }
    print_dropped(d, a.dry_run, out);
    return 0;
}

int run_gc(const GcArgs& a, const Common& c, std::ostream& out) {
    GcOptions o;
    o.domain = a.domain;
    o.keep_last = a.keep_last;
    o.dry_run = a.dry_run;
    for (const auto& path : a.keep_files) {
        auto names = read_keep_file(path);
        o.keep.insert(o.keep.end(), names.begin(), names.end());
    }
    if (!o.keep_last && a.keep_files.empty())
        throw UsageError("gc keeps only what it is told to: give --keep-last N or --keep FILE");
    if (o.keep.empty() && (!o.keep_last || *o.keep_last == 0))
        throw UsageError(a.keep_files.empty()
                             ? "gc would keep nothing: --keep-last must be at least 1"
                             : "gc would keep nothing: the keep file names no commit, and "
                               "--keep-last is not at least 1");
    auto store = Store::open(a.store, store_options(c));
    const GcReport r = store->gc(o);
    if (!r.keep_unknown.empty())
        std::cerr << "vstore: note: no domain has " << list_text(r.keep_unknown)
                  << ", named in the keep file\n";
    if (c.json) {
        json domains = json::array();
        for (const auto& d : r.domains)
            domains.push_back(dropped_json(d));
        out << json_text(json{{"dry_run", a.dry_run},
                              {"domains", domains},
                              {"orphans", r.orphans},
                              {"orphan_bytes", r.orphan_bytes},
                              {"keep_unknown", r.keep_unknown},
                              {"bytes_freed", r.bytes_freed()}},
                         2)
            << '\n';
        return 0;
    }
    for (const auto& d : r.domains)
        print_dropped(d, a.dry_run, out);
    if (!r.orphans.empty())
        out << (a.dry_run ? "would delete " : "deleted ") << r.orphans.size()
            << " file" << (r.orphans.size() == 1 ? "" : "s") << " no commit names ("
            << bytes_text(r.orphan_bytes) << "), left by crashed writers\n";
    out << (a.dry_run ? "would free " : "freed ") << bytes_text(r.bytes_freed()) << " in all\n";
    return 0;
}

int run_vacuum(const StoreScopeArgs& a, const Common& c, std::ostream& out) {
    auto store = Store::open(a.store, store_options(c));
    std::vector<std::string> domains;
    if (a.domain) {
        domains.push_back(*a.domain);
    } else {
        for (const auto& d : store->domains())
            domains.push_back(d.name);
    }
    json reports = json::array();
    for (const auto& domain : domains) {
        VacuumReport r;
        {
            Progress progress("vacuuming '" + domain + "'", c.quiet);
            r = store->vacuum(domain, [&](double f) { progress.fraction(f); });
            progress.done();
        }
        if (c.json) {
            reports.push_back({{"domain", r.domain},
                               {"rewritten", r.rewritten},
                               {"vector_file", r.vector_file},
                               {"vectors_before", r.vectors_before},
                               {"vectors_after", r.vectors_after},
                               {"vector_file_bytes_before", r.vector_file_bytes_before},
                               {"vector_file_bytes_after", r.vector_file_bytes_after},
                               {"graph_files", r.graph_files},
                               {"graph_bytes_before", r.graph_bytes_before},
                               {"graph_bytes_after", r.graph_bytes_after}});
            continue;
        }
        if (!r.rewritten) {
            out << "domain '" << r.domain << "': nothing to reclaim (every one of its "
                << r.vectors_before << " vectors is referenced)\n";
            continue;
        }
        out << "domain '" << r.domain << "': " << r.vectors_before << " -> " << r.vectors_after
            << " vectors, vector file " << bytes_text(r.vector_file_bytes_before) << " -> "
            << bytes_text(r.vector_file_bytes_after) << " ('" << r.vector_file << "'); "
            << r.graph_files << " graph file" << (r.graph_files == 1 ? "" : "s")
            << " rewritten, " << bytes_text(r.graph_bytes_before) << " -> "
            << bytes_text(r.graph_bytes_after) << '\n';
    }
    if (c.json)
        out << json_text(reports, 2) << '\n';
    return 0;
}

int run_du(const StoreScopeArgs& a, const Common& c, std::ostream& out) {
    auto store = Store::open(a.store, store_options(c));
    const SpaceReport r = store->space(a.domain);
    if (c.json) {
        json domains = json::array();
        for (const auto& d : r.domains) {
            const auto vb = d.vector_bytes;
            domains.push_back(
                {{"domain", d.domain},
                 {"commits", d.commits},
                 {"heads", d.heads},
                 {"vector_file_bytes", d.vector_file_bytes},
                 {"vectors", d.vectors},
                 {"head_vectors", d.head_vectors},
                 {"head_vector_bytes", d.head_vectors * vb},
                 {"history_vectors", d.history_vectors},
                 {"history_vector_bytes", d.history_vectors * vb},
                 {"unreferenced_vectors", d.unreferenced_vectors},
                 {"unreferenced_vector_bytes", d.unreferenced_vectors * vb},
                 {"full_graph_files", d.full_files},
                 {"full_graph_bytes", d.full_bytes},
                 {"delta_graph_files", d.delta_files},
                 {"delta_graph_bytes", d.delta_bytes},
                 {"base_only_graph_files", d.base_only_files},
                 {"base_only_graph_bytes", d.base_only_bytes},
                 {"orphan_graph_files", d.orphan_files},
                 {"orphan_graph_bytes", d.orphan_bytes}});
        }
        out << json_text(json{{"domains", domains},
                              {"catalog_bytes", r.catalog_bytes},
                              {"temporary_files", r.temporary_files},
                              {"temporary_bytes", r.temporary_bytes}},
                         2)
            << '\n';
        return 0;
    }
    for (const auto& d : r.domains) {
        const auto vb = d.vector_bytes;
        out << "domain '" << d.domain << "': " << d.commits << " commit"
            << (d.commits == 1 ? "" : "s") << ", " << d.heads << " head"
            << (d.heads == 1 ? "" : "s") << '\n'
            << "  vector file          " << std::setw(10) << bytes_text(d.vector_file_bytes)
            << "  " << d.vectors << " vectors\n"
            << "    read by heads      " << std::setw(10) << bytes_text(d.head_vectors * vb) << "  "
            << d.head_vectors << '\n'
            << "    only old commits   " << std::setw(10) << bytes_text(d.history_vectors * vb)
            << "  " << d.history_vectors << '\n'
            << "    unreferenced       " << std::setw(10)
            << bytes_text(d.unreferenced_vectors * vb) << "  " << d.unreferenced_vectors
            << " (vacuum frees them)\n"
            << "  full graph files     " << std::setw(10) << bytes_text(d.full_bytes) << "  "
            << d.full_files << '\n'
            << "  delta graph files    " << std::setw(10) << bytes_text(d.delta_bytes) << "  "
            << d.delta_files << '\n';
        if (d.base_only_files)
            out << "    of them bases only " << std::setw(10) << bytes_text(d.base_only_bytes)
                << "  " << d.base_only_files << " (written by dropped commits)\n";
        if (d.orphan_files)
            out << "  orphan graph files   " << std::setw(10) << bytes_text(d.orphan_bytes) << "  "
                << d.orphan_files << " (gc deletes them)\n";
    }
    out << "catalog                " << std::setw(10) << bytes_text(r.catalog_bytes) << '\n';
    if (r.temporary_files)
        out << "temporary files        " << std::setw(10) << bytes_text(r.temporary_bytes) << "  "
            << r.temporary_files << '\n';
    return 0;
}

}  // namespace vstore::cli
