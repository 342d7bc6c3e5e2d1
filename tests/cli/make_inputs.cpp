// Writes a deterministic dataset for the command-line tests (tests/cli/test_cli.sh) in every
// input format `vstore index` and `vstore search` read, plus malformed inputs for error tests.
// Usage: vstore-make-inputs DIR [SEED]   (DIR is created if needed; SEED defaults to 1)
//
// Also, for a store an older vstore wrote (before the norm limit): vector N of a vector file
// overwritten with every component FLT_MAX and its checksum entry made to match, so that only
// the value is old (mapped serving checks checksums, not norms, when it reads).
// Usage: vstore-make-inputs --huge-vector FILE N
// And one whose short id OLD of domain D is renamed NEW in the catalog, both ways, sealed as
// vstore seals (NEW may be any bytes, e.g. not UTF-8, which vstore no longer accepts).
// Usage: vstore-make-inputs --rename-id STORE D OLD NEW
// And one whose keys table has lost the key of short id ID of domain D (its ids entry stays),
// a damage only the cross-checks of `inspect --verify` find (spec/consistency.md, K2).
// Usage: vstore-make-inputs --forget-key STORE D ID
//
// Dimension 8, 1500 base vectors (clustered: Gaussian blobs around 24 random centres), so a
// commit holds more than the 1000 live items under which search scans exactly.
//
//   base.jsonl            ops: Inserted for ids "0".."1499"
//   base.fvecs, base.npy  the same vectors, row n = id "n" ('<f4', v1.0 header, shape (1500, 8))
//   base.db               SQLite table `embeddings` (id TEXT, embedding BLOB of float32 LE)
//   ops2.jsonl            on top of base: 100 deleted, 50 replaced, 200 inserted ("1500".."1699"),
//                         interleaved, with the op spelled in every accepted way
//   snap2.jsonl, snap2.db the whole set after ops2 (1600 ids, shuffled; some ids as JSON integers)
//   snap2_rows.fvecs/.npy rows 0..1599: base with the same 50 rows changed, plus rows
//                         1500..1599 = the first 100 new vectors (row files cannot delete)
//   ops2_rows.jsonl       the change set of snap2_rows as operations (50 replaced, 100 inserted)
//   expected_snap2.json   {"jsonl"|"sqlite"|"fvecs"|"npy"|"ops2"|"ops2_rows":
//                          {"inserted", "deleted", "replaced", "live"}}
//   changes.json          {"deleted": [ids], "replaced": [ids], "inserted_first": "1500", ...}
//   queries.fvecs, queries.npy  20 query vectors;  query.json: the first one as a JSON array,
//                               queries.json: all 20 as a JSON array of arrays
//   dups.jsonl            ops: Inserted dupA and dupB with the very same vector
//   empty.jsonl, empty.fvecs, empty.npy (shape (0, 8)), empty.db (an empty table embeddings)
//                         the empty set, in every snapshot format
//
// Malformed, each broken at a known place:
//   bad_json.jsonl   ops, line 3 is cut in the middle of its JSON
//   bad_len.jsonl    ops, line 2 has a vector of 7 elements
//   bad_op.jsonl     ops, line 2 has op "Upserted"
//   bad_nan.fvecs    snapshot, row 5 holds a NaN
//   dup_id.jsonl     snapshot, line 4 repeats the id of line 2 ("1")
//   bad_f8.npy       snapshot, dtype '<f8'
//   bad_blob.db      table embeddings, row 3 (id "3") has a 7-byte embedding
//   bad_utf8.db      table embeddings, row 2 has the id FF FE 62 69 6E, TEXT but not UTF-8
//   conflict.jsonl   ops, line 2 inserts id "5", live in base
//   missing.jsonl    ops, line 2 deletes id "no-such-id"
//   zero.jsonl       ops, line 2 inserts a zero vector (invalid under cosine only)
#include <lmdb.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vstore/format/bytes.h"
#include "vstore/format/catalog_records.h"
#include "vstore/format/vector_file_format.h"

