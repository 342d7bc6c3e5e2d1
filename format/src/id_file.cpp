#include "vstore/format/id_file.h"

#include <algorithm>

#include "vstore/format/bytes.h"
#include "vstore/format/error.h"

namespace vstore::format {
namespace {

// Header fields (spec/pack.md, "The id file").
constexpr size_t kVersionAt = 8;
constexpr size_t kReservedAt = 12;
constexpr size_t kCountAt = 16;
constexpr size_t kBodyBytesAt = 24;
constexpr size_t kBodyChecksumAt = 32;
constexpr size_t kHeaderChecksumAt = 40;
constexpr uint64_t kBodySeed = 0x6964626f6479ULL;  // "idbody"

}  // namespace

std::vector<uint8_t> encode_id_file(const std::vector<std::string>& ids) {
    size_t body_bytes = 0;
    for (const auto& id : ids) {
        if (id.size() > kMaxExternalIdBytes)
            throw Error::invalid_argument("an external id is longer than 4096 bytes");
        body_bytes += 4 + id.size();
    }
    std::vector<uint8_t> out(kIdFileHeaderBytes + body_bytes);
    uint8_t* p = out.data() + kIdFileHeaderBytes;
    for (const auto& id : ids) {
        store_le<uint32_t>(p, static_cast<uint32_t>(id.size()));
        std::copy(id.begin(), id.end(), p + 4);
        p += 4 + id.size();
    }
    std::copy(kIdFileMagic.begin(), kIdFileMagic.end(), out.begin());
    store_le<uint32_t>(&out[kVersionAt], kIdFileVersion);
    store_le<uint32_t>(&out[kReservedAt], 0);
    store_le<uint64_t>(&out[kCountAt], ids.size());
    store_le<uint64_t>(&out[kBodyBytesAt], body_bytes);
    store_le<uint64_t>(&out[kBodyChecksumAt],
                       checksum64({out.data() + kIdFileHeaderBytes, body_bytes}, kBodySeed));
    store_le<uint64_t>(&out[kHeaderChecksumAt], checksum64({out.data(), kHeaderChecksumAt}));
    return out;
}

std::vector<std::string> decode_id_file(std::span<const uint8_t> bytes, std::string_view file) {
    const std::string where = "id file '" + std::string(file) + "'";
    auto damaged = [&](const std::string& what) { return Error::corruption(where + ": " + what); };
    if (bytes.size() < kIdFileHeaderBytes)
        throw damaged("shorter than its 48-byte header");
    if (!std::equal(kIdFileMagic.begin(), kIdFileMagic.end(), bytes.begin()))
        throw damaged("bad magic (not an id file)");
    if (load_le<uint64_t>(&bytes[kHeaderChecksumAt]) !=
        checksum64(bytes.subspan(0, kHeaderChecksumAt))) {
        throw damaged("header checksum mismatch");
    }
    const uint32_t version = load_le<uint32_t>(&bytes[kVersionAt]);
    if (version != kIdFileVersion) {
        throw Error::version_mismatch(where, version, "version " + std::to_string(kIdFileVersion));
    }
    if (load_le<uint32_t>(&bytes[kReservedAt]) != 0)
        throw damaged("reserved header field is not zero");
    const uint64_t count = load_le<uint64_t>(&bytes[kCountAt]);
    const uint64_t body_bytes = load_le<uint64_t>(&bytes[kBodyBytesAt]);
    if (body_bytes != bytes.size() - kIdFileHeaderBytes)
        throw damaged("body length does not match the file size");
    const auto body = bytes.subspan(kIdFileHeaderBytes);
    if (load_le<uint64_t>(&bytes[kBodyChecksumAt]) != checksum64(body, kBodySeed))
        throw damaged("body checksum mismatch");
    // Each id takes at least its 4-byte length, which bounds the count before allocating.
    if (count > body.size() / 4)
        throw damaged("count " + std::to_string(count) + " does not fit the body");
    std::vector<std::string> ids;
    ids.reserve(count);
    size_t at = 0;
    for (uint64_t i = 0; i < count; ++i) {
        if (body.size() - at < 4)
            throw damaged("id " + std::to_string(i) + " runs past the end");
        const uint32_t length = load_le<uint32_t>(&body[at]);
        at += 4;
        if (length > kMaxExternalIdBytes || length > body.size() - at)
            throw damaged("id " + std::to_string(i) + " has a bad length");
        ids.emplace_back(reinterpret_cast<const char*>(&body[at]), length);
        at += length;
    }
    if (at != body.size())
        throw damaged("bytes after the last id");
    return ids;
}

}  // namespace vstore::format
