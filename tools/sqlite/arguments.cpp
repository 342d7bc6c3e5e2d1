#include "arguments.h"

#include <nlohmann/json.hpp>

#include "blob.h"

namespace vstore::sql {

Error argument_error(std::string_view function, const std::string& message) {
    return Error::invalid_argument(std::string(function) + ": " + message);
}

std::string_view type_name(sqlite3_value* value) {
    switch (sqlite3_value_type(value)) {
        case SQLITE_INTEGER:
            return "INTEGER";
        case SQLITE_FLOAT:
            return "REAL";
        case SQLITE_TEXT:
            return "TEXT";
        case SQLITE_BLOB:
            return "BLOB";
        default:
            return "NULL";
    }
}

bool Argument::is_null() const {
    return sqlite3_value_type(value) == SQLITE_NULL;
}

std::string Argument::text() const {
    if (sqlite3_value_type(value) != SQLITE_TEXT)
        throw argument_error(
            function, std::string(name) + " must be TEXT, not " + std::string(type_name(value)));
    const auto* text = sqlite3_value_text(value);
    const int bytes = sqlite3_value_bytes(value);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(bytes));
}

std::optional<std::string> Argument::optional_text() const {
    if (is_null())
        return std::nullopt;
    return text();
}

size_t Argument::k() const {
    if (sqlite3_value_type(value) != SQLITE_INTEGER)
        throw argument_error(function, std::string(name) + " must be an INTEGER, not " +
                                           std::string(type_name(value)));
    const sqlite3_int64 k = sqlite3_value_int64(value);
    if (k < 1)
        throw argument_error(function,
                             std::string(name) + " must be at least 1, not " + std::to_string(k));
    return static_cast<size_t>(k);
}

std::vector<float> Argument::embedding() const {
    if (sqlite3_value_type(value) != SQLITE_BLOB)
        throw argument_error(function,
                             std::string(name) +
                                 " must be a BLOB of little-endian float32 (vstore_encode makes "
                                 "one of a JSON array), not " +
                                 std::string(type_name(value)));
    const void* data = sqlite3_value_blob(value);  // before _bytes, as SQLite asks
    const int bytes = sqlite3_value_bytes(value);
    const std::string what = std::string(function) + ": " + std::string(name);
    auto floats = floats_of_blob(data, static_cast<size_t>(bytes), what);
    if (floats.empty())
        throw Error::invalid_argument(what + " is an empty BLOB");
    return floats;
}

std::optional<std::string> Argument::allowed_ids_text() const {
    if (is_null())
        return std::nullopt;
    if (sqlite3_value_type(value) != SQLITE_TEXT)
        throw argument_error(function, std::string(name) +
                                           " must be TEXT holding a JSON array of ids "
                                           "(json_group_array(id) makes one), not " +
                                           std::string(type_name(value)));
    return text();
}

std::vector<std::string> allowed_ids_of_json(const std::string& text, std::string_view function) {
    const std::string what = std::string(function) + ": allowed_ids";
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (document.is_discarded())
        throw Error::invalid_argument(what + " is not JSON");
    if (!document.is_array())
        throw Error::invalid_argument(what + " must be a JSON array of ids, not " +
                                      document.type_name());
    std::vector<std::string> ids;
    ids.reserve(document.size());
    for (size_t i = 0; i < document.size(); ++i) {
        const auto& element = document[i];
        if (element.is_string())
            ids.push_back(element.get<std::string>());
        else if (element.is_number_integer())
            ids.push_back(element.dump());
        else
            throw Error::invalid_argument(what + ": element " + std::to_string(i) + " is " +
                                          element.type_name() +
                                          ", not an id (a string or an integer)");
    }
    return ids;
}

void result_text(sqlite3_context* ctx, const std::string& text) {
    sqlite3_result_text64(ctx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace vstore::sql
