// A walk of every page an LMDB data file's trees reach, checking what LMDB 0.9 trusts without
// checking. LMDB follows page numbers, node offsets and node flags as it finds them: a damaged
// branch pointer or a leaf node flagged as a sub-database ends in SIGSEGV inside LMDB. The
// catalog walks its file once when it opens, before any lookup (spec/catalog.md, "The
// catalog's pages"). Internal to store/; the layout is LMDB 0.9's on a 64-bit little-endian
// machine.
#pragma once

#include <cstdint>
#include <string>

namespace vstore::detail {

struct LmdbTreeWalk {
    uint64_t pages = 0;       // pages in use that the trees reach (overflow pages included)
    uint64_t free_pages = 0;  // pages the free-page tree lists
};

// Walks the trees of the meta page in force of the LMDB map at `map` (`map_bytes` of it
// readable): the free-page tree, the main tree and each database it names. Every page must be
// within the pages the meta page names and reached once, of the kind its place asks for (a
// branch above, a leaf at the tree's depth, an overflow run where a node says), with its own
// number; every node within its page, with only the flags vstore's databases use (a leaf of
// the main tree names a database; no duplicate-sorted data); a free page not in use.
// Error(kCorruption) naming `where` and the page at fault.
LmdbTreeWalk check_lmdb_trees(const uint8_t* map, uint64_t map_bytes, const std::string& where);

}  // namespace vstore::detail
