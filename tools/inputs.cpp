#include "inputs.h"

#include "number_arrays.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "vstore/format/error.h"

namespace vstore::cli {

namespace {

using nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              ".fvecs, .npy '<f4' and SQLite embeddings are read as native little-endian floats");

// A .npy header longer than this is not one numpy wrote.
constexpr uint64_t kMaxNpyHeader = 1 << 20;

Error invalid(const std::string& message) {
    return Error::invalid_argument(message);
}

// Messages are one line, whatever the input held.
std::string one_line(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return s;
}

std::string display_name(const std::string& path) {
    return path == "-" ? "<stdin>" : path;
}

std::string lower_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    for (char& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

// An id as it appears in messages: JSON-quoted, shortened if long.
std::string quote_id(const std::string& id) {
    constexpr size_t kShown = 100;
    std::string shown = id.size() > kShown ? id.substr(0, kShown) : id;
    std::string q = json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
    if (id.size() > kShown)
        q += "...";
    return q;
}

// "parse error at line 1, column 5: syntax error ..." -> "column 5: syntax error ..." when the
// text is one line, else "line 3, column 5: ...". Long details are cut.
std::string parse_error_detail(const json::parse_error& e, bool single_line) {
    std::string what = e.what();
    const char* marker = single_line ? "column " : "line ";
    const size_t at = what.find(marker, what.find("parse error"));
    std::string detail = at == std::string::npos ? what : what.substr(at);
    constexpr size_t kMaxDetail = 200;
    if (detail.size() > kMaxDetail)
        detail = detail.substr(0, kMaxDetail) + "...";
    return one_line(detail);
}

// "an array", "a string", "null", ...: a JSON value's type for messages.
std::string a_type(const json& j) {
    if (j.is_null())
        return "null";
    if (j.is_number())
        return "a number";
    if (j.is_array())
        return "an array";
    if (j.is_object())
        return "an object";
    return std::string("a ") + j.type_name();
}

// Parses JSON text; errors become "WHERE: malformed JSON at ..." (nlohmann throws out_of_range
// for a number beyond double, which is then named as such).
template <class It>
json parse_json(It begin, It end, const std::string& where, bool single_line) {
    try {
        return json::parse(begin, end);
    } catch (const json::parse_error& e) {
        throw invalid(where + ": malformed JSON at " + parse_error_detail(e, single_line));
    } catch (const json::exception& e) {
        std::string what = e.what();
        const size_t at = what.find("] ");
        what = at == std::string::npos ? what : what.substr(at + 2);
        constexpr size_t kMaxDetail = 200;
        if (what.size() > kMaxDetail)
            what = what.substr(0, kMaxDetail) + "...";
        throw invalid(where + ": " + one_line(what));
    }
}

// --- Files ---

struct FileCloser {
    void operator()(FILE* f) const {
        if (f != nullptr && f != stdin)
            std::fclose(f);
    }
};
using File = std::unique_ptr<FILE, FileCloser>;

// Opens `path` for reading ("-" is standard input): a missing file is kNotFound.
File open_file(const std::string& path) {
    if (path == "-")
        return File(stdin);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            throw Error::not_found(path + ": no such file");
        throw Error::io(path + ": cannot open", errno);
    }
    if (S_ISDIR(st.st_mode))
        throw invalid(path + ": is a directory, not a file");
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        if (errno == ENOENT)
            throw Error::not_found(path + ": no such file");
        throw Error::io(path + ": cannot open", errno);
    }
    return File(f);
}

void check_read_error(FILE* f, const std::string& name) {
    if (std::ferror(f))
        throw Error::io(name + ": read failed", errno != 0 ? errno : EIO);
}

// Reads exactly `size` bytes unless the file ends first; returns how many it read.
size_t read_bytes(FILE* f, void* out, size_t size, const std::string& name) {
    errno = 0;
    const size_t n = std::fread(out, 1, size, f);
    if (n < size)
        check_read_error(f, name);
    return n;
}

