// `vstore serve`: the HTTP sidecar of seed 002 (TerminusDB's semantic indexer) over a store,
// on the public library API. spec/http-api.md gives every endpoint, parameter, limit and
// error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "connection_deadlines.h"
#include "embed_command.h"
#include "index_tasks.h"

namespace vstore::serve {

struct ServeOptions {
    std::string store;
    std::string listen = "127.0.0.1:8080";         // HOST:PORT; port 0 picks a free one
    std::string token_file;                        // empty: no authentication (loopback only)
    ServingMode mode = ServingMode::kMapped;       // how vector files are served
    size_t pool_budget_bytes = size_t(256) << 20;  // per vector file, in pool mode
    unsigned threads = 0;                          // request threads; 0: max(32, 4 per core)
    std::string embed_command;                     // empty: no text operations or text queries
    embed::EmbedOptions embed;
    size_t max_body_bytes = size_t(256) << 20;
    size_t max_queries = 1024;  // query vectors in one POST /search
    size_t max_count = 10'000;  // k of /search and /similar, and ef
    IndexTaskLimits tasks;
    ConnectionLimits connections;
};

// Serves until SIGTERM or SIGINT: then it stops accepting, lets the requests being served
// finish, abandons the running index task before its commit (or lets its commit complete if
// it has begun), and returns 0. Prints "listening on http://HOST:PORT" to `log` once it
// accepts connections, and one line per signal and failure. Error(kInvalidArgument) for a
// listen address it cannot use, a non-loopback one without a token, or an unreadable token.
int run_serve(const ServeOptions& options, std::ostream& log);

}  // namespace vstore::serve
