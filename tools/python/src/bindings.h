// The parts of the `vstore` Python module, one concept each, and the handles they share.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>

#include "vstore/store.h"

namespace vstore::python {

namespace py = pybind11;

// A loaded commit as Python holds it: the snapshot and what must outlive it (the Store it was
// opened from, or the Pack whose extracted files it reads).
struct SnapshotHandle {
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<const void> owner;
};

void bind_errors(py::module_& m);   // errors.cpp: vstore.Error and its subclasses
void bind_records(py::module_& m);  // records.cpp: CommitInfo, DomainInfo
void bind_store(py::module_& m);    // store_binding.cpp: Store
// collections_binding.cpp: search_many, and Store's search_many and index_llm_collection
void bind_collections(py::module_& m, py::class_<Store, std::shared_ptr<Store>>& store);
void bind_commit(py::module_& m);    // commit_binding.cpp: CommitBuilder
void bind_snapshot(py::module_& m);  // snapshot_binding.cpp: Snapshot
void bind_filter(py::module_& m);    // filter_binding.cpp: SearchFilter
void bind_pack(py::module_& m);      // pack_binding.cpp: Pack

}  // namespace vstore::python
