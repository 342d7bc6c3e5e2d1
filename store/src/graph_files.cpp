#include "graph_files.h"

#include <fcntl.h>
#include <unistd.h>

#include "crash_point.h"
#include "file_io.h"
#include "vstore/format/error.h"

namespace vstore::detail {

namespace {

std::shared_ptr<const FileBytes> map_part(const std::string& dir, const GraphFileRef& ref,
                                          const CommitInfo& c) {
    std::shared_ptr<const FileBytes> bytes;
    try {
        bytes = FileBytes::map(dir + "/" + ref.name);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kNotFound)
            throw;
        throw Error::corruption("graph file '" + ref.name + "' of commit '" + c.commit +
                                "' is missing");
    }
    if (bytes->bytes().size() != ref.bytes) {
        throw Error::corruption("graph file '" + ref.name + "' of commit '" + c.commit + "' has " +
                                std::to_string(bytes->bytes().size()) +
                                " bytes; the catalog recorded " + std::to_string(ref.bytes));
    }
    return bytes;
}

void check_sum(const GraphFileRef& ref, std::span<const uint8_t> bytes, const CommitInfo& c) {
    if (format::graph_file_checksum(bytes) != ref.checksum) {
        throw Error::corruption("graph file '" + ref.name + "' of commit '" + c.commit +
                                "' does not match the checksum the catalog recorded");
    }
}

}  // namespace

std::shared_ptr<const GraphLayers> open_commit_graph(const std::string& dir, const CommitInfo& c) {
    if (c.graph_chain.empty())
        throw Error::corruption("commit '" + c.commit + "' records no graph file");
    GraphLayers::Part root{c.graph_chain.front().name, map_part(dir, c.graph_chain.front(), c)};
    // The version is the file's own: a commit recorded before version 2 names a v1 file.
    if (c.graph_chain.size() == 1 &&
        format::graph_file_version(root.bytes->bytes(), root.name) == format::kGraphFormatV1) {
        check_sum(c.graph_chain.front(), root.bytes->bytes(), c);
        return GraphLayers::from_v1(root.bytes->bytes(), root.name);
    }
    std::vector<GraphLayers::Part> deltas;
    for (size_t i = 1; i < c.graph_chain.size(); ++i) {
        const GraphFileRef& ref = c.graph_chain[i];
        const GraphFileRef& base = c.graph_chain[i - 1];
        auto bytes = map_part(dir, ref, c);
        check_sum(ref, bytes->bytes(), c);  // a delta is read whole anyway
        const format::GraphHeader h = format::parse_graph_header(bytes->bytes(), ref.name);
        if (h.base_file != base.name || h.base_file_bytes != base.bytes ||
            h.base_file_checksum != base.checksum || h.chain_depth != i) {
            throw Error::corruption("graph file '" + ref.name + "' of commit '" + c.commit +
                                    "' builds on '" + h.base_file + "' (" +
                                    std::to_string(h.base_file_bytes) +
                                    " bytes), not on the file before it in the chain, '" +
                                    base.name + "'");
        }
        deltas.push_back({ref.name, std::move(bytes)});
    }
    auto layers = std::make_shared<const GraphLayers>(std::move(root), std::move(deltas));
    const format::GraphHeader& top = layers->header();
    if (top.kind != c.graph_kind || top.live_count != c.live_count ||
        top.tombstone_count != c.tombstone_count) {
        throw Error::corruption("graph file '" + c.graph_file + "' and the catalog disagree on "
                                "the kind or counts of commit '" + c.commit + "'");
    }
    return layers;
}

void verify_commit_graph(const std::string& dir, const CommitInfo& c) {
    if (c.graph_chain.empty())
        throw Error::corruption("commit '" + c.commit + "' records no graph file");
    for (const GraphFileRef& ref : c.graph_chain) {
        const auto bytes = map_part(dir, ref, c);
        check_sum(ref, bytes->bytes(), c);
    }
    const auto root = map_part(dir, c.graph_chain.front(), c);
    const std::string& name = c.graph_chain.front().name;
    if (format::graph_file_version(root->bytes(), name) != format::kGraphFormatV1) {
        const auto layout = format::parse_full_graph(root->bytes(), name);
        format::verify_full_graph(root->bytes(), layout, name);
    }
    open_commit_graph(dir, c);  // a v1 file is decoded whole; deltas are applied
}

void write_graph_file(const std::string& dir, const std::string& name,
                      const std::vector<uint8_t>& bytes) {
    const std::string tmp = dir + "/.tmp-" + std::to_string(::getpid()) + "-" +
                            std::to_string(std::hash<std::string>{}(name));
    const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error::io("cannot create '" + tmp + "'", errno);
    try {
        // Written in two halves so that a crash test can stop between them.
        const size_t half = bytes.size() / 2;
        write_all(fd, bytes.data(), half, 0, tmp);
        crash_point("graph-half-written");
        write_all(fd, bytes.data() + half, bytes.size() - half, half, tmp);
        if (::fsync(fd) != 0)
            throw Error::io("cannot sync '" + tmp + "'", errno);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error::io("cannot rename '" + tmp + "' to '" + name + "'", err);
    }
    crash_point("graph-renamed");
    sync_directory(dir);
}

}  // namespace vstore::detail
