#include "file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "file_io.h"
#include "vstore/format/error.h"

namespace vstore::detail {

std::shared_ptr<const FileBytes> FileBytes::map(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            throw Error::not_found("'" + path + "' does not exist");
        throw Error::io("cannot open '" + path + "'", errno);
    }
    std::shared_ptr<FileBytes> f(new FileBytes());
    try {
        f->size_ = file_bytes(fd, path);
        if (f->size_ > 0) {
            void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED)
                throw Error::io("cannot map '" + path + "'", errno);
            // A graph search reads its lists in no order: a fault should read its page only.
            // The whole file is asked for at once, though (the kernel reads it ahead in the
            // background), so that a cold first search does not wait for its lists one page
            // fault at a time.
            ::madvise(p, f->size_, MADV_RANDOM);
            ::madvise(p, f->size_, MADV_WILLNEED);
            f->data_ = static_cast<const uint8_t*>(p);
            f->mapped_ = true;
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);  // the mapping keeps the file
    return f;
}

std::shared_ptr<const FileBytes> FileBytes::hold(std::vector<uint8_t> bytes) {
    std::shared_ptr<FileBytes> f(new FileBytes());
    f->held_ = std::move(bytes);
    f->data_ = f->held_.data();
    f->size_ = f->held_.size();
    return f;
}

FileBytes::~FileBytes() {
    if (mapped_)
        ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace vstore::detail
