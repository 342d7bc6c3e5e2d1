#include "hnsw_graph.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>
#include <random>
#include <thread>

#include "vstore/format/error.h"

namespace vstore::detail {
namespace {

using hnswlib::labeltype;
using hnswlib::linklistsizeint;
using hnswlib::tableint;

constexpr tableint kNoNode = static_cast<tableint>(-1);

// Runs fn(i) for i in [0, n) on up to `threads` threads.
template <typename Fn>
void parallel_for(size_t n, unsigned threads, Fn&& fn) {
    threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(n / 64 + 1)));
    if (threads == 1) {
        for (size_t i = 0; i < n; ++i)
            fn(i);
        return;
    }
    std::atomic<size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            try {
                for (size_t i = next++; i < n; i = next++)
                    fn(i);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure)
                    failure = std::current_exception();
                next = n;
            }
        });
    }
    for (auto& t : pool)
        t.join();
    if (failure)
        std::rethrow_exception(failure);
}

}  // namespace

// hnswlib's space: the stored "vector" of a node is a NodeRecord, and the distance follows it
// to the vector file. In mapped mode that is a pointer dereference; in pool mode the vector is
// pinned through a LoadedVec for the length of the computation.
class HnswGraph::Space : public hnswlib::SpaceInterface<float> {
  public:
    Space(const GraphParams& params, const VectorFile& file) : file_(file), dim_(params.dimension) {
        if (params.metric == format::Metric::kL2) {
            hnswlib::L2Space l2(dim_);
            raw_ = l2.get_dist_func();
        } else {
            // cosine (on normalized vectors) and ip are both 1 - a.b.
            hnswlib::InnerProductSpace ip(dim_);
            raw_ = ip.get_dist_func();
        }
    }
    size_t get_data_size() override { return sizeof(NodeRecord); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &Space::distance; }
    void* get_dist_func_param() override { return this; }

    float raw(const float* a, const float* b) const { return raw_(a, b, &dim_); }

    static float distance(const void* a, const void* b, const void* param) {
        const auto* self = static_cast<const Space*>(param);
        // hnswlib places node data at 4-byte offsets: copy the records rather than cast.
        NodeRecord ra, rb;
        std::memcpy(&ra, a, sizeof ra);
        std::memcpy(&rb, b, sizeof rb);
        if (ra.data != nullptr && rb.data != nullptr)
            return self->raw_(ra.data, rb.data, &self->dim_);
        LoadedVec va, vb;
        const float* pa = ra.data;
        const float* pb = rb.data;
        if (pa == nullptr) {
            va = self->file_.get(ra.vector_index);
            pa = va.data();
        }
        if (pb == nullptr) {
            vb = self->file_.get(rb.vector_index);
            pb = vb.data();
        }
        return self->raw_(pa, pb, &self->dim_);
    }

  private:
    const VectorFile& file_;
    size_t dim_;
    hnswlib::DISTFUNC<float> raw_;
};

HnswGraph::HnswGraph(const GraphParams& params, const VectorFile& file, size_t capacity,
                     uint64_t seed)
    : params_(params),
      file_(file),
      space_(std::make_unique<Space>(params, file)),
      level_rng_(seed) {
    index_ = std::make_unique<Index>(space_.get(), std::max<size_t>(capacity, 1), params.m,
                                     params.ef_construction, seed);
    removed_.assign(index_->max_elements_, false);
}

HnswGraph::~HnswGraph() = default;

NodeRecord HnswGraph::record_for(uint64_t vector_index) const {
    if (vector_index >= file_.size()) {
        throw Error::corruption("graph node refers to vector " + std::to_string(vector_index) +
                                " but '" + file_.path() + "' holds " +
                                std::to_string(file_.size()));
    }
    return {vector_index,
            file_.mode() == ServingMode::kMapped ? file_.mapped_vector(vector_index) : nullptr};
}

