// Graph files of format version 1 (spec/graph-file.md, "Version 1 (legacy)"): decode_graph_file.
#include "body_repair.h"
#include "fuzz_support.h"
#include "vstore/format/graph_file.h"

namespace {

// Checksums the decoder checks, recomputed over the mutated bytes: the stored and raw body's,
// then the header's (which covers the body checksums).
void repair(std::vector<uint8_t>& b) {
    const uint64_t header_bytes = vstore::fuzz::u32_at(b, 12);
    vstore::fuzz::repair_body_checksums(b, header_bytes,
                                        {.encoding = 80, .raw_bytes = 88, .raw_checksum = 104,
                                         .stored_checksum = 112});
    if (header_bytes >= 8)
        vstore::fuzz::repair_checksum(b, 0, header_bytes - 8, header_bytes - 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> bytes(data, data + size);
    repair(bytes);
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::format::decode_graph_file(bytes, "fuzz.hnsw"); });
    return 0;
}
