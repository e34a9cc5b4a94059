// The rotation state decide() reads: pool pointers, key credits, counts of decisions
// and open records, and the records rota knows. StateView is the read side, supplied
// by the caller (a store transaction in the server, MemoryState in `simulate` and the
// tests); decide() never writes it, it returns StateChanges instead.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/decision.h"
#include "core/model.h"

namespace rota::core {

// Percentages are held as integers of 1/10 000 of a percent, so smooth weighted round
// robin is exact: 100 % is 1 000 000 units.
inline constexpr int64_t kPercentScale = 10000;
int64_t PercentUnits(double percent);

class StateView {
 public:
  virtual ~StateView() = default;
  // The position of the member the pool served last; 0 when it has served nobody.
  virtual int64_t PoolPointer(const std::string& pool) const = 0;
  // The credits of `users` in the key for (distribution, folded value), in their
  // order; a user without a stored credit has 0.
  virtual std::vector<int64_t> KeyCredits(const std::string& distribution,
                                          const std::string& folded_value,
                                          const std::vector<std::string>& users) const = 0;
  // Decisions that gave `user` a record at or after `since` and not after `until` (a
  // simulation's lines need not come in time order: a later line counts for no earlier one).
  virtual int64_t AssignedSince(const std::string& user, Time since, Time until) const = 0;
  // Records of `type` with `user` among their owners and open, except `exclude_id`.
  virtual int64_t OpenRecords(const std::string& user, ObjectType type,
                              const std::string& exclude_id) const = 0;
  virtual std::optional<Record> FindRecord(ObjectType type, const std::string& id) const = 0;
};

// The record a decision is made on and kept as: what the caller sent, over what rota
// knew of it (SPEC §1: a record is what rota knows of a CRM record). Properties and
// links the caller left out, the tags, the owners when it sent none, and `open` unless
// `open_given`, come from `stored`.
Record RecordAsKnown(const std::optional<Record>& stored, const Record& incoming, bool open_given);
// A link sent empty (JSON null is read so) unlinks: it is dropped.
void DropEmptyLinks(Record& record);
// The record after `decision`: its owner, and the rule's tag (an unassigned decision
// leaves the owners as they were).
void ApplyOwner(const Decision& decision, Record& record);
// Adds a rule's note to the record's activity, keeping its latest kMaxNotes.
inline constexpr size_t kMaxNotes = 100;
void AddNote(Record& record, Note note);

// The whole state in memory, optionally over a base view: reads fall through to the
// base where this state has nothing, and what Apply() stores shadows the base (which is
// never written). Used by `rota simulate`, the simulate endpoint (over the store) and
// tests. Not thread-safe; `base` must outlive it.
class MemoryState final : public StateView {
 public:
  explicit MemoryState(const StateView* base = nullptr) : base_(base) {}

  int64_t PoolPointer(const std::string& pool) const override;
  std::vector<int64_t> KeyCredits(const std::string& distribution,
                                  const std::string& folded_value,
                                  const std::vector<std::string>& users) const override;
  int64_t AssignedSince(const std::string& user, Time since, Time until) const override;
  int64_t OpenRecords(const std::string& user, ObjectType type,
                      const std::string& exclude_id) const override;
  std::optional<Record> FindRecord(ObjectType type, const std::string& id) const override;

  void PutRecord(Record record);
  // Stores what a decision changed: rotation state, the decided record (with its new
  // owners when the decision gave one), the related records, and the per-day count.
  void Apply(const Decision& decision, Record record, Time at);

  // What a configuration change does to rotation state (service/reconcile.h), here
  // whatever the base holds, for a simulation over a draft: a pool's pointer set, or a
  // key's credits and counters reset (every value's when `folded_value` is nullopt).
  void SetPoolPointer(const std::string& pool, int64_t position);
  void ResetKey(const std::string& distribution, const std::optional<std::string>& folded_value);

  // Key counters: how many records each user got from the key of (distribution, value).
  int64_t KeyAssigned(const std::string& distribution, const std::string& folded_value,
                      const std::string& user) const;
  const std::set<std::pair<std::string, std::string>>& Unkeyed() const { return unkeyed_; }

 private:
  using KeyId = std::tuple<std::string, std::string, std::string>;  // dist, value, user
  std::map<std::string, int64_t> pointers_;
  std::map<KeyId, int64_t> credits_;
  std::map<KeyId, int64_t> key_assigned_;
  std::map<std::string, std::vector<Time>> assigned_at_;
  std::map<std::pair<ObjectType, std::string>, Record> records_;
  std::set<std::pair<std::string, std::string>> unkeyed_;  // (distribution, value)
  std::set<std::string> reset_distributions_;                     // the base's credits no longer count
  std::set<std::pair<std::string, std::string>> reset_values_;   // (distribution, value), likewise
  const StateView* base_;
  // The base's version of each record this state shadows (nullopt: the base had none).
  std::map<std::pair<ObjectType, std::string>, std::optional<Record>> shadowed_;
};

}  // namespace rota::core