std::unique_ptr<HnswGraph> HnswGraph::from_file_data(const format::GraphFileData& data,
                                                     const VectorFile& file, size_t extra_capacity,
                                                     uint64_t seed) {
    GraphParams params{data.metric, data.dimension, data.m, data.ef_construction};
    auto g = std::make_unique<HnswGraph>(params, file, data.nodes.size() + extra_capacity, seed);
    Index& ix = *g->index_;
    const size_t n = data.nodes.size();
    ix.cur_element_count = n;
    for (size_t i = 0; i < n; ++i) {
        const format::GraphNode& node = data.nodes[i];
        char* base = ix.data_level0_memory_ + i * ix.size_data_per_element_;
        std::memset(base, 0, ix.size_data_per_element_);
        const NodeRecord rec = g->record_for(node.vector_index);
        std::memcpy(ix.getDataByInternalId(i), &rec, sizeof rec);
        const labeltype label = node.key;
        std::memcpy(ix.getExternalLabeLp(i), &label, sizeof label);
        ix.element_levels_[i] = static_cast<int>(node.level);
        auto fill = [&](linklistsizeint* ll, const std::vector<uint32_t>& links) {
            ix.setListCount(ll, static_cast<unsigned short>(links.size()));
            std::copy(links.begin(), links.end(), reinterpret_cast<tableint*>(ll + 1));
        };
        fill(ix.get_linklist0(i), node.links[0]);
        if (node.level > 0) {
            ix.linkLists_[i] =
                static_cast<char*>(malloc(ix.size_links_per_element_ * node.level + 1));
            if (ix.linkLists_[i] == nullptr)
                throw Error::exhausted("cannot allocate graph links");
            std::memset(ix.linkLists_[i], 0, ix.size_links_per_element_ * node.level + 1);
            for (uint32_t l = 1; l <= node.level; ++l)
                fill(ix.get_linklist(i, l), node.links[l]);
        }
        if (node.tombstone) {
            ix.markDeletedInternal(i);
            ++g->tombstone_count_;
        } else {
            if (!ix.label_lookup_.emplace(label, static_cast<tableint>(i)).second) {
                throw Error::corruption("graph of commit '" + data.commit + "' has key " +
                                        std::to_string(label) + " live twice");
            }
            ++g->live_count_;
        }
    }
    ix.enterpoint_node_ = data.entry_point < 0 ? kNoNode : static_cast<tableint>(data.entry_point);
    ix.maxlevel_ = data.max_level;
    g->note_vectors(0, static_cast<uint32_t>(n));
    return g;
}

format::GraphFileData HnswGraph::to_file_data() const {
    const Index& ix = *index_;
    format::GraphFileData d;
    d.metric = params_.metric;
    d.dimension = params_.dimension;
    d.m = params_.m;
    d.ef_construction = params_.ef_construction;
    std::vector<uint32_t> ordinal(ix.cur_element_count, UINT32_MAX);
    uint32_t next = 0;
    for (size_t i = 0; i < ix.cur_element_count; ++i) {
        if (!removed_[i])
            ordinal[i] = next++;
    }
    d.nodes.reserve(next);
    for (size_t i = 0; i < ix.cur_element_count; ++i) {
        if (removed_[i])
            continue;
        format::GraphNode node;
        NodeRecord rec;
        std::memcpy(&rec, ix.getDataByInternalId(i), sizeof rec);
        node.vector_index = rec.vector_index;
        node.key = ix.getExternalLabel(i);
        node.level = static_cast<uint32_t>(ix.element_levels_[i]);
        node.tombstone = ix.isMarkedDeleted(i);
        node.links.resize(node.level + 1);
        for (uint32_t l = 0; l <= node.level; ++l) {
            const linklistsizeint* ll = ix.get_linklist_at_level(i, l);
            const auto* links = reinterpret_cast<const tableint*>(ll + 1);
            for (size_t j = 0; j < ix.getListCount(const_cast<linklistsizeint*>(ll)); ++j) {
                if (ordinal[links[j]] == UINT32_MAX) {
                    throw Error::corruption("graph links to removed node " +
                                            std::to_string(links[j]));
                }
                node.links[l].push_back(ordinal[links[j]]);
            }
        }
        d.nodes.push_back(std::move(node));
    }
    if (ix.enterpoint_node_ != kNoNode && ix.cur_element_count > 0) {
        d.entry_point = ordinal[ix.enterpoint_node_];
        d.max_level = ix.maxlevel_;
    }
    return d;
}

