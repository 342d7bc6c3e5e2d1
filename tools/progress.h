// Progress of long work on stderr, for a person watching: only when stderr is a terminal and
// --quiet was not given, at most ten updates a second, on one line that is cleared at the end.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace vstore::cli {

class Progress {
  public:
    Progress(std::string label, bool quiet)
        : label_(std::move(label)), shown_(!quiet && ::isatty(STDERR_FILENO)) {}
    ~Progress() { done(); }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // `what` replaces the text after the label, e.g. "12,000 operations" or "45 %".
    void update(const std::string& what) {
        if (!shown_)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(100))
            return;
        last_ = now;
        std::fprintf(stderr, "\r\033[K%s: %s", label_.c_str(), what.c_str());
        std::fflush(stderr);
        dirty_ = true;
    }
    void fraction(double f) { update(std::to_string(static_cast<int>(f * 100)) + " %"); }
    void done() {
        if (dirty_) {
            std::fprintf(stderr, "\r\033[K");
            std::fflush(stderr);
            dirty_ = false;
        }
    }

  private:
    std::string label_;
    bool shown_;
    bool dirty_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace vstore::cli
