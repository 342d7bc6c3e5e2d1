#include "vstore/pack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "crash_point.h"
#include "file_bytes.h"
#include "file_io.h"
#include "graph_writer.h"
#include "pack_config.h"
#include "snapshot_impl.h"
#include "staging_dir.h"
#include "vstore/format/bytes.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/format/id_file.h"
#include "vstore/format/vector_file_format.h"

namespace vstore {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr uint32_t kPackFormatVersion = 1;
constexpr size_t kMaxConfigBytes = size_t(1) << 20;
constexpr uint64_t kVectorsPerAppend = 4096;
constexpr size_t kCopyChunk = size_t(1) << 20;
constexpr uint64_t kMaxPackNodes = uint64_t(1) << 40;
const std::array<const char*, 3> kDataMembers = {kPackGraphName, kPackVectorsName, kPackIdsName};

std::string iso_time(uint64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// The ids of a pack: node i has key i, whose id is entry i of the id file.
class PackKeyIds : public detail::KeyIds {
  public:
    std::vector<std::string> ids(std::span<const uint64_t> keys) const override {
        std::vector<std::string> out;
        out.reserve(keys.size());
        for (uint64_t key : keys)
            out.push_back(ids_by_key.at(key));
        return out;
    }
    std::optional<uint64_t> key(const std::string& id) const override {
        auto it = key_of.find(id);
        if (it == key_of.end())
            return std::nullopt;
        return it->second;
    }
    std::vector<std::string> ids_by_key;
    std::unordered_map<std::string, uint64_t> key_of;
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Removes a directory tree when it goes out of scope, unless released.
class TempTree {
  public:
    explicit TempTree(std::string path) : path_(std::move(path)) {}
    ~TempTree() {
        if (!path_.empty()) {
            std::error_code ec;
            fs::remove_all(path_, ec);
        }
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;
    const std::string& path() const { return path_; }
    std::string release() { return std::exchange(path_, {}); }

  private:
    std::string path_;
};

// A fresh private directory: in `parent`, or in the system's temporary directory.
std::string make_temp_dir(const std::string& parent, const std::string& stem) {
    std::string pattern =
        (parent.empty() ? fs::temp_directory_path().string() : parent) + "/" + stem + "XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw Error::io("cannot create a temporary directory like '" + pattern + "'", errno);
    return pattern;
}

using detail::FileDescriptor;

FileDescriptor open_or_throw(const std::string& path, int flags, mode_t mode = 0) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == ENOENT)
            throw Error::not_found("'" + path + "' does not exist");
        throw Error::io("cannot open '" + path + "'", errno);
    }
    return FileDescriptor(fd);
}

void write_new_file(const std::string& path, std::span<const uint8_t> bytes) {
    FileDescriptor fd = open_or_throw(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    detail::write_all(fd.get(), bytes.data(), bytes.size(), 0, path);
    detail::sync_data(fd.get(), path);
}

// XXH3-64 of a whole file, read through a private read-only mapping.
uint64_t file_checksum(const std::string& path, uint64_t* bytes_out) {
    FileDescriptor fd = open_or_throw(path, O_RDONLY);
    const uint64_t bytes = detail::file_bytes(fd.get(), path);
    *bytes_out = bytes;
    if (bytes == 0)
        return format::checksum64({});
    void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED)
        throw Error::io("cannot map '" + path + "'", errno);
    ::madvise(p, bytes, MADV_SEQUENTIAL);
    const uint64_t sum = format::checksum64({static_cast<const uint8_t*>(p), bytes});
    ::munmap(p, bytes);
    return sum;
}

ordered_json system_description() {
    struct utsname u {};
    ::uname(&u);
    return ordered_json{{"os", std::string(u.sysname) + " " + u.release},
                        {"machine", u.machine},
                        {"compiler", std::string("g++ ") + __VERSION__}};
}

// ---- config ---------------------------------------------------------------------------------

// Keys in the order a person reads them; readers do not depend on the order.
ordered_json config_json(const DomainInfo& d, const CommitInfo& c,
                         const std::vector<PackFile>& files, uint64_t packed_unix_ms) {
    ordered_json members = ordered_json::object();
    for (const auto& f : files)
        members[f.name] = {{"bytes", f.bytes}, {"xxh3", hex64(f.checksum)}};
    return ordered_json{
        {"format", "vstore-pack"},
        {"format_version", kPackFormatVersion},
        {"backend", "vstore-hnsw"},
        {"build", {{"m", d.m}, {"ef_construction", d.ef_construction}}},
        {"vstore", VSTORE_VERSION},
        {"system", system_description()},
        {"dimensions", d.dimension},
        {"metric", format::metric_name(d.metric)},
        {"count", c.live_count},
        {"tombstones", c.tombstone_count},
        {"domain", d.name},
        {"commit", c.commit},
        {"parent", c.parent ? ordered_json(*c.parent) : ordered_json(nullptr)},
        {"operations",
         {{"inserted", c.inserted}, {"deleted", c.deleted}, {"replaced", c.replaced}}},
        {"compacted", c.compacted},
        {"created", iso_time(c.created_unix_ms)},
        {"created_unix_ms", c.created_unix_ms},
        {"updated", iso_time(packed_unix_ms)},
        {"updated_unix_ms", packed_unix_ms},
        {"files", members},
    };
}

}  // namespace

