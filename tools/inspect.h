// `vstore inspect`: recognises a vstore file by its magic and shows what it holds.
#pragma once

#include <iosfwd>
#include <string>

namespace vstore::cli {

struct InspectOptions {
    bool verify = false;
    bool json = false;
};

// Writes the description of `path` to `out`. Returns the exit status: 0 when the file is
// readable (and, with verify, every checksum holds), 1 otherwise. Errors go to `err` as one
// line.
int inspect(const std::string& path, const InspectOptions& options, std::ostream& out,
            std::ostream& err);

}  // namespace vstore::cli
