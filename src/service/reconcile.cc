#include "service/reconcile.h"

#include <algorithm>
#include <limits>
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

// New join positions for `pool` given what it was, and the pool's new pointer when it
// moves. Members that kept their relative order keep their positions, and newcomers at
// the end join after everyone (and after the pointer). Any other reorder numbers the
// members afresh, in the new order, after the pointer, and moves the pointer so that
// serving goes on from where it was (SPEC §5.1: nobody is served twice in a row while
// another waits): to the member served last, or, when that one left, to just before the
// first member whose turn was still to come. `left` is the member served last if it has
// left the pool since (store::Tx::PoolLeftMember): should it be back, and next to serve,
// the pointer moves onto it, so that it is served after the others, not again at once.
std::optional<int64_t> Reposition(const core::Pool& old, int64_t pointer, const std::string& left, core::Pool& pool) {
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
  std::map<std::string, int64_t> new_pos;
  for (auto& m : pool.members) {
    auto it = old_pos.find(m.user);
    m.position = keeps_order && it != old_pos.end() ? it->second : ++next;
    new_pos[m.user] = m.position;
  }
  if (keeps_order && pointer > 0 && !left.empty()) {
    // Members are in ascending position here: the first after the pointer is the next.
    auto next_up = std::find_if(pool.members.begin(), pool.members.end(),
                                [&](const core::PoolMember& m) { return m.position > pointer; });
    if (next_up != pool.members.end() && next_up->user == left) return next_up->position;
  }
  if (keeps_order || pointer == 0) return std::nullopt;  // nobody served yet: from the start
  // The old members in the order their turns were to come after the pointer; the one
  // served last (at the pointer, or rejoined since it left) comes last.
  std::vector<std::pair<int64_t, std::string>> to_come;
  for (const auto& m : old.members) {
    int64_t turn = m.position > pointer ? m.position : m.position + top;
    to_come.emplace_back(m.user == left ? std::numeric_limits<int64_t>::max() : turn, m.user);
  }
  std::sort(to_come.begin(), to_come.end());
  if (!to_come.empty()) {
    const std::string& last_served = to_come.back().second;
    if ((old_pos[last_served] == pointer || last_served == left) && new_pos.count(last_served)) {
      return new_pos[last_served];
    }
  }
  for (const auto& [turn, user] : to_come) {
    if (auto it = new_pos.find(user); it != new_pos.end()) return it->second - 1;
  }
  return top;  // none of the old members stayed: the new order from its start
}

bool SameOwners(const core::DistributionKey& a, const core::DistributionKey& b) { return a.owners == b.owners; }

}  // namespace

Result<std::vector<Change>> Reconcile(const core::Config& before, core::Config& after, RotationState* tx) {
  std::vector<Change> changes;
  Status s;
  auto old_pools = ById(before.pools);
  for (core::Pool& pool : after.pools) {
    auto it = old_pools.find(pool.id);
    if (it == old_pools.end()) continue;
    int64_t pointer = tx ? tx->PoolPointer(pool.id) : 0;
    std::string left;
    if (tx && pointer > 0) {
      auto l = tx->PoolLeftMember(pool.id);
      if (!l.ok()) return l.status();
      left = std::move(l).value();
    }
    std::optional<int64_t> moved = Reposition(*it->second, pointer, left, pool);
    if (!tx) continue;
    if (moved) {
      if (!(s = tx->SetPoolPointer(pool.id, *moved)).ok()) return s;
      continue;
    }
    // The member served last leaves: remember who it was.
    for (const auto& m : it->second->members) {
      if (m.position != pointer) continue;
      bool stays = std::any_of(pool.members.begin(), pool.members.end(),
                               [&](const core::PoolMember& n) { return n.user == m.user; });
      if (!stays && !(s = tx->SetPoolLeftMember(pool.id, m.user)).ok()) return s;
    }
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
  // A change of priority is a change too: priority is per object type, so it changed where
  // the rules of a type kept on both sides (of that type on both) come in another order.
  // Rules added or removed, or the types' rules interleaved otherwise, change no priority.
  auto kept_order = [](const std::vector<core::Rule>& rules, const std::vector<core::Rule>& other) {
    std::map<std::string, core::ObjectType> types;
    for (const core::Rule& x : other) types.emplace(x.id, x.object_type);
    std::vector<std::pair<core::ObjectType, std::string>> order;
    for (const core::Rule& r : rules) {
      auto it = types.find(r.id);
      if (it != types.end() && it->second == r.object_type) order.emplace_back(r.object_type, r.id);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return order;
  };
  if (kept_order(before.rules, after.rules) != kept_order(after.rules, before.rules)) {
    changes.push_back({"rules", "priority", "changed"});
  }
  if (!(before.settings == after.settings)) changes.push_back({"settings", "settings", "changed"});
  return changes;
}

}  // namespace rota::service