PackConfig detail::parse_pack_config(const std::string& text, const std::string& where) {
    auto bad = [&](const std::string& what) {
        return Error::corruption("pack config '" + where + "': " + what);
    };
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw bad("not a JSON object");
    auto field = [&](const json& obj, const char* key, json::value_t type) -> const json& {
        auto it = obj.find(key);
        const bool number = type == json::value_t::number_unsigned;
        if (it == obj.end() || (number ? !it->is_number_unsigned() : it->type() != type))
            throw bad(std::string("field '") + key + "' is missing or has the wrong type");
        return *it;
    };
    constexpr auto kString = json::value_t::string;
    constexpr auto kNumber = json::value_t::number_unsigned;
    constexpr auto kObject = json::value_t::object;
    if (field(j, "format", kString) != "vstore-pack")
        throw bad("format is not 'vstore-pack'");
    const uint64_t version = field(j, "format_version", kNumber).get<uint64_t>();
    if (version != kPackFormatVersion) {
        throw Error::version_mismatch("pack config '" + where + "'", version,
                                      "version " + std::to_string(kPackFormatVersion));
    }
    PackConfig config;
    config.json = text;
    config.vstore_version = field(j, "vstore", kString).get<std::string>();
    auto u32 = [&](const json& obj, const char* key) {
        const uint64_t v = field(obj, key, kNumber).get<uint64_t>();
        if (v > UINT32_MAX)
            throw bad(std::string("field '") + key + "' is out of range");
        return static_cast<uint32_t>(v);
    };
    DomainInfo& d = config.domain;
    d.name = field(j, "domain", kString).get<std::string>();
    d.dimension = u32(j, "dimensions");
    const auto metric = format::metric_from_name(field(j, "metric", kString).get<std::string>());
    if (!metric)
        throw bad("unknown metric");
    d.metric = *metric;
    const json& build = field(j, "build", kObject);
    d.m = u32(build, "m");
    d.ef_construction = u32(build, "ef_construction");
    d.vector_file = kPackVectorsName;
    CommitInfo& c = config.commit;
    c.domain = d.name;
    c.commit = field(j, "commit", kString).get<std::string>();
    auto parent = j.find("parent");
    if (parent == j.end() || !(parent->is_null() || parent->is_string()))
        throw bad("field 'parent' is missing or has the wrong type");
    if (parent->is_string())
        c.parent = parent->get<std::string>();
    c.graph_file = kPackGraphName;
    c.live_count = field(j, "count", kNumber).get<uint64_t>();
    c.tombstone_count = field(j, "tombstones", kNumber).get<uint64_t>();
    const json& ops = field(j, "operations", kObject);
    c.inserted = field(ops, "inserted", kNumber).get<uint64_t>();
    c.deleted = field(ops, "deleted", kNumber).get<uint64_t>();
    c.replaced = field(ops, "replaced", kNumber).get<uint64_t>();
    c.compacted = field(j, "compacted", json::value_t::boolean).get<bool>();
    c.created_unix_ms = d.created_unix_ms = field(j, "created_unix_ms", kNumber).get<uint64_t>();
    config.packed_unix_ms = field(j, "updated_unix_ms", kNumber).get<uint64_t>();
    const json& files = field(j, "files", kObject);
    for (const char* name : kDataMembers) {
        const json& f = field(files, name, kObject);
        PackFile file;
        file.name = name;
        file.bytes = field(f, "bytes", kNumber).get<uint64_t>();
        const std::string sum = field(f, "xxh3", kString).get<std::string>();
        char* end = nullptr;
        file.checksum = std::strtoull(sum.c_str(), &end, 16);
        if (sum.size() != 16 || end != sum.c_str() + 16)
            throw bad(std::string("checksum of '") + name + "' is not 16 hex digits");
        config.files.push_back(file);
    }
    if (files.size() != kDataMembers.size())
        throw bad("'files' lists a member that is not part of a pack");
    if (field(j, "backend", kString) != "vstore-hnsw")
        throw bad("backend is not 'vstore-hnsw'");
    field(j, "system", kObject);
    field(j, "created", kString);
    field(j, "updated", kString);

    // Sizes the counts allow, so that an archive cannot make a reader write more than a pack
    // of this size holds (a highly compressed stream of zeros, say).
    if (d.dimension == 0 || d.dimension > format::kMaxDimension)
        throw bad("dimensions out of range");
    if (c.live_count > kMaxPackNodes || c.tombstone_count > kMaxPackNodes)
        throw bad("count or tombstones out of range");
    // The graph's M must be one the format allows; it also bounds the size below.
    if (d.m < format::kMinGraphM || d.m > format::kMaxGraphM)
        throw bad("build.m out of range");
    const uint64_t nodes = c.live_count + c.tombstone_count;
    const auto layout = format::VectorLayout::for_dimension(d.dimension);
    const uint64_t most[] = {
        format::max_full_graph_bytes(nodes, d.m),                                // embeddings
        layout.file_bytes_for(nodes) + layout.group_bytes,                       // vectors
        format::kIdFileHeaderBytes + nodes * (4 + format::kMaxExternalIdBytes),  // ids
    };
    for (size_t i = 0; i < kDataMembers.size(); ++i) {
        if (config.files[i].bytes > most[i]) {
            throw bad(std::string("'") + kDataMembers[i] + "' is larger than a pack of " +
                      std::to_string(nodes) + " nodes can be");
        }
    }
    // The pack's graph is one full file, its own member.
    c.graph_bytes = config.files[0].bytes;
    c.graph_checksum = config.files[0].checksum;
    c.graph_kind = format::GraphKind::kFull;
    c.graph_chain = {{c.graph_file, c.graph_bytes, c.graph_checksum}};
    return config;
}

