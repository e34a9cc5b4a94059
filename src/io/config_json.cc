#include "io/config_json.h"

#include <cstdio>

#include "core/validate.h"

namespace rota::io {
namespace {

using core::ObjectType;

constexpr const auto& kDays = core::WorkingHours::kDayNames;

std::optional<int> ParseClock(const std::string& s) {
  auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 5 || !digit(0) || !digit(1) || s[2] != ':' || !digit(3) || !digit(4)) return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::string FormatClock(int minutes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

std::optional<std::pair<int, int>> ReadInterval(const Json& j, const std::string& path, Problems& p) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_string() || !j[1].is_string()) {
    p.Add(path, "an interval is [\"HH:MM\", \"HH:MM\"]");
    return std::nullopt;
  }
  auto from = ParseClock(j[0].get<std::string>());
  auto to = ParseClock(j[1].get<std::string>());
  if (!from || !to) {
    p.Add(path, "times are \"HH:MM\" from \"00:00\" to \"24:00\"");
    return std::nullopt;
  }
  return std::make_pair(*from, *to);
}

core::WorkingHours ReadWorkingHours(const Json& j, const std::string& path, Problems& p) {
  core::WorkingHours wh;
  p.Unknown(j, {"tz", "days"}, path);
  p.String(j, "tz", path, wh.tz);
  if (wh.tz.empty()) p.Add(Join(path, "tz"), "working hours need a time zone");
  if (!p.Object(j, "days", path)) return wh;
  for (auto it = j["days"].begin(); it != j["days"].end(); ++it) {
    std::string dp = Join(path, "days." + it.key());
    int day = -1;
    for (int d = 0; d < 7; ++d) {
      if (it.key() == kDays[d]) day = d;
    }
    if (day < 0) {
      p.Add(dp, "unknown day (mon, tue, wed, thu, fri, sat, sun)");
      continue;
    }
    const Json& v = it.value();
    if (v.is_null() || (v.is_array() && v.empty())) continue;  // no hours that day
    if (v.is_array() && !v.empty() && v[0].is_array()) {  // several intervals
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto iv = ReadInterval(v[i], Index(dp, i), p)) wh.days[day].push_back(*iv);
      }
    } else if (auto iv = ReadInterval(v, dp, p)) {
      wh.days[day].push_back(*iv);
    }
  }
  return wh;
}

Json WriteWorkingHours(const core::WorkingHours& wh) {
  Json days = Json::object();
  for (int d = 0; d < 7; ++d) {
    const auto& iv = wh.days[d];
    if (iv.empty()) continue;
    if (iv.size() == 1) {
      days[kDays[d]] = {FormatClock(iv[0].first), FormatClock(iv[0].second)};
    } else {
      Json list = Json::array();
      for (auto [a, b] : iv) list.push_back({FormatClock(a), FormatClock(b)});
      days[kDays[d]] = list;
    }
  }
  return {{"tz", wh.tz}, {"days", days}};
}

std::optional<core::Time> ReadTime(const Json& obj, const char* key, const std::string& path, Problems& p) {
  std::string s;
  if (!p.String(obj, key, path, s)) {
    p.Add(Join(path, key), "a time (RFC 3339) is required");
    return std::nullopt;
  }
  auto t = ParseTime(s);
  if (!t) {
    p.Add(Join(path, key), "not an RFC 3339 time: \"" + s + "\"");
    return t;
  }
  // Decisions are timed to the second: a bound inside a second could not be kept exactly.
  if (s.size() > 19 && s[19] == '.' && s.find_first_not_of('0', 20) != s.find_first_not_of("0123456789", 20)) {
    p.Add(Join(path, key), "a time in whole seconds, got \"" + s + "\"");
    return std::nullopt;
  }
  return t;
}

