// The header page of a vector file (spec/vector-file.md, "Header page"): the fixed header
// (decode_header) and the two commit slots (decode_commit_slot).
#include "fuzz_support.h"
#include "vstore/format/vector_file_format.h"

namespace {

using vstore::format::kCommitSlotBytes;
using vstore::format::kCommitSlotOffsets;

constexpr size_t kHeaderChecksumAt = 336;
constexpr size_t kSlotChecksumAt = 24;

// The fixed header's checksum, and each slot's unless the slot is empty (all zero), which the
// format tells apart from a corrupt slot.
void repair(std::vector<uint8_t>& b) {
    vstore::fuzz::repair_checksum(b, 0, kHeaderChecksumAt, kHeaderChecksumAt);
    for (const uint32_t slot : kCommitSlotOffsets) {
        if (slot + kCommitSlotBytes > b.size())
            continue;
        const std::span<const uint8_t> fields(b.data() + slot, kSlotChecksumAt);
        if (!vstore::format::all_zero(fields))
            vstore::fuzz::repair_checksum(b, slot, slot + kSlotChecksumAt, slot + kSlotChecksumAt);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> page(data, data + size);
    repair(page);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::format::decode_header(page, "fuzz.vecs"); });
    for (const uint32_t slot : kCommitSlotOffsets) {
        if (slot >= page.size())
            continue;
        const std::span<const uint8_t> bytes(page.data() + slot, page.size() - slot);
        vstore::fuzz::expect_success_or_error([&] {
            vstore::format::decode_commit_slot(bytes.first(std::min<size_t>(bytes.size(),
                                                                            kCommitSlotBytes)));
        });
    }
    return 0;
}
