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

#include "distance.h"
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

// hnswlib's space. A node's "vector" is its vector index (u64), followed in mapped mode by a
// copy of the vector itself, so that building reads vectors where hnswlib's own prefetches
// point (the files never hold copies: only the in-memory graph does, while a commit is built).
// In pool mode the distance pins each vector through a LoadedVec instead, so that building
// keeps within the pool's budget.
class HnswGraph::Space : public hnswlib::SpaceInterface<float> {
  public:
    Space(const GraphParams& params, const VectorFile& file)
        : file_(file),
          dim_(params.dimension),
          inline_(file.mode() == ServingMode::kMapped),
          data_size_(8 + (inline_ ? size_t{params.dimension} * sizeof(float) : 0)) {
        if (params.metric == format::Metric::kL2) {
            hnswlib::L2Space l2(dim_);
            raw_ = l2.get_dist_func();
        } else {
            // cosine (on normalized vectors) and ip are both 1 - a.b.
            hnswlib::InnerProductSpace ip(dim_);
            raw_ = ip.get_dist_func();
        }
    }
    size_t get_data_size() override { return data_size_; }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &Space::distance; }
    void* get_dist_func_param() override { return this; }

    // Writes the node data of vector `n` (data_size_ bytes) to `out`.
    void node_data(uint64_t n, char* out) const {
        if (n >= file_.size()) {
            throw Error::corruption("graph node refers to vector " + std::to_string(n) + " but '" +
                                    file_.path() + "' holds " + std::to_string(file_.size()));
        }
        std::memcpy(out, &n, sizeof n);
        if (inline_)
            std::memcpy(out + 8, file_.mapped_vector(n), dim_ * sizeof(float));
    }
    size_t data_size() const { return data_size_; }

    static float distance(const void* a, const void* b, const void* param) {
        const auto* self = static_cast<const Space*>(param);
        const auto* pa = static_cast<const char*>(a);
        const auto* pb = static_cast<const char*>(b);
        if (self->inline_)
            return self->raw_(pa + 8, pb + 8, &self->dim_);
        uint64_t ia, ib;  // hnswlib places node data at 4-byte offsets: copy, do not cast
        std::memcpy(&ia, pa, sizeof ia);
        std::memcpy(&ib, pb, sizeof ib);
        const LoadedVec va = self->file_.get(ia);
        const LoadedVec vb = self->file_.get(ib);
        return self->raw_(va.data(), vb.data(), &self->dim_);
    }

  private:
    const VectorFile& file_;
    size_t dim_;
    bool inline_;
    size_t data_size_;
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

std::unique_ptr<HnswGraph> HnswGraph::from_layers(const GraphLayers& layers,
                                                  const VectorFile& file, size_t extra_capacity,
                                                  uint64_t seed) {
    const format::GraphHeader& h = layers.header();
    GraphParams params{h.metric, h.dimension, h.m, h.ef_construction};
    const size_t n = layers.size();
    auto g = std::make_unique<HnswGraph>(params, file, n + extra_capacity, seed);
    Index& ix = *g->index_;
    ix.cur_element_count = n;
    auto fill = [&](linklistsizeint* ll, std::span<const uint32_t> links) {
        ix.setListCount(ll, static_cast<unsigned short>(links.size()));
        for (size_t j = 0; j < links.size(); ++j)
            reinterpret_cast<tableint*>(ll + 1)[j] = layers.checked(links[j]);
    };
    for (uint32_t i = 0; i < n; ++i) {
        char* base = ix.data_level0_memory_ + size_t(i) * ix.size_data_per_element_;
        std::memset(base, 0, ix.size_data_per_element_);
        const uint8_t flags = layers.flags(i);
        const uint32_t level = layers.level(i);
        if (level > format::kMaxGraphLevel) {
            throw Error::corruption("graph file '" + layers.name() + "': node " +
                                    std::to_string(i) + " has level " + std::to_string(level));
        }
        g->space_->node_data(layers.vector_index(i), ix.getDataByInternalId(i));
        const labeltype label = layers.key(i);
        std::memcpy(ix.getExternalLabeLp(i), &label, sizeof label);
        ix.element_levels_[i] = static_cast<int>(level);
        fill(ix.get_linklist0(i), layers.links(i, 0));
        if (level > 0) {
            ix.linkLists_[i] = static_cast<char*>(malloc(ix.size_links_per_element_ * level + 1));
            if (ix.linkLists_[i] == nullptr)
                throw Error::exhausted("cannot allocate graph links");
            std::memset(ix.linkLists_[i], 0, ix.size_links_per_element_ * level + 1);
            for (uint32_t l = 1; l <= level; ++l)
                fill(ix.get_linklist(i, l), layers.links(i, l));
        }
        if (flags & format::kNodeRemoved) {
            ix.markDeletedInternal(i);
            g->removed_[i] = true;
            ++g->removed_count_;
        } else if (flags & format::kNodeTombstone) {
            ix.markDeletedInternal(i);
            ++g->tombstone_count_;
        } else {
            if (!ix.label_lookup_.emplace(label, static_cast<tableint>(i)).second) {
                throw Error::corruption("graph file '" + layers.name() + "' has key " +
                                        std::to_string(label) + " live twice");
            }
            ++g->live_count_;
        }
    }
    ix.enterpoint_node_ =
        layers.entry_point() < 0 ? kNoNode : static_cast<tableint>(layers.entry_point());
    ix.maxlevel_ = layers.max_level();
    return g;
}

