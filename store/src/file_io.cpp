#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "vstore/format/error.h"

namespace vstore::detail {

FileDescriptor::~FileDescriptor() {
    if (fd_ >= 0)
        ::close(fd_);
}

uint64_t file_bytes(int fd, const std::string& path) {
    struct stat st;
    if (::fstat(fd, &st) != 0)
        throw Error::io("cannot stat '" + path + "'", errno);
    return static_cast<uint64_t>(st.st_size);
}

void write_all(int fd, const void* src, size_t bytes, uint64_t offset, const std::string& path) {
    const auto* p = static_cast<const uint8_t*>(src);
    while (bytes > 0) {
        const ssize_t n = ::pwrite(fd, p, bytes, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw Error::io("cannot write " + std::to_string(bytes) + " bytes at offset " +
                                std::to_string(offset) + " of '" + path + "'",
                            errno);
        }
        p += n;
        bytes -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
}

size_t read_some(int fd, void* dest, size_t bytes, uint64_t offset, const std::string& path) {
    auto* p = static_cast<uint8_t*>(dest);
    size_t done = 0;
    while (done < bytes) {
        const ssize_t n = ::pread(fd, p + done, bytes - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw Error::io("cannot read '" + path + "' at offset " + std::to_string(offset),
                            errno);
        }
        if (n == 0)
            break;
        done += static_cast<size_t>(n);
    }
    return done;
}

void sync_data(int fd, const std::string& path) {
    if (::fdatasync(fd) != 0)
        throw Error::io("cannot sync '" + path + "'", errno);
}

void sync_directory(const std::string& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw Error::io("cannot open directory '" + dir + "'", errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0)
        throw Error::io("cannot sync directory '" + dir + "'", err);
}

void create_directories_durably(const std::string& dir) {
    std::error_code ec;
    const std::filesystem::path path = std::filesystem::absolute(dir, ec).lexically_normal();
    if (ec)
        throw Error::io("cannot create directory '" + dir + "'", ec.value());
    // A path whose state cannot be read counts as existing: mkdir below it then names the error.
    std::vector<std::filesystem::path> missing;  // deepest first
    for (auto p = path; !p.empty() && std::filesystem::status(p, ec).type() ==
                                          std::filesystem::file_type::not_found;
         p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path())
            break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST)
            throw Error::io("cannot create directory '" + it->string() + "'", errno);
        sync_directory(it->parent_path().string());
    }
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            throw Error::not_found("'" + path + "' does not exist");
        throw Error::io("cannot open '" + path + "'", errno);
    }
    try {
        std::vector<uint8_t> bytes(file_bytes(fd, path));
        bytes.resize(read_some(fd, bytes.data(), bytes.size(), 0, path));
        ::close(fd);
        return bytes;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

}  // namespace vstore::detail
