// The extension module vstore._vstore, re-exported by the package vstore (vstore/__init__.py).
#include "bindings.h"

PYBIND11_MODULE(_vstore, m) {
    // Every docstring starts with its own signature, in Python's terms rather than pybind11's.
    pybind11::options options;
    options.disable_function_signatures();
    m.doc() =
        "vstore: a versioned, embedded vector store. A Store holds domains (vector spaces); each "
        "commit of a domain is an HNSW graph built from its parent, searchable forever.";
    vstore::python::bind_errors(m);
    vstore::python::bind_records(m);
    vstore::python::bind_filter(m);
    vstore::python::bind_snapshot(m);
    vstore::python::bind_commit(m);
    vstore::python::bind_store(m);
    vstore::python::bind_pack(m);
}
