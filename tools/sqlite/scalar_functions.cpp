// vstore_search, vstore_search_with_scores, vstore_encode and vstore_decode (spec/sql.md).
#include <string>

#include "arguments.h"
#include "blob.h"
#include "registration.h"
#include "search_call.h"

namespace vstore::sql {

namespace {

SearchArguments search_arguments(int argc, sqlite3_value** argv) {
    return {argv[0], argv[1], argv[2], argv[3], argv[4], argc > 5 ? argv[5] : nullptr};
}

void vstore_search(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    report_errors(ctx, [&] {
        result_text(ctx, ids_json(search(sources_of(ctx), "vstore_search",
                                         search_arguments(argc, argv))));
    });
}

void vstore_search_with_scores(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    report_errors(ctx, [&] {
        const auto hits =
            search(sources_of(ctx), "vstore_search_with_scores", search_arguments(argc, argv));
        result_text(ctx, ids_and_distances_json(hits));
    });
}

// NULL in, NULL out, as SQL's own functions of a value do: a row without an embedding yet.
void vstore_encode(sqlite3_context* ctx, int, sqlite3_value** argv) {
    report_errors(ctx, [&] {
        const Argument json{argv[0], "vstore_encode", "json_array"};
        if (json.is_null())
            return sqlite3_result_null(ctx);
        const auto floats = floats_of_json(json.text(), "vstore_encode: json_array");
        const std::string blob = blob_of_floats(floats);
        sqlite3_result_blob64(ctx, blob.data(), blob.size(), SQLITE_TRANSIENT);
    });
}

void vstore_decode(sqlite3_context* ctx, int, sqlite3_value** argv) {
    report_errors(ctx, [&] {
        sqlite3_value* blob = argv[0];
        if (sqlite3_value_type(blob) == SQLITE_NULL)
            return sqlite3_result_null(ctx);
        if (sqlite3_value_type(blob) != SQLITE_BLOB)
            throw argument_error("vstore_decode",
                                 "blob must be a BLOB of little-endian float32, not " +
                                     std::string(type_name(blob)));
        const void* data = sqlite3_value_blob(blob);
        const auto bytes = static_cast<size_t>(sqlite3_value_bytes(blob));
        const auto floats = floats_of_blob(data, bytes, "vstore_decode: blob");
        result_text(ctx, json_of_floats(floats, "vstore_decode: blob"));
    });
}

}  // namespace

int register_scalar_functions(sqlite3* db, const SharedSources& sources) {
    // The searches read whatever the store holds when they run (a NULL commit is the newest
    // one), so they are not deterministic; encode and decode are, and safe anywhere.
    const int search_flags = SQLITE_UTF8;
    const int pure_flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    // 5 arguments, or 6 with allowed_ids.
    int rc = SQLITE_OK;
    for (int arguments = 5; arguments <= 6 && rc == SQLITE_OK; ++arguments) {
        rc = create_function(db, "vstore_search", arguments, search_flags, sources,
                             vstore_search);
        if (rc == SQLITE_OK)
            rc = create_function(db, "vstore_search_with_scores", arguments, search_flags,
                                 sources, vstore_search_with_scores);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "vstore_encode", 1, pure_flags, nullptr, vstore_encode,
                                        nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "vstore_decode", 1, pure_flags, nullptr, vstore_decode,
                                        nullptr, nullptr, nullptr);
    return rc;
}

}  // namespace vstore::sql