void HnswGraph::insert_batch(std::span<const std::pair<uint64_t, uint64_t>> items,
                             unsigned threads) {
    Index& ix = *index_;
    if (ix.cur_element_count + items.size() > ix.max_elements_) {
        ix.resizeIndex(ix.cur_element_count + items.size());
        removed_.resize(ix.max_elements_, false);
    }
    std::vector<NodeRecord> records;
    records.reserve(items.size());
    for (const auto& [key, vector_index] : items)
        records.push_back(record_for(vector_index));
    // Levels are drawn here, from the graph's own seeded engine, not inside addPoint. The
    // nodes that raise the top level are then inserted one at a time, first, and the parallel
    // inserts never move the entry point, which hnswlib's addPoint reads without its lock.
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<int> levels(items.size());
    for (int& level : levels)
        level = static_cast<int>(-std::log(1.0 - unit(level_rng_)) * ix.mult_);
    const double mult = ix.mult_;
    ix.mult_ = 0;  // addPoint's own draw then gives 0; an explicit level above 0 wins
    struct RestoreMult {
        Index& ix;
        double mult;
        ~RestoreMult() { ix.mult_ = mult; }
    } restore{ix, mult};
    const auto first = static_cast<uint32_t>(ix.cur_element_count);
    std::vector<size_t> rest;
    rest.reserve(items.size());
    int top = ix.maxlevel_;
    for (size_t i = 0; i < items.size(); ++i) {
        if (levels[i] > top) {
            ix.addPoint(&records[i], items[i].first, levels[i]);
            top = levels[i];
        } else {
            rest.push_back(i);
        }
    }
    parallel_for(rest.size(), threads, [&](size_t j) {
        const size_t i = rest[j];
        ix.addPoint(&records[i], items[i].first, levels[i]);
    });
    note_vectors(first, static_cast<uint32_t>(ix.cur_element_count));
    live_count_ += items.size();
}

void HnswGraph::relink_level0(uint32_t node, const std::vector<uint32_t>& candidates) {
    Index& ix = *index_;
    std::priority_queue<std::pair<float, tableint>, std::vector<std::pair<float, tableint>>,
                        Index::CompareByFirst>
        queue;
    const char* data = ix.getDataByInternalId(node);
    for (uint32_t c : candidates) {
        queue.emplace(ix.fstdistfunc_(data, ix.getDataByInternalId(c), ix.dist_func_param_), c);
    }
    ix.getNeighborsByHeuristic2(queue, ix.maxM0_);
    linklistsizeint* ll = ix.get_linklist0(node);
    auto* links = reinterpret_cast<tableint*>(ll + 1);
    size_t count = 0;
    while (!queue.empty()) {
        links[count++] = queue.top().second;
        queue.pop();
    }
    ix.setListCount(ll, static_cast<unsigned short>(count));
}

