// The aggregates vstore_agg and vstore_agg_with_scores (spec/sql.md): the exact k nearest of the
// rows a query selected, with no index, as datasette-faiss's faiss_agg. One pass keeps only the
// k best rows, so that memory is O(k) however many rows the query selects.
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "arguments.h"
#include "exact_nearest.h"
#include "json_output.h"
#include "records_json.h"
#include "registration.h"
#include "search_call.h"

namespace vstore::sql {

namespace {

struct Aggregate {
    const char* function = nullptr;
    std::optional<ExactNearest> nearest;
    // What every row repeats, as the first row gave it, to hold the others to it.
    std::string compare_embedding;  // the blob's bytes
    sqlite3_int64 k = 0;
    std::optional<std::string> metric;
    std::vector<float> row;  // the current row's vector, copied: a blob need not be aligned
};

// The state lives on the heap; SQLite's aggregate context holds the pointer to it, zeroed
// before the first row. xFinal runs once for every group that had a row, also when a step
// failed, and frees it.
Aggregate** state_slot(sqlite3_context* ctx, bool allocate) {
    return static_cast<Aggregate**>(
        sqlite3_aggregate_context(ctx, allocate ? static_cast<int>(sizeof(Aggregate*)) : 0));
}

std::string blob_bytes(sqlite3_value* value) {
    const void* data = sqlite3_value_blob(value);
    const int bytes = sqlite3_value_bytes(value);
    return data == nullptr
               ? std::string()
               : std::string(static_cast<const char*>(data), static_cast<size_t>(bytes));
}

std::string id_text(const RowId& id) {
    return id.is_integer ? std::to_string(id.integer) : cli::json_text(cli::json(id.text));
}

RowId row_id(const Argument& id) {
    switch (sqlite3_value_type(id.value)) {
        case SQLITE_INTEGER:
            return {true, sqlite3_value_int64(id.value), {}};
        case SQLITE_TEXT:
            return {false, 0, id.text()};
        default:
            throw argument_error(
                id.function, "id must be INTEGER or TEXT, not " + std::string(type_name(id.value)));
    }
}

std::optional<std::string> metric_argument(const char* function, int argc, sqlite3_value** argv) {
    if (argc < 5)
        return std::nullopt;
    return Argument{argv[4], function, "metric"}.optional_text();
}

// The first row: the query, k and the metric.
void start(Aggregate& a, int argc, sqlite3_value** argv) {
    const auto compare = Argument{argv[2], a.function, "compare_embedding"}.embedding();
    const size_t k = Argument{argv[3], a.function, "k"}.k();
    a.metric = metric_argument(a.function, argc, argv);
    format::Metric metric = format::Metric::kL2;
    if (a.metric) {
        const auto named = format::metric_from_name(*a.metric);
        if (!named)
            throw argument_error(a.function,
                                 "unknown metric '" + *a.metric + "'; expected l2, cosine or ip");
        metric = *named;
    }
    try {
        a.nearest.emplace(compare, k, metric);
    } catch (const Error& e) {
        throw argument_error(a.function, e.message());
    }
    a.compare_embedding = blob_bytes(argv[2]);
    a.k = static_cast<sqlite3_int64>(k);
    a.row.resize(compare.size());
}

// Every later row repeats the first one's query, k and metric.
void check_repeated(const Aggregate& a, int argc, sqlite3_value** argv) {
    sqlite3_value* compare = argv[2];
    const bool same_compare =
        sqlite3_value_type(compare) == SQLITE_BLOB &&
        static_cast<size_t>(sqlite3_value_bytes(compare)) == a.compare_embedding.size() &&
        std::memcmp(sqlite3_value_blob(compare), a.compare_embedding.data(),
                    a.compare_embedding.size()) == 0;
    if (!same_compare)
        throw argument_error(a.function,
                             "compare_embedding differs between rows; it must be the same for "
                             "every row of a group");
    if (sqlite3_value_type(argv[3]) != SQLITE_INTEGER || sqlite3_value_int64(argv[3]) != a.k)
        throw argument_error(a.function,
                             "k differs between rows; it must be the same for every "
                             "row of a group");
    if (metric_argument(a.function, argc, argv) != a.metric)
        throw argument_error(a.function,
                             "metric differs between rows; it must be the same for "
                             "every row of a group");
}

void add_row(Aggregate& a, sqlite3_value** argv) {
    const Argument id{argv[0], a.function, "id"};
    const int id_type = sqlite3_value_type(id.value);
    if (id_type != SQLITE_INTEGER && id_type != SQLITE_TEXT)
        throw argument_error(a.function,
                             "id must be INTEGER or TEXT, not " + std::string(type_name(id.value)));
    // Only for messages: the id of most rows is never copied.
    const auto where = [&] { return "id " + id_text(row_id(id)); };
    sqlite3_value* embedding = argv[1];
    if (sqlite3_value_type(embedding) != SQLITE_BLOB)
        throw argument_error(a.function, where() +
                                             ": embedding must be a BLOB of little-endian "
                                             "float32, not " +
                                             std::string(type_name(embedding)));
    const void* data = sqlite3_value_blob(embedding);
    const auto bytes = static_cast<size_t>(sqlite3_value_bytes(embedding));
    if (bytes % sizeof(float) != 0)
        throw argument_error(a.function, where() + ": embedding is " + std::to_string(bytes) +
                                             " bytes, not a multiple of 4 (float32)");
    if (bytes != a.row.size() * sizeof(float))
        throw argument_error(a.function,
                             where() + ": embedding has " + std::to_string(bytes / sizeof(float)) +
                                 " floats, compare_embedding " + std::to_string(a.row.size()));
    std::memcpy(a.row.data(), data, bytes);
    const float distance = a.nearest->distance(a.row);
    if (!std::isfinite(distance))
        throw argument_error(a.function, where() +
                                             ": the distance is not a finite number (a NaN, "
                                             "infinite or too large component, or a zero "
                                             "vector under cosine)");
    if (a.nearest->keeps(distance))
        a.nearest->add(row_id(id), distance);
}

template <const char* kFunction>
void step(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    report_errors(ctx, [&] {
        Aggregate** slot = state_slot(ctx, true);
        if (slot == nullptr)
            throw std::bad_alloc();
        if (*slot == nullptr) {
            auto fresh = std::make_unique<Aggregate>();
            fresh->function = kFunction;
            start(*fresh, argc, argv);
            *slot = fresh.release();
        } else {
            check_repeated(**slot, argc, argv);
        }
        add_row(**slot, argv);
    });
}

cli::json id_json(const RowId& id) {
    return id.is_integer ? cli::json(id.integer) : cli::json(id.text);
}

template <bool kWithScores>
void final(sqlite3_context* ctx) {
    Aggregate** slot = state_slot(ctx, false);
    const std::unique_ptr<Aggregate> state(slot == nullptr ? nullptr : *slot);
    report_errors(ctx, [&] {
        cli::json result = cli::json::array();
        if (state) {
            for (const RowHit& hit : state->nearest->take()) {
                if (kWithScores)
                    result.push_back(
                        cli::json::array({id_json(hit.id), distance_value(hit.distance)}));
                else
                    result.push_back(id_json(hit.id));
            }
        }
        result_text(ctx, cli::json_text(result));
    });
}

constexpr char kAgg[] = "vstore_agg";
constexpr char kAggWithScores[] = "vstore_agg_with_scores";

}  // namespace

int register_aggregates(sqlite3* db) {
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = SQLITE_OK;
    for (const int arguments : {4, 5}) {
        if (rc == SQLITE_OK)
            rc = sqlite3_create_function_v2(db, kAgg, arguments, flags, nullptr, nullptr,
                                            step<kAgg>, final<false>, nullptr);
        if (rc == SQLITE_OK)
            rc = sqlite3_create_function_v2(db, kAggWithScores, arguments, flags, nullptr, nullptr,
                                            step<kAggWithScores>, final<true>, nullptr);
    }
    return rc;
}

}  // namespace vstore::sql
