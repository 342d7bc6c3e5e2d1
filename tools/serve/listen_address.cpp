#include "listen_address.h"

#include <arpa/inet.h>

#include <charconv>

#include "vstore/format/error.h"

namespace vstore::serve {

ListenAddress parse_listen_address(const std::string& text) {
    auto invalid = [&](const std::string& why) {
        return Error::invalid_argument("--listen '" + text + "': " + why +
                                       " (expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)");
    };
    std::string host, port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw invalid("an IPv6 address in brackets must be followed by :PORT");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            throw invalid("an IPv6 address goes in brackets");
    } else {
        port_text = text;
    }
    if (host.empty() || host == "localhost")
        host = "127.0.0.1";
    int port = -1;
    const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() ||
        port < 0 || port > 65535)
        throw invalid("the port must be a number from 0 to 65535");

    ListenAddress a;
    a.host = host;
    a.port = port;
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        a.url_host = host;
        a.loopback = (ntohl(v4.s_addr) >> 24) == 127;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        a.url_host = "[" + host + "]";
        a.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    } else {
        throw invalid("the host must be a numeric IPv4 or IPv6 address, or localhost");
    }
    return a;
}

}  // namespace vstore::serve
