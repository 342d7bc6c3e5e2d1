#include "serve_command.h"

namespace vstore::serve {
namespace {

// A duration option in whole seconds into a milliseconds field.
void add_seconds(CLI::App* cmd, const std::string& name, std::chrono::milliseconds& field,
                 const std::string& help) {
    cmd->add_option_function<double>(
           name,
           [&field](double s) {
               field = std::chrono::milliseconds(static_cast<long long>(s * 1000));
           },
           help + " (default " + std::to_string(field.count() / 1000) + ")")
        ->check(CLI::Range(0.001, 86400.0));
}

}  // namespace

CLI::App* add_serve_command(CLI::App& app, ServeOptions& o) {
    auto* cmd =
        app.add_subcommand("serve", "Serve a store over HTTP (TerminusDB's semantic indexer API)");
    cmd->add_option("STORE", o.store, "The store")->required();
    cmd->add_option("--listen", o.listen,
                    "HOST:PORT to listen on; port 0 picks one (default 127.0.0.1:8080)");
    cmd->add_option("--token-file", o.token_file,
                    "Require 'Authorization: Bearer <token>', the token the file's first line "
                    "holds (needed for a non-loopback --listen)");
    cmd->add_option("--mode", o.mode,
                    "How vector files are served: mapped or pool (default mapped)")
        ->transform(CLI::CheckedTransformer(std::map<std::string, ServingMode>{
            {"mapped", ServingMode::kMapped}, {"pool", ServingMode::kPool}}));
    cmd->add_option("--pool-budget", o.pool_budget_bytes,
                    "Memory of each vector file's buffer pool in pool mode, e.g. 1G (default 256M)")
        ->transform(CLI::AsSizeValue(false));
    cmd->add_option("--threads", o.threads,
                    "Request threads, one per open connection (default: 32, or 4 per core if more)")
        ->check(CLI::Range(1u, 1024u));
    cmd->add_option("--embed-command", o.embed_command,
                    "A command that turns texts into vectors (spec/embed-command.md), for text "
                    "operations and {\"text\": ...} queries");
    add_seconds(cmd, "--embed-timeout", o.embed.timeout,
                "Seconds the embed command has to answer one batch");
    cmd->add_option("--embed-batch-size", o.embed.batch_size,
                    "Most texts sent to the embed command at once (default 64)")
        ->check(CLI::Range(size_t(1), size_t(1) << 16));
    cmd->add_option("--max-body-bytes", o.max_body_bytes,
                    "Largest request body, e.g. 64M (default 256M); larger: 413")
        ->transform(CLI::AsSizeValue(false));
    cmd->add_option("--max-queries", o.max_queries,
                    "Most query vectors in one POST /search (default 1024); more: 413")
        ->check(CLI::Range(size_t(1), size_t(1) << 20));
    cmd->add_option("--max-count", o.max_count, "Largest count and ef served (default 10000)")
        ->check(CLI::Range(size_t(1), size_t(1) << 24));
    cmd->add_option("--max-queued-tasks", o.tasks.max_queued,
                    "Index tasks that may wait behind the running one (default 8); more: 429")
        ->check(CLI::Range(size_t(1), size_t(1) << 16));
    cmd->add_option("--max-index-memory", o.tasks.max_memory_bytes,
                    "Most vector and id bytes one index task may hold, e.g. 2G (default 1G)")
        ->transform(CLI::AsSizeValue(false));
    add_seconds(cmd, "--request-timeout", o.connections.request_read,
                "Seconds a client has to send a whole request");
    add_seconds(cmd, "--response-timeout", o.connections.response_write,
                "Seconds a client has to read a whole response");
    add_seconds(cmd, "--keep-alive-timeout", o.connections.keep_alive_idle,
                "Seconds an idle keep-alive connection stays open");
    cmd->footer(
        "Endpoints and limits: spec/http-api.md. Stops on SIGTERM or SIGINT.\n"
        "Example: vstore serve ./embeddings --listen 127.0.0.1:8080\n"
        "         curl -X POST 'http://127.0.0.1:8080/search?domain=docs&commit=c2&count=5' "
        "-d '[0.1, 0.2, 0.3]'");
    return cmd;
}

}  // namespace vstore::serve
