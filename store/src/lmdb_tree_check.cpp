#include "lmdb_tree_check.h"

#include <string_view>
#include <vector>

#include "lmdb_meta.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"

namespace vstore::detail {
namespace {

// LMDB 0.9's page header: u64 mp_pgno, u16 mp_pad, u16 mp_flags, then u16 mp_lower and
// u16 mp_upper (or, for an overflow page, u32 mp_pages), then the u16 node offsets.
constexpr size_t kPageHeaderBytes = 16;
constexpr size_t kPageFlagsOffset = 10, kLowerOffset = 12, kUpperOffset = 14, kPagesOffset = 12;
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04;
// P_DIRTY and P_KEEP are a writer's in-memory marks, cleared before a page is written; LMDB
// ignores them when it reads.
constexpr uint16_t kInMemoryFlags = 0x10 | 0x8000;
// A node: u16 mn_lo, u16 mn_hi, u16 mn_flags, u16 mn_ksize, the key, then the data (or, for
// F_BIGDATA, the u64 number of its first overflow page). A branch node's child page number is
// mn_lo | mn_hi << 16 | mn_flags << 32.
constexpr size_t kNodeHeaderBytes = 8;
constexpr uint16_t kBigData = 0x01, kSubData = 0x02;
// MDB_db, the record of a database in the main tree: u32 md_pad, u16 md_flags, u16 md_depth,
// four u64 counts, u64 md_root.
constexpr size_t kDbRecordBytes = 48;
constexpr size_t kDbFlagsOffset = 4, kDbDepthOffset = 6, kDbRootOffset = 40;
constexpr uint64_t kNoPage = ~uint64_t(0);  // P_INVALID: an empty tree's root
// LMDB's cursors hold at most 32 pages of a path (CURSOR_STACK).
constexpr uint16_t kMaxDepth = 32;

enum class Tree { kFree, kMain, kDatabase };

class Walker {
  public:
    Walker(const uint8_t* map, const LmdbMeta& meta, const std::string& where)
        : map_(map), meta_(meta), where_(where), reached_(meta.last_page + 1, false) {}

    void tree(uint64_t root, uint16_t depth, Tree kind, const std::string& name) {
        if (root == kNoPage) {
            if (depth != 0)
                fail(root, name + " has no root but a depth of " + std::to_string(depth));
            return;
        }
        if (depth == 0 || depth > kMaxDepth)
            fail(root, name + " has a depth of " + std::to_string(depth));
        node_page(root, 1, depth, kind, name);
    }

    // Every page the free-page tree lists must be one no tree uses.
    void check_free_pages() {
        for (const uint64_t pgno : free_) {
            if (pgno < 2 || pgno > meta_.last_page)
                fail(pgno, "is listed as free but is not a page of the file");
            if (reached_[pgno])
                fail(pgno, "is listed as free but is in use");
        }
    }

    LmdbTreeWalk figures() const { return {pages_, free_.size()}; }

  private:
    [[noreturn]] void fail(uint64_t pgno, const std::string& what) const {
        std::string message = where_;
        message += " is damaged: page ";
        message += pgno == kNoPage ? std::string("(none)") : std::to_string(pgno);
        message += ' ';
        message += what;
        throw Error::corruption(message);
    }

    const uint8_t* reach(uint64_t pgno, const std::string& name) {
        if (pgno < 2 || pgno > meta_.last_page) {
            fail(pgno, "of " + name + " is outside the pages in use (2 to " +
                           std::to_string(meta_.last_page) + ")");
        }
        if (reached_[pgno])
            fail(pgno, "of " + name + " is reached twice");
        reached_[pgno] = true;
        ++pages_;
        const uint8_t* page = map_ + pgno * meta_.page_size;
        if (format::load_le<uint64_t>(page) != pgno)
            fail(pgno, "of " + name + " holds the number " + std::to_string(format::load_le<uint64_t>(page)));
        return page;
    }

    void node_page(uint64_t pgno, uint16_t level, uint16_t depth, Tree kind,
                   const std::string& name) {
        const uint8_t* page = reach(pgno, name);
        const uint32_t psize = meta_.page_size;
        const uint16_t flags = format::load_le<uint16_t>(page + kPageFlagsOffset) & ~kInMemoryFlags;
        const uint16_t want = level < depth ? kBranch : kLeaf;
        if (flags != want) {
            fail(pgno, "of " + name + " has flags " + std::to_string(flags) + " where a " +
                           (want == kBranch ? "branch" : "leaf") + " page belongs");
        }
        const uint16_t lower = format::load_le<uint16_t>(page + kLowerOffset);
        const uint16_t upper = format::load_le<uint16_t>(page + kUpperOffset);
        if (lower < kPageHeaderBytes || (lower - kPageHeaderBytes) % 2 != 0 || lower > upper ||
            upper > psize) {
            fail(pgno, "of " + name + " has its free space at " + std::to_string(lower) + " to " +
                           std::to_string(upper));
        }
        const size_t count = (lower - kPageHeaderBytes) / 2;
        if (flags == kBranch && count == 0)
            fail(pgno, "of " + name + " is a branch page without nodes");
        for (size_t i = 0; i < count; ++i) {
            const uint16_t at = format::load_le<uint16_t>(page + kPageHeaderBytes + 2 * i);
            if (at < upper || size_t(at) + kNodeHeaderBytes > psize)
                fail(pgno, "of " + name + " has node " + std::to_string(i) + " outside its page");
            const uint8_t* node = page + at;
            const uint64_t lo = format::load_le<uint16_t>(node), hi = format::load_le<uint16_t>(node + 2);
            const uint16_t node_flags = format::load_le<uint16_t>(node + 4);
            const uint16_t key_bytes = format::load_le<uint16_t>(node + 6);
            const size_t data_at = size_t(at) + kNodeHeaderBytes + key_bytes;
            if (data_at > psize)
                fail(pgno, "of " + name + " has node " + std::to_string(i) + " past its page");
            if (flags == kBranch) {
                node_page(lo | hi << 16 | uint64_t(node_flags) << 32, level + 1, depth, kind, name);
                continue;
            }
            leaf_node(pgno, page + data_at, psize - data_at, lo | hi << 16, node_flags, i, kind,
                      name,
                      std::string_view(reinterpret_cast<const char*>(node + kNodeHeaderBytes),
                                       key_bytes));
        }
    }

