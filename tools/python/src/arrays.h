// numpy in and out: vectors and queries as float32 rows, ids as lists of str.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <string>
#include <vector>

namespace vstore::python {

namespace py = pybind11;

// Vectors as the library reads them: float32, C-contiguous, one row per vector. Any array of
// real numbers is accepted (float64, float16 and integers are converted to float32, as numpy
// users expect; a non-contiguous array is copied); booleans, complex numbers, strings and
// objects are Error(kInvalidArgument), as is any shape but (d,) or (n, d).
class VectorRows {
  public:
    // `what` names the argument in messages ("vectors", "queries").
    VectorRows(const py::handle& values, const char* what);

    size_t rows() const { return rows_; }
    size_t dimension() const { return dimension_; }
    bool one_dimensional() const { return one_dimensional_; }
    // Valid while this object lives; reading it needs no GIL.
    std::span<const float> row(size_t i) const { return {data_ + i * dimension_, dimension_}; }

  private:
    py::array_t<float, py::array::c_style> array_;
    const float* data_ = nullptr;
    size_t rows_ = 0;
    size_t dimension_ = 0;
    bool one_dimensional_ = false;
};

// Ids as the library takes them: one str, or a sequence (list, tuple, numpy array) of str.
// `single` tells which it was. Anything else is a TypeError.
std::vector<std::string> id_list(const py::handle& ids, bool* single = nullptr);

// A stored vector as a new 1-d float32 array.
py::array_t<float> float_array(const std::vector<float>& values);

}  // namespace vstore::python