namespace {

constexpr size_t kDim = 8;
constexpr size_t kBase = 1500;
constexpr size_t kDeleted = 100;
constexpr size_t kReplaced = 50;
constexpr size_t kNew = 200;
constexpr size_t kNewRows = 100;  // new rows of the row-numbered variant
constexpr size_t kQueries = 20;
constexpr size_t kCentres = 24;

using Vec = std::vector<float>;

std::string dir;

std::string path(const std::string& name) {
    return dir + "/" + name;
}

class Generator {
  public:
    explicit Generator(uint64_t seed) : rng_(seed) {
        std::uniform_real_distribution<float> u(-10.0f, 10.0f);
        for (size_t c = 0; c < kCentres; ++c) {
            Vec v(kDim);
            for (auto& x : v)
                x = u(rng_);
            centres_.push_back(v);
        }
    }
    // A point of a random cluster.
    Vec next() {
        std::uniform_int_distribution<size_t> pick(0, kCentres - 1);
        std::normal_distribution<float> noise(0.0f, 1.0f);
        Vec v = centres_[pick(rng_)];
        for (auto& x : v)
            x += noise(rng_);
        return v;
    }
    std::mt19937_64& rng() { return rng_; }

  private:
    std::mt19937_64 rng_;
    std::vector<Vec> centres_;
};

// The shortest text that reads back as the same float.
std::string num(float f) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, f);
    return std::string(buf, r.ptr);
}

std::string json_vec(const Vec& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + num(v[i]);
    return s + "]";
}

void write_text(const std::string& name, const std::string& text) {
    std::ofstream f(path(name), std::ios::binary | std::ios::trunc);
    f << text;
    if (!f)
        throw std::runtime_error("cannot write " + path(name));
}

void write_fvecs(const std::string& name, const std::vector<Vec>& rows) {
    std::string bytes;
    for (const auto& v : rows) {
        const int32_t d = static_cast<int32_t>(v.size());
        bytes.append(reinterpret_cast<const char*>(&d), sizeof d);
        bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    }
    write_text(name, bytes);
}

