// CommitBuilder: a batch of operations made into a commit by a pipeline of small steps
// (LevelDB's DBImpl::Write and BuildTable are the model): keys resolved, vectors durable,
// graph built, graph written full or delta, catalog published.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "crash_point.h"
#include "graph_files.h"
#include "graph_writer.h"
#include "hnsw_graph.h"
#include "store_files.h"
#include "store_impl.h"
#include "vector_values.h"
#include "writer_lock.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/file_names.h"

namespace vstore {

using detail::commit_seed;
using detail::HnswGraph;
using detail::now_ms;
using detail::short_id;
using detail::thread_count;

struct CommitBuilder::Impl {
    Store::Impl* store = nullptr;
    DomainInfo domain;
    std::string commit;
    std::optional<std::string> parent;
    detail::WriterLock lock;  // released once the commit is published

    Impl(Store::Impl& s, detail::WriterLock writer) : store(&s), lock(std::move(writer)) {}

    enum class Op { kInsert, kDelete, kReplace };
    struct Operation {
        Op op;
        std::string id;
        size_t vector = 0;  // index into `vectors` / dimension
    };
    std::vector<Operation> ops;
    std::unordered_set<std::string> ids_in_batch;
    std::vector<float> vectors;
    bool finished = false;
    // The parent, loaded at the first operation; in snapshot mode (put), the ids put unchanged.
    enum class Mode { kUnknown, kOperations, kSnapshot } mode = Mode::kUnknown;
    std::shared_ptr<const Snapshot> parent_snapshot;
    // Snapshot mode revisits most of the parent's vectors.
    std::optional<VectorFile::ScanScope> parent_scan;
    std::unordered_set<std::string> unchanged;
    bool deletes_added = false;

    void enter(Mode wanted) {
        if (mode == Mode::kUnknown)
            mode = wanted;
        if (mode != wanted) {
            throw Error::invalid_argument(
                "commit '" + commit + "' mixes put() (snapshot mode) with insert/remove/replace");
        }
    }

    // Whether `id` is live in the parent, which is loaded at the first operation.
    bool parent_live(const std::string& id) {
        if (parent && !parent_snapshot)
            parent_snapshot = store->open_commit(domain.name, *parent);
        return parent_snapshot && parent_snapshot->contains(id);
    }

    void put(const std::string& id, std::span<const float> vector) {
        enter(Mode::kSnapshot);
        if (unchanged.count(id)) {
            throw Error::invalid_argument("id '" + short_id(id) + "' appears twice in commit '" +
                                          commit + "'");
        }
        const bool in_parent = parent_live(id);
        add(in_parent ? Op::kReplace : Op::kInsert, id, vector);
        if (!in_parent)
            return;
        // Compare the vector as it would be stored with the parent's, bit for bit.
        const Snapshot::Impl& p = *parent_snapshot->impl_;
        if (!parent_scan)
            parent_scan.emplace(p.file->scan_scope());
        const LoadedVec old = p.file->get(p.graph->vector_index(p.live_node(id)));
        const float* now = vectors.data() + vectors.size() - domain.dimension;
        if (std::memcmp(old.data(), now, domain.dimension * sizeof(float)) == 0) {
            vectors.resize(vectors.size() - domain.dimension);
            ops.pop_back();
            ids_in_batch.erase(id);
            unchanged.insert(id);
        }
    }

    // Snapshot mode: every id of the parent that was not put is deleted.
    void delete_ids_not_put() {
        if (mode != Mode::kSnapshot || !parent_snapshot || deletes_added)
            return;
        deletes_added = true;
        std::vector<std::string> gone;
        for (const auto& [key, id] : parent_snapshot->impl_->live_ids()) {
            if (!ids_in_batch.count(id) && !unchanged.count(id))
                gone.push_back(id);
        }
        std::sort(gone.begin(), gone.end());
        for (const auto& id : gone)
            add(Op::kDelete, id, {});
    }


    // ---- The commit pipeline: finish() runs these steps in order. ----

