// API keys: random secrets shown once, stored as SHA-256 hashes, each bound to one
// workspace and one role (API.md "Conventions").
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/status.h"
#include "store/store.h"

namespace rota::service {

enum class Role { kAdmin, kMember, kIntegration };
std::optional<Role> ParseRole(const std::string& s);
std::string ToString(Role r);

// Who is calling: the workspace and role of the key presented.
struct Principal {
  std::string workspace;
  Role role = Role::kMember;
  bool can_reassign = false;
  std::string key_id;
  // The hash of its key when the principal came from KnownKeys: the work it asks for
  // confirms the key in its own transaction (ConfirmKey) before anything.
  std::string unconfirmed_key{};
};

std::string RandomHex(size_t bytes);
std::string Sha256Hex(const std::string& data);
// Time-ordered unique id: 12 hex digits of milliseconds and 4 of a sequence (ids a
// process makes one after another sort in that order), then 12 random hex digits.
std::string NewId(const std::string& prefix);

struct NewKey {
  store::KeyRow row;
  std::string secret;  // shown once
};

// Creates a key. `secret` empty: a random one ("rota_" + 48 hex digits).
Result<NewKey> CreateKey(store::Store& store, const std::string& workspace, Role role, bool can_reassign,
                         const std::string& name, int64_t now, const std::string& secret = "");

// Unauthenticated (401) when the key is unknown or revoked.
Result<Principal> Authenticate(store::Store& store, const std::string& secret);

// The principals of keys that authenticated lately, by their keys' hashes: a decision
// asked with one of them is not preceded by a transaction of its own to read the key
// (16 % of the front end's CPU, docs/performance.md "Twelfth pass"), as its own
// transaction confirms the key (ConfirmKey). A revoked key, on this node or another,
// then stores and answers nothing from the revocation's commit on. At most `capacity`
// keys (all forgotten when full). Thread-safe.
class KnownKeys {
 public:
  explicit KnownKeys(size_t capacity = 1024) : capacity_(capacity) {}
  // Authenticate's answer, with Principal::unconfirmed_key set: from memory for a key seen
  // before, else read and remembered.
  Result<Principal> Authenticate(store::Store& store, const std::string& secret);
  void Forget(const std::string& hash);
  size_t size() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Principal> by_hash_;  // GUARDED_BY(mu_)
};

// In the transaction a decision is made in: where `p` came from KnownKeys, its key is
// still there, not revoked, with the workspace, role and rights `p` holds; the same 401 as
// Authenticate's otherwise. A revocation commits either before that transaction reads the
// key or after it commits: the stores serialize it with the workspace's writes.
Status ConfirmKey(store::Tx& tx, const Principal& p);

}  // namespace rota::service
