#include "store_files.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "file_bytes.h"
#include "file_io.h"
#include "graph_layers.h"
#include "vstore/format/bytes.h"
#include "vstore/format/error.h"
#include "vstore/format/file_names.h"

namespace vstore::detail {

namespace fs = std::filesystem;

std::set<std::string> chain_files(const std::vector<CommitInfo>& commits) {
    std::set<std::string> names;
    for (const CommitInfo& c : commits) {
        for (const GraphFileRef& f : c.graph_chain)
            names.insert(f.name);
    }
    return names;
}

std::string first_usable_name(const std::function<std::string(uint32_t)>& name_of,
                              const std::function<bool(const std::string&)>& usable,
                              const std::string& exhausted) {
    for (uint32_t generation = 1;; ++generation) {
        std::string name;
        try {
            name = name_of(generation);
        } catch (const Error& e) {
            if (generation == 1 || e.code() != ErrorCode::kInvalidArgument)
                throw;
            throw Error::conflict(exhausted);
        }
        if (usable(name))
            return name;
    }
}

std::string free_graph_file_name(const std::string& dir, const Catalog& catalog,
                                 const std::string& domain, const std::string& commit) {
    std::set<std::string> named;
    bool named_read = false;
    return first_usable_name(
        [&](uint32_t g) { return format::graph_file_name(domain, commit, g); },
        [&](const std::string& name) {
            std::error_code ec;
            if (!fs::exists(dir + "/" + name, ec))
                return true;
            // An existing file no commit names is a crash's leftover, and is overwritten.
            if (!named_read) {
                named = chain_files(catalog.commits(domain));
                named_read = true;
            }
            return !named.count(name);
        },
        "commit '" + commit + "' of domain '" + domain +
            "': every graph file name it could take is in use by earlier commits of that name");
}

namespace {

uint64_t size_of(const fs::directory_entry& e) {
    std::error_code ec;
    const uint64_t bytes = e.file_size(ec);
    return ec ? 0 : bytes;
}

}  // namespace

std::vector<StoreFile> orphan_files(const std::string& dir, const DomainInfo& domain,
                                    const std::vector<CommitInfo>& commits) {
    const std::set<std::string> named = chain_files(commits);
    std::vector<StoreFile> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file())
            continue;
        const bool graph = format::is_graph_file_of(name, domain.name) && !named.count(name);
        const bool vectors =
            format::is_vector_file_of(name, domain.name) && name != domain.vector_file;
        if (graph || vectors)
            out.push_back({name, size_of(e)});
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

std::vector<StoreFile> temporary_files(const std::string& dir) {
    std::vector<StoreFile> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && name.rfind(".tmp-", 0) == 0)
            out.push_back({name, size_of(e)});
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

CrashLeftovers remove_temporary_files(const std::string& dir) {
    CrashLeftovers removed;
    removed.dir = dir;
    for (const StoreFile& f : temporary_files(dir)) {
        if (::unlink((dir + "/" + f.name).c_str()) == 0) {
            removed.names.push_back(f.name);
            removed.bytes += f.bytes;
        }
    }
    if (!removed.names.empty())
        sync_directory(dir);
    return removed;
}

std::vector<uint64_t> graph_file_vectors(std::span<const uint8_t> bytes, const std::string& name) {
    std::vector<uint64_t> out;
    if (format::graph_file_version(bytes, name) == format::kGraphFormatV1) {
        const auto g = GraphLayers::from_v1(bytes, name);
        out.reserve(g->size());
        for (uint32_t i = 0; i < g->size(); ++i)
            out.push_back(g->vector_index(i));
        return out;
    }
    const format::GraphHeader h = format::parse_graph_header(bytes, name);
    if (h.kind == format::GraphKind::kFull) {
        const format::FullGraphLayout layout = format::parse_full_graph(bytes, name);
        const format::SectionRef& s = layout.sections[format::kSectionVectorIndex];
        out.reserve(layout.header.node_count);
        for (uint64_t i = 0; i < layout.header.node_count; ++i)
            out.push_back(format::load_le<uint64_t>(bytes.data() + s.offset + 8 * i));
        return out;
    }
    const format::DecodedDelta d = format::decode_delta_graph(bytes, name);
    out.reserve(d.delta.new_nodes.size() + d.delta.vector_changes.size());
    for (const format::DeltaNode& n : d.delta.new_nodes)
        out.push_back(n.vector_index);
    for (const auto& [node, vector] : d.delta.vector_changes)
        out.push_back(vector);
    return out;
}

uint64_t size_of_file(const std::string& path) {
    std::error_code ec;
    const auto bytes = fs::file_size(path, ec);
    return ec ? 0 : static_cast<uint64_t>(bytes);
}

void remove_store_files(const std::string& dir, const std::vector<std::string>& names) {
    if (names.empty())
        return;
    for (const std::string& name : names) {
        const std::string path = dir + "/" + name;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            throw Error::io("cannot delete '" + path + "'", errno);
    }
    sync_directory(dir);
}

}  // namespace vstore::detail
