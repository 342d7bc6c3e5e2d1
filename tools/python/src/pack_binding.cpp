// Pack: one commit as a self-contained directory or archive, written from a Store and opened
// without one.
#include <pybind11/stl.h>

#include "bindings.h"
#include "vstore/pack.h"

namespace vstore::python {

namespace {

// The pack's config file as a dict (spec/pack.md lists its fields).
py::object config_dict(const PackConfig& config) {
    return py::module_::import("json").attr("loads")(config.json);
}

}  // namespace

void bind_pack(py::module_& m) {
    py::class_<Pack, std::shared_ptr<Pack>>(
        m, "Pack",
        "One commit of one domain packed as a self-contained, txtai-style directory or a tar "
        "archive (.tar, .tar.xz, .tar.zst), searchable without the store it came from.")
        .def_static(
            "write",
            [](Store& store, const std::string& domain, const std::string& commit,
               const std::string& path, unsigned threads) {
                PackWriteOptions options;
                options.threads = threads;
                PackConfig config;
                {
                    py::gil_scoped_release release;
                    config = Pack::write(store, domain, commit, path, options);
                }
                return config_dict(config);
            },
            "write(store, domain, commit, path, threads=0) -> dict\n\n"
            "Packs commit `commit` of `domain` at `path`: a directory, or an archive when the "
            "name ends in .tar, .tar.xz or .tar.zst. The pack appears whole or not at all. "
            "Returns its config (a dict). Conflict when `path` exists, NotFound for an unknown "
            "domain or commit. threads: compression threads for .tar.xz, 0 = all cores.",
            py::arg("store"), py::arg("domain"), py::arg("commit"), py::arg("path"),
            py::arg("threads") = 0)
        .def_static(
            "open",
            [](const std::string& path) {
                std::unique_ptr<Pack> opened;
                {
                    py::gil_scoped_release release;
                    opened = Pack::open(path);
                }
                return std::shared_ptr<Pack>(std::move(opened));
            },
            "open(path) -> Pack\n\nOpens a pack directory or archive read-only (an archive is "
            "checked and extracted to a private temporary directory that lives as long as the "
            "Pack). Corruption when a member's checksum differs from the config's, "
            "InvalidArgument for an archive that is not a pack.",
            py::arg("path"))
        .def(
            "snapshot",
            [](const std::shared_ptr<Pack>& pack) {
                SnapshotHandle handle;
                handle.owner = pack;
                py::gil_scoped_release release;
                handle.snapshot = pack->snapshot();
                return handle;
            },
            "snapshot() -> Snapshot\n\nThe pack's commit, loaded once: the same answers as the "
            "commit in its store.")
        .def_property_readonly(
            "config", [](const Pack& p) { return config_dict(p.config()); },
            "The pack's config file as a dict.")
        .def_property_readonly("path", &Pack::path, "The path the pack was opened from.")
        .def_property_readonly(
            "kind", [](const Pack& p) { return std::string(pack_kind_name(p.kind())); },
            "\"directory\", \"tar\", \"tar.xz\" or \"tar.zst\".")
        .def("__repr__", [](const Pack& p) { return "<vstore.Pack " + p.path() + ">"; });
}

}  // namespace vstore::python
