// The body of POST /v1/assign (also a line of `rota simulate --records`) and the
// decision it answers, to and from JSON.
#pragma once

#include <optional>
#include <string>

#include "core/decide.h"
#include "core/decision.h"
#include "core/model.h"
#include "core/simulate.h"
#include "io/json_util.h"

namespace rota::io {

// An idempotency key's length limit, in the body or the Idempotency-Key header.
inline constexpr size_t kMaxIdempotencyKey = 255;

struct AssignBody {
  core::Record record;  // object_type from the body's "object_type"
  bool open_given = false;  // the record's "open" was sent (else what rota knows stands)
  core::Event event = core::Event::kCreated;
  std::optional<core::Properties> previous;
  std::optional<core::Target> target;
  std::string idempotency_key;
  bool explain = false;
  bool dry_run = false;
  std::optional<core::Time> at;  // `simulate` only: the line's time
};

// 422 with every problem when the body is not a valid assign request.
Result<AssignBody> ReadAssignBody(const Json& j);

// The request as `core::Decide` takes it. `body` must outlive the result.
core::Request ToRequest(const AssignBody& body, core::Time now);

// An assign body as its idempotency key compares it: without the key and `explain`, keys
// sorted, defaults spelled out taken as left out (`dry_run` false, a record's `open` null,
// no owners, links or properties). (A record's `open` true is not a default: left out,
// rota keeps what it knows.)
std::string CanonicalRequest(const Json& body);

// A line of `rota simulate` or POST /v1/simulate: `json` is the body `body` was read from.
core::SimulatedRequest ToSimulated(const AssignBody& body, const Json& json, core::Time now);

// A simulation step as both simulates answer it: the decision with its record, event and
// time (and `dry_run`, `replayed`), or the API's error body where the decision refused it.
Json WriteSimulationStep(const core::SimulationStep& step, const AssignBody& body);

Json WriteTrace(const std::vector<core::TraceEntry>& trace);

// The decision object of API.md (without decision_id and at, which the caller owns).
Json WriteDecision(const core::Decision& d, bool with_trace);

}  // namespace rota::io
