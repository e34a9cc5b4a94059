// Conditions (SPEC §4) as they reach the core: a rule's "conditions" JSON read by io
// (operators, value shapes, validation), compiled by the Workspace, then evaluated on a
// record's properties (and, for `updated`, its previous values) directly and through
// core::Decide with the explain trace.
//
// Input: a JSON object {"conditions": {"all": [...], "any": [...]}, "record": {...},
// "previous": {...}} ("previous" optional: with it the event is `updated`).
// Checked: evaluation agrees with Decide; Equal and Compare are symmetric.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/conditions.h"
#include "core/decide.h"
#include "core/state.h"
#include "core/text.h"
#include "core/workspace.h"
#include "io/config_json.h"
#include "io/json_util.h"

using namespace rota;
using io::Json;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_conditions: %s\n", what);
    std::abort();
  }
}

void Symmetric(const core::Operand& a, const core::Operand& b) {
  Check(core::Equal(a, b) == core::Equal(b, a), "Equal is not symmetric");
  Check(core::Compare(a, b) == -core::Compare(b, a), "Compare is not antisymmetric");
  Check(core::Equal(a, a) && core::Compare(a, a) == 0, "an operand differs from itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = io::ParseJson(std::string(reinterpret_cast<const char*>(data), size));
  if (!in.ok() || !in->is_object()) return 0;
  Json doc = {
      {"users", Json::array({{{"id", "u"}}})},
      {"rules", Json::array({{{"id", "r"},
                              {"object_type", "lead"},
                              {"events", {"created", "updated"}},
                              {"conditions", in->value("conditions", Json::object())},
                              {"assign", {{"type", "user"}, {"user", "u"}}}}})}};
  auto config = io::ReadConfig(doc);
  if (!config.ok()) return 0;
  auto built = core::Workspace::Build(std::move(config).value());
  Check(built.ok(), "a config ReadConfig accepts does not compile");
  const core::Workspace& ws = **built;

  core::Record record;
  record.object_type = core::ObjectType::kLead;
  record.id = "L-1";
  if (in->contains("record") && (*in)["record"].is_object()) record.properties = io::ToProperties((*in)["record"]);
  std::optional<core::Properties> previous;
  if (in->contains("previous") && (*in)["previous"].is_object()) previous = io::ToProperties((*in)["previous"]);

  const core::CompiledRule* rule = ws.FindRule("r");
  Check(rule != nullptr, "the rule is not compiled");
  core::RecordOperands ops(ws, record.properties, previous ? &*previous : nullptr);
  const bool matches = core::FirstFailing(rule->all, ops) < 0 && core::AnyHolds(rule->any, ops);

  for (const auto* set : {&rule->all, &rule->any}) {
    for (const core::CompiledCondition& c : *set) {
      const core::Operand& v = ops.Current(c.slot);
      for (const core::Operand& o : c.operands) Symmetric(v, o);
      if (const core::Operand* old = ops.Previous(c.slot)) Symmetric(*old, v);
    }
  }

  core::MemoryState state;
  core::Request req;
  req.record = &record;
  req.previous = previous ? &*previous : nullptr;
  req.event = previous ? core::Event::kUpdated : core::Event::kCreated;
  req.now = core::Time(std::chrono::seconds(1795000000));
  req.explain = true;
  auto d = core::Decide(ws, state, req);
  Check(d.ok(), "Decide failed");
  Check((d->outcome == core::Outcome::kAssigned) == matches, "Decide and the conditions disagree");
  return 0;
}