namespace {

const PackFile& member(const PackConfig& config, const std::string& name) {
    for (const auto& f : config.files) {
        if (f.name == name)
            return f;
    }
    throw Error::corruption("pack config lists no '" + name + "'");
}

// ---- archives -------------------------------------------------------------------------------

struct ArchiveWriter {
    archive* a = archive_write_new();
    ~ArchiveWriter() { archive_write_free(a); }
};
struct ArchiveReader {
    archive* a = archive_read_new();
    ~ArchiveReader() { archive_read_free(a); }
};

std::string archive_stem(const std::string& out) {
    std::string name = fs::path(out).filename().string();
    for (const char* suffix : {".tar.xz", ".tar.zst", ".tar"}) {
        if (ends_with(name, suffix))
            return name.substr(0, name.size() - std::strlen(suffix));
    }
    return name;
}

// Writes the members of `dir` into a tar archive at `path` (xz, zstd or none), config first, each
// under the directory `stem`/.
void write_archive(const std::string& dir, const std::string& path, PackKind kind,
                   const std::string& stem, unsigned threads,
                   const std::function<void(uint64_t)>& progress) {
    ArchiveWriter w;
    auto check = [&](int rc, const char* what) {
        if (rc < ARCHIVE_WARN) {
            throw Error::io(
                std::string("cannot ") + what + " '" + path + "': " + archive_error_string(w.a),
                archive_errno(w.a));
        }
    };
    check(archive_write_set_format_pax_restricted(w.a), "set the tar format of");
    // Levels measured on Fashion-MNIST's vectors (184 MB): xz -1 gives 29.9 MB where -3 gives
    // 29.6 MB in four times the time; zstd -3 gives 36.9 MB in a fifth of -9's time (33.9 MB).
    if (kind == PackKind::kTarXz) {
        check(archive_write_add_filter_xz(w.a), "add xz compression to");
        archive_write_set_filter_option(w.a, "xz", "compression-level", "1");
        archive_write_set_filter_option(w.a, "xz", "threads",
                                        std::to_string(detail::thread_count(threads)).c_str());
    } else if (kind == PackKind::kTarZstd) {
        check(archive_write_add_filter_zstd(w.a), "add zstd compression to");
        archive_write_set_filter_option(w.a, "zstd", "compression-level", "3");
    }
    check(archive_write_open_filename(w.a, path.c_str()), "create");
    std::vector<uint8_t> buffer(kCopyChunk);
    for (const char* name : {kPackConfigName, kPackGraphName, kPackVectorsName, kPackIdsName}) {
        const std::string src = dir + "/" + name;
        FileDescriptor fd = open_or_throw(src, O_RDONLY);
        const uint64_t bytes = detail::file_bytes(fd.get(), src);
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, (stem + "/" + name).c_str());
        archive_entry_set_size(e, static_cast<la_int64_t>(bytes));
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, std::time(nullptr), 0);
        const int rc = archive_write_header(w.a, e);
        archive_entry_free(e);
        check(rc, "write an entry header to");
        for (uint64_t at = 0; at < bytes;) {
            const size_t n = detail::read_some(
                fd.get(), buffer.data(), std::min<uint64_t>(buffer.size(), bytes - at), at, src);
            if (n == 0)
                throw Error::io("'" + src + "' shrank while it was packed", 0);
            if (archive_write_data(w.a, buffer.data(), n) < 0)
                check(ARCHIVE_FATAL, "write to");
            at += n;
            if (progress)
                progress(n);
        }
    }
    check(archive_write_close(w.a), "finish");
}

