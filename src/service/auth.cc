#include "service/auth.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>

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

namespace {

void RandomOrAbort(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    std::fprintf(stderr, "rota: no random bytes available\n");
    std::abort();
  }
}

// Forks seen by this process: a child must not go on with its parent's drawn bytes.
std::atomic<uint64_t> forks{0};

// An id's random part, drawn from OpenSSL 240 bytes at a time per thread: one
// RAND_bytes call for 40 ids instead of one each, which was 2 % of a request's CPU
// (docs/performance.md, "Twelfth pass"). Secrets are not drawn here (RandomHex).
void IdRandomBytes(unsigned char* out, size_t n) {
  static std::once_flag watched;
  std::call_once(watched, [] { pthread_atfork(nullptr, nullptr, [] { forks.fetch_add(1); }); });
  struct Drawn {
    unsigned char bytes[240];
    size_t used = sizeof bytes;
    uint64_t forks = 0;
  };
  thread_local Drawn drawn;
  const uint64_t now_forks = forks.load(std::memory_order_relaxed);
  if (drawn.used + n > sizeof drawn.bytes || drawn.forks != now_forks) {
    RandomOrAbort(drawn.bytes, sizeof drawn.bytes);
    drawn.used = 0;
    drawn.forks = now_forks;
  }
  std::memcpy(out, drawn.bytes + drawn.used, n);
  std::memset(drawn.bytes + drawn.used, 0, n);  // each byte is handed out once
  drawn.used += n;
}

}  // namespace

std::string RandomHex(size_t bytes) {
  std::string buf(bytes, '\0');
  RandomOrAbort(reinterpret_cast<unsigned char*>(buf.data()), bytes);
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
  unsigned char random[6];
  IdRandomBytes(random, sizeof random);
  return prefix + buf + connectors::Hex(std::string(reinterpret_cast<const char*>(random), sizeof random));
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
