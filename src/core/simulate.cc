#include "core/simulate.h"

#include <map>
#include <utility>

namespace rota::core {

std::vector<SimulationStep> Simulate(const Workspace& ws, MemoryState& state,
                                     const std::vector<SimulatedRequest>& requests, Tally* tally) {
  std::vector<SimulationStep> steps;
  steps.reserve(requests.size());
  // Each key a kept decision used: the request that used it, and its step.
  std::map<std::string, std::pair<std::string, size_t>> used;
  for (const SimulatedRequest& s : requests) {
    const Request& r = s.request;
    if (!s.idempotency_key.empty()) {
      if (auto it = used.find(s.idempotency_key); it != used.end()) {
        // As the server answers: the same request again gets the same decision; another
        // request (a dry run is one) gets idempotency_conflict.
        if (s.dry_run || it->second.first != s.fingerprint) {
          steps.push_back({Status(Code::kConflict, "idempotency_conflict",
                                  "idempotency key \"" + s.idempotency_key + "\" was used with a different request"),
                           r.now});
        } else {
          SimulationStep again = steps[it->second.second];
          again.replayed = true;
          steps.push_back(std::move(again));
        }
        continue;
      }
    }
    Record record = RecordAsKnown(state.FindRecord(r.record->object_type, r.record->id), *r.record, r.open_given);
    Request step = r;
    step.record = &record;
    Result<Decision> d = Decide(ws, state, step);
    if (d.ok() && !s.dry_run) {
      if (tally != nullptr) tally->Add(*d);
      state.Apply(*d, std::move(record), r.now);
      if (!s.idempotency_key.empty()) used[s.idempotency_key] = {s.fingerprint, steps.size()};
    }
    steps.push_back({std::move(d), r.now});
  }
  return steps;
}

}  // namespace rota::core
