#include "embed_command.h"

#include <charconv>

#include "embed_protocol.h"
#include "shell_child.h"
#include "vstore/format/error.h"
#include "vstore/format/utf8.h"

namespace vstore::embed {
namespace {

// The command as messages name it: at most 200 bytes of it.
std::string shown_command(const std::string& command) {
    constexpr size_t kShown = 200;
    return command.size() > kShown ? command.substr(0, kShown) + "..." : command;
}

// "30 s", "0.3 s".
std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<double>(ms.count()) / 1000);
    return std::string(buf, r.ptr) + " s";
}

}  // namespace

void check_text(std::string_view text) {
    if (text.empty())
        throw Error::invalid_argument("text is empty; there is nothing to embed");
    if (text.size() > kMaxTextBytes)
        throw Error::invalid_argument("text is " + std::to_string(text.size()) +
                                      " bytes; at most " + std::to_string(kMaxTextBytes) +
                                      " are embedded");
    if (const size_t bad = format::first_invalid_utf8(text); bad != std::string_view::npos)
        throw Error::invalid_argument("text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

EmbedCommand::EmbedCommand(std::string command, EmbedOptions options)
    : command_(std::move(command)), options_(options) {
    if (command_.empty())
        throw Error::invalid_argument("the embed command is empty");
    if (options_.batch_size == 0)
        throw Error::invalid_argument("embed command '" + shown_command(command_) +
                                      "': the batch size must be at least 1");
    if (options_.timeout <= std::chrono::milliseconds::zero())
        throw Error::invalid_argument("embed command '" + shown_command(command_) +
                                      "': the timeout must be positive");
}

EmbedCommand::~EmbedCommand() = default;

std::vector<std::vector<float>> EmbedCommand::embed(const std::vector<std::string>& texts) {
    for (size_t i = 0; i < texts.size(); ++i) {
        try {
            check_text(texts[i]);
        } catch (const Error& e) {
            throw Error(e.code(), "text " + std::to_string(i) + ": " + e.message());
        }
    }
    std::vector<std::vector<float>> vectors;
    vectors.reserve(texts.size());
    const std::lock_guard lock(mutex_);
    const std::span<const std::string> all(texts);
    for (size_t first = 0; first < all.size(); first += options_.batch_size) {
        auto batch = request(all.subspan(first, std::min(options_.batch_size, all.size() - first)));
        for (auto& v : batch)
            vectors.push_back(std::move(v));
    }
    return vectors;
}

std::vector<std::vector<float>> EmbedCommand::request(std::span<const std::string> texts) {
    // A child that ended while idle is replaced without failing this request.
    if (child_ && !child_->ended().empty())
        child_.reset();
    if (!child_) {
        child_ = std::make_unique<ShellChild>(command_);
        answers_ = 0;
    }
    const auto deadline = ShellChild::Clock::now() + options_.timeout;
    const std::string no_answer =
        "no answer within " + seconds_text(options_.timeout) + " (killed)";
    switch (child_->write_all(request_line(texts), deadline)) {
        case ShellChild::Status::kOk:
            break;
        case ShellChild::Status::kClosed:
            fail(ended_early("its standard input"));
        default:
            fail(no_answer);
    }
    const std::string where = "answer line " + std::to_string(answers_ + 1);
    std::string line;
    switch (child_->read_line(line, kMaxAnswerBytes, deadline)) {
        case ShellChild::Status::kOk:
            break;
        case ShellChild::Status::kClosed:
            fail(ended_early("its standard output"));
        case ShellChild::Status::kTooLong:
            fail(where + " is longer than " + std::to_string(kMaxAnswerBytes >> 20) +
                 " MiB (killed)");
        case ShellChild::Status::kTimeout:
            fail(no_answer);
    }
    ++answers_;
    if (child_->has_unread())
        fail(where + " came with more output after it: one request, one line");
    Answer answer;
    try {
        answer = parse_answer(line, texts.size(), where);
    } catch (const Error& e) {
        fail(e.message());
    }
    if (answer.error)
        fail("refused the request: " + *answer.error, true);
    const size_t length = answer.vectors[0].size();
    if (dimension_ && length != *dimension_)
        fail(where + ": vectors of " + std::to_string(length) +
             " components, but earlier answers had " + std::to_string(*dimension_));
    dimension_ = length;
    return std::move(answer.vectors);
}

std::string EmbedCommand::ended_early(const std::string& closed) {
    // Closing a pipe most often means the command exited; it gets a moment to finish doing so.
    if (const auto how = child_->end(std::chrono::seconds(1)))
        return *how + " before answering";
    return "closed " + closed + " without answering (killed)";
}

void EmbedCommand::fail(const std::string& what, bool keep_child) {
    if (!keep_child && child_) {
        child_->kill();
        child_.reset();
    }
    throw Error(ErrorCode::kIO, "embed command '" + shown_command(command_) + "': " + what);
}

}  // namespace vstore::embed