core::ConditionValue ReadConditionValue(const Json& obj) {
  core::ConditionValue cv;
  auto it = obj.find("value");
  if (it == obj.end() || it->is_null()) return cv;
  if (it->is_array()) {
    cv.shape = core::ConditionValue::Shape::kList;
    for (const Json& x : *it) {
      if (x.is_array() || x.is_object()) cv.shape = core::ConditionValue::Shape::kOther;
      cv.items.push_back(ToValue(x));
    }
  } else if (it->is_object()) {
    cv.shape = core::ConditionValue::Shape::kOther;
  } else {
    cv.shape = core::ConditionValue::Shape::kScalar;
    cv.items.push_back(ToValue(*it));
  }
  return cv;
}

Json WriteConditionValue(const core::ConditionValue& cv) {
  switch (cv.shape) {
    case core::ConditionValue::Shape::kNone:
      return nullptr;
    case core::ConditionValue::Shape::kScalar:
      return cv.items.empty() ? Json(nullptr) : FromValue(cv.items[0]);
    default: {
      Json list = Json::array();
      for (const core::Value& v : cv.items) list.push_back(FromValue(v));
      return list;
    }
  }
}

std::vector<core::Condition> ReadConditionSet(const Json& set, const std::string& path, Problems& p) {
  std::vector<core::Condition> out;
  if (set.is_null()) return out;
  if (!set.is_array()) {
    p.Add(path, "must be a list of conditions");
    return out;
  }
  for (size_t i = 0; i < set.size(); ++i) {
    std::string cp = Index(path, i);
    const Json& c = set[i];
    if (!c.is_object()) {
      p.Add(cp, "a condition is {\"field\", \"op\", \"value\"}");
      out.emplace_back();  // keeps later conditions at their own index
      continue;
    }
    core::Condition cond;
    p.String(c, "field", cp, cond.field);
    std::string op;
    p.String(c, "op", cp, op);
    if (auto parsed = core::ParseOp(op)) {
      cond.op = *parsed;
    } else {
      p.Add(Join(cp, "op"), op.empty() ? "a condition needs an operator" : "unknown operator \"" + op + "\"");
    }
    cond.value = ReadConditionValue(c);
    p.Unknown(c, {"field", "op", "value"}, cp);
    out.push_back(std::move(cond));
  }
  return out;
}

core::Assignee ReadAssignee(const Json& j, const std::string& path, Problems& p) {
  core::Assignee a;
  if (!j.is_object()) {
    p.Add(path, "a rule needs an assignee {\"type\", …}");
    return a;
  }
  // Every type's field is known: a rule changed by a merge keeps the one it had before.
  p.Unknown(j, {"type", "user", "pool", "distribution", "field", "relation"}, path);
  std::string type;
  p.String(j, "type", path, type);
  auto t = core::ParseAssigneeType(type);
  if (!t) {
    p.Add(Join(path, "type"), type.empty() ? "an assignee needs a type"
                                           : "unknown assignee type \"" + type + "\"");
    return a;
  }
  a.type = *t;
  const char* field = nullptr;
  switch (a.type) {
    case core::Assignee::Type::kUser: field = "user"; break;
    case core::Assignee::Type::kPool:
    case core::Assignee::Type::kLeastLoaded: field = "pool"; break;
    case core::Assignee::Type::kDistribution: field = "distribution"; break;
    case core::Assignee::Type::kField: field = "field"; break;
    case core::Assignee::Type::kRelatedOwner: {
      std::string rel;
      p.String(j, "relation", path, rel);
      if (rel == "company") {
        a.relation = core::Relation::kCompany;
      } else if (rel == "person") {
        a.relation = core::Relation::kPerson;
      } else {
        p.Add(Join(path, "relation"), "relation is \"company\" or \"person\"");
      }
      return a;
    }
  }
  if (!p.String(j, field, path, a.ref) || a.ref.empty()) {
    p.Add(Join(path, field), std::string("a \"") + type + "\" assignee needs \"" + field + "\"");
  }
  return a;
}

