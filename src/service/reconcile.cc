#include "service/reconcile.h"

#include <algorithm>
#include <map>

#include "core/text.h"

namespace rota::service {
namespace {

template <typename T>
std::map<std::string, const T*> ById(const std::vector<T>& list) {
  std::map<std::string, const T*> m;
  for (const T& x : list) m.emplace(x.id, &x);
  return m;
}

template <typename T>
void Diff(const char* kind, const std::vector<T>& before, const std::vector<T>& after, std::vector<Change>& out) {
  auto old = ById(before);
  auto now = ById(after);
  for (const auto& [id, x] : now) {
    auto it = old.find(id);
    if (it == old.end()) {
      out.push_back({kind, id, "added"});
    } else if (!(*it->second == *x)) {
      out.push_back({kind, id, "changed"});
    }
  }
  for (const auto& [id, x] : old) {
    if (!now.count(id)) out.push_back({kind, id, "removed"});
  }
}

// New join positions for `pool` given what it was: members that kept their relative
// order keep their positions and newcomers at the end join after everyone (and after
// the pointer); any other reorder numbers the members afresh after the pointer.
void Reposition(const core::Pool& old, int64_t pointer, core::Pool& pool) {
  std::map<std::string, int64_t> old_pos;
  int64_t top = pointer;
  for (const auto& m : old.members) {
    old_pos[m.user] = m.position;
    top = std::max(top, m.position);
  }
  bool keeps_order = true;
  int64_t last = 0;
  bool newcomer_seen = false;
  for (const auto& m : pool.members) {
    auto it = old_pos.find(m.user);
    if (it == old_pos.end()) {
      newcomer_seen = true;
      continue;
    }
    if (newcomer_seen || it->second <= last) keeps_order = false;
    last = it->second;
  }
  int64_t next = top;
  for (auto& m : pool.members) {
    auto it = old_pos.find(m.user);
    if (keeps_order && it != old_pos.end()) {
      m.position = it->second;
    } else {
      m.position = ++next;
    }
  }
}

bool SameOwners(const core::DistributionKey& a, const core::DistributionKey& b) { return a.owners == b.owners; }

}  // namespace

Result<std::vector<Change>> Reconcile(const core::Config& before, core::Config& after, store::Tx* tx) {
  std::vector<Change> changes;
  Status s;
  auto old_pools = ById(before.pools);
  for (core::Pool& pool : after.pools) {
    auto it = old_pools.find(pool.id);
    if (it == old_pools.end()) continue;
    int64_t pointer = tx ? tx->PoolPointer(pool.id) : 0;
    Reposition(*it->second, pointer, pool);
  }
  auto new_pools = ById(after.pools);
  for (const auto& [id, pool] : old_pools) {
    if (!new_pools.count(id) && tx && !(s = tx->DeletePoolState(id)).ok()) return s;
  }

  auto old_dists = ById(before.distributions);
  auto new_dists = ById(after.distributions);
  for (const auto& [id, d] : old_dists) {
    auto it = new_dists.find(id);
    bool gone = it == new_dists.end();
    bool rebased = !gone && (it->second->property != d->property || it->second->object_type != d->object_type);
    if ((gone || rebased) && tx) {
      if (!(s = tx->ResetKeyState(id, std::nullopt)).ok()) return s;
      if (!(s = tx->RemoveUnkeyed(id, std::nullopt)).ok()) return s;
    }
    if (gone || rebased || !tx) continue;
    std::map<std::string, const core::DistributionKey*> old_keys, new_keys;
    for (const auto& k : d->keys) old_keys.emplace(core::Fold(k.value), &k);
    for (const auto& k : it->second->keys) new_keys.emplace(core::Fold(k.value), &k);
    for (const auto& [value, k] : old_keys) {
      auto nk = new_keys.find(value);
      if (nk == new_keys.end() || !SameOwners(*k, *nk->second)) {
        if (!(s = tx->ResetKeyState(id, value)).ok()) return s;
      }
    }
  }
  if (tx) {
    for (const auto& [id, d] : new_dists) {
      for (const auto& k : d->keys) {
        if (!(s = tx->RemoveUnkeyed(id, core::Fold(k.value))).ok()) return s;
      }
    }
  }

  Diff("user", before.users, after.users, changes);
  Diff("pool", before.pools, after.pools, changes);
  Diff("distribution", before.distributions, after.distributions, changes);
  Diff("rule", before.rules, after.rules, changes);
  // A change of priority is a change too.
  std::vector<std::string> old_order, new_order;
  for (const auto& r : before.rules) old_order.push_back(r.id);
  for (const auto& r : after.rules) new_order.push_back(r.id);
  if (old_order != new_order && changes.end() == std::find_if(changes.begin(), changes.end(), [](const Change& c) {
        return c.kind == "rule";
      })) {
    changes.push_back({"rules", "priority", "changed"});
  }
  if (!(before.settings == after.settings)) changes.push_back({"settings", "settings", "changed"});
  return changes;
}

}  // namespace rota::service
