#include "embed_protocol.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "inputs.h"
#include "vstore/format/error.h"

namespace vstore::embed {
namespace {

using nlohmann::json;

constexpr const char* kExpected = "expected {\"vectors\": [[...], ...]} or {\"error\": \"...\"}";

// The start of a line as it appears in messages: JSON-quoted, so that any bytes stay on one
// line and printable.
std::string excerpt(std::string_view line) {
    constexpr size_t kShown = 80;
    std::string q = json(std::string(line.substr(0, kShown)))
                        .dump(-1, ' ', false, json::error_handler_t::replace);
    return line.size() > kShown ? q + "..." : q;
}

std::string one_line(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    constexpr size_t kShown = 500;
    return s.size() > kShown ? s.substr(0, kShown) + "..." : s;
}

}  // namespace

std::string request_line(std::span<const std::string> texts) {
    json request = {{"texts", json::array()}};
    json& array = request["texts"];
    for (const std::string& text : texts)
        array.push_back(text);
    return request.dump() + '\n';
}

Answer parse_answer(std::string_view line, size_t count, const std::string& where) {
    json answer;
    try {
        answer = json::parse(line);
    } catch (const json::parse_error& e) {
        throw Error::invalid_argument(where + " is not JSON (at byte " + std::to_string(e.byte) +
                                      "): " + excerpt(line));
    } catch (const json::exception&) {  // a number beyond the range of a double
        throw Error::invalid_argument(where + " holds a number beyond any float: " + excerpt(line));
    }
    if (!answer.is_object())
        throw Error::invalid_argument(where + ": " + kExpected + ", not " + excerpt(line));
    if (const auto error = answer.find("error"); error != answer.end()) {
        if (!error->is_string())
            throw Error::invalid_argument(where + ": \"error\" must be a string: " + excerpt(line));
        return {.vectors = {}, .error = one_line(error->get<std::string>())};
    }
    const auto vectors = answer.find("vectors");
    if (vectors == answer.end() || !vectors->is_array())
        throw Error::invalid_argument(where + ": " + kExpected + ", not " + excerpt(line));
    if (vectors->size() != count)
        throw Error::invalid_argument(where + ": " + std::to_string(vectors->size()) +
                                      " vectors for " + std::to_string(count) + " texts");
    Answer result;
    result.vectors.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const std::string name = "vectors[" + std::to_string(i) + "]";
        result.vectors.push_back(cli::json_to_vector((*vectors)[i], where, name));
        if (result.vectors[i].size() != result.vectors[0].size())
            throw Error::invalid_argument(
                where + ": " + name + " has " + std::to_string(result.vectors[i].size()) +
                " components, vectors[0] " + std::to_string(result.vectors[0].size()));
    }
    return result;
}

}  // namespace vstore::embed