// Splits an archive path into its components; refuses absolute paths and empty, `.` or `..`
// components.
std::vector<std::string> safe_components(const std::string& path, const std::string& archive_path) {
    auto refuse = [&](const std::string& why) {
        return Error::invalid_argument("pack archive '" + archive_path + "': entry '" + path +
                                       "' " + why);
    };
    if (path.empty())
        throw refuse("has an empty name");
    if (path.front() == '/')
        throw refuse("is an absolute path");
    std::vector<std::string> parts;
    size_t at = 0;
    while (at <= path.size()) {
        const size_t slash = std::min(path.find('/', at), path.size());
        std::string part = path.substr(at, slash - at);
        at = slash + 1;
        if (part.empty() && at > path.size())
            break;  // a trailing slash, as directories have
        if (part.empty() || part == ".")
            throw refuse("has an empty or '.' component");
        if (part == "..")
            throw refuse("has a '..' component");
        parts.push_back(std::move(part));
    }
    return parts;
}

bool is_member_name(const std::string& name) {
    return name == kPackConfigName || name == kPackGraphName || name == kPackVectorsName ||
           name == kPackIdsName;
}

Error member_mismatch(const std::string& pack, const std::string& member) {
    return Error::corruption("pack '" + pack + "': '" + member +
                             "' does not match the size and checksum its config records");
}

// The XXH3-64 of a stream of bytes, as format::checksum64 gives for them all at once.
class StreamChecksum {
  public:
    StreamChecksum() : state_(XXH3_createState()) {
        if (state_ == nullptr)
            throw std::bad_alloc();
        XXH3_64bits_reset(state_);
    }
    ~StreamChecksum() { XXH3_freeState(state_); }
    StreamChecksum(const StreamChecksum&) = delete;
    StreamChecksum& operator=(const StreamChecksum&) = delete;
    void add(const void* data, size_t bytes) { XXH3_64bits_update(state_, data, bytes); }
    uint64_t value() const { return XXH3_64bits_digest(state_); }

  private:
    XXH3_state_t* state_;
};

