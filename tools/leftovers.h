// What the writing commands say on stderr when their writer removed what crashed writers left
// (spec/lifecycle.md, "Crash leftovers"; spec/pack.md, "Writing"), so that reclaimed space is
// never a surprise.
#pragma once

#include <iostream>
#include <string>

#include "text.h"
#include "vstore/crash_leftovers.h"

namespace vstore::cli {

// Prints "vstore: removed N <one|many> (SIZE) left by <by>", e.g. "vstore: removed 3 stale
// temporary files (1.2 MB) left by crashed writers".
inline CrashLeftoversReport say_leftovers(std::string one, std::string many, std::string by) {
    return [one = std::move(one), many = std::move(many),
            by = std::move(by)](const CrashLeftovers& r) {
        std::cerr << "vstore: removed " << r.names.size() << ' '
                  << (r.names.size() == 1 ? one : many) << " (" << bytes_text(r.bytes)
                  << ") left by " << by << '\n';
    };
}

// For a command that writes to a store: its `.tmp-*` files.
inline CrashLeftoversReport say_store_leftovers() {
    return say_leftovers("stale temporary file", "stale temporary files", "crashed writers");
}

// For `vstore pack`: the staging directories beside its output.
inline CrashLeftoversReport say_pack_leftovers() {
    return say_leftovers("stale staging directory", "stale staging directories",
                         "crashed pack writers");
}

}  // namespace vstore::cli