// Lines of a text file, without their end-of-line, streamed.
class LineReader {
  public:
    LineReader(FILE* f, std::string name) : f_(f), name_(std::move(name)) {}
    ~LineReader() { std::free(buf_); }
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    bool next(std::string_view& line) {
        errno = 0;
        const ssize_t n = ::getline(&buf_, &cap_, f_);
        if (n < 0) {
            if (std::ferror(f_) || (!std::feof(f_) && errno != 0))
                throw Error::io(name_ + ":" + std::to_string(line_ + 1) + ": read failed",
                                errno != 0 ? errno : EIO);
            return false;
        }
        ++line_;
        size_t len = static_cast<size_t>(n);
        if (len > 0 && buf_[len - 1] == '\n')
            --len;
        if (len > 0 && buf_[len - 1] == '\r')
            --len;
        line = {buf_, len};
        if (line_ == 1 && line.starts_with("\xEF\xBB\xBF"))  // a UTF-8 byte order mark
            line.remove_prefix(3);
        return true;
    }
    size_t line() const { return line_; }

  private:
    FILE* f_;
    std::string name_;
    char* buf_ = nullptr;
    size_t cap_ = 0;
    size_t line_ = 0;
};

bool is_blank(std::string_view line) {
    return std::all_of(line.begin(), line.end(),
                       [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

// --- JSON ---

// `where` prefixes every message ("FILE:LINE"); `name` names the array ("vector").
std::vector<float> to_vector(const json& j, const std::string& where, const std::string& name) {
    if (!j.is_array())
        throw invalid(where + ": " + name + " must be an array of numbers, not " + a_type(j));
    if (j.empty())
        throw invalid(where + ": " + name + " is empty");
    if (j.size() > kMaxInputDimension)
        throw invalid(where + ": " + name + " has " + std::to_string(j.size()) +
                      " elements; at most " + std::to_string(kMaxInputDimension) + " are accepted");
    std::vector<float> v;
    v.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
        const json& x = j[i];
        if (!x.is_number())
            throw invalid(where + ": " + name + "[" + std::to_string(i) + "] is " + a_type(x) +
                          ", not a number");
        const double d = x.get<double>();
        if (!(std::fabs(d) < kFloatOverflow))
            throw invalid(where + ": " + name + "[" + std::to_string(i) +
                          "] is too large for a float (beyond +-3.4e38)");
        v.push_back(static_cast<float>(d));
    }
    return v;
}

// The "id" of a JSON Lines object: a non-empty string, or an integer as its decimal string.
std::string to_id(const json& obj, const std::string& where) {
    const auto it = obj.find("id");
    if (it == obj.end())
        throw invalid(where + ": missing \"id\"");
    if (it->is_string()) {
        std::string id = it->get<std::string>();
        if (id.empty())
            throw invalid(where + ": \"id\" is empty");
        return id;
    }
    if (it->is_number_unsigned())
        return std::to_string(it->get<uint64_t>());
    if (it->is_number_integer())
        return std::to_string(it->get<int64_t>());
    throw invalid(where + ": \"id\" must be a string or an integer, not " +
                  (it->is_number_float() ? std::string("a fractional number") : a_type(*it)));
}

json parse_object_line(std::string_view line, const std::string& where) {
    json obj = parse_json(line.begin(), line.end(), where, true);
    if (!obj.is_object())
        throw invalid(where + ": expected a JSON object (one a line), not " + a_type(obj));
    return obj;
}

// Checks that every vector of a file has the length of the first one.
class SameLength {
  public:
    // `where` names this vector, `first_where` the first one ("line 1", "row 0 (id "a")").
    void check(size_t length, const std::string& where, const std::string& first_where) {
        if (!length_) {
            length_ = length;
            first_ = first_where;
        } else if (length != *length_) {
            throw invalid(where + ": vector has " + std::to_string(length) + " elements, but " +
                          first_ + " has " + std::to_string(*length_));
        }
    }

  private:
    std::optional<size_t> length_;
    std::string first_;
};

std::optional<OpKind> op_kind(const std::string& op) {
    if (op == "Inserted" || op == "inserted" || op == "insert")
        return OpKind::kInsert;
    if (op == "Deleted" || op == "deleted" || op == "delete")
        return OpKind::kDelete;
    if (op == "Replaced" || op == "replaced" || op == "replace" || op == "Changed" ||
        op == "changed")
        return OpKind::kReplace;
    return std::nullopt;
}

using JsonLineSink = std::function<void(json&&, size_t, const std::string&)>;

// Reads JSON Lines objects from `f`, passing each with its line number and "NAME:LINE".
void read_json_lines(FILE* f, const std::string& name, const JsonLineSink& sink) {
    LineReader reader(f, name);
    std::string_view line;
    while (reader.next(line)) {
        if (is_blank(line))
            continue;
        const std::string where = name + ":" + std::to_string(reader.line());
        sink(parse_object_line(line, where), reader.line(), where);
    }
}

void read_json_lines(const std::string& path, const JsonLineSink& sink) {
    File f = open_file(path);
    read_json_lines(f.get(), display_name(path), sink);
}

// The same from text in memory (an HTTP request's body), named `name` in messages.
void read_json_lines_text(std::string_view text, const std::string& name,
                          const JsonLineSink& sink) {
    if (text.empty())
        return;  // fmemopen refuses a buffer of size 0
    File f(::fmemopen(const_cast<char*>(text.data()), text.size(), "r"));
    if (!f)
        throw Error::io(name + ": cannot read", errno);
    read_json_lines(f.get(), name, sink);
}

// --- .fvecs ---

// Each row: a little-endian int32 dimension, then that many float32.
void read_fvecs(const std::string& path,
                const std::function<void(uint64_t, std::vector<float>&&)>& sink) {
    File f = open_file(path);
    uint32_t first_dim = 0;
    for (uint64_t row = 0;; ++row) {
        const std::string where = path + ": row " + std::to_string(row);
        uint32_t dim = 0;
        const size_t n = read_bytes(f.get(), &dim, sizeof dim, path);
        if (n == 0)
            return;
        if (n < sizeof dim)
            throw invalid(where + ": truncated: the file ends inside the dimension field");
        if (dim == 0 || dim > kMaxInputDimension)
            throw invalid(where + ": dimension field is " + std::to_string(dim) +
                          "; expected 1 to " + std::to_string(kMaxInputDimension) +
                          " (is this an .fvecs file?)");
        if (row == 0)
            first_dim = dim;
        else if (dim != first_dim)
            throw invalid(where + ": dimension " + std::to_string(dim) + " differs from row 0's " +
                          std::to_string(first_dim));
        std::vector<float> v(dim);
        const size_t got = read_bytes(f.get(), v.data(), dim * sizeof(float), path);
        if (got < dim * sizeof(float))
            throw invalid(where + ": truncated: expected " + std::to_string(dim) +
                          " floats, the file ends after " + std::to_string(got) + " bytes of them");
        sink(row, std::move(v));
    }
}

// --- .npy ---

// The few Python literals a .npy header dict holds: 'str', True/False, (int, int, ...).
struct PyValue {
    enum class Kind { kString, kBool, kTuple } kind = Kind::kString;
    std::string str;
    bool boolean = false;
    std::vector<uint64_t> ints;
};

class NpyHeaderParser {
  public:
    NpyHeaderParser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

    // Parses "{'key': value, ...}" and calls `field` for each entry.
    void parse(const std::function<void(const std::string&, const PyValue&)>& field) {
        expect('{');
        while (true) {
            skip_space();
            if (eat('}'))
                break;
            const std::string key = parse_string();
            expect(':');
            field(key, parse_value());
            skip_space();
            if (eat('}'))
                break;
            expect(',');
        }
        skip_space();
        if (pos_ != s_.size())
            fail("unexpected text after the header dict");
    }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        throw invalid(where_ + ": malformed .npy header at byte " + std::to_string(pos_) + ": " +
                      what);
    }
    void skip_space() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
            ++pos_;
    }
    bool eat(char c) {
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        skip_space();
        if (!eat(c))
            fail(std::string("expected '") + c + "'");
    }
    std::string parse_string() {
        skip_space();
        if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"'))
            fail("expected a quoted string");
        const char quote = s_[pos_++];
        const size_t end = s_.find(quote, pos_);
        if (end == std::string_view::npos)
            fail("unterminated string");
        std::string str(s_.substr(pos_, end - pos_));
        if (str.find('\\') != std::string::npos)
            fail("escapes in strings are not supported");
        pos_ = end + 1;
        return str;
    }
    uint64_t parse_int() {
        skip_space();
        if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_])))
            fail("expected a non-negative integer");
        uint64_t value = 0;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
            const uint64_t digit = static_cast<uint64_t>(s_[pos_] - '0');
            if (value > (UINT64_MAX - digit) / 10)
                fail("integer too large");
            value = value * 10 + digit;
            ++pos_;
        }
        eat('L');  // Python 2's long suffix, as old numpy wrote it
        return value;
    }
    PyValue parse_value() {
        skip_space();
        PyValue v;
        if (pos_ < s_.size() && (s_[pos_] == '\'' || s_[pos_] == '"')) {
            v.kind = PyValue::Kind::kString;
            v.str = parse_string();
        } else if (s_.substr(pos_).starts_with("True")) {
            v.kind = PyValue::Kind::kBool;
            v.boolean = true;
            pos_ += 4;
        } else if (s_.substr(pos_).starts_with("False")) {
            v.kind = PyValue::Kind::kBool;
            pos_ += 5;
        } else if (eat('(')) {
            v.kind = PyValue::Kind::kTuple;
            while (true) {
                skip_space();
                if (eat(')'))
                    break;
                v.ints.push_back(parse_int());
                skip_space();
                if (eat(')'))
                    break;
                expect(',');
            }
        } else {
            fail("expected a string, True, False or a tuple");
        }
        return v;
    }

    std::string_view s_;
    size_t pos_ = 0;
    const std::string& where_;
};

