// Compiled configurations per workspace, cached by the version stored in the
// database: a decision reuses the compiled rules until any node saves a newer version.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/model.h"
#include "core/workspace.h"
#include "store/store.h"

namespace rota::service {

// The configuration as stored: the config document with pool join positions.
Result<core::Config> ParseStoredConfig(const std::string& doc);
std::string StoredConfig(const core::Config& config);

class Snapshots {
 public:
  // The workspace's compiled configuration as of the transaction's view.
  Result<std::shared_ptr<const core::Workspace>> Get(store::Tx& tx, const std::string& workspace);
  void Put(const std::string& workspace, int64_t version, std::shared_ptr<const core::Workspace> ws);

 private:
  struct Entry {
    int64_t version = 0;
    std::shared_ptr<const core::Workspace> ws;
  };
  std::mutex mu_;
  std::map<std::string, Entry> cache_;  // GUARDED_BY(mu_)
};

}  // namespace rota::service
