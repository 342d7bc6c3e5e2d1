// Section "serve": search over HTTP through the real `vstore serve` (a child process, the
// `vstore` binary beside this program), beside Snapshot::search in this process on the same
// store and as many threads, at 1, 2 and 8 concurrent clients; then the same while the server
// builds a commit of a second domain as large as the served one.
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench.h"
#include "one_write_client.h"

extern char** environ;

namespace bench {

namespace {

using nlohmann::json;

constexpr size_t kCount = 10;  // k of every search; ef is the server's and the library's default
const std::vector<unsigned> kClientCounts = {1, 2, 8};
const std::string kLoadDomain = "bench-load";  // the domain the index task builds
const std::string kLoopback = "127.0.0.1";

// `vstore` is built beside this program (build/tools/vstore-bench and build/tools/vstore).
std::filesystem::path vstore_binary() {
    const auto path = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "vstore";
    if (!std::filesystem::exists(path))
        throw std::runtime_error("serve: no vstore binary at " + path.string() +
                                 " (the bench's CMake builds the vstore-cli target with it)");
    return path;
}

// `vstore serve STORE --listen 127.0.0.1:0`, a child process whose standard error is a pipe
// that a thread of this process reads to the end, so that the server never blocks on it and
// its lines can explain a failure.
class ServerProcess {
  public:
    ServerProcess(const std::filesystem::path& binary, const std::filesystem::path& store) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("serve: pipe2 failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
        // The server inherits none of this process's stores' descriptors.
        posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
        const std::string binary_text = binary.string(), store_text = store.string();
        const char* argv[] = {binary_text.c_str(), "serve",       store_text.c_str(),
                              "--listen",          "127.0.0.1:0", nullptr};
        const int spawned = posix_spawn(&pid_, binary_text.c_str(), &actions, nullptr,
                                        const_cast<char* const*>(argv), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (spawned != 0) {
            ::close(fds[0]);
            pid_ = -1;
            throw std::runtime_error("serve: cannot start " + binary_text + ": " +
                                     std::strerror(spawned));
        }
        reader_ = std::thread([this, fd = fds[0]] { read_stderr(fd); });

        const std::string listening = "vstore serve: listening on http://" + kLoopback + ":";
        std::unique_lock lock(mutex_);
        const bool ready = line_read_.wait_for(lock, std::chrono::seconds(60), [&] {
            return eof_ || std::any_of(lines_.begin(), lines_.end(), [&](const std::string& l) {
                       return l.starts_with(listening);
                   });
        });
        for (const std::string& line : lines_) {
            if (line.starts_with(listening))
                std::from_chars(line.data() + listening.size(), line.data() + line.size(), port_);
        }
        lock.unlock();
        if (!ready || port_ <= 0) {
            const std::string why =
                ready ? "did not say where it listens" : "did not start in 60 s";
            kill_now();
            throw std::runtime_error("serve: vstore serve " + why + "; it wrote: " + output());
        }
    }
    ~ServerProcess() { kill_now(); }
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    int port() const { return port_; }

    // SIGTERM, as a service manager stops it; throws unless the server then exits with 0.
    void stop() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        reader_.join();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error(
                "serve: vstore serve did not exit with 0 on SIGTERM (wait "
                "status " +
                std::to_string(status) + "); it wrote: " + output());
    }

  private:
    void read_stderr(int fd) {
        std::string pending;
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            pending.append(buffer, static_cast<size_t>(n));
            std::lock_guard lock(mutex_);
            for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
                lines_.push_back(pending.substr(0, end));
                pending.erase(0, end + 1);
            }
            line_read_.notify_all();
        }
        ::close(fd);
        std::lock_guard lock(mutex_);
        if (!pending.empty())
            lines_.push_back(pending);
        eof_ = true;
        line_read_.notify_all();
    }

    std::string output() const {
        std::lock_guard lock(mutex_);
        std::string text;
        for (const std::string& line : lines_)
            text += (text.empty() ? "" : " | ") + line;
        return text.empty() ? "nothing" : text;
    }

    // For a server that failed or that stop() has not stopped: SIGKILL, reaped.
    void kill_now() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        if (reader_.joinable())
            reader_.join();
    }

    pid_t pid_ = -1;
    int port_ = 0;
    std::thread reader_;
    mutable std::mutex mutex_;
    std::condition_variable line_read_;
    std::vector<std::string> lines_;
    bool eof_ = false;
};

