// What the SQL functions name by path: a store directory, or a pack (directory or archive),
// which holds one commit of one domain, opened read-only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vstore/pack.h"
#include "vstore/store.h"

namespace vstore::sql {

class Source {
  public:
    // Opens `path` (canonical: store_registry.h opens each path once per process) as a store,
    // a directory with a catalog, or else as a pack. Error(kInvalidArgument) for anything else.
    static std::unique_ptr<Source> open(const std::string& path);

    const std::string& path() const { return path_; }
    bool is_pack() const { return pack_ != nullptr; }

    // The domain a call means: `requested`, or the only one there is (a pack's, or a store's
    // single domain) when it is NULL. Error(kNotFound) for a domain the source lacks.
    std::string domain(const std::optional<std::string>& requested) const;
    // A commit of that domain: `requested`, or the domain's newest (by creation time, as
    // `vstore log` orders them) when it is NULL.
    std::shared_ptr<const Snapshot> snapshot(const std::optional<std::string>& domain,
                                             const std::optional<std::string>& commit) const;
    // The store, to write a commit to. Error(kInvalidArgument) for a pack, which is never
    // written to.
    Store& writable_store() const;

  private:
    std::string path_;
    std::shared_ptr<Store> store_;  // Store::open_shared's: shared with `import vstore`
    std::unique_ptr<Pack> pack_;
};

}  // namespace vstore::sql
