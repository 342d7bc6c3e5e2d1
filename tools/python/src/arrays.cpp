#include "arrays.h"

#include "vstore/format/error.h"

namespace vstore::python {

VectorRows::VectorRows(const py::handle& values, const char* what) {
    py::array any = py::array::ensure(values);
    if (!any)
        throw Error::invalid_argument(std::string(what) +
                                      " must be an array of numbers of shape (d,) or (n, d)");
    const char kind = any.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u')
        throw Error::invalid_argument(std::string(what) + " must hold real numbers, not dtype " +
                                      py::str(any.dtype()).cast<std::string>());
    if (any.ndim() != 1 && any.ndim() != 2)
        throw Error::invalid_argument(std::string(what) + " must have shape (d,) or (n, d), not " +
                                      py::str(py::tuple(any.attr("shape"))).cast<std::string>());
    array_ = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(any);
    if (!array_)
        throw py::error_already_set();
    one_dimensional_ = array_.ndim() == 1;
    rows_ = one_dimensional_ ? 1 : static_cast<size_t>(array_.shape(0));
    dimension_ = static_cast<size_t>(array_.shape(one_dimensional_ ? 0 : 1));
    data_ = array_.data();
}

std::vector<std::string> id_list(const py::handle& ids, bool* single) {
    if (single)
        *single = py::isinstance<py::str>(ids);
    if (py::isinstance<py::str>(ids))
        return {ids.cast<std::string>()};
    if (!py::isinstance<py::sequence>(ids) && !py::isinstance<py::array>(ids))
        throw py::type_error("ids must be a str or a sequence of str");
    std::vector<std::string> out;
    for (const py::handle id : ids) {
        if (!py::isinstance<py::str>(id))
            throw py::type_error("ids must be str, not " +
                                 py::str(py::type::of(id).attr("__name__")).cast<std::string>());
        out.push_back(id.cast<std::string>());
    }
    return out;
}

py::array_t<float> float_array(const std::vector<float>& values) {
    py::array_t<float> out(static_cast<py::ssize_t>(values.size()));
    std::copy(values.begin(), values.end(), out.mutable_data());
    return out;
}

}  // namespace vstore::python