// A vector as JSON, in the shortest text that reads back as the same floats, so that the
// server searches exactly the query the library is given.
void append_json_vector(std::string& out, const float* v, uint32_t dim) {
    out += '[';
    char number[32];
    for (uint32_t i = 0; i < dim; ++i) {
        if (i > 0)
            out += ',';
        const auto r = std::to_chars(number, number + sizeof number, v[i]);
        out.append(number, r.ptr);
    }
    out += ']';
}

// The connection that starts the index task and watches it (the searches go through
// OneWriteClient). It asks for answers as they are: httplib's client would otherwise offer
// brotli and gzip, and the server would compress every answer. It sends without Nagle's delay,
// as curl does: httplib writes a request's headers and body apart, and the body would wait for
// the server's delayed ACK of the headers (40 ms).
class ControlClient {
  public:
    ControlClient(int port, std::string path, bool keep_alive = true)
        : client_(kLoopback, port), path_(std::move(path)) {
        client_.set_keep_alive(keep_alive);
        client_.set_tcp_nodelay(true);
        client_.set_read_timeout(std::chrono::seconds(60));
    }
    std::string post(const std::string& body) {
        const auto res =
            client_.Post(path_, {{"Accept-Encoding", "identity"}}, body, "application/json");
        if (!res)
            throw std::runtime_error("serve: POST " + path_ +
                                     " failed: " + httplib::to_string(res.error()));
        if (res->status != 200 && res->status != 202)
            throw std::runtime_error("serve: POST " + path_ + " answered " +
                                     std::to_string(res->status) + ": " + res->body);
        return res->body;
    }
    json get(const std::string& path) {
        const auto res = client_.Get(path, {{"Accept-Encoding", "identity"}});
        if (!res || res->status != 200)
            throw std::runtime_error("serve: GET " + path + " failed");
        return json::parse(res->body);
    }

  private:
    httplib::Client client_;
    std::string path_;
};

std::string search_path() {
    return "/search?domain=" + kDomain + "&commit=base&count=" + std::to_string(kCount);
}

struct Measurement {
    double qps = 0;
    double p50_ms = 0, p99_ms = 0;
    uint64_t requests = 0;
    double started = 0, ended = 0;  // seconds since the section's start
};

// Searches query `q`; made on the thread that uses it.
using QueryFn = std::function<void(uint64_t q)>;

struct MeasureSpec {
    uint64_t query_count = 0;  // threads cycle through queries [0, query_count)
    uint64_t per_thread = 0;   // queries each thread runs at least ...
    double min_seconds = 0;    // ... and for at least this long
    uint64_t warmup = 0;       // untimed, per thread
    Clock::time_point section_start;
};

// Runs `threads` threads, each with its own searcher, each starting at its own place in the
// queries so that they do not all ask the same one at once. They warm up, then start together
// and run queries one at a time; QPS is every query over the time from the first start to the
// last end, latencies are each query's own.
Measurement measure(unsigned threads, const MeasureSpec& spec,
                    const std::function<QueryFn()>& make_searcher) {
    std::latch ready(threads);
    std::vector<std::vector<double>> latencies(threads);
    std::vector<Clock::time_point> starts(threads), ends(threads);
    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto fail = [&] {
        std::lock_guard lock(failure_mutex);
        if (!failure)
            failure = std::current_exception();
    };
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const uint64_t offset = spec.query_count * t / threads;
            QueryFn search;
            try {
                search = make_searcher();
                for (uint64_t i = 0; i < spec.warmup; ++i)
                    search((offset + i) % spec.query_count);
            } catch (...) {
                fail();
            }
            ready.arrive_and_wait();
            if (!search)
                return;
            try {
                auto& mine = latencies[t];
                mine.reserve(spec.per_thread);
                starts[t] = Clock::now();
                for (uint64_t i = 0;
                     i < spec.per_thread || seconds_since(starts[t]) < spec.min_seconds; ++i) {
                    const auto before = Clock::now();
                    search((offset + i) % spec.query_count);
                    mine.push_back(seconds_since(before));
                }
                ends[t] = Clock::now();
            } catch (...) {
                fail();
            }
        });
    }
    for (auto& w : workers)
        w.join();
    if (failure)
        std::rethrow_exception(failure);
    std::vector<double> all;
    for (const auto& l : latencies)
        all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    const auto first = *std::min_element(starts.begin(), starts.end());
    const auto last = *std::max_element(ends.begin(), ends.end());
    Measurement m;
    m.requests = all.size();
    m.qps = double(all.size()) / std::chrono::duration<double>(last - first).count();
    m.p50_ms = all[all.size() / 2] * 1000;
    m.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)] * 1000;
    m.started = std::chrono::duration<double>(first - spec.section_start).count();
    m.ended = std::chrono::duration<double>(last - spec.section_start).count();
    return m;
}

