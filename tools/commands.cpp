#include "commands.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>

#include "apply_operation.h"
#include "embed_command.h"
#include "inputs.h"
#include "item_embedder.h"
#include "json_output.h"
#include "leftovers.h"
#include "progress.h"
#include "records_json.h"
#include "source.h"
#include "text.h"
#include "vstore/pack.h"
#include "vstore/search_many.h"
#include "vstore/store.h"

namespace vstore::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

PackOpenOptions pack_open_options(const Common& c) {
    PackOpenOptions o;
    o.max_extracted_bytes = c.max_unpacked;
    return o;
}

std::string float_text(float f) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, f);
    return std::string(buf, r.ptr);
}

void print_hits(const std::vector<SearchHit>& hits, std::ostream& out) {
    size_t width = 2;
    for (const auto& h : hits)
        width = std::max(width, h.id.size());
    out << std::right << std::setw(4) << "rank"
        << "  " << std::left << std::setw(int(width)) << "id"
        << "  distance\n";
    for (size_t i = 0; i < hits.size(); ++i) {
        out << std::right << std::setw(4) << i + 1 << "  " << std::left << std::setw(int(width))
            << hits[i].id << "  " << float_text(hits[i].distance) << '\n';
    }
}

// The hits of several domains: rank, domain, commit, id, distance.
void print_hits(const std::vector<MultiHit>& hits, std::ostream& out) {
    size_t domain_width = 6, commit_width = 6, id_width = 2;
    for (const auto& h : hits) {
        domain_width = std::max(domain_width, h.domain.size());
        commit_width = std::max(commit_width, h.commit.size());
        id_width = std::max(id_width, h.id.size());
    }
    out << std::right << std::setw(4) << "rank"
        << "  " << std::left << std::setw(int(domain_width)) << "domain"
        << "  " << std::setw(int(commit_width)) << "commit"
        << "  " << std::setw(int(id_width)) << "id"
        << "  distance\n";
    for (size_t i = 0; i < hits.size(); ++i) {
        out << std::right << std::setw(4) << i + 1 << "  " << std::left
            << std::setw(int(domain_width)) << hits[i].domain << "  "
            << std::setw(int(commit_width)) << hits[i].commit << "  " << std::setw(int(id_width))
            << hits[i].id << "  " << float_text(hits[i].distance) << '\n';
    }
}

// Writes the results of every query: as JSON, one array of hits for one query (or a file that
// holds one), else an array of them; as text, a table a query.
template <typename Hit>
void write_results(const std::vector<std::vector<Hit>>& results, bool many, bool as_json,
                   std::ostream& out) {
    if (as_json) {
        if (!many) {
            out << json_text(hits_json(results[0])) << '\n';
        } else {
            json all = json::array();
            for (const auto& r : results)
                all.push_back(hits_json(r));
            out << json_text(all) << '\n';
        }
        return;
    }
    for (size_t i = 0; i < results.size(); ++i) {
        if (many)
            out << (i ? "\n" : "") << "query " << i << '\n';
        print_hits(results[i], out);
    }
}

std::string operation_counts(const CommitInfo& c) {
    std::ostringstream s;
    s << '+' << c.inserted << " -" << c.deleted << " ~" << c.replaced;
    return s.str();
}

// Whether a --vector-file is a list of queries (.fvecs, .npy, a JSON array of arrays), whose
// results are an array of arrays however many it holds, rather than one JSON array.
bool query_file_holds_many(const std::string& path) {
    const std::string ext = std::filesystem::path(path).extension().string();
    if (ext == ".fvecs" || ext == ".npy")
        return true;
    std::ifstream in(path);
    char c = 0;
    int brackets = 0;
    while (in.get(c) && brackets < 2) {
        if (std::isspace(static_cast<unsigned char>(c)))
            continue;
        if (c != '[')
            break;
        ++brackets;
    }
    return brackets == 2;
}

// The embedder of --embed-command, or null when none was given. The command starts with the
// first text to embed.
std::unique_ptr<embed::EmbedCommand> make_embedder(const EmbedArgs& a) {
    if (a.command.empty())
        return nullptr;
    if (!(a.timeout_seconds > 0) || a.timeout_seconds > 1e6)
        throw UsageError("--embed-timeout must be a number of seconds above 0");
    if (a.batch_size == 0)
        throw UsageError("--embed-batch-size must be at least 1");
    const auto timeout = std::chrono::ceil<std::chrono::milliseconds>(
        std::chrono::duration<double>(a.timeout_seconds));
    return std::make_unique<embed::EmbedCommand>(
        a.command, embed::EmbedOptions{.timeout = timeout, .batch_size = a.batch_size});
}

