// The zstd body encoding shared by graph file versions 1 and 2 (spec/graph-file.md, "Body
// encoding"): the writer's rule and the hostile-input-safe decompression. Internal to format/.
#pragma once

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vstore/format/error.h"

namespace vstore::format::detail {

inline constexpr int kGraphZstdLevel = 3;
// Readers refuse zstd frames whose window is larger than 2^23 bytes (8 MiB), so a hostile
// frame header cannot make the decoder reserve a large window.
inline constexpr int kGraphZstdWindowLogMax = 23;
// A zstd block decodes to at most 128 KiB and takes at least 4 bytes.
inline constexpr uint64_t kGraphMaxZstdExpansion = 32768;

// The zstd frame of `raw` when it saves at least 1/8 of the bytes, else nullopt.
inline std::optional<std::vector<uint8_t>> compress_if_worth_it(const std::vector<uint8_t>& raw) {
    if (raw.empty())
        return std::nullopt;
    std::vector<uint8_t> out(ZSTD_compressBound(raw.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), kGraphZstdLevel);
    if (ZSTD_isError(n)) {
        throw Error::invalid_argument(std::string("zstd compression of a graph body failed: ") +
                                      ZSTD_getErrorName(n));
    }
    if (8 * uint64_t(n) > 7 * uint64_t(raw.size()))
        return std::nullopt;
    out.resize(n);
    return out;
}

// True when raw_bytes > 32768 * stored_bytes, computed without overflow.
inline bool zstd_claim_too_large(uint64_t raw_bytes, uint64_t stored_bytes) {
    return raw_bytes / kGraphMaxZstdExpansion + (raw_bytes % kGraphMaxZstdExpansion != 0) >
           stored_bytes;
}

struct DCtxFree {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Decompresses one zstd frame that must fill exactly `raw_bytes`. The output buffer grows as
// output arrives, so a header that claims a huge raw length costs nothing by itself. `where`
// starts every message ("graph file '...'").
inline std::vector<uint8_t> decompress_body(std::span<const uint8_t> stored, uint64_t raw_bytes,
                                            const std::string& where) {
    auto fail = [&](const std::string& what) {
        return Error::corruption(where + ": zstd body " + what);
    };
    std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
    if (!dctx)
        throw Error::exhausted(where + ": cannot allocate a zstd decompression context");
    const size_t set =
        ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kGraphZstdWindowLogMax);
    if (ZSTD_isError(set))
        throw fail(std::string("cannot be decoded: ") + ZSTD_getErrorName(set));

    // One byte of room past raw_bytes tells "exactly raw_bytes" from "more than raw_bytes".
    const uint64_t limit = raw_bytes + 1;
    std::vector<uint8_t> out(static_cast<size_t>(std::min<uint64_t>(
        limit, std::max<uint64_t>(uint64_t(1) << 16, 4 * uint64_t(stored.size())))));
    ZSTD_inBuffer in{stored.data(), stored.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    for (;;) {
        const size_t r = ZSTD_decompressStream(dctx.get(), &ob, &in);
        if (ZSTD_isError(r))
            throw fail(std::string("fails to decompress: ") + ZSTD_getErrorName(r));
        if (ob.pos > raw_bytes) {
            throw fail("decompresses to more than raw_body_bytes = " + std::to_string(raw_bytes) +
                       " bytes");
        }
        if (r == 0)
            break;  // the frame is complete and flushed
        if (ob.pos == ob.size) {
            out.resize(static_cast<size_t>(std::min<uint64_t>(limit, 2 * uint64_t(out.size()))));
            ob.dst = out.data();
            ob.size = out.size();
        } else if (in.pos == in.size) {
            throw fail("ends in the middle of its zstd frame");
        }
    }
    if (in.pos != in.size) {
        throw fail("has " + std::to_string(in.size - in.pos) + " bytes after its zstd frame");
    }
    if (ob.pos != raw_bytes) {
        throw fail("decompresses to " + std::to_string(ob.pos) + " bytes; raw_body_bytes is " +
                   std::to_string(raw_bytes));
    }
    out.resize(ob.pos);
    return out;
}

}  // namespace vstore::format::detail
