// What an LMDB data file's meta pages promise about its size, read before LMDB maps the file.
// LMDB trusts its meta pages: it reads any page below the last one they name through its map,
// so a file shorter than that (a truncated catalog) would end in SIGBUS inside LMDB. Internal
// to store/; the layout is LMDB 0.9's on a 64-bit little-endian machine (spec/catalog.md,
// "The data file's size").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vstore::detail {

struct LmdbMeta {
    uint32_t page_size = 0;
    uint64_t last_page = 0;       // the highest page number in use
    uint64_t transaction_id = 0;  // of the meta page in force (the higher of the two)
    uint32_t meta_page = 0;       // which of pages 0 and 1 that is
    // The roots and depths of the free-page tree (FREE_DBI) and the main tree (MAIN_DBI), whose
    // records name the other databases; a root of ~0 is an empty tree.
    uint64_t free_root = 0, main_root = 0;
    uint16_t free_depth = 0, main_depth = 0;

    uint64_t bytes_in_use() const { return (last_page + 1) * page_size; }
};

// The meta record of a page (at least 152 bytes); nullopt when it is not an LMDB meta page.
std::optional<LmdbMeta> parse_lmdb_meta(const uint8_t* page);

// The meta page in force; nullopt when the file does not start with two LMDB meta pages
// (LMDB then refuses it itself, as MDB_INVALID).
std::optional<LmdbMeta> read_lmdb_meta(int fd, const std::string& path);

// Error(kCorruption) naming `where` when the file at `path` is shorter than the pages its
// meta page in force names. A file that is not LMDB's passes (LMDB's own open refuses it).
void check_lmdb_file_size(const std::string& path, const std::string& where);

// Where this process maps the file at `path` from its first byte: the start of the mapping
// LMDB made of its data file (mdb_env_info's me_mapaddr is the address a meta page asks for
// with MDB_FIXEDMAP, null otherwise). Read from /proc/self/maps; Error(kIO) naming `where`
// when no such mapping is there.
const uint8_t* lmdb_map_address(const std::string& path, const std::string& where);

}  // namespace vstore::detail
