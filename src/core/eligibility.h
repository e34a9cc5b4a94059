// Who can take a record now (SPEC §5 "Eligible"), and the time arithmetic it needs.
#pragma once

#include <optional>
#include <string>

#include "core/decision.h"
#include "core/state.h"
#include "core/workspace.h"

namespace rota::core {

// Everything eligibility depends on, for one decision.
struct EligibilityContext {
  const Workspace& ws;
  const StateView& state;
  ObjectType type;               // the decided record's type (for max_open)
  const std::string& record_id;  // not counted among the user's open records
  Time now;
};

// Full eligibility, for strategies that choose among several users: exists, active,
// not out of office, inside working hours, under the per-day and open caps.
std::optional<Skip> CheckEligible(const EligibilityContext& ctx, const std::string& user);

// A single named user only has to exist and be active.
std::optional<Skip> CheckNamed(const Workspace& ws, const std::string& user);

// Local midnight of `now`'s day in `tz`, as a UTC time.
Time StartOfDay(const date::time_zone* tz, Time now);
bool InWorkingHours(const WorkingHours& hours, const date::time_zone* tz, Time now);

}  // namespace rota::core
