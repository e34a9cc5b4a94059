#include "core/conditions.h"

#include <cstring>

namespace rota::core {

RecordOperands::RecordOperands(const Workspace& ws, const Properties& current,
                               const Properties* previous)
    : ws_(ws), current_(current), previous_(previous) {}

const Operand& RecordOperands::ReadCurrent(int slot) {
  if (cur_.empty()) {
    cur_.resize(ws_.fields().size());
    cur_state_.assign(ws_.fields().size(), 0);
  }
  if (!cur_state_[slot]) {
    auto it = current_.find(ws_.fields()[slot]);
    if (it != current_.end()) cur_[slot] = MakeOperand(it->second);
    cur_state_[slot] = 1;
  }
  return cur_[slot];
}

const Operand* RecordOperands::Previous(int slot) {
  if (previous_ == nullptr) return nullptr;
  if (prev_.empty()) {
    prev_.resize(ws_.fields().size());
    prev_state_.assign(ws_.fields().size(), 0);
  }
  if (!prev_state_[slot]) {
    auto it = previous_->find(ws_.fields()[slot]);
    if (it == previous_->end()) {
      prev_state_[slot] = 2;
    } else {
      prev_[slot] = MakeOperand(it->second);
      prev_state_[slot] = 1;
    }
  }
  return prev_state_[slot] == 1 ? &prev_[slot] : nullptr;
}

bool Equal(const Operand& a, const Operand& b) {
  if (a.is_number && b.is_number) return a.number == b.number;
  return a.folded == b.folded;
}

int Compare(const Operand& a, const Operand& b) {
  if (a.is_number && b.is_number) return CompareDecimals(a.number, b.number);
  int c = a.folded.compare(b.folded);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

namespace {

bool Changed(const CompiledCondition& c, RecordOperands& r, const Operand** old_value) {
  const Operand* prev = r.Previous(c.slot);
  if (prev == nullptr) return false;
  *old_value = prev;
  return !Equal(*prev, r.Current(c.slot));
}

bool InList(const Operand& v, const std::vector<Operand>& list) {
  for (const Operand& x : list) {
    if (Equal(v, x)) return true;
  }
  return false;
}

// glibc's memmem (two-way search) takes time linear in both texts; std::string::find
// compares at each place the first byte matches, which a crafted property and condition
// (a megabyte of "aaa…" against 2 500 bytes of "aa…ab") made minutes, inside the commit.
bool Contains(const Operand& v, const Operand& needle) {
  if (needle.folded.empty()) return true;
  return memmem(v.folded.data(), v.folded.size(), needle.folded.data(), needle.folded.size()) != nullptr;
}

bool Evaluate(const CompiledCondition& c, RecordOperands& r) {
  const std::vector<Operand>& ops = c.operands;
  switch (c.op) {
    case Op::kEq: return Equal(r.Current(c.slot), ops[0]);
    case Op::kNeq: return !Equal(r.Current(c.slot), ops[0]);
    case Op::kIn: return InList(r.Current(c.slot), ops);
    case Op::kNotIn: return !InList(r.Current(c.slot), ops);
    case Op::kContains: return Contains(r.Current(c.slot), ops[0]);
    case Op::kNotContains: return !Contains(r.Current(c.slot), ops[0]);
    case Op::kStartsWith: return r.Current(c.slot).folded.starts_with(ops[0].folded);
    case Op::kEndsWith: return r.Current(c.slot).folded.ends_with(ops[0].folded);
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte: {
      const Operand& v = r.Current(c.slot);
      if (v.empty()) return false;
      int cmp = Compare(v, ops[0]);
      switch (c.op) {
        case Op::kGt: return cmp > 0;
        case Op::kGte: return cmp >= 0;
        case Op::kLt: return cmp < 0;
        default: return cmp <= 0;
      }
    }
    case Op::kBetween: {
      const Operand& v = r.Current(c.slot);
      if (v.empty()) return false;
      return Compare(v, ops[0]) >= 0 && Compare(v, ops[1]) <= 0;
    }
    case Op::kIsEmpty: return r.Current(c.slot).empty();
    case Op::kIsNotEmpty: return !r.Current(c.slot).empty();
    case Op::kChanged: {
      const Operand* old_value = nullptr;
      return Changed(c, r, &old_value);
    }
    case Op::kChangedFrom: {
      const Operand* old_value = nullptr;
      return Changed(c, r, &old_value) && Equal(*old_value, ops[0]);
    }
    case Op::kChangedTo: {
      const Operand* old_value = nullptr;
      return Changed(c, r, &old_value) && Equal(r.Current(c.slot), ops[0]);
    }
  }
  return false;
}

// Evaluate(), once per decision for a condition with a memo slot.
inline bool HoldsMemo(const CompiledCondition& c, RecordOperands& r) {
  if (c.memo < 0) return Evaluate(c, r);
  char& m = r.Memo(c.memo);
  if (m == 0) m = Evaluate(c, r) ? 1 : 2;
  return m == 1;
}

}  // namespace

bool Holds(const CompiledCondition& c, RecordOperands& r) { return HoldsMemo(c, r); }

int FirstFailing(const std::vector<CompiledCondition>& all, RecordOperands& record) {
  for (size_t i = 0; i < all.size(); ++i) {
    if (!HoldsMemo(all[i], record)) return static_cast<int>(i);
  }
  return -1;
}

bool AnyHolds(const std::vector<CompiledCondition>& any, RecordOperands& record) {
  if (any.empty()) return true;
  for (const CompiledCondition& c : any) {
    if (HoldsMemo(c, record)) return true;
  }
  return false;
}

}  // namespace rota::core
