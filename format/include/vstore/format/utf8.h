// The UTF-8 check of every name and id the library takes (RFC 3629), public so that a caller can
// check its ids, or text it sends elsewhere, before the library refuses them.
#pragma once

#include <cstddef>
#include <string_view>

#include "vstore/format/export.h"

namespace vstore::format {

// The offset of the first byte of `s` that is not part of valid UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or npos when all of it is.
VSTORE_API size_t first_invalid_utf8(std::string_view s);

}  // namespace vstore::format
