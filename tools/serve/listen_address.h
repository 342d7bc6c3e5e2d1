// The --listen address of `vstore serve`.
#pragma once

#include <string>

namespace vstore::serve {

struct ListenAddress {
    std::string host;      // as httplib binds it: "127.0.0.1", "::1", "0.0.0.0"
    std::string url_host;  // as a URL writes it: IPv6 in brackets
    int port = 0;          // 0: any free port
    bool loopback = false;
};

// "HOST:PORT", "[IPv6]:PORT", or ":PORT" and "PORT" for 127.0.0.1. Hosts are numeric
// addresses or "localhost". Error(kInvalidArgument) naming the address otherwise.
ListenAddress parse_listen_address(const std::string& text);

}  // namespace vstore::serve
