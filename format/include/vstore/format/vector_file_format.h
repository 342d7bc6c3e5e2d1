// The bytes of a vector file (spec/vector-file.md): a 4 KiB header page, then groups of one
// checksum page followed by data pages. Knows nothing of mapping, pools or threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include "vstore/format/export.h"

namespace vstore::format {

inline constexpr std::array<uint8_t, 8> kVectorFileMagic = {'V', 'S', 'T', 'O', 'R', 'E', 'V', 'F'};
inline constexpr uint32_t kVectorFileVersion = 1;
inline constexpr uint32_t kOsPageBytes = 4096;
inline constexpr uint32_t kHeaderPageBytes = 4096;
// Bytes of the fixed header at the start of the header page, its checksum included.
inline constexpr uint32_t kFixedHeaderBytes = 344;
inline constexpr uint32_t kMaxDomainBytes = 255;
// Each vector has a 4-byte checksum in its group's checksum page.
inline constexpr uint32_t kChecksumPageBytes = 4096;
inline constexpr uint32_t kChecksumsPerPage = kChecksumPageBytes / 4;
// The two commit slots live in different 512-byte sectors of the header page, so writing one
// can never tear the other.
inline constexpr std::array<uint32_t, 2> kCommitSlotOffsets = {1024, 2048};
inline constexpr uint32_t kCommitSlotBytes = 32;
inline constexpr std::array<uint8_t, 4> kCommitSlotMagic = {'V', 'S', 'C', 'S'};
inline constexpr uint32_t kMaxDimension = 65536;
// The page-size search looks at this many candidate sizes above the smallest that holds one
// vector, and takes the first whose padding is at most kTargetWaste of the page.
inline constexpr uint32_t kPageSizeCandidates = 64;
inline constexpr double kTargetWaste = 0.01;

enum class ElementType : uint32_t { kFloat32 = 1 };

// Where every vector and checksum of a file lies. All offsets are from the start of the file.
struct VSTORE_API VectorLayout {
    uint32_t dimension = 0;
    uint32_t vector_bytes = 0;       // dimension * 4
    uint32_t page_bytes = 0;         // a whole multiple of kOsPageBytes
    uint32_t vectors_per_page = 0;   // floor(page_bytes / vector_bytes)
    uint32_t pages_per_group = 0;    // max(1, floor(kChecksumsPerPage / vectors_per_page))
    uint32_t vectors_per_group = 0;  // pages_per_group * vectors_per_page
    uint64_t group_bytes = 0;        // kChecksumPageBytes + pages_per_group * page_bytes

    // The layout vstore writes for a dimension. Throws Error(kInvalidArgument) for dimension 0
    // or above kMaxDimension.
    static VectorLayout for_dimension(uint32_t dimension);
    // Rebuilds a layout from header fields; nullopt when they are inconsistent.
    static std::optional<VectorLayout> from_fields(uint32_t dimension, uint32_t page_bytes,
                                                   uint32_t pages_per_group);

    uint64_t page_of(uint64_t n) const { return n / vectors_per_page; }
    uint32_t slot_of(uint64_t n) const { return static_cast<uint32_t>(n % vectors_per_page); }
    uint64_t page_offset(uint64_t page) const {
        const uint64_t group = page / pages_per_group;
        return kHeaderPageBytes + group * group_bytes + kChecksumPageBytes +
               (page - group * pages_per_group) * page_bytes;
    }
    uint64_t vector_offset(uint64_t n) const {
        const uint64_t group = n / vectors_per_group;
        const uint64_t in_group = n - group * vectors_per_group;
        const uint64_t page = in_group / vectors_per_page;
        const uint64_t slot = in_group - page * vectors_per_page;
        return kHeaderPageBytes + group * group_bytes + kChecksumPageBytes + page * page_bytes +
               slot * vector_bytes;
    }
    uint64_t checksum_offset(uint64_t n) const {
        const uint64_t group = n / vectors_per_group;
        return kHeaderPageBytes + group * group_bytes + (n - group * vectors_per_group) * 4;
    }
    // Bytes a file holding `count` vectors needs: up to the end of the last vector.
    uint64_t file_bytes_for(uint64_t count) const {
        return count == 0 ? kHeaderPageBytes : vector_offset(count - 1) + vector_bytes;
    }
    // Number of pages that hold at least one of `count` vectors.
    uint64_t pages_for(uint64_t count) const {
        return (count + vectors_per_page - 1) / vectors_per_page;
    }
    uint32_t padding_bytes() const { return page_bytes - vectors_per_page * vector_bytes; }
    // Padding as a fraction of a data page.
    double page_waste() const { return double(padding_bytes()) / page_bytes; }
    // Everything that is not vector bytes (padding and checksum page) as a fraction of a full
    // group.
    double group_overhead() const {
        return 1.0 - double(uint64_t(vectors_per_group) * vector_bytes) / double(group_bytes);
    }
};

// The immutable part of the header page.
struct VectorFileHeader {
    uint32_t version = kVectorFileVersion;
    ElementType element_type = ElementType::kFloat32;
    VectorLayout layout;
    uint64_t created_unix_ms = 0;
    uint64_t file_id = 0;  // random, to tell files of the same domain apart
    std::string domain;    // at most kMaxDomainBytes
};

// One of the two commit records; the valid one with the higher sequence says how many vectors
// are durable.
struct CommitSlot {
    uint64_t sequence = 0;
    uint64_t count = 0;
};

enum class SlotState { kEmpty, kValid, kCorrupt };

struct DecodedSlot {
    SlotState state = SlotState::kEmpty;
    CommitSlot slot;
};

// The whole header page, commit slots empty.
VSTORE_API std::array<uint8_t, kHeaderPageBytes> encode_header_page(const VectorFileHeader& header);

// Decodes and validates the fixed header. `file` names the file in error messages. Throws
// Error(kCorruption) when the magic, checksum or fields are wrong; Error(kInvalidArgument)
// for a format version this build does not read.
VSTORE_API VectorFileHeader decode_header(std::span<const uint8_t> header_page, std::string_view file);

VSTORE_API std::array<uint8_t, kCommitSlotBytes> encode_commit_slot(const CommitSlot& slot);
// kEmpty when every byte is zero; kCorrupt when the magic or checksum is wrong.
VSTORE_API DecodedSlot decode_commit_slot(std::span<const uint8_t> bytes);

// Checksum of vector n: the low 32 bits of XXH3-64 of its bytes, seeded with n, so that a
// vector found at the wrong index fails too.
VSTORE_API uint32_t vector_checksum(std::span<const uint8_t> vector_bytes, uint64_t n);

}  // namespace vstore::format
