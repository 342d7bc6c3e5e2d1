// Vacuum (spec/lifecycle.md): a domain's vector file rewritten with only the vectors its
// commits' graph files refer to, and every graph file rewritten to the new numbering. New
// files are written under new names, the catalog switches to them in one transaction, and
// only then are the old files deleted; a crash before the switch leaves the old files in
// force, after it the new ones.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "crash_point.h"
#include "file_bytes.h"
#include "graph_files.h"
#include "graph_layers.h"
#include "graph_writer.h"
#include "store_files.h"
#include "store_impl.h"
#include "writer_lock.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

namespace vstore {

namespace {

// The old vector index -> new index map: the kept indices in order.
class Renumbering {
  public:
    explicit Renumbering(std::vector<uint64_t> kept) : kept_(std::move(kept)) {}
    uint64_t size() const { return kept_.size(); }
    const std::vector<uint64_t>& kept() const { return kept_; }
    uint64_t new_of(uint64_t old, const std::string& file) const {
        auto it = std::lower_bound(kept_.begin(), kept_.end(), old);
        if (it == kept_.end() || *it != old)
            throw Error::corruption("graph file '" + file + "' refers to vector " +
                                    std::to_string(old) + ", which vacuum did not keep");
        return static_cast<uint64_t>(it - kept_.begin());
    }
    // How many kept vectors lie below `count`: a commit's vector_count after renumbering.
    uint64_t count_below(uint64_t count) const {
        return static_cast<uint64_t>(std::lower_bound(kept_.begin(), kept_.end(), count) -
                                     kept_.begin());
    }

  private:
    std::vector<uint64_t> kept_;
};

// A full graph read node for node, with its vector indices renumbered.
class RenumberedSource : public detail::LayersSource {
  public:
    RenumberedSource(const detail::GraphLayers& g, const Renumbering& r, const std::string& file)
        : LayersSource(g), r_(r), file_(file) {}
    uint64_t vector_index(uint32_t i) const override {
        return r_.new_of(LayersSource::vector_index(i), file_);
    }