uint64_t HnswGraph::remove_batch(std::span<const uint64_t> keys, unsigned threads) {
    Index& ix = *index_;
    std::vector<char> gone(ix.cur_element_count, 0);
    std::vector<uint32_t> to_remove;
    for (uint64_t key : keys) {
        auto it = ix.label_lookup_.find(key);
        if (it == ix.label_lookup_.end()) {
            throw Error::not_found("key " + std::to_string(key) + " is not live in the graph");
        }
        const tableint id = it->second;
        ix.label_lookup_.erase(it);
        --live_count_;
        ix.markDeletedInternal(id);
        if (ix.element_levels_[id] > 0) {
            ++tombstone_count_;  // stays for navigation in the upper layers
        } else {
            gone[id] = 1;
            to_remove.push_back(id);
        }
    }
    if (to_remove.empty())
        return 0;

    // Every list in layer 0 that names a removed node is rebuilt from its remaining
    // neighbours and the removed nodes' neighbours. Workers write only their own node's list
    // and read only their own list and those of removed nodes, which do not change here.
    std::vector<uint32_t> affected;
    for (uint32_t y = 0; y < ix.cur_element_count; ++y) {
        if (removed_[y] || gone[y])
            continue;
        linklistsizeint* ll = ix.get_linklist0(y);
        const auto* links = reinterpret_cast<const tableint*>(ll + 1);
        const size_t n = ix.getListCount(ll);
        for (size_t j = 0; j < n; ++j) {
            if (gone[links[j]]) {
                affected.push_back(y);
                break;
            }
        }
    }
    parallel_for(affected.size(), threads, [&](size_t a) {
        const uint32_t y = affected[a];
        std::vector<uint32_t> candidates;
        auto add = [&](uint32_t c) {
            if (c != y && !gone[c] && !removed_[c] &&
                std::find(candidates.begin(), candidates.end(), c) == candidates.end()) {
                candidates.push_back(c);
            }
        };
        linklistsizeint* ll = ix.get_linklist0(y);
        const auto* links = reinterpret_cast<const tableint*>(ll + 1);
        const size_t n = ix.getListCount(ll);
        for (size_t j = 0; j < n; ++j) {
            if (!gone[links[j]]) {
                add(links[j]);
                continue;
            }
            linklistsizeint* gl = ix.get_linklist0(links[j]);
            const auto* glinks = reinterpret_cast<const tableint*>(gl + 1);
            for (size_t k = 0; k < ix.getListCount(gl); ++k)
                add(glinks[k]);
        }
        relink_level0(y, candidates);
    });
    for (uint32_t id : to_remove) {
        ix.setListCount(ix.get_linklist0(id), 0);
        removed_[id] = true;
    }
    if (ix.enterpoint_node_ != kNoNode && gone[ix.enterpoint_node_]) {
        // Only a graph whose top level is 0 has a level-0 entry point: any node will do.
        ix.enterpoint_node_ = kNoNode;
        ix.maxlevel_ = -1;
        for (uint32_t i = 0; i < ix.cur_element_count; ++i) {
            if (!removed_[i] && ix.element_levels_[i] > ix.maxlevel_) {
                ix.enterpoint_node_ = i;
                ix.maxlevel_ = ix.element_levels_[i];
            }
        }
    }
    return to_remove.size();
}

void HnswGraph::replace(uint64_t key, uint64_t new_vector_index) {
    Index& ix = *index_;
    auto it = ix.label_lookup_.find(key);
    if (it == ix.label_lookup_.end()) {
        throw Error::not_found("key " + std::to_string(key) + " is not live in the graph");
    }
    const NodeRecord rec = record_for(new_vector_index);
    ix.updatePoint(&rec, it->second, 1.0f);
    note_vectors(it->second, it->second + 1);
}

std::vector<uint32_t> HnswGraph::reachable_level0() const {
    const Index& ix = *index_;
    std::vector<uint32_t> seen(ix.cur_element_count, 0);
    if (ix.enterpoint_node_ == kNoNode || ix.cur_element_count == 0)
        return seen;
    std::vector<uint32_t> stack = {ix.enterpoint_node_};
    seen[ix.enterpoint_node_] = 1;
    while (!stack.empty()) {
        const uint32_t u = stack.back();
        stack.pop_back();
        linklistsizeint* ll = ix.get_linklist0(u);
        const auto* links = reinterpret_cast<const tableint*>(ll + 1);
        for (size_t j = 0; j < ix.getListCount(ll); ++j) {
            if (!seen[links[j]]) {
                seen[links[j]] = 1;
                stack.push_back(links[j]);
            }
        }
    }
    return seen;
}

