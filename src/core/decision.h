// What decide() returns: the outcome of SPEC §6, the trace of §9 "Explain", the
// follow-up actions of §7 and the rotation-state changes the caller must store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"

namespace rota::core {

enum class Outcome { kAssigned, kFallback, kDefault, kUnassigned };
std::string_view ToString(Outcome o);
std::optional<Outcome> ParseOutcome(std::string_view s);

enum class Reason {
  kNoRuleMatched, kUserNotFound, kNoEligibleUser, kNoDistributionKey,
  kCompanyNotLinked, kPersonNotLinked, kCompanyNotFound, kPersonNotFound,
  kRelatedHasNoOwner, kFieldEmpty, kError,
};
std::string_view ToString(Reason r);
std::optional<Reason> ParseReason(std::string_view s);

// Why a user could not take a record.
enum class Skip {
  kNotFound, kInactive, kOutOfOffice, kOutsideWorkingHours, kPerDayCap, kMaxOpenCap,
};
std::string_view ToString(Skip s);

// One line of the explain trace.
struct TraceEntry {
  enum class Kind {
    kRule,       // a rule tried: matched, or the first condition that failed
    kTarget,     // assign_requested named this pool or rule
    kNoRule,     // no rule matched
    kMember,     // a user considered by the strategy: chosen, or skipped and why
    kStrategy,   // the strategy's result (found nobody: reason)
    kFallback,   // the fallback user tried
    kDefault,    // a default owner tried
  };
  TraceEntry() = default;
  TraceEntry(Kind k, std::string i, bool o, std::string d, std::optional<Skip> s = std::nullopt,
             std::optional<Reason> r = std::nullopt)
      : kind(k), id(std::move(i)), ok(o), detail(std::move(d)), skip(s), reason(r) {}

  Kind kind = Kind::kRule;
  std::string id;            // rule id, pool id, user id … depending on kind
  bool ok = false;           // rule matched / member chosen / fallback or default taken
  std::string detail;        // human sentence: the failed condition, the skip reason…
  std::optional<Skip> skip;  // kMember only, when skipped
  std::optional<Reason> reason;
  // kRule only, when a condition failed: which set, index, and the condition.
  std::string set;           // "all" or "any"
  int index = -1;
  friend bool operator==(const TraceEntry&, const TraceEntry&) = default;
};

// The owners a linked record gets (SPEC §7).
struct RelatedChange {
  ObjectType object_type = ObjectType::kCompany;
  std::string id;
  std::vector<std::string> owners;
  friend bool operator==(const RelatedChange&, const RelatedChange&) = default;
};

// Rotation-state changes; the caller stores them with the decision, atomically.
struct PoolAdvance {
  std::string pool;
  int64_t position = 0;  // the new last-served position
  friend bool operator==(const PoolAdvance&, const PoolAdvance&) = default;
};
struct KeyPick {
  std::string distribution;
  std::string value;               // folded key value
  std::vector<std::string> users;  // the key's users, in key order
  std::vector<int64_t> credits;    // their credits after the pick (micro-percent units)
  std::string winner;
  friend bool operator==(const KeyPick&, const KeyPick&) = default;
};
struct UnkeyedValue {
  std::string distribution;
  std::string value;  // as the record had it (trimmed)
  friend bool operator==(const UnkeyedValue&, const UnkeyedValue&) = default;
};
struct StateChanges {
  std::vector<PoolAdvance> pools;
  std::vector<KeyPick> keys;
  std::vector<UnkeyedValue> unkeyed;
  bool empty() const { return pools.empty() && keys.empty() && unkeyed.empty(); }
  friend bool operator==(const StateChanges&, const StateChanges&) = default;
};

struct Decision {
  Outcome outcome = Outcome::kUnassigned;
  std::optional<std::string> owner;
  std::optional<std::string> rule;
  std::optional<std::string> strategy;  // "user", "pool", … or "default"
  std::optional<Reason> reason;
  std::string message;  // for Reason::kError, and a human summary otherwise
  std::vector<RelatedChange> related;
  // Follow-ups of the deciding rule (only when the decision gives an owner).
  std::string tag;
  std::string note;
  bool notify = false;
  std::string notify_message;  // the rule's text for the notification, if it has one
  std::vector<TraceEntry> trace;  // only when asked to explain
  StateChanges changes;
};

}  // namespace rota::core