// Checks every entry of the archive at `path` and writes the pack's members into `dir` (an
// empty private directory) under their own names; nothing else is ever written, and never
// more than `bound` bytes in all. Each data member's size and checksum are checked against
// the config as soon as it is extracted.
void extract_archive(const std::string& path, const std::string& dir, uint64_t bound) {
    ArchiveReader r;
    archive_read_support_filter_xz(r.a);
    archive_read_support_filter_zstd(r.a);
    archive_read_support_format_tar(r.a);
    auto unreadable = [&](const std::string& what) {
        return Error::corruption("pack archive '" + path + "': " + what + ": " +
                                 (archive_error_string(r.a) ? archive_error_string(r.a) : "?"));
    };
    auto refuse = [&](const std::string& what) {
        return Error::invalid_argument("pack archive '" + path + "': " + what);
    };
    if (archive_read_open_filename(r.a, path.c_str(), 1 << 16) != ARCHIVE_OK)
        throw unreadable("cannot be read as a tar archive");
    std::optional<std::string> top;  // the one directory every entry is under, if any
    std::optional<PackConfig> config;
    std::unordered_set<std::string> seen;
    std::vector<uint8_t> buffer(kCopyChunk);
    uint64_t extracted = 0;  // bytes written so far, every member's
    const std::string raise_bound =
        "; raise it with PackOpenOptions::max_extracted_bytes (vstore --max-unpacked) if the "
        "archive is trusted";
    auto past_bound = [&](const std::string& name, const std::string& why) {
        return refuse("entry '" + name + "' " + why + " the extraction bound of " +
                      std::to_string(bound) + " bytes (" + std::to_string(extracted) +
                      " extracted before it)" + raise_bound);
    };
    for (;;) {
        archive_entry* e = nullptr;
        const int rc = archive_read_next_header(r.a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        // ARCHIVE_RETRY too: libarchive returns it for a tar header whose checksum fails.
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            throw unreadable("damaged entry header");
        const char* raw = archive_entry_pathname(e);
        const std::string name = raw ? raw : "";
        auto parts = safe_components(name, path);
        const auto type = archive_entry_filetype(e);
        if (archive_entry_hardlink(e) != nullptr || archive_entry_symlink(e) != nullptr)
            throw refuse("entry '" + name + "' is a link");
        if (type == AE_IFDIR) {
            // Only the enclosing directory, once, before the members it encloses.
            if (parts.size() != 1 || top || !seen.empty() || is_member_name(parts[0]))
                throw refuse("entry '" + name + "' is a directory a pack does not have");
            top = parts[0];
            continue;
        }
        if (type != AE_IFREG)
            throw refuse("entry '" + name + "' is not a regular file");
        if (parts.size() == 2) {
            if (top && *top != parts[0])
                throw refuse("entry '" + name + "' is outside the pack's directory");
            if (!top && !seen.empty())
                throw refuse("entry '" + name + "' is under a directory the others are not");
            top = parts[0];
        } else if (parts.size() != 1 || top) {
            throw refuse("entry '" + name + "' is not where a pack keeps its files");
        }
        const std::string& member_name = parts.back();
        if (!is_member_name(member_name))
            throw refuse("entry '" + name + "' is not a pack file");
        if (!seen.insert(member_name).second)
            throw refuse("entry '" + name + "' appears twice");
        if (!archive_entry_size_is_set(e))
            throw refuse("entry '" + name + "' has no size");
        const uint64_t declared = static_cast<uint64_t>(archive_entry_size(e));
        uint64_t allowed = 0;
        uint64_t allowed_checksum = 0;
        if (member_name == kPackConfigName) {
            if (seen.size() != 1)
                throw refuse("the config is not the first entry");
            if (declared > kMaxConfigBytes)
                throw refuse("the config is larger than 1 MiB");
            allowed = declared;
        } else {
            if (!config)
                throw refuse("the config is not the first entry");
            allowed = member(*config, member_name).bytes;
            allowed_checksum = member(*config, member_name).checksum;
            if (declared != allowed) {
                throw refuse("entry '" + name + "' holds " + std::to_string(declared) +
                             " bytes; the config says " + std::to_string(allowed));
            }
        }
        if (declared > bound - extracted)
            throw past_bound(name, "declares " + std::to_string(declared) + " bytes, past");
        const std::string dest = dir + "/" + member_name;
        FileDescriptor fd = open_or_throw(dest, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0600);
        uint64_t written = 0;
        std::string config_text;
        StreamChecksum checksum;
        for (;;) {
            const la_ssize_t n = archive_read_data(r.a, buffer.data(), buffer.size());
            if (n < 0)
                throw unreadable("damaged data in entry '" + name + "'");
            if (n == 0)
                break;
            if (written + static_cast<uint64_t>(n) > allowed)
                throw refuse("entry '" + name + "' holds more bytes than it declares");
            // Counted as written, whatever the headers said: the bound is what reaches disk.
            if (static_cast<uint64_t>(n) > bound - extracted)
                throw past_bound(name, "takes the extraction past");
            detail::write_all(fd.get(), buffer.data(), static_cast<size_t>(n), written, dest);
            checksum.add(buffer.data(), static_cast<size_t>(n));
            if (member_name == kPackConfigName)
                config_text.append(reinterpret_cast<const char*>(buffer.data()), size_t(n));
            written += static_cast<uint64_t>(n);
            extracted += static_cast<uint64_t>(n);
        }
        if (written != declared)
            throw unreadable("entry '" + name + "' is truncated");
        if (member_name != kPackConfigName && checksum.value() != allowed_checksum)
            throw member_mismatch(path, member_name);
        if (member_name == kPackConfigName) {
            config = detail::parse_pack_config(config_text, path + ":" + name);
            // Refused at once when the config's own sizes pass the bound, before any of them
            // is extracted; the count above holds whatever the sizes say.
            uint64_t total = 0;
            for (const auto& f : config->files) {
                total += f.bytes;
                if (total > bound - extracted) {
                    throw refuse("its config gives '" + f.name + "' " + std::to_string(f.bytes) +
                                 " bytes, which takes the extraction past its bound of " +
                                 std::to_string(bound) + " bytes" + raise_bound);
                }
            }
            struct statvfs fs_info {};
            if (::statvfs(dir.c_str(), &fs_info) == 0 &&
                total > uint64_t(fs_info.f_bavail) * fs_info.f_frsize) {
                throw Error::io("pack archive '" + path + "' holds " + std::to_string(total) +
                                    " bytes, more than the free space of '" + dir + "'",
                                ENOSPC);
            }
        }
    }
    for (const char* m : {kPackConfigName, kPackGraphName, kPackVectorsName, kPackIdsName}) {
        if (!seen.count(m))
            throw Error::corruption("pack archive '" + path + "' has no '" + m + "'");
    }
}

// A pack directory holds its four members and nothing else: vstore writes a pack whole, so
// any other entry means it was tampered with or mixed with another pack. The first foreign
// entry in byte order is named, so that the error is the same on every file system.
void refuse_foreign_entries(const std::string& path) {
    std::vector<std::string> foreign;
    std::error_code ec;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!is_member_name(name))
            foreign.push_back(name);
    }
    if (ec)
        throw Error::io("cannot list pack directory '" + path + "'", ec.value());
    if (foreign.empty())
        return;
    std::sort(foreign.begin(), foreign.end());
    std::string message = "pack '" + path + "' holds '";
    message += foreign.front();
    message +=
        "', which is not a pack member (a pack directory holds config, embeddings, "
        "vectors and ids only)";
    throw Error::corruption(message);
}

