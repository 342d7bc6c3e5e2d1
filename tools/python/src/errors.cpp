// vstore.Error and one subclass per vstore::ErrorCode; every vstore::Error thrown through the
// binding becomes the subclass of its code, with the library's one-line message.
#include <Python.h>

#include <array>

#include "bindings.h"

namespace vstore::python {

namespace {

// The exception types, created once with the module and kept for its whole life (the
// interpreter never unloads an extension module).
PyObject* g_base = nullptr;
std::array<PyObject*, 6> g_by_code{};

PyObject* new_exception(py::module_& m, const char* name, PyObject* bases, const char* doc) {
    const std::string qualified = std::string("vstore.") + name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
    if (!type)
        throw py::error_already_set();
    m.add_object(name, py::reinterpret_borrow<py::object>(type));
    return type;
}

PyObject* exception_for(ErrorCode code) {
    const auto i = static_cast<size_t>(code);
    return i < g_by_code.size() && g_by_code[i] ? g_by_code[i] : g_base;
}

}  // namespace

void bind_errors(py::module_& m) {
    g_base = new_exception(m, "Error", PyExc_Exception,
                           "Base of every error the vstore library raises; str() is its one-line "
                           "message, prefixed with the category (\"not found: ...\").");
    auto sub = [&](ErrorCode code, const char* name, const char* doc) {
        g_by_code[static_cast<size_t>(code)] = new_exception(m, name, g_base, doc);
    };
    sub(ErrorCode::kNotFound, "NotFound", "A file, domain, commit or id that does not exist.");
    sub(ErrorCode::kInvalidArgument, "InvalidArgument",
        "Something the library cannot accept: a wrong dimension or shape, a NaN or infinite "
        "value, an unknown metric or mode, an invalid id.");
    sub(ErrorCode::kCorruption, "Corruption",
        "Bytes on disk do not match what the format promises.");
    sub(ErrorCode::kConflict, "Conflict",
        "Another writer holds the store, or an id or commit already exists.");
    sub(ErrorCode::kExhausted, "Exhausted",
        "A bounded resource (the buffer pool's frames in pool mode) has nothing left to give.");
    // Also an OSError, so that `except OSError` catches what the operating system refused.
    py::tuple io_bases = py::make_tuple(py::handle(g_base), py::handle(PyExc_OSError));
    g_by_code[static_cast<size_t>(ErrorCode::kIO)] =
        new_exception(m, "IOError", io_bases.ptr(),
                      "The operating system refused a read, write, sync or map; also an OSError.");

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p)
                std::rethrow_exception(p);
        } catch (const Error& e) {
            PyErr_SetString(exception_for(e.code()), e.what());
        }
    });
}

}  // namespace vstore::python
