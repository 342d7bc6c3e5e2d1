// The vstore command line.
#include <CLI/CLI.hpp>
#include <iostream>

#include "inspect.h"

int main(int argc, char** argv) {
    CLI::App app{"vstore: a versioned, embedded vector store"};
    app.require_subcommand(1);
    app.footer("Exit status: 0 success, 1 error in the input or the data, 2 usage error.");

    std::string inspect_path;
    vstore::cli::InspectOptions inspect_options;
    auto* inspect = app.add_subcommand("inspect", "Show what a vstore file holds");
    inspect->add_option("PATH", inspect_path, "A vector file (.vecs)")->required();
    inspect->add_flag("--verify", inspect_options.verify,
                      "Check every checksum; exit 1 if any fails");
    inspect->add_flag("--json", inspect_options.json, "Print JSON instead of text");
    inspect->footer("Example: vstore inspect --verify admin%2Fstar_wars.vecs");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (*inspect) {
        return vstore::cli::inspect(inspect_path, inspect_options, std::cout, std::cerr);
    }
    return 2;
}
