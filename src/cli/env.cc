#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace rota::cli {

std::unique_ptr<Env> OpenEnv(const std::string& db, bool must_exist) {
  std::error_code ec;
  if (must_exist && !store::IsPostgresUrl(db) && !std::filesystem::exists(db, ec)) {
    Fail("cannot open " + store::PrintableUrl(db), Status::NotFound("no database there (rota serve, rota config apply or rota workspaces "
                                               "create makes one)"));
    return nullptr;
  }
  auto store = store::OpenStore(db);
  if (!store.ok()) {
    Fail("cannot open " + store::PrintableUrl(db), store.status());
    return nullptr;
  }
  auto env = std::make_unique<Env>();
  env->store = std::move(store).value();
  env->service = std::make_unique<service::Service>(*env->store, env->clock);
  return env;
}

bool UseSecretKey(Env& env) {
  const char* secret_key = std::getenv("ROTA_SECRET_KEY");
  if (!secret_key || !*secret_key) return true;
  auto box = connectors::SecretBox::FromText(secret_key);
  if (!box.ok()) {
    Fail("ROTA_SECRET_KEY", box.status());
    return false;
  }
  env.service->UseSecretBox(std::move(box).value());
  return true;
}

bool Bootstrap(Env& env) {
  const char* chosen = std::getenv("ROTA_BOOTSTRAP_KEY");
  auto workspaces = env.store->CountWorkspaces();  // ROTA_BOOTSTRAP_KEY counts on an empty database only
  const bool empty_db = workspaces.ok() && *workspaces == 0;
  auto boot = env.service->Bootstrap(chosen ? chosen : "");
  if (!boot.ok()) {
    Fail("bootstrap", boot.status());
    return false;
  }
  if (*boot) {
    std::cout << "admin key for workspace \"default\" (shown once, keep it): " << **boot << "\n";
  } else if (chosen && *chosen && empty_db) {
    std::cout << "admin key for workspace \"default\": the one in ROTA_BOOTSTRAP_KEY\n";
    if (std::strlen(chosen) < 16) {
      std::cerr << "rota: warning: ROTA_BOOTSTRAP_KEY has fewer than 16 characters; an admin key that short is easy to "
                   "guess: create another with POST /v1/keys and revoke it\n";
    }
  } else if (chosen && *chosen) {
    std::cout << "ROTA_BOOTSTRAP_KEY ignored: the database already has its workspaces and keys\n";
  }
  return true;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::cerr << "rota: cannot read " << path << ": a directory, not a file\n";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "rota: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Fail(const std::string& context, const Status& s) {
  std::cerr << "rota: " << context << ": " << s.message() << "\n";
  if (s.details().size() < 2) return 2;  // the message already says the one problem
  for (const Problem& p : s.details()) {
    std::cerr << "  " << (p.path.empty() ? "" : p.path + ": ") << p.message << "\n";
  }
  return 2;
}

}  // namespace rota::cli
