// A validated configuration compiled for deciding: lookups by id, rules grouped by
// object type and event in priority order, condition operands folded once, condition
// fields numbered so a decision reads each record property at most once.
// Immutable after Build(); safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "core/text.h"

namespace date {
class time_zone;
}

namespace rota::core {

struct CompiledCondition {
  const Condition* source = nullptr;
  int slot = 0;                    // index of the field in Workspace::fields()
  Op op = Op::kEq;                 // source->op, kept here so evaluation reads one object
  // A condition that occurs more than once in the workspace (same field, operator and
  // folded operands) has a memo slot, shared by all its occurrences, so a decision
  // evaluates it once; -1 for a condition that occurs once.
  int memo = -1;
  std::vector<Operand> operands;   // the value(s), folded
};

struct CompiledRule {
  const Rule* rule = nullptr;
  int order = 0;  // position among the rules of its object type, 0-based
  std::vector<CompiledCondition> all;
  std::vector<CompiledCondition> any;
};

struct CompiledUser {
  const User* user = nullptr;
  const date::time_zone* tz = nullptr;  // working hours' zone, if any
};

struct CompiledKey {
  const DistributionKey* key = nullptr;
  std::string folded_value;
  std::vector<std::string> users;
  std::vector<int64_t> weights;  // percent units (kPercentScale)
};

struct CompiledDistribution {
  const Distribution* distribution = nullptr;
  std::unordered_map<std::string, CompiledKey> keys;  // by folded value
};

class Workspace {
 public:
  // Validates and compiles; a 422 Status lists every problem with its path.
  static Result<std::shared_ptr<const Workspace>> Build(Config config);

  const Config& config() const { return config_; }
  const CompiledUser* FindUser(const std::string& id) const;
  const Pool* FindPool(const std::string& id) const;
  const CompiledDistribution* FindDistribution(const std::string& id) const;
  const CompiledRule* FindRule(const std::string& id) const;
  // Active rules of `type` listening to `event`, highest priority first.
  const std::vector<const CompiledRule*>& RulesFor(ObjectType type, Event event) const;
  const std::vector<std::string>& fields() const { return fields_; }
  // How many memo slots the conditions use (CompiledCondition::memo).
  int memo_slots() const { return memo_slots_; }
  const date::time_zone* time_zone() const { return tz_; }
  std::optional<std::string> DefaultOwner(ObjectType type) const;

 private:
  Workspace() = default;
  CompiledCondition Compile(const Condition& c);

  Config config_;
  std::unordered_map<std::string, CompiledUser> users_;
  std::unordered_map<std::string, const Pool*> pools_;
  std::unordered_map<std::string, CompiledDistribution> distributions_;
  std::vector<CompiledRule> rules_;  // in config order
  std::unordered_map<std::string, const CompiledRule*> rules_by_id_;
  std::vector<const CompiledRule*> by_type_event_[kObjectTypeCount][kEventCount];
  std::vector<std::string> fields_;
  std::unordered_map<std::string, int> field_slots_;
  int memo_slots_ = 0;
  const date::time_zone* tz_ = nullptr;
};

}  // namespace rota::core