Json WriteAssignee(const core::Assignee& a) {
  Json j = {{"type", core::ToString(a.type)}};
  switch (a.type) {
    case core::Assignee::Type::kUser: j["user"] = a.ref; break;
    case core::Assignee::Type::kPool:
    case core::Assignee::Type::kLeastLoaded: j["pool"] = a.ref; break;
    case core::Assignee::Type::kDistribution: j["distribution"] = a.ref; break;
    case core::Assignee::Type::kField: j["field"] = a.ref; break;
    case core::Assignee::Type::kRelatedOwner: j["relation"] = core::ToString(a.relation); break;
  }
  return j;
}

core::Actions ReadActions(const Json& j, const std::string& path, Problems& p) {
  core::Actions a;
  if (j.is_null()) return a;
  if (!j.is_object()) {
    p.Add(path, "must be an object");
    return a;
  }
  // A misspelt action ("notfy") would otherwise be dropped without a word.
  p.Unknown(j, {"apply_to_related", "related_mode", "tag", "note", "notify", "notify_message"}, path);
  if (p.Array(j, "apply_to_related", path)) {
    const Json& list = j["apply_to_related"];
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i] == "company") {
        a.apply_to_related.push_back(core::Relation::kCompany);
      } else if (list[i] == "person") {
        a.apply_to_related.push_back(core::Relation::kPerson);
      } else {
        p.Add(Index(Join(path, "apply_to_related"), i), "a relation is \"company\" or \"person\"");
      }
    }
  }
  std::string mode;
  if (p.String(j, "related_mode", path, mode)) {
    if (mode == "add") {
      a.related_mode = core::RelatedMode::kAdd;
    } else if (mode == "replace") {
      a.related_mode = core::RelatedMode::kReplace;
    } else {
      p.Add(Join(path, "related_mode"), "related_mode is \"add\" or \"replace\"");
    }
  }
  p.String(j, "tag", path, a.tag);
  p.String(j, "note", path, a.note);
  p.Bool(j, "notify", path, a.notify);
  p.String(j, "notify_message", path, a.notify_message);
  if (!a.notify_message.empty() && !a.notify) {
    p.Add(Join(path, "notify_message"), "a notification's text needs \"notify\": true");
  }
  return a;
}

Json WriteActions(const core::Actions& a) {
  Json rel = Json::array();
  for (core::Relation r : a.apply_to_related) rel.push_back(core::ToString(r));
  Json j = {{"apply_to_related", rel},
            {"related_mode", a.related_mode == core::RelatedMode::kAdd ? "add" : "replace"},
            {"tag", a.tag},
            {"note", a.note},
            {"notify", a.notify}};
  if (!a.notify_message.empty()) j["notify_message"] = a.notify_message;
  return j;
}

template <typename T, typename F>
std::vector<T> ReadList(const Json& doc, const char* key, Problems& p, F read) {
  std::vector<T> out;
  if (!p.Array(doc, key, "")) return out;
  const Json& list = doc[key];
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = Index(key, i);
    if (!list[i].is_object()) {
      p.Add(path, "must be an object");
      out.emplace_back();  // keeps later items at their own index
      continue;
    }
    out.push_back(read(list[i], path, p));
  }
  return out;
}

}  // namespace

std::optional<ObjectType> ReadObjectType(const Json& j, const char* key, const std::string& path, Problems& p) {
  std::string s;
  p.String(j, key, path, s);
  auto t = core::ParseObjectType(s);
  if (!t) {
    p.Add(Join(path, key), s.empty() ? "an object type is required (lead, contact, company, deal, task)"
                                     : "unknown object type \"" + s + "\" (lead, contact, company, deal, task)");
  }
  return t;
}

