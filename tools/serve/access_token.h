// The bearer token of `vstore serve --token-file`.
#pragma once

#include <string>

namespace vstore::serve {

// The token in `path`: its first line, without surrounding white space. Error(kNotFound) for
// a missing file, Error(kInvalidArgument) for an empty token or one with characters an
// Authorization header cannot carry.
std::string read_access_token(const std::string& path);

// Whether an Authorization header's value is "Bearer <token>". The comparison takes the same
// time wherever the two first differ, so that a client cannot find the token byte by byte.
bool bearer_token_matches(const std::string& header, const std::string& token);

}  // namespace vstore::serve
