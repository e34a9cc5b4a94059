// `rota history purge`: removes decisions past each workspace's retention (the server
// does this on its own every hour); rotation state is never touched.
#include <iostream>

#include "cli/commands.h"

namespace rota::cli {

void AddHistory(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("history", "Maintain the decision history.");
  cmd->require_subcommand(1);
  auto db = std::make_shared<std::string>("rota.db");
  auto workspace = std::make_shared<std::string>();
  CLI::App* purge = cmd->add_subcommand("purge", "Remove decisions older than the workspace's history_retention_days.");
  purge->add_option("--db", *db, kDbHelp)->capture_default_str();
  purge->add_option("--workspace", *workspace, "only this workspace (default: all)");
  purge->callback([db, workspace, exit_code] {
    auto env = OpenEnv(*db, /*must_exist=*/true);
    if (!env) {
      *exit_code = 2;
      return;
    }
    auto n = workspace->empty() ? env->service->PurgeAllHistory() : env->service->PurgeHistory(*workspace);
    if (!n.ok()) {
      *exit_code = Fail("history purge", n.status());
      return;
    }
    std::cout << "purged " << *n << " decision" << (*n == 1 ? "" : "s") << "\n";
  });
}

}  // namespace rota::cli
