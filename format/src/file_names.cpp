#include "vstore/format/file_names.h"

#include "vstore/format/error.h"

namespace vstore::format {
namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '~' || c == '-';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

}  // namespace

void validate_name(std::string_view what, std::string_view name) {
    const std::string w(what);
    if (name.empty())
        throw Error::invalid_argument(w + " name is empty");
    if (name.size() > kMaxNameBytes) {
        throw Error::invalid_argument(w + " name is " + std::to_string(name.size()) +
                                      " bytes; the limit is " + std::to_string(kMaxNameBytes));
    }
    if (name.find('\0') != std::string_view::npos) {
        throw Error::invalid_argument(w + " name contains a NUL byte");
    }
    if (const size_t bad = first_invalid_utf8(name); bad != std::string_view::npos) {
        throw Error::invalid_argument(w + " name is not valid UTF-8 (byte " + std::to_string(bad) +
                                      ")");
    }
}

std::string percent_encode(std::string_view name) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(name.size());
    for (size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (is_unreserved(c) && !(i == 0 && c == '.')) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    return out;
}

std::string percent_decode(std::string_view encoded) {
    std::string out;
    out.reserve(encoded.size());
    for (size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] != '%') {
            out.push_back(encoded[i]);
            continue;
        }
        const int hi = i + 2 < encoded.size() ? hex_value(encoded[i + 1]) : -1;
        const int lo = i + 2 < encoded.size() ? hex_value(encoded[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            throw Error::invalid_argument("malformed percent escape at byte " + std::to_string(i) +
                                          " of '" + std::string(encoded) + "'");
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string vector_file_name(std::string_view domain, uint32_t generation) {
    validate_name("domain", domain);
    if (generation == 0)
        throw Error::invalid_argument("vector file generations start at 1");
    std::string file = percent_encode(domain);
    if (generation > 1) {
        file += '@';
        file += std::to_string(generation);
    }
    file += ".vecs";
    if (file.size() > kMaxFileNameBytes) {
        throw Error::invalid_argument(
            "domain '" + std::string(domain) + "' encodes to a " + std::to_string(file.size()) +
            "-byte file name; the limit is " + std::to_string(kMaxFileNameBytes));
    }
    return file;
}

bool is_vector_file_of(std::string_view file, std::string_view domain) {
    const std::string encoded = percent_encode(domain);
    if (file.size() < encoded.size() + 5 || file.substr(0, encoded.size()) != encoded ||
        file.substr(file.size() - 5) != ".vecs")
        return false;
    const std::string_view middle = file.substr(encoded.size(), file.size() - 5 - encoded.size());
    if (middle.empty())
        return true;
    // "@<generation>": '@' is escaped inside encoded names, so no other domain's file matches.
    return middle.size() >= 2 && middle[0] == '@' && middle[1] != '0' && middle != "@1" &&
           middle.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace vstore::format
