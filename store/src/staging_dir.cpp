#include "staging_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "file_io.h"
#include "vstore/format/error.h"

namespace vstore::detail {

namespace fs = std::filesystem;

namespace {

// flock(LOCK_EX) on an open file, waiting; false when the file system has no locks.
bool lock_waiting(int fd) {
    for (;;) {
        if (::flock(fd, LOCK_EX) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

// The bytes of the regular files under `dir`, links not followed.
uint64_t tree_bytes(const fs::path& dir) {
    uint64_t bytes = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code size_ec;
        if (it->symlink_status(size_ec).type() == fs::file_type::regular) {
            const uint64_t n = it->file_size(size_ec);
            if (!size_ec)
                bytes += n;
        }
    }
    return bytes;
}

// Every staging directory of `parent` whose lock no process holds, removed; the caller holds
// the lock of `parent`, so none of them is one that a writer has made and not yet locked.
CrashLeftovers remove_stale_staging_dirs(const std::string& parent) {
    CrashLeftovers removed;
    removed.dir = parent;
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::error_code type_ec;
        if (name.rfind(kStagingPrefix, 0) != 0 || !it->is_directory(type_ec) ||
            it->is_symlink(type_ec))
            continue;
        const std::string path = it->path().string();
        const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;  // not ours to judge (another user's, say)
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            // No process holds it: its writer is gone, whatever became of its process id.
            const uint64_t bytes = tree_bytes(path);
            std::error_code remove_ec;
            fs::remove_all(path, remove_ec);
            if (!remove_ec) {
                removed.names.push_back(name);
                removed.bytes += bytes;
            }
        }
        ::close(fd);
    }
    std::sort(removed.names.begin(), removed.names.end());
    return removed;
}

}  // namespace

StagingDir::StagingDir(const std::string& parent, const CrashLeftoversReport& report) {
    // Held while stale directories are removed and the new one is made and locked; a parent
    // that cannot be opened or locked gets no cleanup, as nothing could be proved there.
    const FileDescriptor parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (parent_fd.get() >= 0 && lock_waiting(parent_fd.get())) {
        const CrashLeftovers removed = remove_stale_staging_dirs(parent);
        if (!removed.names.empty() && report)
            report(removed);
    }
    std::string pattern = parent + "/" + kStagingPrefix;
    pattern += std::to_string(::getpid());
    pattern += "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw Error::io("cannot create a staging directory like '" + pattern + "'", errno);
    fd_ = ::open(pattern.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (fd_ >= 0)
            ::close(fd_);
        ::rmdir(pattern.c_str());
        throw Error::io("cannot lock staging directory '" + pattern + "'", err);
    }
    path_ = pattern;
}

StagingDir::~StagingDir() {
    if (!path_.empty()) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ::close(fd_);
}

}  // namespace vstore::detail
