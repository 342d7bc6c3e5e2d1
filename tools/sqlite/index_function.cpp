// vstore_index(store, domain, commit, parent, sql) (spec/sql.md): runs `sql`, which selects
// (id, embedding), on the calling connection and makes commit `commit` on `parent` in snapshot
// mode (CommitBuilder::put): ids the parent lacks are inserted, changed vectors replaced, ids
// no row names deleted, and the rest left alone, so only what changed is re-indexed. This is
// how an index follows its table.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>

#include "arguments.h"
#include "json_output.h"
#include "records_json.h"
#include "registration.h"

namespace vstore::sql {

namespace {

constexpr const char* kFunction = "vstore_index";

struct StatementCloser {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementCloser>;

std::string one_line(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return s;
}

Error sql_error(sqlite3* db, const std::string& where) {
    return argument_error(kFunction, where + ": " + one_line(sqlite3_errmsg(db)));
}

bool only_space(const char* text) {
    for (; *text != '\0'; ++text)
        if (!std::isspace(static_cast<unsigned char>(*text)) && *text != ';')
            return false;
    return true;
}

// One statement that only reads and selects two columns, id and embedding.
Statement prepare_select(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc =
        sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()) + 1, &raw, &tail);
    Statement stmt(raw);
    if (rc != SQLITE_OK)
        throw sql_error(db, "sql");
    if (!stmt)
        throw argument_error(kFunction, "sql holds no statement; give a SELECT of id, embedding");
    if (tail != nullptr && !only_space(tail))
        throw argument_error(kFunction,
                             "sql holds more than one statement; give one SELECT of "
                             "id, embedding");
    if (!sqlite3_stmt_readonly(stmt.get()))
        throw argument_error(kFunction, "sql must only read: give a SELECT of id, embedding");
    if (const int columns = sqlite3_column_count(stmt.get()); columns != 2)
        throw argument_error(kFunction, "sql selects " + std::to_string(columns) +
                                            " columns; it must select two, id and embedding");
    return stmt;
}

// The id of a row: TEXT, or an INTEGER written in decimal, as `vstore index --sqlite` reads it.
std::string row_id(sqlite3_stmt* stmt, const std::string& where) {
    switch (sqlite3_column_type(stmt, 0)) {
        case SQLITE_INTEGER:
            return std::to_string(sqlite3_column_int64(stmt, 0));
        case SQLITE_TEXT: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
            const int bytes = sqlite3_column_bytes(stmt, 0);
            return std::string(text, static_cast<size_t>(bytes));
        }
        case SQLITE_NULL:
            throw argument_error(kFunction, where + ": id is NULL");
        default:
            throw argument_error(kFunction, where + ": id must be TEXT or INTEGER");
    }
}

std::vector<float> row_embedding(sqlite3_stmt* stmt, const std::string& where) {
    const int type = sqlite3_column_type(stmt, 1);
    if (type == SQLITE_NULL)
        throw argument_error(kFunction, where + ": embedding is NULL");
    if (type != SQLITE_BLOB)
        throw argument_error(kFunction,
                             where + ": embedding must be a BLOB of little-endian float32");
    const void* data = sqlite3_column_blob(stmt, 1);
    const auto bytes = static_cast<size_t>(sqlite3_column_bytes(stmt, 1));
    if (bytes == 0)
        throw argument_error(kFunction, where + ": embedding is an empty BLOB");
    if (bytes % sizeof(float) != 0)
        throw argument_error(kFunction, where + ": embedding is " + std::to_string(bytes) +
                                            " bytes, not a multiple of 4 (float32)");
    std::vector<float> vector(bytes / sizeof(float));
    std::memcpy(vector.data(), data, bytes);
    return vector;
}

std::string quoted(const std::string& id) {
    constexpr size_t kShown = 100;
    std::string shown = cli::json_text(cli::json(id.size() > kShown ? id.substr(0, kShown) : id));
    return id.size() > kShown ? shown + "..." : shown;
}

void vstore_index(sqlite3_context* ctx, int, sqlite3_value** argv) {
    report_errors(ctx, [&] {
        const std::string path = Argument{argv[0], kFunction, "store"}.text();
        const auto domain = Argument{argv[1], kFunction, "domain"}.optional_text();
        const std::string commit = Argument{argv[2], kFunction, "commit"}.text();
        const auto parent = Argument{argv[3], kFunction, "parent"}.optional_text();
        const std::string sql = Argument{argv[4], kFunction, "sql"}.text();

        const auto source = sources_of(ctx).source(path);
        Store& store = source->writable_store();
        const std::string domain_name = source->domain(domain);
        sqlite3* db = sqlite3_context_db_handle(ctx);
        const Statement select = prepare_select(db, sql);

        auto builder = store.begin_commit(domain_name, commit, parent);
        // A select of no rows is an empty set: every id of the parent goes.
        builder.begin_snapshot();
        for (uint64_t row = 1;; ++row) {
            const int rc = sqlite3_step(select.get());
            if (rc == SQLITE_DONE)
                break;
            const std::string where = "sql row " + std::to_string(row);
            if (rc != SQLITE_ROW)
                throw sql_error(db, where);
            const std::string id = row_id(select.get(), where);
            const auto vector = row_embedding(select.get(), where + " (id " + quoted(id) + ")");
            try {
                builder.put(id, vector);
            } catch (const Error& e) {
                throw Error(e.code(), std::string(kFunction) + ": " + where + " (id " + quoted(id) +
                                          "): " + e.message());
            }
        }
        const CommitInfo info = builder.finish();
        cli::json result = cli::commit_json(info);
        result["unchanged"] =
            info.live_count - std::min(info.live_count, info.inserted + info.replaced);
        result_text(ctx, cli::json_text(result));
    });
}

}  // namespace

int register_index_function(sqlite3* db, const SharedSources& sources) {
    // It writes a commit: only from top-level SQL, never from a trigger or view of a schema.
    return create_function(db, "vstore_index", 5, SQLITE_UTF8 | SQLITE_DIRECTONLY, sources,
                           vstore_index);
}

}  // namespace vstore::sql
