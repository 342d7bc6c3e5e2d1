// Helpers shared by the tests: scratch directories, seeded data, file surgery.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "vstore/format/error.h"

namespace vstore::test {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
  public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("vstore-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// `count` vectors of `dim` seeded uniform values in [-1, 1).
inline std::vector<float> random_vectors(uint64_t count, uint32_t dim, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(count * dim);
    for (auto& x : v)
        x = u(rng);
    return v;
}

inline uint8_t read_byte(const std::string& path, uint64_t offset) {
    uint8_t b = 0;
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (::pread(fd, &b, 1, static_cast<off_t>(offset)) != 1)
        b = 0;
    ::close(fd);
    return b;
}

inline void write_bytes(const std::string& path, uint64_t offset,
                        const std::vector<uint8_t>& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    [[maybe_unused]] auto n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    ::close(fd);
}

// Flips every bit of the byte at `offset`.
inline void flip_byte(const std::string& path, uint64_t offset) {
    write_bytes(path, offset, {static_cast<uint8_t>(read_byte(path, offset) ^ 0xFF)});
}

inline std::vector<uint8_t> read_file(const std::string& path) {
    const auto size = std::filesystem::file_size(path);
    std::vector<uint8_t> bytes(size);
    const int fd = ::open(path.c_str(), O_RDONLY);
    [[maybe_unused]] auto n = ::pread(fd, bytes.data(), bytes.size(), 0);
    ::close(fd);
    return bytes;
}

}  // namespace vstore::test

namespace vstore::test {

// Component i of the n-th vector of the deterministic sequence used by crash and concurrency
// tests: whole numbers below 2^24, so float holds them exactly.
inline float pattern_value(uint64_t n, uint32_t i) {
    return static_cast<float>((n * 2654435761ULL + i * 40503ULL) % 1000003ULL);
}

// prefix followed by n ("c" + 3 -> "c3"), built piecewise: g++ 12 warns falsely (-Wrestrict)
// on some inlined chains of string concatenation.
inline std::string numbered(const char* prefix, long long n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

inline std::vector<float> pattern_vectors(uint64_t first, uint64_t count, uint32_t dim) {
    std::vector<float> v(count * dim);
    for (uint64_t n = 0; n < count; ++n) {
        for (uint32_t i = 0; i < dim; ++i)
            v[n * dim + i] = pattern_value(first + n, i);
    }
    return v;
}

inline bool matches_pattern(const float* v, uint64_t n, uint32_t dim) {
    for (uint32_t i = 0; i < dim; ++i) {
        if (v[i] != pattern_value(n, i))
            return false;
    }
    return true;
}

// The names of the entries of a directory.
inline std::set<std::string> files_in(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        names.insert(e.path().filename().string());
    return names;
}

// Runs `f`, which must throw a vstore::Error of `code` whose one-line message holds every part.
inline void check_error(const std::function<void()>& f, ErrorCode code,
                        const std::vector<std::string>& parts) {
    try {
        f();
    } catch (const Error& e) {
        INFO("message: " << e.what());
        CHECK(e.code() == code);
        for (const auto& part : parts)
            CHECK_THAT(e.message(), Catch::Matchers::Contains(part));
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
        return;
    }
    FAIL("no vstore::Error was thrown");
}

// The category of the vstore::Error that `fn` throws, and its message; the test fails when
// `fn` throws none.
inline ErrorCode code_of(const std::function<void()>& fn, std::string* message = nullptr) {
    try {
        fn();
    } catch (const Error& e) {
        if (message)
            *message = e.what();
        return e.code();
    }
    FAIL("no error");
    return ErrorCode::kIO;
}

// Runs `fn` in a forked child, with VSTORE_CRASH_AT=`crash_at` unless it is null, and waits
// for it: the child exits 0 when `fn` returns and 2 when it throws. Returns the wait status;
// `pid` (if given) gets the child's process id. The child must not use a Store or Catalog the
// caller has open; it may open its own (spec/catalog.md, "One catalog object per process").
inline int run_in_child(const char* crash_at, const std::function<void()>& fn,
                        pid_t* pid = nullptr) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (crash_at != nullptr)
            ::setenv("VSTORE_CRASH_AT", crash_at, 1);
        try {
            fn();
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(0);
    }
    if (pid != nullptr)
        *pid = child;
    int status = 0;
    ::waitpid(child, &status, 0);
    return status;
}

// Runs `fn` in a child that crashes at `point`; whether it died there, by SIGKILL.
inline bool killed_at(const char* point, const std::function<void()>& fn, pid_t* pid = nullptr) {
    const int status = run_in_child(point, fn, pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace vstore::test
