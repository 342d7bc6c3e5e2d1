// The catalog of a store (spec/catalog.md): domains, commits and the interning of external
// ids, in one LMDB environment. Readers never block the writer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vstore/format/graph_file.h"
#include "vstore/format/graph_file_v2.h"
#include "vstore/records.h"

namespace vstore {

struct VectorHash {
    uint64_t hash = 0;
    uint64_t index = 0;
};

class Catalog {
  public:
    // Opens (or with create=true creates) the LMDB environment `<dir>/catalog` (a single file,
    // MDB_NOSUBDIR, with its lock file `<dir>/catalog-lock`). Throws Error(kNotFound) when it
    // does not exist and create is false, Error(kCorruption) when it is not a vstore catalog or
    // its format version is unknown.
    static std::unique_ptr<Catalog> open(const std::string& dir, bool create);
    ~Catalog();
    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

    // Reads: each is one read-only transaction, consistent in itself.
    std::optional<DomainInfo> domain(const std::string& name) const;
    std::vector<DomainInfo> domains() const;  // sorted by name
    // The next key interning hands out in the domain, which is the number of its keys (they are
    // 0, 1, ..., next_key - 1). Error(kNotFound) for an unknown domain.
    uint64_t next_key(const std::string& domain) const;
    std::optional<CommitInfo> commit(const std::string& domain, const std::string& commit) const;
    std::vector<CommitInfo> commits(const std::string& domain) const;  // sorted by commit id
    std::optional<uint64_t> find_key(const std::string& domain,
                                     const std::string& external_id) const;
    std::optional<std::string> external_id(const std::string& domain, uint64_t key) const;
    // The ids of many keys, read in one transaction; nullopt where a key is unknown.
    std::vector<std::optional<std::string>> external_ids(const std::string& domain,
                                                         std::span<const uint64_t> keys) const;

    // Writes. Throws Error(kConflict) when the domain already exists. A new domain has no
    // keys: its next_key is 0.
    void create_domain(const DomainInfo& domain);

    // Makes a commit visible in one write transaction: records the new external ids (each
    // pair (external id, key) with keys from the domain's next_key on, consecutive), advances
    // the domain's next_key past them, and records the commit. Throws Error(kConflict) when
    // the commit id already exists in the domain, Error(kNotFound) for an unknown domain, and
    // Error(kInvalidArgument) when the keys are not next_key, next_key+1, ..., or when the
    // commit breaks a rule of its record (spec/catalog.md: graph_file, graph_kind,
    // graph_format, graph_chain, graph_owner); nothing is written then.
    // `new_vectors` are entries for the content index, written in the same transaction.
    void publish_commit(const CommitInfo& commit,
                        const std::vector<std::pair<std::string, uint64_t>>& new_ids,
                        const std::vector<VectorHash>& new_vectors = {});

    // For each of `hashes` (format::vector_hash), the vectors of the domain's file whose
    // bytes hash to it, by the content index, ascending; one read transaction for all. The
    // caller compares the bytes, as hashes can collide.
    std::vector<std::vector<uint64_t>> vectors_with_hashes(const std::string& domain,
                                                           std::span<const uint64_t> hashes) const;
    // Every entry of the domain's content index, by hash and then index (LMDB's order), in one
    // read transaction: for a verifier that checks each against the vector file.
    std::vector<VectorHash> vector_hashes(const std::string& domain) const;

    // Drops and rewrites commits of one domain in one write transaction (Store::drop_commits
    // and vacuum): each commit named in `drop` is deleted, each record of `rewrite` replaces the
    // commit's record of the same name, and `domain_record`, when given, replaces the domain's
    // record (its next_key stays as stored: vacuum renumbers vectors, never keys), and
    // `vectors`, when given, replaces the domain's whole content index (vacuum renumbers the
    // vectors). Error(kNotFound) for an unknown domain or commit, Error(kInvalidArgument) for a
    // record that breaks a rule, a domain record of another name, or a commit both dropped and
    // rewritten; nothing is written then.
    void rewrite_commits(const std::string& domain, const std::vector<std::string>& drop,
                         const std::vector<CommitInfo>& rewrite,
                         const std::optional<DomainInfo>& domain_record = std::nullopt,
                         const std::optional<std::vector<VectorHash>>& vectors = std::nullopt);

  private:
    struct Impl;
    explicit Catalog(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vstore