// Each figure the median of the rounds' (which need not all come from one round).
Measurement median_measurement(const std::vector<Measurement>& rounds) {
    Measurement m;
    m.qps = median_of(rounds, &Measurement::qps);
    m.p50_ms = median_of(rounds, &Measurement::p50_ms);
    m.p99_ms = median_of(rounds, &Measurement::p99_ms);
    m.started = rounds.front().started;
    m.ended = rounds.back().ended;
    for (const Measurement& r : rounds)
        m.requests += r.requests;
    return m;
}

struct Row {
    unsigned threads = 0;
    Measurement http, local;        // medians of the rounds
    double ratio = 0;               // HTTP / in-process QPS: the median of the rounds' ratios
    double started = 0, ended = 0;  // the first round's start, the last's end
    std::string task_status;        // /check's status after the row's measurements, under load
};

std::string ms(double value) {
    return fixed(value, value < 1 ? 3 : 2);
}

std::string table(const std::vector<Row>& rows, bool under_load) {
    std::ostringstream out;
    out << "| clients (threads) | HTTP QPS | HTTP p50 (ms) | HTTP p99 (ms) | in-process QPS | "
           "in-process p50 (ms) | in-process p99 (ms) | HTTP / in-process |"
        << (under_load ? " /check after |" : "") << "\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        << (under_load ? "---|" : "") << "\n";
    for (const Row& r : rows) {
        out << "| " << r.threads << " | " << fixed(r.http.qps, 0) << " | " << ms(r.http.p50_ms)
            << " | " << ms(r.http.p99_ms) << " | " << fixed(r.local.qps, 0) << " | "
            << ms(r.local.p50_ms) << " | " << ms(r.local.p99_ms) << " | " << fixed(r.ratio, 2)
            << " |" << (under_load ? " " + r.task_status + " |" : "") << "\n";
    }
    return out.str();
}

// The load's index task: a snapshot of the base's vectors, as JSON Lines, for the first commit
// of a second domain: the writer builds a graph as large as the one being searched.
std::string snapshot_body(const Vectors& base) {
    std::string body;
    body.reserve(base.rows * (base.dim * 3 + 32));
    for (uint64_t r = 0; r < base.rows; ++r) {
        body += "{\"id\": \"" + std::to_string(r) + "\", \"vector\": ";
        append_json_vector(body, base.row(r), base.dim);
        body += "}\n";
    }
    return body;
}

}  // namespace

