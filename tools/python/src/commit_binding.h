// CommitBuilder as Python holds it: the library's builder, the Store it writes (kept alive),
// and what became of it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "vstore/store.h"

namespace vstore::python {

struct CommitHandle {
    std::shared_ptr<Store> store;
    std::string domain, commit;
    std::optional<CommitBuilder> builder;  // empty once finished or abandoned
    std::optional<CommitInfo> info;        // set by finish()
    // The builder is not thread-safe, and its calls run with the GIL released.
    std::mutex mutex;
};

}  // namespace vstore::python
