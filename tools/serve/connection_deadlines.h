// An httplib::Server whose connections keep deadlines for a whole request and a whole
// response. httplib's own read and write timeouts restart at every byte, so a client that
// sends (or reads) one byte a second would hold a worker thread for as long as it liked.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>

namespace vstore::serve {

struct ConnectionLimits {
    std::chrono::milliseconds request_read{30'000};    // request line, headers and body, whole
    std::chrono::milliseconds response_write{30'000};  // the response, whole
    std::chrono::milliseconds keep_alive_idle{5'000};  // between requests of one connection
    size_t keep_alive_max_requests = 10'000;           // then the connection is closed
};

class DeadlineServer : public httplib::Server {
  public:
    explicit DeadlineServer(const ConnectionLimits& limits) : limits_(limits) {}

    // From now on each connection closes after the request it is serving (idle ones at
    // once); stop() then ends the accept loop and joins the workers.
    void begin_shutdown() { closing_ = true; }

  private:
    bool process_and_close_socket(socket_t sock) override;
    // Waits, in short slices so that begin_shutdown() is seen, for the next request's first
    // byte: false when the connection is idle past keep_alive_idle, closed, or closing.
    bool wait_for_request(int fd) const;

    ConnectionLimits limits_;
    std::atomic<bool> closing_{false};
};

}  // namespace vstore::serve
