// The id file of a pack (spec/pack.md, "The id file"): decode_id_file.
#include "fuzz_support.h"
#include "vstore/format/id_file.h"

namespace {

constexpr size_t kBodyChecksumAt = 32;
constexpr size_t kHeaderChecksumAt = 40;
constexpr uint64_t kBodySeed = 0x6964626f6479;  // "idbody"

// The body's checksum (seeded), then the header's, which covers it.
void repair(std::vector<uint8_t>& b) {
    vstore::fuzz::repair_checksum(b, vstore::format::kIdFileHeaderBytes, b.size(), kBodyChecksumAt,
                                  kBodySeed);
    vstore::fuzz::repair_checksum(b, 0, kHeaderChecksumAt, kHeaderChecksumAt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> bytes(data, data + size);
    repair(bytes);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::format::decode_id_file(bytes, "fuzz-ids"); });
    return 0;
}
