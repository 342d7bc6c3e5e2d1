#include "lmdb_meta.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "file_io.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"

namespace vstore::detail {
namespace {

// LMDB 0.9's page header (16 bytes) and the MDB_meta that follows it on pages 0 and 1.
constexpr size_t kFlagsOffset = 10;          // u16 mp_flags
constexpr uint16_t kMetaPageFlag = 0x08;     // P_META
constexpr size_t kMagicOffset = 16;          // u32 mm_magic
constexpr uint32_t kMagic = 0xBEEFC0DE;      // MDB_MAGIC
constexpr size_t kVersionOffset = 20;        // u32 mm_version
constexpr uint32_t kDataVersion = 1;         // MDB_DATA_VERSION
constexpr size_t kPageSizeOffset = 40;       // u32 mm_dbs[FREE_DBI].md_pad holds the page size
constexpr size_t kFreeDepthOffset = 46;      // u16 mm_dbs[FREE_DBI].md_depth
constexpr size_t kFreeRootOffset = 80;       // u64 mm_dbs[FREE_DBI].md_root
constexpr size_t kMainDepthOffset = 94;      // u16 mm_dbs[MAIN_DBI].md_depth
constexpr size_t kMainRootOffset = 128;      // u64 mm_dbs[MAIN_DBI].md_root
constexpr size_t kLastPageOffset = 136;      // u64 mm_last_pg
constexpr size_t kTransactionIdOffset = 144; // u64 mm_txnid
constexpr size_t kMetaBytes = 152;

std::optional<LmdbMeta> meta_at(int fd, uint64_t offset, const std::string& path) {
    uint8_t page[kMetaBytes];
    if (read_some(fd, page, sizeof page, offset, path) != sizeof page)
        return std::nullopt;
    return parse_lmdb_meta(page);
}

bool page_size_valid(uint32_t s) {
    return s >= 512 && s <= 65536 && (s & (s - 1)) == 0;
}

}  // namespace

std::optional<LmdbMeta> parse_lmdb_meta(const uint8_t* page) {
    if ((format::load_le<uint16_t>(page + kFlagsOffset) & kMetaPageFlag) == 0 ||
        format::load_le<uint32_t>(page + kMagicOffset) != kMagic ||
        format::load_le<uint32_t>(page + kVersionOffset) != kDataVersion)
        return std::nullopt;
    LmdbMeta m;
    m.page_size = format::load_le<uint32_t>(page + kPageSizeOffset);
    m.last_page = format::load_le<uint64_t>(page + kLastPageOffset);
    m.transaction_id = format::load_le<uint64_t>(page + kTransactionIdOffset);
    m.free_root = format::load_le<uint64_t>(page + kFreeRootOffset);
    m.main_root = format::load_le<uint64_t>(page + kMainRootOffset);
    m.free_depth = format::load_le<uint16_t>(page + kFreeDepthOffset);
    m.main_depth = format::load_le<uint16_t>(page + kMainDepthOffset);
    return m;
}

std::optional<LmdbMeta> read_lmdb_meta(int fd, const std::string& path) {
    const auto first = meta_at(fd, 0, path);
    if (!first || !page_size_valid(first->page_size))
        return std::nullopt;
    auto second = meta_at(fd, first->page_size, path);
    if (!second)
        return std::nullopt;
    second->meta_page = 1;
    return second->transaction_id > first->transaction_id ? second : first;
}

void check_lmdb_file_size(const std::string& path, const std::string& where) {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        throw Error::io("cannot open '" + path + "'", errno);
    // The meta pages first, the size second: a writer extends the file before it writes the
    // meta page that names the new pages, so a whole file always passes.
    const auto meta = read_lmdb_meta(fd.get(), path);
    if (!meta)
        return;
    const uint64_t size = file_bytes(fd.get(), path);
    if (meta->last_page >= (uint64_t(1) << 48) || size < meta->bytes_in_use()) {
        throw Error::corruption(where + " is truncated: its meta page (transaction " +
                                std::to_string(meta->transaction_id) + ") uses pages 0 to " +
                                std::to_string(meta->last_page) + " of " +
                                std::to_string(meta->page_size) + " bytes, but the file holds " +
                                std::to_string(size) + " bytes");
    }
}

const uint8_t* lmdb_map_address(const std::string& path, const std::string& where) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        throw Error::io("cannot stat '" + path + "'", errno);
    FILE* maps = std::fopen("/proc/self/maps", "re");
    if (maps == nullptr)
        throw Error::io(where + ": cannot read /proc/self/maps to find its mapping", errno);
    // "start-end perms offset major:minor inode path", numbers in hex but the inode.
    const uint8_t* found = nullptr;
    char line[4096 + 128];
    while (found == nullptr && std::fgets(line, sizeof line, maps) != nullptr) {
        uintptr_t start = 0, end = 0;
        unsigned long long offset = 0, inode = 0;
        unsigned major_id = 0, minor_id = 0;
        char perms[8];
        if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %x:%x %llu", &start, &end,
                        perms, &offset, &major_id, &minor_id, &inode) == 7 &&
            offset == 0 && inode == st.st_ino && major_id == major(st.st_dev) &&
            minor_id == minor(st.st_dev))
            found = reinterpret_cast<const uint8_t*>(start);
    }
    std::fclose(maps);
    if (found == nullptr)
        throw Error::io(where + ": its mapping is not in /proc/self/maps", ENOENT);
    return found;
}

}  // namespace vstore::detail
