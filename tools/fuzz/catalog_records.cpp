// The catalog's record decoders (format/catalog_records.h, spec/catalog.md): the seal
// (unseal_catalog_value), the format record, domain, commit (versions 1 and 2), id (short and
// long), key and content-index records, each on the entry of the database the input names
// (catalog_input.h), with the seal recomputed over the mutated key and record.
#include <string>
#include <string_view>

#include "catalog_input.h"
#include "fuzz_support.h"
#include "vstore/format/catalog_records.h"

namespace {

namespace format = vstore::format;
using Bytes = std::span<const uint8_t>;

constexpr std::string_view kCatalog = "fuzz/catalog";

// Writes the seal of `key` over value[0 .. size - 8) in the value's last 8 bytes.
void repair_seal(std::string_view key, std::vector<uint8_t>& value) {
    if (value.size() < format::kCatalogSealBytes)
        return;
    const size_t record = value.size() - format::kCatalogSealBytes;
    const std::string sealed = format::seal_catalog_value(
        key, std::string(reinterpret_cast<const char*>(value.data()), record));
    std::memcpy(value.data() + record, sealed.data() + record, format::kCatalogSealBytes);
}

// The record under `key` as the store reads it: the seal checked, then the decoder.
void decode_entry(size_t database, std::string_view key, const std::vector<uint8_t>& value) {
    const std::string_view name = vstore::fuzz::kCatalogDatabases[database];
    if (name == "meta" && key == "format") {
        format::check_catalog_format_record(kCatalog, Bytes(value));
        return;
    }
    const Bytes record = format::unseal_catalog_value(kCatalog, name, key, value);
    const size_t nul = key.find('\0');
    if (name == "domains") {
        format::decode_domain_record(kCatalog, key, record);
        return;
    }
    if (nul == std::string_view::npos)
        return;  // every other database scopes its keys by domain
    const std::string_view domain = key.substr(0, nul);
    const std::string_view rest = key.substr(nul + 1);
    if (name == "commits") {
        format::decode_commit_record(kCatalog, domain, rest, record);
    } else if (name == "ids") {
        if (rest.size() <= format::kShortIdMax)
            format::decode_short_id_record(kCatalog, domain, rest, record);
        else
            format::decode_long_id_record(kCatalog, domain, rest, key, record,
                                          format::external_id_hash);
    } else if (name == "keys") {
        if (rest.size() == 8) {
            uint64_t k = 0;
            for (const char c : rest)
                k = (k << 8) | static_cast<uint8_t>(c);
            format::decode_key_record(kCatalog, domain, k, record);
        }
    } else if (name == "vectors") {
        format::decode_vector_record_key(
            kCatalog, domain, Bytes(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
            record);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3)
        return 0;
    const size_t database = data[0] % vstore::fuzz::kCatalogDatabases.size();
    const size_t key_bytes = std::min<size_t>(data[1] | (size_t(data[2]) << 8), size - 3);
    const std::string key(reinterpret_cast<const char*>(data + 3), key_bytes);
    std::vector<uint8_t> value(data + 3 + key_bytes, data + size);
    // A format record of version 1 is 12 bytes and unsealed; every other value is sealed.
    if (!(key == "format" && value.size() == format::kCatalogFormatRecordBytes))
        repair_seal(key, value);
    vstore::fuzz::expect_success_or_error([&] { decode_entry(database, key, value); });
    return 0;
}