// A version 1.0 .npy file: magic, u16 header length, the header dict padded with spaces to a
// multiple of 64 bytes (ending in '\n'), then the C-order data.
void write_npy(const std::string& name, const std::vector<Vec>& rows, bool as_f8 = false) {
    std::string header = "{'descr': '" + std::string(as_f8 ? "<f8" : "<f4") +
                         "', 'fortran_order': False, 'shape': (" + std::to_string(rows.size()) +
                         ", " + std::to_string(kDim) + "), }";
    while ((10 + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\x00';
    const uint16_t len = static_cast<uint16_t>(header.size());
    bytes += static_cast<char>(len & 0xff);
    bytes += static_cast<char>(len >> 8);
    bytes += header;
    for (const auto& v : rows) {
        if (as_f8) {
            for (float x : v) {
                const double d = x;
                bytes.append(reinterpret_cast<const char*>(&d), sizeof d);
            }
        } else {
            bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
        }
    }
    write_text(name, bytes);
}

void check_sqlite(int rc, sqlite3* db, const std::string& what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        throw std::runtime_error(what + ": " + sqlite3_errmsg(db));
}

// Table `embeddings` (id TEXT, embedding BLOB); row `short_blob_row` gets a 7-byte blob.
void write_db(const std::string& name, const std::vector<std::pair<std::string, Vec>>& items,
              size_t short_blob_row = SIZE_MAX) {
    std::filesystem::remove(path(name));
    sqlite3* db = nullptr;
    if (sqlite3_open(path(name).c_str(), &db) != SQLITE_OK)
        throw std::runtime_error("cannot create " + path(name));
    check_sqlite(sqlite3_exec(db, "CREATE TABLE embeddings (id TEXT, embedding BLOB); BEGIN;",
                              nullptr, nullptr, nullptr),
                 db, "create table");
    sqlite3_stmt* stmt = nullptr;
    check_sqlite(sqlite3_prepare_v2(db, "INSERT INTO embeddings (id, embedding) VALUES (?, ?)", -1,
                                    &stmt, nullptr),
                 db, "prepare");
    for (size_t row = 0; row < items.size(); ++row) {
        const auto& [id, v] = items[row];
        const int bytes = row == short_blob_row ? 7 : static_cast<int>(v.size() * sizeof(float));
        sqlite3_bind_text(stmt, 1, id.c_str(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
        sqlite3_bind_blob(stmt, 2, v.data(), bytes, SQLITE_TRANSIENT);
        check_sqlite(sqlite3_step(stmt), db, "insert");
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    check_sqlite(sqlite3_exec(db, "COMMIT;", nullptr, nullptr, nullptr), db, "commit");
    sqlite3_close(db);
}

std::string op_line(const std::string& id, const std::string& op, const Vec* v) {
    std::string s = "{\"id\": \"" + id + "\", \"op\": \"" + op + "\"";
    if (v != nullptr)
        s += ", \"vector\": " + json_vec(*v);
    return s + "}\n";
}

std::string counts(size_t inserted, size_t deleted, size_t replaced, size_t live) {
    return "{\"inserted\": " + std::to_string(inserted) +
           ", \"deleted\": " + std::to_string(deleted) +
           ", \"replaced\": " + std::to_string(replaced) + ", \"live\": " + std::to_string(live) +
           "}";
}

std::string json_ids(const std::vector<size_t>& ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i)
        s += (i ? ", \"" : "\"") + std::to_string(ids[i]) + "\"";
    return s + "]";
}

void make(uint64_t seed) {
    Generator gen(seed);
    auto& rng = gen.rng();

    std::vector<Vec> base;
    for (size_t i = 0; i < kBase; ++i)
        base.push_back(gen.next());

    // base.*
    std::string ops;
    std::vector<std::pair<std::string, Vec>> base_items;
    for (size_t i = 0; i < kBase; ++i) {
        ops += op_line(std::to_string(i), "Inserted", &base[i]);
        base_items.emplace_back(std::to_string(i), base[i]);
    }
    write_text("base.jsonl", ops);
    write_fvecs("base.fvecs", base);
    write_npy("base.npy", base);
    write_db("base.db", base_items);
    write_text("empty.jsonl", "");
    write_fvecs("empty.fvecs", {});
    write_npy("empty.npy", {});
    write_db("empty.db", {});

    // The change set: 100 deleted and 50 replaced ids of base, distinct; 200 new ids.
    std::vector<size_t> order(kBase);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<size_t> deleted(order.begin(), order.begin() + kDeleted);
    std::vector<size_t> replaced(order.begin() + kDeleted, order.begin() + kDeleted + kReplaced);
    std::sort(deleted.begin(), deleted.end());
    std::sort(replaced.begin(), replaced.end());
    std::vector<Vec> replacement;
    for (size_t i = 0; i < kReplaced; ++i)
        replacement.push_back(gen.next());
    std::vector<Vec> fresh;
    for (size_t i = 0; i < kNew; ++i)
        fresh.push_back(gen.next());

    // ops2.jsonl: the change set as operations, interleaved, in every spelling.
    {
        const char* del_spell[] = {"Deleted", "delete", "deleted"};
        const char* rep_spell[] = {"Replaced", "Changed", "replace", "changed", "replaced"};
        const char* ins_spell[] = {"Inserted", "insert", "inserted"};
        std::vector<std::string> lines;
        for (size_t i = 0; i < kDeleted; ++i) {
            std::string line = op_line(std::to_string(deleted[i]), del_spell[i % 3], nullptr);
            if (i % 10 == 9)  // a Deleted with "vector": null is accepted too
                line = "{\"op\": \"Deleted\", \"vector\": null, \"id\": \"" +
                       std::to_string(deleted[i]) + "\"}\n";
            lines.push_back(line);
        }
        for (size_t i = 0; i < kReplaced; ++i)
            lines.push_back(
                op_line(std::to_string(replaced[i]), rep_spell[i % 5], &replacement[i]));
        for (size_t i = 0; i < kNew; ++i)
            lines.push_back(op_line(std::to_string(kBase + i), ins_spell[i % 3], &fresh[i]));
        std::shuffle(lines.begin(), lines.end(), rng);
        std::string text;
        for (size_t i = 0; i < lines.size(); ++i) {
            text += lines[i];
            if (i == 7)
                text += "\n";  // a blank line is skipped
        }
        write_text("ops2.jsonl", text);
    }

    // snap2.jsonl and snap2.db: the whole set after ops2, shuffled.
    {
        std::vector<std::pair<std::string, Vec>> items;
        const std::set<size_t> del(deleted.begin(), deleted.end());
        for (size_t i = 0; i < kBase; ++i) {
            if (del.count(i))
                continue;
            const auto r = std::lower_bound(replaced.begin(), replaced.end(), i);
            if (r != replaced.end() && *r == i)
                items.emplace_back(std::to_string(i), replacement[size_t(r - replaced.begin())]);
            else
                items.emplace_back(std::to_string(i), base[i]);
        }
        for (size_t i = 0; i < kNew; ++i)
            items.emplace_back(std::to_string(kBase + i), fresh[i]);
        std::shuffle(items.begin(), items.end(), rng);
        std::string text;
        for (size_t i = 0; i < items.size(); ++i) {
            // Every seventh id as a JSON integer, which means its decimal string.
            const std::string id = i % 7 == 3 ? items[i].first : "\"" + items[i].first + "\"";
            text += "{\"id\": " + id + ", \"vector\": " + json_vec(items[i].second) + "}\n";
        }
        write_text("snap2.jsonl", text);
        write_db("snap2.db", items);
    }

    // snap2_rows.fvecs/.npy: rows 0..1599; ops2_rows.jsonl: the same change as operations.
    {
        std::vector<Vec> rows = base;
        std::string text;
        for (size_t i = 0; i < kReplaced; ++i) {
            rows[replaced[i]] = replacement[i];
            text += op_line(std::to_string(replaced[i]), "Replaced", &replacement[i]);
        }
        for (size_t i = 0; i < kNewRows; ++i) {
            rows.push_back(fresh[i]);
            text += op_line(std::to_string(kBase + i), "Inserted", &fresh[i]);
        }
        write_fvecs("snap2_rows.fvecs", rows);
        write_npy("snap2_rows.npy", rows);
        write_text("ops2_rows.jsonl", text);
    }

    const std::string full = counts(kNew, kDeleted, kReplaced, kBase - kDeleted + kNew);
    const std::string row_counts = counts(kNewRows, 0, kReplaced, kBase + kNewRows);
    write_text("expected_snap2.json", "{\"jsonl\": " + full + ",\n \"sqlite\": " + full +
                                          ",\n \"ops2\": " + full + ",\n \"fvecs\": " + row_counts +
                                          ",\n \"npy\": " + row_counts +
                                          ",\n \"ops2_rows\": " + row_counts + "}\n");
    write_text("changes.json",
               "{\"deleted\": " + json_ids(deleted) + ",\n \"replaced\": " + json_ids(replaced) +
                   ",\n \"inserted_first\": \"" + std::to_string(kBase) +
                   "\", \"inserted_last\": \"" + std::to_string(kBase + kNew - 1) + "\"}\n");

    // Queries: points of the clusters, not stored.
    std::vector<Vec> queries;
    for (size_t i = 0; i < kQueries; ++i)
        queries.push_back(gen.next());
    write_fvecs("queries.fvecs", queries);
    write_npy("queries.npy", queries);
    write_text("query.json", json_vec(queries[0]) + "\n");
    std::string all_queries = "[";
    for (size_t i = 0; i < queries.size(); ++i)
        all_queries += (i ? ",\n " : "") + json_vec(queries[i]);
    write_text("queries.json", all_queries + "]\n");

    // Two identical vectors, far from the clusters.
    {
        Vec v(kDim, 50.0f);
        v[0] = 51.5f;
        write_text("dups.jsonl", op_line("dupA", "Inserted", &v) + op_line("dupB", "Inserted", &v));
    }

    // ---- Malformed inputs ----
    write_text("bad_json.jsonl", op_line("m0", "Inserted", &base[0]) +
                                     op_line("m1", "Inserted", &base[1]) +
                                     "{\"id\": \"m2\", \"op\": \"Inserted\", \"vector\": [1, 2\n" +
                                     op_line("m3", "Inserted", &base[3]));
    {
        Vec seven(base[1].begin(), base[1].begin() + 7);
        write_text("bad_len.jsonl", op_line("m0", "Inserted", &base[0]) +
                                        op_line("m1", "Inserted", &seven) +
                                        op_line("m2", "Inserted", &base[2]));
    }
    write_text("bad_op.jsonl", op_line("m0", "Inserted", &base[0]) +
                                   op_line("m1", "Upserted", &base[1]) +
                                   op_line("m2", "Inserted", &base[2]));
    {
        std::vector<Vec> rows(base.begin(), base.begin() + 10);
        rows[5][3] = std::numeric_limits<float>::quiet_NaN();
        write_fvecs("bad_nan.fvecs", rows);
    }
    {
        std::string text;
        const char* ids[] = {"0", "1", "2", "1", "4"};
        for (size_t i = 0; i < 5; ++i)
            text += "{\"id\": \"" + std::string(ids[i]) + "\", \"vector\": " + json_vec(base[i]) +
                    "}\n";
        write_text("dup_id.jsonl", text);
    }
    write_npy("bad_f8.npy", std::vector<Vec>(base.begin(), base.begin() + 10), true);
    write_db("bad_blob.db",
             std::vector<std::pair<std::string, Vec>>(base_items.begin(), base_items.begin() + 10),
             3);
    {
        std::vector<std::pair<std::string, Vec>> items(base_items.begin(), base_items.begin() + 5);
        items[2].first = "\xFF\xFE" "bin";
        write_db("bad_utf8.db", items);
    }
    write_text("conflict.jsonl", op_line("new-1", "Inserted", &fresh[0]) +
                                     op_line("5", "Inserted", &fresh[1]) +
                                     op_line("new-2", "Inserted", &fresh[2]));
    write_text("missing.jsonl", op_line("7", "Deleted", nullptr) +
                                    op_line("no-such-id", "Deleted", nullptr) +
                                    op_line("8", "Deleted", nullptr));
    {
        Vec zero(kDim, 0.0f);
        write_text("zero.jsonl", op_line("z0", "Inserted", &base[0]) +
                                     op_line("z1", "Inserted", &zero) +
                                     op_line("z2", "Inserted", &base[2]));
    }
}

}  // namespace

void write_huge_vector(const std::string& file, uint64_t n) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<uint8_t> page(vstore::format::kHeaderPageBytes);
    if (!f.read(reinterpret_cast<char*>(page.data()), static_cast<std::streamsize>(page.size())))
        throw std::runtime_error("cannot read the header of " + file);
    const auto header = vstore::format::decode_header(page, file);
    const std::vector<float> huge(header.layout.dimension, std::numeric_limits<float>::max());
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(huge.data()),
                                         huge.size() * sizeof(float));
    uint8_t entry[4];
    vstore::format::store_le(entry, vstore::format::vector_checksum(bytes, n));
    f.seekp(static_cast<std::streamoff>(header.layout.vector_offset(n)));
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.seekp(static_cast<std::streamoff>(header.layout.checksum_offset(n)));
    f.write(reinterpret_cast<const char*>(entry), sizeof entry);
    if (!f)
        throw std::runtime_error("cannot write " + file);
}

void lmdb_check(int rc, const char* what) {
    if (rc != 0)
        throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
}

// The catalog of `store`, opened raw, one write transaction given to `body`, committed.
void in_catalog_txn(const std::string& store,
                    const std::function<void(MDB_txn*, MDB_dbi ids, MDB_dbi keys)>& body) {
    MDB_env* env = nullptr;
    lmdb_check(mdb_env_create(&env), "mdb_env_create");
    lmdb_check(mdb_env_set_maxdbs(env, 8), "mdb_env_set_maxdbs");
    lmdb_check(mdb_env_set_mapsize(env, size_t(1) << 30), "mdb_env_set_mapsize");
    lmdb_check(mdb_env_open(env, (store + "/catalog").c_str(), MDB_NOSUBDIR, 0644), "open");
    MDB_txn* txn = nullptr;
    lmdb_check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    MDB_dbi ids, keys;
    lmdb_check(mdb_dbi_open(txn, "ids", 0, &ids), "ids");
    lmdb_check(mdb_dbi_open(txn, "keys", 0, &keys), "keys");
    body(txn, ids, keys);
    lmdb_check(mdb_txn_commit(txn), "commit");
    mdb_env_close(env);
}

MDB_val val_of(const std::string& s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};
}

