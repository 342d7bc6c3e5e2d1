// Packs (spec/pack.md): one commit of one domain as a self-contained, txtai-style directory or
// tar archive (.tar.xz, .tar.zst), readable without the store it came from.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vstore/store.h"
#include "vstore/format/export.h"

namespace vstore {

// The member files of a pack, in the order an archive holds them.
inline constexpr const char* kPackConfigName = "config";
inline constexpr const char* kPackGraphName = "embeddings";
inline constexpr const char* kPackVectorsName = "vectors";
inline constexpr const char* kPackIdsName = "ids";

enum class PackKind {
    kDirectory,
    kTar,  // uncompressed
    kTarXz,
    kTarZstd,
};

VSTORE_API std::string_view pack_kind_name(PackKind kind);  // "directory", "tar", "tar.xz", "tar.zst"

struct PackFile {
    std::string name;  // one of the member names above
    uint64_t bytes = 0;
    uint64_t checksum = 0;  // XXH3-64 of the whole file
};

// What the config file says, checked against the files it describes.
struct PackConfig {
    std::string json;  // the config file as written
    std::string vstore_version;
    DomainInfo domain;  // vector_file names the pack's own vector file
    CommitInfo commit;  // graph_file names the pack's own graph file
    uint64_t packed_unix_ms = 0;
    std::vector<PackFile> files;  // every member but the config
};

struct PackWriteOptions {
    unsigned threads = 0;  // compression threads for .tar.xz; 0 = all cores
    // Called now and then with the share of the work done, 0..1.
    std::function<void(double)> progress;
    // Told which staging directories of crashed pack writers the writer removed from the
    // output's directory before it made its own (spec/pack.md, "Staging directories"); only when
    // it removed any.
    CrashLeftoversReport on_crash_leftovers;
};

// How much opening an archive may write (spec/pack.md, "The extraction bound"): its members are
// extracted to a temporary directory, and a small archive can claim (and its compressed stream
// produce) far more than it holds. The bound counts the bytes as they are extracted, whatever
// the config and the entry headers claim.
inline constexpr uint64_t kPackExtractionFloorBytes = uint64_t(256) << 20;  // 256 MiB
inline constexpr uint64_t kPackExtractionRatio = 64;

// The default bound for an archive of `archive_bytes` bytes:
// max(kPackExtractionFloorBytes, kPackExtractionRatio x archive_bytes).
VSTORE_API uint64_t default_pack_extraction_bound(uint64_t archive_bytes);

struct PackOpenOptions {
    // The most bytes an archive's members may extract to, all together (the config too);
    // 0 = default_pack_extraction_bound of the archive's size. Not used for a pack directory.
    uint64_t max_extracted_bytes = 0;
};

// The kind the name asks for: OUT.tar, OUT.tar.xz, OUT.tar.zst, anything else a directory.
VSTORE_API PackKind pack_kind_for(const std::string& path);

class VSTORE_API Pack {
  public:
    // Writes commit `commit` of `domain` as a pack at `out`: its graph, the vectors that graph
    // refers to (renumbered from 0, in node order), their external ids and the config. `out`
    // appears whole or not at all. The members are staged in a locked directory beside `out`;
    // staging directories there that no writer holds (their writers crashed) are removed
    // first. Error(kConflict) when `out` exists, Error(kNotFound) for an
    // unknown domain or commit.
    static PackConfig write(Store& store, const std::string& domain, const std::string& commit,
                            const std::string& out, const PackWriteOptions& options = {});

    // Opens a pack directory or archive, read-only. An archive is checked entry by entry
    // before anything is written, and extracted into a private temporary directory that lives
    // as long as the Pack: entries that are not regular files, that are not pack members,
    // that repeat, that name absolute paths or `..`, or whose size differs from the config's
    // are refused with Error(kInvalidArgument), and so is an archive whose members would
    // extract to more than the bound of `open_options` (checked against each entry's size
    // before its bytes are written, and counted as they are). Every member's checksum is
    // checked against the config (Error(kCorruption)); in an archive as the member is
    // extracted, before the next one is. Nothing of a refused archive is left on disk.
    static std::unique_ptr<Pack> open(const std::string& path, StoreOptions options = {},
                                      const PackOpenOptions& open_options = {});

    // True when `path` looks like a pack: a directory with a config file and no catalog, or a
    // file that starts as an xz, zstd or tar stream.
    static bool looks_like_pack(const std::string& path);

    ~Pack();
    Pack(const Pack&) = delete;
    Pack& operator=(const Pack&) = delete;

    const std::string& path() const;
    // Where the members are: the pack directory, or an archive's private extraction.
    const std::string& directory() const;
    PackKind kind() const;
    const PackConfig& config() const;
    // The pack's commit, loaded once; the same answers as the commit in its store.
    std::shared_ptr<const Snapshot> snapshot() const;

  private:
    struct VSTORE_HIDDEN Impl;
    explicit Pack(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vstore
