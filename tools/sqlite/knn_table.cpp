// The table-valued function vstore_knn(store, domain, commit, embedding, k [, allowed_ids])
// (spec/sql.md): an eponymous-only virtual table whose rows are the k nearest (id, distance,
// rank), ascending by distance, for joining against the table the ids come from. Its arguments
// are hidden columns, which SQLite passes to xFilter as equality constraints.
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "arguments.h"
#include "registration.h"
#include "search_call.h"

namespace vstore::sql {

namespace {

enum Column { kId, kDistance, kRank, kStore, kDomain, kCommit, kEmbedding, kK, kAllowedIds };
constexpr int kFirstArgument = kStore;
constexpr int kRequiredArguments = kK - kStore + 1;  // allowed_ids may be left out
constexpr int kArguments = kAllowedIds - kStore + 1;

constexpr const char* kSchema =
    "CREATE TABLE x(id TEXT, distance REAL, rank INTEGER, store HIDDEN, domain HIDDEN, "
    "\"commit\" HIDDEN, embedding HIDDEN, k HIDDEN, allowed_ids HIDDEN)";

struct KnnTable {
    sqlite3_vtab base{};  // first, so that SQLite's pointer is the table's
    SharedSources sources;
};

struct KnnCursor {
    sqlite3_vtab_cursor base{};
    std::vector<SearchHit> hits;
    size_t position = 0;
    // As xFilter got them, for the hidden columns; allowed_ids stays null when not given.
    sqlite3_value* arguments[kArguments] = {};

