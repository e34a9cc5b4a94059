// A run of requests through Decide() in order, carrying the rotation state and the
// records in a MemoryState: `rota simulate` and POST /v1/simulate. Stores nothing.
#pragma once

#include <string>
#include <vector>

#include "core/decide.h"
#include "core/state.h"
#include "core/tally.h"

namespace rota::core {

// One line of a simulation: the request, and what POST /v1/assign would make of its
// `dry_run` and `idempotency_key`.
struct SimulatedRequest {
  Request request;
  bool dry_run = false;         // decided, and nothing of it kept (nor counted)
  std::string idempotency_key;  // a retry of the same request gets the same decision
  std::string fingerprint;      // the request as compared for its key (io::CanonicalRequest)
};

struct SimulationStep {
  Result<Decision> decision;  // an unknown target, or a key reused by another request, fails this step only
  Time at;
  bool replayed = false;  // the decision of the key's first use, again
};

// REQUIRES: each request's record outlives the call.
std::vector<SimulationStep> Simulate(const Workspace& ws, MemoryState& state,
                                     const std::vector<SimulatedRequest>& requests, Tally* tally);

}  // namespace rota::core
