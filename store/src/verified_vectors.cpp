#include "vstore/verified_vectors.h"

#include <algorithm>

namespace vstore {

namespace {
// Room for this many vectors at least, so that small files never grow the bitmap.
constexpr uint64_t kMinWords = 64;
}  // namespace

void VerifiedVectors::grow(uint64_t vectors) {
    const uint64_t needed = (vectors + 63) / 64;
    if (needed <= capacity_words_ && !bitmaps_.empty())
        return;
    // Twice what is needed, as the mapping reserves ahead, so that a growing file allocates
    // a bitmap only now and then.
    const uint64_t words = std::max(kMinWords, 2 * needed);
    auto bitmap = std::make_unique<Word[]>(words);
    if (Word* old = current_.load(std::memory_order_relaxed); old != nullptr) {
        for (uint64_t i = 0; i < capacity_words_; ++i)
            bitmap[i].store(old[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    capacity_words_ = words;
    current_.store(bitmap.get(), std::memory_order_release);
    bitmaps_.push_back(std::move(bitmap));
}

}  // namespace vstore
