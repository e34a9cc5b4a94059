// `rota workspaces` and `rota keys`: tenants and their API keys, on the database
// directly (for the operator; the HTTP API has /v1/keys for a workspace's admin).
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "io/json_util.h"

namespace rota::cli {
namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void AddWorkspaces(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("workspaces", "Create workspaces (tenants).");
  cmd->require_subcommand(1);
  auto db = std::make_shared<std::string>("rota.db");
  auto id = std::make_shared<std::string>();
  CLI::App* create = cmd->add_subcommand("create", "Create a workspace and print its first admin key.");
  create->add_option("ID", *id, "the workspace id")->required();
  create->add_option("--db", *db, kDbHelp)->capture_default_str();
  create->callback([db, id, exit_code] {
    auto env = OpenEnv(*db);
    if (!env) {
      *exit_code = 2;
      return;
    }
    auto key = env->service->CreateWorkspace(*id);
    if (!key.ok()) {
      *exit_code = Fail("workspaces create", key.status());
      return;
    }
    std::cout << "workspace \"" << *id << "\" created\nadmin key (shown once, keep it): " << key->secret
              << "\nkey id: " << key->row.id << "\n";
  });
}

void AddKeys(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("keys", "Create, list and revoke API keys.");
  cmd->require_subcommand(1);
  struct Opts {
    std::string db = "rota.db";
    std::string workspace;
    std::string role;
    std::string name;
    std::string id;
    bool can_reassign = false;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* create = cmd->add_subcommand("create", "Create a key; prints the secret once.");
  create->add_option("--db", o->db, kDbHelp)->capture_default_str();
  create->add_option("--workspace", o->workspace, "the key's workspace")->required();
  create->add_option("--role", o->role, "admin, member or integration")
      ->required()
      ->check(CLI::IsMember({"admin", "member", "integration"}));
  create->add_flag("--can-reassign", o->can_reassign, "a member key may request assignment to a pool or rule");
  create->add_option("--name", o->name, "a label for the key");
  create->callback([o, exit_code] {
    auto env = OpenEnv(o->db, /*must_exist=*/true);
    if (!env) {
      *exit_code = 2;
      return;
    }
    auto k = service::CreateKey(*env->store, o->workspace, *service::ParseRole(o->role), o->can_reassign, o->name,
                                Now());
    if (!k.ok()) {
      *exit_code = Fail("keys create", k.status());
      return;
    }
    std::cout << "key (shown once, keep it): " << k->secret << "\nkey id: " << k->row.id << "\n";
  });

  CLI::App* list = cmd->add_subcommand("list", "List keys (never their secrets).");
  list->add_option("--db", o->db, kDbHelp)->capture_default_str();
  list->add_option("--workspace", o->workspace, "only this workspace's keys");
  list->callback([o, exit_code] {
    auto env = OpenEnv(o->db, /*must_exist=*/true);
    if (!env) {
      *exit_code = 2;
      return;
    }
    auto rows = env->store->ListKeys(o->workspace.empty() ? std::nullopt : std::optional(o->workspace));
    if (!rows.ok()) {
      *exit_code = Fail("keys list", rows.status());
      return;
    }
    std::printf("%-32s %-16s %-12s %-8s %-20s %s\n", "id", "workspace", "role", "reassign", "created", "state");
    for (const store::KeyRow& k : *rows) {
      std::printf("%-32s %-16s %-12s %-8s %-20s %s\n", k.id.c_str(), k.workspace.c_str(), k.role.c_str(),
                  k.can_reassign ? "yes" : "no",
                  io::FormatTime(core::Time(std::chrono::seconds(k.created_at))).c_str(),
                  k.revoked_at ? "revoked" : "active");
    }
  });

  CLI::App* revoke = cmd->add_subcommand("revoke", "Revoke a key by its id.");
  revoke->add_option("KEY_ID", o->id, "the key's id (from `rota keys list`)")->required();
  revoke->add_option("--db", o->db, kDbHelp)->capture_default_str();
  revoke->callback([o, exit_code] {
    auto env = OpenEnv(o->db, /*must_exist=*/true);
    if (!env) {
      *exit_code = 2;
      return;
    }
    Status s = env->store->RevokeKey(o->id, std::nullopt, Now());
    if (!s.ok()) {
      *exit_code = Fail("keys revoke", s);
      return;
    }
    std::cout << "key " << o->id << " revoked\n";
  });
}

}  // namespace rota::cli
