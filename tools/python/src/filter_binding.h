// The `filter` argument of Snapshot.search and search_exact (filter_binding.cpp).
#pragma once

#include <optional>

#include "bindings.h"

namespace vstore::python {

// None: no filter; a SearchFilter as it is; else an iterable of str ids, resolved against `s`
// (ids the commit lacks are never returned). TypeError for a str alone or an id not a str.
std::optional<SearchFilter> filter_argument(const SnapshotHandle& s, const py::handle& filter);

}  // namespace vstore::python