std::string shape_text(const std::vector<uint64_t>& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

uint32_t read_le32(const unsigned char* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// A 2-D C-order '<f4' array; every check on the header comes before any allocation it sizes.
void read_npy(const std::string& path,
              const std::function<void(uint64_t, std::vector<float>&&)>& sink) {
    File f = open_file(path);
    struct stat st;
    if (::fstat(::fileno(f.get()), &st) != 0)
        throw Error::io(path + ": cannot stat", errno);
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);

    unsigned char prefix[12] = {};
    if (read_bytes(f.get(), prefix, 8, path) < 8 || std::memcmp(prefix, "\x93NUMPY", 6) != 0)
        throw invalid(path + ": not a .npy file (it does not start with \\x93NUMPY)");
    const unsigned major = prefix[6], minor = prefix[7];
    uint64_t header_len = 0, header_start = 0;
    if (major == 1) {
        if (read_bytes(f.get(), prefix + 8, 2, path) < 2)
            throw invalid(path + ": truncated .npy header");
        header_len = uint64_t{prefix[8]} | uint64_t{prefix[9]} << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (read_bytes(f.get(), prefix + 8, 4, path) < 4)
            throw invalid(path + ": truncated .npy header");
        header_len = read_le32(prefix + 8);
        header_start = 12;
    } else {
        throw invalid(path + ": unsupported .npy format version " + std::to_string(major) + "." +
                      std::to_string(minor));
    }
    if (header_len > kMaxNpyHeader || header_start + header_len > file_size)
        throw invalid(path + ": .npy header length " + std::to_string(header_len) +
                      " goes past the end of the file (" + std::to_string(file_size) + " bytes)");
    std::string header(header_len, '\0');
    if (read_bytes(f.get(), header.data(), header_len, path) < header_len)
        throw invalid(path + ": truncated .npy header");

    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<uint64_t>> shape;
    NpyHeaderParser(header, path).parse([&](const std::string& key, const PyValue& v) {
        if (key == "descr" && v.kind == PyValue::Kind::kString)
            descr = v.str;
        else if (key == "fortran_order" && v.kind == PyValue::Kind::kBool)
            fortran_order = v.boolean;
        else if (key == "shape" && v.kind == PyValue::Kind::kTuple)
            shape = v.ints;
        else
            throw invalid(path + ": unexpected entry '" + one_line(key) + "' in the .npy header");
    });
    if (!descr || !fortran_order || !shape)
        throw invalid(path + ": the .npy header lacks 'descr', 'fortran_order' or 'shape'");
    if (*descr != "<f4")
        throw invalid(path + ": dtype '" + one_line(*descr) +
                      "' is not supported; expected '<f4' (float32, little-endian): save "
                      "arr.astype('<f4')");
    if (*fortran_order)
        throw invalid(path +
                      ": Fortran-order arrays are not supported: save np.ascontiguousarray(arr)");
    if (shape->size() != 2)
        throw invalid(path + ": shape " + shape_text(*shape) + " is not 2-D (rows, dimension)");
    const uint64_t rows = (*shape)[0], dim = (*shape)[1];
    if (dim == 0 || dim > kMaxInputDimension)
        throw invalid(path + ": shape " + shape_text(*shape) + ": dimension must be 1 to " +
                      std::to_string(kMaxInputDimension));
    const uint64_t data_size = file_size - header_start - header_len;
    const uint64_t row_bytes = dim * sizeof(float);
    if (rows > data_size / row_bytes || rows * row_bytes != data_size)
        throw invalid(path + ": shape " + shape_text(*shape) + " does not match the " +
                      std::to_string(data_size) + " bytes of data after the header");

    for (uint64_t row = 0; row < rows; ++row) {
        std::vector<float> v(dim);
        if (read_bytes(f.get(), v.data(), row_bytes, path) < row_bytes)
            throw invalid(path + ": row " + std::to_string(row) + ": truncated");
        sink(row, std::move(v));
    }
}

// --- SQLite ---

struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtCloser {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Database = std::unique_ptr<sqlite3, DbCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StmtCloser>;

std::string quote_identifier(const std::string& name) {
    std::string q = "\"";
    for (char c : name) {
        q += c;
        if (c == '"')
            q += '"';
    }
    return q + "\"";
}

Error sqlite_error(int rc, const std::string& where, sqlite3* db) {
    const std::string message = where + ": " + one_line(sqlite3_errmsg(db));
    switch (rc & 0xFF) {
        case SQLITE_ERROR:  // no such table or column, and other errors in the statement
        case SQLITE_NOTADB:
            return invalid(message);
        case SQLITE_CORRUPT:
            return Error::corruption(message);
        default:
            return Error(ErrorCode::kIO, message);
    }
}

// Opens an existing database read-only: a missing file is kNotFound, and nothing is created.
Database open_database(const std::string& db) {
    struct stat st;
    if (::stat(db.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            throw Error::not_found(db + ": no such file");
        throw Error::io(db + ": cannot open", errno);
    }
    if (S_ISDIR(st.st_mode))
        throw invalid(db + ": is a directory, not a SQLite database");

    sqlite3* raw_db = nullptr;
    const int open_rc = sqlite3_open_v2(db.c_str(), &raw_db, SQLITE_OPEN_READONLY, nullptr);
    Database conn(raw_db);
    if (open_rc != SQLITE_OK) {
        if (!conn)
            throw Error(ErrorCode::kIO, db + ": cannot open: out of memory");
        throw sqlite_error(open_rc, db + ": cannot open", conn.get());
    }
    sqlite3_busy_timeout(conn.get(), 5000);
    // Without this, SQLite takes a double-quoted name of a missing column for a string literal.
    sqlite3_db_config(conn.get(), SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
    return conn;
}

Statement prepare(sqlite3* conn, const std::string& sql, const std::string& where) {
    sqlite3_stmt* raw_stmt = nullptr;
    const int rc =
        sqlite3_prepare_v2(conn, sql.c_str(), static_cast<int>(sql.size()), &raw_stmt, nullptr);
    Statement stmt(raw_stmt);
    if (rc != SQLITE_OK)
        throw sqlite_error(rc, where, conn);
    return stmt;
}

// Steps `stmt`: true for a row, false when done.
bool next_row(sqlite3_stmt* stmt, sqlite3* conn, const std::string& where) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return false;
    if (rc != SQLITE_ROW)
        throw sqlite_error(rc, where, conn);
    return true;
}

// The TEXT of a column, empty for NULL.
std::string column_text(sqlite3_stmt* stmt, int column) {
    const auto* text = sqlite3_column_text(stmt, column);
    const int bytes = sqlite3_column_bytes(stmt, column);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(bytes));
}

// The id in column `column` of the current row: TEXT or INTEGER, never empty.
std::string column_id(sqlite3_stmt* stmt, int column, const std::string& where) {
    switch (sqlite3_column_type(stmt, column)) {
        case SQLITE_INTEGER:
            return std::to_string(sqlite3_column_int64(stmt, column));
        case SQLITE_TEXT: {
            std::string id = column_text(stmt, column);
            if (id.empty())
                throw invalid(where + ": id is empty");
            return id;
        }
        case SQLITE_NULL:
            throw invalid(where + ": id is NULL");
        default:
            throw invalid(where + ": id must be TEXT or INTEGER");
    }
}

// The embedding in column `column` of the current row: a BLOB of little-endian float32. Every
// embedding read through one `same_length` must have the same length; `where` names this row
// and `first_where` the first one, for the message that says they differ.
std::vector<float> column_embedding(sqlite3_stmt* stmt, int column, const std::string& where,
                                    const std::string& first_where,
                                    std::optional<size_t>& same_length,
                                    std::string& same_length_where) {
    const int type = sqlite3_column_type(stmt, column);
    if (type == SQLITE_NULL)
        throw invalid(where + ": embedding is NULL");
    if (type != SQLITE_BLOB)
        throw invalid(where + ": embedding must be a BLOB of little-endian float32");
    const void* blob = sqlite3_column_blob(stmt, column);
    const size_t bytes = static_cast<size_t>(sqlite3_column_bytes(stmt, column));
    if (bytes == 0 || blob == nullptr)
        throw invalid(where + ": embedding is an empty BLOB");
    if (bytes % sizeof(float) != 0)
        throw invalid(where + ": embedding is " + std::to_string(bytes) +
                      " bytes, not a multiple of 4 (float32)");
    const size_t length = bytes / sizeof(float);
    if (length > kMaxInputDimension)
        throw invalid(where + ": embedding has " + std::to_string(length) + " floats; at most " +
                      std::to_string(kMaxInputDimension) + " are accepted");
    if (!same_length) {
        same_length = length;
        same_length_where = first_where;
    } else if (length != *same_length) {
        throw invalid(where + ": embedding has " + std::to_string(length) + " floats, but " +
                      same_length_where + " has " + std::to_string(*same_length));
    }
    std::vector<float> vector(length);
    std::memcpy(vector.data(), blob, bytes);
    return vector;
}

// The "string" of an object, the text to embed, if it has one: a non-empty string, and never
// beside a "vector". (nlohmann's parser has checked that it is UTF-8.)
std::optional<std::string> text_of(json& obj, const std::string& where) {
    const auto it = obj.find("string");
    if (it == obj.end())
        return std::nullopt;
    if (obj.contains("vector"))
        throw invalid(where + ": give either \"vector\" or \"string\" (a text to embed), not both");
    if (!it->is_string())
        throw invalid(where + ": \"string\" must be a string (a text to embed), not " +
                      a_type(*it));
    if (it->get_ref<const std::string&>().empty())
        throw invalid(where + ": \"string\" is empty; there is no text to embed");
    return std::move(it->get_ref<std::string&>());
}

// One operation from its JSON Lines object; `same_length` holds the first vector's length.
Operation to_operation(json&& obj, size_t line, const std::string& where, SameLength& same_length) {
    Operation op;
    op.line = line;
    op.id = to_id(obj, where);
    const auto op_it = obj.find("op");
    if (op_it == obj.end())
        throw invalid(where + ": missing \"op\" (Inserted, Deleted or Replaced)");
    if (!op_it->is_string())
        throw invalid(where + ": \"op\" must be a string, not " + a_type(*op_it));
    const auto kind = op_kind(op_it->get_ref<const std::string&>());
    if (!kind)
        throw invalid(where + ": unknown op " + quote_id(op_it->get<std::string>()) +
                      "; expected Inserted, Deleted, Replaced or Changed");
    op.kind = *kind;
    const auto vector_it = obj.find("vector");
    if (op.kind == OpKind::kDelete) {
        if (vector_it != obj.end() && !vector_it->is_null())
            throw invalid(where + ": a Deleted operation takes no \"vector\"");
        if (const auto string_it = obj.find("string");
            string_it != obj.end() && !string_it->is_null())
            throw invalid(where + ": a Deleted operation takes no \"string\"");
    } else if (auto text = text_of(obj, where)) {
        op.text = std::move(text);
    } else {
        if (vector_it == obj.end())
            throw invalid(where + ": missing \"vector\" for " +
                          (op.kind == OpKind::kInsert ? "Inserted" : "Replaced") +
                          " (or a \"string\" to embed)");
        op.vector = to_vector(*vector_it, where, "vector");
        same_length.check(op.vector.size(), where, "line " + std::to_string(line));
    }
    return op;
}

// One item of a JSON Lines snapshot.
SnapshotItem to_snapshot_item(json&& obj, size_t line, const std::string& where,
                              SameLength& same_length) {
    SnapshotItem item;
    item.id = to_id(obj, where);
    item.where = where;
    if (auto text = text_of(obj, where)) {
        item.text = std::move(text);
        return item;
    }
    const auto vector_it = obj.find("vector");
    if (vector_it == obj.end())
        throw invalid(where + ": missing \"vector\" (or a \"string\" to embed)");
    item.vector = to_vector(*vector_it, where, "vector");
    same_length.check(item.vector.size(), where, "line " + std::to_string(line));
    return item;
}

}  // namespace

void read_operations(const std::string& path, const std::function<void(Operation&&)>& sink) {
    SameLength same_length;
    read_json_lines(path, [&](json&& obj, size_t line, const std::string& where) {
        sink(to_operation(std::move(obj), line, where, same_length));
    });
}

void read_operations_text(std::string_view text, const std::string& name,
                          const std::function<void(Operation&&)>& sink) {
    SameLength same_length;
    read_json_lines_text(text, name, [&](json&& obj, size_t line, const std::string& where) {
        sink(to_operation(std::move(obj), line, where, same_length));
    });
}

void read_snapshot_text(std::string_view text, const std::string& name,
                        const std::function<void(SnapshotItem&&)>& sink) {
    SameLength same_length;
    read_json_lines_text(text, name, [&](json&& obj, size_t line, const std::string& where) {
        sink(to_snapshot_item(std::move(obj), line, where, same_length));
    });
}

void read_snapshot_file(const std::string& path, const std::function<void(SnapshotItem&&)>& sink) {
    const std::string ext = lower_extension(path);
    if (path == "-" || ext == ".jsonl" || ext == ".ndjson" || ext == ".json") {
        SameLength same_length;
        read_json_lines(path, [&](json&& obj, size_t line, const std::string& where) {
            sink(to_snapshot_item(std::move(obj), line, where, same_length));
        });
        return;
    }
    const auto row_sink = [&](uint64_t row, std::vector<float>&& v) {
        sink({std::to_string(row), std::move(v), path + ": row " + std::to_string(row),
              std::nullopt});
    };
    if (ext == ".fvecs")
        return read_fvecs(path, row_sink);
    if (ext == ".npy")
        return read_npy(path, row_sink);
    throw invalid(path + ": unknown snapshot format '" + one_line(ext) +
                  "'; expected .jsonl, .ndjson, .json, .fvecs or .npy (or - for JSON Lines on "
                  "standard input)");
}

void read_snapshot_sqlite(const std::string& db, const std::string& table,
                          const std::function<void(SnapshotItem&&)>& sink) {
    if (table.empty() || table.find('\0') != std::string::npos)
        throw invalid(db + ": invalid table name " + quote_id(table));
    const Database conn = open_database(db);
    const std::string qtable = quote_identifier(table);
    const std::string table_where = db + ": table " + qtable;
    const Statement stmt =
        prepare(conn.get(), "SELECT \"id\", \"embedding\" FROM " + qtable, table_where);

    std::optional<size_t> same_length;
    std::string same_length_where;
    for (uint64_t row = 0;; ++row) {
        const std::string row_where = table_where + ": row " + std::to_string(row);
        if (!next_row(stmt.get(), conn.get(), row_where))
            return;
        SnapshotItem item;
        item.id = column_id(stmt.get(), 0, row_where);
        item.vector =
            column_embedding(stmt.get(), 1, row_where + " (id " + quote_id(item.id) + ")",
                             "row " + std::to_string(row) + " (id " + quote_id(item.id) + ")",
                             same_length, same_length_where);
        item.where = row_where;
        sink(std::move(item));
    }
}

void read_snapshot_llm(const std::string& db, const std::string& collection,
                       const std::function<void(SnapshotItem&&)>& sink) {
    const Database conn = open_database(db);
    const std::string schema =
        "llm keeps collections(id, name, model) and embeddings(collection_id, id, embedding, ...)";
    for (const char* table : {"collections", "embeddings"}) {
        const Statement stmt = prepare(
            conn.get(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", db);
        sqlite3_bind_text(stmt.get(), 1, table, -1, SQLITE_STATIC);
        if (!next_row(stmt.get(), conn.get(), db))
            throw invalid(db + ": not an llm embeddings database: it has no table '" + table +
                          "' (" + schema + ")");
    }

    const std::string collection_where = db + ": collection " + quote_id(collection);
    int64_t collection_id = 0;
    {
        const Statement stmt = prepare(
            conn.get(), "SELECT \"id\" FROM \"collections\" WHERE \"name\" = ?1", collection_where);
        sqlite3_bind_text(stmt.get(), 1, collection.data(), static_cast<int>(collection.size()),
                          SQLITE_STATIC);
        if (!next_row(stmt.get(), conn.get(), collection_where)) {
            const Statement names =
                prepare(conn.get(), "SELECT \"name\" FROM \"collections\" ORDER BY \"name\"", db);
            std::string listed;
            while (next_row(names.get(), conn.get(), db))
                listed += (listed.empty() ? "" : ", ") + quote_id(column_text(names.get(), 0));
            throw Error::not_found(db + ": no collection " + quote_id(collection) + "; " +
                                   (listed.empty() ? std::string("it holds no collections")
                                                   : "its collections are " + listed));
        }
        if (sqlite3_column_type(stmt.get(), 0) != SQLITE_INTEGER)
            throw invalid(collection_where + ": its id in table 'collections' is not an INTEGER");
        collection_id = sqlite3_column_int64(stmt.get(), 0);
        if (next_row(stmt.get(), conn.get(), collection_where))
            throw invalid(collection_where + ": the name appears twice in table 'collections'");
    }

    // Ordered by id, so that runs over the same rows read them alike.
    const Statement stmt = prepare(conn.get(),
                                   "SELECT \"id\", \"embedding\" FROM \"embeddings\" WHERE "
                                   "\"collection_id\" = ?1 ORDER BY \"id\"",
                                   collection_where);
    sqlite3_bind_int64(stmt.get(), 1, collection_id);
    std::optional<size_t> same_length;
    std::string same_length_where;
    for (uint64_t row = 0;; ++row) {
        const std::string row_where = collection_where + ": row " + std::to_string(row);
        if (!next_row(stmt.get(), conn.get(), row_where))
            return;
        SnapshotItem item;
        item.id = column_id(stmt.get(), 0, row_where);
        const std::string id_where = collection_where + ": id " + quote_id(item.id);
        item.vector = column_embedding(stmt.get(), 1, id_where, "id " + quote_id(item.id),
                                       same_length, same_length_where);
        item.where = id_where;
        sink(std::move(item));
    }
}

std::vector<std::string> read_id_list(const std::string& path) {
    File f = open_file(path);
    LineReader lines(f.get(), display_name(path));
    std::vector<std::string> ids;
    for (std::string_view line; lines.next(line);) {
        if (!is_blank(line))
            ids.emplace_back(line);
    }
    return ids;
}

std::vector<std::vector<float>> read_query_file(const std::string& path) {
    std::vector<std::vector<float>> queries;
    const std::string ext = lower_extension(path);
    if (ext == ".fvecs" || ext == ".npy") {
        const auto collect = [&](uint64_t, std::vector<float>&& v) {
            queries.push_back(std::move(v));
        };
        if (ext == ".fvecs")
            read_fvecs(path, collect);
        else
            read_npy(path, collect);
        if (queries.empty())
            throw invalid(path + ": holds no vectors");
        return queries;
    }

    const std::string name = display_name(path);
    File f = open_file(path);
    std::string text;
    char buf[65536];
    while (true) {
        const size_t n = read_bytes(f.get(), buf, sizeof buf, name);
        text.append(buf, n);
        if (n < sizeof buf)
            break;
    }
    return parse_query_json(text, name).vectors;
}

QueryVectors parse_query_json(std::string_view text, const std::string& name) {
    QueryVectors queries;
    if (auto fast = scan_number_arrays(text, kMaxInputDimension)) {
        queries.many = fast->nested;
        queries.vectors = std::move(fast->arrays);
        return queries;
    }
    const json j = parse_json(text.begin(), text.end(), name, false);
    if (j.is_array() && !j.empty() && j[0].is_array()) {
        queries.many = true;
        SameLength same_length;
        for (size_t i = 0; i < j.size(); ++i) {
            const std::string where = name + ": query " + std::to_string(i);
            queries.vectors.push_back(to_vector(j[i], where, "vector"));
            same_length.check(queries.vectors.back().size(), where, "query 0");
        }
    } else {
        queries.vectors.push_back(to_vector(j, name, "vector"));
    }
    return queries;
}

std::vector<float> json_to_vector(const json& j, const std::string& where,
                                  const std::string& name) {
    return to_vector(j, where, name);
}

std::vector<float> parse_vector_json(const std::string& text, const std::string& what) {
    const json j = parse_json(text.begin(), text.end(), what, false);
    return to_vector(j, what, "vector");
}

}  // namespace vstore::cli
