// A keep-alive HTTP/1.1 client that sends each request in one write, as curl, Go's net/http
// and Python's http.client do for a small body. httplib's client writes the headers and the
// body apart, which wakes the server twice a request; measured with it, the server's figures
// would be the client's.
#pragma once

#include <string>

namespace bench {

class OneWriteClient {
  public:
    OneWriteClient(const std::string& ip, int port);
    ~OneWriteClient();
    OneWriteClient(const OneWriteClient&) = delete;
    OneWriteClient& operator=(const OneWriteClient&) = delete;

    // POSTs `body` (application/json) to `path` and answers the response's body; throws
    // std::runtime_error on a failed connection or a status other than 200.
    std::string post(const std::string& path, const std::string& body);

  private:
    bool read_more();  // false at the peer's close

    int fd_ = -1;
    std::string host_;
    std::string in_;  // received, not yet taken
};

}  // namespace bench
