#include "core/state.h"

#include <algorithm>
#include <cmath>

#include "core/text.h"

namespace rota::core {

namespace {
// Tags are text as conditions compare it (SPEC §4): "HOT" is already there when "hot" is.
bool HasTag(const std::vector<std::string>& tags, const std::string& tag) {
  const std::string folded = Fold(tag);
  return std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return Fold(t) == folded; });
}
}  // namespace

int64_t PercentUnits(double percent) { return std::llround(percent * kPercentScale); }

int64_t MemoryState::PoolPointer(const std::string& pool) const {
  auto it = pointers_.find(pool);
  if (it != pointers_.end()) return it->second;
  return base_ ? base_->PoolPointer(pool) : 0;
}

std::vector<int64_t> MemoryState::KeyCredits(const std::string& distribution,
                                             const std::string& folded_value,
                                             const std::vector<std::string>& users) const {
  const bool reset = reset_distributions_.count(distribution) || reset_values_.count({distribution, folded_value});
  std::vector<int64_t> out = base_ && !reset ? base_->KeyCredits(distribution, folded_value, users)
                                             : std::vector<int64_t>(users.size(), 0);
  for (size_t i = 0; i < users.size(); ++i) {
    auto it = credits_.find({distribution, folded_value, users[i]});
    if (it != credits_.end()) out[i] = it->second;
  }
  return out;
}

void MemoryState::SetPoolPointer(const std::string& pool, int64_t position) { pointers_[pool] = position; }

void MemoryState::ResetKey(const std::string& distribution, const std::optional<std::string>& folded_value) {
  auto matches = [&](const KeyId& k) {
    return std::get<0>(k) == distribution && (!folded_value || std::get<1>(k) == *folded_value);
  };
  std::erase_if(credits_, [&](const auto& e) { return matches(e.first); });
  std::erase_if(key_assigned_, [&](const auto& e) { return matches(e.first); });
  if (folded_value) {
    reset_values_.insert({distribution, *folded_value});
  } else {
    reset_distributions_.insert(distribution);
  }
}

int64_t MemoryState::AssignedSince(const std::string& user, Time since, Time until) const {
  int64_t n = base_ ? base_->AssignedSince(user, since, until) : 0;
  auto it = assigned_at_.find(user);
  if (it == assigned_at_.end()) return n;
  return n + std::count_if(it->second.begin(), it->second.end(), [&](Time t) { return t >= since && t <= until; });
}

int64_t MemoryState::OpenRecords(const std::string& user, ObjectType type,
                                 const std::string& exclude_id) const {
  auto counts = [&](const Record& r) {
    return r.object_type == type && r.open && r.id != exclude_id &&
           std::find(r.owners.begin(), r.owners.end(), user) != r.owners.end();
  };
  int64_t n = base_ ? base_->OpenRecords(user, type, exclude_id) : 0;
  for (const auto& [key, r] : shadowed_) {
    if (r && counts(*r)) --n;  // the base counted a version this state replaced
  }
  for (const auto& [key, r] : records_) {
    if (counts(r)) ++n;
  }
  return n;
}

std::optional<Record> MemoryState::FindRecord(ObjectType type, const std::string& id) const {
  auto it = records_.find({type, id});
  if (it != records_.end()) return it->second;
  return base_ ? base_->FindRecord(type, id) : std::nullopt;
}

void MemoryState::PutRecord(Record record) {
  auto key = std::make_pair(record.object_type, record.id);
  if (base_ && !records_.count(key) && !shadowed_.count(key)) shadowed_[key] = base_->FindRecord(key.first, key.second);
  records_[key] = std::move(record);
}

int64_t MemoryState::KeyAssigned(const std::string& distribution, const std::string& folded_value,
                                 const std::string& user) const {
  auto it = key_assigned_.find({distribution, folded_value, user});
  return it == key_assigned_.end() ? 0 : it->second;
}

Record RecordAsKnown(const std::optional<Record>& stored, const Record& incoming, bool open_given) {
  Record r = incoming;
  if (stored) {
    for (const auto& [k, v] : stored->properties) r.properties.emplace(k, v);
    for (const auto& [k, v] : stored->links) r.links.emplace(k, v);
  }
  DropEmptyLinks(r);
  if (!stored) {
    r.notes.clear();
    return r;
  }
  for (const std::string& t : stored->tags) {
    if (!HasTag(r.tags, t)) r.tags.push_back(t);
  }
  if (r.owners.empty()) r.owners = stored->owners;
  r.notes = stored->notes;  // rota's own: never from the caller
  r.source_connector = stored->source_connector;
  r.source_type = stored->source_type;
  if (!open_given) r.open = stored->open;
  return r;
}

void ApplyOwner(const Decision& d, Record& record) {
  if (!d.owner) return;
  record.owners = {*d.owner};
  if (!d.tag.empty() && !HasTag(record.tags, d.tag)) {
    record.tags.push_back(d.tag);
  }
}

void DropEmptyLinks(Record& record) {
  std::erase_if(record.links, [](const auto& link) { return link.second.empty(); });
}

void AddNote(Record& record, Note note) {
  record.notes.push_back(std::move(note));
  if (record.notes.size() > kMaxNotes) {
    record.notes.erase(record.notes.begin(), record.notes.end() - static_cast<std::ptrdiff_t>(kMaxNotes));
  }
}

void MemoryState::Apply(const Decision& d, Record record, Time at) {
  for (const PoolAdvance& p : d.changes.pools) pointers_[p.pool] = p.position;
  for (const KeyPick& k : d.changes.keys) {
    for (size_t i = 0; i < k.users.size(); ++i) credits_[{k.distribution, k.value, k.users[i]}] = k.credits[i];
    ++key_assigned_[{k.distribution, k.value, k.winner}];
  }
  for (const UnkeyedValue& u : d.changes.unkeyed) unkeyed_.insert({u.distribution, u.value});
  if (d.owner) assigned_at_[*d.owner].push_back(at);
  if (!d.owner && record.owners.empty()) {
    // An unassigned decision leaves the owners as they were.
    if (auto known = FindRecord(record.object_type, record.id)) record.owners = known->owners;
  }
  ApplyOwner(d, record);
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
