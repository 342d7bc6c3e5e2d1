// What the reading commands read: a store directory, or a pack (directory or archive), which
// holds one commit of one domain and answers exactly as that commit in its store.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vstore/pack.h"
#include "vstore/store.h"

namespace vstore::cli {

// A mistake in how the command was called (exit status 2), as opposed to bad input or data.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class Source {
  public:
    // Opens `path` as a store (a directory with a catalog) or else as a pack.
    static Source open(const std::string& path, StoreOptions options = {},
                       const PackOpenOptions& pack_options = {});

    bool is_pack() const { return pack_ != nullptr; }
    Store* store() const { return store_.get(); }
    const Pack* pack() const { return pack_.get(); }

    // The domain a command means: `requested`, or the only one there is. For a pack, a
    // requested domain must be the pack's.
    std::string domain(const std::optional<std::string>& requested) const;
    // The commit a command means: `requested` is required for a store; a pack has one.
    std::string commit(const std::string& domain,
                       const std::optional<std::string>& requested) const;
    std::shared_ptr<const Snapshot> open_commit(const std::optional<std::string>& domain,
                                                const std::optional<std::string>& commit) const;

    std::vector<DomainInfo> domains() const;
    std::vector<CommitInfo> commits(const std::string& domain) const;
    // The chain from `commit` back as far as this source knows it, newest first. A pack
    // knows only its own commit; its parent is named but not held.
    std::vector<CommitInfo> log(const std::string& domain, const std::string& commit) const;

  private:
    std::string path_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<Pack> pack_;
};

}  // namespace vstore::cli
