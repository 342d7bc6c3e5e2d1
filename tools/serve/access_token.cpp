#include "access_token.h"

#include <cerrno>
#include <fstream>

#include "vstore/format/error.h"

namespace vstore::serve {

std::string read_access_token(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT)
            throw Error::not_found("--token-file " + path + ": no such file");
        throw Error::io("--token-file " + path + ": cannot read", errno);
    }
    std::string line;
    std::getline(in, line);
    const auto first = line.find_first_not_of(" \t\r");
    const auto last = line.find_last_not_of(" \t\r");
    const std::string token =
        first == std::string::npos ? "" : line.substr(first, last - first + 1);
    if (token.empty())
        throw Error::invalid_argument("--token-file " + path + ": the first line holds no token");
    for (const char c : token) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f)
            throw Error::invalid_argument(
                "--token-file " + path +
                ": the token may hold only printable ASCII without spaces");
    }
    return token;
}

bool bearer_token_matches(const std::string& header, const std::string& token) {
    static constexpr std::string_view kScheme = "Bearer ";
    if (header.size() < kScheme.size() || header.compare(0, kScheme.size(), kScheme) != 0)
        return false;
    const std::string_view given = std::string_view(header).substr(kScheme.size());
    // Every byte of the token is compared, whatever the given one's length.
    unsigned char differ = given.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < token.size(); ++i) {
        const char g = i < given.size() ? given[i] : 0;
        differ |= static_cast<unsigned char>(g ^ token[i]);
    }
    return differ == 0;
}

}  // namespace vstore::serve