// The key of short id `id`, from its sealed ids entry.
uint64_t key_of(const std::string& store, MDB_txn* txn, MDB_dbi ids, const std::string& domain,
                const std::string& id) {
    const std::string entry = vstore::format::scoped_key(domain, id);
    MDB_val k = val_of(entry), v;
    lmdb_check(mdb_get(txn, ids, &k, &v), "the id");
    const auto record = vstore::format::unseal_catalog_value(
        store, "ids", entry, {static_cast<const uint8_t*>(v.mv_data), v.mv_size});
    return vstore::format::decode_short_id_record(store, domain, id, record);
}

void rename_id(const std::string& store, const std::string& domain, const std::string& old_id,
               const std::string& new_id) {
    namespace f = vstore::format;
    in_catalog_txn(store, [&](MDB_txn* txn, MDB_dbi ids, MDB_dbi keys) {
        const uint64_t key = key_of(store, txn, ids, domain, old_id);
        const std::string old_key = f::scoped_key(domain, old_id);
        MDB_val k = val_of(old_key);
        lmdb_check(mdb_del(txn, ids, &k, nullptr), "delete the old id");
        const auto put = [&](MDB_dbi dbi, const std::string& entry, const std::string& rec) {
            const std::string value = f::seal_catalog_value(entry, rec);
            MDB_val ek = val_of(entry), ev = val_of(value);
            lmdb_check(mdb_put(txn, dbi, &ek, &ev, 0), "put");
        };
        put(ids, f::scoped_key(domain, new_id), f::encode_id_record(key, new_id));
        put(keys, f::key_record_key(domain, key), f::encode_key_record(new_id));
    });
}

