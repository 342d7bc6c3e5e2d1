#include "server.h"

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <fstream>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>

#include "access_token.h"
#include "apply_operation.h"
#include "inputs.h"
#include "json_output.h"
#include "listen_address.h"
#include "records_json.h"

namespace vstore::serve {
namespace {

using cli::json;
using httplib::Request;
using httplib::Response;

// How a library error answers over HTTP: its status and the code of the error object.
std::pair<int, std::string_view> http_status(ErrorCode code) {
    switch (code) {
        case ErrorCode::kNotFound:
            return {404, "not_found"};
        case ErrorCode::kInvalidArgument:
            return {400, "invalid_argument"};
        case ErrorCode::kConflict:
            return {409, "conflict"};
        case ErrorCode::kExhausted:
            return {429, "exhausted"};
        case ErrorCode::kCorruption:
            return {500, "corruption"};
        case ErrorCode::kIO:
            return {500, "io"};
    }
    return {500, "internal"};
}

void send_json(Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(cli::json_text(body) + "\n", "application/json");
}

void send_error(Response& res, int status, std::string_view code, const std::string& message) {
    send_json(res, status, json{{"error", {{"code", code}, {"message", message}}}});
}

// A request's fault that is no library error: a missing or malformed parameter, a limit.
struct HttpError {
    int status;
    std::string code;
    std::string message;
};

HttpError bad_request(const std::string& message) {
    return {400, "invalid_argument", message};
}

// The query parameters of a request, with the messages a caller needs when one is wrong.
class Params {
  public:
    explicit Params(const Request& req) : req_(req) {}

    std::string required(const std::string& name) const {
        if (!req_.has_param(name.c_str()))
            throw bad_request("missing query parameter '" + name + "'");
        return req_.get_param_value(name.c_str());
    }
    std::optional<std::string> optional(const std::string& name) const {
        if (!req_.has_param(name.c_str()))
            return std::nullopt;
        return req_.get_param_value(name.c_str());
    }
    // A count from 1 to `most`; `fallback` when absent.
    size_t count(const std::string& name, size_t fallback, size_t most) const {
        const auto text = optional(name);
        if (!text)
            return fallback;
        size_t value = 0;
        const auto r = std::from_chars(text->data(), text->data() + text->size(), value);
        if (r.ec != std::errc() || r.ptr != text->data() + text->size() || value == 0)
            throw bad_request("query parameter '" + name +
                              "' must be a whole number from 1, not '" + *text + "'");
        if (value > most)
            throw bad_request("query parameter '" + name + "' is " + *text + "; at most " +
                              std::to_string(most) + " is served (--max-count)");
        return value;
    }
    bool flag(const std::string& name) const {
        const auto text = optional(name);
        if (!text)
            return false;
        if (*text == "1" || *text == "true")
            return true;
        if (*text == "0" || *text == "false")
            return false;
        throw bad_request("query parameter '" + name + "' must be 1, true, 0 or false, not '" +
                          *text + "'");
    }
    float distance(const std::string& name) const {
        const std::string text = required(name);
        float value = 0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
        if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !(value >= 0) ||
            value > 3.4e38f)
            throw bad_request("query parameter '" + name +
                              "' must be a distance of 0 or more, not '" + text + "'");
        return value;
    }

  private:
    const Request& req_;
};

class Service {
  public:
    Service(const ServeOptions& options, std::ostream& log)
        : options_(options),
          log_(log),
          store_(Store::open(options.store, store_options())),
          embedder_(options.embed_command.empty() ? nullptr
                                                  : std::make_unique<embed::EmbedCommand>(
                                                        options.embed_command, options.embed)),
          tasks_(*store_, options.tasks, embedder_.get()),
          http_(options.connections) {
        if (!options.token_file.empty())
            token_ = read_access_token(options.token_file);
        routes();
    }

    DeadlineServer& http() { return http_; }
    IndexTasks& tasks() { return tasks_; }
    void log(const std::string& line) {
        std::lock_guard lock(log_mutex_);
        log_ << "vstore serve: " << line << std::endl;
    }

  private:
    StoreOptions store_options() {
        StoreOptions o;
        o.mode = options_.mode;
        o.pool_budget_bytes = options_.pool_budget_bytes;
        o.on_crash_leftovers = [this](const CrashLeftovers& removed) {
            log("removed " + std::to_string(removed.names.size()) +
                " files that crashed writers left in " + removed.dir);
        };
        return o;
    }

