// Graph file version 2: what both kinds share (the version, kinds, either kind's header).
#include "vstore/format/graph_file_v2.h"

#include "graph_file_v2_header.h"

namespace vstore::format {

using namespace graph_v2;

uint32_t graph_file_version(std::span<const uint8_t> bytes, std::string_view file) {
    const Faults f(file, bytes.size());
    if (bytes.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes.data()))
        throw Error::corruption(f.where() + " is not a graph file (bad magic)");
    if (bytes.size() < kOffVersion + 4)
        throw f.truncated("the version field ends at byte 12");
    return load_le<uint32_t>(bytes.data() + kOffVersion);
}

std::string_view graph_kind_name(GraphKind kind) {
    switch (kind) {
        case GraphKind::kFull:
            return "full";
        case GraphKind::kDelta:
            return "delta";
    }
    return "unknown";
}

GraphHeader parse_graph_header(std::span<const uint8_t> bytes, std::string_view file) {
    return parse_header(bytes, file, std::nullopt).h;
}

}  // namespace vstore::format
