#include "core/simulate.h"

namespace rota::core {

std::vector<SimulationStep> Simulate(const Workspace& ws, MemoryState& state, const std::vector<Request>& requests,
                                     Tally* tally) {
  std::vector<SimulationStep> steps;
  steps.reserve(requests.size());
  for (const Request& r : requests) {
    Record record = RecordAsKnown(state.FindRecord(r.record->object_type, r.record->id), *r.record, r.open_given);
    Request step = r;
    step.record = &record;
    Result<Decision> d = Decide(ws, state, step);
    if (d.ok()) {
      if (tally != nullptr) tally->Add(*d);
      state.Apply(*d, std::move(record), r.now);
    }
    steps.push_back({std::move(d), r.now});
  }
  return steps;
}

}  // namespace rota::core
