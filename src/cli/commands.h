// The subcommands of `rota`, one file each. Each Add* registers its subcommand and
// sets `*exit_code` when it runs.
#pragma once

#include <CLI/CLI.hpp>

namespace rota::cli {

void AddSimulate(CLI::App& app, int* exit_code);

}  // namespace rota::cli
