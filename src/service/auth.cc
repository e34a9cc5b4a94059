#include "service/auth.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "connectors/crypto.h"
#include "io/json_util.h"

namespace rota::service {

std::optional<Role> ParseRole(const std::string& s) {
  if (s == "admin") return Role::kAdmin;
  if (s == "member") return Role::kMember;
  if (s == "integration") return Role::kIntegration;
  return std::nullopt;
}

std::string ToString(Role r) {
  switch (r) {
    case Role::kAdmin: return "admin";
    case Role::kMember: return "member";
    case Role::kIntegration: return "integration";
  }
  return "member";
}

std::string RandomHex(size_t bytes) {
  std::string buf(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(bytes)) != 1) {
    std::fprintf(stderr, "rota: no random bytes available\n");
    std::abort();
  }
  return connectors::Hex(buf);
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return connectors::Hex(std::string(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string NewId(const std::string& prefix) {
  // The time in milliseconds and a sequence within it (16 bits), never less than the
  // last id this process made: ids made one after another sort in that order.
  static std::atomic<uint64_t> last{0};
  const auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  uint64_t prev = last.load(std::memory_order_relaxed);
  uint64_t next = 0;
  do {
    next = std::max(prev + 1, ms << 16);
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(next));
  return prefix + buf + RandomHex(6);
}

Result<NewKey> CreateKey(store::Store& store, const std::string& workspace, Role role, bool can_reassign,
                         const std::string& name, int64_t now, const std::string& secret) {
  if (auto why = io::ControlCharProblem(name, "a key's name")) return Status::Invalid("name", *why);
  NewKey k;
  k.secret = secret.empty() ? "rota_" + RandomHex(24) : secret;
  k.row.id = NewId("key_");
  k.row.workspace = workspace;
  k.row.role = ToString(role);
  k.row.can_reassign = can_reassign;
  k.row.name = name;
  k.row.hash = Sha256Hex(k.secret);
  k.row.created_at = now;
  auto exists = store.WorkspaceExists(workspace);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status::NotFound("unknown workspace \"" + workspace + "\"");
  Status s = store.CreateKey(k.row);
  if (!s.ok()) return s;
  return k;
}

Result<Principal> Authenticate(store::Store& store, const std::string& secret) {
  auto unauth = [] {
    return Status(Code::kUnauthenticated, "unauthenticated", "a valid API key is required (Authorization: Bearer KEY)");
  };
  if (secret.empty()) return unauth();
  auto row = store.FindKeyByHash(Sha256Hex(secret));
  if (!row.ok()) return row.status();
  if (!*row || (*row)->revoked_at) return unauth();
  const store::KeyRow& k = **row;
  return Principal{k.workspace, ParseRole(k.role).value_or(Role::kMember), k.can_reassign, k.id};
}

}  // namespace rota::service
