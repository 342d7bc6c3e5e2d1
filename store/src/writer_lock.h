// The store's writer lock: one writer at a time per store directory, across processes.
// Builders hold it from begin_commit until the commit is published; create_domain, the
// catalog's creation, drop, gc and vacuum hold it while they change the catalog and the files.
// Every temporary file of the store is written under it (spec/lifecycle.md, "Crash
// leftovers"). Internal to store/.
#pragma once

#include <string>

namespace vstore::detail {

class WriterLock {
  public:
    // flock(LOCK_EX | LOCK_NB) on `<dir>/writer.lock` (created if missing). Error(kConflict)
    // naming the store when another writer holds it, Error(kIO) when the file cannot be opened.
    explicit WriterLock(const std::string& dir);
    // Waits for the lock instead (flock(LOCK_EX)): for the catalog's creation, which is brief
    // and meets no other writer but another creator.
    struct Wait {};
    WriterLock(const std::string& dir, Wait);
    WriterLock(WriterLock&& other) noexcept;
    WriterLock& operator=(WriterLock&&) = delete;
    WriterLock(const WriterLock&) = delete;
    ~WriterLock() { release(); }
    void release() noexcept;  // early; the destructor does it otherwise

  private:
    int fd_ = -1;
};

}  // namespace vstore::detail