// --exact over a query file of several queries: one search_exact_batch, whose answers are
// search_exact's. A query of the wrong length would shift every later one in the batch's
// rows, so it is refused first, by search_exact, with the message a single search gives.
std::vector<std::vector<SearchHit>> search_exact_file(
    const Snapshot& snapshot, const std::vector<std::vector<float>>& queries, size_t k,
    const std::string& file) {
    std::vector<float> rows;
    rows.reserve(queries.size() * snapshot.domain().dimension);
    for (size_t i = 0; i < queries.size(); ++i) {
        if (queries[i].size() != snapshot.domain().dimension)
            at(file + ": query " + std::to_string(i),
               [&] { snapshot.search_exact(queries[i], k); });
        rows.insert(rows.end(), queries[i].begin(), queries[i].end());
    }
    std::vector<std::vector<SearchHit>> results;
    at(file, [&] { results = snapshot.search_exact_batch(rows, k); });
    return results;
}

// The filters of --only-ids FILE, one for each snapshot (none without the option). Ids a commit
// lacks are no error: a note on stderr says how many, since a typo would otherwise pass unseen.
std::vector<SearchFilter> only_ids_filters(
    const std::string& file, const std::vector<std::shared_ptr<const Snapshot>>& snapshots,
    bool quiet) {
    if (file.empty())
        return {};
    const std::vector<std::string> ids = read_id_list(file);
    const std::set<std::string> distinct(ids.begin(), ids.end());
    std::vector<SearchFilter> filters;
    for (const auto& snapshot : snapshots) {
        filters.push_back(snapshot->filter(ids));
        const uint64_t lacking = distinct.size() - filters.back().size();
        if (lacking > 0 && !quiet) {
            std::cerr << "vstore: note: --only-ids " << file << ": " << lacking << " of "
                      << distinct.size() << " ids are not live in commit '"
                      << snapshot->info().commit << "' of domain '" << snapshot->domain().name
                      << "'; they are never returned\n";
        }
    }
    return filters;
}

}  // namespace

int run_init(const std::string& store, std::ostream& out) {
    Store::create(store);
    out << "created an empty store in '" << store << "'\n";
    return 0;
}

int run_domain_create(const DomainCreateArgs& a, const Common& c, std::ostream& out) {
    const auto metric = format::metric_from_name(a.metric);
    if (!metric)
        throw UsageError("--metric must be l2, cosine or ip, not '" + a.metric + "'");
    auto store = Store::open(a.store, store_options(c));
    const auto d = store->create_domain(a.domain, {.dimension = a.dimension,
                                                   .metric = *metric,
                                                   .m = a.m,
                                                   .ef_construction = a.ef_construction});
    if (c.json) {
        out << json_text(domain_json(d), 2) << '\n';
    } else {
        out << "created domain '" << d.name << "': " << d.dimension << " dimensions, "
            << format::metric_name(d.metric) << ", M " << d.m << ", ef_construction "
            << d.ef_construction << '\n';
    }
    return 0;
}

int run_domain_list(const std::string& source, const Common& c, std::ostream& out) {
    const Source s = Source::open(source, store_options(c), pack_open_options(c));
    json list = json::array();
    for (const auto& d : s.domains()) {
        json j = domain_json(d);
        j["commits"] = s.commits(d.name).size();
        list.push_back(j);
    }
    if (c.json) {
        out << json_text(list, 2) << '\n';
        return 0;
    }
    if (list.empty())
        out << "no domains\n";
    for (const auto& j : list) {
        out << j["name"].get<std::string>() << "  " << j["dimension"] << " dimensions, "
            << j["metric"].get<std::string>() << ", M " << j["m"] << ", ef_construction "
            << j["ef_construction"] << ", " << j["commits"] << " commits\n";
    }
    return 0;
}

