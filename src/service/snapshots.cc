#include "service/snapshots.h"

#include "io/config_json.h"

namespace rota::service {

Result<core::Config> ParseStoredConfig(const std::string& doc) {
  auto j = io::ParseJson(doc);
  if (!j.ok()) return Status::Internal("stored configuration is not JSON");
  io::Problems p;
  p.AllowUnknown();
  core::Config c;
  // The stored document was valid when saved; read it without re-validating.
  auto list = [&](const char* key, auto read, auto& out) {
    if (!j->contains(key)) return;
    const io::Json& arr = (*j)[key];
    for (size_t i = 0; i < arr.size(); ++i) out.push_back(read(arr[i], io::Index(key, i), p));
  };
  list("users", io::ReadUser, c.users);
  list("pools", io::ReadPool, c.pools);
  list("distributions", io::ReadDistribution, c.distributions);
  list("rules", io::ReadRule, c.rules);
  if (j->contains("settings")) c.settings = io::ReadSettings((*j)["settings"], "settings", p);
  if (!p.empty()) return Status::Internal("stored configuration is damaged: " + p.list().front().path + ": " +
                                          p.list().front().message);
  return c;
}

std::string StoredConfig(const core::Config& config) {
  core::Config c = config;
  c.records.clear();
  return io::WriteConfig(c, /*with_positions=*/true).dump();
}

Result<std::shared_ptr<const core::Workspace>> Snapshots::Get(store::Tx& tx, const std::string& workspace) {
  auto version = tx.ConfigVersion();
  if (!version.ok()) return version.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(workspace);
    if (it != cache_.end() && it->second.version == *version) return it->second.ws;
  }
  auto loaded = tx.LoadConfig();
  if (!loaded.ok()) return loaded.status();
  auto config = ParseStoredConfig(loaded->second);
  if (!config.ok()) return config.status();
  auto ws = core::Workspace::Build(std::move(config).value());
  if (!ws.ok()) return Status::Internal("stored configuration does not validate: " + ws.status().message());
  Put(workspace, loaded->first, *ws);
  return *ws;
}

void Snapshots::Put(const std::string& workspace, int64_t version, std::shared_ptr<const core::Workspace> ws) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = cache_[workspace];
  if (version >= e.version) e = {version, std::move(ws)};
}

}  // namespace rota::service
