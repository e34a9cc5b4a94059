// rota: decides who owns each CRM record.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "rota decides who owns each CRM record: round-robin pools, weighted distribution keys,\n"
      "conditions with priorities, least-loaded, working hours and caps.",
      "rota"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rota 0.1.0");
  int exit_code = 0;
  rota::cli::AddServe(app, &exit_code);
  rota::cli::AddAssign(app, &exit_code);
  rota::cli::AddSimulate(app, &exit_code);
  rota::cli::AddConfig(app, &exit_code);
  rota::cli::AddHistory(app, &exit_code);
  rota::cli::AddDistributions(app, &exit_code);
  rota::cli::AddWorkspaces(app, &exit_code);
  rota::cli::AddKeys(app, &exit_code);
  rota::cli::AddBackup(app, &exit_code);
  // A first word that names no command: said so (CLI11 would answer "A subcommand is
  // required", and `rota WORD --help` would print the general help and succeed).
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* c) { return c->check_name(argv[1]); }).empty()) {
    std::cerr << "rota: unknown command \"" << argv[1] << "\" (rota --help lists the commands)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version succeed; a usage error is an error like any other: exit code 2
    // (CLI11's own codes, 104–114, said nothing more).
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {  // a bug: said, not an abort with a core dump
    std::cerr << "rota: internal error: " << e.what() << "\n";
    return 2;
  }
  return exit_code;
}