int run_index(const IndexArgs& a, const Common& c, std::ostream& out) {
    const int sources =
        !a.ops.empty() + !a.snapshot.empty() + !a.sqlite.empty() + !a.llm_db.empty();
    if (sources != 1)
        throw UsageError("give exactly one of --ops, --snapshot, --sqlite and --llm-db");
    if (!a.sqlite.empty() && a.table.empty())
        throw UsageError("--sqlite needs --table");
    if (a.sqlite.empty() && !a.table.empty())
        throw UsageError("--table goes with --sqlite");
    if (!a.llm_db.empty() && a.collection.empty())
        throw UsageError("--llm-db needs --collection");
    if (a.llm_db.empty() && !a.collection.empty())
        throw UsageError("--collection goes with --llm-db");

    const auto t0 = Clock::now();
    const auto embedder = make_embedder(a.embed);
    auto store = Store::open(a.store, store_options(c));
    auto builder = store->begin_commit(a.domain, a.commit, a.parent);
    uint64_t items = 0;
    {
        Progress progress("reading", c.quiet);
        auto tick = [&] {
            if (++items % 1000 == 0)
                progress.update(std::to_string(items) +
                                (a.ops.empty() ? " vectors" : " operations"));
        };
        if (!a.ops.empty()) {
            // Operations with a text wait for their batch's vectors, and keep their order.
            const std::string name = a.ops == "-" ? "<stdin>" : a.ops;
            embed::OperationEmbedder ops(embedder.get(), name, [&](Operation&& op) {
                apply_operation(builder, op, a.ops + ":" + std::to_string(op.line));
                tick();
            });
            read_operations(a.ops, [&](Operation&& op) { ops.add(std::move(op)); });
            ops.finish();
        } else {
            // An empty snapshot file is an empty set: every id of the parent goes.
            builder.begin_snapshot();
            embed::SnapshotEmbedder put(embedder.get(), [&](SnapshotItem&& item) {
                apply_snapshot_item(builder, item);
                tick();
            });
            const auto add = [&](SnapshotItem&& item) { put.add(std::move(item)); };
            if (!a.snapshot.empty())
                read_snapshot_file(a.snapshot, add);
            else if (!a.sqlite.empty())
                read_snapshot_sqlite(a.sqlite, a.table, add);
            else
                read_snapshot_llm(a.llm_db, a.collection, add);
            put.finish();
        }
    }
    const double read_seconds = seconds_since(t0);
    CommitInfo info;
    {
        Progress progress("committing", c.quiet);
        progress.update("building the graph of commit '" + a.commit + "'");
        info = builder.finish();
    }
    const double total = seconds_since(t0);
    const uint64_t unchanged =
        info.live_count - std::min(info.live_count, info.inserted + info.replaced);
    if (c.json) {
        json j = commit_json(info);
        j["unchanged"] = unchanged;
        j["seconds"] = total;
        out << json_text(j, 2) << '\n';
        return 0;
    }
    out << "commit '" << info.commit << "' of domain '" << info.domain << "'"
        << (info.parent ? " on '" + *info.parent + "'" : std::string(" (a root commit)")) << ": "
        << info.inserted << " inserted, " << info.deleted << " deleted, " << info.replaced
        << " replaced, " << unchanged << " unchanged\n"
        << "  " << info.live_count << " live, " << info.tombstone_count << " tombstones"
        << (info.compacted ? " (compacted)" : "") << "; graph file " << megabytes(info.graph_bytes)
        << "; read " << items << (a.ops.empty() ? " vectors" : " operations") << " in "
        << seconds(read_seconds) << ", committed in " << seconds(total - read_seconds) << '\n';
    return 0;
}

int run_assign(const AssignArgs& a, const Common& c, std::ostream& out) {
    const auto t0 = Clock::now();
    std::error_code ec;
    // A pack holds one commit and is never written to: say so, rather than "no catalog".
    if (!std::filesystem::exists(std::filesystem::path(a.store) / "catalog", ec) &&
        Pack::looks_like_pack(a.store)) {
        throw Error::invalid_argument("'" + a.store +
                                      "' is a pack, not a store: a pack holds one commit and "
                                      "takes no other");
    }
    auto store = Store::open(a.store, store_options(c));
    CommitInfo info;
    {
        Progress progress("assigning", c.quiet);
        progress.update("loading commit '" + a.source + "'");
        info = store->assign(a.domain, a.source, a.target);
    }
    const std::string owner = info.graph_owner ? *info.graph_owner : a.source;
    if (c.json) {
        json j = commit_json(info);
        j["unchanged"] = info.live_count;
        j["seconds"] = seconds_since(t0);
        out << json_text(j, 2) << '\n';
        return 0;
    }
    out << "commit '" << info.commit << "' of domain '" << info.domain << "' on '" << a.source
        << "': 0 inserted, 0 deleted, 0 replaced, " << info.live_count << " unchanged\n"
        << "  " << info.live_count << " live, " << info.tombstone_count
        << " tombstones; shares the graph of '" << owner << "' (graph file " << info.graph_file
        << ", " << megabytes(info.graph_bytes) << "), no graph file written; in "
        << seconds(seconds_since(t0)) << '\n';
    return 0;
}

