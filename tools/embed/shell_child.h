// A child process `/bin/sh -c COMMAND` that this process talks to in lines: its standard input
// and output are pipes to this process, its standard error is this process's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vstore::embed {

class ShellChild {
  public:
    using Clock = std::chrono::steady_clock;

    // What a write or a read came to.
    enum class Status {
        kOk,
        kTimeout,  // the deadline passed first
        kClosed,   // the child closed its end of the pipe (most often: it exited)
        kTooLong,  // a read found no end of line within the bound
    };

    // Starts the child in a process group of its own, so that ending it ends what it started.
    // It inherits no descriptor but its standard input, output and error, and starts with no
    // signal blocked and SIGPIPE at its default. Throws Error(kIO) when pipes or fork fail.
    explicit ShellChild(const std::string& command);
    // Closes the child's standard input and output, waits up to a second for it to exit, then
    // kills its process group; the child is always reaped.
    ~ShellChild();
    ShellChild(const ShellChild&) = delete;
    ShellChild& operator=(const ShellChild&) = delete;

    // Writes all of `bytes` to the child's standard input. Never raises SIGPIPE.
    Status write_all(std::string_view bytes, Clock::time_point deadline);
    // Reads one line from the child's standard output into `line`, without its '\n'. Bytes the
    // child wrote after that line are kept for the next read (see has_unread).
    Status read_line(std::string& line, size_t max_bytes, Clock::time_point deadline);
    // Whether bytes after the last line read have already arrived.
    bool has_unread() const { return !unread_.empty(); }

    // If the child has ended, reaps it and says how ("exited with status 3"); else empty.
    std::string ended();
    // Closes the pipes and waits up to `grace` for the child to end: says how it ended
    // ("exited with status 3", "was killed by signal 9"), or, when it still runs, kills its
    // process group and returns nothing. The child is reaped either way.
    std::optional<std::string> end(Clock::duration grace);
    // Kills the child's process group at once and reaps it.
    void kill();

  private:
    std::string reap(bool wait);
    void close_pipes();

    pid_t pid_ = -1;  // -1 once reaped
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    std::string unread_;  // read from the child, not yet returned as a line
};

}  // namespace vstore::embed
