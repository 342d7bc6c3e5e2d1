// How the searches reach a node's vector: through the file's mapping (MappedVectors) or
// through the buffer pool (PooledVectors). Shared by the graph search, the exact scan and the
// batched exact scan, so that all of them check vectors the same way. Internal to store/.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "distance.h"
#include "graph_layers.h"
#include "vstore/format/error.h"
#include "vstore/vector_file.h"
#include "vstore/verified_vectors.h"

namespace vstore::detail {

// n / d by a multiplication, exact for n < 2^32 (Lemire, Kaser and Kurz, "Faster remainder by
// direct computation", 2019); the hot path finds a vector's page and slot with it.
class FastDivisor {
  public:
    explicit FastDivisor(uint64_t d)
        : d_(d), m_(d > 1 && d < (uint64_t{1} << 32) ? ~uint64_t{0} / d + 1 : 0) {}
    uint64_t divide(uint64_t n) const {
        if (m_ != 0 && n < (uint64_t{1} << 32))
            return static_cast<uint64_t>((static_cast<unsigned __int128>(m_) * n) >> 64);
        return d_ == 1 ? n : n / d_;
    }

  private:
    uint64_t d_;
    uint64_t m_;
};

[[noreturn]] inline void bad_vector(const GraphLayers& g, uint32_t node, uint64_t index,
                                    uint64_t limit) {
    throw Error::corruption("graph file '" + g.name() + "': node " + std::to_string(node) +
                            " refers to vector " + std::to_string(index) + " of " +
                            std::to_string(limit));
}

// Mapped mode: a vector is a pointer into the file's mapping, found without locks or
// reference counts (spec/vector-file.md gives the arithmetic). With kChecked, a vector is
// used only once its bit in the file's verified bitmap is set: one relaxed load per vector in
// the common case, and the checksum check on its first use (which throws for a damaged one).
template <bool kChecked>
class MappedVectors {
  public:
    MappedVectors(const GraphLayers& g, const VectorFile& f, uint64_t limit, bool cold)
        : cold_(cold),
          g_(g),
          file_(f),
          layout_(f.layout()),
          limit_(limit),
          per_group_(layout_.vectors_per_group),
          per_page_(layout_.vectors_per_page),
          base_(f.map_base()),
          verified_(kChecked ? f.verified_bits() : nullptr) {
        prefetch_bytes_ = std::min<size_t>(layout_.vector_bytes, 4 * 64);
    }
    const float* at(uint32_t node) const {
        const uint64_t n = g_.vector_index(node);
        const float* v = address(node, n);
        if constexpr (kChecked) {
            if (!VerifiedVectors::test(verified_, n)) [[unlikely]]
                file_.check_mapped(n, verified_);
        }
        return v;
    }
    float distance(const Distance& d, const float* q, uint32_t node) const {
        return d(q, at(node));
    }
    // The first cache lines; the hardware streams the rest once the distance reads them.
    // The address alone: the distance checks the vector before it reads it.
    void prefetch(uint32_t node) const {
        const char* p = reinterpret_cast<const char*>(address(node, g_.vector_index(node)));
        if (cold_) {
            // A prefetch of a page that is not resident is dropped, and the distance then
            // waits for its page fault alone. The first searches of a commit ask the kernel
            // for the pages of a node's neighbours together, so that their reads overlap.
            const auto first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{4095};
            const auto end = reinterpret_cast<uintptr_t>(p) + layout_.vector_bytes;
            ::madvise(reinterpret_cast<void*>(first), end - first, MADV_WILLNEED);
            return;
        }
        for (size_t off = 0; off < prefetch_bytes_; off += 64)
            __builtin_prefetch(p + off);
    }

  private:
    const float* address(uint32_t node, uint64_t n) const {
        if (n >= limit_) [[unlikely]]
            bad_vector(g_, node, n, limit_);
        const uint64_t group = per_group_.divide(n);
        const uint64_t in_group = n - group * layout_.vectors_per_group;
        const uint64_t page = per_page_.divide(in_group);
        const uint64_t slot = in_group - page * layout_.vectors_per_page;
        return reinterpret_cast<const float*>(
            base_ + format::kHeaderPageBytes + group * layout_.group_bytes +
            format::kChecksumPageBytes + page * layout_.page_bytes + slot * layout_.vector_bytes);
    }

    bool cold_;
    const GraphLayers& g_;
    const VectorFile& file_;
    const format::VectorLayout& layout_;
    uint64_t limit_;
    FastDivisor per_group_, per_page_;
    const uint8_t* base_;
    // Covers every vector below limit_: the file grows the bitmap before it raises its size.
    VerifiedVectors::Word* verified_;
    size_t prefetch_bytes_ = 0;
};

// Pool mode: each vector is pinned through a LoadedVec for the length of its distance.
class PooledVectors {
  public:
    PooledVectors(const GraphLayers& g, const VectorFile& f, uint64_t limit)
        : g_(g), file_(f), limit_(limit) {}
    float distance(const Distance& d, const float* q, uint32_t node) const {
        const uint64_t n = g_.vector_index(node);
        if (n >= limit_) [[unlikely]]
            bad_vector(g_, node, n, limit_);
        const LoadedVec v = file_.get(n);
        return d(q, v.data());
    }
    // Copies the node's vector out, so that its page is pinned only for the copy.
    void copy(uint32_t node, float* out) const {
        const uint64_t n = g_.vector_index(node);
        if (n >= limit_) [[unlikely]]
            bad_vector(g_, node, n, limit_);
        const LoadedVec v = file_.get(n);
        std::copy(v.data(), v.data() + v.dimension(), out);
    }
    void prefetch(uint32_t) const {}

  private:
    const GraphLayers& g_;
    const VectorFile& file_;
    uint64_t limit_;
};

}  // namespace vstore::detail
