#include "shell_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "vstore/format/error.h"

namespace vstore::embed {
namespace {

using Clock = ShellChild::Clock;

// The poll() timeout that wakes at `deadline` (rounded up, so that it never wakes early and
// spins), or 0 once it has passed.
int poll_timeout(Clock::time_point deadline) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero())
        return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<decltype(ms)>(ms, 1 << 30));
}

// Waits until `fd` is ready for `events`; false when the deadline passes first.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    while (true) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, poll_timeout(deadline));
        if (n > 0)
            return true;
        if (n == 0) {
            if (Clock::now() >= deadline)
                return false;
        } else if (errno != EINTR) {
            throw Error::io("poll of an embed command's pipe failed", errno);
        }
    }
}

// Moves a new descriptor above 0, 1 and 2 (which are free when this process runs without
// them), so that the child's dup2 onto them can never overwrite another of the pipes.
int above_stdio(int fd) {
    if (fd > STDERR_FILENO)
        return fd;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    const int saved = errno;
    ::close(fd);
    if (moved < 0)
        throw Error::io("cannot set up the pipes of an embed command", saved);
    return moved;
}

struct Pipe {
    int read = -1, write = -1;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw Error::io("cannot make the pipes of an embed command", errno);
    return {above_stdio(fds[0]), above_stdio(fds[1])};
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        throw Error::io("cannot set up the pipes of an embed command", errno);
}

// Blocks SIGPIPE in this thread while it lives, and discards a SIGPIPE that a write raised
// meanwhile (one that was pending before is left pending). A write to a pipe whose reader is
// gone then fails with EPIPE instead of ending the process.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeBlocked() {
        if (!was_pending_) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec now{0, 0};
                while (sigtimedwait(&pipe_, nullptr, &now) < 0 && errno == EINTR) {
                }
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

  private:
    sigset_t pipe_, old_;
    bool was_pending_ = false;
};

std::string how_it_ended(int status) {
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
}

}  // namespace

ShellChild::ShellChild(const std::string& command) {
    const Pipe in = make_pipe();
    Pipe out;
    try {
        out = make_pipe();
    } catch (...) {
        ::close(in.read);
        ::close(in.write);
        throw;
    }
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    const long max_fd = ::sysconf(_SC_OPEN_MAX);

    // Every signal is blocked across fork, so that no handler of this process runs in the
    // child; the child unblocks them before exec. Between fork and exec the child calls only
    // async-signal-safe functions: this process may have other threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setpgid(0, 0);
        // dup2 leaves the copies without O_CLOEXEC; every other descriptor is closed.
        if (::dup2(in.read, STDIN_FILENO) < 0 || ::dup2(out.write, STDOUT_FILENO) < 0)
            ::_exit(127);
        if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {  // a kernel before 5.9
            for (long fd = STDERR_FILENO + 1; fd < max_fd; ++fd)
                ::close(static_cast<int>(fd));
        }
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv("/bin/sh", const_cast<char* const*>(argv));
        ::_exit(127);
    }
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(in.read);
    ::close(out.write);
    stdin_fd_ = in.write;
    stdout_fd_ = out.read;
    if (pid < 0) {
        close_pipes();
        throw Error::io("cannot start an embed command", fork_errno);
    }
    pid_ = pid;
    // Also here, so that the group exists before this process may kill it (EACCES once the
    // child has run exec, by which time it has made the group itself).
    ::setpgid(pid_, pid_);
    try {
        set_nonblocking(stdin_fd_);
        set_nonblocking(stdout_fd_);
    } catch (...) {
        kill();
        throw;
    }
}

ShellChild::~ShellChild() {
    end(std::chrono::seconds(1));
}

ShellChild::Status ShellChild::write_all(std::string_view bytes, Clock::time_point deadline) {
    const SigpipeBlocked blocked;
    while (!bytes.empty()) {
        const ssize_t n = ::write(stdin_fd_, bytes.data(), bytes.size());
        if (n > 0) {
            bytes.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EPIPE)
            return Status::kClosed;
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            throw Error::io("write to an embed command failed", errno);
        if (!wait_for(stdin_fd_, POLLOUT, deadline))
            return Status::kTimeout;
    }
    return Status::kOk;
}

ShellChild::Status ShellChild::read_line(std::string& line, size_t max_bytes,
                                         Clock::time_point deadline) {
    size_t scanned = 0;  // bytes of unread_ known to hold no '\n'
    while (true) {
        const size_t end = unread_.find('\n', scanned);
        if (end != std::string::npos && end <= max_bytes) {
            line.assign(unread_, 0, end);
            unread_.erase(0, end + 1);
            return Status::kOk;
        }
        if (end != std::string::npos || unread_.size() > max_bytes)
            return Status::kTooLong;
        scanned = unread_.size();
        char buf[65536];
        const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n > 0) {
            unread_.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0)
            return Status::kClosed;
        if (errno != EAGAIN && errno != EINTR)
            throw Error::io("read from an embed command failed", errno);
        if (!wait_for(stdout_fd_, POLLIN, deadline))
            return Status::kTimeout;
    }
}

std::string ShellChild::ended() {
    return reap(false);
}

std::optional<std::string> ShellChild::end(Clock::duration grace) {
    close_pipes();
    const auto deadline = Clock::now() + grace;
    std::string how;
    while (pid_ > 0 && (how = reap(false)).empty() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (pid_ > 0) {
        kill();
        return std::nullopt;
    }
    return how;
}

void ShellChild::kill() {
    close_pipes();
    if (pid_ <= 0)
        return;
    // The group while its leader is unreaped cannot be another process's; if setpgid failed,
    // there is no group, and the child alone is killed.
    if (::kill(-pid_, SIGKILL) != 0)
        ::kill(pid_, SIGKILL);
    reap(true);
}

std::string ShellChild::reap(bool wait) {
    if (pid_ <= 0)
        return {};
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == 0)
        return {};
    pid_ = -1;
    // ECHILD: someone else reaped it (SIGCHLD ignored); it is gone all the same.
    return r < 0 ? "ended (its status was taken by someone else)" : how_it_ended(status);
}

void ShellChild::close_pipes() {
    for (int* fd : {&stdin_fd_, &stdout_fd_}) {
        if (*fd >= 0)
            ::close(*fd);
        *fd = -1;
    }
}

}  // namespace vstore::embed