uint64_t HnswGraph::node_count() const {
    return index_->cur_element_count;
}

uint64_t HnswGraph::vector_index(uint32_t node) const {
    uint64_t n;
    std::memcpy(&n, index_->getDataByInternalId(node), sizeof n);
    return n;
}

uint64_t HnswGraph::key(uint32_t node) const {
    return index_->getExternalLabel(node);
}

uint32_t HnswGraph::level(uint32_t node) const {
    return static_cast<uint32_t>(index_->element_levels_[node]);
}

uint8_t HnswGraph::flags(uint32_t node) const {
    if (removed_[node])
        return format::kNodeRemoved;
    return index_->isMarkedDeleted(node) ? format::kNodeTombstone : 0;
}

std::span<const uint32_t> HnswGraph::links(uint32_t node, uint32_t layer) const {
    linklistsizeint* ll = index_->get_linklist_at_level(node, static_cast<int>(layer));
    return {reinterpret_cast<const uint32_t*>(ll + 1), index_->getListCount(ll)};
}

int64_t HnswGraph::entry_point() const {
    const Index& ix = *index_;
    return ix.enterpoint_node_ == kNoNode || ix.cur_element_count == 0
               ? -1
               : static_cast<int64_t>(ix.enterpoint_node_);
}

int32_t HnswGraph::max_level() const {
    return entry_point() < 0 ? -1 : index_->maxlevel_;
}

void HnswGraph::insert_batch(std::span<const std::pair<uint64_t, uint64_t>> items,
                             unsigned threads) {
    Index& ix = *index_;
    if (ix.cur_element_count + items.size() > ix.max_elements_) {
        ix.resizeIndex(ix.cur_element_count + items.size());
        removed_.resize(ix.max_elements_, false);
    }
    const size_t data_size = space_->data_size();
    std::vector<char> records(items.size() * data_size);
    for (size_t i = 0; i < items.size(); ++i)
        space_->node_data(items[i].second, records.data() + i * data_size);
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
    std::vector<size_t> rest;
    rest.reserve(items.size());
    int top = ix.maxlevel_;
    for (size_t i = 0; i < items.size(); ++i) {
        if (levels[i] > top) {
            ix.addPoint(records.data() + i * data_size, items[i].first, levels[i]);
            top = levels[i];
        } else {
            rest.push_back(i);
        }
    }
    parallel_for(rest.size(), threads, [&](size_t j) {
        const size_t i = rest[j];
        ix.addPoint(records.data() + i * data_size, items[i].first, levels[i]);
    });
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
        ++removed_count_;
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
    std::vector<char> data(space_->data_size());
    space_->node_data(new_vector_index, data.data());
    ix.updatePoint(data.data(), it->second, 1.0f);
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

bool HnswGraph::is_live(uint64_t key) const {
    return index_->label_lookup_.count(key) != 0;
}

std::optional<uint64_t> HnswGraph::vector_of(uint64_t key) const {
    auto it = index_->label_lookup_.find(key);
    if (it == index_->label_lookup_.end())
        return std::nullopt;
    return vector_index(it->second);
}

std::vector<uint64_t> HnswGraph::live_keys() const {
    std::vector<uint64_t> keys;
    keys.reserve(index_->label_lookup_.size());
    for (const auto& [key, id] : index_->label_lookup_)
        keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    return keys;
}

Distance::Distance(format::Metric metric, uint32_t dimension) : dim_(dimension) {
    if (metric == format::Metric::kL2) {
        hnswlib::L2Space l2(dim_);
        fn_ = l2.get_dist_func();
    } else {
        // cosine (on normalized vectors) and ip are both 1 - a.b.
        hnswlib::InnerProductSpace ip(dim_);
        fn_ = ip.get_dist_func();
    }
}

}  // namespace vstore::detail
