// CommitInfo and DomainInfo as Python sees them: read-only attributes named as the command
// line's --json output names them (tools/records_json.cpp), and to_dict() that returns exactly
// that JSON object, so the two cannot drift apart.
#include <pybind11/stl.h>

#include "bindings.h"
#include "records_json.h"
#include "text.h"

namespace vstore::python {

namespace {

py::object to_python(const cli::json& j) {
    switch (j.type()) {
        case cli::json::value_t::null:
            return py::none();
        case cli::json::value_t::boolean:
            return py::bool_(j.get<bool>());
        case cli::json::value_t::number_integer:
            return py::int_(j.get<int64_t>());
        case cli::json::value_t::number_unsigned:
            return py::int_(j.get<uint64_t>());
        case cli::json::value_t::number_float:
            return py::float_(j.get<double>());
        case cli::json::value_t::string:
            return py::str(j.get<std::string>());
        case cli::json::value_t::array: {
            py::list out;
            for (const auto& v : j)
                out.append(to_python(v));
            return out;
        }
        case cli::json::value_t::object: {
            py::dict out;
            for (const auto& [key, v] : j.items())
                out[py::str(key)] = to_python(v);
            return out;
        }
        default:
            return py::none();
    }
}

}  // namespace

void bind_records(py::module_& m) {
    py::class_<CommitInfo>(m, "CommitInfo",
                           "One commit of a domain, as the catalog records it (read-only). The "
                           "attributes are those of `vstore log --json`.")
        .def_readonly("domain", &CommitInfo::domain, "The domain's name.")
        .def_readonly("commit", &CommitInfo::commit, "The commit's id.")
        .def_readonly("parent", &CommitInfo::parent, "The parent commit's id, or None for a root.")
        .def_readonly("parent_dropped", &CommitInfo::parent_dropped,
                      "True when the parent was dropped (gc): the log stops here.")
        .def_property_readonly(
            "created", [](const CommitInfo& c) { return cli::iso_time(c.created_unix_ms); },
            "When the commit was made, ISO 8601 in UTC to the second (\"2026-12-02T03:04:05Z\").")
        .def_readonly("created_unix_ms", &CommitInfo::created_unix_ms,
                      "When the commit was made, in milliseconds since the Unix epoch.")
        .def_readonly("inserted", &CommitInfo::inserted, "Ids inserted by this commit.")
        .def_readonly("deleted", &CommitInfo::deleted, "Ids deleted by this commit.")
        .def_readonly("replaced", &CommitInfo::replaced, "Ids whose vector this commit replaced.")
        .def_readonly("live", &CommitInfo::live_count, "Items the commit holds (len(snapshot)).")
        .def_readonly("tombstones", &CommitInfo::tombstone_count,
                      "Deleted nodes kept in the graph for navigation.")
        .def_readonly("compacted", &CommitInfo::compacted,
                      "True when this commit compacted its tombstones away.")
        .def_readonly("graph_file", &CommitInfo::graph_file,
                      "The graph file's name inside the store directory.")
        .def_readonly("graph_bytes", &CommitInfo::graph_bytes, "The graph file's size in bytes.")
        .def_readonly("graph_owner", &CommitInfo::graph_owner,
                      "The commit that wrote graph_file when this one shares it, else None.")
        .def_readonly("graph_owner_dropped", &CommitInfo::owner_dropped,
                      "True when the graph's owner commit was dropped.")
        .def(
            "to_dict", [](const CommitInfo& c) { return to_python(cli::commit_json(c)); },
            "The commit as a dict, the same object as `vstore log --json` prints.")
        .def("__repr__", [](const CommitInfo& c) {
            return "<vstore.CommitInfo " + c.domain + "@" + c.commit +
                   " parent=" + c.parent.value_or("None") +
                   " live=" + std::to_string(c.live_count) + ">";
        });

    py::class_<DomainInfo>(m, "DomainInfo",
                           "One domain (a vector space) of a store (read-only). The attributes "
                           "are those of `vstore domain list --json`.")
        .def_readonly("name", &DomainInfo::name, "The domain's name.")
        .def_readonly("dimension", &DomainInfo::dimension, "Components of every vector.")
        .def_property_readonly(
            "metric",
            [](const DomainInfo& d) { return std::string(format::metric_name(d.metric)); },
            "\"l2\" (squared Euclidean), \"cosine\" (1 - cos) or \"ip\" (1 - a.b).")
        .def_readonly("m", &DomainInfo::m, "M of the HNSW graphs: links per node.")
        .def_readonly("ef_construction", &DomainInfo::ef_construction,
                      "Search breadth while building the graphs.")
        .def_property_readonly(
            "created", [](const DomainInfo& d) { return cli::iso_time(d.created_unix_ms); },
            "When the domain was created, ISO 8601 in UTC to the second.")
        .def_readonly("created_unix_ms", &DomainInfo::created_unix_ms,
                      "When the domain was created, in milliseconds since the Unix epoch.")
        .def(
            "to_dict", [](const DomainInfo& d) { return to_python(cli::domain_json(d)); },
            "The domain as a dict, the same object as `vstore domain list --json` prints.")
        .def("__repr__", [](const DomainInfo& d) {
            return "<vstore.DomainInfo " + d.name + " dimension=" + std::to_string(d.dimension) +
                   " metric=" + std::string(format::metric_name(d.metric)) + ">";
        });
}

}  // namespace vstore::python