uint64_t HnswGraph::repair_reachability() {
    Index& ix = *index_;
    uint64_t added = 0;
    // Each round links every lost component to its nearest reachable node. Taking a slot of a
    // full list can strand the neighbour it held, so the slot given up is preferably one whose
    // target other reachable nodes also link to, and rounds repeat until nothing is lost.
    for (int round = 0; round < 64; ++round) {
        auto seen = reachable_level0();
        std::vector<uint32_t> lost;
        for (uint32_t i = 0; i < ix.cur_element_count; ++i) {
            if (!seen[i] && !removed_[i] && !ix.isMarkedDeleted(i))
                lost.push_back(i);
        }
        if (lost.empty() || ix.enterpoint_node_ == kNoNode)
            break;
        std::vector<uint32_t> in_links(ix.cur_element_count, 0);
        for (uint32_t i = 0; i < ix.cur_element_count; ++i) {
            if (!seen[i])
                continue;
            linklistsizeint* ll = ix.get_linklist0(i);
            const auto* links = reinterpret_cast<const tableint*>(ll + 1);
            for (size_t j = 0; j < ix.getListCount(ll); ++j)
                ++in_links[links[j]];
        }
        // Marks what `start` reaches through nodes not yet seen.
        auto mark_from = [&](uint32_t start) {
            std::vector<uint32_t> stack = {start};
            seen[start] = 1;
            while (!stack.empty()) {
                const uint32_t v = stack.back();
                stack.pop_back();
                linklistsizeint* ll = ix.get_linklist0(v);
                const auto* links = reinterpret_cast<const tableint*>(ll + 1);
                for (size_t j = 0; j < ix.getListCount(ll); ++j) {
                    ++in_links[links[j]];
                    if (!seen[links[j]]) {
                        seen[links[j]] = 1;
                        stack.push_back(links[j]);
                    }
                }
            }
        };
        for (uint32_t u : lost) {
            if (seen[u])
                continue;  // reached through a component linked earlier in this round
            auto top = ix.searchBaseLayer(ix.enterpoint_node_, ix.getDataByInternalId(u), 0);
            tableint r = ix.enterpoint_node_;
            while (!top.empty()) {  // the queue's top is the farthest; keep the nearest
                if (top.top().second != u && seen[top.top().second])
                    r = top.top().second;
                top.pop();
            }
            if (r == u)
                continue;
            linklistsizeint* ll = ix.get_linklist0(r);
            auto* links = reinterpret_cast<tableint*>(ll + 1);
            const size_t n = ix.getListCount(ll);
            if (n < ix.maxM0_) {
                links[n] = u;
                ix.setListCount(ll, static_cast<unsigned short>(n + 1));
            } else {
                // The farthest neighbour that another reachable node also links to; failing
                // that, the farthest.
                const char* rd = ix.getDataByInternalId(r);
                size_t worst = 0, worst_shared = n;
                float worst_d = -1, worst_shared_d = -1;
                for (size_t j = 0; j < n; ++j) {
                    const float d =
                        ix.fstdistfunc_(rd, ix.getDataByInternalId(links[j]), ix.dist_func_param_);
                    if (d > worst_d) {
                        worst_d = d;
                        worst = j;
                    }
                    if (in_links[links[j]] >= 2 && d > worst_shared_d) {
                        worst_shared_d = d;
                        worst_shared = j;
                    }
                }
                const size_t slot = worst_shared < n ? worst_shared : worst;
                --in_links[links[slot]];
                links[slot] = u;
            }
            ++added;
            linklistsizeint* ul = ix.get_linklist0(u);
            auto* ulinks = reinterpret_cast<tableint*>(ul + 1);
            const size_t un = ix.getListCount(ul);
            if (un < ix.maxM0_ && std::find(ulinks, ulinks + un, r) == ulinks + un) {
                ulinks[un] = r;
                ix.setListCount(ul, static_cast<unsigned short>(un + 1));
            }
            ++in_links[u];
            mark_from(u);
        }
    }
    return added;
}

void HnswGraph::note_vectors(uint32_t first, uint32_t end) {
    if (file_.mode() != ServingMode::kMapped)
        return;
    if (vectors_.size() < end)
        vectors_.resize(end, nullptr);
    for (uint32_t i = first; i < end; ++i) {
        NodeRecord rec;
        std::memcpy(&rec, index_->getDataByInternalId(i), sizeof rec);
        vectors_[i] = rec.data;
    }
}

