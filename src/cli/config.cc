// `rota config export|apply`: a workspace's rules, pools, keys and settings as one
// reviewable document (the same document as `rota simulate --config` and /v1/config).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "io/config_json.h"

namespace rota::cli {

void AddConfig(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("config", "Export or apply a workspace's configuration document.");
  cmd->require_subcommand(1);
  struct Opts {
    std::string db = "rota.db";
    std::string workspace = "default";
    std::string file;
    bool dry_run = false;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* exp = cmd->add_subcommand("export", "Print the configuration document on stdout.");
  exp->add_option("--db", o->db, kDbHelp)->capture_default_str();
  exp->add_option("--workspace", o->workspace, "the workspace")->capture_default_str();
  exp->callback([o, exit_code] {
    auto env = OpenEnv(o->db, /*must_exist=*/true);
    if (!env) {
      *exit_code = 2;
      return;
    }
    auto doc = env->service->GetConfig(o->workspace);
    if (!doc.ok()) {
      *exit_code = Fail("config export", doc.status());
      return;
    }
    std::cout << doc->dump(2) << "\n";
  });

  CLI::App* apply = cmd->add_subcommand(
      "apply", "Apply a configuration document atomically (rotation state kept where nothing changed).");
  apply->add_option("FILE", o->file, "the document (JSON)")->required();
  apply->add_option("--db", o->db, kDbHelp)->capture_default_str();
  apply->add_option("--workspace", o->workspace, "the workspace")->capture_default_str();
  apply->add_flag("--dry-run", o->dry_run, "validate and print what would change; store nothing");
  apply->callback([o, exit_code] {
    auto text = ReadFile(o->file);
    if (!text) {
      *exit_code = 2;
      return;
    }
    auto doc = io::ParseJson(*text);
    if (!doc.ok()) {
      *exit_code = Fail(o->file, doc.status());
      return;
    }
    // The document is checked before the database is opened: a bad file makes nothing, not
    // even a new database file, and opens (migrates) none. Where there is no database yet it
    // is checked as a change from nothing too, as the service will check it; a new one holds
    // only the workspace "default". (Against a database, the service names the change's
    // problems with the document's.)
    auto as_new = [&] { return service::ReadChange(core::Config{}, *doc).status(); };
    std::error_code ec;
    const bool new_file = !store::IsPostgresUrl(o->db) && !std::filesystem::exists(o->db, ec);
    if (Status s = new_file && o->workspace == "default" ? as_new() : io::ReadConfig(*doc).status(); !s.ok()) {
      *exit_code = Fail(o->file, s);
      return;
    }
    auto env = OpenEnv(o->db, /*must_exist=*/o->dry_run || o->workspace != "default");
    if (!env) {
      *exit_code = 2;
      return;
    }
    // A new database gets its workspace "default" and first admin key, as from `rota serve`.
    auto workspaces = env->store->CountWorkspaces();
    if (!o->dry_run && o->workspace == "default" && workspaces.ok() && *workspaces == 0) {
      if (Status s = as_new(); !s.ok()) {  // a PostgreSQL database, say
        *exit_code = Fail(o->file, s);
        return;
      }
      if (!Bootstrap(*env)) {
        *exit_code = 2;
        return;
      }
    }
    auto result = env->service->PutConfig(o->workspace, *doc, o->dry_run);
    if (!result.ok()) {
      *exit_code = Fail(o->file, result.status());
      return;
    }
    const auto& changes = (*result)["changes"];
    std::cout << (o->dry_run ? "would change" : "changed") << " (" << changes.size() << "):\n";
    for (const auto& c : changes) {
      std::cout << "  " << c["change"].get<std::string>() << " " << c["kind"].get<std::string>() << " "
                << c["id"].get<std::string>() << "\n";
    }
    if (changes.empty()) std::cout << "  nothing\n";
  });
}

}  // namespace rota::cli
