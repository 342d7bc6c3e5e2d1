// The bytes of a file the store reads in place: a read-only memory map, or bytes held in memory
// (a version 1 graph converted on open, a file built by a test). Internal to store/.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace vstore::detail {

class FileBytes {
  public:
    // Maps `path` read-only, advised random access. Error(kNotFound) when it does not exist,
    // Error(kIO) when it cannot be opened or mapped. An empty file maps to no bytes.
    static std::shared_ptr<const FileBytes> map(const std::string& path);
    static std::shared_ptr<const FileBytes> hold(std::vector<uint8_t> bytes);
    ~FileBytes();
    FileBytes(const FileBytes&) = delete;
    FileBytes& operator=(const FileBytes&) = delete;

    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    bool mapped() const { return mapped_; }

  private:
    FileBytes() = default;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    bool mapped_ = false;
    std::vector<uint8_t> held_;
};

}  // namespace vstore::detail