core::User ReadUser(const Json& j, const std::string& path, Problems& p) {
  core::User u;
  p.Unknown(j, {"id", "name", "email", "active", "out_of_office", "working_hours", "caps"}, path);
  p.String(j, "id", path, u.id);
  p.String(j, "name", path, u.name);
  p.String(j, "email", path, u.email);
  p.Bool(j, "active", path, u.active);
  if (p.Array(j, "out_of_office", path)) {
    const Json& list = j["out_of_office"];
    for (size_t i = 0; i < list.size(); ++i) {
      std::string op = Index(Join(path, "out_of_office"), i);
      if (!list[i].is_object()) {
        p.Add(op, "an absence is {\"from\", \"to\"}");
        u.out_of_office.emplace_back();  // keeps later absences at their own index
        continue;
      }
      p.Unknown(list[i], {"from", "to"}, op);
      auto from = ReadTime(list[i], "from", op, p);
      auto to = ReadTime(list[i], "to", op, p);
      u.out_of_office.push_back({from.value_or(core::Time{}), to.value_or(core::Time{})});
    }
  }
  if (p.Object(j, "working_hours", path)) u.working_hours = ReadWorkingHours(j["working_hours"], Join(path, "working_hours"), p);
  if (p.Object(j, "caps", path)) {
    const Json& caps = j["caps"];
    std::string cp = Join(path, "caps");
    p.Unknown(caps, {"per_day", "max_open"}, cp);
    int64_t n = 0;
    if (p.Int(caps, "per_day", cp, n)) u.caps.per_day = n;
    if (p.Int(caps, "max_open", cp, n)) u.caps.max_open = n;
  }
  return u;
}

Json WriteUser(const core::User& u) {
  Json ooo = Json::array();
  for (const auto& o : u.out_of_office) ooo.push_back({{"from", FormatTime(o.from)}, {"to", FormatTime(o.to)}});
  Json caps = Json::object();
  caps["per_day"] = u.caps.per_day ? Json(*u.caps.per_day) : Json(nullptr);
  caps["max_open"] = u.caps.max_open ? Json(*u.caps.max_open) : Json(nullptr);
  return {{"id", u.id},
          {"name", u.name},
          {"email", u.email},
          {"active", u.active},
          {"out_of_office", ooo},
          {"working_hours", u.working_hours ? WriteWorkingHours(*u.working_hours) : Json(nullptr)},
          {"caps", caps}};
}

core::Pool ReadPool(const Json& j, const std::string& path, Problems& p) {
  core::Pool pool;
  // "next" and "last_position" are GET's, read-only: a pool read and sent back is accepted.
  p.Unknown(j, {"id", "name", "object_type", "members", "next", "last_position"}, path);
  p.String(j, "id", path, pool.id);
  p.String(j, "name", path, pool.name);
  if (auto t = ReadObjectType(j, "object_type", path, p)) pool.object_type = *t;
  if (p.Array(j, "members", path)) {
    const Json& list = j["members"];
    for (size_t i = 0; i < list.size(); ++i) {
      std::string user;
      if (auto id = IdText(list[i])) {
        user = std::move(*id);
      } else if (list[i].is_object() && list[i].contains("user") && IdText(list[i]["user"])) {
        user = *IdText(list[i]["user"]);  // GET's shape, for round trips
        p.Unknown(list[i], {"user", "position"}, Index(Join(path, "members"), i));
        if (list[i].contains("position") && list[i]["position"].is_number_integer()) {
          const Json& pos = list[i]["position"];
          const bool in_range = pos.is_number_unsigned()
                                    ? pos.get<uint64_t>() >= 1 && pos.get<uint64_t>() <= uint64_t{core::kMaxJoinPosition}
                                    : pos.get<int64_t>() >= 1 && pos.get<int64_t>() <= core::kMaxJoinPosition;
          if (!in_range) {
            p.Add(Join(Index(Join(path, "members"), i), "position"),
                  "a join position is a whole number from 1 to " + std::to_string(core::kMaxJoinPosition));
            continue;
          }
          pool.members.push_back({user, pos.get<int64_t>()});
          continue;
        }
      } else {
        p.Add(Index(Join(path, "members"), i), "a member is a user id");
        // keeps later members at their own index (user "" is never a known user)
      }
      int64_t last = pool.members.empty() ? 0 : pool.members.back().position;
      pool.members.push_back({user, last + 1});
    }
  }
  return pool;
}

