// A bounded set of page frames for serving a vector file without mapping all of it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "vstore/records.h"

namespace vstore {

class BufferPool;

namespace detail {

// One frame of the pool. A frame with pins > 0 is never evicted; its bytes below
// loaded_slots * slot_bytes never change while it holds the same page.
struct Frame {
    BufferPool* pool = nullptr;
    uint64_t page = 0;
    std::atomic<uint32_t> pins{0};
    bool in_lru = false;                  // guarded by the pool mutex
    std::list<Frame*>::iterator lru_pos;  // valid while in_lru
    std::mutex load_mutex;                // serializes filling the frame
    uint32_t loaded_slots = 0;            // guarded by load_mutex
    uint8_t* bytes = nullptr;             // frame_bytes inside the pool's arena
};

}  // namespace detail


// Fills slots [from, to) of `page` into `dest` (the frame's start). Throws on I/O errors and
// on pages that fail their checksums.
using PageLoader = std::function<void(uint64_t page, uint32_t from, uint32_t to, uint8_t* dest)>;

class BufferPool {
  public:
    // frame_count = budget_bytes / frame_bytes; throws Error(kInvalidArgument) if that is 0.
    BufferPool(size_t budget_bytes, uint32_t frame_bytes, PageLoader loader);
    ~BufferPool();
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    // Returns the frame holding `page` with at least `slots` slots loaded, pinned once.
    // Throws Error(kExhausted) when every frame is pinned.
    detail::Frame* pin(uint64_t page, uint32_t slots);
    // Adds a pin to a frame the caller already holds pinned.
    static void add_pin(detail::Frame* frame) {
        frame->pins.fetch_add(1, std::memory_order_relaxed);
    }
    // Drops one pin; the last one puts the frame on the LRU list.
    void unpin(detail::Frame* frame);

    BufferPoolStats stats() const;
    // Pages resident in unpinned frames, least recently used first: the eviction order.
    std::vector<uint64_t> eviction_order() const;

  private:
    detail::Frame* acquire_frame_locked(uint64_t page);

    const uint32_t frame_bytes_;
    const size_t frame_count_;
    PageLoader loader_;
    // frame_count_ * frame_bytes_ of anonymous memory reserved up front; a frame's pages become
    // resident only when a page is first read into it, so memory grows with use up to the
    // budget and no further.
    uint8_t* arena_ = nullptr;

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<detail::Frame>> frames_;  // allocated so far, <= frame_count_
    std::unordered_map<uint64_t, detail::Frame*> page_table_;
    std::list<detail::Frame*> lru_;  // unpinned resident frames, least recently used first
    uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

}  // namespace vstore
