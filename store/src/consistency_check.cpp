// Store::verify_consistency: the invariants of spec/consistency.md between a domain's catalog
// records, its vector file and its commits' graph files that opening a commit leaves
// unchecked (D2, D3, G6's equality, G8, G9, K1, K2, C1, C2). It only reads.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <unordered_map>

#include "graph_files.h"
#include "store_impl.h"
#include "vstore/format/catalog_records.h"

namespace vstore {

namespace {

std::string hex64(uint64_t v) {
    char buf[19];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string quoted(const std::optional<std::string>& name) {
    return name ? "'" + *name + "'" : std::string("none");
}

// " (and N more)" after the first of `count` faults of one kind, or nothing for one.
std::string and_more(uint64_t count) {
    if (count <= 1)
        return {};
    std::string s = " (and ";
    s += std::to_string(count - 1);
    s += " more)";
    return s;
}

// The first of a kind of fault and how many there were: a damaged file may break an invariant
// for thousands of entries, which one line per kind describes well enough.
struct FirstFault {
    uint64_t count = 0;
    std::string first;
    void add(const std::function<std::string()>& describe) {
        if (count++ == 0)
            first = describe();
    }
};

class DomainChecker {
  public:
    DomainChecker(const std::string& dir, const Catalog& catalog, const StoreOptions& options,
                  DomainInfo domain, ConsistencyReport& report)
        : dir_(dir),
          catalog_(catalog),
          options_(options),
          d_(std::move(domain)),
          next_key_(catalog.next_key(d_.name)),
          report_(report) {}

    // D2 and D3.
    void check_vector_file() {
        std::unique_ptr<VectorFile> file;
        try {
            VectorFileOptions o;
            o.mode = options_.mode;
            o.pool_budget_bytes = options_.pool_budget_bytes;
            o.verify_mapped = true;  // a vector hashed for D3 is checked against its checksum
            file = VectorFile::open(dir_ + "/" + d_.vector_file, o);
        } catch (const Error& e) {
            report_.unreadable.push_back({"D1", d_.name, {}, e.what()});
            return;
        }
        const std::string vf = "vector file '" + d_.vector_file + "'";
        if (file->dimension() != d_.dimension) {
            problem("D2", {},
                    vf + " has dimension " + std::to_string(file->dimension()) +
                        "; the domain records " + std::to_string(d_.dimension));
        }
        if (file->domain() != d_.name)
            problem("D2", {}, vf + " belongs to domain '" + file->domain() + "'");
        if (file->dimension() == d_.dimension)
            check_content_index(*file, vf);
    }

    void check_commit(const CommitInfo& c, const std::map<std::string, CommitInfo>& commits) {
        check_owner(c, commits);
        check_parent(c, commits);
        std::shared_ptr<const detail::GraphLayers> graph;
        try {
            graph = detail::open_commit_graph(dir_, c);
        } catch (const Error& e) {
            report_.unreadable.push_back({"G1", d_.name, c.commit, e.what()});
            return;
        }
        check_header(c, *graph, commits);
        check_keys(c, *graph);
        ++report_.commits_checked;
    }

  private:
    void problem(const char* invariant, const std::string& commit, std::string what) {
        report_.problems.push_back({invariant, d_.name, commit, std::move(what)});
    }

    // D3: every entry (H, n) names a vector of the file, whose bytes hash to H.
    void check_content_index(const VectorFile& file, const std::string& vf) {
        std::vector<VectorHash> entries;
        try {
            entries = catalog_.vector_hashes(d_.name);
        } catch (const Error& e) {
            problem("D3", {}, std::string("the content index cannot be read: ") + e.what());
            return;
        }
        // In file order, so that the scan reads the file front to back.
        std::sort(entries.begin(), entries.end(), [](const VectorHash& a, const VectorHash& b) {
            return a.index < b.index || (a.index == b.index && a.hash < b.hash);
        });
        const uint64_t count = file.size();
        FirstFault past_end, mismatch, unreadable;
        const auto scan = file.scan_scope();
        for (const VectorHash& e : entries) {
            // Built only for the first fault of each kind.
            const auto entry = [&e] {
                return "the content index entry (hash " + hex64(e.hash) + ", vector " +
                       std::to_string(e.index) + ")";
            };
            if (e.index >= count) {
                past_end.add([&] {
                    return entry() + " names no vector: " + vf + " holds " + std::to_string(count);
                });
                continue;
            }
            uint64_t hash = 0;
            try {
                const LoadedVec v = file.get(e.index);
                hash = format::vector_hash({v.data(), v.dimension()});
            } catch (const Error& error) {
                unreadable.add([&] { return entry() + ": " + error.what(); });
                continue;
            }
            ++report_.vector_entries_checked;
            if (hash != e.hash)
                mismatch.add([&] {
                    return entry() + " does not match: the vector's hash is " + hex64(hash);
                });
        }
        if (past_end.count != 0)
            problem("D3", {}, past_end.first + and_more(past_end.count));
        if (mismatch.count != 0)
            problem("D3", {}, mismatch.first + and_more(mismatch.count));
        if (unreadable.count != 0)
            report_.unreadable.push_back(
                {"D3", d_.name, {}, unreadable.first + and_more(unreadable.count)});
    }

    // C1: a commit sharing its graph has its owner's chain and counts.
    void check_owner(const CommitInfo& c, const std::map<std::string, CommitInfo>& commits) {
        if (!c.graph_owner || c.owner_dropped)
            return;
        const std::string shares = "shares the graph of commit '" + *c.graph_owner + "'";
        const auto it = commits.find(*c.graph_owner);
        if (it == commits.end()) {
            problem("C1", c.commit, shares + ", which the domain does not have");
            return;
        }
        const CommitInfo& o = it->second;
        if (c.graph_chain != o.graph_chain) {
            problem("C1", c.commit,
                    shares + " but records another graph chain (ending in '" + c.graph_file +
                        "', the owner's in '" + o.graph_file + "')");
        }
        auto compare = [&](const char* field, uint64_t mine, uint64_t owners) {
            if (mine != owners) {
                problem("C1", c.commit,
                        shares + " but records " + field + " " + std::to_string(mine) +
                            "; the owner " + std::to_string(owners));
            }
        };
        compare("vector_count", c.vector_count, o.vector_count);
        compare("live_count", c.live_count, o.live_count);
        compare("tombstone_count", c.tombstone_count, o.tombstone_count);
    }

    // C2: vector_count does not shrink from parent to child.
    void check_parent(const CommitInfo& c, const std::map<std::string, CommitInfo>& commits) {
        if (!c.parent || c.parent_dropped)
            return;
        const auto it = commits.find(*c.parent);
        if (it == commits.end()) {
            problem("C2", c.commit, "its parent '" + *c.parent + "' is not a commit of the domain");
            return;
        }
        if (c.vector_count < it->second.vector_count) {
            problem("C2", c.commit,
                    "records vector_count " + std::to_string(c.vector_count) +
                        ", below the vector_count " + std::to_string(it->second.vector_count) +
                        " of its parent '" + *c.parent + "'");
        }
    }

    // G6's equality, G8, G9: the header of the file the chain yields against the records.
    void check_header(const CommitInfo& c, const detail::GraphLayers& graph,
                      const std::map<std::string, CommitInfo>& commits) {
        const format::GraphHeader& h = graph.header();
        const std::string gf = "graph file '" + graph.name() + "'";
        if (h.vector_count != c.vector_count) {
            problem("G6", c.commit,
                    gf + " has vector_count " + std::to_string(h.vector_count) +
                        "; the commit records " + std::to_string(c.vector_count));
        }
        // The commit that wrote the file: this one, or the owner of the graph it shares.
        const std::string& writer = c.graph_owner ? *c.graph_owner : c.commit;
        if (h.commit != writer) {
            problem("G8", c.commit,
                    gf + " was written by commit '" + h.commit + "', not by '" + writer + "'" +
                        (c.graph_owner ? " (the owner of the graph the commit shares)" : ""));
        }
        // The writer's parent, when its record is there to say.
        std::optional<std::optional<std::string>> writer_parent;
        if (!c.graph_owner) {
            writer_parent = c.parent;
        } else if (!c.owner_dropped) {
            const auto it = commits.find(*c.graph_owner);
            if (it != commits.end())
                writer_parent = it->second.parent;
        }
        if (writer_parent && h.parent != *writer_parent) {
            problem("G8", c.commit,
                    gf + " names parent " + quoted(h.parent) + "; commit '" + writer +
                        "' has parent " + quoted(*writer_parent));
        }
        if (h.ef_construction != d_.ef_construction) {
            problem("G9", c.commit,
                    gf + " has ef_construction " + std::to_string(h.ef_construction) +
                        "; the domain records " + std::to_string(d_.ef_construction));
        }
    }

    // K1 and K2 over the nodes of the yielded graph.
    void check_keys(const CommitInfo& c, const detail::GraphLayers& graph) {
        const std::string gf = "graph file '" + graph.name() + "'";
        std::unordered_map<uint64_t, uint32_t> live_node_of_key;
        std::vector<uint64_t> to_look_up;
        FirstFault twice, past_next_key;
        for (uint32_t i = 0; i < graph.size(); ++i) {
            const uint8_t flags = graph.flags(i);
            if (flags & format::kNodeRemoved)
                continue;
            const uint64_t key = graph.key(i);
            if (graph.live(i)) {
                // Not a structured binding: clang 14 cannot capture one in a lambda.
                const auto emplaced = live_node_of_key.emplace(key, i);
                if (!emplaced.second) {
                    const uint32_t first = emplaced.first->second;
                    twice.add([&] {
                        return "key " + std::to_string(key) + " is on live nodes " +
                               std::to_string(first) + " and " + std::to_string(i) + " of " + gf;
                    });
                }
            }
            if (key >= next_key_) {
                past_next_key.add([&] {
                    return gf + " gives node " + std::to_string(i) + " key " + std::to_string(key) +
                           ", not below the domain's next_key " + std::to_string(next_key_);
                });
            } else if (!known_keys_.contains(key)) {
                known_keys_.emplace(key, false);  // settled below
                to_look_up.push_back(key);
            }
        }
        if (twice.count != 0)
            problem("K1", c.commit, twice.first + and_more(twice.count));
        if (past_next_key.count != 0)
            problem("K2", c.commit, past_next_key.first + and_more(past_next_key.count));

        std::vector<std::optional<std::string>> ids;
        try {
            ids = catalog_.external_ids(d_.name, to_look_up);
        } catch (const Error& e) {
            for (uint64_t key : to_look_up)
                known_keys_.erase(key);
            problem("K2", c.commit,
                    std::string("the keys of ") + gf + " cannot be read: " + e.what());
            return;
        }
        for (size_t j = 0; j < to_look_up.size(); ++j)
            known_keys_[to_look_up[j]] = ids[j].has_value();
        // Every key of this graph, including those an earlier commit looked up.
        FirstFault unknown;
        for (uint32_t i = 0; i < graph.size(); ++i) {
            if (graph.flags(i) & format::kNodeRemoved)
                continue;
            const uint64_t key = graph.key(i);
            if (key < next_key_ && !known_keys_.at(key)) {
                unknown.add([&] {
                    return gf + " gives node " + std::to_string(i) + " key " + std::to_string(key) +
                           ", which the catalog's keys table does not know";
                });
            }
        }
        if (unknown.count != 0)
            problem("K2", c.commit, unknown.first + and_more(unknown.count));
    }

    const std::string& dir_;
    const Catalog& catalog_;
    const StoreOptions& options_;
    const DomainInfo d_;
    const uint64_t next_key_;  // the catalog's, for K2
    ConsistencyReport& report_;
    // Keys below next_key looked up so far, and whether the keys table has them: keys never
    // change, so each is read once for all the commits of the domain.
    std::unordered_map<uint64_t, bool> known_keys_;
};

}  // namespace

ConsistencyReport Store::verify_consistency(const std::string& domain) const {
    const DomainInfo d = impl_->domain(domain);
    ConsistencyReport report;
    report.domain = d.name;
    // The commits first, then the domain's next_key and its vector file: both only grow, so
    // every key and vector of a commit listed here is below what is read after it, even while
    // another process publishes commits (which takes no lock of the reader's).
    std::map<std::string, CommitInfo> commits;
    for (CommitInfo& c : impl_->catalog->commits(d.name))
        commits.emplace(c.commit, std::move(c));
    DomainChecker checker(impl_->dir, *impl_->catalog, impl_->options, d, report);
    checker.check_vector_file();
    for (const auto& [name, c] : commits)
        checker.check_commit(c, commits);
    return report;
}

}  // namespace vstore