std::optional<PackKind> archive_kind_by_magic(const std::string& path) {
    std::array<uint8_t, 512> head{};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    ::close(fd);
    if (n >= 6 && std::equal(head.begin(), head.begin() + 6,
                             std::array<uint8_t, 6>{0xFD, '7', 'z', 'X', 'Z', 0x00}.begin())) {
        return PackKind::kTarXz;
    }
    if (n >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD)
        return PackKind::kTarZstd;
    if (n >= 262 && std::memcmp(&head[257], "ustar", 5) == 0)
        return PackKind::kTar;
    return std::nullopt;
}

}  // namespace

// ---- Pack -----------------------------------------------------------------------------------

struct Pack::Impl {
    std::string path;
    std::string directory;
    PackKind kind = PackKind::kDirectory;
    PackConfig config;
    std::unique_ptr<TempTree> extracted;  // an archive's members, while the pack is open
    std::shared_ptr<const Snapshot> snapshot;
};

Pack::Pack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pack::~Pack() = default;
const std::string& Pack::path() const {
    return impl_->path;
}
const std::string& Pack::directory() const {
    return impl_->directory;
}
PackKind Pack::kind() const {
    return impl_->kind;
}
const PackConfig& Pack::config() const {
    return impl_->config;
}
std::shared_ptr<const Snapshot> Pack::snapshot() const {
    return impl_->snapshot;
}

std::string_view pack_kind_name(PackKind kind) {
    switch (kind) {
        case PackKind::kDirectory:
            return "directory";
        case PackKind::kTar:
            return "tar";
        case PackKind::kTarXz:
            return "tar.xz";
        case PackKind::kTarZstd:
            return "tar.zst";
    }
    return "?";
}

PackKind pack_kind_for(const std::string& path) {
    if (ends_with(path, ".tar.xz"))
        return PackKind::kTarXz;
    if (ends_with(path, ".tar.zst"))
        return PackKind::kTarZstd;
    if (ends_with(path, ".tar"))
        return PackKind::kTar;
    return PackKind::kDirectory;
}

bool Pack::looks_like_pack(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
        return fs::exists(path + "/" + kPackConfigName, ec) && !fs::exists(path + "/catalog", ec);
    return fs::is_regular_file(path, ec) && archive_kind_by_magic(path).has_value();
}

