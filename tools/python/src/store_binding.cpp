// Store: a store directory, opened once per process: opening a path again returns the Store
// already open (Store::open_shared).
#include <pybind11/stl.h>

#include "bindings.h"
#include "commit_binding.h"

namespace vstore::python {

namespace {

StoreOptions store_options(const std::string& mode, std::optional<int64_t> pool_budget) {
    StoreOptions options;
    if (mode == "mapped")
        options.mode = ServingMode::kMapped;
    else if (mode == "pool")
        options.mode = ServingMode::kPool;
    else
        throw Error::invalid_argument("mode must be \"mapped\" or \"pool\", not \"" + mode + "\"");
    if (pool_budget) {
        if (*pool_budget <= 0)
            throw Error::invalid_argument("pool_budget must be a positive number of bytes");
        options.pool_budget_bytes = static_cast<size_t>(*pool_budget);
    }
    return options;
}

// Both go through Store::open_shared, the library's one Store per directory per process,
// which the SQLite extension in the same process shares too.
std::shared_ptr<Store> create_store(const std::string& path, const std::string& mode,
                                    std::optional<int64_t> pool_budget) {
    const auto options = store_options(mode, pool_budget);
    Store::create(path, options).reset();
    return Store::open_shared(path, options);
}

std::shared_ptr<Store> open_store(const std::string& path, const std::string& mode,
                                  std::optional<int64_t> pool_budget) {
    return Store::open_shared(path, store_options(mode, pool_budget));
}

DomainInfo create_domain(Store& store, const std::string& name, int64_t dim,
                         const std::string& metric, int64_t m, int64_t ef_construction) {
    const auto parsed = format::metric_from_name(metric);
    if (!parsed)
        throw Error::invalid_argument("metric must be \"l2\", \"cosine\" or \"ip\", not \"" +
                                      metric + "\"");
    if (dim < 1 || dim > UINT32_MAX || m < 2 || m > UINT32_MAX || ef_construction < 1 ||
        ef_construction > UINT32_MAX)
        throw Error::invalid_argument("dim and ef_construction must be at least 1, m at least 2");
    DomainOptions options;
    options.dimension = static_cast<uint32_t>(dim);
    options.metric = *parsed;
    options.m = static_cast<uint32_t>(m);
    options.ef_construction = static_cast<uint32_t>(ef_construction);
    py::gil_scoped_release release;
    return store.create_domain(name, options);
}

constexpr const char* kOpenDoc = R"doc(open(path, mode="mapped", pool_budget=None) -> Store

Opens an existing store directory. NotFound when it holds no store.

mode: "mapped" memory-maps the vector files (the fast default); "pool" reads their pages
    into a bounded pool of frames, for vector files larger than the memory granted.
pool_budget: bytes of frames per vector file in pool mode (default 256 MiB).

A path this process already has open (the same directory by its canonical path) returns that
same Store object, whatever mode is asked: the library serves one Store per directory per
process, with the options it was first opened with.)doc";

}  // namespace

void bind_store(py::module_& m) {
    py::class_<Store, std::shared_ptr<Store>> store(
        m, "Store",
        "A store directory: its domains, their vector files and one HNSW graph per commit. "
        "Get one with Store.create() or Store.open(); there is at most one per directory in a "
        "process. Safe to use from several threads.");
    store
        .def_static("create", &create_store,
                    "create(path, mode=\"mapped\", pool_budget=None) -> Store\n\n"
                    "Creates the directory (if needed) and an empty store in it. Conflict when it "
                    "already holds one. mode and pool_budget as for open().",
                    py::arg("path"), py::arg("mode") = "mapped",
                    py::arg("pool_budget") = py::none())
        .def_static("open", &open_store, kOpenDoc, py::arg("path"), py::arg("mode") = "mapped",
                    py::arg("pool_budget") = py::none())
        .def_property_readonly("path", &Store::dir, "The store's directory, as it was opened.")
        .def("create_domain", &create_domain,
             "create_domain(name, *, dim, metric=\"cosine\", m=16, ef_construction=200) -> "
             "DomainInfo\n\n"
             "Creates a domain: a vector space of `dim` components under `metric` (\"l2\": "
             "squared Euclidean, \"cosine\": 1 - cos, \"ip\": 1 - a.b), whose commits are HNSW "
             "graphs with M = m and the given ef_construction. Conflict when it exists.",
             py::arg("name"), py::kw_only(), py::arg("dim"), py::arg("metric") = "cosine",
             py::arg("m") = 16, py::arg("ef_construction") = 200)
        .def("domain", &Store::domain, "domain(name) -> DomainInfo\n\nNotFound if unknown.",
             py::arg("name"))
        .def("domains", &Store::domains, "domains() -> list of DomainInfo\n\nSorted by name.")
        .def("commit", &Store::commit,
             "commit(domain, commit) -> CommitInfo\n\nNotFound for an unknown domain or commit.",
             py::arg("domain"), py::arg("commit"))
        .def("commits", &Store::commits,
             "commits(domain) -> list of CommitInfo\n\nEvery commit of the domain, sorted by "
             "commit id. NotFound for an unknown domain.",
             py::arg("domain"))
        .def("log", &Store::log,
             "log(domain, commit) -> list of CommitInfo\n\nThe chain from `commit` back to its "
             "root, newest first; it ends early at a commit whose parent was dropped.",
             py::arg("domain"), py::arg("commit"))
        .def(
            "begin_commit",
            [](const std::shared_ptr<Store>& store, const std::string& domain,
               const std::string& commit, std::optional<std::string> parent) {
                auto handle = std::make_shared<CommitHandle>();
                handle->store = store;
                handle->domain = domain;
                handle->commit = commit;
                py::gil_scoped_release release;
                handle->builder.emplace(store->begin_commit(domain, commit, parent));
                return handle;
            },
            "begin_commit(domain, commit, parent=None) -> CommitBuilder\n\n"
            "Starts commit `commit` of `domain` on top of `parent` (None: a root commit). Use it "
            "as a context manager: `with store.begin_commit(\"docs\", \"c2\", \"c1\") as c: "
            "c.insert(ids, vectors)`. NotFound for an unknown domain or parent, Conflict when the "
            "commit exists or another builder (in any process) is writing this store.",
            py::arg("domain"), py::arg("commit"), py::arg("parent") = py::none())
        .def(
            "assign",
            [](Store& store, const std::string& domain, const std::string& existing,
               const std::string& new_commit) {
                py::gil_scoped_release release;
                return store.assign(domain, existing, new_commit);
            },
            "assign(domain, existing_commit, new_commit) -> CommitInfo\n\n"
            "Records `new_commit` with the graph and vectors of `existing_commit` (its parent), "
            "writing no graph: for a commit that changed no vectors.",
            py::arg("domain"), py::arg("existing_commit"), py::arg("new_commit"))
        .def(
            "open_commit",
            [](const std::shared_ptr<Store>& store, const std::string& domain,
               const std::string& commit) {
                SnapshotHandle handle;
                handle.owner = store;
                py::gil_scoped_release release;
                handle.snapshot = store->open_commit(domain, commit);
                return handle;
            },
            "open_commit(domain, commit) -> Snapshot\n\nA loaded commit, searchable. NotFound "
            "for an unknown domain or commit.",
            py::arg("domain"), py::arg("commit"))
        .def("__repr__", [](const Store& s) { return "<vstore.Store " + s.dir() + ">"; });
    bind_collections(m, store);
}

}  // namespace vstore::python
