// CommitBuilder: a batch of operations that becomes one commit, and a context manager that
// finishes it when the block ends normally and abandons it when the block raises.
#include "commit_binding.h"

#include <pybind11/stl.h>

#include "arrays.h"
#include "bindings.h"

namespace vstore::python {

namespace {

CommitBuilder& open_builder(CommitHandle& c) {
    if (!c.builder)
        throw Error::invalid_argument("commit '" + c.commit + "' of domain '" + c.domain +
                                      "' is already " + (c.info ? "finished" : "abandoned"));
    return *c.builder;
}

// Applies `op` to each (id, vector) pair, with the GIL released.
void each_pair(CommitHandle& c, const py::handle& ids, const py::handle& vectors,
               void (CommitBuilder::*op)(const std::string&, std::span<const float>)) {
    bool single = false;
    const auto id_values = id_list(ids, &single);
    const VectorRows rows(vectors, "vectors");
    if (single && !rows.one_dimensional() && rows.rows() != 1)
        throw Error::invalid_argument("one id needs one vector of shape (d,), not " +
                                      std::to_string(rows.rows()) + " rows");
    if (id_values.size() != rows.rows())
        throw Error::invalid_argument(std::to_string(id_values.size()) + " ids for " +
                                      std::to_string(rows.rows()) + " vectors");
    py::gil_scoped_release release;
    std::lock_guard lock(c.mutex);
    CommitBuilder& b = open_builder(c);
    for (size_t i = 0; i < id_values.size(); ++i)
        (b.*op)(id_values[i], rows.row(i));
}

CommitInfo finish(CommitHandle& c) {
    py::gil_scoped_release release;
    std::lock_guard lock(c.mutex);
    open_builder(c);
    // The builder is spent whether finish() succeeds or throws (then nothing is committed).
    std::optional<CommitBuilder> spent;
    spent.swap(c.builder);
    c.info = spent->finish();
    return *c.info;
}

void abandon(CommitHandle& c) {
    py::gil_scoped_release release;
    std::lock_guard lock(c.mutex);
    c.builder.reset();
}

constexpr const char* kVectorsDoc =
    "ids: one str with vectors of shape (d,), or a sequence of n str with vectors of shape "
    "(n, d). Vectors are float32; other real dtypes are converted, non-contiguous arrays "
    "copied.";

}  // namespace

void bind_commit(py::module_& m) {
    py::class_<CommitHandle, std::shared_ptr<CommitHandle>>(
        m, "CommitBuilder",
        "A batch of operations that becomes one commit, from Store.begin_commit(). Operations "
        "are checked as they are added; finish() checks them against the parent and makes the "
        "commit durable and visible at once. As a context manager (`with store.begin_commit(...) "
        "as c:`), leaving the block normally finishes the commit (its CommitInfo is then "
        "c.info), and leaving it with an exception abandons it: nothing is committed.")
        .def(
            "insert",
            [](CommitHandle& c, const py::handle& ids, const py::handle& vectors) {
                each_pair(c, ids, vectors, &CommitBuilder::insert);
            },
            (std::string("insert(ids, vectors)\n\nAdds new ids. Conflict for an id live in the "
                         "parent; InvalidArgument for a wrong dimension, a NaN or infinite "
                         "value, a zero vector under cosine, an invalid id or one already in "
                         "this batch.\n") +
             kVectorsDoc)
                .c_str(),
            py::arg("ids"), py::arg("vectors"))
        .def(
            "replace",
            [](CommitHandle& c, const py::handle& ids, const py::handle& vectors) {
                each_pair(c, ids, vectors, &CommitBuilder::replace);
            },
            (std::string("replace(ids, vectors)\n\nGives live ids new vectors. NotFound for an "
                         "id the parent does not hold; the checks of insert() apply.\n") +
             kVectorsDoc)
                .c_str(),
            py::arg("ids"), py::arg("vectors"))
        .def(
            "put",
            [](CommitHandle& c, const py::handle& ids, const py::handle& vectors) {
                each_pair(c, ids, vectors, &CommitBuilder::put);
            },
            (std::string("put(ids, vectors)\n\nSnapshot mode: states that the new commit holds "
                         "these ids with these vectors. finish() works out the inserts, "
                         "replaces and deletes against the parent (every parent id never put is "
                         "deleted). Cannot be mixed with insert/remove/replace.\n") +
             kVectorsDoc)
                .c_str(),
            py::arg("ids"), py::arg("vectors"))
        .def(
            "remove",
            [](CommitHandle& c, const py::handle& ids) {
                const auto id_values = id_list(ids);
                py::gil_scoped_release release;
                std::lock_guard lock(c.mutex);
                CommitBuilder& b = open_builder(c);
                for (const auto& id : id_values)
                    b.remove(id);
            },
            "remove(ids)\n\nDeletes ids (one str or a sequence of str). NotFound for an id the "
            "parent does not hold.",
            py::arg("ids"))
        .def(
            "begin_snapshot",
            [](CommitHandle& c) {
                py::gil_scoped_release release;
                std::lock_guard lock(c.mutex);
                open_builder(c).begin_snapshot();
            },
            "begin_snapshot()\n\nDeclares snapshot mode before any put(): a commit that then "
            "puts nothing deletes every id of the parent.")
        .def("finish", &finish,
             "finish() -> CommitInfo\n\nMakes the commit durable and visible and returns its "
             "CommitInfo (also c.info afterwards). When it raises, nothing is committed. The "
             "builder is spent either way.")
        .def("abandon", &abandon,
             "abandon()\n\nDrops the batch: nothing is committed and the store's writer lock is "
             "released.")
        .def_property_readonly(
            "info", [](const CommitHandle& c) { return c.info; },
            "The CommitInfo once finished, else None.")
        .def_readonly("domain", &CommitHandle::domain, "The domain being written.")
        .def_readonly("commit", &CommitHandle::commit, "The id of the commit being built.")
        .def(
            "__enter__", [](std::shared_ptr<CommitHandle> c) { return c; },
            "Returns the builder itself.")
        .def(
            "__exit__",
            [](CommitHandle& c, const py::handle& exc_type, const py::handle&, const py::handle&) {
                if (exc_type.is_none())
                    finish(c);
                else
                    abandon(c);
                return false;
            },
            "Finishes the commit when the block ended normally, abandons it when it raised "
            "(the exception goes on).");
}

}  // namespace vstore::python
