#include "core/state.h"

#include <algorithm>
#include <cmath>

namespace rota::core {

int64_t PercentUnits(double percent) { return std::llround(percent * kPercentScale); }

int64_t MemoryState::PoolPointer(const std::string& pool) const {
  auto it = pointers_.find(pool);
  return it == pointers_.end() ? 0 : it->second;
}

std::vector<int64_t> MemoryState::KeyCredits(const std::string& distribution,
                                             const std::string& folded_value,
                                             const std::vector<std::string>& users) const {
  std::vector<int64_t> out;
  out.reserve(users.size());
  for (const std::string& u : users) {
    auto it = credits_.find({distribution, folded_value, u});
    out.push_back(it == credits_.end() ? 0 : it->second);
  }
  return out;
}

int64_t MemoryState::AssignedSince(const std::string& user, Time since) const {
  auto it = assigned_at_.find(user);
  if (it == assigned_at_.end()) return 0;
  return std::count_if(it->second.begin(), it->second.end(), [&](Time t) { return t >= since; });
}

int64_t MemoryState::OpenRecords(const std::string& user, ObjectType type,
                                 const std::string& exclude_id) const {
  int64_t n = 0;
  for (const auto& [key, r] : records_) {
    if (key.first != type || !r.open || r.id == exclude_id) continue;
    if (std::find(r.owners.begin(), r.owners.end(), user) != r.owners.end()) ++n;
  }
  return n;
}

std::optional<Record> MemoryState::FindRecord(ObjectType type, const std::string& id) const {
  auto it = records_.find({type, id});
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

void MemoryState::PutRecord(Record record) {
  auto key = std::make_pair(record.object_type, record.id);
  records_[key] = std::move(record);
}

int64_t MemoryState::KeyAssigned(const std::string& distribution, const std::string& folded_value,
                                 const std::string& user) const {
  auto it = key_assigned_.find({distribution, folded_value, user});
  return it == key_assigned_.end() ? 0 : it->second;
}

void MemoryState::Apply(const Decision& d, Record record, Time at) {
  for (const PoolAdvance& p : d.changes.pools) pointers_[p.pool] = p.position;
  for (const KeyPick& k : d.changes.keys) {
    for (size_t i = 0; i < k.users.size(); ++i) credits_[{k.distribution, k.value, k.users[i]}] = k.credits[i];
    ++key_assigned_[{k.distribution, k.value, k.winner}];
  }
  for (const UnkeyedValue& u : d.changes.unkeyed) unkeyed_.insert({u.distribution, u.value});
  if (d.owner) {
    record.owners = {*d.owner};
    assigned_at_[*d.owner].push_back(at);
    if (!d.tag.empty() &&
        std::find(record.tags.begin(), record.tags.end(), d.tag) == record.tags.end()) {
      record.tags.push_back(d.tag);
    }
  } else if (record.owners.empty()) {
    // An unassigned decision leaves the owners as they were.
    if (auto known = FindRecord(record.object_type, record.id)) record.owners = known->owners;
  }
  PutRecord(std::move(record));
  for (const RelatedChange& rc : d.related) {
    Record fresh;
    fresh.object_type = rc.object_type;
    fresh.id = rc.id;
    Record linked = FindRecord(rc.object_type, rc.id).value_or(std::move(fresh));
    linked.owners = rc.owners;
    PutRecord(std::move(linked));
  }
}

}  // namespace rota::core
