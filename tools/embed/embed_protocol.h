// The lines of the embed command protocol (spec/embed-command.md): the request vstore writes
// and the answer it accepts.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vstore::embed {

// The longest answer line accepted, without its '\n'.
inline constexpr size_t kMaxAnswerBytes = size_t{64} << 20;

// {"texts": [...]} and '\n'. The texts must be valid UTF-8 (check_text).
std::string request_line(std::span<const std::string> texts);

// An answer: the vectors, one a text in order, or the command's refusal.
struct Answer {
    std::vector<std::vector<float>> vectors;
    std::optional<std::string> error;  // {"error": "..."}: the message, on one line
};

// Parses an answer to a request of `count` texts. Anything but {"vectors": [...]} with `count`
// vectors of one length, each 1 to cli::kMaxInputDimension finite numbers within the float
// range, or {"error": "..."}, is Error(kInvalidArgument) "WHERE: what is wrong".
Answer parse_answer(std::string_view line, size_t count, const std::string& where);

}  // namespace vstore::embed
