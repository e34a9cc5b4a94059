// API keys: random secrets shown once, stored as SHA-256 hashes, each bound to one
// workspace and one role (API.md "Conventions").
#pragma once

#include <optional>
#include <string>

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

}  // namespace rota::service
