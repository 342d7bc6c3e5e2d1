#include "writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "vstore/format/error.h"

namespace vstore::detail {

namespace {

// `<dir>/writer.lock`, opened (created if missing) and flock'ed with `operation`; -1 when
// LOCK_NB finds it held.
int lock_file(const std::string& dir, int operation) {
    const std::string path = dir + "/writer.lock";
    const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error::io("cannot open '" + path + "'", errno);
    int rc;
    while ((rc = ::flock(fd, operation)) != 0 && errno == EINTR) {
    }
    if (rc == 0)
        return fd;
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
        return -1;
    throw Error::io("cannot lock '" + path + "'", err);
}

}  // namespace

WriterLock::WriterLock(const std::string& dir) : fd_(lock_file(dir, LOCK_EX | LOCK_NB)) {
    if (fd_ < 0)
        throw Error::conflict("store '" + dir + "' is busy: another writer is at work on it");
}

WriterLock::WriterLock(const std::string& dir, Wait) : fd_(lock_file(dir, LOCK_EX)) {}

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

void WriterLock::release() noexcept {
    if (fd_ >= 0)
        ::close(fd_);  // releases the flock
    fd_ = -1;
}

}  // namespace vstore::detail