Json WritePool(const core::Pool& pool, bool with_positions) {
  Json members = Json::array();
  for (const auto& m : pool.members) {
    members.push_back(with_positions ? Json{{"user", m.user}, {"position", m.position}} : Json(m.user));
  }
  return {{"id", pool.id}, {"name", pool.name}, {"object_type", core::ToString(pool.object_type)}, {"members", members}};
}

std::vector<core::KeyOwner> ReadKeyOwners(const Json& list, const std::string& path, Problems& p) {
  std::vector<core::KeyOwner> out;
  if (!list.is_array()) {
    p.Add(path, "owners is a list of {\"user\", \"percent\"}");
    return out;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string op = Index(path, i);
    if (!list[i].is_object()) {
      p.Add(op, "an owner is {\"user\", \"percent\"}");
      out.emplace_back();  // keeps later owners at their own index
      continue;
    }
    core::KeyOwner o;
    p.Unknown(list[i], {"user", "percent", "assigned"}, op);  // "assigned" is GET's, read-only
    p.String(list[i], "user", op, o.user);
    auto pct = list[i].find("percent");
    if (pct == list[i].end() || !pct->is_number()) {
      p.Add(Join(op, "percent"), "a percentage (number) is required");
    } else {
      o.percent = pct->get<double>();
    }
    out.push_back(std::move(o));
  }
  return out;
}

Json WriteKeyOwners(const std::vector<core::KeyOwner>& owners) {
  Json list = Json::array();
  for (const auto& o : owners) list.push_back({{"user", o.user}, {"percent", o.percent}});
  return list;
}

core::Distribution ReadDistribution(const Json& j, const std::string& path, Problems& p) {
  core::Distribution d;
  // "unkeyed_values" is GET's, read-only.
  p.Unknown(j, {"id", "name", "object_type", "property", "default_owner", "keys", "unkeyed_values"}, path);
  p.String(j, "id", path, d.id);
  p.String(j, "name", path, d.name);
  if (auto t = ReadObjectType(j, "object_type", path, p)) d.object_type = *t;
  p.String(j, "property", path, d.property);
  p.OptString(j, "default_owner", path, d.default_owner);
  if (p.Array(j, "keys", path)) {
    const Json& keys = j["keys"];
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string kp = Index(Join(path, "keys"), i);
      if (!keys[i].is_object()) {
        p.Add(kp, "a key is {\"value\", \"owners\"}");
        d.keys.emplace_back();  // keeps later keys at their own index
        continue;
      }
      core::DistributionKey k;
      p.Unknown(keys[i], {"value", "owners"}, kp);
      p.String(keys[i], "value", kp, k.value);
      k.owners = ReadKeyOwners(keys[i].value("owners", Json::array()), Join(kp, "owners"), p);
      d.keys.push_back(std::move(k));
    }
  }
  return d;
}

Json WriteDistribution(const core::Distribution& d) {
  Json keys = Json::array();
  for (const auto& k : d.keys) keys.push_back({{"value", k.value}, {"owners", WriteKeyOwners(k.owners)}});
  return {{"id", d.id},
          {"name", d.name},
          {"object_type", core::ToString(d.object_type)},
          {"property", d.property},
          {"default_owner", d.default_owner ? Json(*d.default_owner) : Json(nullptr)},
          {"keys", keys}};
}

