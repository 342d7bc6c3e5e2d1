// Searching a batch of numpy queries and shaping the answers, for Snapshot.search and
// search_many alike: the rows run on several threads with the GIL released, and the answer is
// (ids, distances) by one documented rule (kSearchDoc in snapshot_binding.cpp).
#pragma once

#include <pybind11/numpy.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "vstore/search_many.h"

namespace vstore::python {

inline size_t checked_k(int64_t k) {
    if (k < 1)
        throw Error::invalid_argument("k must be at least 1, not " + std::to_string(k));
    return static_cast<size_t>(k);
}

inline size_t checked_ef(const std::optional<int64_t>& ef) {
    if (ef && *ef < 1)
        throw Error::invalid_argument("ef must be at least 1, not " + std::to_string(*ef));
    return ef ? static_cast<size_t>(*ef) : 0;
}

// Runs `one` over every row, on up to `threads` threads (0: one per core), with the GIL
// released. An error of the library names the first row that failed.
template <typename Hits>
std::vector<Hits> each_row(const VectorRows& rows, int64_t threads,
                           const std::function<Hits(std::span<const float>)>& one) {
    if (threads < 0)
        throw Error::invalid_argument("threads must be 0 (all cores) or more");
    std::vector<Hits> results(rows.rows());
    std::vector<std::exception_ptr> errors(rows.rows());
    {
        py::gil_scoped_release release;
        size_t workers = threads ? static_cast<size_t>(threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
        workers = std::min(workers, rows.rows());
        std::atomic<size_t> next{0};
        auto work = [&] {
            for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < rows.rows();) {
                try {
                    results[i] = one(rows.row(i));
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            }
        };
        std::vector<std::jthread> helpers;
        for (size_t t = 1; t < workers; ++t)
            helpers.emplace_back(work);
        work();
    }
    for (size_t i = 0; i < errors.size(); ++i) {
        if (!errors[i])
            continue;
        if (rows.one_dimensional())
            std::rethrow_exception(errors[i]);
        try {
            std::rethrow_exception(errors[i]);
        } catch (const Error& e) {
            throw Error(e.code(), "query " + std::to_string(i) + ": " + e.message());
        }
    }
    return results;
}

// What a hit is called in an answer: its id, or for search_many (domain, commit, id).
inline py::object hit_name(const SearchHit& h) {
    return py::str(h.id);
}
inline py::object hit_name(const MultiHit& h) {
    return py::make_tuple(h.domain, h.commit, h.id);
}

template <typename Hit>
py::list hit_ids(const std::vector<Hit>& hits) {
    py::list ids;
    for (const auto& h : hits)
        ids.append(hit_name(h));
    return ids;
}

template <typename Hit>
py::array_t<float> hit_distances(const std::vector<Hit>& hits) {
    py::array_t<float> d(static_cast<py::ssize_t>(hits.size()));
    auto* out = d.mutable_data();
    for (size_t i = 0; i < hits.size(); ++i)
        out[i] = hits[i].distance;
    return d;
}

// The (ids, distances) pair: for one query of shape (d,), a list and a float32 array (m,); for
// a batch, n lists and a float32 array (n, m) when every query found m, else n arrays.
template <typename Hit>
py::tuple search_answer(const std::vector<std::vector<Hit>>& results, bool one_dimensional,
                        size_t empty_columns) {
    if (one_dimensional)
        return py::make_tuple(hit_ids(results[0]), hit_distances(results[0]));
    py::list ids;
    for (const auto& r : results)
        ids.append(hit_ids(r));
    const size_t columns = results.empty() ? empty_columns : results[0].size();
    const bool rectangular = std::all_of(results.begin(), results.end(),
                                         [&](const auto& r) { return r.size() == columns; });
    if (!rectangular) {
        py::list distances;
        for (const auto& r : results)
            distances.append(hit_distances(r));
        return py::make_tuple(ids, distances);
    }
    py::array_t<float> distances(
        {static_cast<py::ssize_t>(results.size()), static_cast<py::ssize_t>(columns)});
    auto* out = distances.mutable_data();
    for (const auto& r : results)
        for (const auto& h : r)
            *out++ = h.distance;
    return py::make_tuple(ids, distances);
}

}  // namespace vstore::python