std::vector<std::pair<float, uint32_t>> HnswGraph::search_level0_mapped(const float* query,
                                                                        uint32_t entry,
                                                                        size_t ef) const {
    const Index& ix = *index_;
    const bool has_deletions = ix.num_deleted_ != 0;
    hnswlib::VisitedList* visited_list = ix.visited_list_pool_->getFreeVisitedList();
    struct ReleaseVisited {
        hnswlib::VisitedListPool* pool;
        hnswlib::VisitedList* list;
        ~ReleaseVisited() { pool->releaseVisitedList(list); }
    } release{ix.visited_list_pool_, visited_list};
    hnswlib::vl_type* visited = visited_list->mass;
    const hnswlib::vl_type tag = visited_list->curV;

    // The first cache lines of a vector are prefetched; the hardware streams the rest once
    // the distance starts reading it.
    const size_t vector_bytes = size_t{params_.dimension} * sizeof(float);
    const size_t prefetch_bytes = std::min<size_t>(vector_bytes, 4 * 64);
    auto prefetch_vector = [&](uint32_t node) {
        const char* p = reinterpret_cast<const char*>(vectors_[node]);
        for (size_t off = 0; off < prefetch_bytes; off += 64)
            __builtin_prefetch(p + off);
    };
    auto distance_to = [&](uint32_t node) { return space_->raw(query, vectors_[node]); };

    using Entry = std::pair<float, uint32_t>;
    // Both queues order as hnswlib's searchBaseLayerST does, ties included, so pool mode (which
    // uses that) and mapped mode give the same answers.
    using Queue = std::priority_queue<Entry, std::vector<Entry>, Index::CompareByFirst>;
    Queue top;       // the farthest of the best ef on top
    Queue frontier;  // negated distances: the nearest on top
    float bound = std::numeric_limits<float>::max();
    visited[entry] = tag;
    const float entry_d = distance_to(entry);
    frontier.emplace(-entry_d, entry);
    if (!has_deletions || !ix.isMarkedDeleted(entry)) {
        top.emplace(entry_d, entry);
        bound = entry_d;
    }

    // Neighbours not yet visited are gathered and their vectors prefetched before any
    // distance is computed, so the loads overlap instead of following one another.
    std::vector<uint32_t> batch(ix.maxM0_);
    while (!frontier.empty()) {
        const auto [negated_d, current] = frontier.top();
        if (-negated_d > bound && (top.size() == ef || !has_deletions))
            break;
        frontier.pop();
        linklistsizeint* ll = ix.get_linklist0(current);
        const auto* links = reinterpret_cast<const tableint*>(ll + 1);
        const size_t n = ix.getListCount(ll);
        size_t gathered = 0;
        for (size_t j = 0; j < n; ++j) {
            const uint32_t id = links[j];
            if (visited[id] == tag)
                continue;
            visited[id] = tag;
            prefetch_vector(id);
            batch[gathered++] = id;
        }
        for (size_t j = 0; j < gathered; ++j) {
            const uint32_t id = batch[j];
            const float d = distance_to(id);
            if (top.size() < ef || d < bound) {
                frontier.emplace(-d, id);
                if (!has_deletions || !ix.isMarkedDeleted(id))
                    top.emplace(d, id);
                if (top.size() > ef)
                    top.pop();
                if (!top.empty())
                    bound = top.top().first;
            }
        }
        if (!frontier.empty())
            __builtin_prefetch(ix.get_linklist0(frontier.top().second));
    }
    std::vector<Entry> found(top.size());
    for (size_t i = top.size(); i-- > 0;) {
        found[i] = top.top();
        top.pop();
    }
    return found;
}

std::vector<Neighbor> HnswGraph::search(const float* query, size_t k, size_t ef) const {
    const Index& ix = *index_;
    std::vector<Neighbor> out;
    if (live_count_ == 0 || k == 0 || ix.enterpoint_node_ == kNoNode)
        return out;
    ef = std::max(ef, k);
    const bool mapped = !vectors_.empty();
    const NodeRecord q{UINT64_MAX, query};
    auto distance_to = [&](tableint node) {
        return mapped ? space_->raw(query, vectors_[node])
                      : ix.fstdistfunc_(&q, ix.getDataByInternalId(node), ix.dist_func_param_);
    };
    tableint current = ix.enterpoint_node_;
    float current_d = distance_to(current);
    for (int level = ix.maxlevel_; level > 0; --level) {
        bool changed = true;
        while (changed) {
            changed = false;
            linklistsizeint* ll = ix.get_linklist(current, level);
            const auto* links = reinterpret_cast<const tableint*>(ll + 1);
            for (size_t j = 0; j < ix.getListCount(ll); ++j) {
                const float d = distance_to(links[j]);
                if (d < current_d) {
                    current_d = d;
                    current = links[j];
                    changed = true;
                }
            }
        }
    }
    if (mapped) {
        auto found = search_level0_mapped(query, current, ef);
        found.resize(std::min(found.size(), k));
        out.reserve(found.size());
        for (const auto& [d, node] : found)
            out.emplace_back(d, ix.getExternalLabel(node));
        return out;
    }
    // Pool mode: hnswlib's own layer-0 search, whose distance pins each vector.
    auto top = ix.num_deleted_ ? ix.searchBaseLayerST<true, false>(current, &q, ef)
                               : ix.searchBaseLayerST<false, false>(current, &q, ef);
    while (top.size() > k)
        top.pop();
    out.resize(top.size());
    for (size_t i = top.size(); i-- > 0;) {
        out[i] = {top.top().first, ix.getExternalLabel(top.top().second)};
        top.pop();
    }
    return out;
}