PackConfig Pack::write(Store& store, const std::string& domain, const std::string& commit,
                       const std::string& out, const PackWriteOptions& options) {
    const auto snapshot = store.open_commit(domain, commit);
    const Snapshot::Impl& s = *snapshot->impl_;
    std::error_code ec;
    if (fs::exists(fs::symlink_status(out, ec)))
        throw Error::conflict("'" + out + "' exists; a pack is never written over anything");
    const PackKind kind = pack_kind_for(out);
    fs::path parent = fs::path(out).parent_path();
    if (parent.empty())
        parent = ".";
    if (!fs::is_directory(parent, ec))
        throw Error::not_found("directory '" + parent.string() + "' does not exist");

    // Everything is staged beside `out`, so that the final rename stays in one file system, in
    // a directory locked while it is used, so that the next writer can tell it from a crashed
    // writer's.
    detail::StagingDir staging(parent.string(), options.on_crash_leftovers);
    const std::string dir = staging.path();

    // The graph without its removed slots, node i renumbered to key i and vector i.
    const detail::GraphLayers& g = *s.graph;
    const detail::LayersSource layers(g);
    const detail::CompactSource compact(layers, /*own_payload=*/true);
    const uint64_t nodes = compact.node_count();
    const uint64_t total_work =
        nodes * s.file->layout().vector_bytes * (kind == PackKind::kDirectory ? 1 : 2);
    uint64_t done = 0;
    auto advance = [&](uint64_t bytes) {
        done += bytes;
        if (options.progress && total_work > 0)
            options.progress(std::min(1.0, double(done) / double(total_work)));
    };

    // The vectors the graph refers to, in node order, and their external ids.
    std::vector<std::string> ids(nodes);
    {
        std::unordered_map<uint64_t, std::string> id_of;
        for (auto& [key, id] : s.live_ids())
            id_of.emplace(key, std::move(id));
        auto vectors = VectorFile::create(dir + "/" + kPackVectorsName, s.domain.name,
                                          s.domain.dimension, {.writable = true});
        std::vector<float> batch;
        batch.reserve(kVectorsPerAppend * s.domain.dimension);
        const auto scan = s.file->scan_scope();
        for (uint32_t i = 0; i < nodes; ++i) {
            const uint32_t old = compact.old_of(i);
            const LoadedVec v = s.file->get(g.vector_index(old));
            batch.insert(batch.end(), v.data(), v.data() + s.domain.dimension);
            if (g.live(old))
                ids[i] = id_of.at(g.key(old));
            if (batch.size() == kVectorsPerAppend * s.domain.dimension || i + 1 == nodes) {
                vectors->append(batch);
                advance(batch.size() * sizeof(float));
                batch.clear();
            }
        }
    }
    format::GraphHeader header;
    header.domain = s.domain.name;
    header.commit = s.info.commit;
    header.parent = s.info.parent;
    header.metric = s.domain.metric;
    header.dimension = s.domain.dimension;
    header.m = s.domain.m;
    header.ef_construction = s.domain.ef_construction;
    header.vector_count = nodes;
    header.created_unix_ms = s.info.created_unix_ms;
    if (g.entry_point() >= 0) {
        header.entry_point = *compact.new_of(static_cast<uint32_t>(g.entry_point()));
        header.max_level = g.max_level();
    }
    write_new_file(dir + "/" + kPackGraphName, format::encode_full_graph(header, compact));
    write_new_file(dir + "/" + kPackIdsName, format::encode_id_file(ids));

    std::vector<PackFile> files;
    for (const char* name : kDataMembers) {
        PackFile f;
        f.name = name;
        f.checksum = file_checksum(dir + "/" + name, &f.bytes);
        files.push_back(f);
    }
    const uint64_t packed = detail::now_ms();
    const std::string text = config_json(s.domain, s.info, files, packed).dump(2) + "\n";
    write_new_file(dir + "/" + kPackConfigName,
                   {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    detail::sync_directory(dir);
    detail::crash_point("pack-staged");

    if (kind == PackKind::kDirectory) {
        // mkdtemp made the staging directory private; the pack is as readable as any new one.
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::chmod(dir.c_str(), 0777 & ~mask);
        // rename() would replace an empty directory that appeared meanwhile; that is harmless.
        if (::rename(dir.c_str(), out.c_str()) != 0)
            throw Error::io("cannot rename '" + dir + "' to '" + out + "'", errno);
        staging.release();
    } else {
        const std::string tmp = dir + "/archive";
        write_archive(dir, tmp, kind, archive_stem(out), options.threads, advance);
        {
            FileDescriptor fd = open_or_throw(tmp, O_RDONLY);
            detail::sync_data(fd.get(), tmp);
        }
        // link() never replaces: a file that appeared at `out` meanwhile is a conflict.
        if (::link(tmp.c_str(), out.c_str()) != 0) {
            if (errno == EEXIST)
                throw Error::conflict("'" + out +
                                      "' exists; a pack is never written over anything");
            throw Error::io("cannot create '" + out + "'", errno);
        }
    }
    detail::sync_directory(parent.string());
    if (options.progress)
        options.progress(1.0);
    return detail::parse_pack_config(text, out);
}

uint64_t default_pack_extraction_bound(uint64_t archive_bytes) {
    const uint64_t scaled = archive_bytes > UINT64_MAX / kPackExtractionRatio
                                ? UINT64_MAX
                                : archive_bytes * kPackExtractionRatio;
    return std::max(kPackExtractionFloorBytes, scaled);
}

std::unique_ptr<Pack> Pack::open(const std::string& path, StoreOptions options,
                                 const PackOpenOptions& open_options) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    std::error_code ec;
    std::string dir;
    if (fs::is_directory(path, ec)) {
        if (!fs::exists(path + "/" + kPackConfigName, ec))
            throw Error::invalid_argument("'" + path +
                                          "' is a directory but not a pack (no config)");
        refuse_foreign_entries(path);
        dir = path;
    } else {
        if (!fs::exists(path, ec))
            throw Error::not_found("'" + path + "' does not exist");
        const auto kind = archive_kind_by_magic(path);
        if (!kind)
            throw Error::invalid_argument(
                "'" + path + "' is not a pack (neither a directory nor a tar, xz or zstd archive)");
        impl->kind = *kind;
        const uint64_t bound = open_options.max_extracted_bytes != 0
                                   ? open_options.max_extracted_bytes
                                   : default_pack_extraction_bound(fs::file_size(path, ec));
        if (ec)
            throw Error::io("cannot read the size of '" + path + "'", ec.value());
        impl->extracted = std::make_unique<TempTree>(make_temp_dir("", "vstore-pack-"));
        dir = impl->extracted->path();
        extract_archive(path, dir, bound);
    }

    impl->directory = dir;

    // The config, then every member against its size and checksum.
    const std::string config_path = dir + "/" + kPackConfigName;
    const std::string shown = impl->extracted ? path + ":" + kPackConfigName : config_path;
    std::string text;
    {
        FileDescriptor fd = open_or_throw(config_path, O_RDONLY);
        const uint64_t bytes = detail::file_bytes(fd.get(), config_path);
        if (bytes > kMaxConfigBytes)
            throw Error::corruption("pack config '" + shown + "' is larger than 1 MiB");
        text.resize(bytes);
        detail::read_some(fd.get(), text.data(), text.size(), 0, config_path);
    }
    impl->config = detail::parse_pack_config(text, shown);
    const PackConfig& config = impl->config;
    // An archive's members were checked as they were extracted, against this same config.
    if (!impl->extracted) {
        for (const auto& f : config.files) {
            uint64_t bytes = 0;
            uint64_t sum = 0;
            try {
                sum = file_checksum(dir + "/" + f.name, &bytes);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::kNotFound)
                    throw;
                throw Error::corruption("pack '" + path + "' has no '" + f.name + "'");
            }
            if (bytes != f.bytes || sum != f.checksum)
                throw member_mismatch(path, f.name);
        }
    }

    const std::string graph_path = dir + "/" + kPackGraphName;
    const std::string graph_name = impl->extracted ? path + ":" + kPackGraphName : graph_path;
    const auto graph_bytes = detail::FileBytes::map(graph_path);
    std::shared_ptr<const detail::GraphLayers> graph;
    if (format::graph_file_version(graph_bytes->bytes(), graph_name) == format::kGraphFormatV1) {
        graph = detail::GraphLayers::from_v1(graph_bytes->bytes(), graph_name);
    } else {
        // A pack is read whole to check its members anyway: check every graph rule too.
        const auto layout = format::parse_full_graph(graph_bytes->bytes(), graph_name);
        format::verify_full_graph(graph_bytes->bytes(), layout, graph_name);
        graph = std::make_shared<const detail::GraphLayers>(
            detail::GraphLayers::Part{graph_name, graph_bytes},
            std::vector<detail::GraphLayers::Part>{});
    }
    auto ids = format::decode_id_file(detail::read_whole_file(dir + "/" + kPackIdsName),
                                      path + ":" + kPackIdsName);
    const DomainInfo& d = config.domain;
    const CommitInfo& c = config.commit;
    auto mismatch = [&](const std::string& what) {
        return Error::corruption("pack '" + path + "': the graph and its config disagree on " +
                                 what);
    };
    const format::GraphHeader& h = graph->header();
    if (h.domain != d.name || h.commit != c.commit || h.parent != c.parent)
        throw mismatch("domain, commit or parent");
    if (h.dimension != d.dimension || h.metric != d.metric || h.m != d.m ||
        h.ef_construction != d.ef_construction) {
        throw mismatch("parameters");
    }
    const uint64_t nodes = graph->size();
    if (nodes != c.live_count + c.tombstone_count || h.removed_count != 0 || ids.size() != nodes ||
        h.vector_count != nodes) {
        throw mismatch("counts");
    }
    VectorFileOptions vector_options;
    vector_options.mode = options.mode;
    vector_options.pool_budget_bytes = options.pool_budget_bytes;
    vector_options.verify_mapped = options.verify_mapped_vectors;
    std::shared_ptr<VectorFile> file =
        VectorFile::open(dir + "/" + kPackVectorsName, vector_options);
    if (file->domain() != d.name || file->dimension() != d.dimension || file->size() != nodes)
        throw mismatch("the vector file");
    // Node i of a pack has key i; its id is the id file's entry i.
    auto key_ids = std::make_shared<PackKeyIds>();
    key_ids->key_of.reserve(c.live_count);
    for (uint32_t i = 0; i < nodes; ++i) {
        const bool live = graph->live(i);
        if (live == ids[i].empty() || graph->key(i) != i || graph->vector_index(i) != i)
            throw mismatch("which nodes are live (node " + std::to_string(i) + ")");
        if (live && !key_ids->key_of.emplace(ids[i], i).second)
            throw Error::corruption("pack '" + path + "': id '" + detail::short_id(ids[i]) +
                                    "' appears twice");
    }
    key_ids->ids_by_key = std::move(ids);
    if (graph->live_count() != c.live_count)
        throw mismatch("the live count");
    CommitInfo info = c;
    info.vector_count = nodes;
    info.graph_bytes = member(config, kPackGraphName).bytes;
    info.graph_checksum = member(config, kPackGraphName).checksum;
    info.graph_kind = format::GraphKind::kFull;
    info.graph_format = format::graph_file_version(graph_bytes->bytes(), graph_name);
    info.graph_chain = {{info.graph_file, info.graph_bytes, info.graph_checksum}};
    impl->snapshot = Snapshot::Impl::make(info, d, options, std::move(file), std::move(graph),
                                          std::move(key_ids));
    return std::unique_ptr<Pack>(new Pack(std::move(impl)));
}

}  // namespace vstore