    // The keys of the batch's ids: a parent's key for a delete or replace, an interned or new
    // key for an insert.
    struct Keys {
        std::vector<uint64_t> of_op;
        std::vector<std::pair<std::string, uint64_t>> new_ids;
    };
    Keys resolve_keys(CommitInfo& info) const {
        Keys k;
        k.of_op.resize(ops.size());
        uint64_t next_key = store->catalog->next_key(domain.name);
        const auto* ids = parent_snapshot ? parent_snapshot->impl_->key_ids.get() : nullptr;
        for (size_t i = 0; i < ops.size(); ++i) {
            const auto& op = ops[i];
            if (op.op == Op::kInsert) {
                if (auto key = store->catalog->find_key(domain.name, op.id)) {
                    k.of_op[i] = *key;
                } else {
                    k.of_op[i] = next_key++;
                    k.new_ids.emplace_back(op.id, k.of_op[i]);
                }
                ++info.inserted;
            } else {
                k.of_op[i] = *ids->key(op.id);  // checked live in the parent as it was added
                ++(op.op == Op::kDelete ? info.deleted : info.replaced);
            }
        }
        return k;
    }

    // Where each vector of the batch lives in the domain's file, once placed.
    struct Placement {
        std::vector<uint64_t> index_of;         // per vector of the batch
        std::vector<VectorHash> new_entries;    // for the content index
    };

    // The batch's vectors, durable before anything refers to them. With the content index
    // (StoreOptions::reuse_vectors), a vector bit-identical to one the domain already stores,
    // or to an earlier one of the batch, takes that vector's index instead of being appended.
    Placement place_vectors(CommitInfo& info) const {
        const uint32_t dim = domain.dimension;
        const size_t n = vectors.size() / dim;
        const bool reuse = store->options.reuse_vectors;
        const auto vector_at = [&](size_t i) {
            return std::span<const float>(vectors.data() + i * dim, dim);
        };
        const auto same = [](std::span<const float> a, const float* b) {
            return std::memcmp(a.data(), b, a.size_bytes()) == 0;
        };
        // Where each vector comes from: a stored vector, an earlier new vector of the batch
        // (its position), or nowhere yet (appended).
        constexpr uint64_t kNew = UINT64_MAX;
        std::vector<uint64_t> stored(n, kNew), earlier(n, kNew), hashes(n, 0);
        std::unordered_map<uint64_t, std::vector<size_t>> new_by_hash;
        std::vector<std::vector<uint64_t>> indexed;  // the content index's entries per hash
        if (reuse) {
            for (size_t i = 0; i < n; ++i)
                hashes[i] = format::vector_hash(vector_at(i));
            indexed = store->catalog->vectors_with_hashes(domain.name, hashes);
        }
        std::shared_ptr<VectorFile> file;
        for (size_t i = 0; i < n && reuse; ++i) {
            auto& candidates = new_by_hash[hashes[i]];
            for (size_t j : candidates) {
                if (same(vector_at(i), vectors.data() + j * dim)) {
                    earlier[i] = j;
                    break;
                }
            }
            if (earlier[i] != kNew)
                continue;
            for (uint64_t index : indexed[i]) {
                if (!file)
                    file = store->reader(domain, 0);
                if (index >= file->size())
                    file->refresh();
                if (index >= file->size())
                    continue;  // an entry past the file's end names nothing to reuse
                if (same(vector_at(i), file->get(index).data())) {
                    stored[i] = index;
                    break;
                }
            }
            if (stored[i] == kNew)
                candidates.push_back(i);
        }
        std::vector<float> append;
        std::vector<size_t> appended;  // batch positions, in append order
        for (size_t i = 0; i < n; ++i) {
            if (stored[i] == kNew && earlier[i] == kNew) {
                appended.push_back(i);
                append.insert(append.end(), vector_at(i).begin(), vector_at(i).end());
            }
        }
        VectorFileOptions w;
        w.writable = true;
        auto writer = VectorFile::open(store->dir + "/" + domain.vector_file, w);
        const uint64_t first = append.empty() ? writer->size() : writer->append(append);
        info.vector_count = writer->size();
        detail::crash_point("vectors-appended");

        Placement p;
        p.index_of = std::move(stored);
        for (size_t j = 0; j < appended.size(); ++j) {
            p.index_of[appended[j]] = first + j;
            if (reuse)
                p.new_entries.push_back({hashes[appended[j]], first + j});
        }
        for (size_t i = 0; i < n; ++i) {
            if (earlier[i] != kNew)
                p.index_of[i] = p.index_of[earlier[i]];  // an appended one, placed above
        }
        return p;
    }

