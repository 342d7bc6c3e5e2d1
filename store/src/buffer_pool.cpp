#include "buffer_pool.h"

#include <sys/mman.h>

#include <cerrno>

#include "vstore/format/error.h"

namespace vstore {

BufferPool::BufferPool(size_t budget_bytes, uint32_t frame_bytes, PageLoader loader)
    : frame_bytes_(frame_bytes),
      frame_count_(budget_bytes / frame_bytes),
      loader_(std::move(loader)) {
    if (frame_count_ == 0) {
        throw Error::invalid_argument("buffer pool budget of " + std::to_string(budget_bytes) +
                                      " bytes is smaller than one page (" +
                                      std::to_string(frame_bytes) + " bytes)");
    }
    void* arena = ::mmap(nullptr, frame_count_ * frame_bytes_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED) {
        throw Error::io("cannot reserve " + std::to_string(frame_count_ * frame_bytes_) +
                            " bytes for the buffer pool",
                        errno);
    }
    arena_ = static_cast<uint8_t*>(arena);
}

BufferPool::~BufferPool() {
    ::munmap(arena_, frame_count_ * frame_bytes_);
}

detail::Frame* BufferPool::acquire_frame_locked(uint64_t page) {
    detail::Frame* frame = nullptr;
    if (frames_.size() < frame_count_) {
        auto f = std::make_unique<detail::Frame>();
        f->bytes = arena_ + frames_.size() * frame_bytes_;
        f->pool = this;
        frame = f.get();
        frames_.push_back(std::move(f));
    } else if (!lru_.empty()) {
        frame = lru_.front();
        lru_.pop_front();
        frame->in_lru = false;
        page_table_.erase(frame->page);
        ++evictions_;
    } else {
        throw Error::exhausted("buffer pool of " + std::to_string(frame_count_) + " frames (" +
                               std::to_string(frame_count_ * frame_bytes_) +
                               " bytes) has every frame pinned by a live LoadedVec; release "
                               "handles or raise the pool budget");
    }
    {
        std::lock_guard frame_lock(frame->load_mutex);
        frame->loaded_slots = 0;
    }
    frame->page = page;
    page_table_.emplace(page, frame);
    return frame;
}

detail::Frame* BufferPool::pin(uint64_t page, uint32_t slots) {
    detail::Frame* frame;
    {
        std::lock_guard lock(mutex_);
        auto it = page_table_.find(page);
        if (it != page_table_.end()) {
            frame = it->second;
            ++hits_;
            if (frame->in_lru) {
                lru_.erase(frame->lru_pos);
                frame->in_lru = false;
            }
        } else {
            frame = acquire_frame_locked(page);
            ++misses_;
        }
        frame->pins.fetch_add(1, std::memory_order_acq_rel);
    }
    try {
        std::lock_guard frame_lock(frame->load_mutex);
        if (frame->loaded_slots < slots) {
            loader_(page, frame->loaded_slots, slots, frame->bytes);
            frame->loaded_slots = slots;
        }
    } catch (...) {
        unpin(frame);
        throw;
    }
    return frame;
}

void BufferPool::unpin(detail::Frame* frame) {
    if (frame->pins.fetch_sub(1, std::memory_order_acq_rel) != 1)
        return;
    std::lock_guard lock(mutex_);
    // Another thread may have pinned the frame again between the decrement and the lock.
    if (frame->pins.load(std::memory_order_acquire) == 0 && !frame->in_lru) {
        frame->lru_pos = lru_.insert(lru_.end(), frame);
        frame->in_lru = true;
    }
}

BufferPoolStats BufferPool::stats() const {
    std::lock_guard lock(mutex_);
    BufferPoolStats s;
    s.frame_count = frame_count_;
    s.frame_bytes = frame_bytes_;
    s.allocated_frames = frames_.size();
    for (const auto& f : frames_) {
        if (f->pins.load(std::memory_order_acquire) > 0)
            ++s.pinned_frames;
    }
    s.hits = hits_;
    s.misses = misses_;
    s.evictions = evictions_;
    return s;
}

std::vector<uint64_t> BufferPool::eviction_order() const {
    std::lock_guard lock(mutex_);
    std::vector<uint64_t> pages;
    pages.reserve(lru_.size());
    for (const detail::Frame* f : lru_)
        pages.push_back(f->page);
    return pages;
}

}  // namespace vstore
