// Condition evaluation (SPEC §4) on a record's properties and, for `updated`, the
// previous values of the properties that changed.
#pragma once

#include <vector>

#include "core/model.h"
#include "core/text.h"
#include "core/workspace.h"

namespace rota::core {

// The record's properties as operands, folded lazily, each field at most once per
// decision. Fields are numbered by the Workspace (CompiledCondition::slot).
class RecordOperands {
 public:
  RecordOperands(const Workspace& ws, const Properties& current, const Properties* previous);
  const Operand& Current(int slot) {
    // The fast path, inline: the field was read already in this decision.
    if (static_cast<size_t>(slot) < cur_state_.size() && cur_state_[slot]) return cur_[slot];
    return ReadCurrent(slot);
  }
  // The old value when the property changed; nullptr when it is absent from `previous`.
  const Operand* Previous(int slot);
  // The result of the conditions of memo slot `memo` in this decision: 0 not evaluated
  // yet, 1 holds, 2 fails.
  char& Memo(int memo) {
    if (memo_.empty()) memo_.assign(static_cast<size_t>(ws_.memo_slots()), 0);
    return memo_[static_cast<size_t>(memo)];
  }

 private:
  const Operand& ReadCurrent(int slot);

  const Workspace& ws_;
  const Properties& current_;
  const Properties* previous_;
  std::vector<Operand> cur_, prev_;
  std::vector<char> cur_state_, prev_state_;  // 0 unread, 1 read, 2 absent (prev only)
  std::vector<char> memo_;
};

// Equal as conditions compare: numerically when both are numbers, else folded text.
bool Equal(const Operand& a, const Operand& b);
// <0, 0, >0 with the same rule.
int Compare(const Operand& a, const Operand& b);

bool Holds(const CompiledCondition& c, RecordOperands& record);

// Index of the first condition of `all` that fails, or -1 when all hold.
int FirstFailing(const std::vector<CompiledCondition>& all, RecordOperands& record);
// Whether at least one of `any` holds (true when `any` is empty).
bool AnyHolds(const std::vector<CompiledCondition>& any, RecordOperands& record);

}  // namespace rota::core
