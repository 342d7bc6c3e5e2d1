// Snapshot: one loaded commit, searched with numpy queries. Batches of queries run on several
// threads with the GIL released; the snapshot itself is immutable and safe from any thread.
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <thread>

#include "arrays.h"
#include "bindings.h"

namespace vstore::python {

namespace {

using Hits = std::vector<SearchHit>;

size_t checked_k(int64_t k) {
    if (k < 1)
        throw Error::invalid_argument("k must be at least 1, not " + std::to_string(k));
    return static_cast<size_t>(k);
}

size_t checked_ef(const std::optional<int64_t>& ef) {
    if (ef && *ef < 1)
        throw Error::invalid_argument("ef must be at least 1, not " + std::to_string(*ef));
    return ef ? static_cast<size_t>(*ef) : 0;
}

// Runs `one` over every row, on up to `threads` threads (0: one per core), with the GIL
// released. An error of the library names the first row that failed.
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

py::list hit_ids(const Hits& hits) {
    py::list ids;
    for (const auto& h : hits)
        ids.append(py::str(h.id));
    return ids;
}

py::array_t<float> hit_distances(const Hits& hits) {
    py::array_t<float> d(static_cast<py::ssize_t>(hits.size()));
    auto* out = d.mutable_data();
    for (size_t i = 0; i < hits.size(); ++i)
        out[i] = hits[i].distance;
    return d;
}

// The (ids, distances) pair of the documented rule (see kSearchDoc).
py::tuple search_answer(const std::vector<Hits>& results, bool one_dimensional,
                        size_t empty_columns) {
    if (one_dimensional)
        return py::make_tuple(hit_ids(results[0]), hit_distances(results[0]));
    py::list ids;
    for (const auto& r : results)
        ids.append(hit_ids(r));
    const size_t columns = results.empty() ? empty_columns : results[0].size();
    const bool rectangular = std::all_of(results.begin(), results.end(),
                                         [&](const Hits& r) { return r.size() == columns; });
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

constexpr const char* kSearchDoc =
    R"doc(search(queries, k=10, ef=None, threads=0) -> (ids, distances)

The k nearest live items of each query, ascending by distance (the metric's distance:
squared L2, 1 - cos, 1 - a.b).

queries: an array of shape (d,) for one query or (n, d) for n queries. float32 is used as
    is; other real dtypes (float64, float16, integers) are converted to float32, and a
    non-contiguous array is copied. A NaN or infinite component, a wrong dimension, or a
    zero query under cosine raise InvalidArgument (for a batch, naming the query's row).
k: neighbours per query (at least 1).
ef: search breadth; None uses max(k, 64); raised to k. Ignored by exact searches (a small
    live set, or k >= len(snapshot), is scanned exactly).
threads: threads for a batch, 0 = one per core; the GIL is released while searching.

Returns, for a query of shape (d,): ids, a list of str, and distances, a float32 array of
shape (m,), where m = min(k, len(snapshot)). For a batch of shape (n, d): ids, a list of n
lists of str, and distances, a float32 array of shape (n, m) when every query found the same
number m of results -- always the case unless the graph cannot reach k live items -- and
otherwise a list of n float32 arrays of shape (m_i,). Missing results are left out, never
filled with sentinels: with k > len(snapshot), m is len(snapshot).)doc";

constexpr const char* kSearchExactDoc =
    R"doc(search_exact(queries, k=10, threads=0) -> (ids, distances)

Brute force over exactly the live items: the true k nearest of each query. Queries, threads
and the shape of the answer are as for search().)doc";

}  // namespace

void bind_snapshot(py::module_& m) {
    py::class_<SnapshotHandle>(m, "Snapshot",
                               "One commit of a domain, loaded and immutable: search it, read "
                               "its vectors. Safe to use from any number of threads. Get one "
                               "with Store.open_commit() or Pack.snapshot().")
        .def_property_readonly(
            "info", [](const SnapshotHandle& s) { return s.snapshot->info(); },
            "The commit's CommitInfo.")
        .def_property_readonly(
            "domain", [](const SnapshotHandle& s) { return s.snapshot->domain(); },
            "The DomainInfo of the commit's domain (dimension, metric, HNSW parameters).")
        .def(
            "search",
            [](const SnapshotHandle& s, const py::handle& queries, int64_t k,
               std::optional<int64_t> ef, int64_t threads) {
                const VectorRows rows(queries, "queries");
                const size_t kk = checked_k(k), eff = checked_ef(ef);
                const auto results = each_row(rows, threads, [&](std::span<const float> q) {
                    return s.snapshot->search(q, kk, eff);
                });
                return search_answer(results, rows.one_dimensional(),
                                     std::min<uint64_t>(kk, s.snapshot->size()));
            },
            kSearchDoc, py::arg("queries"), py::arg("k") = 10, py::arg("ef") = py::none(),
            py::arg("threads") = 0)
        .def(
            "search_exact",
            [](const SnapshotHandle& s, const py::handle& queries, int64_t k, int64_t threads) {
                const VectorRows rows(queries, "queries");
                const size_t kk = checked_k(k);
                const auto results = each_row(rows, threads, [&](std::span<const float> q) {
                    return s.snapshot->search_exact(q, kk);
                });
                return search_answer(results, rows.one_dimensional(),
                                     std::min<uint64_t>(kk, s.snapshot->size()));
            },
            kSearchExactDoc, py::arg("queries"), py::arg("k") = 10, py::arg("threads") = 0)
        .def(
            "similar",
            [](const SnapshotHandle& s, const std::string& id, int64_t k,
               std::optional<int64_t> ef) {
                const size_t kk = checked_k(k), eff = checked_ef(ef);
                Hits hits;
                {
                    py::gil_scoped_release release;
                    hits = s.snapshot->similar(id, kk, eff);
                }
                return py::make_tuple(hit_ids(hits), hit_distances(hits));
            },
            "similar(id, k=10, ef=None) -> (ids, distances)\n\n"
            "The k nearest neighbours of a stored item, not the item itself: ids a list of str, "
            "distances a float32 array of shape (m,), m <= k. NotFound for an id that is not "
            "live in this commit.",
            py::arg("id"), py::arg("k") = 10, py::arg("ef") = py::none())
        .def(
            "duplicates",
            [](const SnapshotHandle& s, float threshold) {
                std::vector<DuplicatePair> pairs;
                {
                    py::gil_scoped_release release;
                    pairs = s.snapshot->duplicates(threshold);
                }
                py::list out;
                for (const auto& p : pairs)
                    out.append(py::make_tuple(p.a, p.b, p.distance));
                return out;
            },
            "duplicates(threshold) -> list of (a, b, distance)\n\n"
            "Pairs of live items within `threshold` of each other (the metric's distance), found "
            "through the graph, each pair once with a < b.",
            py::arg("threshold"))
        .def(
            "vector",
            [](const SnapshotHandle& s, const std::string& id) {
                return float_array(s.snapshot->vector(id));
            },
            "vector(id) -> numpy.ndarray\n\n"
            "The stored vector of a live id, a new float32 array of shape (d,); under cosine it "
            "is the normalized vector the store keeps. NotFound for an id that is not live.",
            py::arg("id"))
        .def(
            "ids", [](const SnapshotHandle& s) { return s.snapshot->ids(); },
            "ids() -> list of str\n\nEvery live id of the commit, sorted.")
        .def(
            "__contains__",
            [](const SnapshotHandle& s, const std::string& id) { return s.snapshot->contains(id); },
            "`id in snapshot`: True when the id is live in this commit.", py::arg("id"))
        .def(
            "__len__", [](const SnapshotHandle& s) { return s.snapshot->size(); },
            "The number of live items.")
        .def("__repr__", [](const SnapshotHandle& s) {
            const auto& c = s.snapshot->info();
            return "<vstore.Snapshot " + c.domain + "@" + c.commit +
                   " live=" + std::to_string(s.snapshot->size()) + ">";
        });
}

}  // namespace vstore::python
