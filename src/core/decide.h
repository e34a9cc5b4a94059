// decide(): the one pure function at rota's heart. From a compiled configuration, the
// rotation state, a record and an event, it returns who owns the record and why
// (SPEC §3–7), with the state changes the caller stores. It reads no clock, no file
// and no global: `now` is part of the request.
#pragma once

#include <optional>
#include <string>

#include "core/decision.h"
#include "core/model.h"
#include "core/state.h"
#include "core/status.h"
#include "core/workspace.h"

namespace rota::core {

// `assign_requested` names a pool or a rule directly (SPEC §3.2).
struct Target {
  enum class Kind { kPool, kRule };
  Kind kind = Kind::kPool;
  std::string id;
};

struct Request {
  const Record* record = nullptr;          // REQUIRES: not null; as rota knows it (RecordAsKnown)
  bool open_given = true;                  // the caller sent the record's `open` (RecordAsKnown)
  const Properties* previous = nullptr;    // `updated`: old values of what changed
  Event event = Event::kCreated;
  std::optional<Target> target;            // `assign_requested` only
  Time now;
  bool explain = false;                    // fill Decision::trace
};

// NotFound for an unknown target; Invalid for a target of another object type.
Result<Decision> Decide(const Workspace& ws, const StateView& state, const Request& request);

// Who the pool would serve next at `now` (round robin, eligibility included), without
// advancing anything; nullopt when nobody is eligible.
std::optional<std::string> PeekNext(const Workspace& ws, const StateView& state, const Pool& pool, Time now);

}  // namespace rota::core
