// The vstore command line: parses arguments with CLI11 and hands them to the commands.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "inspect.h"
#include "serve_command.h"
#include "source.h"
#include "vstore/format/error.h"

namespace {

using namespace vstore::cli;

void add_common(CLI::App* cmd, Common& c, bool threads) {
    cmd->add_flag("--json", c.json, "Print JSON instead of text");
    cmd->add_flag("-q,--quiet", c.quiet, "No progress on stderr");
    if (threads) {
        cmd->add_option("--threads", c.threads, "Threads to work on (default: all cores)")
            ->check(CLI::Range(1u, 1024u));
    }
}

// For the commands that open packs: the most an archive may extract (spec/pack.md).
void add_pack_bound(CLI::App* cmd, uint64_t& bytes) {
    cmd->add_option("--max-unpacked", bytes,
                    "Most bytes a pack archive may extract to, e.g. 40G (default: 64 times the "
                    "archive's size, at least 256M)")
        ->transform(CLI::AsSizeValue(false));
}

void add_store_scope(CLI::App* cmd, StoreScopeArgs& a) {
    cmd->add_option("STORE", a.store, "The store")->required();
    cmd->add_option("--domain", a.domain, "Only this domain (default: every domain)");
}

void add_read_args(CLI::App* cmd, ReadArgs& a, Common& c) {
    cmd->add_option("SOURCE", a.source,
                    "A store directory, or a pack (directory, .tar.xz, .tar.zst)")
        ->required();
    cmd->add_option("--domain", a.domain, "Domain (default: the only one)");
    cmd->add_option("--commit", a.commit, "Commit (required for a store; a pack has one)");
    add_pack_bound(cmd, c.max_unpacked);
}

// --embed-command and its settings, for the commands that turn texts into vectors.
void add_embed_args(CLI::App* cmd, EmbedArgs& a) {
    cmd->add_option("--embed-command", a.command,
                    "A shell command that embeds texts: reads {\"texts\": [...]} lines on stdin, "
                    "answers {\"vectors\": [[...], ...]} lines on stdout (spec/embed-command.md)");
    cmd->add_option("--embed-timeout", a.timeout_seconds,
                    "Seconds the embed command may take to answer one request (default 30)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--embed-batch-size", a.batch_size,
                    "Most texts the embed command gets in one request (default 64)")
        ->check(CLI::Range(size_t{1}, size_t{1} << 20));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vstore: a versioned, embedded vector store"};
    app.require_subcommand(1);
    app.footer(
        "Exit status: 0 success, 1 error in the input or the data, 2 usage error.\n"
        "Run 'vstore COMMAND --help' for a command's options and an example.");
    Common common;

    std::string init_store;
    auto* init = app.add_subcommand("init", "Create an empty store");
    init->add_option("STORE", init_store, "Directory to create the store in")->required();
    init->footer("Example: vstore init ./embeddings");

    auto* domain = app.add_subcommand("domain", "Create or list the domains of a store");
    domain->require_subcommand(1);
    domain->footer(
        "Examples:\n"
        "  vstore domain create ./embeddings docs --dim 384 --metric cosine\n"
        "  vstore domain list ./embeddings");
    DomainCreateArgs create_args;
    auto* domain_create = domain->add_subcommand("create", "Create a domain: one vector space");
    domain_create->add_option("STORE", create_args.store, "The store")->required();
    domain_create->add_option("DOMAIN", create_args.domain, "Name of the domain")->required();
    domain_create->add_option("--dim", create_args.dimension, "Dimensions of every vector")
        ->required()
        ->check(CLI::Range(1u, 65536u));
    domain_create->add_option("--metric", create_args.metric, "l2, cosine or ip (default l2)")
        ->check(CLI::IsMember({"l2", "cosine", "ip"}));
    domain_create->add_option("--m", create_args.m, "HNSW M: links per node (default 16)")
        ->check(CLI::Range(2u, 2048u));
    domain_create
        ->add_option("--ef-construction", create_args.ef_construction,
                     "HNSW ef_construction (default 200)")
        ->check(CLI::Range(1u, 1u << 20));
    add_common(domain_create, common, false);
    domain_create->footer(
        "Example: vstore domain create ./embeddings docs --dim 384 --metric cosine");
    std::string list_source;
    auto* domain_list = domain->add_subcommand("list", "List the domains of a store or pack");
    domain_list->add_option("SOURCE", list_source, "A store or a pack")->required();
    add_pack_bound(domain_list, common.max_unpacked);
    add_common(domain_list, common, false);
    domain_list->footer("Example: vstore domain list ./embeddings --json");

    IndexArgs index_args;
    auto* index = app.add_subcommand("index",
                                     "Make a commit from operations (--ops) or from the whole "
                                     "current set (--snapshot, --sqlite, --llm-db)");
    index->add_option("STORE", index_args.store, "The store")->required();
    index->add_option("--domain", index_args.domain, "Domain")->required();
    index->add_option("--commit", index_args.commit, "Id of the new commit, e.g. a git hash")
        ->required();
    index->add_option("--parent", index_args.parent, "The commit it builds on (none: a root)");
    index->add_option("--ops", index_args.ops,
                      "JSON Lines of {\"id\", \"op\": Inserted|Deleted|Replaced, \"vector\"} "
                      "(or \"string\": a text to embed, with --embed-command); - for stdin");
    index->add_option("--snapshot", index_args.snapshot,
                      "The whole set of this commit: .jsonl ({\"id\", \"vector\"} or {\"id\", "
                      "\"string\"}), .fvecs or .npy (ids are row numbers); vstore works out what "
                      "changed since --parent");
    index->add_option(
        "--sqlite", index_args.sqlite,
        "The whole set from a SQLite database (columns id, embedding as float32 blob)");
    index->add_option("--table", index_args.table, "The table of --sqlite");
    index->add_option("--llm-db", index_args.llm_db,
                      "The whole set from one collection of an llm embeddings database "
                      "(tables collections and embeddings); other collections may share ids");
    index->add_option("--collection", index_args.collection, "The collection of --llm-db, by name");
    add_embed_args(index, index_args.embed);
    add_common(index, common, true);
    index->footer(
        "Examples:\n"
        "  vstore index ./embeddings --domain docs --commit $(git rev-parse HEAD) \\\n"
        "      --parent $(git rev-parse HEAD^) --ops changes.jsonl\n"
        "  vstore index ./embeddings --domain docs --commit c2 --parent c1 --snapshot all.npy\n"
        "  vstore index ./embeddings --domain docs --commit c3 --parent c2 --sqlite llm.db "
        "--table embeddings\n"
        "  vstore index ./embeddings --domain llm-docs --commit c2 --parent c1 \\\n"
        "      --llm-db ~/.config/io.datasette.llm/embeddings.db --collection docs\n"
        "  vstore index ./embeddings --domain docs --commit c4 --parent c3 --ops texts.jsonl \\\n"
        "      --embed-command 'python3 tools/embed/llm_embed.py -m 3-small'");

    AssignArgs assign_args;
    auto* assign = app.add_subcommand(
        "assign", "Make a commit that shares an existing commit's graph (no change to the set)");
    assign->add_option("STORE", assign_args.store, "The store")->required();
    assign->add_option("--domain", assign_args.domain, "Domain")->required();
    assign->add_option("--source", assign_args.source, "The existing commit it shares")->required();
    assign->add_option("--target", assign_args.target, "Id of the new commit, e.g. a git hash")
        ->required();
    add_common(assign, common, false);
    assign->footer(
        "Writes no graph file: the new commit, whose parent is --source, answers exactly as it.\n"
        "Example: vstore assign ./embeddings --domain docs --source $(git rev-parse HEAD^) \\\n"
        "      --target $(git rev-parse HEAD)");

    SearchArgs search_args;
    auto* search = app.add_subcommand(
        "search", "The nearest neighbours of a query vector or text, in one domain or several");
    search
        ->add_option("SOURCE", search_args.source,
                     "A store directory, or a pack (directory, .tar.xz, .tar.zst)")
        ->required();
    search
        ->add_option("--domain", search_args.domains,
                     "Domain (default: the only one); repeat to search several domains of a "
                     "store at once, of one dimension and metric")
        ->allow_extra_args(false);
    search
        ->add_option("--commit", search_args.commits,
                     "Commit (required for a store; a pack has one); one for all the "
                     "domains, or repeated: one per --domain, in the same order")
        ->allow_extra_args(false);
    add_pack_bound(search, common.max_unpacked);
    search->add_option("--vector", search_args.vector, "The query as a JSON array");
    search->add_option("--vector-file", search_args.vector_file,
                       "A file with one JSON array, or .fvecs for many queries");
    search->add_option("--id", search_args.id, "Query with the stored vector of this id");
    search->add_option("--text", search_args.text,
                       "Query with the vector of this text, from --embed-command");
    add_embed_args(search, search_args.embed);
    search->add_option("-k", search_args.k, "Neighbours to return (default 10)");
    search->add_option("--ef", search_args.ef, "Search breadth (default max(k, 64))");
    search->add_flag("--exact", search_args.exact, "Scan every vector instead of the graph");
    search->add_option("--only-ids", search_args.only_ids,
                       "Return only these ids: a file of one id a line (- for stdin; blank lines "
                       "ignored); ids a commit lacks are never returned");
    add_common(search, common, false);
    search->footer(
        "Give exactly one of --vector, --vector-file, --id and --text.\n"
        "Examples:\n"
        "  vstore search ./embeddings --domain docs --commit c2 --vector '[0.1, 0.2, 0.3]' "
        "-k 5 --json\n"
        "  vstore search ./embeddings --domain docs --domain notes --commit c2 --commit c7 \\\n"
        "      --vector '[0.1, 0.2, 0.3]' --json   (each hit names its domain and commit)\n"
        "  vstore search ./embeddings --domain docs --commit c2 --text 'packing a commit' \\\n"
        "      --embed-command 'python3 tools/embed/llm_embed.py -m 3-small'\n"
        "  vstore search ./embeddings --domain docs --commit c2 --vector '[0.1, 0.2, 0.3]' \\\n"
        "      --only-ids allowed.txt   (the nearest among the ids of allowed.txt)");

    SimilarArgs similar_args;
    auto* similar = app.add_subcommand("similar", "The neighbours of a stored item, not itself");
    add_read_args(similar, similar_args, common);
    similar->add_option("--id", similar_args.id, "The stored item")->required();
    similar->add_option("-k", similar_args.k, "Neighbours to return (default 10)");
    similar->add_option("--ef", similar_args.ef, "Search breadth (default max(k, 64))");
    add_common(similar, common, false);
    similar->footer("Example: vstore similar pack.tar.xz --id doc-42 -k 5");

    DuplicatesArgs duplicates_args;
    auto* duplicates = app.add_subcommand(
        "duplicates", "Pairs of items within a distance of each other, as JSON Lines");
    add_read_args(duplicates, duplicates_args, common);
    duplicates->add_option("--threshold", duplicates_args.threshold, "Largest distance of a pair")
        ->required();
    add_common(duplicates, common, false);
    duplicates->footer("Example: vstore duplicates ./embeddings --commit c2 --threshold 0.01");

    ReadArgs log_args;
    auto* log = app.add_subcommand(
        "log", "Commits of a domain, or the chain from --commit back to its root");
    add_read_args(log, log_args, common);
    add_common(log, common, false);
    log->footer("Example: vstore log ./embeddings --domain docs --commit c3");

    std::string inspect_path;
    InspectOptions inspect_options;
    auto* inspect_cmd =
        app.add_subcommand("inspect", "Show what a store, vector file, graph file or pack holds");
    inspect_cmd
        ->add_option("PATH", inspect_path, "A store, .vecs, .hnsw, pack directory or archive")
        ->required();
    inspect_cmd->add_flag("--verify", inspect_options.verify,
                          "Check every checksum; exit 1 if any fails");
    inspect_cmd->add_flag("--json", inspect_options.json, "Print JSON instead of text");
    inspect_cmd->add_flag("-q,--quiet", inspect_options.quiet, "No progress on stderr");
    add_pack_bound(inspect_cmd, inspect_options.max_unpacked);
    inspect_cmd->footer(
        "Examples:\n"
        "  vstore inspect ./embeddings\n"
        "  vstore inspect --verify docs-c2.tar.xz\n"
        "  vstore inspect --json 'admin%2Fstar_wars.vecs'");

    PackArgs pack_args;
    auto* pack = app.add_subcommand(
        "pack", "Write one commit as a self-contained directory, .tar.xz or .tar.zst");
    pack->add_option("STORE", pack_args.store, "The store")->required();
    pack->add_option("OUT", pack_args.out, "A new directory, OUT.tar.xz or OUT.tar.zst")
        ->required();
    pack->add_option("--domain", pack_args.domain, "Domain")->required();
    pack->add_option("--commit", pack_args.commit, "Commit")->required();
    add_common(pack, common, true);
    pack->footer("Example: vstore pack ./embeddings --domain docs --commit c2 docs-c2.tar.xz");

    DropArgs drop_args;
    auto* drop =
        app.add_subcommand("drop", "Drop commits of a domain; the others answer as before");
    drop->add_option("STORE", drop_args.store, "The store")->required();
    drop->add_option("--domain", drop_args.domain, "Domain")->required();
    drop->add_option("--commit", drop_args.commits, "A commit to drop (repeat for more)")
        ->required();
    drop->add_flag("--dry-run", drop_args.dry_run, "Say what would go, and change nothing");
    add_common(drop, common, false);
    drop->footer(
        "Graph files that kept commits still build on stay; the rest are deleted.\n"
        "Example: vstore drop ./embeddings --domain docs --commit c1 --commit c2 --dry-run");

    GcArgs gc_args;
    auto* gc = app.add_subcommand(
        "gc", "Keep the newest commits and the named ones, drop the rest, delete crash leftovers");
    add_store_scope(gc, gc_args);
    gc->add_option("--keep-last", gc_args.keep_last, "Keep the newest N commits of each domain");
    gc->add_option("--keep", gc_args.keep_files,
                   "A file of commit ids to keep, one a line (e.g. branch heads and tags)")
        ->check(CLI::ExistingFile);
    gc->add_flag("--dry-run", gc_args.dry_run,
                 "Say what would go and what it frees; change nothing");
    add_common(gc, common, false);
    gc->footer(
        "Example: git for-each-ref --format='%(objectname)' refs/heads refs/tags > keep.txt\n"
        "         vstore gc ./embeddings --keep keep.txt --keep-last 10 --dry-run");

    StoreScopeArgs vacuum_args;
    auto* vacuum = app.add_subcommand(
        "vacuum", "Rewrite a domain's vector file with only the vectors its commits refer to");
    add_store_scope(vacuum, vacuum_args);
    add_common(vacuum, common, false);
    vacuum->footer(
        "Every commit answers as before; run gc first to drop the commits you no longer need.\n"
        "Example: vstore gc ./embeddings --keep-last 10 && vstore vacuum ./embeddings");

    StoreScopeArgs du_args;
    auto* du = app.add_subcommand("du", "Where a store's bytes are, per domain");
    add_store_scope(du, du_args);
    add_common(du, common, false);
    du->footer("Example: vstore du ./embeddings --json");

    vstore::serve::ServeOptions serve_options;
    auto* serve = vstore::serve::add_serve_command(app, serve_options);

    // CLI11 would report a mistyped command as a missing one; name it instead.
    if (argc > 1 && argv[1][0] != '-') {
        bool known = false;
        for (const auto* sub : app.get_subcommands({}))
            known = known || sub->check_name(argv[1]);
        if (!known) {
            std::cerr << "vstore: unknown command '" << argv[1] << "'; see 'vstore --help'\n";
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    try {
        std::ostream& out = std::cout;
        if (*init)
            return run_init(init_store, out);
        if (*domain_create)
            return run_domain_create(create_args, common, out);
        if (*domain_list)
            return run_domain_list(list_source, common, out);
        if (*index)
            return run_index(index_args, common, out);
        if (*assign)
            return run_assign(assign_args, common, out);
        if (*search)
            return run_search(search_args, common, out);
        if (*similar)
            return run_similar(similar_args, common, out);
        if (*duplicates)
            return run_duplicates(duplicates_args, common, out);
        if (*log)
            return run_log(log_args, common, out);
        if (*inspect_cmd)
            return inspect(inspect_path, inspect_options, out, std::cerr);
        if (*pack)
            return run_pack(pack_args, common, out);
        if (*drop)
            return run_drop(drop_args, common, out);
        if (*gc)
            return run_gc(gc_args, common, out);
        if (*du)
            return run_du(du_args, common, out);
        if (*vacuum)
            return run_vacuum(vacuum_args, common, out);
        if (*serve)
            return vstore::serve::run_serve(serve_options, std::cerr);
    } catch (const UsageError& e) {
        std::cerr << "vstore: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "vstore: " << e.what() << '\n';
        return 1;
    }
    return 2;
}
