#include "connection_deadlines.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

namespace vstore::serve {
namespace {

using Clock = std::chrono::steady_clock;

// How long a connection's thread looks for the next request before it sleeps (wait_for_request):
// one client's throughput over loopback went from 0.60x to 0.70x of the in-process search with
// it (vstore-bench --quick --only serve), 250 us gave no more, and 8 clients on 2 cores lost
// nothing, as the spinning thread yields its core.
constexpr auto kRequestSpin = std::chrono::microseconds(100);

// Waits for `events` on `fd` until `deadline`; false when it passes first or poll fails.
bool wait_until(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
        if (r > 0)
            return (p.revents & (events | POLLHUP | POLLERR)) != 0;
        if (r < 0 && errno != EINTR)
            return false;
    }
}

bool address_text(const sockaddr_storage& addr, std::string& ip, int& port) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
        ::inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
        port = ntohs(a.sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
        ::inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf);
        port = ntohs(a.sin6_port);
    } else {
        return false;
    }
    ip = buf;
    return true;
}

// One connection's socket as httplib reads and writes it: buffered reads (httplib's line
// reader asks for one byte at a time) that fail once the request's deadline has passed, and
// buffered writes that fail once the response's has.
//
// Writes are held until the response is whole (flush()), or until kWriteBuffer bytes are
// waiting, or until the next read (the body after "100 Continue"). httplib writes a response's
// headers and its body apart; sent apart, each wakes the client, which on loopback cost more
// than a small request's own work (vstore serve's profile: 68 % of its time in the kernel).
class DeadlineStream final : public httplib::Stream {
  public:
    DeadlineStream(int fd, const ConnectionLimits& limits) : fd_(fd), limits_(limits) {}

    void start_request() {
        read_deadline_ = Clock::now() + limits_.request_read;
        write_deadline_.reset();
    }
    bool has_buffered() const { return pos_ < end_; }

    bool is_readable() const override {
        return has_buffered() || wait_until(fd_, POLLIN, read_deadline_);
    }
    bool is_writable() const override { return wait_until(fd_, POLLOUT, write_deadline()); }

    ssize_t read(char* ptr, size_t size) override {
        if (!flush())
            return -1;
        // A read after a write (the body after "100 Continue") ends that write's response.
        write_deadline_.reset();
        if (!has_buffered()) {
            // Read first and wait only when nothing has come yet (a request usually has): one
            // system call, not two, per read.
            ssize_t got = -1;
            while (Clock::now() < read_deadline_ &&
                   (got = ::recv(fd_, buffer_, sizeof buffer_, MSG_DONTWAIT)) < 0) {
                if (errno == EINTR)
                    continue;
                if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                    !wait_until(fd_, POLLIN, read_deadline_))
                    return -1;
            }
            if (Clock::now() >= read_deadline_)
                return -1;
            if (got == 0)
                return 0;
            pos_ = 0;
            end_ = static_cast<size_t>(got);
        }
        const size_t n = std::min(size, end_ - pos_);
        std::memcpy(ptr, buffer_ + pos_, n);
        pos_ += n;
        return static_cast<ssize_t>(n);
    }

    ssize_t write(const char* ptr, size_t size) override {
        write_deadline();  // the response's clock starts at its first byte, sent or not
        pending_.append(ptr, size);
        if (pending_.size() >= kWriteBuffer && !flush())
            return -1;
        return static_cast<ssize_t>(size);
    }

    // Sends what write() holds; false when the response's deadline passes first or the
    // connection fails.
    bool flush() {
        size_t sent_so_far = 0;
        while (sent_so_far < pending_.size()) {
            if (Clock::now() >= write_deadline())
                return false;
            const ssize_t sent = ::send(fd_, pending_.data() + sent_so_far,
                                        pending_.size() - sent_so_far, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (sent >= 0) {
                sent_so_far += static_cast<size_t>(sent);
                continue;
            }
            if (errno == EINTR)
                continue;
            if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                !wait_until(fd_, POLLOUT, write_deadline()))
                return false;
        }
        pending_.clear();
        return true;
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
            address_text(addr, ip, port);
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
            address_text(addr, ip, port);
    }
    socket_t socket() const override { return fd_; }

  private:
    static constexpr size_t kWriteBuffer = 64 * 1024;

    // The response's clock starts at its first write, so that the time a handler takes (a
    // search, say) counts against neither deadline.
    Clock::time_point write_deadline() const {
        if (!write_deadline_)
            write_deadline_ = Clock::now() + limits_.response_write;
        return *write_deadline_;
    }

    int fd_;
    const ConnectionLimits& limits_;
    Clock::time_point read_deadline_ = Clock::now();
    mutable std::optional<Clock::time_point> write_deadline_;
    char buffer_[16384];
    size_t pos_ = 0, end_ = 0;
    std::string pending_;  // written, not yet sent
};

}  // namespace

bool DeadlineServer::wait_for_request(int fd) const {
    // A keep-alive client that waits for each answer sends its next request a few tens of
    // microseconds after the answer left. For kRequestSpin the thread looks for it without
    // sleeping, yielding its core to any other runnable thread: a thread that slept in poll()
    // would take a wake-up per request, which on a virtual machine costs about as much.
    const auto spin_until = Clock::now() + kRequestSpin;
    do {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0)
            return true;
        std::this_thread::yield();
    } while (Clock::now() < spin_until);
    constexpr auto kSlice = std::chrono::milliseconds(100);
    const auto idle_until = Clock::now() + limits_.keep_alive_idle;
    while (!closing_) {
        const auto now = Clock::now();
        if (now >= idle_until)
            return false;
        pollfd p{fd, POLLIN, 0};
        const auto slice = std::min<Clock::duration>(kSlice, idle_until - now);
        const int r = ::poll(
            &p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(slice).count()));
        if (r > 0)
            return true;  // data, or the peer's close, which the read then sees
        if (r < 0 && errno != EINTR)
            return false;
    }
    return false;
}

bool DeadlineServer::process_and_close_socket(socket_t sock) {
    // Responses go out as headers then body: without this, Nagle's algorithm and delayed
    // acknowledgements cost a keep-alive client 40 ms a request.
    const int one = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    DeadlineStream stream(sock, limits_);
    bool ok = false;
    for (size_t served = 0; served < limits_.keep_alive_max_requests; ++served) {
        if (!stream.has_buffered() && !wait_for_request(sock))
            break;
        stream.start_request();
        const bool last = served + 1 == limits_.keep_alive_max_requests || closing_;
        bool connection_closed = false;
        ok = process_request(stream, last, connection_closed, nullptr) && stream.flush();
        if (!ok || connection_closed || last)
            break;
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
}

}  // namespace vstore::serve
