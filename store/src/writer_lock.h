// The store's writer lock: one writer at a time per store directory, across processes.
// Builders hold it from begin_commit until the commit is published; drop, gc and vacuum hold
// it while they change the catalog and the files. Internal to store/.
#pragma once

#include <string>

namespace vstore::detail {

class WriterLock {
  public:
    // flock(LOCK_EX | LOCK_NB) on `<dir>/writer.lock` (created if missing). Error(kConflict)
    // naming the store when another writer holds it, Error(kIO) when the file cannot be opened.
    explicit WriterLock(const std::string& dir);
    WriterLock(WriterLock&& other) noexcept;
    WriterLock& operator=(WriterLock&&) = delete;
    WriterLock(const WriterLock&) = delete;
    ~WriterLock() { release(); }
    void release() noexcept;  // early; the destructor does it otherwise

  private:
    int fd_ = -1;
};

}  // namespace vstore::detail
