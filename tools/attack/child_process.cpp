// run_child: a fork whose outcome is classified, for the campaigns' readers and builders.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "attack.h"
#include "vstore/format/error.h"

namespace attack {
namespace {

constexpr int kVstoreErrorExit = 3, kOtherExceptionExit = 4;

void write_all(int fd, const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ::_exit(5);
        done += static_cast<size_t>(n);
    }
}

}  // namespace

ChildResult run_child(const std::function<std::string()>& fn, unsigned timeout_s) {
    int fds[2];
    if (::pipe(fds) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    const pid_t child = ::fork();
    if (child < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
        ::close(fds[0]);
        ::alarm(timeout_s);
        int code = 0;
        std::string out;
        try {
            out = fn();
        } catch (const vstore::Error& e) {
            out = e.what();
            code = kVstoreErrorExit;
        } catch (const std::exception& e) {
            out = e.what();
            code = kOtherExceptionExit;
        }
        write_all(fds[1], out);
        ::_exit(code);
    }
    ::close(fds[1]);
    ChildResult r;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        r.output.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
        r.kind = r.signal == SIGALRM ? ChildResult::kTimeout : ChildResult::kSignal;
    } else if (WEXITSTATUS(status) == kVstoreErrorExit) {
        r.kind = ChildResult::kVstoreError;
    } else if (WEXITSTATUS(status) != 0) {
        r.kind = ChildResult::kOtherException;
    }
    return r;
}

}  // namespace attack
