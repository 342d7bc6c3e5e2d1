// SearchFilter: a set of allowed ids resolved once against one snapshot, for Snapshot.search's
// and search_exact's `filter` argument, which also takes the ids themselves.
#include "filter_binding.h"

#include "arrays.h"

namespace vstore::python {

std::optional<SearchFilter> filter_argument(const SnapshotHandle& s, const py::handle& filter) {
    if (filter.is_none())
        return std::nullopt;
    if (py::isinstance<SearchFilter>(filter))
        return filter.cast<SearchFilter>();
    if (py::isinstance<py::str>(filter) || py::isinstance<py::bytes>(filter))
        throw py::type_error("filter must be an iterable of str ids or a SearchFilter, not one "
                             "str: wrap a single id in a list");
    if (!py::hasattr(filter, "__iter__"))
        throw py::type_error("filter must be an iterable of str ids or a SearchFilter, not " +
                             py::str(py::type::of(filter).attr("__name__")).cast<std::string>());
    std::vector<std::string> ids;
    for (const py::handle id : filter) {
        if (!py::isinstance<py::str>(id))
            throw py::type_error("filter ids must be str, not " +
                                 py::str(py::type::of(id).attr("__name__")).cast<std::string>());
        ids.push_back(id.cast<std::string>());
    }
    py::gil_scoped_release release;
    return s.snapshot->filter(ids);
}

void bind_filter(py::module_& m) {
    py::class_<SearchFilter>(
        m, "SearchFilter",
        "A set of allowed ids resolved against one Snapshot (Snapshot.filter()): the live items "
        "a filtered search may return. Immutable; reuse it for any number of searches, from any "
        "thread, but only with the snapshot that made it (another raises InvalidArgument).")
        .def(
            "__len__", [](const SearchFilter& f) { return f.size(); },
            "The distinct ids given that are live in the snapshot: the items a search may "
            "return.")
        .def_property_readonly(
            "given", [](const SearchFilter& f) { return f.given(); },
            "The number of ids given, duplicates and ids the commit lacks included.")
        .def_property_readonly(
            "domain", [](const SearchFilter& f) { return f.domain(); },
            "The domain of the commit the filter was resolved against.")
        .def_property_readonly(
            "commit", [](const SearchFilter& f) { return f.commit(); },
            "The commit the filter was resolved against.")
        .def("__repr__", [](const SearchFilter& f) {
            return "<vstore.SearchFilter " + f.domain() + "@" + f.commit() +
                   " live=" + std::to_string(f.size()) + " given=" + std::to_string(f.given()) +
                   ">";
        });
}

}  // namespace vstore::python
