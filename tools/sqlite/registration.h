// How the extension's functions and its virtual table are registered on a connection, and
// what they share there: the connection's sources (store_registry.h). Each registration holds
// its own reference to them, which SQLite destroys when the connection closes (or the
// function is registered anew); the last one to go releases the connection's sources.
#pragma once

#include <memory>

#include "sqlite_api.h"
#include "store_registry.h"

namespace vstore::sql {

using SharedSources = std::shared_ptr<ConnectionSources>;

// sqlite3_create_function_v2 with a reference to `sources` as its user data. An SQLite code.
int create_function(sqlite3* db, const char* name, int arguments, int flags,
                    const SharedSources& sources,
                    void (*call)(sqlite3_context*, int, sqlite3_value**));
// The sources of the connection a call runs on.
ConnectionSources& sources_of(sqlite3_context* ctx);

// Each an SQLite code: SQLITE_OK, or why registering failed.
int register_scalar_functions(sqlite3* db, const SharedSources& sources);
int register_aggregates(sqlite3* db);
int register_index_function(sqlite3* db, const SharedSources& sources);
int register_knn_table(sqlite3* db, const SharedSources& sources);

}  // namespace vstore::sql