    // Every handler answers JSON, errors included; nothing it throws reaches httplib.
    template <typename F>
    httplib::Server::Handler handler(F f) {
        return [this, f](const Request& req, Response& res) { answer(req, res, f); };
    }
    // A POST handler: it gets the request's body as it is, whatever its Content-Type says.
    // (httplib would read an application/x-www-form-urlencoded body, which is what curl -d
    // sends, into the query parameters, and refuse one over 8 KiB.)
    template <typename F>
    httplib::Server::HandlerWithContentReader body_handler(F f) {
        return [this, f](const Request& req, Response& res, const httplib::ContentReader& reader) {
            answer(req, res,
                   [&](const Request& r, Response& s) { f(r, s, read_body(req, reader)); });
        };
    }

    std::string read_body(const Request& req, const httplib::ContentReader& reader) {
        if (req.is_multipart_form_data())
            throw bad_request("a multipart/form-data body is not served; send the JSON itself");
        std::string body;
        bool too_large = false;
        const bool read = reader([&](const char* data, size_t n) {
            if (body.size() + n > options_.max_body_bytes) {
                too_large = true;
                return false;
            }
            body.append(data, n);
            return true;
        });
        // A Content-Length over the limit makes httplib skip the body without handing any of it
        // to the receiver.
        if (too_large || (!read && declared_length(req) > options_.max_body_bytes))
            throw too_large_body();
        if (!read)
            throw bad_request("the request body could not be read whole");
        return body;
    }

    static uint64_t declared_length(const Request& req) {
        const std::string text = req.get_header_value("Content-Length");
        uint64_t length = 0;
        std::from_chars(text.data(), text.data() + text.size(), length);
        return length;
    }

    HttpError too_large_body() const {
        return {413, "too_large",
                "the request body is over " + std::to_string(options_.max_body_bytes) +
                    " bytes (--max-body-bytes)"};
    }

    template <typename F>
    void answer(const Request& req, Response& res, F&& f) {
        try {
            f(req, res);
        } catch (const HttpError& e) {
            send_error(res, e.status, e.code, e.message);
        } catch (const Error& e) {
            const auto [status, code] = http_status(e.code());
            send_error(res, status, code, e.message());
        } catch (const std::bad_alloc&) {
            send_error(res, 500, "exhausted", "the server ran out of memory for this request");
        } catch (const std::exception& e) {
            log(req.method + " " + req.path + ": " + e.what());
            send_error(res, 500, "internal", e.what());
        }
    }

