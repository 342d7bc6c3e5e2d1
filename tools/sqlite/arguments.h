// The arguments of the extension's SQL functions and how their errors reach SQL: every
// vstore::Error (and every argument this file refuses) becomes the SQLite error of the call,
// with the library's one-line message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite_api.h"
#include "vstore/format/error.h"

namespace vstore::sql {

// One argument of a call: the function and the argument's name, for messages.
struct Argument {
    sqlite3_value* value;
    std::string_view function;  // "vstore_search"
    std::string_view name;      // "k"

    bool is_null() const;
    std::string text() const;                          // TEXT; Error for NULL or another type
    std::optional<std::string> optional_text() const;  // NULL is nullopt
    size_t k() const;                                  // INTEGER of at least 1
    // A BLOB of little-endian float32 (blob.h), of at least one float.
    std::vector<float> embedding() const;
    // TEXT holding a JSON array of ids, each a string or an integer (written in decimal, as
    // vstore_index stores an INTEGER id): the text, parsed by allowed_ids_of_json. NULL is
    // nullopt, no restriction.
    std::optional<std::string> allowed_ids_text() const;
};

// The ids of an allowed_ids text; Error(kInvalidArgument) "FUNCTION: allowed_ids ..." when it
// is not a JSON array of strings and integers.
std::vector<std::string> allowed_ids_of_json(const std::string& text, std::string_view function);

// Error(kInvalidArgument) "FUNCTION: MESSAGE".
Error argument_error(std::string_view function, const std::string& message);

// The SQL type of a value, as messages name it: "NULL", "INTEGER", "REAL", "TEXT", "BLOB".
std::string_view type_name(sqlite3_value* value);

// Runs `body`, turning what it throws into the call's SQLite error.
template <class Body>
void report_errors(sqlite3_context* ctx, Body&& body) noexcept {
    try {
        body();
    } catch (const std::bad_alloc&) {
        sqlite3_result_error_nomem(ctx);
    } catch (const std::exception& e) {
        sqlite3_result_error(ctx, e.what(), -1);
    }
}

// The result of a call as TEXT (a JSON document).
void result_text(sqlite3_context* ctx, const std::string& text);

}  // namespace vstore::sql