  private:
    const Renumbering& r_;
    const std::string& file_;
};

struct GraphFilePlan {
    GraphFileRef old;
    bool full = false;
    std::string base;  // a delta's base file (old name)
    std::shared_ptr<const detail::FileBytes> bytes;  // the old file, mapped once
    GraphFileRef now;  // once written
};

// The first name of `name_of(1), name_of(2), ...` that is neither taken nor a file of `dir`
// (an orphan left by an earlier vacuum is not overwritten).
std::string free_name(const std::string& dir, const std::set<std::string>& taken,
                      const std::function<std::string(uint32_t)>& name_of) {
    return detail::first_usable_name(
        name_of,
        [&](const std::string& name) {
            std::error_code ec;
            return !taken.count(name) && !std::filesystem::exists(dir + "/" + name, ec);
        },
        "vacuum: every later generation of '" + name_of(1) + "' is too long or in use");
}

}  // namespace

VacuumReport Store::vacuum(const std::string& domain_name, const VacuumProgress& progress) {
    const auto report_progress = [&](double f) {
        if (progress)
            progress(f);
    };
    const detail::WriterLock lock = impl_->writer_lock();
    const DomainInfo d = impl_->domain(domain_name);
    const std::vector<CommitInfo> all = impl_->catalog->commits(d.name);
    const std::string& dir = impl_->dir;

    // Every graph file a commit reads, roots before the deltas on them, each checked whole.
    std::map<std::string, GraphFilePlan> plans;
    std::vector<std::string> order;  // chain positions ascending: a base before its deltas
    size_t longest = 0;
    for (const CommitInfo& c : all)
        longest = std::max(longest, c.graph_chain.size());
    for (size_t depth = 0; depth < longest; ++depth) {
        for (const CommitInfo& c : all) {
            if (depth >= c.graph_chain.size() || plans.count(c.graph_chain[depth].name))
                continue;
            GraphFilePlan p;
            p.old = c.graph_chain[depth];
            p.full = depth == 0;
            if (depth > 0)
                p.base = c.graph_chain[depth - 1].name;
            plans.emplace(p.old.name, p);
            order.push_back(p.old.name);
        }
    }
    const auto old_file = VectorFile::open(dir + "/" + d.vector_file,
                                           {ServingMode::kPool, size_t(64) << 20, false});
    VacuumReport report;
    report.domain = d.name;
    report.vector_file = d.vector_file;
    report.vectors_before = old_file->size();
    report.vector_file_bytes_before = detail::size_of_file(old_file->path());

    std::vector<uint8_t> used(old_file->size(), 0);
    for (const std::string& name : order) {
        GraphFilePlan& p = plans.at(name);
        p.bytes = detail::FileBytes::map(dir + "/" + name);
        if (p.bytes->bytes().size() != p.old.bytes ||
            format::graph_file_checksum(p.bytes->bytes()) != p.old.checksum)
            throw Error::corruption("graph file '" + name + "' of domain '" + d.name +
                                    "' does not match the size and checksum the catalog "
                                    "recorded; vacuum changed nothing");
        for (uint64_t v : detail::graph_file_vectors(p.bytes->bytes(), name)) {
            if (v >= used.size())
                throw Error::corruption("graph file '" + name + "' refers to vector " +
                                        std::to_string(v) + "; vector file '" + d.vector_file +
                                        "' holds " + std::to_string(used.size()));
            used[v] = 1;
        }
        report.graph_bytes_before += p.old.bytes;
    }
    std::vector<uint64_t> kept;
    for (uint64_t v = 0; v < used.size(); ++v)
        if (used[v])
            kept.push_back(v);
    const Renumbering renumbering(std::move(kept));
    report.vectors_after = renumbering.size();
    report_progress(0.05);
    if (renumbering.size() == old_file->size()) {
        report.vector_file_bytes_after = report.vector_file_bytes_before;
        report.graph_bytes_after = report.graph_bytes_before;
        report_progress(1);
        return report;  // nothing to reclaim: the files stay as they are
    }

    // The new vector file, under a name nothing else has, its vectors copied bit for bit
    // after their page checksums are checked (pool mode reads check them).
    std::set<std::string> taken = detail::chain_files(all);
    taken.insert(d.vector_file);
    // Generations only go up, so that a store object that still holds an older vector file
    // of the domain always sees a new name (Store::Impl::reader compares names).
    uint32_t current = 1;
    const std::string encoded = format::percent_encode(d.name) + "@";
    if (d.vector_file.rfind(encoded, 0) == 0)
        current = static_cast<uint32_t>(std::strtoul(d.vector_file.c_str() + encoded.size(),
                                                     nullptr, 10));
    const std::string vector_file = free_name(dir, taken, [&](uint32_t g) {
        return format::vector_file_name(d.name, g + current);
    });
    taken.insert(vector_file);
    std::vector<VectorHash> content;  // the content index, renumbered (and filled in)
    {
        VectorFile::create(dir + "/" + vector_file, d.name, d.dimension);
        VectorFileOptions w;
        w.writable = true;
        auto out = VectorFile::open(dir + "/" + vector_file, w);
        constexpr size_t kBatch = 4096;
        std::vector<float> batch;
        batch.reserve(kBatch * d.dimension);
        const auto& ids = renumbering.kept();
        for (size_t i = 0; i < ids.size(); ++i) {
            const LoadedVec v = old_file->get(ids[i]);
            batch.insert(batch.end(), v.data(), v.data() + d.dimension);
            if (impl_->options.reuse_vectors)
                content.push_back({format::vector_hash(v.values()), i});
            if (batch.size() == kBatch * d.dimension || i + 1 == ids.size()) {
                out->append(batch);
                batch.clear();
                report_progress(0.05 + 0.75 * double(i + 1) / double(ids.size()));
            }
        }
    }
    detail::crash_point("vacuum-vectors-written");

    // Every graph file anew, renumbered, a delta naming its base's new file.
    size_t done = 0;
    for (const std::string& name : order) {
        GraphFilePlan& p = plans.at(name);
        const std::shared_ptr<const detail::FileBytes>& mapped = p.bytes;
        std::vector<uint8_t> bytes;
        format::GraphHeader h;
        if (p.full) {
            std::shared_ptr<const detail::GraphLayers> g =
                format::graph_file_version(mapped->bytes(), name) == format::kGraphFormatV1
                    ? detail::GraphLayers::from_v1(mapped->bytes(), name)
                    : std::make_shared<const detail::GraphLayers>(
                          detail::GraphLayers::Part{name, mapped},
                          std::vector<detail::GraphLayers::Part>{});
            h = g->header();
            h.vector_count = renumbering.count_below(h.vector_count);
            bytes = format::encode_full_graph(h, RenumberedSource(*g, renumbering, name));
        } else {
            format::DecodedDelta delta = format::decode_delta_graph(mapped->bytes(), name);
            h = delta.header;
            for (format::DeltaNode& n : delta.delta.new_nodes)
                n.vector_index = renumbering.new_of(n.vector_index, name);
            for (auto& change : delta.delta.vector_changes)
                change.second = renumbering.new_of(change.second, name);
            h.vector_count = renumbering.count_below(h.vector_count);
            const GraphFileRef& base = plans.at(p.base).now;
            h.base_file = base.name;
            h.base_file_bytes = base.bytes;
            h.base_file_checksum = base.checksum;
            bytes = format::encode_delta_graph(h, delta.delta);
        }
        const std::string new_name = free_name(
            dir, taken, [&](uint32_t g) { return format::graph_file_name(d.name, h.commit, g); });
        taken.insert(new_name);
        detail::write_graph_file(dir, new_name, bytes);
        p.now = {new_name, bytes.size(), format::graph_file_checksum(bytes)};
        report.graph_bytes_after += bytes.size();
        ++report.graph_files;
        report_progress(0.8 + 0.15 * double(++done) / double(order.size()));
    }
    detail::crash_point("vacuum-graphs-written");

    // The switch: the domain and every commit name the new files, in one transaction.
    std::vector<CommitInfo> rewrite;
    for (CommitInfo c : all) {
        for (GraphFileRef& f : c.graph_chain)
            f = plans.at(f.name).now;
        c.graph_file = c.graph_chain.back().name;
        c.graph_bytes = c.graph_chain.back().bytes;
        c.graph_checksum = c.graph_chain.back().checksum;
        c.graph_format = format::kGraphFormatV2;  // a version 1 file is rewritten as version 2
        c.vector_count = renumbering.count_below(c.vector_count);
        rewrite.push_back(std::move(c));
    }
    DomainInfo now = d;
    now.vector_file = vector_file;
    impl_->catalog->rewrite_commits(d.name, {}, rewrite, now, content);
    detail::crash_point("vacuum-catalog-written");
    std::set<std::string> commits;
    for (const CommitInfo& c : all)
        commits.insert(c.commit);
    impl_->forget(d.name, commits);
    impl_->forget_vector_file(d.name);

    std::vector<std::string> old_files = {d.vector_file};
    for (const auto& [name, p] : plans)
        old_files.push_back(name);
    detail::remove_store_files(dir, old_files);
    report.rewritten = true;
    report.vector_file = vector_file;
    report.vector_file_bytes_after = detail::size_of_file(dir + "/" + vector_file);
    report_progress(1);
    return report;
}

}  // namespace vstore
