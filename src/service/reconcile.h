// Keeps rotation state consistent when the configuration changes: pools keep their
// join positions and pointer where their members did not change order (new members
// join at the end), distribution keys keep their credits and counters unless the key
// changed ("redistribution" resets that value, SPEC §5.2), removed pools and
// distributions lose their state.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/state.h"
#include "store/store.h"

namespace rota::service {

// One line of "what changed": {kind, id, change: added|changed|removed}.
struct Change {
  std::string kind;
  std::string id;
  std::string change;
};

// The rotation state Reconcile reads and resets: the store's (TxRotation) or a
// simulation's in memory (core::MemoryState over the store, for a draft).
class RotationState {
 public:
  virtual ~RotationState() = default;
  virtual int64_t PoolPointer(const std::string& pool) = 0;
  virtual Status SetPoolPointer(const std::string& pool, int64_t position) = 0;
  virtual Status DeletePoolState(const std::string& pool) = 0;
  // The member served last, once it has left the pool (store::Tx::PoolLeftMember).
  virtual Result<std::string> PoolLeftMember(const std::string& pool) = 0;
  virtual Status SetPoolLeftMember(const std::string& pool, const std::string& user) = 0;
  virtual Status ResetKeyState(const std::string& distribution, const std::optional<std::string>& folded_value) = 0;
  virtual Status RemoveUnkeyed(const std::string& distribution, const std::optional<std::string>& folded_value) = 0;
};

class TxRotation final : public RotationState {
 public:
  explicit TxRotation(store::Tx& tx) : tx_(tx) {}
  int64_t PoolPointer(const std::string& pool) override { return tx_.PoolPointer(pool); }
  Status SetPoolPointer(const std::string& pool, int64_t position) override {
    return tx_.SetPoolPointer(pool, position);
  }
  Status DeletePoolState(const std::string& pool) override { return tx_.DeletePoolState(pool); }
  Result<std::string> PoolLeftMember(const std::string& pool) override { return tx_.PoolLeftMember(pool); }
  Status SetPoolLeftMember(const std::string& pool, const std::string& user) override {
    return tx_.SetPoolLeftMember(pool, user);
  }
  Status ResetKeyState(const std::string& d, const std::optional<std::string>& v) override {
    return tx_.ResetKeyState(d, v);
  }
  Status RemoveUnkeyed(const std::string& d, const std::optional<std::string>& v) override {
    return tx_.RemoveUnkeyed(d, v);
  }

 private:
  store::Tx& tx_;
};

// Over `state` (a simulation's), reading left members from `base` (the store's state
// beneath it) until this object sets them.
class MemoryRotation final : public RotationState {
 public:
  MemoryRotation(core::MemoryState& state, store::Tx& base) : state_(state), base_(base) {}
  int64_t PoolPointer(const std::string& pool) override { return state_.PoolPointer(pool); }
  Status SetPoolPointer(const std::string& pool, int64_t position) override {
    state_.SetPoolPointer(pool, position);
    left_[pool] = "";
    return Status::Ok();
  }
  Status DeletePoolState(const std::string& pool) override { return SetPoolPointer(pool, 0); }
  Result<std::string> PoolLeftMember(const std::string& pool) override {
    auto it = left_.find(pool);
    return it != left_.end() ? Result<std::string>(it->second) : base_.PoolLeftMember(pool);
  }
  Status SetPoolLeftMember(const std::string& pool, const std::string& user) override {
    left_[pool] = user;
    return Status::Ok();
  }
  Status ResetKeyState(const std::string& d, const std::optional<std::string>& v) override {
    state_.ResetKey(d, v);
    return Status::Ok();
  }
  Status RemoveUnkeyed(const std::string&, const std::optional<std::string>&) override { return Status::Ok(); }

 private:
  core::MemoryState& state_;
  store::Tx& base_;
  std::map<std::string, std::string> left_;
};

// Fixes `after`'s pool positions against `before` and, unless `state` is null, resets
// the rotation state the change ends. Returns what changed.
Result<std::vector<Change>> Reconcile(const core::Config& before, core::Config& after, RotationState* state);

}  // namespace rota::service
