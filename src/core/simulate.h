// A run of requests through Decide() in order, carrying the rotation state and the
// records in a MemoryState: `rota simulate` and POST /v1/simulate. Stores nothing.
#pragma once

#include <vector>

#include "core/decide.h"
#include "core/state.h"
#include "core/tally.h"

namespace rota::core {

struct SimulationStep {
  Result<Decision> decision;  // an unknown target is an error for this step only
  Time at;
};

// REQUIRES: each request's record outlives the call.
std::vector<SimulationStep> Simulate(const Workspace& ws, MemoryState& state, const std::vector<Request>& requests,
                                     Tally* tally);

}  // namespace rota::core
