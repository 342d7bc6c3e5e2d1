// For tests: raw access to a store's catalog (an LMDB environment, spec/catalog.md) while no
// Catalog has it open.
#pragma once

#include <lmdb.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vstore/format/catalog_records.h"

namespace vstore::test {

// Raw LMDB access to a closed catalog: for checking bytes against spec/catalog.md, and for
// writing records (sealed as vstore seals them) that vstore itself would never write.
class RawEnv {
  public:
    explicit RawEnv(const std::string& path) {
        REQUIRE(mdb_env_create(&env_) == 0);
        REQUIRE(mdb_env_set_maxdbs(env_, 8) == 0);
        REQUIRE(mdb_env_set_mapsize(env_, size_t(1) << 40) == 0);
        REQUIRE(mdb_env_open(env_, path.c_str(), MDB_NOSUBDIR, 0644) == 0);
    }
    ~RawEnv() { mdb_env_close(env_); }

    std::optional<std::string> get(const char* db, const std::string& key) {
        MDB_txn* txn;
        REQUIRE(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
        MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
        std::optional<std::string> out;
        if (mdb_get(txn, dbi, &k, &v) == 0)
            out = std::string(static_cast<const char*>(v.mv_data), v.mv_size);
        mdb_txn_abort(txn);
        return out;
    }

    std::vector<std::string> keys(const char* db) {
        MDB_txn* txn;
        REQUIRE(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
        MDB_cursor* cur;
        REQUIRE(mdb_cursor_open(txn, dbi, &cur) == 0);
        std::vector<std::string> out;
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            out.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        return out;
    }

    // Puts (or with value nullopt deletes) one entry.
    void put(const char* db, const std::string& key, const std::optional<std::string>& value) {
        MDB_txn* txn;
        REQUIRE(mdb_txn_begin(env_, nullptr, 0, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        if (value) {
            MDB_val v{value->size(), const_cast<char*>(value->data())};
            REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
        } else {
            REQUIRE(mdb_del(txn, dbi, &k, nullptr) == 0);
        }
        REQUIRE(mdb_txn_commit(txn) == 0);
    }

    // Puts many records, sealed (format version 2), in one transaction.
    void put_records(const char* db,
                     const std::vector<std::pair<std::string, std::string>>& entries) {
        MDB_txn* txn;
        REQUIRE(mdb_txn_begin(env_, nullptr, 0, &txn) == 0);
        MDB_dbi dbi;
        REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
        for (const auto& [key, record] : entries) {
            const std::string value = format::seal_catalog_value(key, record);
            MDB_val k{key.size(), const_cast<char*>(key.data())};
            MDB_val v{value.size(), const_cast<char*>(value.data())};
            REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
        }
        REQUIRE(mdb_txn_commit(txn) == 0);
    }

    // The record of a sealed entry, its seal checked; nullopt when absent.
    std::optional<std::string> record(const char* db, const std::string& key) {
        const auto value = get(db, key);
        if (!value)
            return std::nullopt;
        REQUIRE(value->size() >= format::kCatalogSealBytes);
        const auto bytes = format::unseal_catalog_value(
            "raw", db, key, {reinterpret_cast<const uint8_t*>(value->data()), value->size()});
        return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }

    void put_record(const char* db, const std::string& key, const std::string& record) {
        put_records(db, {{key, record}});
    }

  private:
    MDB_env* env_ = nullptr;
};

}  // namespace vstore::test