void forget_key(const std::string& store, const std::string& domain, const std::string& id) {
    in_catalog_txn(store, [&](MDB_txn* txn, MDB_dbi ids, MDB_dbi keys) {
        const std::string entry =
            vstore::format::key_record_key(domain, key_of(store, txn, ids, domain, id));
        MDB_val k = val_of(entry);
        lmdb_check(mdb_del(txn, keys, &k, nullptr), "delete the key");
    });
}

int main(int argc, char** argv) {
    if (argc == 6 && std::strcmp(argv[1], "--rename-id") == 0) {
        try {
            rename_id(argv[2], argv[3], argv[4], argv[5]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "vstore-make-inputs: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    if (argc == 5 && std::strcmp(argv[1], "--forget-key") == 0) {
        try {
            forget_key(argv[2], argv[3], argv[4]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "vstore-make-inputs: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    if (argc == 4 && std::strcmp(argv[1], "--huge-vector") == 0) {
        try {
            write_huge_vector(argv[2], std::stoull(argv[3]));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "vstore-make-inputs: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    // A DIR that starts with '-' is an unknown option (say --help), not a folder to fill.
    if (argc < 2 || argc > 3 || argv[1][0] == '-') {
        std::fprintf(stderr, "usage: vstore-make-inputs DIR [SEED]\n");
        return 2;
    }
    dir = argv[1];
    uint64_t seed = 1;
    if (argc == 3) {
        const char* end = argv[2] + std::strlen(argv[2]);
        if (std::from_chars(argv[2], end, seed).ptr != end) {
            std::fprintf(stderr, "vstore-make-inputs: SEED must be a number\n");
            return 2;
        }
    }
    try {
        std::filesystem::create_directories(dir);
        make(seed);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vstore-make-inputs: %s\n", e.what());
        return 1;
    }
    return 0;
}
