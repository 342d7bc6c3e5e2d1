// `vstore inspect`: recognises a vstore file (vector file, graph file) or pack archive by its
// magic, or a store or pack directory by its layout, and shows what it holds.
#pragma once

#include <iosfwd>
#include <string>

namespace vstore::cli {

struct InspectOptions {
    bool verify = false;
    bool json = false;
    bool quiet = false;  // no progress line on stderr while verifying
};

// Writes the description of `path` (a vector file, a graph file, a store or a pack) to
// `out`, as aligned text or, with json, as one JSON object whose "kind" says what it is.
// Returns the exit status: 0 when it is readable (and, with verify, every checksum and
// structural check holds), 1 otherwise. Errors go to `err` as one line; with verify, the
// output lists every problem and `err` gets one line naming the first.
int inspect(const std::string& path, const InspectOptions& options, std::ostream& out,
            std::ostream& err);

}  // namespace vstore::cli
