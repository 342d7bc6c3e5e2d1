// The `vstore serve` subcommand of the command line: its options, into ServeOptions.
#pragma once

#include <CLI/CLI.hpp>

#include "server.h"

namespace vstore::serve {

CLI::App* add_serve_command(CLI::App& app, ServeOptions& options);

}  // namespace vstore::serve