    void clear_arguments() {
        for (auto& argument : arguments) {
            sqlite3_value_free(argument);
            argument = nullptr;
        }
    }
    ~KnnCursor() { clear_arguments(); }
};

int set_error(sqlite3_vtab* table, const char* message) {
    sqlite3_free(table->zErrMsg);
    table->zErrMsg = sqlite3_mprintf("%s", message);
    return SQLITE_ERROR;
}

int knn_connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
    const int rc = sqlite3_declare_vtab(db, kSchema);
    if (rc != SQLITE_OK)
        return rc;
    auto* table = new (std::nothrow) KnnTable;
    if (table == nullptr)
        return SQLITE_NOMEM;
    table->sources = *static_cast<SharedSources*>(aux);
    *out = &table->base;
    return SQLITE_OK;
}

int knn_disconnect(sqlite3_vtab* table) {
    delete reinterpret_cast<KnnTable*>(table);
    return SQLITE_OK;
}

// Every argument given must be an equality constraint SQLite can give xFilter; they are passed
// in column order, allowed_ids (when given) last. A plan in which one is not usable (it depends
// on a table not yet read) is refused with SQLITE_CONSTRAINT, so that SQLite picks an order in
// which it is.
int knn_best_index(sqlite3_vtab* table, sqlite3_index_info* info) {
    int usable[kArguments];
    bool present[kArguments] = {};
    for (int& u : usable)
        u = -1;
    for (int i = 0; i < info->nConstraint; ++i) {
        const auto& c = info->aConstraint[i];
        if (c.iColumn < kFirstArgument || c.op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        const int argument = c.iColumn - kFirstArgument;
        present[argument] = true;
        if (c.usable && usable[argument] < 0)
            usable[argument] = i;
    }
    for (int a = 0; a < kRequiredArguments; ++a)
        if (!present[a])
            return set_error(table,
                             "vstore_knn needs at least five arguments: vstore_knn(store, "
                             "domain, commit, embedding, k [, allowed_ids]), with NULL for the "
                             "only domain or the newest commit");
    const int given = present[kArguments - 1] ? kArguments : kRequiredArguments;
    for (int a = 0; a < given; ++a)
        if (usable[a] < 0)
            return SQLITE_CONSTRAINT;
    for (int a = 0; a < given; ++a) {
        info->aConstraintUsage[usable[a]].argvIndex = a + 1;
        info->aConstraintUsage[usable[a]].omit = 1;
    }
    // Rows come ascending by distance, and so by rank.
    if (info->nOrderBy == 1 && !info->aOrderBy[0].desc &&
        (info->aOrderBy[0].iColumn == kDistance || info->aOrderBy[0].iColumn == kRank))
        info->orderByConsumed = 1;
    info->estimatedCost = 1000;
    info->estimatedRows = 10;
    return SQLITE_OK;
}

int knn_open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
    auto* cursor = new (std::nothrow) KnnCursor;
    if (cursor == nullptr)
        return SQLITE_NOMEM;
    *out = &cursor->base;
    return SQLITE_OK;
}

int knn_close(sqlite3_vtab_cursor* cursor) {
    delete reinterpret_cast<KnnCursor*>(cursor);
    return SQLITE_OK;
}

int knn_filter(sqlite3_vtab_cursor* base, int, const char*, int argc, sqlite3_value** argv) {
    auto* cursor = reinterpret_cast<KnnCursor*>(base);
    auto* table = reinterpret_cast<KnnTable*>(base->pVtab);
    cursor->hits.clear();
    cursor->position = 0;
    cursor->clear_arguments();
    if (argc != kRequiredArguments && argc != kArguments)
        return set_error(base->pVtab, "vstore_knn: the query planner passed too few arguments");
    try {
        for (int a = 0; a < argc; ++a) {
            cursor->arguments[a] = sqlite3_value_dup(argv[a]);
            if (cursor->arguments[a] == nullptr)
                return SQLITE_NOMEM;
        }
        cursor->hits = search(*table->sources, "vstore_knn",
                              {argv[0], argv[1], argv[2], argv[3], argv[4],
                               argc == kArguments ? argv[5] : nullptr});
        return SQLITE_OK;
    } catch (const std::bad_alloc&) {
        return SQLITE_NOMEM;
    } catch (const std::exception& e) {
        return set_error(base->pVtab, e.what());
    }
}

int knn_next(sqlite3_vtab_cursor* base) {
    ++reinterpret_cast<KnnCursor*>(base)->position;
    return SQLITE_OK;
}

int knn_eof(sqlite3_vtab_cursor* base) {
    const auto* cursor = reinterpret_cast<KnnCursor*>(base);
    return cursor->position >= cursor->hits.size();
}

int knn_column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
    const auto* cursor = reinterpret_cast<KnnCursor*>(base);
    const SearchHit& hit = cursor->hits[cursor->position];
    switch (column) {
        case kId:
            sqlite3_result_text64(ctx, hit.id.data(), hit.id.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        case kDistance:
            sqlite3_result_double(ctx, distance_value(hit.distance));
            break;
        case kRank:
            sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(cursor->position + 1));
            break;
        default:
            if (cursor->arguments[column - kFirstArgument] == nullptr)
                sqlite3_result_null(ctx);
            else
                sqlite3_result_value(ctx, cursor->arguments[column - kFirstArgument]);
    }
    return SQLITE_OK;
}

int knn_rowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
    *rowid = static_cast<sqlite3_int64>(reinterpret_cast<KnnCursor*>(base)->position + 1);
    return SQLITE_OK;
}

// Built at compile time: no static initializer runs when the module is loaded.
constexpr sqlite3_module make_module() {
    sqlite3_module m{};
    m.iVersion = 0;
    m.xCreate = nullptr;  // eponymous-only: the table exists as the function's name, never created
    m.xConnect = knn_connect;
    m.xBestIndex = knn_best_index;
    m.xDisconnect = knn_disconnect;
    m.xDestroy = nullptr;
    m.xOpen = knn_open;
    m.xClose = knn_close;
    m.xFilter = knn_filter;
    m.xNext = knn_next;
    m.xEof = knn_eof;
    m.xColumn = knn_column;
    m.xRowid = knn_rowid;
    return m;
}

constexpr sqlite3_module kKnnModule = make_module();

void destroy_reference(void* reference) {
    delete static_cast<SharedSources*>(reference);
}

}  // namespace

int register_knn_table(sqlite3* db, const SharedSources& sources) {
    // SQLite calls destroy_reference when registering fails, too.
    return sqlite3_create_module_v2(db, "vstore_knn", &kKnnModule, new SharedSources(sources),
                                    destroy_reference);
}

}  // namespace vstore::sql
