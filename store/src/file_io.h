// POSIX file I/O shared by the store's files: whole reads and writes that retry on EINTR and
// turn failures into vstore::Error naming the file. Internal to store/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vstore::detail {

// An open file descriptor, closed (and so any flock on it released) when this goes. -1: none.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor();
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

uint64_t file_bytes(int fd, const std::string& path);
// Writes all `bytes` at `offset`.
void write_all(int fd, const void* src, size_t bytes, uint64_t offset, const std::string& path);
// Reads up to `bytes` at `offset`; returns how many there were before end of file.
size_t read_some(int fd, void* dest, size_t bytes, uint64_t offset, const std::string& path);
void sync_data(int fd, const std::string& path);
// fsync of a directory, so that names created or renamed in it are durable.
void sync_directory(const std::string& dir);
// Creates `dir` and its missing parents, each durably: when one is created, the directory
// that holds it is synced, so that its name survives a power failure as its contents do.
void create_directories_durably(const std::string& dir);
// The whole file. Error(kNotFound) when it does not exist.
std::vector<uint8_t> read_whole_file(const std::string& path);

}  // namespace vstore::detail