    void routes() {
        http_.set_payload_max_length(options_.max_body_bytes);
        http_.set_pre_routing_handler([this](const Request& req, Response& res) {
            if (!token_ || req.path == "/healthz")
                return httplib::Server::HandlerResponse::Unhandled;
            if (bearer_token_matches(req.get_header_value("Authorization"), *token_))
                return httplib::Server::HandlerResponse::Unhandled;
            res.set_header("WWW-Authenticate", "Bearer");
            // The body, if any, is never read: the client must not send another request on
            // this connection after it.
            res.set_header("Connection", "close");
            send_error(res, 401, "unauthorized",
                       "this server needs 'Authorization: Bearer <token>' (vstore serve "
                       "--token-file)");
            return httplib::Server::HandlerResponse::Handled;
        });
        // httplib's own errors (413 for a body over the limit, 404 for an unknown path, 400
        // for a request it cannot parse) come with an empty body; give them the error object.
        http_.set_error_handler(
            httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
                if (!res.body.empty())
                    return httplib::Server::HandlerResponse::Unhandled;
                if (res.status == 413) {
                    const HttpError e = too_large_body();
                    send_error(res, e.status, e.code, e.message);
                } else if (res.status == 404)
                    send_error(res, 404, "not_found", "no endpoint " + req.method + " " + req.path);
                else
                    send_error(res, res.status, "invalid_argument", "a malformed HTTP request");
                return httplib::Server::HandlerResponse::Handled;
            }));
        http_.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
            send_error(res, 500, "internal", "the request failed");
        });

        http_.Get("/healthz", handler([](const Request&, Response& res) {
                      send_json(res, 200, json{{"status", "ok"}});
                  }));
        http_.Get("/domains", handler([this](const Request&, Response& res) {
                      json list = json::array();
                      for (const auto& d : store_->domains()) {
                          json j = cli::domain_json(d);
                          j["commits"] = store_->commits(d.name).size();
                          list.push_back(std::move(j));
                      }
                      send_json(res, 200, list);
                  }));
        http_.Get("/log", handler([this](const Request& req, Response& res) {
                      const Params p(req);
                      const std::string domain = p.required("domain");
                      const auto commit = p.optional("commit");
                      std::vector<CommitInfo> commits;
                      if (commit) {
                          commits = store_->log(domain, *commit);
                      } else {
                          commits = store_->commits(domain);
                          sort_newest_first(commits);
                      }
                      json list = json::array();
                      for (const auto& c : commits)
                          list.push_back(cli::commit_json(c));
                      send_json(res, 200, list);
                  }));
        http_.Get("/statistics", handler([this](const Request&, Response& res) {
                      send_json(res, 200, statistics());
                  }));
        http_.Post("/index",
                   body_handler([this](const Request& req, Response& res, std::string&& body) {
                       index(req, res, std::move(body));
                   }));
        http_.Get("/check",
                  handler([this](const Request& req, Response& res) { check(req, res); }));
        http_.Get("/assign", handler([this](const Request& req, Response& res) {
                      const Params p(req);
                      IndexRequest r;
                      r.domain = p.required("domain");
                      r.assign_source = p.required("source_commit");
                      r.commit = p.required("target_commit");
                      const TaskStatus s = tasks_.wait(tasks_.submit(std::move(r)));
                      if (s.state != TaskStatus::State::kComplete)
                          throw Error(s.code, s.message);
                      send_json(res, 200, cli::commit_json(*s.commit));
                  }));
        http_.Post("/search", body_handler([this](const Request& req, Response& res,
                                                  std::string&& body) { search(req, res, body); }));
        http_.Get("/similar", handler([this](const Request& req, Response& res) {
                      const Params p(req);
                      const std::string domain = p.required("domain");
                      const std::string commit = p.required("commit");
                      const std::string id = p.required("id");
                      const size_t k = p.count("count", 10, options_.max_count);
                      const size_t ef = p.count("ef", 0, options_.max_count);
                      const auto snapshot = store_->open_commit(domain, commit);
                      send_json(res, 200, cli::hits_json(snapshot->similar(id, k, ef)));
                  }));
        http_.Get("/duplicates", handler([this](const Request& req, Response& res) {
                      const Params p(req);
                      const std::string domain = p.required("domain");
                      const std::string commit = p.required("commit");
                      const float threshold = p.distance("threshold");
                      const auto snapshot = store_->open_commit(domain, commit);
                      json list = json::array();
                      for (const auto& pair : snapshot->duplicates(threshold))
                          list.push_back(cli::duplicate_json(pair));
                      send_json(res, 200, list);
                  }));
    }

    void index(const Request& req, Response& res, std::string&& body) {
        const Params p(req);
        IndexRequest r;
        r.domain = p.required("domain");
        r.commit = p.required("commit");
        r.previous = p.optional("previous");
        r.snapshot = p.flag("snapshot");
        r.body = std::move(body);
        const std::string id = tasks_.submit(std::move(r));
        send_json(res, 202, json{{"task_id", id}});
    }

    void check(const Request& req, Response& res) {
        const std::string id = Params(req).required("task_id");
        const auto s = tasks_.status(id);
        if (!s)
            throw Error::not_found("no task '" + id + "' (unknown, or ended too long ago)");
        switch (s->state) {
            case TaskStatus::State::kQueued:
            case TaskStatus::State::kRunning:
                send_json(res, 200, json{{"status", "Pending"}, {"percentage", s->percentage}});
                return;
            case TaskStatus::State::kComplete:
                send_json(res, 200,
                          json{{"status", "Complete"}, {"commit", cli::commit_json(*s->commit)}});
                return;
            case TaskStatus::State::kError:
                send_json(res, 200,
                          json{{"status", "Error"},
                               {"code", http_status(s->code).second},
                               {"message", s->message}});
                return;
        }
    }

    void search(const Request& req, Response& res, const std::string& body) {
        const Params p(req);
        const std::string domain = p.required("domain");
        const std::string commit = p.required("commit");
        const size_t k = p.count("count", 10, options_.max_count);
        const size_t ef = p.count("ef", 0, options_.max_count);
        const bool exact = p.flag("exact");
        const auto first = body.find_first_not_of(" \t\r\n");
        const cli::QueryVectors queries = first != std::string::npos && body[first] == '{'
                                              ? text_query(body)
                                              : cli::parse_query_json(body, "request body");
        if (queries.vectors.size() > options_.max_queries)
            throw HttpError{413, "too_large",
                            "request body: " + std::to_string(queries.vectors.size()) +
                                " query vectors; at most " + std::to_string(options_.max_queries) +
                                " are served in one request (--max-queries)"};
        const auto snapshot = store_->open_commit(domain, commit);
        json answers = json::array();
        for (size_t i = 0; i < queries.vectors.size(); ++i) {
            try {
                const auto hits = exact ? snapshot->search_exact(queries.vectors[i], k)
                                        : snapshot->search(queries.vectors[i], k, ef);
                answers.push_back(cli::hits_json(hits));
            } catch (const Error& e) {
                throw Error(e.code(), queries.many ? "request body: query " + std::to_string(i) +
                                                         ": " + e.message()
                                                   : "request body: " + e.message());
            }
        }
        send_json(res, 200, queries.many ? answers : answers[0]);
    }

    // {"text": "..."}: the query is the embedder's vector for the text.
    cli::QueryVectors text_query(const std::string& body) {
        json j;
        try {
            j = json::parse(body);
        } catch (const json::exception& e) {
            throw bad_request("request body: malformed JSON: " + std::string(e.what()));
        }
        const auto text = j.find("text");
        if (!j.is_object() || j.size() != 1 || text == j.end() || !text->is_string())
            throw bad_request(
                "request body: an object must be {\"text\": \"...\"}; a vector "
                "query is a JSON array of numbers");
        if (!embedder_)
            throw bad_request(
                "request body: a text query needs an embedder, and this server "
                "has none (vstore serve --embed-command)");
        const std::string& t = text->get_ref<const std::string&>();
        cli::QueryVectors q;
        cli::at("request body: text", [&] {
            embed::check_text(t);
            q.vectors = embedder_->embed({t});
        });
        return q;
    }

    json statistics() {
        const IndexPoolStats pool = store_->index_pool_stats();
        const TaskCounts t = tasks_.counts();
        json files = json::array();
        for (const auto& f : store_->vector_file_stats()) {
            files.push_back({{"domain", f.domain},
                             {"file", f.file},
                             {"mode", f.mode == ServingMode::kPool ? "pool" : "mapped"},
                             {"vectors", f.vectors},
                             {"pool",
                              {{"frames", f.pool.frame_count},
                               {"frame_bytes", f.pool.frame_bytes},
                               {"allocated_frames", f.pool.allocated_frames},
                               {"pinned_frames", f.pool.pinned_frames},
                               {"hits", f.pool.hits},
                               {"misses", f.pool.misses},
                               {"evictions", f.pool.evictions}}}});
        }
        return json{{"index_pool",
                     {{"commits", pool.commits},
                      {"bytes", pool.bytes},
                      {"loads", pool.loads},
                      {"hits", pool.hits},
                      {"evictions", pool.evictions}}},
                    {"vector_files", files},
                    {"tasks",
                     {{"queued", t.queued},
                      {"running", t.running},
                      {"completed", t.completed},
                      {"failed", t.failed}}}};
    }

    ServeOptions options_;
    std::ostream& log_;
    std::mutex log_mutex_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<embed::EmbedCommand> embedder_;  // shared by the index tasks and searches
    IndexTasks tasks_;
    DeadlineServer http_;
    std::optional<std::string> token_;
};

}  // namespace