std::vector<Neighbor> HnswGraph::search_exact(const float* query, size_t k) const {
    const Index& ix = *index_;
    // A scan scope costs two madvise calls, which take the process's mapping lock: worth it
    // for a scan that faults in many pages, not for the small sets searched exactly by default.
    constexpr uint64_t kScanAdviceBytes = 4 << 20;
    std::optional<VectorFile::ScanScope> scan;
    if (uint64_t{ix.cur_element_count} * params_.dimension * sizeof(float) > kScanAdviceBytes)
        scan.emplace(file_.scan_scope());
    const NodeRecord q{UINT64_MAX, query};
    std::priority_queue<Neighbor> top;  // the farthest of the best k on top
    for (tableint i = 0; i < ix.cur_element_count; ++i) {
        if (ix.isMarkedDeleted(i))
            continue;  // tombstones and removed slots
        const float d = ix.fstdistfunc_(&q, ix.getDataByInternalId(i), ix.dist_func_param_);
        if (top.size() < k) {
            top.emplace(d, ix.getExternalLabel(i));
        } else if (k > 0 && d < top.top().first) {
            top.pop();
            top.emplace(d, ix.getExternalLabel(i));
        }
    }
    std::vector<Neighbor> out(top.size());
    for (size_t i = top.size(); i-- > 0;) {
        out[i] = top.top();
        top.pop();
    }
    return out;
}

bool HnswGraph::is_live(uint64_t key) const {
    return index_->label_lookup_.count(key) != 0;
}

std::optional<uint64_t> HnswGraph::vector_of(uint64_t key) const {
    auto it = index_->label_lookup_.find(key);
    if (it == index_->label_lookup_.end())
        return std::nullopt;
    NodeRecord rec;
    std::memcpy(&rec, index_->getDataByInternalId(it->second), sizeof rec);
    return rec.vector_index;
}

std::vector<uint64_t> HnswGraph::live_keys() const {
    std::vector<uint64_t> keys;
    keys.reserve(index_->label_lookup_.size());
    for (const auto& [key, id] : index_->label_lookup_)
        keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    return keys;
}

uint64_t HnswGraph::node_count() const {
    return live_count_ + tombstone_count_;
}

size_t HnswGraph::memory_bytes() const {
    const Index& ix = *index_;
    size_t bytes = ix.max_elements_ * (ix.size_data_per_element_ + sizeof(void*) + sizeof(int));
    for (size_t i = 0; i < ix.cur_element_count; ++i) {
        bytes += ix.element_levels_[i] * ix.size_links_per_element_;
    }
    return bytes + ix.label_lookup_.size() * 32;
}

GraphHealth HnswGraph::health() const {
    const Index& ix = *index_;
    GraphHealth h;
    const auto seen = reachable_level0();
    for (uint32_t i = 0; i < ix.cur_element_count; ++i) {
        if (removed_[i])
            continue;
        if (!seen[i] && !ix.isMarkedDeleted(i))
            ++h.unreachable_live;
        for (int l = 0; l <= ix.element_levels_[i]; ++l) {
            linklistsizeint* ll = ix.get_linklist_at_level(i, l);
            const auto* links = reinterpret_cast<const tableint*>(ll + 1);
            for (size_t j = 0; j < ix.getListCount(ll); ++j) {
                if (removed_[links[j]])
                    ++h.links_to_removed;
            }
        }
    }
    return h;
}

float HnswGraph::distance(const float* a, const float* b) const {
    return space_->raw(a, b);
}

}  // namespace vstore::detail
