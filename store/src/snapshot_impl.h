// Internal to store/: the insides of a loaded commit, shared by the store and by packs, and
// small helpers both use.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hnsw_graph.h"
#include "vstore/store.h"

namespace vstore {

namespace detail {

inline uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

inline std::string short_id(const std::string& id) {
    return id.size() <= 80 ? id : id.substr(0, 77) + "...";
}

inline unsigned thread_count(unsigned requested) {
    return requested != 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
}

// The seed of a commit's random levels: a function of the commit id, so a rebuild of the same
// batch on the same parent gives the same graph.
inline uint64_t commit_seed(const std::string& domain, const std::string& commit) {
    return std::hash<std::string>{}(domain + '\0' + commit) | 1;
}

}  // namespace detail

struct Snapshot::Impl {
    CommitInfo info;
    DomainInfo domain;
    StoreOptions options;
    std::shared_ptr<VectorFile> file;  // keeps the vectors alive while the graph uses them
    std::unique_ptr<detail::HnswGraph> graph;
    std::unordered_map<uint64_t, std::string> id_of;  // live keys

    // id -> key, the inverse of id_of, built on first use: a commit opened to search never
    // needs it, and building it costs more than reading the ids.
    const std::unordered_map<std::string, uint64_t>& key_of() const {
        std::call_once(key_of_built_, [this] {
            key_of_.reserve(id_of.size());
            for (const auto& [key, id] : id_of)
                key_of_.emplace(id, key);
        });
        return key_of_;
    }
    // For a caller that built the inverse anyway; before any key_of().
    void adopt_key_of(std::unordered_map<std::string, uint64_t> inverse) {
        std::call_once(key_of_built_, [&] { key_of_ = std::move(inverse); });
    }

    std::vector<float> prepare_query(std::span<const float> query) const {
        if (query.size() != domain.dimension) {
            throw Error::invalid_argument("query has " + std::to_string(query.size()) +
                                          " components; domain '" + domain.name + "' has " +
                                          std::to_string(domain.dimension));
        }
        std::vector<float> q(query.begin(), query.end());
        double norm = 0;
        for (float x : q) {
            if (!std::isfinite(x))
                throw Error::invalid_argument("query has a non-finite component");
            norm += double(x) * x;
        }
        if (domain.metric == Metric::kCosine) {
            if (norm == 0)
                throw Error::invalid_argument("a zero query has no cosine distance");
            const float inv = static_cast<float>(1.0 / std::sqrt(norm));
            for (float& x : q)
                x *= inv;
        }
        return q;
    }

    std::vector<SearchHit> to_hits(const std::vector<detail::Neighbor>& found) const {
        std::vector<SearchHit> hits;
        hits.reserve(found.size());
        for (const auto& [distance, key] : found)
            hits.push_back({id_of.at(key), distance});
        return hits;
    }

    uint64_t key(const std::string& id) const {
        const auto& inverse = key_of();
        auto it = inverse.find(id);
        if (it == inverse.end()) {
            throw Error::not_found("id '" + detail::short_id(id) + "' is not live in commit '" +
                                   info.commit + "' of domain '" + domain.name + "'");
        }
        return it->second;
    }

  private:
    mutable std::once_flag key_of_built_;
    mutable std::unordered_map<std::string, uint64_t> key_of_;
};

}  // namespace vstore
