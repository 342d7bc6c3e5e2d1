// Which vectors of a mapped vector file have been checked against their stored checksums.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>
#include "vstore/format/export.h"

namespace vstore {

// One bit per vector, set once some reader has checked that vector against its checksum
// (spec/vector-file.md, "Reading"). Readers test and set bits without locks: two threads may
// both check a vector, which is harmless, and a bit is only ever set after a check passed.
// Relaxed order suffices: a set bit publishes no data, only the verdict on bytes that never
// change once durable.
//
// The bitmap grows with the file. grow() allocates a larger bitmap, copies the bits set so far
// and publishes it; older bitmaps live as long as this object, so a reader holding one keeps
// using it. A bit set in an older bitmap after the copy is lost to the newer one, which then
// checks that vector again.
class VSTORE_API VerifiedVectors {
  public:
    using Word = std::atomic<uint64_t>;

    // The newest bitmap. It covers every vector below the count published (with release)
    // after the grow() that made it.
    Word* words() const noexcept { return current_.load(std::memory_order_acquire); }

    static bool test(const Word* words, uint64_t n) noexcept {
        return (words[n >> 6].load(std::memory_order_relaxed) >> (n & 63)) & 1;
    }
    static void set(Word* words, uint64_t n) noexcept {
        words[n >> 6].fetch_or(uint64_t{1} << (n & 63), std::memory_order_relaxed);
    }

    // Makes words() cover vectors [0, vectors). Calls must not overlap.
    void grow(uint64_t vectors);

  private:
    std::vector<std::unique_ptr<Word[]>> bitmaps_;
    uint64_t capacity_words_ = 0;  // of the newest bitmap
    std::atomic<Word*> current_{nullptr};
};

}  // namespace vstore
