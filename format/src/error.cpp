#include "vstore/format/error.h"

#include <cstring>

namespace vstore {

std::string_view error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::kNotFound:
            return "not found";
        case ErrorCode::kInvalidArgument:
            return "invalid argument";
        case ErrorCode::kCorruption:
            return "corruption";
        case ErrorCode::kIO:
            return "I/O error";
        case ErrorCode::kConflict:
            return "conflict";
        case ErrorCode::kExhausted:
            return "exhausted";
    }
    return "unknown";
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(std::string(error_code_name(code)) + ": " + message),
      code_(code),
      message_(message) {}

Error Error::io(const std::string& m, int errno_value) {
    return {ErrorCode::kIO, m + ": " + std::strerror(errno_value)};
}

Error Error::version_mismatch(const std::string& what, uint64_t version,
                              std::string_view readable) {
    return invalid_argument(what + " has format version " + std::to_string(version) +
                            "; this build reads " + std::string(readable));
}

}  // namespace vstore
