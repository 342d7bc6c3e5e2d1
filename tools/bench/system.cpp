// Machine facts, files and the page cache, memory bandwidth, threads, formatting, the report.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "bench.h"

#ifndef VSTORE_BENCH_COMPILER_FLAGS
#define VSTORE_BENCH_COMPILER_FLAGS "(unknown)"
#endif

namespace bench {

namespace {
const Clock::time_point kStart = Clock::now();
std::mutex progress_mutex;
}  // namespace

void progress(const std::string& section, const std::string& message) {
    std::lock_guard lock(progress_mutex);
    std::fprintf(stderr, "[%7.1f s] %s: %s\n", seconds_since(kStart), section.c_str(),
                 message.c_str());
    std::fflush(stderr);
}

double median_of(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

void parallel_for(uint64_t n, unsigned threads, const std::function<void(uint64_t)>& fn) {
    threads = std::max(
        1u, std::min<unsigned>(threads, static_cast<unsigned>(std::min<uint64_t>(n, 1024))));
    if (threads <= 1) {
        for (uint64_t i = 0; i < n; ++i)
            fn(i);
        return;
    }
    std::atomic<uint64_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            try {
                for (uint64_t i = next++; i < n; i = next++)
                    fn(i);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure)
                    failure = std::current_exception();
                next = n;
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    if (failure)
        std::rethrow_exception(failure);
}

// ---- Machine -----------------------------------------------------------------------------

MachineInfo machine_info() {
    MachineInfo info;
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            info.cpu_model = line.substr(line.find(':') + 2);
            break;
        }
    }
    info.cores = std::thread::hardware_concurrency();
    std::ifstream meminfo("/proc/meminfo");
    for (std::string line; std::getline(meminfo, line);) {
        if (line.rfind("MemTotal:", 0) == 0) {
            info.memory_bytes = std::stoull(line.substr(9)) * 1024;
            break;
        }
    }
    utsname u{};
    if (::uname(&u) == 0)
        info.kernel = std::string(u.sysname) + " " + u.release;
    info.compiler = __VERSION__;
    info.flags = VSTORE_BENCH_COMPILER_FLAGS;
    return info;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

uint64_t directory_bytes(const std::filesystem::path& dir) {
    uint64_t total = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) == 0)
            total += uint64_t(st.st_blocks) * 512;
    }
    return total;
}

uint64_t file_bytes(const std::filesystem::path& file) {
    return std::filesystem::file_size(file);
}

std::string package_version(const std::string& debian_package) {
    const std::string command = "dpkg-query -W -f='${Version}' " + debian_package + " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr)
        return "";
    char buffer[256] = {};
    const size_t n = std::fread(buffer, 1, sizeof buffer - 1, pipe);
    ::pclose(pipe);
    return std::string(buffer, n);
}

bool command_exists(const std::string& command) {
    return std::system(("command -v " + command + " >/dev/null 2>&1").c_str()) == 0;
}

bool evict_from_page_cache(const std::vector<std::filesystem::path>& files, bool drop_all) {
    for (const auto& file : files) {
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
    if (!drop_all)
        return false;
    ::sync();
    std::ofstream drop("/proc/sys/vm/drop_caches");
    if (!drop)
        return false;
    drop << "3\n";
    drop.flush();
    return static_cast<bool>(drop);
}

double resident_fraction(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st {};
    ::fstat(fd, &st);
    const size_t bytes = static_cast<size_t>(st.st_size);
    double fraction = 0;
    if (bytes > 0) {
        void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
            std::vector<unsigned char> resident((bytes + page - 1) / page);
            if (::mincore(map, bytes, resident.data()) == 0) {
                size_t n = 0;
                for (unsigned char r : resident)
                    n += r & 1;
                fraction = double(n) / resident.size();
            }
            ::munmap(map, bytes);
        }
    }
    ::close(fd);
    return fraction;
}

