// Full graph files of format version 2 (spec/graph-file.md, "Full files"): parse_full_graph
// then verify_full_graph, as the store opens and verifies a commit's graph.
#include "fuzz_support.h"
#include "vstore/format/graph_file_v2.h"

namespace {

constexpr size_t kSectionTable = 152;
constexpr size_t kSectionEntry = 24;

// Every section's checksum over the bytes its table entry names, then the header's.
void repair(std::vector<uint8_t>& b) {
    for (size_t s = 0; s < vstore::format::kFullSectionCount; ++s) {
        const size_t entry = kSectionTable + kSectionEntry * s;
        const uint64_t offset = vstore::fuzz::u64_at(b, entry);
        const uint64_t bytes = vstore::fuzz::u64_at(b, entry + 8);
        if (offset <= b.size() && bytes <= b.size() - offset)
            vstore::fuzz::repair_checksum(b, offset, offset + bytes, entry + 16);
    }
    const uint64_t header_bytes = vstore::fuzz::u32_at(b, 16);
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
    vstore::fuzz::expect_success_or_error([&] {
        const auto layout = vstore::format::parse_full_graph(bytes, "fuzz.hnsw");
        vstore::format::verify_full_graph(bytes, layout, "fuzz.hnsw");
    });
    return 0;
}
