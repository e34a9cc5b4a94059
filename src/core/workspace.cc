#include "core/workspace.h"

#include <date/tz.h>

#include "core/state.h"
#include "core/validate.h"

namespace rota::core {
namespace {

const date::time_zone* Zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// What decides a condition's result for a record: its field, operator and operands.
std::string ConditionKey(const CompiledCondition& c) {
  std::string key;
  auto put = [&key](const void* p, size_t n) { key.append(static_cast<const char*>(p), n); };
  put(&c.slot, sizeof c.slot);
  put(&c.op, sizeof c.op);
  for (const Operand& o : c.operands) {
    put(&o.is_number, sizeof o.is_number);
    put(&o.number.negative, sizeof o.number.negative);
    for (const std::string* part : {&o.number.integer, &o.number.fraction}) {
      size_t n = part->size();
      put(&n, sizeof n);
      key += *part;
    }
    size_t n = o.folded.size();
    put(&n, sizeof n);
    key += o.folded;
  }
  return key;
}

}  // namespace

Result<std::shared_ptr<const Workspace>> Workspace::Build(Config config) {
  std::vector<Problem> problems = Validate(config);
  if (!problems.empty()) return Status::Invalid(std::move(problems));

  std::shared_ptr<Workspace> ws(new Workspace());
  ws->config_ = std::move(config);
  const Config& c = ws->config_;
  for (const User& u : c.users) {
    CompiledUser cu{&u, u.working_hours ? Zone(u.working_hours->tz) : nullptr};
    ws->users_.emplace(u.id, cu);
  }
  for (const Pool& p : c.pools) ws->pools_.emplace(p.id, &p);
  for (const Distribution& d : c.distributions) {
    CompiledDistribution cd{&d, {}};
    for (const DistributionKey& k : d.keys) {
      CompiledKey ck{&k, Fold(k.value), {}, {}};
      for (const KeyOwner& o : k.owners) {
        ck.users.push_back(o.user);
        ck.weights.push_back(PercentUnits(o.percent));
      }
      cd.keys.emplace(ck.folded_value, std::move(ck));
    }
    ws->distributions_.emplace(d.id, std::move(cd));
  }
  int order[kObjectTypeCount] = {};
  ws->rules_.reserve(c.rules.size());
  for (const Rule& r : c.rules) {
    CompiledRule cr;
    cr.rule = &r;
    cr.order = order[static_cast<int>(r.object_type)]++;
    for (const Condition& cond : r.conditions.all) cr.all.push_back(ws->Compile(cond));
    for (const Condition& cond : r.conditions.any) cr.any.push_back(ws->Compile(cond));
    ws->rules_.push_back(std::move(cr));
  }
  {
    std::unordered_map<std::string, std::vector<CompiledCondition*>> alike;
    for (CompiledRule& cr : ws->rules_) {
      for (CompiledCondition& cc : cr.all) alike[ConditionKey(cc)].push_back(&cc);
      for (CompiledCondition& cc : cr.any) alike[ConditionKey(cc)].push_back(&cc);
    }
    for (auto& [key, ccs] : alike) {
      if (ccs.size() < 2) continue;
      for (CompiledCondition* cc : ccs) cc->memo = ws->memo_slots_;
      ++ws->memo_slots_;
    }
  }
  for (const CompiledRule& cr : ws->rules_) {
    ws->rules_by_id_.emplace(cr.rule->id, &cr);
    if (!cr.rule->active) continue;
    for (Event e : cr.rule->events) {
      ws->by_type_event_[static_cast<int>(cr.rule->object_type)][static_cast<int>(e)].push_back(&cr);
    }
  }
  ws->tz_ = Zone(c.settings.time_zone);
  return std::shared_ptr<const Workspace>(std::move(ws));
}

CompiledCondition Workspace::Compile(const Condition& c) {
  CompiledCondition cc;
  cc.source = &c;
  cc.op = c.op;
  auto [it, inserted] = field_slots_.emplace(c.field, static_cast<int>(fields_.size()));
  if (inserted) fields_.push_back(c.field);
  cc.slot = it->second;
  for (const Value& v : c.value.items) cc.operands.push_back(MakeOperand(v));
  return cc;
}

const CompiledUser* Workspace::FindUser(const std::string& id) const {
  auto it = users_.find(id);
  return it == users_.end() ? nullptr : &it->second;
}
const Pool* Workspace::FindPool(const std::string& id) const {
  auto it = pools_.find(id);
  return it == pools_.end() ? nullptr : it->second;
}
const CompiledDistribution* Workspace::FindDistribution(const std::string& id) const {
  auto it = distributions_.find(id);
  return it == distributions_.end() ? nullptr : &it->second;
}
const CompiledRule* Workspace::FindRule(const std::string& id) const {
  auto it = rules_by_id_.find(id);
  return it == rules_by_id_.end() ? nullptr : it->second;
}
const std::vector<const CompiledRule*>& Workspace::RulesFor(ObjectType type, Event event) const {
  return by_type_event_[static_cast<int>(type)][static_cast<int>(event)];
}
std::optional<std::string> Workspace::DefaultOwner(ObjectType type) const {
  auto it = config_.settings.default_owners.find(type);
  if (it == config_.settings.default_owners.end()) return std::nullopt;
  return it->second;
}

}  // namespace rota::core