    // The parent's graph loaded into hnswlib, the batch applied with the layered deletion,
    // compacted when tombstones pass their threshold, and every live node made reachable.
    std::unique_ptr<HnswGraph> build_graph(const VectorFile& file, const Keys& keys,
                                           const Placement& placed, CommitInfo& info) const {
        const StoreOptions& options = store->options;
        const unsigned threads = thread_count(options.threads);
        const uint64_t seed = commit_seed(domain.name, commit);
        const size_t additions = info.inserted + info.replaced;
        std::unique_ptr<HnswGraph> graph =
            parent_snapshot
                ? HnswGraph::from_layers(*parent_snapshot->impl_->graph, file, additions, seed)
                : std::make_unique<HnswGraph>(detail::GraphParams{domain.metric, domain.dimension,
                                                                  domain.m, domain.ef_construction},
                                              file, additions, seed);
        const bool replace_by_update = options.replace_strategy == ReplaceStrategy::kUpdate;
        std::vector<uint64_t> deletes;
        std::vector<std::pair<uint64_t, uint64_t>> inserts;
        for (size_t i = 0; i < ops.size(); ++i) {
            const auto& op = ops[i];
            const bool reinsert = op.op == Op::kReplace && !replace_by_update;
            if (op.op == Op::kDelete || reinsert)
                deletes.push_back(keys.of_op[i]);
            if (op.op == Op::kInsert || reinsert)
                inserts.emplace_back(keys.of_op[i], placed.index_of[op.vector]);
        }
        graph->remove_batch(deletes, threads);
        if (replace_by_update) {
            for (size_t i = 0; i < ops.size(); ++i) {
                if (ops[i].op == Op::kReplace)
                    graph->replace(keys.of_op[i], placed.index_of[ops[i].vector]);
            }
        }
        graph->insert_batch(inserts, threads);
        if (graph->tombstone_count() >
            options.tombstone_threshold * double(graph->live_count() + graph->tombstone_count())) {
            // Compaction: a fresh graph of the live nodes, built in parallel.
            std::vector<std::pair<uint64_t, uint64_t>> live;
            for (uint64_t key : graph->live_keys())
                live.emplace_back(key, *graph->vector_of(key));
            graph = std::make_unique<HnswGraph>(graph->params(), file, live.size(), seed);
            graph->insert_batch(live, threads);
            info.compacted = true;
        }
        graph->repair_reachability();
        info.live_count = graph->live_count();
        info.tombstone_count = graph->tombstone_count();
        return graph;
    }

    format::GraphHeader graph_header(const CommitInfo& info) const {
        format::GraphHeader h;
        h.domain = domain.name;
        h.commit = commit;
        h.parent = parent;
        h.metric = domain.metric;
        h.dimension = domain.dimension;
        h.m = domain.m;
        h.ef_construction = domain.ef_construction;
        h.vector_count = info.vector_count;
        h.created_unix_ms = info.created_unix_ms;
        return h;
    }

    // The graph as a delta over the parent's chain, when the policy allows one and it pays;
    // nullopt when a full file must be written.
    std::optional<std::vector<uint8_t>> delta_file(const HnswGraph& graph, const CommitInfo& info,
                                                   std::vector<GraphFileRef>& chain) const {
        const GraphPolicy& policy = store->options.graph_policy;
        if (!policy.deltas || !parent_snapshot || info.compacted)
            return std::nullopt;
        const CommitInfo& p = parent_snapshot->info();
        if (p.graph_format != format::kGraphFormatV2 || p.graph_chain.empty())
            return std::nullopt;
        const bool over_parent = policy.delta_base == GraphPolicy::DeltaBase::kParent;
        chain = over_parent ? p.graph_chain : std::vector<GraphFileRef>{p.graph_chain.front()};
        if (chain.size() > policy.max_chain_depth)
            return std::nullopt;
        std::shared_ptr<const detail::GraphLayers> base = parent_snapshot->impl_->graph;
        if (!over_parent && p.graph_chain.size() > 1) {
            const GraphFileRef& root = chain.front();
            base = std::make_shared<const detail::GraphLayers>(
                detail::GraphLayers::Part{root.name,
                                          detail::FileBytes::map(store->dir + "/" + root.name)},
                std::vector<detail::GraphLayers::Part>{});
        }
        format::GraphHeader h = graph_header(info);
        h.kind = format::GraphKind::kDelta;
        detail::count_graph(graph, h);
        h.entry_point = graph.entry_point();
        h.max_level = graph.max_level();
        h.base_file = chain.back().name;
        h.base_file_bytes = chain.back().bytes;
        h.base_file_checksum = chain.back().checksum;
        h.base_node_count = base->size();
        h.chain_depth = static_cast<uint32_t>(chain.size());
        auto bytes = format::encode_delta_graph(h, detail::diff_graph(graph, *base));
        uint64_t deltas_read = bytes.size();
        for (size_t i = 1; i < chain.size(); ++i)
            deltas_read += chain[i].bytes;
        const uint64_t full = detail::full_graph_bytes(h.live_count + h.tombstone_count,
                                                       h.upper_count, domain.m);
        if (double(deltas_read) > policy.max_delta_share * double(full))
            return std::nullopt;
        return bytes;
    }

