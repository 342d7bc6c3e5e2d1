// Small text helpers shared by the commands' human output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace vstore::cli {

inline std::string iso_time(uint64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

inline std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// "12.3 MB"
inline std::string megabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
    return buf;
}

// "512 B", "47.2 kB", "12.3 MB", "1.4 GB": decimal units, three figures.
inline std::string bytes_text(uint64_t bytes) {
    char buf[32];
    if (bytes < 1000)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else if (bytes < 1000000)
        std::snprintf(buf, sizeof buf, "%.1f kB", bytes / 1e3);
    else if (bytes < 1000000000)
        std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
    return buf;
}

inline std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

}  // namespace vstore::cli
