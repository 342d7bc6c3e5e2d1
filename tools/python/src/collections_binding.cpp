// Seed 001's collections: search_many, the k nearest over several commits at once (each of
// its own domain), and Store.index_llm_collection, a commit made from one collection of llm's
// embeddings database, as `vstore index --llm-db DB --collection NAME` makes it.
#include <pybind11/stl.h>

#include <numeric>

#include "apply_operation.h"
#include "bindings.h"
#include "inputs.h"
#include "search_answers.h"
#include "vstore/search_many.h"

namespace vstore::python {

namespace {

using MultiHits = std::vector<MultiHit>;

py::tuple search_many_answer(const std::vector<SnapshotHandle>& sources, const py::handle& queries,
                             int64_t k, std::optional<int64_t> ef, bool exact, int64_t threads) {
    std::vector<std::shared_ptr<const Snapshot>> snapshots;
    for (const auto& s : sources)
        snapshots.push_back(s.snapshot);
    const VectorRows rows(queries, "queries");
    const size_t kk = checked_k(k), eff = checked_ef(ef);
    const auto results = each_row<MultiHits>(rows, threads, [&](std::span<const float> q) {
        return exact ? search_many_exact(snapshots, q, kk) : search_many(snapshots, q, kk, eff);
    });
    const uint64_t live =
        std::accumulate(snapshots.begin(), snapshots.end(), uint64_t{0},
                        [](uint64_t sum, const auto& s) { return sum + (s ? s->size() : 0); });
    return search_answer(results, rows.one_dimensional(), std::min<uint64_t>(kk, live));
}

constexpr const char* kSearchManyDoc =
    R"doc(search_many(snapshots, queries, k=10, ef=None, exact=False, threads=0) -> (hits, distances)

The k nearest live items over several commits at once, each of its own domain (an index over
several collections): every snapshot is searched for its own k nearest (as Snapshot.search,
or Snapshot.search_exact with exact=True) and the lists are merged into the k nearest of all,
ascending by distance; equal distances are ordered by domain, then id, then commit, whatever
the order of `snapshots`.

snapshots: a non-empty list of Snapshot objects (from one store or several, or packs), of one
    dimension and one metric. InvalidArgument, naming both, when two differ, and when the
    same commit of a domain is given twice.
queries, k, ef, threads: as for Snapshot.search.

Returns the shape Snapshot.search returns, with each hit a tuple (domain, commit, id) instead
of an id.)doc";

constexpr const char* kStoreSearchManyDoc =
    R"doc(search_many(commits, queries, k=10, ef=None, exact=False, threads=0) -> (hits, distances)

vstore.search_many over commits of this store named as (domain, commit) pairs: opens each
(NotFound for an unknown one) and searches them together.)doc";

constexpr const char* kIndexLlmDoc =
    R"doc(index_llm_collection(db, collection, domain, commit, parent=None) -> CommitInfo

Makes commit `commit` of `domain` from one collection of llm's embeddings database (SQLite:
tables collections(id, name, model) and embeddings(collection_id, id, embedding, ...), each
embedding a little-endian float32 blob), as `vstore index --llm-db DB --collection NAME` does:
in snapshot mode, so the commit holds exactly that collection's rows, and only what changed
since `parent` is re-indexed. The database is opened read-only.

NotFound for a missing database or an unknown collection (the message lists the collections);
InvalidArgument for a database without llm's tables, or an embedding that is not float32 of
the domain's dimension (naming the database, collection and id). On any error nothing is
committed.)doc";

}  // namespace

void bind_collections(py::module_& m, py::class_<Store, std::shared_ptr<Store>>& store) {
    m.def("search_many", &search_many_answer, kSearchManyDoc, py::arg("snapshots"),
          py::arg("queries"), py::arg("k") = 10, py::arg("ef") = py::none(),
          py::arg("exact") = false, py::arg("threads") = 0);
    store.def(
        "search_many",
        [](const std::shared_ptr<Store>& s,
           const std::vector<std::pair<std::string, std::string>>& commits,
           const py::handle& queries, int64_t k, std::optional<int64_t> ef, bool exact,
           int64_t threads) {
            std::vector<SnapshotHandle> sources;
            {
                py::gil_scoped_release release;
                for (const auto& [domain, commit] : commits)
                    sources.push_back({s->open_commit(domain, commit), s});
            }
            return search_many_answer(sources, queries, k, ef, exact, threads);
        },
        kStoreSearchManyDoc, py::arg("commits"), py::arg("queries"), py::arg("k") = 10,
        py::arg("ef") = py::none(), py::arg("exact") = false, py::arg("threads") = 0);
    store.def(
        "index_llm_collection",
        [](Store& s, const std::string& db, const std::string& collection,
           const std::string& domain, const std::string& commit,
           std::optional<std::string> parent) {
            py::gil_scoped_release release;
            CommitBuilder builder = s.begin_commit(domain, commit, parent);
            builder.begin_snapshot();
            cli::read_snapshot_llm(db, collection, [&](cli::SnapshotItem&& item) {
                cli::apply_snapshot_item(builder, item);
            });
            return builder.finish();
        },
        kIndexLlmDoc, py::arg("db"), py::arg("collection"), py::arg("domain"), py::arg("commit"),
        py::arg("parent") = py::none());
}

}  // namespace vstore::python
