// The stores and packs the SQL functions name, each opened once per process and shared.
//
// Any number of SQLite connections may name the same store or pack. The process keeps one
// Source per canonical path, counting the connections that use it, and closes it when the last
// of them closes: a pack archive is unpacked once, and a store is the process's one Store of
// that directory (Store::open_shared, which `import vstore` in the same process shares). Each
// connection keeps the sources it has named in a ConnectionSources, the user data of its
// functions, which SQLite destroys when the connection closes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "filter_cache.h"
#include "source.h"

namespace vstore::sql {

// The process's Source at `path`: opened by the first caller, kept while any returned pointer
// lives, closed when the last one goes. Error(kNotFound) for a path that does not exist.
std::shared_ptr<Source> acquire_source(const std::string& path);

// The sources one connection has named, held until the connection closes, and the filter its
// searches made last.
class ConnectionSources {
  public:
    std::shared_ptr<Source> source(const std::string& path);
    FilterCache& filters() { return filters_; }

  private:
    std::mutex mutex_;  // a connection in serialized mode may call from several threads
    std::map<std::string, std::shared_ptr<Source>> by_path_;  // by canonical path
    FilterCache filters_;
};

}  // namespace vstore::sql
