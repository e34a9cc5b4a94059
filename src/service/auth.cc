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

namespace {

Status Unauthenticated() {
  return Status(Code::kUnauthenticated, "unauthenticated", "a valid API key is required (Authorization: Bearer KEY)");
}

// The principal of a key row found by its hash; unauthenticated when there is none or it
// was revoked.
Result<Principal> PrincipalOf(const Result<std::optional<store::KeyRow>>& row) {
  if (!row.ok()) return row.status();
  if (!*row || (*row)->revoked_at) return Unauthenticated();
  const store::KeyRow& k = **row;
  return Principal{k.workspace, ParseRole(k.role).value_or(Role::kMember), k.can_reassign, k.id, {}};
}

}  // namespace

Result<Principal> Authenticate(store::Store& store, const std::string& secret) {
  if (secret.empty()) return Unauthenticated();
  return PrincipalOf(store.FindKeyByHash(Sha256Hex(secret)));
}

Result<Principal> KnownKeys::Authenticate(store::Store& store, const std::string& secret) {
  if (secret.empty()) return Unauthenticated();
  const std::string hash = Sha256Hex(secret);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_hash_.find(hash); it != by_hash_.end()) return it->second;
  }
  auto read = PrincipalOf(store.FindKeyByHash(hash));
  if (!read.ok()) return read;
  // Confirmed all the same: a revocation may commit between this read and the decision's.
  read->unconfirmed_key = hash;
  std::lock_guard<std::mutex> lock(mu_);
  if (by_hash_.size() >= capacity_) by_hash_.clear();
  by_hash_.insert_or_assign(hash, *read);
  return read;
}

void KnownKeys::Forget(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_.erase(hash);
}

size_t KnownKeys::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

Status ConfirmKey(store::Tx& tx, const Principal& p) {
  if (p.unconfirmed_key.empty()) return Status::Ok();
  auto now = PrincipalOf(tx.FindKeyByHash(p.unconfirmed_key));
  if (!now.ok()) return now.status();
  if (now->key_id != p.key_id || now->workspace != p.workspace || now->role != p.role ||
      now->can_reassign != p.can_reassign) {
    return Unauthenticated();
  }
  return Status::Ok();
}

}  // namespace rota::service