    void leaf_node(uint64_t pgno, const uint8_t* data, size_t room, uint64_t data_bytes,
                   uint16_t node_flags, size_t i, Tree kind, const std::string& name,
                   std::string_view key) {
        // Built only for a message: the walk passes every node of the file.
        const auto node = [&] { return "of " + name + " has node " + std::to_string(i); };
        if (kind == Tree::kMain && node_flags != kSubData) {
            throw Error::corruption(where_ + " is not a vstore catalog: its main database holds '" +
                                    std::string(key) + "', which names no database");
        }
        const uint16_t allowed = kind == Tree::kMain ? kSubData : kBigData;
        if ((node_flags & ~allowed) != 0)
            fail(pgno, node() + " with flags " + std::to_string(node_flags));
        if (node_flags & kBigData) {
            if (room < 8)
                fail(pgno, node() + " past its page");
            data = overflow(format::load_le<uint64_t>(data), data_bytes, name);
        } else if (data_bytes > room) {
            fail(pgno, node() + " past its page");
        }
        if (kind == Tree::kMain) {
            if (data_bytes != kDbRecordBytes)
                fail(pgno, node() + " holding a database record of " + std::to_string(data_bytes) +
                               " bytes");
            if (format::load_le<uint16_t>(data + kDbFlagsOffset) != 0) {
                fail(pgno, node() + ": database '" + std::string(key) + "' has flags " +
                               std::to_string(format::load_le<uint16_t>(data + kDbFlagsOffset)));
            }
            tree(format::load_le<uint64_t>(data + kDbRootOffset), format::load_le<uint16_t>(data + kDbDepthOffset),
                 Tree::kDatabase, "database '" + std::string(key) + "'");
        } else if (kind == Tree::kFree) {
            // A list of page numbers: its length, then that many.
            if (data_bytes < 8 || data_bytes != (format::load_le<uint64_t>(data) + 1) * 8)
                fail(pgno, node() + " holding a free-page list of " + std::to_string(data_bytes) +
                               " bytes");
            for (uint64_t j = 1; j * 8 < data_bytes; ++j)
                free_.push_back(format::load_le<uint64_t>(data + j * 8));
        }
    }

    // A run of overflow pages from `pgno` holding `data_bytes`; returns where they start.
    const uint8_t* overflow(uint64_t pgno, uint64_t data_bytes, const std::string& name) {
        const uint8_t* page = reach(pgno, name);
        if ((format::load_le<uint16_t>(page + kPageFlagsOffset) & ~kInMemoryFlags) != kOverflow)
            fail(pgno, "of " + name + " is not an overflow page, though a node says so");
        const uint64_t run = format::load_le<uint32_t>(page + kPagesOffset);
        if (run == 0 || run > meta_.last_page - pgno + 1 ||
            data_bytes > run * meta_.page_size - kPageHeaderBytes) {
            fail(pgno, "of " + name + " begins a run of " + std::to_string(run) +
                           " overflow pages for " + std::to_string(data_bytes) + " bytes");
        }
        for (uint64_t p = pgno + 1; p < pgno + run; ++p) {
            if (reached_[p])
                fail(p, "of " + name + " is reached twice");
            reached_[p] = true;
            ++pages_;
        }
        return page + kPageHeaderBytes;
    }

    const uint8_t* map_;
    const LmdbMeta meta_;
    const std::string& where_;
    std::vector<bool> reached_;
    std::vector<uint64_t> free_;
    uint64_t pages_ = 0;
};

}  // namespace

LmdbTreeWalk check_lmdb_trees(const uint8_t* map, uint64_t map_bytes, const std::string& where) {
    constexpr size_t kMetaRecordBytes = 152;
    const auto first = map_bytes >= kMetaRecordBytes ? parse_lmdb_meta(map) : std::nullopt;
    if (!first || first->page_size < kMetaRecordBytes ||
        map_bytes < 2 * uint64_t(first->page_size))
        throw Error::corruption(where + " is damaged: its first meta page is not LMDB's");
    auto second = parse_lmdb_meta(map + first->page_size);
    if (!second)
        throw Error::corruption(where + " is damaged: its second meta page is not LMDB's");
    const LmdbMeta meta = second->transaction_id > first->transaction_id ? *second : *first;
    if (meta.page_size != first->page_size || meta.last_page < 1 ||
        meta.last_page >= map_bytes / meta.page_size) {
        throw Error::corruption(where + " is damaged: its meta page (transaction " +
                                std::to_string(meta.transaction_id) + ") names pages to " +
                                std::to_string(meta.last_page) + ", past the file's " +
                                std::to_string(map_bytes) + " bytes");
    }
    Walker walk(map, meta, where);
    walk.tree(meta.free_root, meta.free_depth, Tree::kFree, "the free-page tree");
    walk.tree(meta.main_root, meta.main_depth, Tree::kMain, "the main tree");
    walk.check_free_pages();
    return walk.figures();
}

}  // namespace vstore::detail
