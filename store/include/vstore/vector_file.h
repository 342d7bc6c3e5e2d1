// The vector file of one domain, and LoadedVec handles to its vectors.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vstore/format/error.h"
#include "vstore/format/export.h"
#include "vstore/format/vector_file_format.h"
#include "vstore/records.h"
#include "vstore/verified_vectors.h"

namespace vstore {

class BufferPool;  // pool mode's frames (store/src/buffer_pool.h)
namespace detail {
struct Frame;
}

struct VectorFileOptions {
    ServingMode mode = ServingMode::kMapped;
    // Memory granted to the frames in pool mode; a whole number of pages is used.
    size_t pool_budget_bytes = size_t(256) << 20;
    // Opens for appending. A file has at most one writer at a time, across processes.
    bool writable = false;
    // Mapped mode: each vector is checked against its stored checksum on its first use, and a
    // vector that fails is Error(kCorruption), never an answer (spec/vector-file.md,
    // "Reading"). Off only to measure what the check costs; pool mode always checks.
    bool verify_mapped = true;
};

// A handle to one vector that keeps its page loaded while it lives. Copying and moving are
// cheap; data() is stable for the handle's life. In mapped mode a handle is a pointer and
// costs nothing to copy; in pool mode it pins its frame. A handle must not outlive the
// VectorFile it came from.
class VSTORE_API LoadedVec {
  public:
    LoadedVec() = default;
    LoadedVec(const LoadedVec& other) noexcept;
    LoadedVec(LoadedVec&& other) noexcept;
    LoadedVec& operator=(const LoadedVec& other) noexcept;
    LoadedVec& operator=(LoadedVec&& other) noexcept;
    ~LoadedVec() { release(); }

    const float* data() const noexcept { return data_; }
    uint32_t dimension() const noexcept { return dimension_; }
    std::span<const float> values() const noexcept { return {data_, dimension_}; }
    uint64_t index() const noexcept { return index_; }
    explicit operator bool() const noexcept { return data_ != nullptr; }

  private:
    friend class VectorFile;
    LoadedVec(const float* data, uint32_t dimension, uint64_t index, detail::Frame* frame)
        : data_(data), dimension_(dimension), index_(index), frame_(frame) {}
    void release() noexcept;

    const float* data_ = nullptr;
    uint32_t dimension_ = 0;
    uint64_t index_ = 0;
    detail::Frame* frame_ = nullptr;  // null in mapped mode
};

// What verify() found. ok() is true when nothing is wrong; the torn tail is not a fault.
struct VectorFileReport {
    struct Problem {
        std::string where;  // "header", "commit slot B", "page 12", "vector 4711", ...
        std::string what;
    };
    uint64_t count = 0;          // durable vectors
    uint64_t pages_checked = 0;  // data pages holding durable vectors
    uint64_t vectors_checked = 0;
    uint64_t file_bytes = 0;
    uint64_t tail_bytes = 0;  // bytes past the last durable vector, ignored
    std::vector<Problem> problems;
    bool ok() const { return problems.empty(); }
};

// A domain's append-only, page-aligned vector file (spec/vector-file.md).
//
// Thread safety: any number of threads may call get() / mapped_vector() while one thread
// appends. Vector n is readable once the append() that wrote it has returned.
class VSTORE_API VectorFile {
  public:
    // Creates `path` for `domain` (which must pass format::validate_name) and opens it. Throws
    // Error(kConflict) if the file exists. The file is durable, and its directory entry too,
    // when this returns.
    static std::unique_ptr<VectorFile> create(const std::string& path, const std::string& domain,
                                              uint32_t dimension, VectorFileOptions options = {});
    // Opens an existing file. A torn tail left by a crash mid-append is ignored, and cut away
    // when opening for writing.
    static std::unique_ptr<VectorFile> open(const std::string& path,
                                            VectorFileOptions options = {});
    ~VectorFile();
    VectorFile(const VectorFile&) = delete;
    VectorFile& operator=(const VectorFile&) = delete;

    const std::string& path() const { return path_; }
    const format::VectorFileHeader& header() const { return header_; }
    const format::VectorLayout& layout() const { return layout_; }
    const std::string& domain() const { return header_.domain; }
    uint32_t dimension() const { return layout_.dimension; }
    ServingMode mode() const { return options_.mode; }
    // Durable vectors, as far as this handle knows (see refresh()).
    uint64_t size() const { return count_.load(std::memory_order_acquire); }
    // Sequence number of the commit slot in force (0 before the first append).
    uint64_t commit_sequence() const;