void section_serve(SectionContext& context) {
    const Config& config = context.config;
    BuiltPair& pair = context.fixtures.fashion();
    const Vectors& queries = *pair.queries;
    const uint32_t dim = pair.base->dim;
    const auto section_start = Clock::now();

    // The server gets a copy of its own (with the load's domain), searched in this process
    // too, with the options `vstore serve` opens it with: both sides read the same files.
    const std::filesystem::path dir = config.scratch_dir / "serve-store";
    copy_store(pair.vstore.dir, dir);
    auto store = vstore::Store::open(dir.string(), vstore::StoreOptions{});
    const vstore::DomainInfo served = store->domain(kDomain);
    store->create_domain(kLoadDomain, {.dimension = served.dimension,
                                       .metric = served.metric,
                                       .m = served.m,
                                       .ef_construction = served.ef_construction});
    auto snapshot = store->open_commit(kDomain, "base");

    ServerProcess server(vstore_binary(), dir);
    progress("serve", "vstore serve listening on port " + std::to_string(server.port()));

    MeasureSpec spec;
    spec.query_count = std::min<uint64_t>(config.queries, queries.rows);
    spec.per_thread = spec.query_count;
    spec.min_seconds = config.smoke ? 0.02 : config.quick ? 0.3 : 1.0;
    spec.warmup = std::min<uint64_t>(20, spec.query_count);
    spec.section_start = section_start;

    std::vector<std::string> bodies(spec.query_count);
    for (uint64_t q = 0; q < spec.query_count; ++q)
        append_json_vector(bodies[q], queries.row(q), dim);
    const std::string path = search_path();
    const auto http_searcher = [&]() -> QueryFn {
        auto client = std::make_shared<OneWriteClient>(kLoopback, server.port());
        return [client, &bodies, &path](uint64_t q) {
            if (client->post(path, bodies[q]).size() < 2)
                throw std::runtime_error("serve: an empty answer");
        };
    };
    const auto local_searcher = [&]() -> QueryFn {
        return [&snapshot, &queries, dim](uint64_t q) {
            if (snapshot->search({queries.row(q), dim}, kCount).size() != kCount)
                throw std::runtime_error("serve: Snapshot::search found too few");
        };
    };

    // The two sides answer the same: ids in the same order for every query measured.
    {
        OneWriteClient client(kLoopback, server.port());
        for (uint64_t q = 0; q < spec.query_count; ++q) {
            const json answer = json::parse(client.post(path, bodies[q]));
            const auto hits = snapshot->search({queries.row(q), dim}, kCount);
            bool same = answer.size() == hits.size();
            for (size_t i = 0; same && i < hits.size(); ++i)
                same = answer[i].at("id").get<std::string>() == hits[i].id;
            if (!same)
                throw std::runtime_error("serve: the answer over HTTP to query " +
                                         std::to_string(q) + " differs from Snapshot::search's");
        }
    }

    // Short rounds, the two sides taking turns: on a shared machine the median of the rounds'
    // ratios is steadier than either side's QPS.
    auto measure_rows = [&](const std::string& what, int rounds,
                            const std::function<std::string()>& after) {
        std::vector<Row> rows;
        for (unsigned threads : kClientCounts) {
            progress("serve", what + ", " + std::to_string(threads) + " clients, " +
                                  std::to_string(rounds) + " rounds");
            std::vector<Measurement> http, local;
            std::vector<double> ratios;
            for (int i = 0; i < rounds; ++i) {
                if (i % 2 == 0) {
                    http.push_back(measure(threads, spec, http_searcher));
                    local.push_back(measure(threads, spec, local_searcher));
                } else {
                    local.push_back(measure(threads, spec, local_searcher));
                    http.push_back(measure(threads, spec, http_searcher));
                }
                ratios.push_back(http.back().qps / local.back().qps);
            }
            Row row;
            row.threads = threads;
            row.http = median_measurement(http);
            row.local = median_measurement(local);
            row.ratio = median_of(ratios);
            row.started = std::min(http.front().started, local.front().started);
            row.ended = std::max(http.back().ended, local.back().ended);
            row.task_status = after();
            rows.push_back(row);
        }
        return rows;
    };
    const int idle_rounds = config.smoke ? 1 : config.quick ? 5 : 7;
    const std::vector<Row> idle = measure_rows("idle", idle_rounds, [] { return std::string(); });

    // Under load: the index task is submitted, and measuring starts once it builds the graph
    // (the last 10 %, on the writer's threads); parsing the body comes before.
    // The control client closes its connection after each request: the server serves one
    // connection per request thread, and an idle keep-alive one would hold a thread that the
    // 8 clients need.
    ControlClient control(server.port(), "/index?domain=" + kLoadDomain + "&commit=load&snapshot=1",
                          false);
    std::string body = snapshot_body(*pair.base);
    const uint64_t body_bytes = body.size();
    const double submitted = seconds_since(section_start);
    const std::string task = json::parse(control.post(body)).at("task_id").get<std::string>();
    body = std::string();
    const std::string check_path = "/check?task_id=" + task;
    auto task_state = [&] { return control.get(check_path); };
    double building = 0;
    for (;;) {
        const json state = task_state();
        if (state.at("status") != "Pending")
            throw std::runtime_error("serve: the load's index task ended before measuring: " +
                                     state.dump());
        if (state.at("percentage").get<double>() >= 90) {
            building = seconds_since(section_start);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const int loaded_rounds = config.smoke ? 1 : 3;
    const std::vector<Row> loaded = measure_rows("during the index task", loaded_rounds, [&] {
        return task_state().at("status").get<std::string>();
    });
    json end_state;
    while ((end_state = task_state()).at("status") == "Pending")
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double task_ended = seconds_since(section_start);
    if (end_state.at("status") != "Complete")
        throw std::runtime_error("serve: the load's index task failed: " + end_state.dump());
    server.stop();
    progress("serve", "vstore serve exited with 0 on SIGTERM");
    snapshot.reset();
    store.reset();
    std::filesystem::remove_all(dir);
    const bool within_task = std::all_of(loaded.begin(), loaded.end(),
                                         [](const Row& r) { return r.task_status == "Pending"; });

    std::ostringstream out;
    out << "## Serve: search over HTTP beside in-process search (" << pair.name << ")\n\n"
        << "`vstore serve` (the `vstore` binary, a child process on 127.0.0.1, its default 8 "
           "request threads) serves a copy of the store; the same copy is opened in this process "
           "with the options the server opens it with, so both sides search the same files. "
           "Each client is a thread with its own keep-alive connection "
           "(tools/bench/one_write_client.h: "
           "each request in one write, as curl, Go's net/http and Python's http.client send a "
           "small body) sending `POST "
        << path
        << "` with one query vector as a JSON array (the answers over HTTP were checked to be "
           "the in-process answers, id for id, for all "
        << spec.query_count
        << " queries); beside it, as many threads call `Snapshot::search` (k = 10, default ef). "
           "Each thread warms up with "
        << spec.warmup << " queries, then runs at least " << spec.per_thread
        << " queries (cycling through " << spec.query_count << " test images) and for at least "
        << fixed(spec.min_seconds, 2)
        << " s. QPS counts every thread's queries; latencies are per query, from the client's "
           "call to its answer. The clients run on the same cores as the server. Each row is "
           "the median of its rounds (the two sides taking turns), the ratio the median of the "
           "rounds' ratios.\n\n"
        << "Idle server, " << idle_rounds << " rounds:\n\n"
        << table(idle, false) << "\nWhile the server runs an index task: a snapshot of "
        << with_commas(pair.base->rows) << " vectors (" << bytes_text(body_bytes)
        << " of JSON Lines) as the first commit of a second domain, submitted at "
        << fixed(submitted, 1) << " s into the section; its graph build began at "
        << fixed(building, 1) << " s and the task completed at " << fixed(task_ended, 1) << " s ("
        << fixed(task_ended - submitted, 1) << " s in all). The measurements ran from "
        << fixed(loaded.front().started, 1) << " to " << fixed(loaded.back().ended, 1) << " s, "
        << (within_task ? "within the task: `/check` said Pending after each row."
                        : "**not all within the task**: see `/check` after each row.")
        << " " << loaded_rounds << (loaded_rounds == 1 ? " round" : " rounds") << ":"
        << "\n\n"
        << table(loaded, true);
    context.report.add_section(out.str());

    double worst = 0;
    std::string figures;
    for (const Row& r : idle) {
        worst = figures.empty() ? r.ratio : std::min(worst, r.ratio);
        figures += (figures.empty() ? "" : "; ") + std::to_string(r.threads) +
                   (r.threads == 1 ? " client: " : " clients: ") +
                   with_commas(static_cast<uint64_t>(r.http.qps + 0.5)) + " vs " +
                   with_commas(static_cast<uint64_t>(r.local.qps + 0.5)) + " QPS, " +
                   fixed(r.ratio, 2) + "×";
    }
    const Row& one = idle.front();
    context.report.add_target(
        {"search over HTTP ≥ 0.7× in-process Snapshot::search QPS (" + pair.name +
             ", k = 10, 1, 2 and 8 clients, idle server)",
         figures, worst >= 0.7, "lowest " + fixed(worst, 2) + "× (0.7× asked)",
         worst >= 0.7
             ? ""
             : "with few clients a query over HTTP is bound by its latency, not the server's CPU: "
               "the search waits for the request to cross the loopback to a server thread and "
               "the answer to come back, two wake-ups of threads whose cores had nothing else to "
               "do (p50 " +
                   ms(one.http.p50_ms) + " ms against " + ms(one.local.p50_ms) +
                   " ms in-process at 1 client). On a virtual machine an idle core's wake-up is "
                   "slow and varies from run to run; while an index task keeps the cores busy the "
                   "same client comes closer (the table of the index task). Parsing the body and "
                   "writing the answer are no longer the cost (a flat-array scanner, one write a "
                   "response). What would shorten it: many queries in one request (POST /search "
                   "takes up to 1,024), which pays the round trip once for all"});
}

}  // namespace bench