core::Rule ReadRule(const Json& j, const std::string& path, Problems& p) {
  core::Rule r;
  // "priority" is GET's, read-only (PUT /v1/rules/priority sets it).
  p.Unknown(j, {"id", "name", "description", "object_type", "active", "events", "conditions", "assign",
                "fallback_user", "actions", "priority"},
            path);
  p.String(j, "id", path, r.id);
  p.String(j, "name", path, r.name);
  p.String(j, "description", path, r.description);
  if (auto t = ReadObjectType(j, "object_type", path, p)) r.object_type = *t;
  p.Bool(j, "active", path, r.active);
  if (p.Array(j, "events", path)) {
    const Json& events = j["events"];
    for (size_t i = 0; i < events.size(); ++i) {
      auto e = events[i].is_string() ? core::ParseEvent(events[i].get<std::string>()) : std::nullopt;
      if (!e) {
        p.Add(Index(Join(path, "events"), i),
              "unknown event " + events[i].dump() + " (created, updated, bulk, assign_requested)");
        continue;
      }
      r.events.push_back(*e);
    }
  } else if (!j.contains("events")) {
    p.Add(Join(path, "events"), "a rule needs at least one event");
  }
  std::string cp = Join(path, "conditions");
  if (p.Object(j, "conditions", path)) {
    const Json& c = j["conditions"];
    for (auto it = c.begin(); it != c.end(); ++it) {
      if (it.key() != "all" && it.key() != "any") {
        p.Add(Join(cp, it.key()), "unknown condition set: a rule has at most 2 sets, \"all\" and \"any\"");
      }
    }
    if (c.contains("all")) r.conditions.all = ReadConditionSet(c["all"], Join(cp, "all"), p);
    if (c.contains("any")) r.conditions.any = ReadConditionSet(c["any"], Join(cp, "any"), p);
  }
  if (j.contains("assign")) {
    r.assign = ReadAssignee(j["assign"], Join(path, "assign"), p);
  } else {
    p.Add(Join(path, "assign"), "a rule needs an assignee");
  }
  p.OptString(j, "fallback_user", path, r.fallback_user);
  if (j.contains("actions")) r.actions = ReadActions(j["actions"], Join(path, "actions"), p);
  return r;
}

Json WriteRule(const core::Rule& r) {
  Json events = Json::array();
  for (core::Event e : r.events) events.push_back(core::ToString(e));
  auto set = [](const std::vector<core::Condition>& cs) {
    Json list = Json::array();
    for (const auto& c : cs) {
      Json cj = {{"field", c.field}, {"op", core::ToString(c.op)}};
      if (c.value.shape != core::ConditionValue::Shape::kNone) cj["value"] = WriteConditionValue(c.value);
      list.push_back(cj);
    }
    return list;
  };
  return {{"id", r.id},
          {"name", r.name},
          {"description", r.description},
          {"object_type", core::ToString(r.object_type)},
          {"events", events},
          {"active", r.active},
          {"conditions", {{"all", set(r.conditions.all)}, {"any", set(r.conditions.any)}}},
          {"assign", WriteAssignee(r.assign)},
          {"fallback_user", r.fallback_user ? Json(*r.fallback_user) : Json(nullptr)},
          {"actions", WriteActions(r.actions)}};
}

core::Settings ReadSettings(const Json& j, const std::string& path, Problems& p) {
  core::Settings s;
  p.Unknown(j, {"default_owners", "history_retention_days", "time_zone"}, path);
  if (p.Object(j, "default_owners", path)) {
    const Json& d = j["default_owners"];
    for (auto it = d.begin(); it != d.end(); ++it) {
      std::string dp = Join(path, "default_owners." + it.key());
      auto t = core::ParseObjectType(it.key());
      if (!t) {
        p.Add(dp, "unknown object type \"" + it.key() + "\"");
      } else if (auto id = IdText(it.value())) {
        if (!id->empty()) s.default_owners[*t] = std::move(*id);
      } else if (!it.value().is_null()) {
        p.Add(dp, "a default owner is a user id");
      }
    }
  }
  int64_t days = s.history_retention_days;
  if (p.Int(j, "history_retention_days", path, days)) {
    if (days < 1 || days > 36500) {
      p.Add(Join(path, "history_retention_days"), "must be from 1 to 36500");
    } else {
      s.history_retention_days = static_cast<int>(days);
    }
  }
  p.String(j, "time_zone", path, s.time_zone);
  return s;
}

