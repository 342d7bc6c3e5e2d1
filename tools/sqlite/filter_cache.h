// The filter of the last allowed_ids a connection's searches were given (spec/sql.md,
// allowed_ids). A statement passes the same list to the search of every row, typically as
// (select json_group_array(id) ...), and a list of thousands of ids costs more to parse and
// resolve than the search itself; SQLite keeps a function's auxiliary data only for literal
// arguments, not for a subquery's value, so the connection keeps the filter instead.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "vstore/store.h"

namespace vstore::sql {

class FilterCache {
  public:
    // The filter of `allowed` (TEXT, a JSON array of ids) for `snapshot`: the kept one when
    // both are the same as last time, else made (Error as allowed_ids_of_json) and kept.
    SearchFilter filter(const std::shared_ptr<const Snapshot>& snapshot, const std::string& allowed,
                        std::string_view function);

  private:
    std::mutex mutex_;  // a connection in serialized mode may call from several threads
    std::string allowed_;
    std::weak_ptr<const Snapshot> snapshot_;  // weak: the cache must not keep a commit loaded
    std::optional<SearchFilter> filter_;
};

}  // namespace vstore::sql