int run_search(const SearchArgs& a, const Common& c, std::ostream& out) {
    const int given =
        a.vector.has_value() + !a.vector_file.empty() + a.id.has_value() + a.text.has_value();
    if (given != 1)
        throw UsageError(
            "give the query as exactly one of --vector, --vector-file, --id and --text");
    if (a.k == 0)
        throw UsageError("-k must be at least 1");
    if (a.text && a.embed.command.empty())
        throw UsageError("--text needs --embed-command, the command that turns it into a vector");
    if (!a.text && !a.embed.command.empty())
        throw UsageError("--embed-command goes with --text");
    if (a.domains.size() <= 1 && a.commits.size() > 1)
        throw UsageError("--commit is given " + std::to_string(a.commits.size()) +
                         " times for one domain; several commits need one --domain each");
    if (a.domains.size() > 1 && a.commits.size() > 1 && a.commits.size() != a.domains.size())
        throw UsageError("give one --commit for every --domain, or one --commit for all; " +
                         std::to_string(a.domains.size()) + " domains and " +
                         std::to_string(a.commits.size()) + " commits were given");
    const auto embedder = make_embedder(a.embed);
    if (a.text)
        at("--text", [&] { embed::check_text(*a.text); });
    const Source s = Source::open(a.source, store_options(c), pack_open_options(c));
    std::vector<std::shared_ptr<const Snapshot>> snapshots;
    const auto first = [](const std::vector<std::string>& v) {
        return v.empty() ? std::nullopt : std::optional<std::string>(v[0]);
    };
    if (a.domains.size() <= 1) {
        snapshots.push_back(s.open_commit(first(a.domains), first(a.commits)));
    } else {
        if (s.is_pack())
            throw UsageError("'" + a.source +
                             "' is a pack, which holds one domain; search several domains of "
                             "a store");
        for (size_t i = 0; i < a.domains.size(); ++i) {
            const auto& commit = a.commits.size() > 1 ? a.commits[i] : first(a.commits);
            snapshots.push_back(s.open_commit(a.domains[i], commit));
        }
    }
    std::vector<std::vector<float>> queries;
    if (a.vector)
        queries.push_back(parse_vector_json(*a.vector, "--vector"));
    else if (!a.vector_file.empty())
        queries = read_query_file(a.vector_file);
    else if (a.id)
        queries.push_back(snapshots[0]->vector(*a.id));
    else
        queries = embedder->embed({*a.text});
    // Each query's errors name it when a file holds several.
    const auto for_each_query = [&](const auto& search) {
        for (size_t i = 0; i < queries.size(); ++i) {
            if (queries.size() == 1)
                search(queries[i]);
            else
                at(a.vector_file + ": query " + std::to_string(i), [&] { search(queries[i]); });
        }
    };
    const bool many = !a.vector_file.empty() && query_file_holds_many(a.vector_file);
    const std::vector<SearchFilter> filters = only_ids_filters(a.only_ids, snapshots, c.quiet);
    if (snapshots.size() == 1) {
        std::vector<std::vector<SearchHit>> results;
        if (!filters.empty())
            for_each_query([&](const std::vector<float>& q) {
                results.push_back(a.exact ? snapshots[0]->search_exact(q, a.k, filters[0])
                                          : snapshots[0]->search(q, a.k, a.ef, filters[0]));
            });
        else if (a.exact && queries.size() > 1)
            results = search_exact_file(*snapshots[0], queries, a.k, a.vector_file);
        else
            for_each_query([&](const std::vector<float>& q) {
                results.push_back(a.exact ? snapshots[0]->search_exact(q, a.k)
                                          : snapshots[0]->search(q, a.k, a.ef));
            });
        write_results(results, many, c.json, out);
        return 0;
    }
    std::vector<std::vector<MultiHit>> results;
    for_each_query([&](const std::vector<float>& q) {
        if (!filters.empty())
            results.push_back(a.exact ? search_many_exact(snapshots, filters, q, a.k)
                                      : search_many(snapshots, filters, q, a.k, a.ef));
        else
            results.push_back(a.exact ? search_many_exact(snapshots, q, a.k)
                                      : search_many(snapshots, q, a.k, a.ef));
    });
    write_results(results, many, c.json, out);
    return 0;
}

