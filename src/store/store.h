// The one Store interface: workspaces, keys, configuration, rotation state, records,
// decisions and the unassigned queue. Implementations (sqlite/, later postgres/) keep
// every SQL detail to themselves. Every call is scoped to one workspace.
//
// Thread safety: a Store is safe to use from many threads; a Tx belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/state.h"
#include "core/status.h"

namespace rota::store {

struct KeyRow {
  std::string id;
  std::string workspace;
  std::string role;  // admin, member, integration
  bool can_reassign = false;
  std::string name;
  std::string hash;  // SHA-256 of the secret, hex
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;
};

// A stored decision, as history lists it.
struct DecisionRow {
  int64_t seq = 0;  // storage order
  std::string id;
  std::string workspace;
  int64_t at = 0;  // unix seconds
  std::string event;
  std::string object_type;
  std::string record_id;
  std::optional<std::string> rule;
  std::optional<std::string> strategy;
  std::string outcome;
  std::optional<std::string> owner;
  std::optional<std::string> reason;
  std::string body;  // the decision's JSON as answered (with trace when explained)
  std::string idempotency_key;
  std::string request_hash;
};

struct HistoryFilter {
  std::optional<int64_t> from, to;  // [from, to)
  std::optional<std::string> object_type, event, rule, owner, outcome;
  std::optional<int64_t> before_seq;  // cursor: rows with seq < this
  int limit = 100;
};

struct UnassignedRow {
  std::string object_type;
  std::string record_id;
  std::string reason;
  std::string decision_id;
  int64_t at = 0;
};

struct KeyStateRow {
  std::string value;  // folded
  std::string user;
  int64_t credit = 0;
  int64_t assigned = 0;
};

struct UnkeyedRow {
  std::string value;
  int64_t seen = 0;
};

// A transaction on one workspace. Reads see the transaction's snapshot; a write
// transaction holds the database's write lock until Commit() or destruction (rollback).
// As a core::StateView it answers decide()'s questions from the database.
class Tx : public core::StateView {
 public:
  ~Tx() override = default;
  virtual Status Commit() = 0;

  // Configuration: the workspace's document (storage form) and its version.
  virtual Result<std::pair<int64_t, std::string>> LoadConfig() = 0;
  virtual Result<int64_t> ConfigVersion() = 0;
  virtual Status SaveConfig(int64_t version, const std::string& doc) = 0;

  // Rotation state.
  virtual Status SetPoolPointer(const std::string& pool, int64_t position) = 0;
  virtual Status DeletePoolState(const std::string& pool) = 0;
  virtual Status SaveKeyPick(const core::KeyPick& pick) = 0;
  virtual Status ResetKeyState(const std::string& distribution, const std::optional<std::string>& folded_value) = 0;
  virtual Result<std::vector<KeyStateRow>> KeyState(const std::string& distribution) = 0;
  virtual Status AddUnkeyed(const std::string& distribution, const std::string& folded, const std::string& value) = 0;
  virtual Status RemoveUnkeyed(const std::string& distribution, const std::optional<std::string>& folded) = 0;
  virtual Result<std::vector<UnkeyedRow>> Unkeyed(const std::string& distribution) = 0;

  // Records.
  virtual Status PutRecord(const core::Record& record, int64_t at) = 0;

  // Decisions and the unassigned queue.
  virtual Status InsertDecision(const DecisionRow& row) = 0;
  virtual Result<std::optional<DecisionRow>> FindDecisionByKey(const std::string& idempotency_key) = 0;
  virtual Result<std::vector<DecisionRow>> History(const HistoryFilter& filter) = 0;
  // The decisions about one record, newest first.
  virtual Result<std::vector<DecisionRow>> RecordDecisions(const std::string& object_type, const std::string& id,
                                                           int limit) = 0;
  virtual Status PutUnassigned(const UnassignedRow& row) = 0;
  virtual Status RemoveUnassigned(const std::string& object_type, const std::string& record_id) = 0;
  virtual Result<std::vector<UnassignedRow>> ListUnassigned(const std::optional<std::string>& object_type,
                                                            const std::optional<std::string>& after,
                                                            int limit) = 0;
  virtual Result<int64_t> CountDecisions() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Workspaces and keys (not scoped: used by the CLI and authentication).
  virtual Result<bool> WorkspaceExists(const std::string& id) = 0;
  virtual Result<int64_t> CountWorkspaces() = 0;
  // Creates the workspace with an empty configuration; Conflict when it exists.
  virtual Status CreateWorkspace(const std::string& id, const std::string& empty_doc, int64_t at) = 0;
  virtual Status CreateKey(const KeyRow& key) = 0;
  virtual Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) = 0;
  // All keys, or one workspace's.
  virtual Result<std::vector<KeyRow>> ListKeys(const std::optional<std::string>& workspace) = 0;
  // NotFound when there is no such key (in that workspace, when given).
  virtual Status RevokeKey(const std::string& id, const std::optional<std::string>& workspace, int64_t at) = 0;

  virtual Result<std::unique_ptr<Tx>> BeginWrite(const std::string& workspace) = 0;
  virtual Result<std::unique_ptr<Tx>> BeginRead(const std::string& workspace) = 0;
};

// Opens the store named by `url`: a file path (SQLite). Applies migrations.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url);

}  // namespace rota::store
