#include "one_write_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace bench {
namespace {

std::runtime_error failure(const std::string& what) {
    return std::runtime_error("serve: HTTP client: " + what);
}

}  // namespace

OneWriteClient::OneWriteClient(const std::string& ip, int port)
    : host_(ip + ":" + std::to_string(port)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        throw failure(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        ::close(fd_);
        throw failure("connect to " + host_ + ": " + std::strerror(e));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

OneWriteClient::~OneWriteClient() {
    ::close(fd_);
}

bool OneWriteClient::read_more() {
    char buf[16384];
    for (;;) {
        const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
        if (got > 0) {
            in_.append(buf, static_cast<size_t>(got));
            return true;
        }
        if (got == 0)
            return false;
        if (errno != EINTR)
            throw failure(std::string("recv: ") + std::strerror(errno));
    }
}

std::string OneWriteClient::post(const std::string& path, const std::string& body) {
    std::string request =
        "POST " + path + " HTTP/1.1\r\nHost: " + host_ +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n";
    request += body;
    for (size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw failure(std::string("send: ") + std::strerror(errno));
        sent += static_cast<size_t>(n);
    }

    size_t header_end;
    while ((header_end = in_.find("\r\n\r\n")) == std::string::npos)
        if (!read_more())
            throw failure("the server closed the connection before answering POST " + path);
    const std::string head = in_.substr(0, header_end);
    int status = 0;
    if (head.compare(0, 9, "HTTP/1.1 ") != 0 ||
        std::from_chars(head.data() + 9, head.data() + head.size(), status).ec != std::errc())
        throw failure("not an HTTP/1.1 response: " + head.substr(0, 40));
    size_t length = std::string::npos;
    for (size_t line = head.find("\r\n"); line != std::string::npos;
         line = head.find("\r\n", line + 2)) {
        static constexpr char kName[] = "content-length:";
        if (::strncasecmp(head.c_str() + line + 2, kName, sizeof kName - 1) == 0) {
            const char* p = head.c_str() + line + 2 + sizeof kName - 1;
            while (*p == ' ')
                ++p;
            std::from_chars(p, head.data() + head.size(), length);
        }
    }
    if (length == std::string::npos)
        throw failure("a response without Content-Length to POST " + path);
    const size_t body_start = header_end + 4;
    while (in_.size() < body_start + length)
        if (!read_more())
            throw failure("the server closed the connection in the middle of an answer");
    std::string answer = in_.substr(body_start, length);
    in_.erase(0, body_start + length);
    if (status != 200)
        throw failure("POST " + path + " answered " + std::to_string(status) + ": " + answer);
    return answer;
}

}  // namespace bench