int run_similar(const SimilarArgs& a, const Common& c, std::ostream& out) {
    if (a.k == 0)
        throw UsageError("-k must be at least 1");
    const Source s = Source::open(a.source, store_options(c), pack_open_options(c));
    const auto hits = s.open_commit(a.domain, a.commit)->similar(a.id, a.k, a.ef);
    if (c.json)
        out << json_text(hits_json(hits)) << '\n';
    else
        print_hits(hits, out);
    return 0;
}

int run_duplicates(const DuplicatesArgs& a, const Common& c, std::ostream& out) {
    if (!(a.threshold >= 0))
        throw UsageError("--threshold must be a distance of 0 or more");
    const Source s = Source::open(a.source, store_options(c), pack_open_options(c));
    const auto snapshot = s.open_commit(a.domain, a.commit);
    Progress progress("finding duplicates", c.quiet);
    progress.update("in " + std::to_string(snapshot->size()) + " vectors");
    for (const auto& p : snapshot->duplicates(a.threshold)) {
        out << json_text(duplicate_json(p)) << '\n';
    }
    return 0;
}

int run_log(const ReadArgs& a, const Common& c, std::ostream& out) {
    const Source s = Source::open(a.source, store_options(c), pack_open_options(c));
    const std::string domain = s.domain(a.domain);
    std::vector<CommitInfo> commits;
    if (a.commit) {
        commits = s.log(domain, s.commit(domain, a.commit));
    } else {
        commits = s.commits(domain);
        sort_newest_first(commits);
    }
    if (c.json) {
        json list = json::array();
        for (const auto& ci : commits)
            list.push_back(commit_json(ci));
        out << json_text(list, 2) << '\n';
        return 0;
    }
    size_t width = 6;
    for (const auto& ci : commits)
        width = std::max({width, ci.commit.size(), ci.parent ? ci.parent->size() : 0});
    out << std::left << std::setw(int(width)) << "commit"
        << "  " << std::setw(int(width)) << "parent"
        << "  created               operations           live  tombstones\n";
    for (const auto& ci : commits) {
        out << std::left << std::setw(int(width)) << ci.commit << "  " << std::setw(int(width))
            << (ci.parent ? *ci.parent : "-") << "  " << iso_time(ci.created_unix_ms) << "  "
            << std::setw(19) << operation_counts(ci) << std::right << std::setw(6) << ci.live_count
            << "  " << std::setw(10) << ci.tombstone_count << (ci.compacted ? "  compacted" : "")
            << (ci.graph_owner ? "  shares the graph of " + *ci.graph_owner +
                                     (ci.owner_dropped ? " (dropped)" : "")
                               : std::string())
            << (ci.parent_dropped ? "  parent dropped: history cut here" : "") << '\n';
    }
    if (s.is_pack() && !commits.empty() && commits.back().parent)
        out << "(the pack holds only commit '" << commits.back().commit << "')\n";
    return 0;
}

int run_pack(const PackArgs& a, const Common& c, std::ostream& out) {
    const auto t0 = Clock::now();
    auto store = Store::open(a.store, store_options(c));
    PackWriteOptions options;
    options.threads = c.threads;
    options.on_crash_leftovers = say_pack_leftovers();
    Progress progress("packing", c.quiet);
    options.progress = [&](double f) { progress.fraction(f); };
    const PackConfig config = Pack::write(*store, a.domain, a.commit, a.out, options);
    progress.done();
    uint64_t bytes = 0;
    std::error_code ec;
    if (pack_kind_for(a.out) == PackKind::kDirectory) {
        for (const auto& f : config.files)
            bytes += f.bytes;
        bytes += config.json.size();
    } else {
        bytes = std::filesystem::file_size(a.out, ec);
    }
    if (c.json) {
        json j = json::parse(config.json);
        j["path"] = a.out;
        j["bytes"] = bytes;
        j["seconds"] = seconds_since(t0);
        out << json_text(j, 2) << '\n';
        return 0;
    }
    out << "packed commit '" << a.commit << "' of domain '" << a.domain << "' into '" << a.out
        << "': " << config.commit.live_count << " live vectors"
        << (config.commit.tombstone_count
                ? " and " + std::to_string(config.commit.tombstone_count) + " tombstones"
                : std::string())
        << ", " << megabytes(bytes) << " in " << seconds(seconds_since(t0)) << '\n';
    return 0;
}

StoreOptions store_options(const Common& c) {
    StoreOptions o;
    o.threads = c.threads;
    o.on_crash_leftovers = say_store_leftovers();
    return o;
}

}  // namespace vstore::cli
