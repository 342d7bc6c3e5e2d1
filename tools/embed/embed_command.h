// The embedder: a long-running child process, started from a shell command, that turns texts
// into vectors over JSON Lines on its standard input and output (spec/embed-command.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vstore::embed {

class ShellChild;

// The longest text accepted, in bytes of UTF-8.
inline constexpr size_t kMaxTextBytes = size_t{1} << 20;

// Throws Error(kInvalidArgument) when `text` cannot be sent to an embed command: empty, longer
// than kMaxTextBytes or not valid UTF-8 ("text is not valid UTF-8 (byte 3)"). Callers prefix
// the message with where the text came from.
void check_text(std::string_view text);

struct EmbedOptions {
    std::chrono::milliseconds timeout{30'000};  // for each request: writing it and its answer
    size_t batch_size = 64;                     // the most texts in one request
};

class EmbedCommand {
  public:
    // Starts nothing yet: the child starts with the first request. Throws
    // Error(kInvalidArgument) for an empty command, a zero batch size or timeout.
    explicit EmbedCommand(std::string command, EmbedOptions options = {});
    // Ends the child, if one runs (ShellChild: stdin closed, a grace period, then killed).
    ~EmbedCommand();
    EmbedCommand(const EmbedCommand&) = delete;
    EmbedCommand& operator=(const EmbedCommand&) = delete;

    // One vector per text, in order, every one of the same length for the life of this object.
    // Sends the texts in requests of at most batch_size, one request at a time across threads;
    // no texts, no request. A text that check_text refuses is Error(kInvalidArgument) "text N:
    // ..." before anything is sent. A command that exits, misses the timeout or answers what
    // the protocol does not allow is Error(kIO) "embed command 'CMD': ..."; it is killed and
    // reaped, and the next request starts a new one. An {"error": "..."} answer is Error(kIO)
    // too, and the command keeps running.
    std::vector<std::vector<float>> embed(const std::vector<std::string>& texts);

    const std::string& command() const noexcept { return command_; }
    const EmbedOptions& options() const noexcept { return options_; }

  private:
    std::vector<std::vector<float>> request(std::span<const std::string> texts);
    // After the child closed a pipe (`closed` names it): how it ended, for a message.
    std::string ended_early(const std::string& closed);
    // Kills the child (unless `keep_child`) and throws Error(kIO) naming the command.
    [[noreturn]] void fail(const std::string& what, bool keep_child = false);

    const std::string command_;
    const EmbedOptions options_;
    std::mutex mutex_;  // guards everything below: one request at a time
    std::unique_ptr<ShellChild> child_;
    size_t answers_ = 0;               // lines the current child answered
    std::optional<size_t> dimension_;  // the length of every vector answered so far
};

}  // namespace vstore::embed
