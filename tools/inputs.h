// The input readers of the `vstore` command line: operations and snapshots in JSON Lines,
// .fvecs, .npy and SQLite, and query vectors.
//
// Every error is a vstore::Error with a one-line message naming the file and where in it:
// "FILE:LINE: ..." for JSON Lines (lines count from 1), "FILE: row N: ..." for .fvecs, .npy and
// SQLite (rows count from 0, so in .fvecs and .npy row N is the item with id "N"). A missing
// file is kNotFound, a failed read kIO, anything wrong with the contents kInvalidArgument.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vstore::cli {

// The largest vector dimension the readers accept.
inline constexpr size_t kMaxInputDimension = 65536;

enum class OpKind { kInsert, kDelete, kReplace };

struct Operation {
    OpKind kind;
    std::string id;
    std::vector<float> vector;  // empty for kDelete, and until `text` is embedded
    size_t line = 0;            // 1-based line in the source, for error messages
    // The text to embed instead of a vector ("string"), for an insert or a replace. A caller
    // that embeds it fills in `vector` (tools/embed/item_embedder.h).
    std::optional<std::string> text;
};

// Operations in JSON Lines, one object a line:
//   {"id": "...", "op": "Inserted", "vector": [...]}
//   {"id": "...", "op": "Deleted"}
//   {"id": "...", "op": "Replaced", "vector": [...]}
// An Inserted or Replaced operation may carry "string": "TEXT" (seed 002's name), a non-empty
// text to embed, instead of "vector"; both at once is an error. "Changed" means Replaced; the
// lower-case "insert", "delete", "replace", "inserted", "deleted", "replaced" and "changed" are
// accepted too. "id" is a non-empty string or a JSON integer (taken as its decimal string). Other
// keys are ignored. Blank lines are skipped. Every vector of the file must have the same length
// (texts are not vectors yet, and are not counted). `path` "-" reads standard input. Each operation
// goes to `sink` as soon as it is read, so files of any size stream through.
void read_operations(const std::string& path, const std::function<void(Operation&&)>& sink);

// The same from JSON Lines text in memory (an HTTP request's body); `name` stands for the file
// name in messages ("NAME:LINE: ...").
void read_operations_text(std::string_view text, const std::string& name,
                          const std::function<void(Operation&&)>& sink);

struct SnapshotItem {
    std::string id;
    std::vector<float> vector;
    std::string where;  // "FILE:LINE" or "FILE: row N", for error messages by the caller
    // A JSON Lines item's "string", the text to embed instead of a vector (`vector` empty then).
    std::optional<std::string> text;
};

// A whole snapshot of (id, vector), the format chosen by the extension of `path`:
//   .jsonl, .ndjson, .json or "-": JSON Lines {"id": ..., "vector": [...]}, id as above, or
//                                   {"id": ..., "string": "TEXT"} (a text to embed);
//   .fvecs: ids are the row numbers "0", "1", ...;
//   .npy:   a 2-D C-order float32 little-endian ('<f4') array, ids are the row numbers.
// Every vector of the file must have the same length. Duplicate ids are left to the caller.
void read_snapshot_file(const std::string& path, const std::function<void(SnapshotItem&&)>& sink);

// A JSON Lines snapshot from text in memory, as read_operations_text.
void read_snapshot_text(std::string_view text, const std::string& name,
                        const std::function<void(SnapshotItem&&)>& sink);

// A snapshot from a SQLite table with columns `id` (TEXT or INTEGER) and `embedding` (a BLOB of
// little-endian float32), as datasette-faiss and llm store them. The database is opened
// read-only and never created.
void read_snapshot_sqlite(const std::string& db, const std::string& table,
                          const std::function<void(SnapshotItem&&)>& sink);

// A snapshot of one collection of an llm embeddings database (Simon Willison's llm, seed 001):
// the rows of `embeddings(collection_id, id, embedding, ...)` whose collection_id is the id of
// `collection` in `collections(id, name, model)`, in id order. Other collections may hold the
// same ids. Opened read-only as read_snapshot_sqlite. Error(kNotFound) for a collection the
// database lacks, listing those it has; Error(kInvalidArgument) for a database without those
// tables, and for an embedding that is not a BLOB of float32 of the collection's one length,
// "DB: collection "NAME": id "ID": ...".
void read_snapshot_llm(const std::string& db, const std::string& collection,
                       const std::function<void(SnapshotItem&&)>& sink);

// Query vectors for `vstore search --vector-file`: a .fvecs or .npy file (one query a row), or
// else a file holding one JSON array of numbers (one query) or an array of such arrays.
// Returns at least one vector; all have the same length.
std::vector<std::vector<float>> read_query_file(const std::string& path);

// The ids of `vstore search --only-ids FILE` ("-" is standard input): one id a line, as the
// line holds it (without its line end, "\n" or "\r\n"); lines of nothing but white space are
// ignored. An empty list is allowed: it allows nothing.
std::vector<std::string> read_id_list(const std::string& path);

// Query vectors in JSON: one array of numbers (one query) or a non-empty array of such arrays
// (`many`, even when it holds one); `name` prefixes the messages. All have the same length.
struct QueryVectors {
    std::vector<std::vector<float>> vectors;
    bool many = false;
};
QueryVectors parse_query_json(std::string_view text, const std::string& name);

// Parses a JSON array of numbers (the --vector '[0.1, ...]' option); `what` names it in errors.
std::vector<float> parse_vector_json(const std::string& text, const std::string& what);

// A parsed JSON array of 1 to kMaxInputDimension numbers as floats, each within the float range.
// Errors are Error(kInvalidArgument) "WHERE: NAME ..." ("WHERE: NAME[3] is a string, not a
// number").
std::vector<float> json_to_vector(const nlohmann::json& j, const std::string& where,
                                  const std::string& name);

}  // namespace vstore::cli