Json WriteSettings(const core::Settings& s) {
  Json owners = Json::object();
  for (const auto& [t, u] : s.default_owners) owners[std::string(core::ToString(t))] = u;
  return {{"default_owners", owners}, {"history_retention_days", s.history_retention_days}, {"time_zone", s.time_zone}};
}

core::Record ReadRecord(const Json& j, const std::string& path, Problems& p) {
  core::Record r;
  if (j.contains("object_type")) {
    if (auto t = ReadObjectType(j, "object_type", path, p)) r.object_type = *t;
  }
  p.String(j, "id", path, r.id);
  if (auto why = ControlCharProblem(r.id)) p.Add(Join(path, "id"), *why);
  if (p.Object(j, "properties", path)) r.properties = ToProperties(j["properties"]);
  if (p.Object(j, "links", path)) {
    const Json& links = j["links"];
    for (auto it = links.begin(); it != links.end(); ++it) {
      if (auto id = IdText(it.value())) {
        if (auto why = ControlCharProblem(*id)) p.Add(Join(path, "links." + it.key()), *why);
        r.links[it.key()] = std::move(*id);
      } else if (it.value().is_null()) {
        r.links[it.key()] = "";  // unlinked, as "" is: not left out
      } else {
        p.Add(Join(path, "links." + it.key()), "a link is a record id");
      }
    }
  }
  auto strings = [&](const char* key, std::vector<std::string>& out) {
    if (!p.Array(j, key, path)) return;
    const Json& list = j[key];
    for (size_t i = 0; i < list.size(); ++i) {
      if (auto id = IdText(list[i])) {
        out.push_back(std::move(*id));
      } else {
        p.Add(Index(Join(path, key), i), "must be a string");
      }
    }
  };
  strings("owners", r.owners);
  for (size_t i = 0; i < r.owners.size(); ++i) {
    if (auto why = ControlCharProblem(r.owners[i])) p.Add(Index(Join(path, "owners"), i), *why);
  }
  strings("tags", r.tags);
  p.Bool(j, "open", path, r.open);
  return r;
}

core::Record ReadStoredRecord(const Json& j, Problems& p) {
  core::Record r = ReadRecord(j, "", p);
  if (p.Array(j, "notes", "")) {
    const Json& list = j["notes"];
    for (size_t i = 0; i < list.size(); ++i) {
      core::Note n;
      const std::string np = Index("notes", i);
      if (!list[i].is_object()) {
        p.Add(np, "a note is {\"at\", \"text\", \"decision_id\"}");
        continue;
      }
      p.Int(list[i], "at", np, n.at);
      p.String(list[i], "text", np, n.text);
      p.String(list[i], "decision_id", np, n.decision_id);
      r.notes.push_back(std::move(n));
    }
  }
  if (p.Object(j, "source", "")) {
    p.String(j["source"], "connector", "source", r.source_connector);
    p.String(j["source"], "crm_type", "source", r.source_type);
  }
  return r;
}

Json WriteRecord(const core::Record& r) {
  Json links = Json::object();
  for (const auto& [k, v] : r.links) links[k] = v;
  return {{"object_type", core::ToString(r.object_type)},
          {"id", r.id},
          {"properties", FromProperties(r.properties)},
          {"owners", r.owners},
          {"links", links},
          {"tags", r.tags},
          {"open", r.open}};
}

Json WriteStoredRecord(const core::Record& r) {
  Json j = WriteRecord(r);
  if (!r.notes.empty()) {
    Json notes = Json::array();
    for (const core::Note& n : r.notes) notes.push_back({{"at", n.at}, {"text", n.text}, {"decision_id", n.decision_id}});
    j["notes"] = std::move(notes);
  }
  if (!r.source_connector.empty()) j["source"] = {{"connector", r.source_connector}, {"crm_type", r.source_type}};
  return j;
}