    // The graph written durably, as a delta or a full file by the policy.
    void write_graph(const HnswGraph& graph, CommitInfo& info) const {
        info.created_unix_ms = now_ms();
        info.graph_file = detail::free_graph_file_name(store->dir, *store->catalog, domain.name,
                                                       commit);
        info.graph_format = format::kGraphFormatV2;
        std::vector<GraphFileRef> chain;
        std::vector<uint8_t> bytes;
        if (auto delta = delta_file(graph, info, chain)) {
            bytes = std::move(*delta);
            info.graph_kind = format::GraphKind::kDelta;
        } else {
            const detail::CompactSource compact(graph, /*own_payload=*/false);
            format::GraphHeader h = graph_header(info);
            if (graph.entry_point() >= 0) {
                h.entry_point = *compact.new_of(static_cast<uint32_t>(graph.entry_point()));
                h.max_level = graph.max_level();
            }
            bytes = format::encode_full_graph(h, compact);
            info.graph_kind = format::GraphKind::kFull;
            chain.clear();
        }
        info.graph_bytes = bytes.size();
        info.graph_checksum = format::graph_file_checksum(bytes);
        chain.push_back({info.graph_file, info.graph_bytes, info.graph_checksum});
        info.graph_chain = std::move(chain);
        detail::write_graph_file(store->dir, info.graph_file, bytes);
    }

    // The commit visible, in one catalog transaction; the store is free for the next writer.
    void publish(const CommitInfo& info, const std::vector<std::pair<std::string, uint64_t>>& ids,
                 const std::vector<VectorHash>& new_vectors = {}) {
        store->catalog->publish_commit(info, ids, new_vectors);
        detail::crash_point("catalog-published");
        finished = true;
        lock.release();
    }

    // A commit that changes nothing records its parent's graph and writes no file.
    void share_parent_graph(CommitInfo& info) const {
        // The parent's record as it is now, under the writer lock: a loaded snapshot's may
        // predate a drop of its graph owner.
        const CommitInfo p = store->commit(domain.name, *parent);
        info.vector_count = p.vector_count;
        info.live_count = p.live_count;
        info.tombstone_count = p.tombstone_count;
        info.graph_file = p.graph_file;
        info.graph_bytes = p.graph_bytes;
        info.graph_checksum = p.graph_checksum;
        info.graph_kind = p.graph_kind;
        info.graph_format = p.graph_format;
        info.graph_chain = p.graph_chain;
        info.graph_owner = p.graph_owner ? *p.graph_owner : p.commit;
        info.owner_dropped = p.graph_owner && p.owner_dropped;
        info.created_unix_ms = now_ms();
    }

