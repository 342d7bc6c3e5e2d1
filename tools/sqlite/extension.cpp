// The entry point of the vstore SQLite extension. SQLite derives it from the file name:
// vstore_sqlite.so gives sqlite3_vstoresqlite_init (the letters of the name before the first
// dot, without a leading "lib"), so `.load vstore_sqlite` needs no entry point argument.
#include <memory>
#include <new>

#include "registration.h"

SQLITE_EXTENSION_INIT1

extern "C" __attribute__((visibility("default"))) int sqlite3_vstoresqlite_init(
    sqlite3* db, char** error, const sqlite3_api_routines* api) {
    SQLITE_EXTENSION_INIT2(api);
    using namespace vstore::sql;
    try {
        // What every function and the virtual table of this connection share; the last of
        // their registrations to be destroyed (when the connection closes) releases it.
        const auto sources = std::make_shared<ConnectionSources>();
        int rc = register_scalar_functions(db, sources);
        if (rc == SQLITE_OK)
            rc = register_aggregates(db);
        if (rc == SQLITE_OK)
            rc = register_index_function(db, sources);
        if (rc == SQLITE_OK)
            rc = register_knn_table(db, sources);
        if (rc != SQLITE_OK && error != nullptr)
            *error = sqlite3_mprintf("vstore: cannot register the extension's functions: %s",
                                     sqlite3_errmsg(db));
        return rc;
    } catch (const std::bad_alloc&) {
        return SQLITE_NOMEM;
    }
}
