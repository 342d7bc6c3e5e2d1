// What every libFuzzer harness of tools/fuzz shares: the verdict on an input (a decoder either
// succeeds or throws vstore::Error; anything else is a finding), little-endian patching for
// the checksum repairs, and a per-process temporary file for the readers that take a path.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "vstore/format/bytes.h"
#include "vstore/format/error.h"

namespace vstore::fuzz {

// Runs `decode`. A vstore::Error is the refusal the rules ask for; any other exception is
// reported and aborts, so that libFuzzer records the input as a crash.
template <class Decode>
void expect_success_or_error(Decode&& decode) {
    try {
        decode();
    } catch (const vstore::Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "finding: an exception other than vstore::Error: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "finding: a thrown value that is not an exception\n");
        std::abort();
    }
}

inline uint32_t u32_at(const std::vector<uint8_t>& b, size_t offset) {
    return offset + 4 <= b.size() ? format::load_le<uint32_t>(b.data() + offset) : 0;
}
inline uint64_t u64_at(const std::vector<uint8_t>& b, size_t offset) {
    return offset + 8 <= b.size() ? format::load_le<uint64_t>(b.data() + offset) : 0;
}

// XXH3-64 (seeded) of bytes [begin, end) written at `at`, when all of it lies in the buffer.
// Repairs are best effort: a mutated length that points outside the input repairs nothing.
inline void repair_checksum(std::vector<uint8_t>& b, uint64_t begin, uint64_t end, uint64_t at,
                            uint64_t seed = 0) {
    if (begin > end || end > b.size() || at > b.size() || b.size() - at < 8)
        return;
    const uint64_t sum =
        format::checksum64(std::span<const uint8_t>(b.data() + begin, end - begin), seed);
    format::store_le<uint64_t>(b.data() + at, sum);
}

// A file of this process under $TMPDIR (else /dev/shm), rewritten for every input; the name
// ends in `extension`, which the readers of tools/inputs.h dispatch on.
class ScratchFile {
  public:
    explicit ScratchFile(const std::string& extension) {
        const char* dir = std::getenv("TMPDIR");
        std::string base = dir != nullptr && *dir != '\0' ? dir : "/dev/shm";
        base += "/vstore-fuzz-";
        base += std::to_string(::getpid());
        base += extension;
        path_ = base;
    }
    ~ScratchFile() { std::remove(path_.c_str()); }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    const std::string& write(const uint8_t* data, size_t size) {
        FILE* f = std::fopen(path_.c_str(), "wb");
        if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size)) {
            std::perror(path_.c_str());
            std::abort();  // the harness's own failure, not the reader's
        }
        std::fclose(f);
        return path_;
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace vstore::fuzz
