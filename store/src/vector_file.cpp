#include "vstore/vector_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "buffer_pool.h"
#include "crash_point.h"
#include "file_io.h"
#include "vstore/format/bytes.h"
#include "vstore/format/file_names.h"

namespace vstore {

using detail::file_bytes;
using detail::read_some;
using detail::sync_data;
using detail::write_all;
using format::VectorLayout;

namespace {

// The smallest address range reserved for a mapping; reserving ahead of the file lets it grow
// without remapping, and a larger file gets a new mapping while the old ones stay valid.
constexpr size_t kMinMappingBytes = size_t(64) << 20;

const char* slot_name(size_t i) {
    return i == 0 ? "commit slot A" : "commit slot B";
}

std::span<const uint8_t> as_bytes(const float* v, uint32_t dimension) {
    return {reinterpret_cast<const uint8_t*>(v), size_t(dimension) * 4};
}

}  // namespace

// ---- LoadedVec ---------------------------------------------------------------------------

LoadedVec::LoadedVec(const LoadedVec& o) noexcept
    : data_(o.data_), dimension_(o.dimension_), index_(o.index_), frame_(o.frame_) {
    if (frame_ != nullptr)
        BufferPool::add_pin(frame_);
}

LoadedVec::LoadedVec(LoadedVec&& o) noexcept
    : data_(o.data_), dimension_(o.dimension_), index_(o.index_), frame_(o.frame_) {
    o.data_ = nullptr;
    o.frame_ = nullptr;
}

LoadedVec& LoadedVec::operator=(const LoadedVec& o) noexcept {
    if (this != &o) {
        if (o.frame_ != nullptr)
            BufferPool::add_pin(o.frame_);
        release();
        data_ = o.data_;
        dimension_ = o.dimension_;
        index_ = o.index_;
        frame_ = o.frame_;
    }
    return *this;
}

LoadedVec& LoadedVec::operator=(LoadedVec&& o) noexcept {
    if (this != &o) {
        release();
        data_ = o.data_;
        dimension_ = o.dimension_;
        index_ = o.index_;
        frame_ = o.frame_;
        o.data_ = nullptr;
        o.frame_ = nullptr;
    }
    return *this;
}

void LoadedVec::release() noexcept {
    if (frame_ != nullptr)
        frame_->pool->unpin(frame_);
    frame_ = nullptr;
    data_ = nullptr;
}

// ---- VectorFile --------------------------------------------------------------------------

VectorFile::VectorFile(std::string path, int fd, format::VectorFileHeader header,
                       VectorFileOptions options)
    : path_(std::move(path)),
      fd_(fd),
      header_(std::move(header)),
      layout_(header_.layout),
      options_(options),
      verify_mapped_(options.mode == ServingMode::kMapped && options.verify_mapped) {}

VectorFile::~VectorFile() {
    pool_.reset();
    for (const Mapping& m : mappings_)
        ::munmap(m.address, m.bytes);
    ::close(fd_);
}

std::string VectorFile::where() const {
    return "vector file '" + path_ + "'";
}

std::unique_ptr<VectorFile> VectorFile::create(const std::string& path, const std::string& domain,
                                               uint32_t dimension, VectorFileOptions options) {
    format::validate_name("domain", domain);
    format::VectorFileHeader header;
    header.layout = VectorLayout::for_dimension(dimension);
    header.domain = domain;
    header.created_unix_ms =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    header.file_id = std::random_device{}() * (uint64_t(1) << 32) ^ std::random_device{}();
    const auto page = format::encode_header_page(header);

    // Written under a temporary name and linked into place, so that `path` either does not
    // exist or holds a complete header, and an existing file is never overwritten.
    // The temporary name starts with '.', which no encoded name does, and is short whatever
    // the domain's length.
    const std::filesystem::path final_path(path);
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".tmp-%d-%016llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(header.file_id));
    const std::string tmp = (final_path.parent_path() / suffix).string();
    const int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error::io("cannot create '" + tmp + "'", errno);
    try {
        write_all(fd, page.data(), page.size(), 0, tmp);
        if (::fsync(fd) != 0)
            throw Error::io("cannot sync '" + tmp + "'", errno);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::link(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        if (err == EEXIST)
            throw Error::conflict("vector file '" + path + "' already exists");
        throw Error::io("cannot create vector file '" + path + "'", err);
    }
    ::unlink(tmp.c_str());
    detail::sync_directory(std::filesystem::path(path).parent_path().string());
    return open(path, options);
}

std::unique_ptr<VectorFile> VectorFile::open(const std::string& path, VectorFileOptions options) {
    const int fd = ::open(path.c_str(), (options.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            throw Error::not_found("vector file '" + path + "' does not exist");
        throw Error::io("cannot open vector file '" + path + "'", errno);
    }
    std::unique_ptr<VectorFile> file;
    try {
        if (options.writable && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) {
                throw Error::conflict("vector file '" + path +
                                      "' is already open for writing elsewhere");
            }
            throw Error::io("cannot lock vector file '" + path + "'", errno);
        }
        std::array<uint8_t, format::kHeaderPageBytes> page{};
        const size_t got = read_some(fd, page.data(), page.size(), 0, path);
        if (got < format::kVectorFileMagic.size() ||
            !std::equal(format::kVectorFileMagic.begin(), format::kVectorFileMagic.end(),
                        page.begin())) {
            throw Error::corruption("'" + path + "' is not a vector file (bad magic)");
        }
        if (got < page.size()) {
            throw Error::corruption(
                "vector file '" + path + "' is truncated: " + std::to_string(got) +
                " bytes, less than its " + std::to_string(page.size()) + "-byte header page");
        }
        auto header = format::decode_header(page, path);
        file.reset(new VectorFile(path, fd, std::move(header), options));
    } catch (...) {
        if (!file)
            ::close(fd);
        throw;
    }
    file->load_commit_state();
    if (options.writable)
        file->cut_torn_tail();
    if (options.mode == ServingMode::kPool) {
        VectorFile* self = file.get();
        file->pool_ = std::make_unique<BufferPool>(
            options.pool_budget_bytes, file->layout_.page_bytes,
            [self](uint64_t p, uint32_t from, uint32_t to, uint8_t* dest) {
                self->load_page(p, from, to, dest);
            });
    }
    return file;
}

void VectorFile::load_commit_state() {
    std::array<format::DecodedSlot, 2> slots;
    for (size_t i = 0; i < 2; ++i) {
        std::array<uint8_t, format::kCommitSlotBytes> raw{};
        if (read_some(fd_, raw.data(), raw.size(), format::kCommitSlotOffsets[i], path_) !=
            raw.size()) {
            throw Error::corruption(where() + ": header page is truncated");
        }
        slots[i] = format::decode_commit_slot(raw);
        // Another process may be writing this slot as we read it: look again before judging.
        for (int retry = 0; retry < 3 && slots[i].state == format::SlotState::kCorrupt; ++retry) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            read_some(fd_, raw.data(), raw.size(), format::kCommitSlotOffsets[i], path_);
            slots[i] = format::decode_commit_slot(raw);
        }
        // A slot is a single 32-byte write inside one sector, which storage does not tear; a
        // slot that fails its checksum is damage, and falling back to the other slot could
        // silently drop committed vectors.
        if (slots[i].state == format::SlotState::kCorrupt) {
            throw Error::corruption(where() + ": " + slot_name(i) + " fails its checksum");
        }
    }
    uint64_t count = 0;
    sequence_ = 0;
    for (uint32_t i = 0; i < 2; ++i) {
        if (slots[i].state == format::SlotState::kValid && slots[i].slot.sequence > sequence_) {
            sequence_ = slots[i].slot.sequence;
            count = slots[i].slot.count;
            active_slot_ = i;
        }
    }
    const uint64_t needed = layout_.file_bytes_for(count);
    const uint64_t have = file_bytes(fd_, path_);
    if (have < needed) {
        throw Error::corruption(where() + " is truncated: " + std::to_string(have) +
                                " bytes, but its " + std::to_string(count) +
                                " committed vectors need " + std::to_string(needed));
    }
    if (count < count_.load(std::memory_order_relaxed)) {
        throw Error::corruption(where() + ": committed count went back from " +
                                std::to_string(count_.load()) + " to " + std::to_string(count));
    }
    make_readable(count);
    count_.store(count, std::memory_order_release);
}

void VectorFile::cut_torn_tail() {
    const uint64_t count = size();
    const uint64_t needed = layout_.file_bytes_for(count);
    if (file_bytes(fd_, path_) > needed) {
        if (::ftruncate(fd_, static_cast<off_t>(needed)) != 0) {
            throw Error::io("cannot cut the torn tail of '" + path_ + "'", errno);
        }
    }
    // A torn append may have left checksums of vectors that never became durable in the last
    // group's checksum page; they must read as zero again.
    if (count > 0 && count % layout_.vectors_per_group != 0) {
        const uint64_t from = layout_.checksum_offset(count);
        const uint64_t group_start = from - (count % layout_.vectors_per_group) * 4;
        const std::vector<uint8_t> zeros(group_start + format::kChecksumPageBytes - from, 0);
        write_all(fd_, zeros.data(), zeros.size(), from, path_);
    }
    sync_data(fd_, path_);
}

void VectorFile::make_readable(uint64_t count) {
    if (options_.mode != ServingMode::kMapped)
        return;
    ensure_mapped(layout_.file_bytes_for(count));
    if (verify_mapped_)
        verified_.grow(count);
}

void VectorFile::ensure_mapped(uint64_t bytes) {
    if (!mappings_.empty() && mappings_.back().bytes >= bytes)
        return;
    size_t length = std::max<size_t>(kMinMappingBytes, bytes * 2);
    length = (length + format::kOsPageBytes - 1) / format::kOsPageBytes * format::kOsPageBytes;
    // Mapping past the end of the file is allowed; those pages become readable as the file
    // grows, and no reader touches a page before the append that fills it has returned.
    void* address = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
    if (address == MAP_FAILED)
        throw Error::io("cannot map " + where(), errno);
    std::lock_guard lock(advice_mutex_);
    ::madvise(address, length, active_scans_ == 0 ? MADV_RANDOM : MADV_NORMAL);
    mappings_.push_back({static_cast<uint8_t*>(address), length});
    map_base_.store(static_cast<const uint8_t*>(address), std::memory_order_release);
}

VectorFile::ScanScope VectorFile::scan_scope() const {
    if (options_.mode != ServingMode::kMapped)
        return ScanScope(nullptr);
    std::lock_guard lock(advice_mutex_);
    if (active_scans_++ == 0)
        advise_mappings(MADV_NORMAL);
    return ScanScope(this);
}

VectorFile::ScanScope::~ScanScope() {
    if (file_ == nullptr)
        return;
    std::lock_guard lock(file_->advice_mutex_);
    if (--file_->active_scans_ == 0)
        file_->advise_mappings(MADV_RANDOM);
}

void VectorFile::advise_mappings(int advice) const {
    for (const Mapping& m : mappings_)
        ::madvise(m.address, m.bytes, advice);  // a hint: failure changes nothing but speed
}

uint64_t VectorFile::append(std::span<const float> vectors) {
    std::lock_guard lock(write_mutex_);
    if (!options_.writable) {
        throw Error::invalid_argument(where() + " is open read-only; cannot append");
    }
    const uint32_t dim = layout_.dimension;
    if (vectors.size() % dim != 0) {
        throw Error::invalid_argument(where() + ": " + std::to_string(vectors.size()) +
                                      " values are not a whole number of " + std::to_string(dim) +
                                      "-dimensional vectors");
    }
    const uint64_t m = vectors.size() / dim;
    for (size_t i = 0; i < vectors.size(); ++i) {
        if (!std::isfinite(vectors[i])) {
            throw Error::invalid_argument(where() + ": vector " + std::to_string(i / dim) +
                                          " of the batch has a non-finite component " +
                                          std::to_string(i % dim));
        }
    }
    const uint64_t first = size();
    if (m == 0)
        return first;

    // One write per run of checksums in a group and one per run of vectors in a page; padding
    // is never written, so it stays a hole that reads as zero.
    std::vector<uint32_t> checksums;
    uint64_t n = first;
    while (n < first + m) {
        const uint64_t group_end =
            std::min(first + m, (n / layout_.vectors_per_group + 1) * layout_.vectors_per_group);
        checksums.clear();
        for (uint64_t k = n; k < group_end; ++k) {
            checksums.push_back(
                format::vector_checksum(as_bytes(vectors.data() + (k - first) * dim, dim), k));
        }
        write_all(fd_, checksums.data(), checksums.size() * 4, layout_.checksum_offset(n), path_);
        while (n < group_end) {
            const uint64_t page_end =
                std::min(group_end, (n / layout_.vectors_per_page + 1) * layout_.vectors_per_page);
            write_all(fd_, vectors.data() + (n - first) * dim,
                      (page_end - n) * layout_.vector_bytes, layout_.vector_offset(n), path_);
            n = page_end;
        }
    }
    detail::crash_point("vectors-written");
    sync_data(fd_, path_);
    write_commit_slot(first + m);
    make_readable(first + m);
    count_.store(first + m, std::memory_order_release);
    return first;
}

void VectorFile::write_commit_slot(uint64_t count) {
    // The slot not in force is overwritten, so a crash during the write leaves the other.
    const uint32_t target = sequence_ == 0 ? 0 : 1 - active_slot_;
    const auto bytes = format::encode_commit_slot({sequence_ + 1, count});
    write_all(fd_, bytes.data(), bytes.size(), format::kCommitSlotOffsets[target], path_);
    sync_data(fd_, path_);
    ++sequence_;
    active_slot_ = target;
}

uint64_t VectorFile::commit_sequence() const {
    std::lock_guard lock(write_mutex_);
    return sequence_;
}

void VectorFile::refresh() {
    std::lock_guard lock(write_mutex_);
    load_commit_state();
}

LoadedVec VectorFile::get(uint64_t n) const {
    const uint64_t count = size();
    if (n >= count) {
        throw Error::not_found(where() + ": no vector " + std::to_string(n) + " (it holds " +
                               std::to_string(count) + ")");
    }
    if (options_.mode == ServingMode::kMapped)
        return LoadedVec(mapped_vector(n), layout_.dimension, n, nullptr);
    const uint64_t page = layout_.page_of(n);
    const uint64_t in_page = count - page * layout_.vectors_per_page;
    const uint32_t slots =
        static_cast<uint32_t>(std::min<uint64_t>(layout_.vectors_per_page, in_page));
    detail::Frame* frame = pool_->pin(page, slots);
    const auto* data = reinterpret_cast<const float*>(frame->bytes + size_t(layout_.slot_of(n)) *
                                                                         layout_.vector_bytes);
    return LoadedVec(data, layout_.dimension, n, frame);
}

void VectorFile::check_mapped(uint64_t n, VerifiedVectors::Word* bits) const {
    const uint8_t* base = map_base();
    const uint32_t stored = format::load_le<uint32_t>(base + layout_.checksum_offset(n));
    if (format::vector_checksum({base + layout_.vector_offset(n), layout_.vector_bytes}, n) !=
        stored) {
        const uint64_t group = n / layout_.vectors_per_group;
        const uint64_t first = group * layout_.vectors_per_group;
        const uint64_t last = std::min(first + layout_.vectors_per_group, size()) - 1;
        throw Error::corruption(where() + ": vector " + std::to_string(n) + " (checksum group " +
                                std::to_string(group) + ", vectors " + std::to_string(first) +
                                "-" + std::to_string(last) + ") fails its checksum");
    }
    VerifiedVectors::set(bits, n);
    // A caller holding an older bitmap than the newest sets its bit in both, so that later
    // readers need not check the vector again.
    if (VerifiedVectors::Word* newest = verified_.words(); newest != bits)
        VerifiedVectors::set(newest, n);
}

void VectorFile::load_page(uint64_t page, uint32_t from, uint32_t to, uint8_t* dest) const {
    const uint32_t vb = layout_.vector_bytes;
    const uint64_t offset = layout_.page_offset(page) + uint64_t(from) * vb;
    const size_t bytes = size_t(to - from) * vb;
    if (read_some(fd_, dest + size_t(from) * vb, bytes, offset, path_) != bytes) {
        throw Error::corruption(where() + ": page " + std::to_string(page) +
                                " ends before its committed vectors");
    }
    const uint64_t first = page * layout_.vectors_per_page + from;
    std::vector<uint32_t> stored(to - from);
    if (read_some(fd_, stored.data(), stored.size() * 4, layout_.checksum_offset(first), path_) !=
        stored.size() * 4) {
        throw Error::corruption(where() + ": checksums of page " + std::to_string(page) +
                                " are missing");
    }
    for (uint32_t s = from; s < to; ++s) {
        const uint64_t n = page * layout_.vectors_per_page + s;
        if (format::vector_checksum({dest + size_t(s) * vb, vb}, n) != stored[s - from]) {
            throw Error::corruption(where() + ": vector " + std::to_string(n) + " (page " +
                                    std::to_string(page) + ") fails its checksum");
        }
    }
}

VectorFileReport VectorFile::verify() const {
    VectorFileReport report;
    auto problem = [&](std::string where_, std::string what) {
        report.problems.push_back({std::move(where_), std::move(what)});
    };
    report.count = size();
    report.file_bytes = file_bytes(fd_, path_);

    std::array<uint8_t, format::kHeaderPageBytes> header_page{};
    read_some(fd_, header_page.data(), header_page.size(), 0, path_);
    try {
        format::decode_header(header_page, path_);
    } catch (const Error& e) {
        problem("header", e.message());
    }
    for (size_t i = 0; i < 2; ++i) {
        const auto slot = format::decode_commit_slot(
            std::span(header_page)
                .subspan(format::kCommitSlotOffsets[i], format::kCommitSlotBytes));
        if (slot.state == format::SlotState::kCorrupt)
            problem(slot_name(i), "fails its checksum");
    }
    // Every byte of the header page outside the fixed header and the two slots is zero.
    for (uint32_t off = format::kFixedHeaderBytes; off < format::kHeaderPageBytes; ++off) {
        const bool in_slot = (off >= format::kCommitSlotOffsets[0] &&
                              off < format::kCommitSlotOffsets[0] + format::kCommitSlotBytes) ||
                             (off >= format::kCommitSlotOffsets[1] &&
                              off < format::kCommitSlotOffsets[1] + format::kCommitSlotBytes);
        if (!in_slot && header_page[off] != 0) {
            problem("header", "reserved byte at offset " + std::to_string(off) + " is not zero");
            break;
        }
    }

    const uint64_t needed = layout_.file_bytes_for(report.count);
    if (report.file_bytes < needed) {
        problem("file", "holds " + std::to_string(report.file_bytes) + " bytes; its " +
                            std::to_string(report.count) + " vectors need " +
                            std::to_string(needed));
        return report;
    }
    report.tail_bytes = report.file_bytes - needed;

    const uint32_t vb = layout_.vector_bytes;
    const uint32_t vpp = layout_.vectors_per_page;
    const uint64_t groups =
        (report.count + layout_.vectors_per_group - 1) / layout_.vectors_per_group;
    std::vector<uint8_t> checksum_page(format::kChecksumPageBytes);
    std::vector<uint8_t> page_bytes(layout_.page_bytes);
    for (uint64_t g = 0; g < groups; ++g) {
        const uint64_t group_first = g * layout_.vectors_per_group;
        const uint64_t group_count =
            std::min<uint64_t>(layout_.vectors_per_group, report.count - group_first);
        std::fill(checksum_page.begin(), checksum_page.end(), 0);
        read_some(fd_, checksum_page.data(), checksum_page.size(),
                  layout_.checksum_offset(group_first), path_);
        // Entries vectors_per_group .. 1023 belong to no vector and are never written, not even
        // by a torn append: zero in every group, the last one included. The entries of the last
        // group's vectors >= count may hold a torn append and are not looked at.
        if (!format::all_zero(std::span(checksum_page).subspan(layout_.vectors_per_group * 4))) {
            problem("checksum page of group " + std::to_string(g),
                    "entries past vectors_per_group are not zero");
        }
        for (uint64_t n = group_first; n < group_first + group_count;) {
            const uint64_t page = layout_.page_of(n);
            const uint32_t in_page =
                static_cast<uint32_t>(std::min<uint64_t>(vpp, report.count - page * vpp));
            std::fill(page_bytes.begin(), page_bytes.end(), 0);
            read_some(fd_, page_bytes.data(), page_bytes.size(), layout_.page_offset(page), path_);
            ++report.pages_checked;
            for (uint32_t s = 0; s < in_page; ++s, ++n) {
                const uint32_t stored =
                    format::load_le<uint32_t>(checksum_page.data() + (n - group_first) * 4);
                if (format::vector_checksum({page_bytes.data() + size_t(s) * vb, vb}, n) !=
                    stored) {
                    problem("vector " + std::to_string(n),
                            "fails its checksum (page " + std::to_string(page) + ")");
                }
                ++report.vectors_checked;
            }
            if (in_page == vpp &&
                !format::all_zero(std::span(page_bytes).subspan(size_t(vpp) * vb))) {
                problem("page " + std::to_string(page), "padding is not zero");
            }
        }
    }
    return report;
}

BufferPoolStats VectorFile::pool_stats() const {
    return pool_ ? pool_->stats() : BufferPoolStats{};
}

std::vector<uint64_t> VectorFile::pool_eviction_order() const {
    return pool_ ? pool_->eviction_order() : std::vector<uint64_t>{};
}

}  // namespace vstore
