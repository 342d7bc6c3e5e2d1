#include "vstore/format/vector_file_format.h"

#include <algorithm>

#include "vstore/format/bytes.h"
#include "vstore/format/error.h"

namespace vstore::format {
namespace {

// Field offsets of the fixed header (spec/vector-file.md, "Header page").
constexpr uint32_t kOffMagic = 0;
constexpr uint32_t kOffVersion = 8;
constexpr uint32_t kOffFixedBytes = 12;
constexpr uint32_t kOffElementType = 16;
constexpr uint32_t kOffDimension = 20;
constexpr uint32_t kOffVectorBytes = 24;
constexpr uint32_t kOffPageBytes = 28;
constexpr uint32_t kOffVectorsPerPage = 32;
constexpr uint32_t kOffPagesPerGroup = 36;
constexpr uint32_t kOffVectorsPerGroup = 40;
constexpr uint32_t kOffChecksumPageBytes = 44;
constexpr uint32_t kOffDataOffset = 48;
constexpr uint32_t kOffCreated = 56;
constexpr uint32_t kOffFileId = 64;
constexpr uint32_t kOffDomainLength = 72;
constexpr uint32_t kOffDomain = 76;
constexpr uint32_t kOffReserved = 332;
constexpr uint32_t kOffHeaderChecksum = 336;
static_assert(kOffDomain + kMaxDomainBytes + 1 == kOffReserved);
static_assert(kOffHeaderChecksum + 8 == kFixedHeaderBytes);

VectorLayout layout_with_page(uint32_t dimension, uint32_t page_bytes, uint32_t pages_per_group) {
    VectorLayout l;
    l.dimension = dimension;
    l.vector_bytes = dimension * 4;
    l.page_bytes = page_bytes;
    l.vectors_per_page = page_bytes / l.vector_bytes;
    l.pages_per_group = pages_per_group;
    l.vectors_per_group = pages_per_group * l.vectors_per_page;
    l.group_bytes = kChecksumPageBytes + uint64_t(pages_per_group) * page_bytes;
    return l;
}

uint32_t default_pages_per_group(uint32_t vectors_per_page) {
    return std::max<uint32_t>(1, kChecksumsPerPage / vectors_per_page);
}

}  // namespace

VectorLayout VectorLayout::for_dimension(uint32_t dimension) {
    if (dimension == 0 || dimension > kMaxDimension) {
        throw Error::invalid_argument("dimension " + std::to_string(dimension) + " is outside 1.." +
                                      std::to_string(kMaxDimension));
    }
    const uint32_t vector_bytes = dimension * 4;
    const uint32_t min_pages = (vector_bytes + kOsPageBytes - 1) / kOsPageBytes;
    uint32_t best_pages = min_pages;
    double best_waste = 2.0;
    for (uint32_t pages = min_pages; pages < min_pages + kPageSizeCandidates; ++pages) {
        const uint32_t page = pages * kOsPageBytes;
        const double waste = double(page % vector_bytes) / page;
        if (waste < best_waste) {
            best_waste = waste;
            best_pages = pages;
        }
        if (waste <= kTargetWaste)
            break;
    }
    const uint32_t page_bytes = best_pages * kOsPageBytes;
    return layout_with_page(dimension, page_bytes,
                            default_pages_per_group(page_bytes / vector_bytes));
}

std::optional<VectorLayout> VectorLayout::from_fields(uint32_t dimension, uint32_t page_bytes,
                                                      uint32_t pages_per_group) {
    if (dimension == 0 || dimension > kMaxDimension)
        return std::nullopt;
    if (page_bytes == 0 || page_bytes % kOsPageBytes != 0)
        return std::nullopt;
    if (page_bytes < dimension * 4)
        return std::nullopt;
    // A page larger than the search could have chosen means the field is damaged.
    if (page_bytes / kOsPageBytes >=
        (dimension * 4 + kOsPageBytes - 1) / kOsPageBytes + kPageSizeCandidates) {
        return std::nullopt;
    }
    const uint32_t vpp = page_bytes / (dimension * 4);
    // Every vector of a group needs an entry in the group's one checksum page.
    if (vpp > kChecksumsPerPage)
        return std::nullopt;
    if (pages_per_group != default_pages_per_group(vpp))
        return std::nullopt;
    return layout_with_page(dimension, page_bytes, pages_per_group);
}

std::array<uint8_t, kHeaderPageBytes> encode_header_page(const VectorFileHeader& h) {
    if (h.domain.size() > kMaxDomainBytes) {
        throw Error::invalid_argument("domain name of " + std::to_string(h.domain.size()) +
                                      " bytes does not fit a vector file header");
    }
    std::array<uint8_t, kHeaderPageBytes> page{};
    uint8_t* p = page.data();
    std::copy(kVectorFileMagic.begin(), kVectorFileMagic.end(), p + kOffMagic);
    store_le<uint32_t>(p + kOffVersion, h.version);
    store_le<uint32_t>(p + kOffFixedBytes, kFixedHeaderBytes);
    store_le<uint32_t>(p + kOffElementType, static_cast<uint32_t>(h.element_type));
    store_le<uint32_t>(p + kOffDimension, h.layout.dimension);
    store_le<uint32_t>(p + kOffVectorBytes, h.layout.vector_bytes);
    store_le<uint32_t>(p + kOffPageBytes, h.layout.page_bytes);
    store_le<uint32_t>(p + kOffVectorsPerPage, h.layout.vectors_per_page);
    store_le<uint32_t>(p + kOffPagesPerGroup, h.layout.pages_per_group);
    store_le<uint32_t>(p + kOffVectorsPerGroup, h.layout.vectors_per_group);
    store_le<uint32_t>(p + kOffChecksumPageBytes, kChecksumPageBytes);
    store_le<uint64_t>(p + kOffDataOffset, kHeaderPageBytes);
    store_le<uint64_t>(p + kOffCreated, h.created_unix_ms);
    store_le<uint64_t>(p + kOffFileId, h.file_id);
    store_le<uint32_t>(p + kOffDomainLength, static_cast<uint32_t>(h.domain.size()));
    std::copy(h.domain.begin(), h.domain.end(), p + kOffDomain);
    store_le<uint64_t>(p + kOffHeaderChecksum, checksum64({p, kOffHeaderChecksum}));
    return page;
}

VectorFileHeader decode_header(std::span<const uint8_t> page, std::string_view file) {
    const std::string where = "vector file '" + std::string(file) + "'";
    if (page.size() < kFixedHeaderBytes ||
        !std::equal(kVectorFileMagic.begin(), kVectorFileMagic.end(), page.begin())) {
        throw Error::corruption(where + " is not a vector file (bad magic)");
    }
    const uint8_t* p = page.data();
    // The version comes before the checksum: a later version may lay out the rest differently.
    VectorFileHeader h;
    h.version = load_le<uint32_t>(p + kOffVersion);
    if (h.version != kVectorFileVersion) {
        throw Error::version_mismatch(where, h.version,
                                      "version " + std::to_string(kVectorFileVersion));
    }
    const uint64_t stored = load_le<uint64_t>(p + kOffHeaderChecksum);
    if (stored != checksum64({p, kOffHeaderChecksum})) {
        throw Error::corruption(where + ": header checksum mismatch");
    }
    auto bad_field = [&](const char* field) {
        return Error::corruption(where + ": header field " + field + " is inconsistent");
    };
    if (load_le<uint32_t>(p + kOffFixedBytes) != kFixedHeaderBytes)
        throw bad_field("header_bytes");
    if (load_le<uint32_t>(p + kOffElementType) != static_cast<uint32_t>(ElementType::kFloat32)) {
        throw bad_field("element_type");
    }
    const auto layout = VectorLayout::from_fields(load_le<uint32_t>(p + kOffDimension),
                                                  load_le<uint32_t>(p + kOffPageBytes),
                                                  load_le<uint32_t>(p + kOffPagesPerGroup));
    if (!layout)
        throw bad_field("dimension/page_bytes/pages_per_group");
    h.layout = *layout;
    if (load_le<uint32_t>(p + kOffVectorBytes) != layout->vector_bytes) {
        throw bad_field("vector_bytes");
    }
    if (load_le<uint32_t>(p + kOffVectorsPerPage) != layout->vectors_per_page) {
        throw bad_field("vectors_per_page");
    }
    if (load_le<uint32_t>(p + kOffVectorsPerGroup) != layout->vectors_per_group) {
        throw bad_field("vectors_per_group");
    }
    if (load_le<uint32_t>(p + kOffChecksumPageBytes) != kChecksumPageBytes) {
        throw bad_field("checksum_page_bytes");
    }
    if (load_le<uint64_t>(p + kOffDataOffset) != kHeaderPageBytes)
        throw bad_field("data_offset");
    h.created_unix_ms = load_le<uint64_t>(p + kOffCreated);
    h.file_id = load_le<uint64_t>(p + kOffFileId);
    const uint32_t domain_length = load_le<uint32_t>(p + kOffDomainLength);
    if (domain_length > kMaxDomainBytes)
        throw bad_field("domain_length");
    h.domain.assign(reinterpret_cast<const char*>(p + kOffDomain), domain_length);
    return h;
}

std::array<uint8_t, kCommitSlotBytes> encode_commit_slot(const CommitSlot& slot) {
    std::array<uint8_t, kCommitSlotBytes> b{};
    std::copy(kCommitSlotMagic.begin(), kCommitSlotMagic.end(), b.begin());
    store_le<uint64_t>(b.data() + 8, slot.sequence);
    store_le<uint64_t>(b.data() + 16, slot.count);
    store_le<uint64_t>(b.data() + 24, checksum64({b.data(), 24}));
    return b;
}

DecodedSlot decode_commit_slot(std::span<const uint8_t> b) {
    DecodedSlot d;
    if (b.size() < kCommitSlotBytes) {
        d.state = SlotState::kCorrupt;
        return d;
    }
    if (all_zero(b.first(kCommitSlotBytes)))
        return d;
    if (!std::equal(kCommitSlotMagic.begin(), kCommitSlotMagic.end(), b.begin()) ||
        load_le<uint32_t>(b.data() + 4) != 0 ||
        load_le<uint64_t>(b.data() + 24) != checksum64(b.first(24))) {
        d.state = SlotState::kCorrupt;
        return d;
    }
    d.state = SlotState::kValid;
    d.slot.sequence = load_le<uint64_t>(b.data() + 8);
    d.slot.count = load_le<uint64_t>(b.data() + 16);
    return d;
}

uint32_t vector_checksum(std::span<const uint8_t> vector_bytes, uint64_t n) {
    return static_cast<uint32_t>(checksum64(vector_bytes, n));
}

}  // namespace vstore::format
