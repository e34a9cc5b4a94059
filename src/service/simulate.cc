// POST /v1/simulate: the core's Simulate() over the workspace's current state, with the
// current configuration or a draft one. Stores nothing.
#include "core/simulate.h"

#include "io/assign_json.h"
#include "io/config_json.h"
#include "service/reconcile.h"
#include "service/service.h"

namespace rota::service {

inline constexpr size_t kMaxSimulated = 10000;

Result<Json> Service::Simulate(const std::string& ws, const Json& body) {
  if (!body.is_object() || !body.contains("records") || !body["records"].is_array()) {
    return Status::Invalid("records", "the body is {\"config\": optional draft document, \"records\": [assign bodies]}");
  }
  const Json& records = body["records"];
  if (records.size() > kMaxSimulated) {
    return Status::Invalid("records", "at most " + std::to_string(kMaxSimulated) + " records per simulation");
  }
  std::vector<io::AssignBody> bodies;
  std::vector<Problem> problems;
  for (size_t i = 0; i < records.size(); ++i) {
    auto b = io::ReadAssignBody(records[i]);
    if (!b.ok()) {
      for (const Problem& p : b.status().details()) {
        problems.push_back({io::Index("records", i) + (p.path.empty() ? "" : "." + p.path), p.message});
      }
      continue;
    }
    bodies.push_back(std::move(b).value());
  }
  if (!problems.empty()) return Status::Invalid(std::move(problems));

  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  core::MemoryState state(tx->get());
  auto current = snapshots_.Get(**tx, ws);
  if (!current.ok()) return current.status();
  std::shared_ptr<const core::Workspace> workspace = *current;
  if (body.contains("config") && !body["config"].is_null()) {
    // What applying the draft would refuse (a reversed `between`, a reserved id) it is
    // refused here too: a draft that simulates is one that can be applied.
    auto draft = ReadChange((*current)->config(), body["config"]);
    if (!draft.ok()) {
      std::vector<Problem> out;
      for (const Problem& p : draft.status().details()) out.push_back({"config." + p.path, p.message});
      return Status::Invalid(std::move(out));
    }
    // The draft as applying it would leave the rotation: pools keep their positions, a
    // changed key starts afresh (SPEC §5.2), as PUT /v1/config does (reconcile.h).
    MemoryRotation rotation(state, **tx);
    auto reconciled = Reconcile((*current)->config(), *draft, &rotation);
    if (!reconciled.ok()) return reconciled.status();
    // Its records, as applying it would store them (and as `rota simulate` reads them).
    for (const core::Record& r : draft->records) state.PutRecord(r);
    auto built = core::Workspace::Build(std::move(draft).value());
    if (!built.ok()) return built.status();
    workspace = *built;
  }

  const core::Time now = clock_.Now();
  std::vector<core::SimulatedRequest> requests;
  for (size_t i = 0; i < bodies.size(); ++i) {
    requests.push_back(io::ToSimulated(bodies[i], records[i], bodies[i].at ? *bodies[i].at : now));
  }
  core::Tally tally;
  std::vector<core::SimulationStep> steps = core::Simulate(*workspace, state, requests, &tally);

  Json decisions = Json::array();
  for (size_t i = 0; i < steps.size(); ++i) decisions.push_back(io::WriteSimulationStep(steps[i], bodies[i]));
  Json owners = Json::array();
  for (const auto& r : tally.Owners()) {
    owners.push_back({{"owner", r.owner.empty() ? Json(nullptr) : Json(r.owner)}, {"count", r.count}, {"percent", r.percent}});
  }
  Json keys = Json::array();
  for (const auto& k : tally.Keys(*workspace)) {
    keys.push_back({{"distribution", k.distribution},
                    {"value", k.value},
                    {"owner", k.user},
                    {"count", k.count},
                    {"percent", k.percent},
                    {"target_percent", k.target_percent}});
  }
  return Json{{"decisions", decisions},
              {"summary",
               {{"total", tally.total()}, {"owners", owners}, {"keys", keys}, {"unassigned", tally.unassigned_by_reason()}}}};
}

}  // namespace rota::service
