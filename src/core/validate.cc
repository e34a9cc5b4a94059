#include "core/validate.h"

#include <date/tz.h>

#include <cmath>
#include <set>
#include <string>

#include "core/conditions.h"
#include "core/text.h"

namespace rota::core {
namespace {

std::string At(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

bool ValidZone(const std::string& name) {
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

class Validator {
 public:
  explicit Validator(const Config& c) : c_(c) {
    for (const User& u : c.users) users_.insert(u.id);
    for (const Pool& p : c.pools) pools_.emplace(p.id, &p);
    for (const Distribution& d : c.distributions) distributions_.emplace(d.id, &d);
  }

  std::vector<Problem> Run() {
    CheckUsers();
    CheckPools();
    CheckDistributions();
    CheckRules();
    CheckSettings();
    CheckRecords();
    return std::move(problems_);
  }

 private:
  void Add(std::string path, std::string message) {
    problems_.push_back({std::move(path), std::move(message)});
  }
  void NeedUser(const std::string& path, const std::string& id) {
    if (!users_.count(id)) Add(path, "unknown user \"" + id + "\"");
  }

  void CheckUsers() {
    std::set<std::string> seen;
    for (size_t i = 0; i < c_.users.size(); ++i) {
      const User& u = c_.users[i];
      std::string p = At("users", i);
      if (Trim(u.id).empty()) Add(p + ".id", "a user needs an id");
      if (!seen.insert(u.id).second) Add(p + ".id", "duplicate user id \"" + u.id + "\"");
      for (size_t j = 0; j < u.out_of_office.size(); ++j) {
        if (u.out_of_office[j].from >= u.out_of_office[j].to) {
          Add(At(p + ".out_of_office", j), "\"from\" must be before \"to\"");
        }
      }
      if (u.working_hours) {
        if (!ValidZone(u.working_hours->tz)) {
          Add(p + ".working_hours.tz", "unknown time zone \"" + u.working_hours->tz + "\"");
        }
        for (int d = 0; d < 7; ++d) {
          const auto& intervals = u.working_hours->days[d];
          for (size_t j = 0; j < intervals.size(); ++j) {
            auto [from, to] = intervals[j];
            if (from < 0 || to > 1440 || from >= to) {
              // The day's own path, as the document writes it: one interval, or a list of them.
              const std::string day = p + ".working_hours.days." + WorkingHours::kDayNames[d];
              Add(intervals.size() == 1 ? day : At(day, j),
                  "a working-hours interval must start before it ends, within 00:00–24:00");
            }
          }
        }
      }
      if (u.caps.per_day && *u.caps.per_day < 0) Add(p + ".caps.per_day", "must be 0 or more");
      if (u.caps.max_open && *u.caps.max_open < 0) Add(p + ".caps.max_open", "must be 0 or more");
    }
  }

  void CheckPools() {
    std::set<std::string> seen;
    for (size_t i = 0; i < c_.pools.size(); ++i) {
      const Pool& pool = c_.pools[i];
      std::string p = At("pools", i);
      if (Trim(pool.id).empty()) Add(p + ".id", "a pool needs an id");
      if (!seen.insert(pool.id).second) Add(p + ".id", "duplicate pool id \"" + pool.id + "\"");
      std::set<std::string> members;
      int64_t last = 0;
      for (size_t j = 0; j < pool.members.size(); ++j) {
        const PoolMember& m = pool.members[j];
        NeedUser(At(p + ".members", j), m.user);
        if (!members.insert(m.user).second) {
          Add(At(p + ".members", j), "user \"" + m.user + "\" is in the pool twice");
        }
        if (m.position <= last) Add(At(p + ".members", j), "join positions must increase");
        last = m.position;
      }
    }
  }

  void CheckDistributions() {
    std::set<std::string> seen;
    for (size_t i = 0; i < c_.distributions.size(); ++i) {
      const Distribution& d = c_.distributions[i];
      std::string p = At("distributions", i);
      if (Trim(d.id).empty()) Add(p + ".id", "a distribution needs an id");
      if (!seen.insert(d.id).second) Add(p + ".id", "duplicate distribution id \"" + d.id + "\"");
      if (Trim(d.property).empty()) Add(p + ".property", "a distribution needs a property");
      if (d.default_owner) NeedUser(p + ".default_owner", *d.default_owner);
      std::set<std::string> values;
      for (size_t k = 0; k < d.keys.size(); ++k) {
        std::string kp = At(p + ".keys", k);
        const DistributionKey& key = d.keys[k];
        std::string folded = Fold(key.value);
        if (folded.empty()) Add(kp + ".value", "a key needs a value");
        else if (HasControlChar(key.value, /*text_spacing=*/true)) Add(kp + ".value", "a key's value holds no control characters (NUL, say)");
        else if (key.value.size() > kMaxKeyValue) Add(kp + ".value", "a key's value has at most " + std::to_string(kMaxKeyValue) + " bytes");
        else if (!values.insert(folded).second) Add(kp + ".value", "duplicate key value \"" + key.value + "\"");
        CheckKeyOwners(kp, key.owners);
      }
    }
  }

  void CheckKeyOwners(const std::string& kp, const std::vector<KeyOwner>& owners) {
    if (owners.empty()) {
      Add(kp + ".owners", "a key needs at least one owner");
      return;
    }
    std::set<std::string> users;
    double sum = 0;
    for (size_t j = 0; j < owners.size(); ++j) {
      const KeyOwner& o = owners[j];
      std::string op = At(kp + ".owners", j);
      NeedUser(op + ".user", o.user);
      if (!users.insert(o.user).second) Add(op + ".user", "user \"" + o.user + "\" is in the key twice");
      if (!(o.percent > 0) || o.percent > 100) Add(op + ".percent", "a percentage must be more than 0 and at most 100");
      sum += o.percent;
    }
    if (std::fabs(sum - 100.0) > kPercentTolerance + 1e-9) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.10g", sum);  // 100.0101, not 100.01
      Add(kp + ".owners", std::string("percentages add up to ") + buf + ", not 100");
    }
  }

  void CheckConditions(const std::string& p, const char* set, const std::vector<Condition>& cs) {
    if (cs.size() > kMaxConditionsPerSet) {
      Add(p + ".conditions." + set, "at most " + std::to_string(kMaxConditionsPerSet) +
                                        " conditions per set, this one has " + std::to_string(cs.size()));
    }
    for (size_t j = 0; j < cs.size(); ++j) {
      std::string cp = At(p + ".conditions." + set, j);
      if (Trim(cs[j].field).empty()) Add(cp + ".field", "a condition needs a field");
      std::string shape = CheckValueShape(cs[j].op, cs[j].value);
      if (!shape.empty()) Add(cp + ".value", shape);
    }
  }

  void CheckAssignee(const std::string& p, const Rule& r) {
    const Assignee& a = r.assign;
    std::string ap = p + ".assign";
    auto need_pool = [&](const char* field) {
      auto it = pools_.find(a.ref);
      if (it == pools_.end()) {
        Add(ap + "." + field, "unknown pool \"" + a.ref + "\"");
      } else if (it->second->object_type != r.object_type) {
        Add(ap + "." + field, "pool \"" + a.ref + "\" is for " + std::string(ToString(it->second->object_type)) +
                                  " records, the rule for " + std::string(ToString(r.object_type)));
      }
    };
    switch (a.type) {
      case Assignee::Type::kUser:
        NeedUser(ap + ".user", a.ref);
        break;
      case Assignee::Type::kPool:
        need_pool("pool");
        break;
      case Assignee::Type::kLeastLoaded:
        need_pool("pool");
        break;
      case Assignee::Type::kDistribution: {
        auto it = distributions_.find(a.ref);
        if (it == distributions_.end()) {
          Add(ap + ".distribution", "unknown distribution \"" + a.ref + "\"");
        } else if (it->second->object_type != r.object_type) {
          Add(ap + ".distribution", "distribution \"" + a.ref + "\" is for " +
                                        std::string(ToString(it->second->object_type)) + " records, the rule for " +
                                        std::string(ToString(r.object_type)));
        }
        break;
      }
      case Assignee::Type::kField:
        if (Trim(a.ref).empty()) Add(ap + ".field", "a field assignee needs a property name");
        break;
      case Assignee::Type::kRelatedOwner:
        break;
    }
  }

  void CheckRules() {
    std::set<std::string> seen;
    size_t counts[kObjectTypeCount][kEventCount] = {};
    for (size_t i = 0; i < c_.rules.size(); ++i) {
      const Rule& r = c_.rules[i];
      std::string p = At("rules", i);
      if (Trim(r.id).empty()) Add(p + ".id", "a rule needs an id");
      if (!seen.insert(r.id).second) Add(p + ".id", "duplicate rule id \"" + r.id + "\"");
      if (r.events.empty()) Add(p + ".events", "a rule needs at least one event");
      std::set<Event> events;
      for (Event e : r.events) {
        if (!events.insert(e).second) {
          Add(p + ".events", "event \"" + std::string(ToString(e)) + "\" is listed twice");
          continue;
        }
        size_t& n = counts[static_cast<int>(r.object_type)][static_cast<int>(e)];
        if (++n == kMaxRulesPerTypeAndEvent + 1) {
          Add(p, "more than " + std::to_string(kMaxRulesPerTypeAndEvent) + " rules for " +
                     std::string(ToString(r.object_type)) + " records on \"" + std::string(ToString(e)) +
                     "\" (active or not)");
        }
      }
      if (r.conditions.all.empty() && r.conditions.any.empty()) {
        Add(p + ".conditions", "a rule needs at least one condition");
      }
      CheckConditions(p, "all", r.conditions.all);
      CheckConditions(p, "any", r.conditions.any);
      CheckAssignee(p, r);
      if (r.fallback_user) NeedUser(p + ".fallback_user", *r.fallback_user);
      std::set<Relation> rel;
      for (Relation x : r.actions.apply_to_related) {
        if (!rel.insert(x).second) Add(p + ".actions.apply_to_related", "a relation is listed twice");
      }
    }
  }

  void CheckSettings() {
    for (const auto& [type, user] : c_.settings.default_owners) {
      NeedUser("settings.default_owners." + std::string(ToString(type)), user);
    }
    if (!ValidZone(c_.settings.time_zone)) {
      Add("settings.time_zone", "unknown time zone \"" + c_.settings.time_zone + "\"");
    }
    if (c_.settings.history_retention_days < 1) {
      Add("settings.history_retention_days", "must be at least 1");
    }
  }

  void CheckRecords() {
    std::set<std::pair<ObjectType, std::string>> seen;
    for (size_t i = 0; i < c_.records.size(); ++i) {
      const Record& r = c_.records[i];
      std::string p = At("records", i);
      if (Trim(r.id).empty()) Add(p + ".id", "a record needs an id");
      if (!seen.insert({r.object_type, r.id}).second) Add(p + ".id", "duplicate record \"" + r.id + "\"");
    }
  }

  const Config& c_;
  std::set<std::string> users_;
  std::map<std::string, const Pool*> pools_;
  std::map<std::string, const Distribution*> distributions_;
  std::vector<Problem> problems_;
};

}  // namespace

std::string CheckValueShape(Op op, const ConditionValue& v) {
  using S = ConditionValue::Shape;
  std::string name = "\"" + std::string(ToString(op)) + "\"";
  auto scalar_list = [&] {
    for (const Value& x : v.items) {
      if (x.kind == Value::Kind::kNull) return false;
    }
    return true;
  };
  switch (op) {
    case Op::kIn:
    case Op::kNotIn:
      if (v.shape != S::kList || !scalar_list()) return name + " takes a list of values";
      return "";
    case Op::kBetween:
      if (v.shape != S::kList || v.items.size() != 2 || !scalar_list()) {
        return name + " takes a list [low, high]";
      }
      return "";
    case Op::kIsEmpty:
    case Op::kIsNotEmpty:
    case Op::kChanged:
      if (v.shape != S::kNone) return name + " takes no value";
      return "";
    default:
      if (v.shape != S::kScalar || v.items.size() != 1 || v.items[0].kind == Value::Kind::kNull) {
        return name + " takes one value";
      }
      return "";
  }
}

std::vector<Problem> ReversedRanges(const Rule& rule, const std::string& base) {
  std::vector<Problem> out;
  auto check = [&](const char* set, const std::vector<Condition>& cs) {
    for (size_t j = 0; j < cs.size(); ++j) {
      if (cs[j].op != Op::kBetween || !CheckValueShape(cs[j].op, cs[j].value).empty()) continue;
      const Operand low = MakeOperand(cs[j].value.items[0]);
      const Operand high = MakeOperand(cs[j].value.items[1]);
      if (low.is_number == high.is_number && Compare(low, high) > 0) {
        out.push_back({At(base + ".conditions." + set, j) + ".value",
                       "\"between\" takes [low, high]: its low end is above its high end"});
      }
    }
  };
  check("all", rule.conditions.all);
  check("any", rule.conditions.any);
  return out;
}

std::vector<Problem> Validate(const Config& config) { return Validator(config).Run(); }

}  // namespace rota::core
