#include "filter_cache.h"

#include "arguments.h"

namespace vstore::sql {

SearchFilter FilterCache::filter(const std::shared_ptr<const Snapshot>& snapshot,
                                 const std::string& allowed, std::string_view function) {
    const std::lock_guard lock(mutex_);
    if (!filter_ || allowed != allowed_ || snapshot_.lock() != snapshot) {
        filter_.reset();
        filter_ = snapshot->filter(allowed_ids_of_json(allowed, function));
        allowed_ = allowed;
        snapshot_ = snapshot;
    }
    return *filter_;
}

}  // namespace vstore::sql
