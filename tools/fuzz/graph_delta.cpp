// Delta graph files of format version 2 (spec/graph-file.md, "Delta files"): decode_delta_graph.
#include "body_repair.h"
#include "fuzz_support.h"
#include "vstore/format/graph_file_v2.h"

namespace {

// The stored and raw body's checksums, then the header's.
void repair(std::vector<uint8_t>& b) {
    const uint64_t header_bytes = vstore::fuzz::u32_at(b, 16);
    vstore::fuzz::repair_body_checksums(b, header_bytes,
                                        {.encoding = 152, .raw_bytes = 160, .raw_checksum = 176,
                                         .stored_checksum = 184});
    if (header_bytes >= 8)
        vstore::fuzz::repair_checksum(b, 0, header_bytes - 8, header_bytes - 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> bytes(data, data + size);
    repair(bytes);
    vstore::fuzz::expect_success_or_error([&] {
        vstore::format::parse_graph_header(bytes, "fuzz.hnsw");
    });
    vstore::fuzz::expect_success_or_error(
        [&] { vstore::format::decode_delta_graph(bytes, "fuzz.hnsw"); });
    return 0;
}
