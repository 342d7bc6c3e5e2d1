// The staging directory of a pack writer (spec/pack.md, "Writing"): made beside the pack's
// destination, so that the last step is a rename or a link within one file system, and locked
// for as long as it is used, so that a later writer can tell a crashed writer's directory from
// a live one's by the lock, never by a process id. Internal to store/.
#pragma once

#include <string>

#include "vstore/crash_leftovers.h"

namespace vstore::detail {

// Names start with this, then the creator's process id (for people; liveness is the lock's):
// `.vstore-pack-staging-<pid>-XXXXXX`.
inline constexpr const char* kStagingPrefix = ".vstore-pack-staging-";

class StagingDir {
  public:
    // Removes the stale staging directories of `parent` (reported to `report` when there are
    // any), then makes a new one there, mode 0700, and holds flock(LOCK_EX) on it. Both happen
    // under flock(LOCK_EX) on `parent` itself, so that no writer removes a directory another
    // has made but not yet locked. Error(kIO) when the directory cannot be made or locked.
    StagingDir(const std::string& parent, const CrashLeftoversReport& report);
    // Removes the directory (unless released), then lets go of its lock.
    ~StagingDir();
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;

    const std::string& path() const { return path_; }
    // The directory was renamed away (to become the pack): it is not removed, only unlocked.
    void release() { path_.clear(); }

  private:
    std::string path_;
    int fd_ = -1;  // the directory, flock'ed
};

}  // namespace vstore::detail