    // Appends vectors.size() / dimension() vectors and makes them durable before returning.
    // Returns the index of the first. Throws Error(kInvalidArgument) for a length that is not
    // a multiple of the dimension or a NaN / infinite component (nothing is written then).
    uint64_t append(std::span<const float> vectors);

    // A handle to vector n. Throws Error(kNotFound) when n >= size(); Error(kCorruption) for
    // a vector that fails its checksum (mapped mode) or a page that does (pool mode); in pool
    // mode, Error(kExhausted) when every frame is pinned.
    LoadedVec get(uint64_t n) const;

    // The hot path of mapped mode: vector n with no locks or reference counts, checked on its
    // first use (Error(kCorruption) if it fails; see verifies_mapped()).
    // Preconditions: mode() == kMapped and n < size().
    const float* mapped_vector(uint64_t n) const {
        const float* v = reinterpret_cast<const float*>(map_base() + layout_.vector_offset(n));
        if (verify_mapped_) {
            VerifiedVectors::Word* bits = verified_.words();
            if (!VerifiedVectors::test(bits, n)) [[unlikely]]
                check_mapped(n, bits);
        }
        return v;
    }

    // The pieces of mapped_vector() for a loop over many vectors (graph_search.cpp), which
    // takes them once: the base of the newest mapping, whether vectors are checked, the
    // verified bitmap covering every vector below size(), and the check of a vector whose bit
    // is not set yet, which sets it in `bits` or throws Error(kCorruption).
    const uint8_t* map_base() const noexcept { return map_base_.load(std::memory_order_acquire); }
    bool verifies_mapped() const noexcept { return verify_mapped_; }
    VerifiedVectors::Word* verified_bits() const noexcept { return verified_.words(); }
    void check_mapped(uint64_t n, VerifiedVectors::Word* bits) const;

    // The mapping is advised random access, which suits graph searches: a page fault reads its
    // page, not the 128 KiB around it. While a ScanScope lives, faults read around again, as a
    // scan through many vectors in file order wants. Scopes may overlap across threads; the
    // advice is only a hint, so a search during a scan is merely served differently.
    // No effect in pool mode.
    class ScanScope {
      public:
        ScanScope(ScanScope&& other) noexcept : file_(std::exchange(other.file_, nullptr)) {}
        ScanScope& operator=(ScanScope&&) = delete;
        ~ScanScope();

      private:
        friend class VectorFile;
        explicit ScanScope(const VectorFile* file) : file_(file) {}
        const VectorFile* file_;  // null in pool mode
    };
    [[nodiscard]] ScanScope scan_scope() const;

    // Re-reads the commit slots to see vectors another process appended.
    void refresh();

    // Reads every byte that holds meaning and checks it against its checksum.
    VectorFileReport verify() const;

    BufferPoolStats pool_stats() const;
    // Pool mode only: pages in unpinned frames, next to be evicted first.
    std::vector<uint64_t> pool_eviction_order() const;

  private:
    VectorFile(std::string path, int fd, format::VectorFileHeader header,
               VectorFileOptions options);
    void load_commit_state();
    void cut_torn_tail();
    // Mapped mode: maps and sizes the verified bitmap for `count` vectors, before a count that
    // large is published.
    void make_readable(uint64_t count);
    void ensure_mapped(uint64_t bytes);
    void load_page(uint64_t page, uint32_t from, uint32_t to, uint8_t* dest) const;
    void write_commit_slot(uint64_t count);
    std::string where() const;

    const std::string path_;
    const int fd_;
    const format::VectorFileHeader header_;
    const format::VectorLayout layout_;
    const VectorFileOptions options_;

    std::atomic<uint64_t> count_{0};
    std::atomic<const uint8_t*> map_base_{nullptr};
    const bool verify_mapped_;  // mapped mode with options_.verify_mapped
    // Grown under write_mutex_ before count_ is raised, so it always covers size().
    VerifiedVectors verified_;

    // Guards appends, refresh and the mapping list. Mappings are only added, never removed
    // before close, so a pointer into any of them stays valid for the file's life.
    mutable std::mutex write_mutex_;
    struct Mapping {
        uint8_t* address;
        size_t bytes;
    };
    std::vector<Mapping> mappings_;  // added to under both write_mutex_ and advice_mutex_
    // Guards the number of live ScanScopes and the madvise calls that follow it.
    mutable std::mutex advice_mutex_;
    mutable unsigned active_scans_ = 0;
    void advise_mappings(int advice) const;  // caller holds advice_mutex_
    uint64_t sequence_ = 0;     // of the commit slot in force
    uint32_t active_slot_ = 0;  // index into kCommitSlotOffsets of that slot
    std::unique_ptr<BufferPool> pool_;
};

}  // namespace vstore