int run_serve(const ServeOptions& options, std::ostream& log) {
    const ListenAddress address = parse_listen_address(options.listen);
    if (options.token_file.empty() && !address.loopback)
        throw Error::invalid_argument(
            "--listen " + options.listen +
            " is not a loopback address: a server others can reach needs --token-file");

    // SIGTERM and SIGINT go to one thread that waits for them; every other thread, those
    // httplib and the store start included, inherits the mask and never sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    Service service(options, log);
    DeadlineServer& http = service.http();
    const unsigned threads =
        options.threads ? options.threads : std::max(32u, 4 * std::thread::hardware_concurrency());
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    int port = address.port;
    if (port == 0)
        port = http.bind_to_any_port(address.host);
    else if (!http.bind_to_port(address.host, port))
        port = -1;
    if (port <= 0)
        throw Error::invalid_argument("--listen " + options.listen +
                                      ": cannot listen there (in use, or not this machine's)");

    std::atomic<bool> accept_loop_ended{false};
    std::thread signal_waiter([&] {
        int signal = 0;
        sigwait(&stop_signals, &signal);
        if (!accept_loop_ended)
            service.log(std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") +
                        ": stopping; requests being served finish, the running index task is "
                        "abandoned before its commit");
        http.begin_shutdown();
        service.tasks().shutdown();
        // stop() does nothing before the accept loop has started: a signal that comes that
        // early is repeated until the loop has seen it.
        while (!accept_loop_ended) {
            http.stop();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    service.log("listening on http://" + address.url_host + ":" + std::to_string(port));
    const bool served = http.listen_after_bind();
    accept_loop_ended = true;
    if (!served) {
        // The accept loop failed on its own: wake the waiter so that it stops the rest.
        pthread_kill(signal_waiter.native_handle(), SIGTERM);
    }
    signal_waiter.join();
    service.log(served ? "stopped" : "stopped: the listening socket failed");
    return served ? 0 : 1;
}

}  // namespace vstore::serve