double read_bandwidth(uint64_t buffer_bytes, unsigned threads) {
    const uint64_t count = buffer_bytes / sizeof(float);
    std::vector<float> buffer(count);
    parallel_for(threads, threads, [&](uint64_t t) {
        const uint64_t begin = count * t / threads, end = count * (t + 1) / threads;
        for (uint64_t i = begin; i < end; ++i)
            buffer[i] = float(i & 1023) * 0.001f;
    });
    double best = 0;
    volatile float sink = 0;
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<float> partial(threads);
        const auto start = Clock::now();
        parallel_for(threads, threads, [&](uint64_t t) {
            const uint64_t begin = count * t / threads, end = count * (t + 1) / threads;
            constexpr uint32_t kLanes = 32;
            float lanes[kLanes] = {};
            uint64_t i = begin;
            for (; i + kLanes <= end; i += kLanes)
                for (uint32_t j = 0; j < kLanes; ++j)
                    lanes[j] += buffer[i + j];
            float sum = 0;
            for (float x : lanes)
                sum += x;
            partial[t] = sum;
        });
        const double seconds = seconds_since(start);
        float total = 0;
        for (float x : partial)
            total += x;
        sink = total;
        best = std::max(best, double(count * sizeof(float)) / seconds);
    }
    (void)sink;
    return best;
}

// ---- Formatting --------------------------------------------------------------------------

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string ratio(double numerator, double denominator) {
    if (!(denominator > 0) || !(numerator >= 0))
        return "n/a";
    return fixed(numerator / denominator, 2);
}

std::string bytes_text(uint64_t bytes) {
    if (bytes >= 10'000'000)
        return fixed(bytes / 1e6, 1) + " MB";
    if (bytes >= 10'000)
        return fixed(bytes / 1e3, 1) + " kB";
    return std::to_string(bytes) + " B";
}

std::string with_commas(uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string text;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            text += ',';
        text += digits[i];
    }
    return text;
}

// ---- Report ------------------------------------------------------------------------------

Report::Report(const Config& config) : config_(config) {}

void Report::add_section(const std::string& markdown) {
    sections_.push_back(markdown);
    write();
}

void Report::add_target(Target target) {
    targets_.push_back(std::move(target));
}

void Report::write() const {
    std::ostringstream out;
    out << header_;
    out << "\n## Targets\n\n"
        << "Targets of the benchmark issue, measured in this run (they are reported, never "
           "asserted).\n\n"
        << "| target | measured | met | margin |\n|---|---|---|---|\n";
    for (const Target& t : targets_) {
        out << "| " << t.what << " | " << t.measured << " | "
            << (t.met ? (*t.met ? "met" : "**not met**") : "not measured") << " | " << t.margin
            << " |\n";
    }
    if (targets_.empty())
        out << "| (no section with a target ran) | | | |\n";
    // Each reason once, after the targets it explains.
    std::vector<std::pair<std::string, std::vector<std::string>>> reasons;
    for (const Target& t : targets_) {
        if (!t.met || *t.met || t.why.empty())
            continue;
        auto it = std::find_if(reasons.begin(), reasons.end(),
                               [&](const auto& r) { return r.first == t.why; });
        if (it == reasons.end())
            reasons.push_back({t.why, {t.what}});
        else
            it->second.push_back(t.what);
    }
    if (!reasons.empty()) {
        out << "\nWhere a target is missed: why, as far as the engine's design explains it, "
               "and what would close it.\n\n";
    }
    for (const auto& [why, whats] : reasons) {
        out << "-";
        for (size_t i = 0; i < whats.size(); ++i)
            out << (i ? ";" : "") << " **" << whats[i] << "**";
        out << ": " << why << "\n";
    }
    for (const auto& note : notes_)
        out << "\n" << note << "\n";
    for (const auto& section : sections_)
        out << "\n" << section;
    const auto path = config_.out_dir / "report.md";
    const auto tmp = config_.out_dir / "report.md.tmp";
    {
        std::ofstream file(tmp);
        file << out.str();
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace bench
