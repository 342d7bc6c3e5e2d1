// What a writer removed of what crashed writers left behind: a store's `.tmp-*` files
// (spec/lifecycle.md, "Crash leftovers") or the staging directories of pack writers in a
// pack's destination directory (spec/pack.md, "Writing"). A writer removes only what it can
// prove dead: files that only a holder of the store's writer lock writes, once it holds that
// lock; staging directories whose lock no process holds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vstore {

struct CrashLeftovers {
    std::string dir;                 // the directory they were in
    std::vector<std::string> names;  // what was removed there, sorted
    uint64_t bytes = 0;              // the bytes of their regular files
};

// Told what a writer removed, when it removed anything.
using CrashLeftoversReport = std::function<void(const CrashLeftovers&)>;

}  // namespace vstore
