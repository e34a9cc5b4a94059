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
  const Operand& Current(int slot);
  // The old value when the property changed; nullptr when it is absent from `previous`.
  const Operand* Previous(int slot);

 private:
  const Workspace& ws_;
  const Properties& current_;
  const Properties* previous_;
  std::vector<Operand> cur_, prev_;
  std::vector<char> cur_state_, prev_state_;  // 0 unread, 1 read, 2 absent (prev only)
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
