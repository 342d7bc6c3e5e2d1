// Snapshot: one loaded commit, searched with numpy queries. Batches of queries run on several
// threads with the GIL released; the snapshot itself is immutable and safe from any thread.
#include <pybind11/stl.h>

#include <algorithm>

#include "arrays.h"
#include "bindings.h"
#include "filter_binding.h"
#include "search_answers.h"

namespace vstore::python {

namespace {

using Hits = std::vector<SearchHit>;

constexpr const char* kSearchDoc =
    R"doc(search(queries, k=10, ef=None, threads=0, filter=None) -> (ids, distances)

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
filter: None, or the only ids results may have: an iterable of str (a list, a set) or a
    SearchFilter from filter(), which resolves them once for many calls. Ids the commit
    lacks are never returned and raise nothing. A small allowed set is scanned exactly,
    a larger one searched through the graph with the other items navigating but never
    returned; m is then min(k, len(filter)).

Returns, for a query of shape (d,): ids, a list of str, and distances, a float32 array of
shape (m,), where m = min(k, len(snapshot)). For a batch of shape (n, d): ids, a list of n
lists of str, and distances, a float32 array of shape (n, m) when every query found the same
number m of results -- always the case unless the graph cannot reach k live items -- and
otherwise a list of n float32 arrays of shape (m_i,). Missing results are left out, never
filled with sentinels: with k > len(snapshot), m is len(snapshot).)doc";

constexpr const char* kSearchExactDoc =
    R"doc(search_exact(queries, k=10, threads=0, filter=None) -> (ids, distances)

Brute force over exactly the live items (with a filter: over exactly its live ids): the true
k nearest of each query. Queries, threads, filter and the shape of the answer are as for
search().)doc";

constexpr const char* kFilterDoc =
    R"doc(filter(ids) -> SearchFilter

The ids (an iterable of str) resolved against this snapshot, for search(filter=...) and
search_exact(filter=...): resolve once, search many times. Ids the commit lacks (never
inserted, deleted) are no error; len() of the filter counts the distinct ids that are live.
A filter works only with the snapshot that made it.)doc";

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
               std::optional<int64_t> ef, int64_t threads, const py::handle& filter) {
                const VectorRows rows(queries, "queries");
                const size_t kk = checked_k(k), eff = checked_ef(ef);
                const auto allowed = filter_argument(s, filter);
                const auto results = each_row<Hits>(rows, threads, [&](std::span<const float> q) {
                    return allowed ? s.snapshot->search(q, kk, eff, *allowed)
                                   : s.snapshot->search(q, kk, eff);
                });
                return search_answer(
                    results, rows.one_dimensional(),
                    std::min<uint64_t>(kk, allowed ? allowed->size() : s.snapshot->size()));
            },
            kSearchDoc, py::arg("queries"), py::arg("k") = 10, py::arg("ef") = py::none(),
            py::arg("threads") = 0, py::arg("filter") = py::none())
        .def(
            "search_exact",
            [](const SnapshotHandle& s, const py::handle& queries, int64_t k, int64_t threads,
               const py::handle& filter) {
                const VectorRows rows(queries, "queries");
                const size_t kk = checked_k(k);
                const auto allowed = filter_argument(s, filter);
                const auto results = each_row<Hits>(rows, threads, [&](std::span<const float> q) {
                    return allowed ? s.snapshot->search_exact(q, kk, *allowed)
                                   : s.snapshot->search_exact(q, kk);
                });
                return search_answer(
                    results, rows.one_dimensional(),
                    std::min<uint64_t>(kk, allowed ? allowed->size() : s.snapshot->size()));
            },
            kSearchExactDoc, py::arg("queries"), py::arg("k") = 10, py::arg("threads") = 0,
            py::arg("filter") = py::none())
        .def(
            "filter",
            [](const SnapshotHandle& s, const py::handle& ids) {
                if (ids.is_none())
                    throw py::type_error("filter() needs an iterable of str ids, not None");
                return *filter_argument(s, ids);
            },
            kFilterDoc, py::arg("ids"))
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
