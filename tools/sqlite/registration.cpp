#include "registration.h"

namespace vstore::sql {

namespace {

void destroy_reference(void* reference) {
    delete static_cast<SharedSources*>(reference);
}

}  // namespace

int create_function(sqlite3* db, const char* name, int arguments, int flags,
                    const SharedSources& sources,
                    void (*call)(sqlite3_context*, int, sqlite3_value**)) {
    // SQLite calls destroy_reference when registering fails, too.
    return sqlite3_create_function_v2(db, name, arguments, flags, new SharedSources(sources), call,
                                      nullptr, nullptr, destroy_reference);
}

ConnectionSources& sources_of(sqlite3_context* ctx) {
    return **static_cast<SharedSources*>(sqlite3_user_data(ctx));
}

}  // namespace vstore::sql
