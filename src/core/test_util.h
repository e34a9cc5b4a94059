// Builders for the core's unit tests: configurations as plain structs, fixed times, and a
// Harness that decides and applies decisions to a MemoryState the way the server does.
#pragma once

#include <date/date.h>

#include <chrono>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/decide.h"
#include "core/decision.h"
#include "core/model.h"
#include "core/state.h"
#include "core/workspace.h"

namespace rota::core::testing {

// A fixed UTC time.
inline Time At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return Time{date::sys_days{date::year{y} / date::month{mo} / date::day{d}}} + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

// 2025-06-02 was a Monday.
inline Time Monday() { return At(2025, 6, 2, 12, 0); }

inline Value Str(std::string s) { return Value::String(std::move(s)); }
// A JSON number with its JSON spelling.
inline Value Num(const std::string& text) { return Value::Number(std::strtod(text.c_str(), nullptr), text); }

inline ConditionValue NoValue() { return {}; }
inline ConditionValue One(Value v) { return {ConditionValue::Shape::kScalar, {std::move(v)}}; }
inline ConditionValue One(const char* s) { return One(Str(s)); }
inline ConditionValue List(std::vector<Value> vs) { return {ConditionValue::Shape::kList, std::move(vs)}; }
inline ConditionValue StrList(std::initializer_list<const char*> ss) {
  ConditionValue v{ConditionValue::Shape::kList, {}};
  for (const char* s : ss) v.items.push_back(Str(s));
  return v;
}

inline Condition Cond(std::string field, Op op, ConditionValue value = {}) {
  return Condition{std::move(field), op, std::move(value)};
}
// A condition that always holds: a property no record has is empty.
inline Condition Always() { return Cond("__always__", Op::kIsEmpty); }

inline User MakeUser(std::string id) {
  User u;
  u.id = id;
  u.name = id;
  return u;
}

inline Pool MakePool(std::string id, std::vector<std::string> users, ObjectType t = ObjectType::kLead) {
  Pool p;
  p.id = std::move(id);
  p.object_type = t;
  int64_t pos = 0;
  for (auto& u : users) p.members.push_back({std::move(u), ++pos});
  return p;
}

inline Assignee ToUser(std::string id) { return {Assignee::Type::kUser, std::move(id), Relation::kCompany}; }
inline Assignee ToPool(std::string id) { return {Assignee::Type::kPool, std::move(id), Relation::kCompany}; }
inline Assignee ToDistribution(std::string id) {
  return {Assignee::Type::kDistribution, std::move(id), Relation::kCompany};
}
inline Assignee ToLeastLoaded(std::string pool) {
  return {Assignee::Type::kLeastLoaded, std::move(pool), Relation::kCompany};
}
inline Assignee ToField(std::string property) { return {Assignee::Type::kField, std::move(property), Relation::kCompany}; }
inline Assignee ToRelatedOwner(Relation r) { return {Assignee::Type::kRelatedOwner, "", r}; }

// A rule that matches every record of its type on `created` unless told otherwise.
inline Rule MakeRule(std::string id, Assignee assign, ObjectType t = ObjectType::kLead,
                     std::vector<Event> events = {Event::kCreated}) {
  Rule r;
  r.id = id;
  r.name = id;
  r.object_type = t;
  r.events = std::move(events);
  r.conditions.all = {Always()};
  r.assign = std::move(assign);
  return r;
}

inline Distribution MakeDistribution(std::string id, std::string property,
                                     std::vector<DistributionKey> keys,
                                     ObjectType t = ObjectType::kLead) {
  Distribution d;
  d.id = std::move(id);
  d.object_type = t;
  d.property = std::move(property);
  d.keys = std::move(keys);
  return d;
}

inline Record MakeRecord(std::string id, Properties props = {}, ObjectType t = ObjectType::kLead) {
  Record r;
  r.object_type = t;
  r.id = std::move(id);
  r.properties = std::move(props);
  return r;
}

inline std::shared_ptr<const Workspace> BuildOrThrow(Config c) {
  auto r = Workspace::Build(std::move(c));
  if (!r.ok()) throw std::runtime_error("Workspace::Build: " + r.status().ToString());
  return *r;
}

// A workspace and its rotation state, deciding the way the server does: each decision
// is applied to the state before the next one.
class Harness {
 public:
  Config config;
  std::shared_ptr<const Workspace> ws;
  MemoryState state;
  int next_id = 0;

  Harness& Build() {
    ws = BuildOrThrow(config);
    return *this;
  }

  struct Options {
    Event event = Event::kCreated;
    const Properties* previous = nullptr;
    std::optional<Target> target;
    bool explain = false;
  };

  Result<Decision> Try(const Record& record, Time now, const Options& o) const {
    Request req;
    req.record = &record;
    req.previous = o.previous;
    req.event = o.event;
    req.target = o.target;
    req.now = now;
    req.explain = o.explain;
    return core::Decide(*ws, state, req);
  }

  // Decides without storing anything.
  Decision Peek(const Record& record, Time now, const Options& o) const {
    auto r = Try(record, now, o);
    if (!r.ok()) throw std::runtime_error("Decide: " + r.status().ToString());
    return *r;
  }
  Decision Peek(const Record& record, Time now) const { return Peek(record, now, Options{}); }

  // Decides and stores the decision.
  Decision Decide(const Record& record, Time now, const Options& o) {
    Decision d = Peek(record, now, o);
    state.Apply(d, record, now);
    return d;
  }
  Decision Decide(const Record& record, Time now) { return Decide(record, now, Options{}); }

  // A fresh lead with the given properties, decided on `created` and stored.
  Decision DecideNew(Time now, Properties props = {}, ObjectType t = ObjectType::kLead) {
    return Decide(MakeRecord("rec-" + std::to_string(++next_id), std::move(props), t), now);
  }
  std::string NextOwner(Time now, Properties props = {}, ObjectType t = ObjectType::kLead) {
    Decision d = DecideNew(now, std::move(props), t);
    return d.owner.value_or("<none>");
  }
};

inline Target PoolTarget(std::string id) { return {Target::Kind::kPool, std::move(id)}; }
inline Target RuleTarget(std::string id) { return {Target::Kind::kRule, std::move(id)}; }

}  // namespace rota::core::testing