    void add(Op op, const std::string& id, std::span<const float> vector) {
        if (finished)
            throw Error::invalid_argument("commit '" + commit + "' is already finished");
        if (op != Op::kDelete) {
            format::validate_external_id(id);
        } else if (id.empty() || id.size() > format::kMaxExternalIdBytes) {
            // Any other bytes may be deleted: a store written before ids had to be UTF-8 may
            // hold such ids, and a snapshot deletes every id it does not put.
            throw Error::invalid_argument("id '" + short_id(id) + "' must be 1.." +
                                          std::to_string(format::kMaxExternalIdBytes) + " bytes");
        }
        if (ids_in_batch.count(id)) {
            throw Error::invalid_argument("id '" + short_id(id) + "' appears twice in commit '" +
                                          commit + "'");
        }
        // Checked against the parent as it is added, so that the caller's error names it.
        const bool live = parent_live(id);
        if (op == Op::kInsert && live) {
            throw Error::conflict("id '" + short_id(id) + "' is already live in parent commit '" +
                                  *parent + "'");
        }
        if (op != Op::kInsert && !live) {
            throw Error::not_found("id '" + short_id(id) + "' is not live in " +
                                   (parent ? "parent commit '" + *parent + "'"
                                           : std::string("an empty first commit")) +
                                   "; cannot " + (op == Op::kDelete ? "delete" : "replace") +
                                   " it");
        }
        Operation o{op, id, 0};
        if (op != Op::kDelete) {
            if (vector.size() != domain.dimension) {
                throw Error::invalid_argument("vector of id '" + short_id(id) + "' has " +
                                              std::to_string(vector.size()) +
                                              " components; domain '" + domain.name + "' has " +
                                              std::to_string(domain.dimension));
            }
            const double norm = detail::squared_norm(vector);
            if (!detail::within_norm_limit(norm))
                detail::refuse_vector("vector of id '" + short_id(id) + "'", norm);
            if (domain.metric == Metric::kCosine && norm == 0) {
                throw Error::invalid_argument("vector of id '" + short_id(id) +
                                              "' is zero, which has no cosine distance");
            }
            o.vector = vectors.size() / domain.dimension;
            vectors.insert(vectors.end(), vector.begin(), vector.end());
            if (domain.metric == Metric::kCosine)
                detail::normalize({vectors.data() + vectors.size() - domain.dimension,
                                   domain.dimension},
                                  norm);
        }
        ids_in_batch.insert(id);
        ops.push_back(std::move(o));
    }
};

CommitBuilder::CommitBuilder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CommitBuilder::CommitBuilder(CommitBuilder&&) noexcept = default;
CommitBuilder& CommitBuilder::operator=(CommitBuilder&&) noexcept = default;
CommitBuilder::~CommitBuilder() = default;

void CommitBuilder::insert(const std::string& id, std::span<const float> vector) {
    impl_->enter(Impl::Mode::kOperations);
    impl_->add(Impl::Op::kInsert, id, vector);
}
void CommitBuilder::remove(const std::string& id) {
    impl_->enter(Impl::Mode::kOperations);
    impl_->add(Impl::Op::kDelete, id, {});
}
void CommitBuilder::replace(const std::string& id, std::span<const float> vector) {
    impl_->enter(Impl::Mode::kOperations);
    impl_->add(Impl::Op::kReplace, id, vector);
}
void CommitBuilder::put(const std::string& id, std::span<const float> vector) {
    impl_->put(id, vector);
}
void CommitBuilder::begin_snapshot() {
    impl_->enter(Impl::Mode::kSnapshot);
}

CommitBuilder Store::begin_commit(const std::string& domain, const std::string& commit,
                                  std::optional<std::string> parent) {
    format::validate_name("commit", commit);
    format::graph_file_name(domain, commit);  // validates the resulting file name
    // One writer per store, across processes: held until the builder finishes or is dropped.
    // Everything below is read under it, so that no drop or vacuum changes it meanwhile.
    auto impl = std::make_unique<CommitBuilder::Impl>(*impl_, impl_->writer_lock());
    impl->domain = impl_->domain(domain);
    impl->commit = commit;
    impl->parent = parent;
    if (impl_->catalog->commit(domain, commit)) {
        throw Error::conflict("commit '" + commit + "' already exists in domain '" + domain + "'");
    }
    if (parent && !impl_->catalog->commit(domain, *parent)) {
        throw Error::not_found("unknown parent commit '" + *parent + "' in domain '" + domain +
                               "'");
    }
    return CommitBuilder(std::move(impl));
}

CommitInfo CommitBuilder::finish() {
    Impl& b = *impl_;
    if (b.finished)
        throw Error::invalid_argument("commit '" + b.commit + "' is already finished");
    Store::Impl& store = *b.store;
    if (b.parent && !b.parent_snapshot)
        b.parent_snapshot = store.open_commit(b.domain.name, *b.parent);
    b.delete_ids_not_put();

    CommitInfo info;
    info.domain = b.domain.name;
    info.commit = b.commit;
    info.parent = b.parent;
    std::shared_ptr<const Snapshot> made;
    if (b.ops.empty() && b.parent_snapshot) {
        b.share_parent_graph(info);
        b.publish(info, {});
        const Snapshot::Impl& p = *b.parent_snapshot->impl_;
        made = Snapshot::Impl::make(info, b.domain, store.options, p.file, p.graph, p.key_ids);
    } else {
        const Impl::Keys keys = b.resolve_keys(info);
        const Impl::Placement placed = b.place_vectors(info);
        auto file = store.reader(b.domain, info.vector_count);
        const auto graph = b.build_graph(*file, keys, placed, info);
        b.write_graph(*graph, info);
        b.publish(info, keys.new_ids, placed.new_entries);
        try {
            made = store.load(b.domain, info);
        } catch (const Error&) {
            // The commit is durable and visible; a later open reports what is wrong.
        }
    }
    if (made)
        store.admit(std::move(made));
    return info;
}

CommitInfo Store::assign(const std::string& domain, const std::string& existing_commit,
                         const std::string& new_commit) {
    impl_->commit(domain, existing_commit);
    return begin_commit(domain, new_commit, existing_commit).finish();
}

}  // namespace vstore
