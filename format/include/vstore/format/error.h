// The one error type of the vstore library.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include "vstore/format/export.h"

namespace vstore {

enum class ErrorCode {
    kNotFound,         // a file, domain, commit or id that does not exist
    kInvalidArgument,  // the caller passed something the library cannot accept
    kCorruption,       // bytes on disk do not match what the format promises
    kIO,               // the operating system refused a read, write, sync or map
    kConflict,         // another writer holds the resource, or an id/commit already exists
    kExhausted,        // a bounded resource (buffer pool frames) has nothing left to give
};

VSTORE_API std::string_view error_code_name(ErrorCode code);

// Thrown by every fallible call. what() is one line that names the file, domain, commit or id
// at fault, prefixed with the category ("corruption: ...").
class VSTORE_API Error : public std::runtime_error {
  public:
    Error(ErrorCode code, const std::string& message);

    ErrorCode code() const noexcept { return code_; }
    // The message without the category prefix.
    const std::string& message() const noexcept { return message_; }

    static Error not_found(const std::string& m) { return {ErrorCode::kNotFound, m}; }
    static Error invalid_argument(const std::string& m) { return {ErrorCode::kInvalidArgument, m}; }
    static Error corruption(const std::string& m) { return {ErrorCode::kCorruption, m}; }
    static Error conflict(const std::string& m) { return {ErrorCode::kConflict, m}; }
    static Error exhausted(const std::string& m) { return {ErrorCode::kExhausted, m}; }
    // An I/O error carrying the text of errno.
    static Error io(const std::string& m, int errno_value);
    // A file of a format version this build does not read, the same for every file kind
    // (catalog, vector file, graph file, id file, pack config): kInvalidArgument, since the
    // file is not damaged, only not readable here. "WHAT has format version V; this build
    // reads READABLE" (READABLE as "version 1" or "versions 1 and 2").
    static Error version_mismatch(const std::string& what, uint64_t version,
                                  std::string_view readable);

  private:
    ErrorCode code_;
    std::string message_;
};

}  // namespace vstore
