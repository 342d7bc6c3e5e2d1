// The lifecycle of a store (spec/lifecycle.md): dropping commits, garbage collection by a
// retention rule, and the space report. Drop and gc hold the writer lock, so no commit is
// built meanwhile in any process; readers are never blocked.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "crash_point.h"
#include "file_bytes.h"
#include "store_files.h"
#include "store_impl.h"
#include "writer_lock.h"
#include "vstore/format/error.h"
#include "vstore/lifecycle.h"

namespace vstore {

namespace {

uint64_t sum_bytes(const std::vector<GraphFileRef>& files) {
    uint64_t total = 0;
    for (const auto& f : files)
        total += f.bytes;
    return total;
}

// What dropping `drop` from a domain whose commits are `all` does, worked out from the
// catalog alone: no file is read and nothing is changed.
struct DropPlan {
    DroppedCommits report;
    std::vector<CommitInfo> rewrite;  // kept commits whose parent or owner is dropped
    std::vector<CommitInfo> kept;
};

DropPlan plan_drop(const std::string& domain, const std::vector<CommitInfo>& all,
                   const std::set<std::string>& drop) {
    DropPlan plan;
    plan.report.domain = domain;
    std::map<std::string, GraphFileRef> dropped_files;  // in the chains of dropped commits
    std::set<std::string> written_by_dropped;           // graph files dropped commits wrote
    for (const CommitInfo& c : all) {
        if (!drop.count(c.commit)) {
            plan.kept.push_back(c);
            continue;
        }
        plan.report.dropped.push_back(c.commit);
        for (const GraphFileRef& f : c.graph_chain)
            dropped_files.emplace(f.name, f);
        if (!c.graph_owner)
            written_by_dropped.insert(c.graph_file);
    }
    const std::set<std::string> needed = detail::chain_files(plan.kept);
    for (const auto& [name, ref] : dropped_files) {
        if (!needed.count(name))
            plan.report.removed.push_back(ref);
        else if (written_by_dropped.count(name))
            plan.report.kept.push_back(ref);
    }
    for (CommitInfo c : plan.kept) {
        bool changed = false;
        if (c.parent && !c.parent_dropped && drop.count(*c.parent)) {
            c.parent_dropped = true;
            plan.report.cut.push_back(c.commit);
            changed = true;
        }
        if (c.graph_owner && !c.owner_dropped && drop.count(*c.graph_owner)) {
            c.owner_dropped = true;
            changed = true;
        }
        if (changed)
            plan.rewrite.push_back(std::move(c));
    }
    std::sort(plan.report.dropped.begin(), plan.report.dropped.end());
    std::sort(plan.report.cut.begin(), plan.report.cut.end());
    return plan;
}

}  // namespace

// Carries out a plan under the writer lock: the catalog first, in one transaction, then the
// files. A crash between the two leaves files no commit names, which gc removes.
void Store::Impl::drop_planned(const std::string& domain, const std::vector<std::string>& drop,
                               const std::vector<CommitInfo>& rewrite,
                               const std::vector<GraphFileRef>& removed) {
    catalog->rewrite_commits(domain, drop, rewrite);
    detail::crash_point("drop-catalog-written");
    forget(domain, std::set<std::string>(drop.begin(), drop.end()));
    std::vector<std::string> names;
    for (const GraphFileRef& f : removed)
        names.push_back(f.name);
    detail::remove_store_files(dir, names);
}

void sort_newest_first(std::vector<CommitInfo>& commits) {
    std::sort(commits.begin(), commits.end(), [](const CommitInfo& a, const CommitInfo& b) {
        return a.created_unix_ms != b.created_unix_ms ? a.created_unix_ms > b.created_unix_ms
                                                      : a.commit > b.commit;
    });
}

uint64_t DroppedCommits::bytes_freed() const {
    return sum_bytes(removed);
}

uint64_t GcReport::bytes_freed() const {
    uint64_t total = orphan_bytes;
    for (const auto& d : domains)
        total += d.bytes_freed();
    return total;
}


DroppedCommits Store::drop_commits(const std::string& domain,
                                   const std::vector<std::string>& commits, bool dry_run) {
    const detail::WriterLock lock = impl_->writer_lock(/*keep_leftovers=*/dry_run);
    impl_->domain(domain);
    const std::vector<CommitInfo> all = impl_->catalog->commits(domain);
    std::set<std::string> drop;
    for (const std::string& name : commits) {
        const bool known = std::any_of(all.begin(), all.end(),
                                       [&](const CommitInfo& c) { return c.commit == name; });
        if (!known)
            throw Error::not_found("unknown commit '" + name + "' in domain '" + domain +
                                   "'; nothing was dropped");
        drop.insert(name);
    }
    DropPlan plan = plan_drop(domain, all, drop);
    if (!dry_run && !drop.empty())
        impl_->drop_planned(domain, plan.report.dropped, plan.rewrite, plan.report.removed);
    return plan.report;
}

GcReport Store::gc(const GcOptions& options) {
    if (options.keep.empty() && (!options.keep_last || *options.keep_last == 0))
        throw Error::invalid_argument(
            "gc keeps only what it is told to: give keep_last (--keep-last) of at least 1, or "
            "commits to keep (--keep)");
    // gc reports the temporary files with the orphans (step 2), so that a dry run keeps them.
    const detail::WriterLock lock = impl_->writer_lock(/*keep_leftovers=*/true);
    std::vector<DomainInfo> domains;
    if (options.domain)
        domains.push_back(impl_->domain(*options.domain));
    else
        domains = impl_->catalog->domains();
    const std::set<std::string> keep(options.keep.begin(), options.keep.end());
    std::set<std::string> keep_seen;
    GcReport report;
    for (const DomainInfo& d : domains) {
        std::vector<CommitInfo> all = impl_->catalog->commits(d.name);
        sort_newest_first(all);
        std::set<std::string> drop;
        for (size_t i = 0; i < all.size(); ++i) {
            const bool named = keep.count(all[i].commit) > 0;
            if (named)
                keep_seen.insert(all[i].commit);
            if (!named && !(options.keep_last && i < *options.keep_last))
                drop.insert(all[i].commit);
        }
        DropPlan plan = plan_drop(d.name, all, drop);
        // Files of this domain no commit names, once the plan is carried out.
        for (const auto& f : detail::orphan_files(impl_->dir, d, all)) {
            report.orphans.push_back(f.name);
            report.orphan_bytes += f.bytes;
        }
        if (!options.dry_run && !drop.empty())
            impl_->drop_planned(d.name, plan.report.dropped, plan.rewrite, plan.report.removed);
        report.domains.push_back(std::move(plan.report));
    }
    for (const auto& f : detail::temporary_files(impl_->dir)) {
        report.orphans.push_back(f.name);
        report.orphan_bytes += f.bytes;
    }
    if (!options.dry_run)
        detail::remove_store_files(impl_->dir, report.orphans);
    for (const std::string& name : keep) {
        if (!keep_seen.count(name))
            report.keep_unknown.push_back(name);
    }
    return report;
}

SpaceReport Store::space(const std::optional<std::string>& domain) const {
    namespace fs = std::filesystem;
    std::vector<DomainInfo> domains;
    if (domain)
        domains.push_back(impl_->domain(*domain));
    else
        domains = impl_->catalog->domains();
    SpaceReport report;
    report.catalog_bytes = detail::size_of_file(impl_->dir + "/catalog");
    for (const auto& f : detail::temporary_files(impl_->dir)) {
        ++report.temporary_files;
        report.temporary_bytes += f.bytes;
    }
    for (const DomainInfo& d : domains) {
        DomainSpace s;
        s.domain = d.name;
        const std::vector<CommitInfo> all = impl_->catalog->commits(d.name);
        s.commits = all.size();
        const auto file = VectorFile::open(impl_->dir + "/" + d.vector_file);
        s.vectors = file->size();
        s.vector_bytes = file->layout().vector_bytes;
        s.vector_file_bytes = detail::size_of_file(file->path());

        std::set<std::string> parents, written, head_files;
        std::map<std::string, std::pair<GraphFileRef, bool>> files;  // name -> (file, full)
        for (const CommitInfo& c : all) {
            if (c.parent && !c.parent_dropped)
                parents.insert(*c.parent);
            if (!c.graph_owner)
                written.insert(c.graph_file);
            // A chain is its full root, then deltas.
            for (size_t i = 0; i < c.graph_chain.size(); ++i)
                files.emplace(c.graph_chain[i].name, std::make_pair(c.graph_chain[i], i == 0));
        }
        for (const CommitInfo& c : all) {
            if (parents.count(c.commit))
                continue;
            ++s.heads;
            for (const GraphFileRef& f : c.graph_chain)
                head_files.insert(f.name);
        }
        // 0: referenced by no file, 1: only by files no head reads, 2: by a file a head reads.
        std::vector<uint8_t> use(s.vectors, 0);
        for (const auto& [name, entry] : files) {
            const auto& [ref, full] = entry;
            const uint8_t level = head_files.count(name) ? 2 : 1;
            const auto mapped = detail::FileBytes::map(impl_->dir + "/" + name);
            for (uint64_t v : detail::graph_file_vectors(mapped->bytes(), name)) {
                if (v < use.size())
                    use[v] = std::max(use[v], level);
            }
            const uint64_t bytes = ref.bytes;
            if (full) {
                ++s.full_files;
                s.full_bytes += bytes;
            } else {
                ++s.delta_files;
                s.delta_bytes += bytes;
            }
            if (!written.count(name)) {
                ++s.base_only_files;
                s.base_only_bytes += bytes;
            }
        }
        for (uint8_t u : use) {
            if (u == 2)
                ++s.head_vectors;
            else if (u == 1)
                ++s.history_vectors;
            else
                ++s.unreferenced_vectors;
        }
        for (const auto& f : detail::orphan_files(impl_->dir, d, all)) {
            ++s.orphan_files;
            s.orphan_bytes += f.bytes;
        }
        report.domains.push_back(std::move(s));
    }
    return report;
}

}  // namespace vstore
