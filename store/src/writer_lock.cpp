#include "writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "vstore/format/error.h"

namespace vstore::detail {

WriterLock::WriterLock(const std::string& dir) {
    const std::string path = dir + "/writer.lock";
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw Error::io("cannot open '" + path + "'", errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        fd_ = -1;
        throw Error::conflict("store '" + dir + "' is busy: another writer is at work on it");
    }
}

WriterLock::WriterLock(const std::string& dir, Wait) {
    const std::string path = dir + "/writer.lock";
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw Error::io("cannot open '" + path + "'", errno);
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw Error::io("cannot lock '" + path + "'", err);
    }
}

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

void WriterLock::release() noexcept {
    if (fd_ >= 0)
        ::close(fd_);  // releases the flock
    fd_ = -1;
}

}  // namespace vstore::detail