Result<core::Config> ReadConfig(const Json& doc) {
  std::vector<Problem> problems;
  core::Config c = ReadConfig(doc, &problems);
  if (!problems.empty()) return Status::Invalid(std::move(problems));
  return c;
}

core::Config ReadConfig(const Json& doc, std::vector<Problem>* problems) {
  Problems p;
  core::Config c;
  if (!doc.is_object()) {
    *problems = {{"", "the config document is a JSON object"}};
    return c;
  }
  c.users = ReadList<core::User>(doc, "users", p, ReadUser);
  c.pools = ReadList<core::Pool>(doc, "pools", p, ReadPool);
  c.distributions = ReadList<core::Distribution>(doc, "distributions", p, ReadDistribution);
  c.rules = ReadList<core::Rule>(doc, "rules", p, ReadRule);
  if (p.Object(doc, "settings", "")) c.settings = ReadSettings(doc["settings"], "settings", p);
  c.records = ReadList<core::Record>(doc, "records", p, [](const Json& j, const std::string& path, Problems& pr) {
    if (!j.contains("object_type")) pr.Add(Join(path, "object_type"), "a record needs an object type");
    return ReadRecord(j, path, pr);
  });
  p.Unknown(doc, {"users", "pools", "distributions", "rules", "settings", "records", "version"}, "");
  // Semantic problems, except where the shape was already wrong.
  *problems = WithMeaning(p.list(), core::Validate(c));
  return c;
}

std::vector<Problem> WithMeaning(const std::vector<Problem>& shape, std::vector<Problem> meaning) {
  // Is `path` `base` or inside it? ("rules[1]" holds "rules[1].id", not "rules[10]".)
  auto within = [](const std::string& path, const std::string& base) {
    if (base.empty()) return true;
    if (path.rfind(base, 0) != 0) return false;
    return path.size() == base.size() || path[base.size()] == '.' || path[base.size()] == '[';
  };
  // `parent.key` → `parent` ("" at the top).
  auto parent = [](const std::string& path, const char* key) -> std::optional<std::string> {
    const std::string tail = std::string(".") + key;
    if (path == key) return "";
    if (path.ends_with(tail)) return path.substr(0, path.size() - tail.size());
    return std::nullopt;
  };
  std::vector<Problem> all = shape;
  for (Problem& sp : meaning) {
    bool covered = false;
    for (const Problem& s : shape) {
      covered = covered || within(sp.path, s.path) || within(s.path, sp.path);
      // An unknown operator makes the value's shape meaningless.
      if (auto cond = parent(s.path, "op")) covered = covered || sp.path == (cond->empty() ? "" : *cond + ".") + "value";
      // An unknown assignee type makes its other fields meaningless.
      if (auto assignee = parent(s.path, "type"); assignee && s.path.ends_with("assign.type")) {
        covered = covered || within(sp.path, *assignee);
      }
    }
    if (!covered) all.push_back(std::move(sp));
  }
  return all;
}

Json WriteConfig(const core::Config& c, bool with_positions) {
  Json doc = Json::object();
  Json users = Json::array(), pools = Json::array(), dists = Json::array(), rules = Json::array(),
       records = Json::array();
  for (const auto& u : c.users) users.push_back(WriteUser(u));
  for (const auto& x : c.pools) pools.push_back(WritePool(x, with_positions));
  for (const auto& d : c.distributions) dists.push_back(WriteDistribution(d));
  for (const auto& r : c.rules) rules.push_back(WriteRule(r));
  for (const auto& r : c.records) records.push_back(WriteRecord(r));
  doc["users"] = users;
  doc["pools"] = pools;
  doc["distributions"] = dists;
  doc["rules"] = rules;
  doc["settings"] = WriteSettings(c.settings);
  if (!c.records.empty()) doc["records"] = records;
  return doc;
}

}  // namespace rota::io
