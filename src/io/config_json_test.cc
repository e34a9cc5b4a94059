#include "io/config_json.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/validate.h"
#include "io/json_util.h"

namespace rota::io {
namespace {

using core::Time;

Time At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return Time{date::sys_days{date::year{y} / date::month{mo} / date::day{d}}} + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

// Every problem ReadConfig reports for `doc` (none when it reads).
std::vector<Problem> ProblemsOf(const Json& doc) {
  auto r = ReadConfig(doc);
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  return r.status().details();
}

std::string Dump(const std::vector<Problem>& ps) {
  std::string s;
  for (const Problem& p : ps) s += "  " + p.path + ": " + p.message + "\n";
  return s;
}

const Problem* Find(const std::vector<Problem>& ps, const std::string& path) {
  for (const Problem& p : ps) {
    if (p.path == path) return &p;
  }
  return nullptr;
}

// Expects a problem at exactly `path` whose message contains `needle`.
#define EXPECT_PROBLEM(ps, path, needle)                                                       \
  do {                                                                                         \
    const auto& all_ = (ps);  /* kept alive for found_ */               \
    const Problem* found_ = Find(all_, path);                                                    \
    ASSERT_NE(found_, nullptr) << "no problem at " << (path) << "; got:\n" << Dump(all_);         \
    EXPECT_NE(found_->message.find(needle), std::string::npos)                                 \
        << (path) << ": " << found_->message << " does not mention " << (needle);              \
  } while (0)

// A small valid document: two users, a lead pool, a deal distribution, one lead rule.
Json Base() {
  return Json::parse(R"({
    "users": [{"id": "u-1", "name": "One"}, {"id": "u-2", "name": "Two"}],
    "pools": [{"id": "north", "name": "North", "object_type": "lead", "members": ["u-1", "u-2"]}],
    "distributions": [{"id": "by-county", "object_type": "deal", "property": "county",
                       "keys": [{"value": "Kent", "owners": [{"user": "u-1", "percent": 100}]}]}],
    "rules": [{"id": "r-1", "object_type": "lead", "events": ["created"],
               "conditions": {"all": [{"field": "source", "op": "eq", "value": "web"}]},
               "assign": {"type": "pool", "pool": "north"}}]
  })");
}

Json Rule(const std::string& id, const std::string& type = "lead", const std::string& event = "created") {
  return {{"id", id},
          {"object_type", type},
          {"events", {event}},
          {"conditions", {{"all", {{{"field", "source"}, {"op", "eq"}, {"value", "web"}}}}}},
          {"assign", {{"type", "user"}, {"user", "u-1"}}}};
}

// A document using every part of the format.
Json Rich() {
  return Json::parse(R"({
    "users": [
      {"id": "u-1", "name": "Anna", "email": "anna@example.com", "active": true,
       "out_of_office": [{"from": "2026-12-24T00:00:00Z", "to": "2027-01-02T00:00:00Z"}],
       "working_hours": {"tz": "Europe/Warsaw",
                         "days": {"mon": ["09:00", "17:00"], "tue": [["08:00", "12:00"], ["13:00", "24:00"]],
                                  "sat": ["00:00", "24:00"], "sun": [], "wed": null}},
       "caps": {"per_day": 20, "max_open": 5}},
      {"id": "u-2", "name": "Ben", "active": false, "caps": {"per_day": 0}},
      {"id": "u-3", "name": "Cleo", "email": "cleo@example.com"},
      {"id": "u-9", "name": "Default"}
    ],
    "pools": [
      {"id": "north", "name": "North", "object_type": "lead", "members": ["u-1", "u-2", "u-3"]},
      {"id": "deals", "name": "Deal desk", "object_type": "deal", "members": ["u-3"]},
      {"id": "empty", "name": "Empty", "object_type": "contact", "members": []}
    ],
    "distributions": [
      {"id": "by-county", "name": "Counties", "object_type": "deal", "property": "county", "default_owner": "u-9",
       "keys": [
         {"value": "Kent", "owners": [{"user": "u-1", "percent": 33.33}, {"user": "u-2", "percent": 33.33},
                                      {"user": "u-3", "percent": 33.34}]},
         {"value": "Kraków", "owners": [{"user": "u-3", "percent": 100}]}
       ]},
      {"id": "by-size", "object_type": "company", "property": "size", "keys": []}
    ],
    "rules": [
      {"id": "big", "name": "Big deals", "description": "Over 100k", "object_type": "deal",
       "events": ["created", "updated"], "active": true,
       "conditions": {"all": [{"field": "amount", "op": "gte", "value": 100000},
                              {"field": "amount", "op": "between", "value": [100000, 2.5e6]},
                              {"field": "vip", "op": "eq", "value": true},
                              {"field": "stage", "op": "changed"}],
                      "any": [{"field": "county", "op": "in", "value": ["Kent", "Surrey"]},
                              {"field": "name", "op": "is_not_empty"}]},
       "assign": {"type": "least_loaded", "pool": "deals"}, "fallback_user": "u-9",
       "actions": {"apply_to_related": ["company", "person"], "related_mode": "add", "tag": "big",
                   "note": "Big one", "notify": true}},
      {"id": "county", "object_type": "deal", "events": ["created"], "active": false,
       "conditions": {"any": [{"field": "county", "op": "is_not_empty"}]},
       "assign": {"type": "distribution", "distribution": "by-county"},
       "actions": {"apply_to_related": ["company"], "related_mode": "replace"}},
      {"id": "leads", "object_type": "lead", "events": ["created", "assign_requested"],
       "conditions": {"all": [{"field": "source", "op": "not_in", "value": ["spam"]},
                              {"field": "email", "op": "ends_with", "value": ".pl"},
                              {"field": "score", "op": "lt", "value": -1.5}]},
       "assign": {"type": "pool", "pool": "north"}},
      {"id": "by-field", "object_type": "contact", "events": ["bulk"],
       "conditions": {"all": [{"field": "owner_email", "op": "changed_to", "value": "x@example.com"}]},
       "assign": {"type": "field", "field": "owner_email"}},
      {"id": "follow-company", "object_type": "contact", "events": ["created"],
       "conditions": {"all": [{"field": "company", "op": "is_not_empty"}]},
       "assign": {"type": "related_owner", "relation": "company"}},
      {"id": "to-anna", "object_type": "task", "events": ["created"],
       "conditions": {"all": [{"field": "kind", "op": "neq", "value": "call"}]},
       "assign": {"type": "user", "user": "u-1"}}
    ],
    "settings": {"default_owners": {"deal": "u-9", "lead": "u-1"}, "history_retention_days": 90,
                 "time_zone": "Europe/London"},
    "records": [
      {"object_type": "company", "id": "C-1", "properties": {"name": "Acme", "size": 120, "listed": false,
                                                             "founded": null, "ratio": 0.25},
       "owners": ["u-9"], "links": {}, "open": true},
      {"object_type": "deal", "id": "D-1", "properties": {"county": "Kent"},
       "links": {"company": "C-1", "person": "P-1"}, "owners": ["u-1", "u-2"], "open": false, "tags": ["rota"]}
    ]
  })");
}

void ExpectSameConfig(const core::Config& a, const core::Config& b) {
  EXPECT_EQ(a.users, b.users);
  EXPECT_EQ(a.pools, b.pools);
  EXPECT_EQ(a.distributions, b.distributions);
  EXPECT_EQ(a.rules, b.rules);
  EXPECT_EQ(a.settings, b.settings);
  EXPECT_EQ(a.records, b.records);
}

// --- round trip -----------------------------------------------------------------------------

TEST(ConfigJsonTest, RichDocumentReads) {
  auto c = ReadConfig(Rich());
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  ASSERT_EQ(c->users.size(), 4u);
  const core::User& anna = c->users[0];
  EXPECT_EQ(anna.email, "anna@example.com");
  ASSERT_EQ(anna.out_of_office.size(), 1u);
  EXPECT_EQ(anna.out_of_office[0].from, At(2026, 12, 24));
  EXPECT_EQ(anna.out_of_office[0].to, At(2027, 1, 2));
  ASSERT_TRUE(anna.working_hours);
  EXPECT_EQ(anna.working_hours->tz, "Europe/Warsaw");
  EXPECT_EQ(anna.working_hours->days[1], (std::vector<std::pair<int, int>>{{540, 1020}}));
  EXPECT_EQ(anna.working_hours->days[2], (std::vector<std::pair<int, int>>{{480, 720}, {780, 1440}}));
  EXPECT_EQ(anna.working_hours->days[6], (std::vector<std::pair<int, int>>{{0, 1440}}));
  EXPECT_TRUE(anna.working_hours->days[0].empty());  // "sun": [] — no hours that day
  EXPECT_TRUE(anna.working_hours->days[3].empty());  // "wed": null
  EXPECT_EQ(anna.caps.per_day, 20);
  EXPECT_EQ(anna.caps.max_open, 5);
  EXPECT_FALSE(c->users[1].active);
  EXPECT_EQ(c->users[1].caps.per_day, 0);
  EXPECT_FALSE(c->users[1].caps.max_open);
  EXPECT_FALSE(c->users[2].working_hours);

  ASSERT_EQ(c->pools[0].members.size(), 3u);
  EXPECT_EQ(c->pools[0].members[2], (core::PoolMember{"u-3", 3}));
  EXPECT_EQ(c->distributions[0].default_owner, "u-9");
  EXPECT_DOUBLE_EQ(c->distributions[0].keys[0].owners[2].percent, 33.34);
  EXPECT_FALSE(c->distributions[1].default_owner);

  const core::Rule& big = c->rules[0];
  EXPECT_EQ(big.object_type, core::ObjectType::kDeal);
  EXPECT_EQ(big.events, (std::vector<core::Event>{core::Event::kCreated, core::Event::kUpdated}));
  ASSERT_EQ(big.conditions.all.size(), 4u);
  EXPECT_EQ(big.conditions.all[0].op, core::Op::kGte);
  EXPECT_EQ(big.conditions.all[0].value.shape, core::ConditionValue::Shape::kScalar);
  EXPECT_EQ(big.conditions.all[1].value.shape, core::ConditionValue::Shape::kList);
  EXPECT_EQ(big.conditions.all[2].value.items[0], core::Value::Bool(true));
  EXPECT_EQ(big.conditions.all[3].value.shape, core::ConditionValue::Shape::kNone);
  EXPECT_EQ(big.assign.type, core::Assignee::Type::kLeastLoaded);
  EXPECT_EQ(big.assign.ref, "deals");
  EXPECT_EQ(big.fallback_user, "u-9");
  EXPECT_EQ(big.actions.apply_to_related, (std::vector<core::Relation>{core::Relation::kCompany, core::Relation::kPerson}));
  EXPECT_EQ(big.actions.related_mode, core::RelatedMode::kAdd);
  EXPECT_TRUE(big.actions.notify);
  EXPECT_FALSE(c->rules[1].active);
  EXPECT_EQ(c->rules[4].assign.relation, core::Relation::kCompany);

  EXPECT_EQ(c->settings.default_owners.at(core::ObjectType::kDeal), "u-9");
  EXPECT_EQ(c->settings.history_retention_days, 90);
  EXPECT_EQ(c->settings.time_zone, "Europe/London");

  ASSERT_EQ(c->records.size(), 2u);
  EXPECT_EQ(c->records[0].properties.at("size").kind, core::Value::Kind::kNumber);
  EXPECT_EQ(c->records[0].properties.at("listed"), core::Value::Bool(false));
  EXPECT_EQ(c->records[0].properties.at("founded"), core::Value::Null());
  EXPECT_EQ(c->records[1].links.at("person"), "P-1");
  EXPECT_FALSE(c->records[1].open);
  EXPECT_EQ(c->records[1].tags, std::vector<std::string>{"rota"});
}

TEST(ConfigJsonTest, RoundTripRichConfig) {
  auto c = ReadConfig(Rich());
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  Json written = WriteConfig(*c);
  auto again = ReadConfig(written);
  ASSERT_TRUE(again.ok()) << Dump(again.status().details()) << written.dump(2);
  ExpectSameConfig(*again, *c);
  // And writing is stable.
  EXPECT_EQ(WriteConfig(*again), written);
  // Through text, too.
  auto parsed = ParseJson(written.dump());
  ASSERT_TRUE(parsed.ok());
  auto from_text = ReadConfig(*parsed);
  ASSERT_TRUE(from_text.ok());
  ExpectSameConfig(*from_text, *c);
}

TEST(ConfigJsonTest, RoundTripEmptyConfig) {
  auto c = ReadConfig(Json::object());
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  Json written = WriteConfig(*c);
  EXPECT_FALSE(written.contains("records"));
  auto again = ReadConfig(written);
  ASSERT_TRUE(again.ok());
  ExpectSameConfig(*again, *c);
}

TEST(ConfigJsonTest, WrittenShapesFollowApi) {
  auto c = ReadConfig(Rich());
  ASSERT_TRUE(c.ok());
  Json doc = WriteConfig(*c);
  // pools[].members: user ids in serving order.
  EXPECT_EQ(doc["pools"][0]["members"], Json({"u-1", "u-2", "u-3"}));
  // distributions[].keys: [{"value", "owners": [{"user", "percent"}]}].
  EXPECT_EQ(doc["distributions"][0]["keys"][1], Json::parse(R"({"value": "Kraków", "owners": [{"user": "u-3", "percent": 100.0}]})"));
  EXPECT_EQ(doc["rules"][0]["assign"], Json::parse(R"({"type": "least_loaded", "pool": "deals"})"));
  EXPECT_EQ(doc["rules"][4]["assign"], Json::parse(R"({"type": "related_owner", "relation": "company"})"));
  EXPECT_EQ(doc["rules"][0]["conditions"]["all"][0], Json::parse(R"({"field": "amount", "op": "gte", "value": 100000})"));
  EXPECT_FALSE(doc["rules"][0]["conditions"]["all"][3].contains("value"));  // "changed" takes none
  EXPECT_EQ(doc["users"][0]["working_hours"]["days"]["tue"], Json::parse(R"([["08:00", "12:00"], ["13:00", "24:00"]])"));
  EXPECT_EQ(doc["users"][0]["working_hours"]["days"]["mon"], Json::parse(R"(["09:00", "17:00"])"));
  EXPECT_EQ(doc["users"][0]["out_of_office"][0]["from"], "2026-12-24T00:00:00Z");
  EXPECT_EQ(doc["settings"]["default_owners"], Json::parse(R"({"deal": "u-9", "lead": "u-1"})"));
  EXPECT_EQ(doc["records"][1]["links"], Json::parse(R"({"company": "C-1", "person": "P-1"})"));
}

TEST(ConfigJsonTest, ExampleFileReads) {
  // The shipped example must stay valid.
  std::string here = __FILE__;  // …/src/io/config_json_test.cc
  std::string root = here.substr(0, here.rfind("src/io/"));
  std::ifstream in(root + "examples/config.json");
  ASSERT_TRUE(in) << "examples/config.json not found";
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ParseJson(ss.str());
  ASSERT_TRUE(doc.ok());
  auto c = ReadConfig(*doc);
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  EXPECT_EQ(c->rules.size(), 3u);
}

// --- shape problems -------------------------------------------------------------------------

TEST(ConfigJsonTest, NotAnObject) {
  auto r = ReadConfig(Json::array());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
}

TEST(ConfigJsonTest, ReportsEveryShapeProblemAtOnce) {
  Json doc = Base();
  doc["users"][1]["active"] = "yes";
  doc["users"][1]["caps"] = {{"per_day", 1.5}};
  doc["pools"][0]["members"][1] = true;
  doc["distributions"][0]["keys"][0]["owners"][0]["percent"] = "100";
  doc["rules"][0]["events"] = {"created", "deleted"};
  doc["rules"][0]["assign"] = {{"type", "robin"}};
  doc["rules"][0]["conditions"]["none"] = Json::array();
  doc["rules"][0]["conditions"]["all"][0]["extra"] = 1;
  doc["settings"] = {{"history_retention_days", "thirty"}, {"default_owners", {{"ticket", "u-1"}}}};
  doc["rulez"] = Json::array();
  doc["records"] = {{{"id", "R-1"}}, 5};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "users[1].active", "true or false");
  EXPECT_PROBLEM(ps, "users[1].caps.per_day", "whole number");
  EXPECT_PROBLEM(ps, "pools[0].members[1]", "user id");
  EXPECT_PROBLEM(ps, "distributions[0].keys[0].owners[0].percent", "percentage");
  EXPECT_PROBLEM(ps, "rules[0].events[1]", "unknown event \"deleted\"");
  EXPECT_PROBLEM(ps, "rules[0].assign.type", "unknown assignee type \"robin\"");
  EXPECT_EQ(Find(ps, "rules[0].assign.user"), nullptr) << Dump(ps);  // nothing more about that assignee
  EXPECT_PROBLEM(ps, "rules[0].conditions.none", "unknown condition set");
  EXPECT_PROBLEM(ps, "rules[0].conditions.all[0].extra", "unknown field");
  EXPECT_PROBLEM(ps, "settings.history_retention_days", "whole number");
  EXPECT_PROBLEM(ps, "settings.default_owners.ticket", "unknown object type");
  EXPECT_PROBLEM(ps, "rulez", "unknown field");
  EXPECT_PROBLEM(ps, "records[0].object_type", "object type");
  EXPECT_PROBLEM(ps, "records[1]", "object");
  EXPECT_GE(ps.size(), 13u) << Dump(ps);
}

TEST(ConfigJsonTest, WrongContainerTypes) {
  Json doc = {{"users", {{"id", "u-1"}}}, {"pools", "north"}, {"rules", {1, 2}}, {"settings", Json::array()}};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "users", "must be a list");
  EXPECT_PROBLEM(ps, "pools", "must be a list");
  EXPECT_PROBLEM(ps, "rules[0]", "must be an object");
  EXPECT_PROBLEM(ps, "rules[1]", "must be an object");
  EXPECT_PROBLEM(ps, "settings", "must be an object");
}

TEST(ConfigJsonTest, MissingAndUnknownObjectTypes) {
  Json doc = Base();
  doc["pools"][0].erase("object_type");
  doc["distributions"][0]["object_type"] = "ticket";
  doc["rules"][0]["object_type"] = 3;
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "pools[0].object_type", "an object type is required");
  EXPECT_PROBLEM(ps, "distributions[0].object_type", "unknown object type \"ticket\"");
  EXPECT_PROBLEM(ps, "rules[0].object_type", "object type");
}

// A misspelt field anywhere in the document is refused where it is, not dropped: a
// reviewed file's "priorty" or "fallback" would otherwise change nothing without a word.
TEST(ConfigJsonTest, MisspeltFieldsAreRefusedWhereTheyAre) {
  Json doc = Rich();
  doc["users"][0]["nmae"] = "x";
  doc["users"][0]["caps"]["per_dya"] = 3;
  doc["users"][0]["working_hours"]["timezone"] = "UTC";
  doc["users"][0]["out_of_office"][0]["until"] = "2027-01-01T00:00:00Z";
  doc["pools"][0]["memebrs"] = Json::array();
  doc["distributions"][0]["propery"] = "x";
  doc["distributions"][0]["keys"][0]["val"] = "x";
  doc["distributions"][0]["keys"][0]["owners"][0]["pct"] = 5;
  doc["rules"][0]["priorty"] = 1;
  doc["rules"][0]["fallback"] = "u-1";
  doc["rules"][0]["assign"]["users"] = "u-1";
  doc["settings"]["timezone"] = "UTC";
  auto ps = ProblemsOf(doc);
  for (const char* path :
       {"users[0].nmae", "users[0].caps.per_dya", "users[0].working_hours.timezone", "users[0].out_of_office[0].until",
        "pools[0].memebrs", "distributions[0].propery", "distributions[0].keys[0].val",
        "distributions[0].keys[0].owners[0].pct", "rules[0].priorty", "rules[0].fallback", "rules[0].assign.users",
        "settings.timezone"}) {
    EXPECT_PROBLEM(ps, path, "unknown field");
  }
  EXPECT_EQ(ps.size(), 12u) << Dump(ps);
}

// What GET adds to an object (a pool's next member, a key's counts, a rule's priority)
// is read-only and accepted back: an object read, changed and sent again is not refused.
TEST(ConfigJsonTest, WhatGetAddsIsAcceptedBack) {
  Json doc = Base();
  doc["pools"][0]["next"] = "u-1";
  doc["pools"][0]["last_position"] = 2;
  doc["pools"][0]["members"] = Json::parse(R"([{"user": "u-1", "position": 1}, {"user": "u-2", "position": 2}])");
  doc["distributions"][0]["unkeyed_values"] = Json::array({"Essex"});
  doc["distributions"][0]["keys"][0]["owners"][0]["assigned"] = 7;
  doc["rules"][0]["priority"] = 1;
  EXPECT_TRUE(ProblemsOf(doc).empty()) << Dump(ProblemsOf(doc));
  doc["pools"][0]["members"][0]["positon"] = 1;
  EXPECT_PROBLEM(ProblemsOf(doc), "pools[0].members[0].positon", "unknown field");
}

TEST(ConfigJsonTest, UnknownOperatorPathIsExact) {
  Json doc = Base();
  doc["rules"][0]["conditions"]["all"][0]["op"] = "equals";
  auto ps = ProblemsOf(doc);
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);  // no extra complaint about the value's shape
  EXPECT_EQ(ps[0].path, "rules[0].conditions.all[0].op");
  EXPECT_EQ(ps[0].message, "unknown operator \"equals\"");
}

TEST(ConfigJsonTest, UnknownOperatorDeepPath) {
  Json doc = Base();
  doc["users"].push_back({{"id", "u-3"}});
  for (int i = 1; i <= 3; ++i) doc["rules"].push_back(Rule("r-" + std::to_string(i + 1)));
  doc["rules"][3]["conditions"]["all"] = {{{"field", "a"}, {"op", "eq"}, {"value", 1}},
                                          {{"field", "b"}, {"op", "eq"}, {"value", 2}},
                                          {{"field", "c"}, {"op", "equals"}, {"value", 3}}};
  auto ps = ProblemsOf(doc);
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);
  EXPECT_EQ(ps[0].path + ": " + ps[0].message, "rules[3].conditions.all[2].op: unknown operator \"equals\"");
}

TEST(ConfigJsonTest, MissingOperatorAndField) {
  Json doc = Base();
  doc["rules"][0]["conditions"]["any"] = {{{"field", "x"}}, {{"op", "eq"}, {"value", 1}}, "source = web"};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "rules[0].conditions.any[0].op", "needs an operator");
  EXPECT_PROBLEM(ps, "rules[0].conditions.any[1].field", "needs a field");
  EXPECT_PROBLEM(ps, "rules[0].conditions.any[2]", "a condition is");
}

TEST(ConfigJsonTest, WrongValueShapes) {
  Json doc = Base();
  doc["rules"][0]["conditions"]["all"] = Json::parse(R"([
    {"field": "a", "op": "in", "value": "web"},
    {"field": "a", "op": "between", "value": [1, 2, 3]},
    {"field": "a", "op": "is_empty", "value": "x"},
    {"field": "a", "op": "eq", "value": ["x", "y"]},
    {"field": "a", "op": "eq"},
    {"field": "a", "op": "gte", "value": {"n": 1}},
    {"field": "a", "op": "not_in", "value": []},
    {"field": "a", "op": "in", "value": [["x"]]},
    {"field": "a", "op": "between", "value": [1, null]},
    {"field": "a", "op": "in", "value": ["ok", "fine"]},
    {"field": "a", "op": "between", "value": [1, 5]},
    {"field": "a", "op": "changed"}
  ])");
  auto ps = ProblemsOf(doc);
  const std::string all = "rules[0].conditions.all";
  EXPECT_PROBLEM(ps, all + "[0].value", "\"in\" takes a list");
  EXPECT_PROBLEM(ps, all + "[1].value", "\"between\" takes a list [low, high]");
  EXPECT_PROBLEM(ps, all + "[2].value", "\"is_empty\" takes no value");
  EXPECT_PROBLEM(ps, all + "[3].value", "\"eq\" takes one value");
  EXPECT_PROBLEM(ps, all + "[4].value", "\"eq\" takes one value");
  EXPECT_PROBLEM(ps, all + "[5].value", "\"gte\" takes one value");
  EXPECT_EQ(Find(ps, all + "[6].value"), nullptr) << Dump(ps);  // [] is a list: not_in [] holds for every value
  EXPECT_PROBLEM(ps, all + "[7].value", "\"in\" takes a list");
  EXPECT_PROBLEM(ps, all + "[8].value", "\"between\"");
  EXPECT_EQ(Find(ps, all + "[9].value"), nullptr) << Dump(ps);
  EXPECT_EQ(Find(ps, all + "[10].value"), nullptr) << Dump(ps);
  EXPECT_EQ(Find(ps, all + "[11].value"), nullptr) << Dump(ps);
  EXPECT_EQ(ps.size(), 8u) << Dump(ps);
}

TEST(ConfigJsonTest, AssigneeShapes) {
  Json doc = Base();
  for (int i = 0; i < 6; ++i) doc["rules"].push_back(Rule("x-" + std::to_string(i)));
  doc["rules"][1]["assign"] = {{"type", "user"}};
  doc["rules"][2]["assign"] = {{"type", "pool"}, {"pool", ""}};
  doc["rules"][3]["assign"] = {{"type", "related_owner"}, {"relation", "parent"}};
  doc["rules"][4]["assign"] = "u-1";
  doc["rules"][5].erase("assign");
  doc["rules"][6]["assign"] = {{"type", "distribution"}, {"distribution", 12}};  // a number id
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "rules[1].assign.user", "needs \"user\"");
  EXPECT_PROBLEM(ps, "rules[2].assign.pool", "needs \"pool\"");
  EXPECT_PROBLEM(ps, "rules[3].assign.relation", "\"company\" or \"person\"");
  EXPECT_PROBLEM(ps, "rules[4].assign", "assignee");
  EXPECT_PROBLEM(ps, "rules[5].assign", "needs an assignee");
  EXPECT_PROBLEM(ps, "rules[6].assign.distribution", "unknown distribution \"12\"");
}

TEST(ConfigJsonTest, ActionShapes) {
  Json doc = Base();
  doc["rules"][0]["actions"] = {{"apply_to_related", {"company", "owner"}}, {"related_mode", "merge"}, {"notify", "yes"}};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "rules[0].actions.apply_to_related[1]", "\"company\" or \"person\"");
  EXPECT_PROBLEM(ps, "rules[0].actions.related_mode", "\"add\" or \"replace\"");
  EXPECT_PROBLEM(ps, "rules[0].actions.notify", "true or false");
  doc["rules"][0]["actions"] = {{"apply_to_related", {"company", "company"}}};
  ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "rules[0].actions.apply_to_related", "twice");
  // A misspelt action is refused, not dropped.
  doc["rules"][0]["actions"] = {{"notfy", true}, {"tag", "hot"}};
  ps = ProblemsOf(doc);
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);
  EXPECT_PROBLEM(ps, "rules[0].actions.notfy", "unknown field");
}

TEST(ConfigJsonTest, RuleEvents) {
  Json doc = Base();
  doc["rules"][0].erase("events");
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].events", "at least one event");
  doc["rules"][0]["events"] = Json::array();
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].events", "at least one event");
  doc["rules"][0]["events"] = {"created", "created"};
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].events", "listed twice");
  doc["rules"][0]["events"] = "created";
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].events", "must be a list");
}

TEST(ConfigJsonTest, DuplicateIds) {
  Json doc = Base();
  doc["users"].push_back({{"id", "u-1"}});
  doc["rules"].push_back(Rule("r-1"));
  doc["pools"].push_back({{"id", "north"}, {"object_type", "lead"}, {"members", Json::array()}});
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "users[2].id", "duplicate user id \"u-1\"");
  EXPECT_PROBLEM(ps, "rules[1].id", "duplicate rule id \"r-1\"");
  EXPECT_PROBLEM(ps, "pools[1].id", "duplicate pool id \"north\"");
}

// A bad item does not shift the paths of the problems found after it.
TEST(ConfigJsonTest, PathsStayAlignedPastBadItems) {
  Json doc = Base();
  doc["rules"] = Json::array({"not a rule", Rule("r-1"), Rule("r-2")});
  doc["rules"][2]["assign"] = {{"type", "user"}, {"user", "ghost"}};
  doc["rules"][1]["conditions"]["all"] = Json::parse(R"([
    "junk", {"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "in", "value": "x"}])");
  doc["pools"][0]["members"] = Json::array({true, "u-1", "nobody"});
  doc["distributions"][0]["keys"] = Json::parse(R"([
    "junk", {"value": "Kent", "owners": [5, {"user": "u-1", "percent": 100}, {"user": "u-x", "percent": 0.001}]}])");
  doc["users"][0]["out_of_office"] = Json::parse(R"([
    "junk", {"from": "later"}, {"from": "2026-12-27T00:00:00Z", "to": "2026-12-24T00:00:00Z"},
    {"from": "2027-01-05T10:00:00.500Z", "to": "2027-01-05T11:00:00.000+01:00"}])");
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "rules[0]", "must be an object");
  EXPECT_PROBLEM(ps, "rules[2].assign.user", "unknown user \"ghost\"");
  EXPECT_PROBLEM(ps, "rules[1].conditions.all[0]", "a condition is");
  EXPECT_PROBLEM(ps, "rules[1].conditions.all[2].value", "\"in\" takes a list");
  EXPECT_PROBLEM(ps, "pools[0].members[0]", "user id");
  EXPECT_PROBLEM(ps, "pools[0].members[2]", "unknown user \"nobody\"");
  EXPECT_PROBLEM(ps, "distributions[0].keys[0]", "a key is");
  EXPECT_PROBLEM(ps, "distributions[0].keys[1].owners[0]", "an owner is");
  EXPECT_PROBLEM(ps, "distributions[0].keys[1].owners[2].user", "unknown user \"u-x\"");
  EXPECT_PROBLEM(ps, "users[0].out_of_office[0]", "an absence is");
  EXPECT_PROBLEM(ps, "users[0].out_of_office[1].from", "RFC 3339");
  EXPECT_PROBLEM(ps, "users[0].out_of_office[2]", "\"from\" must be before \"to\"");
  // Decisions are timed to the second; zeros after it are whole seconds all the same.
  EXPECT_PROBLEM(ps, "users[0].out_of_office[3].from", "a time in whole seconds, got \"2027-01-05T10:00:00.500Z\"");
  EXPECT_EQ(Find(ps, "users[0].out_of_office[3].to"), nullptr) << Dump(ps);
  // The placeholders kept for bad items add no problems of their own.
  EXPECT_EQ(Find(ps, "rules[0].id"), nullptr) << Dump(ps);
  EXPECT_EQ(Find(ps, "rules[1].conditions.all[0].field"), nullptr) << Dump(ps);
  EXPECT_EQ(Find(ps, "rules[1].conditions.all[1].value"), nullptr) << Dump(ps);
  EXPECT_EQ(Find(ps, "pools[0].members[1]"), nullptr) << Dump(ps);
  EXPECT_EQ(ps.size(), 14u) << Dump(ps);
}

// "rules[1]" covers problems inside rules[1], not those of rules[10].
TEST(ConfigJsonTest, ShapeProblemHidesOnlyItsOwnItem) {
  Json doc = Base();
  doc["rules"] = Json::array();
  for (int i = 0; i < 11; ++i) doc["rules"].push_back(Rule("r-" + std::to_string(i)));
  doc["rules"][1]["active"] = "no";
  doc["rules"][10]["assign"] = {{"type", "user"}, {"user", "ghost"}};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "rules[1].active", "true or false");
  EXPECT_PROBLEM(ps, "rules[10].assign.user", "unknown user \"ghost\"");
}

// --- limits ---------------------------------------------------------------------------------

TEST(ConfigJsonTest, FiftyRulesPerTypeAndEventAreAllowed) {
  Json doc = Base();
  doc["rules"] = Json::array();
  for (int i = 0; i < 50; ++i) doc["rules"].push_back(Rule("r-" + std::to_string(i)));
  // Other types and events do not count towards lead/created.
  doc["rules"].push_back(Rule("d-1", "deal"));
  doc["rules"].push_back(Rule("u-1", "lead", "updated"));
  auto ps = ProblemsOf(doc);
  EXPECT_TRUE(ps.empty()) << Dump(ps);
}

TEST(ConfigJsonTest, FiftyOneRulesPerTypeAndEventAreRefused) {
  Json doc = Base();
  doc["rules"] = Json::array();
  for (int i = 0; i < 51; ++i) {
    Json r = Rule("r-" + std::to_string(i));
    if (i % 2) r["active"] = false;  // active or not, all count
    doc["rules"].push_back(r);
  }
  auto ps = ProblemsOf(doc);
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);
  EXPECT_EQ(ps[0].path, "rules[50]");
  EXPECT_NE(ps[0].message.find("more than 50 rules for lead records on \"created\""), std::string::npos)
      << ps[0].message;
}

TEST(ConfigJsonTest, ConditionsPerSetLimit) {
  Json doc = Base();
  Json set = Json::array();
  for (int i = 0; i < 160; ++i) set.push_back({{"field", "f" + std::to_string(i)}, {"op", "is_not_empty"}});
  doc["rules"][0]["conditions"] = {{"all", set}, {"any", set}};
  EXPECT_TRUE(ProblemsOf(doc).empty()) << Dump(ProblemsOf(doc));
  set.push_back({{"field", "f160"}, {"op", "is_empty"}});
  doc["rules"][0]["conditions"] = {{"any", set}};
  auto ps = ProblemsOf(doc);
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);
  EXPECT_EQ(ps[0].path, "rules[0].conditions.any");
  EXPECT_NE(ps[0].message.find("at most 160 conditions"), std::string::npos) << ps[0].message;
  EXPECT_NE(ps[0].message.find("161"), std::string::npos) << ps[0].message;
}

TEST(ConfigJsonTest, ZeroConditionsRefused) {
  Json doc = Base();
  doc["rules"][0]["conditions"] = {{"all", Json::array()}, {"any", Json::array()}};
  auto ps = ProblemsOf(doc);
  ASSERT_EQ(ps.size(), 1u) << Dump(ps);
  EXPECT_EQ(ps[0].path, "rules[0].conditions");
  EXPECT_NE(ps[0].message.find("at least one condition"), std::string::npos);
  doc["rules"][0].erase("conditions");
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].conditions", "at least one condition");
  doc["rules"][0]["conditions"] = Json::object();
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].conditions", "at least one condition");
}

TEST(ConfigJsonTest, ConditionSetNotAList) {
  Json doc = Base();
  doc["rules"][0]["conditions"] = {{"all", {{"field", "a"}, {"op", "eq"}, {"value", 1}}}};
  EXPECT_PROBLEM(ProblemsOf(doc), "rules[0].conditions.all", "list of conditions");
}

// --- references -----------------------------------------------------------------------------

// Join positions (GET's shape) from 1 to 2^53 - 1: one at int64_t's limit made the next
// member's position overflow.
TEST(ConfigJsonTest, JoinPositionsAreBounded) {
  Json doc = Base();
  doc["pools"][0]["members"] = {{{"user", "u-1"}, {"position", 9223372036854775807LL}}, "u-2"};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "pools[0].members[0].position", "from 1 to 9007199254740991");
  for (const Json& bad : {Json(0), Json(-3), Json(9007199254740992ULL), Json(18446744073709551615ULL)}) {
    doc["pools"][0]["members"] = {{{"user", "u-1"}, {"position", bad}}, "u-2"};
    EXPECT_PROBLEM(ProblemsOf(doc), "pools[0].members[0].position", "from 1 to");
  }
  doc["pools"][0]["members"] = {{{"user", "u-1"}, {"position", 9007199254740991LL}}, "u-2"};
  EXPECT_TRUE(ProblemsOf(doc).empty()) << Dump(ProblemsOf(doc));
}

TEST(ConfigJsonTest, UnknownUsersAndPoolsReferenced) {
  Json doc = Base();
  doc["pools"][0]["members"] = {"u-1", "ghost", "u-1"};
  doc["distributions"][0]["default_owner"] = "nobody";
  doc["distributions"][0]["keys"][0]["owners"] = {{{"user", "u-1"}, {"percent", 50}}, {{"user", "u-x"}, {"percent", 50}}};
  doc["rules"].push_back(Rule("r-user"));
  doc["rules"][1]["assign"] = {{"type", "user"}, {"user", "u-zz"}};
  doc["rules"][1]["fallback_user"] = "u-fb";
  doc["rules"].push_back(Rule("r-pool"));
  doc["rules"][2]["assign"] = {{"type", "pool"}, {"pool", "south"}};
  doc["rules"].push_back(Rule("r-ll"));
  doc["rules"][3]["assign"] = {{"type", "least_loaded"}, {"pool", "west"}};
  doc["rules"].push_back(Rule("r-dist"));
  doc["rules"][4]["assign"] = {{"type", "distribution"}, {"distribution", "by-size"}};
  doc["rules"].push_back(Rule("r-other-type", "deal"));
  doc["rules"][5]["assign"] = {{"type", "pool"}, {"pool", "north"}};  // a lead pool for deals
  doc["rules"].push_back(Rule("r-other-dist"));
  doc["rules"][6]["assign"] = {{"type", "distribution"}, {"distribution", "by-county"}};  // deal keys for leads
  doc["settings"] = {{"default_owners", {{"deal", "u-404"}}}};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "pools[0].members[1]", "unknown user \"ghost\"");
  EXPECT_PROBLEM(ps, "pools[0].members[2]", "twice");
  EXPECT_PROBLEM(ps, "distributions[0].default_owner", "unknown user \"nobody\"");
  EXPECT_PROBLEM(ps, "distributions[0].keys[0].owners[1].user", "unknown user \"u-x\"");
  EXPECT_PROBLEM(ps, "rules[1].assign.user", "unknown user \"u-zz\"");
  EXPECT_PROBLEM(ps, "rules[1].fallback_user", "unknown user \"u-fb\"");
  EXPECT_PROBLEM(ps, "rules[2].assign.pool", "unknown pool \"south\"");
  EXPECT_PROBLEM(ps, "rules[3].assign.pool", "unknown pool \"west\"");
  EXPECT_PROBLEM(ps, "rules[4].assign.distribution", "unknown distribution \"by-size\"");
  EXPECT_PROBLEM(ps, "rules[5].assign.pool", "is for lead records");
  EXPECT_PROBLEM(ps, "rules[6].assign.distribution", "is for deal records");
  EXPECT_PROBLEM(ps, "settings.default_owners.deal", "unknown user \"u-404\"");
  EXPECT_EQ(ps.size(), 12u) << Dump(ps);
}

TEST(ConfigJsonTest, UnknownTimeZones) {
  Json doc = Base();
  doc["users"][0]["working_hours"] = {{"tz", "Mars/Olympus"}, {"days", {{"mon", {"09:00", "17:00"}}}}};
  doc["settings"] = {{"time_zone", "Nowhere/City"}};
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "users[0].working_hours.tz", "unknown time zone \"Mars/Olympus\"");
  EXPECT_PROBLEM(ps, "settings.time_zone", "unknown time zone \"Nowhere/City\"");
}

// --- percents -------------------------------------------------------------------------------

TEST(ConfigJsonTest, PercentsMustAddTo100) {
  Json doc = Base();
  doc["distributions"][0]["keys"] = Json::parse(R"([
    {"value": "Kent", "owners": [{"user": "u-1", "percent": 50}, {"user": "u-2", "percent": 30}]},
    {"value": "Surrey", "owners": [{"user": "u-1", "percent": 60}, {"user": "u-2", "percent": 60}]},
    {"value": "Essex", "owners": [{"user": "u-1", "percent": 33.33}, {"user": "u-2", "percent": 66.67}]},
    {"value": "Devon", "owners": [{"user": "u-1", "percent": 0}, {"user": "u-2", "percent": 100}]},
    {"value": "Cork", "owners": [{"user": "u-1", "percent": 101}]},
    {"value": "Bath", "owners": []},
    {"value": "kent", "owners": [{"user": "u-1", "percent": 100}]},
    {"value": "Leeds", "owners": [{"user": "u-1", "percent": 50}, {"user": "u-1", "percent": 50}]},
    {"value": "York", "owners": [{"user": "u-1", "percent": 50.0101}, {"user": "u-2", "percent": 50}]},
    {"value": "K\u0000nt", "owners": [{"user": "u-1", "percent": 100}]}
  ])");
  auto ps = ProblemsOf(doc);
  const std::string k = "distributions[0].keys";
  EXPECT_PROBLEM(ps, k + "[9].value", "holds no control characters");
  EXPECT_PROBLEM(ps, k + "[0].owners", "add up to 80, not 100");
  EXPECT_PROBLEM(ps, k + "[1].owners", "add up to 120, not 100");
  EXPECT_PROBLEM(ps, k + "[8].owners", "add up to 100.0101, not 100");  // not rounded into the tolerance
  EXPECT_EQ(Find(ps, k + "[2].owners"), nullptr) << Dump(ps);
  EXPECT_PROBLEM(ps, k + "[3].owners[0].percent", "more than 0");
  EXPECT_PROBLEM(ps, k + "[4].owners[0].percent", "at most 100");
  EXPECT_PROBLEM(ps, k + "[5].owners", "at least one owner");
  EXPECT_PROBLEM(ps, k + "[6].value", "duplicate key value");
  EXPECT_PROBLEM(ps, k + "[7].owners[1].user", "twice");
}

TEST(ConfigJsonTest, KeyOwnerShapes) {
  Json doc = Base();
  doc["distributions"][0]["keys"] = Json::parse(R"([
    {"value": "A", "owners": "u-1"},
    {"value": "B", "owners": [{"user": "u-1"}]},
    {"value": "C", "owners": ["u-1"]},
    "D"
  ])");
  auto ps = ProblemsOf(doc);
  const std::string k = "distributions[0].keys";
  EXPECT_PROBLEM(ps, k + "[0].owners", "list");
  EXPECT_PROBLEM(ps, k + "[1].owners[0].percent", "percentage");
  EXPECT_PROBLEM(ps, k + "[2].owners[0]", "an owner is");
  EXPECT_PROBLEM(ps, k + "[3]", "a key is");
}

// --- working hours --------------------------------------------------------------------------

Result<core::Config> WithHours(const Json& days) {
  Json doc = Base();
  doc["users"][0]["working_hours"] = {{"tz", "UTC"}, {"days", days}};
  return ReadConfig(doc);
}

TEST(ConfigJsonTest, WorkingHoursParse) {
  auto c = WithHours(Json::parse(R"({"mon": ["00:00", "24:00"], "wed": ["09:30", "17:45"],
                                     "fri": [["08:00", "12:00"], ["12:30", "23:59"]], "sun": null})"));
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  const core::WorkingHours& wh = *c->users[0].working_hours;
  EXPECT_EQ(wh.tz, "UTC");
  EXPECT_EQ(wh.days[1], (std::vector<std::pair<int, int>>{{0, 1440}}));
  EXPECT_EQ(wh.days[3], (std::vector<std::pair<int, int>>{{570, 1065}}));
  EXPECT_EQ(wh.days[5], (std::vector<std::pair<int, int>>{{480, 720}, {750, 1439}}));
  EXPECT_TRUE(wh.days[0].empty());
  EXPECT_TRUE(wh.days[6].empty());
  // 24:00 writes back as 24:00.
  EXPECT_EQ(WriteConfig(*c)["users"][0]["working_hours"]["days"]["mon"], Json({"00:00", "24:00"}));
}

TEST(ConfigJsonTest, WorkingHoursBadTimes) {
  const char* bad[] = {"25:00", "24:01", "24:30", "12:60", "9:00", "09:0", "ab:cd", "12:00:00", "",
                       "-1:00", "+9:00", " 9:00", "09:-1", "09:+1", "0900", "09.00"};
  for (const char* t : bad) {
    auto c = WithHours({{"mon", {t, "17:00"}}});
    ASSERT_FALSE(c.ok()) << "accepted \"" << t << "\"";
    auto ps = c.status().details();
    EXPECT_PROBLEM(ps, "users[0].working_hours.days.mon", "HH:MM");
    auto c2 = WithHours({{"tue", {"08:00", t}}});
    EXPECT_FALSE(c2.ok()) << "accepted \"" << t << "\" as an end";
  }
}

TEST(ConfigJsonTest, WorkingHoursBadShapes) {
  Json doc = Base();
  doc["users"][0]["working_hours"] = {{"days", {{"monday", {"09:00", "17:00"}},
                                                {"tue", {"09:00"}},
                                                {"wed", "09:00-17:00"},
                                                {"thu", {{"09:00", "12:00"}, {"13:00"}}}}}};
  doc["users"][1]["working_hours"] = {{"tz", "UTC"}, {"days", {"09:00", "17:00"}}};
  doc["users"].push_back({{"id", "u-3"}, {"working_hours", {{"tz", "UTC"}, {"days", {{"fri", {"17:00", "09:00"}}}}}}});
  // A reversed interval beside an unknown day is still named, by its own day and place.
  doc["users"].push_back(Json::parse(R"({"id": "u-4", "working_hours": {"tz": "UTC", "days": {
    "fun": ["09:00", "17:00"], "mon": [["08:00", "09:00"], ["17:00", "09:00"]]}}})"));
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "users[0].working_hours.tz", "time zone");
  EXPECT_PROBLEM(ps, "users[0].working_hours.days.monday", "unknown day");
  EXPECT_PROBLEM(ps, "users[0].working_hours.days.tue", "interval");
  EXPECT_PROBLEM(ps, "users[0].working_hours.days.wed", "interval");
  EXPECT_PROBLEM(ps, "users[0].working_hours.days.thu[1]", "interval");
  EXPECT_PROBLEM(ps, "users[2].working_hours.days.fri", "start before it ends");  // fri 17:00–09:00
  EXPECT_PROBLEM(ps, "users[1].working_hours.days", "must be an object");
  EXPECT_PROBLEM(ps, "users[3].working_hours.days.fun", "unknown day");
  EXPECT_PROBLEM(ps, "users[3].working_hours.days.mon[1]", "start before it ends");
}

// --- times ----------------------------------------------------------------------------------

TEST(ConfigJsonTest, ParseTimeRfc3339) {
  struct Case {
    const char* text;
    Time want;
  } cases[] = {
      {"2026-11-22T10:00:00Z", At(2026, 11, 22, 10)},
      {"2026-11-22T10:00:00+00:00", At(2026, 11, 22, 10)},
      {"2026-11-22T10:00:00+02:00", At(2026, 11, 22, 8)},
      {"2026-11-22T10:00:00-05:30", At(2026, 11, 22, 15, 30)},
      {"2026-11-22T00:30:00+01:00", At(2026, 11, 21, 23, 30)},
      {"2026-11-22T10:00:00.5Z", At(2026, 11, 22, 10)},
      {"2026-11-22T10:00:59.999999Z", At(2026, 11, 22, 10, 0, 59)},
      {"2026-11-22T10:00:00.123+01:00", At(2026, 11, 22, 9)},
      {"2024-02-29T23:59:59Z", At(2024, 2, 29, 23, 59, 59)},
      {"2026-11-22 10:00:00Z", At(2026, 11, 22, 10)},
      {"2026-11-22t10:00:00z", At(2026, 11, 22, 10)},
      {"2026-11-22T10:00:00+0200", At(2026, 11, 22, 8)},
      {"2026-11-22T10:00:00-01", At(2026, 11, 22, 11)},
  };
  for (const Case& c : cases) {
    auto t = ParseTime(c.text);
    ASSERT_TRUE(t) << c.text;
    EXPECT_EQ(*t, c.want) << c.text << " → " << FormatTime(*t);
  }
}

TEST(ConfigJsonTest, ParseTimeRefusesNonRfc3339) {
  const char* bad[] = {"", "now", "2026-11-22", "2026-11-22T10:00:00", "2026-11-22T10:00Z",
                       "2026-13-01T00:00:00Z", "2026-11-22T10:00:00Zjunk", "22/11/2026 10:00",
                       "2026-11-22T10:00:00+0200x", "2025-02-29T00:00:00Z",
                       // found by fuzz_config: date::parse hit undefined behaviour on these
                       "2026-11-01T[00:00:00Z", "2026-11-01T00:00:[0Z", "2026-11-22T24:00:00Z",
                       "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00+2:00", "2026-11-22T10:00:00+24:00"};
  for (const char* text : bad) EXPECT_FALSE(ParseTime(text)) << "accepted \"" << text << "\"";
}

// Found by fuzzing (docs/fuzzing.md): a record property nested 100 000 deep overflowed
// the stack when kept as its JSON text (nlohmann's dump recurses per level).
TEST(ConfigJsonTest, ParseJsonRefusesDeepNesting) {
  const std::string deep = R"({"records": [{"object_type": "lead", "id": "x", "properties": {"a": )" +
                           std::string(100000, '[') + std::string(100000, ']') + "}}]}";
  auto r = ParseJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kMalformed);
  EXPECT_NE(r.status().message().find("nest deeper than"), std::string::npos) << r.status().message();
  EXPECT_TRUE(ParseJson(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']')).ok());
  EXPECT_FALSE(ParseJson(std::string(kMaxJsonDepth + 1, '{') + std::string(kMaxJsonDepth + 1, '}')).ok());
  // Brackets in strings, escaped quotes included, are text.
  EXPECT_TRUE(ParseJson("[\"\\\"" + std::string(1000, '[') + "\"]").ok());
}

// A cap past 64 bits is refused as such (it wrapped round to a negative number, "must be 0
// or more"); a fraction is no whole number.
TEST(ConfigJsonTest, CapsAreWholeNumbersThatFit) {
  Json doc = Base();
  doc["users"][0]["caps"] = Json::parse(R"({"per_day": 9223372036854775808, "max_open": 2.5})");
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "users[0].caps.per_day", "a whole number up to 9223372036854775807");
  EXPECT_PROBLEM(ps, "users[0].caps.max_open", "must be a whole number");
  doc["users"][0]["caps"] = Json::parse(R"({"per_day": 9223372036854775807})");
  EXPECT_EQ(Find(ProblemsOf(doc), "users[0].caps.per_day"), nullptr);
}

// A body that is not JSON is told where and why, without the parser's own tag.
TEST(ConfigJsonTest, ParseJsonSaysWhereAndWhy) {
  auto r = ParseJson("{\"id\": x}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("the body is not valid JSON: parse error at line 1, column 8", 0), 0u)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("json.exception"), std::string::npos) << r.status().message();
  r = ParseJson("{\"id\": 1e400}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the body is not valid JSON: number overflow parsing '1e400'") << r.status().message();
}

TEST(ConfigJsonTest, FormatTimeIsUtcSeconds) {
  EXPECT_EQ(FormatTime(At(2026, 11, 22, 10, 5, 7)), "2026-11-22T10:05:07Z");
  EXPECT_EQ(ParseTime(FormatTime(At(2000, 1, 1))), At(2000, 1, 1));
  EXPECT_EQ(FormatTime(At(2024, 2, 29, 23, 59, 59)), "2024-02-29T23:59:59Z");
  EXPECT_EQ(FormatTime(At(1969, 12, 31, 23, 59, 59)), "1969-12-31T23:59:59Z");  // before the epoch
  EXPECT_EQ(FormatTime(At(1970, 1, 1)), "1970-01-01T00:00:00Z");
  // Every second of a day, across a month's end, as date::format writes it.
  for (int64_t t = At(2026, 12, 31).time_since_epoch().count(); t < At(2027, 1, 1, 0, 0, 2).time_since_epoch().count(); t += 7) {
    core::Time at{std::chrono::seconds(t)};
    ASSERT_EQ(FormatTime(at), date::format("%FT%TZ", at));
  }
}

TEST(ConfigJsonTest, OutOfOfficeTimes) {
  Json doc = Base();
  doc["users"][0]["out_of_office"] = Json::parse(R"([
    {"from": "2026-12-24T00:00:00+01:00", "to": "2026-12-27T00:00:00Z"},
    {"from": "Christmas", "to": "2026-12-27T00:00:00Z"},
    {"to": "2026-12-27T00:00:00Z"},
    {"from": "2026-12-27T00:00:00Z", "to": "2026-12-24T00:00:00Z"},
    "2026-12-24"
  ])");
  auto ps = ProblemsOf(doc);
  const std::string o = "users[0].out_of_office";
  EXPECT_EQ(Find(ps, o + "[0]"), nullptr) << Dump(ps);
  EXPECT_PROBLEM(ps, o + "[1].from", "not an RFC 3339 time: \"Christmas\"");
  EXPECT_PROBLEM(ps, o + "[2].from", "required");
  EXPECT_PROBLEM(ps, o + "[3]", "\"from\" must be before \"to\"");
  EXPECT_PROBLEM(ps, o + "[4]", "an absence is");

  doc["users"][0]["out_of_office"] = Json::parse(R"([{"from": "2026-12-24T00:00:00+01:00", "to": "2026-12-27T00:00:00Z"}])");
  auto c = ReadConfig(doc);
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  EXPECT_EQ(c->users[0].out_of_office[0].from, At(2026, 12, 23, 23));
}

// --- settings and records -------------------------------------------------------------------

TEST(ConfigJsonTest, SettingsRanges) {
  Json doc = Base();
  doc["settings"] = {{"history_retention_days", 0}};
  EXPECT_PROBLEM(ProblemsOf(doc), "settings.history_retention_days", "from 1 to 36500");
  doc["settings"] = {{"history_retention_days", 36501}};
  EXPECT_PROBLEM(ProblemsOf(doc), "settings.history_retention_days", "from 1 to 36500");
  doc["settings"] = {{"default_owners", {{"deal", true}}}};
  EXPECT_PROBLEM(ProblemsOf(doc), "settings.default_owners.deal", "user id");
  // Numeric ids, as CRMs send them, are ids.
  doc["settings"] = {{"default_owners", {{"deal", 5}}}};
  EXPECT_PROBLEM(ProblemsOf(doc), "settings.default_owners.deal", "unknown user \"5\"");
  doc["settings"] = {{"history_retention_days", 7}, {"default_owners", {{"deal", nullptr}}}};
  auto c = ReadConfig(doc);
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  EXPECT_EQ(c->settings.history_retention_days, 7);
  EXPECT_TRUE(c->settings.default_owners.empty());
  EXPECT_EQ(c->settings.time_zone, "UTC");
}

TEST(ConfigJsonTest, RecordProblems) {
  Json doc = Base();
  doc["records"] = Json::parse(R"([
    {"object_type": "company", "id": "C-1"},
    {"object_type": "company", "id": "C-1"},
    {"object_type": "company"},
    {"object_type": "deal", "id": "D-1", "links": {"company": ["C-1"]}, "owners": [true], "open": "yes"},
    {"object_type": "deal", "id": "D-2", "properties": []}
  ])");
  auto ps = ProblemsOf(doc);
  EXPECT_PROBLEM(ps, "records[1].id", "duplicate record");
  EXPECT_PROBLEM(ps, "records[2].id", "needs an id");
  EXPECT_PROBLEM(ps, "records[3].links.company", "record id");
  EXPECT_PROBLEM(ps, "records[3].owners[0]", "string");
  EXPECT_PROBLEM(ps, "records[3].open", "true or false");
  EXPECT_PROBLEM(ps, "records[4].properties", "must be an object");
}

// Notes are rota's: read back from the store's body, never from a caller's record.
TEST(ConfigJsonTest, NotesAreReadFromStoredRecordsOnly) {
  const Json body = Json::parse(R"({"id": "L-1", "notes": [{"at": 100, "text": "call", "decision_id": "dec_1"}]})");
  Problems p;
  core::Record stored = ReadStoredRecord(body, p);
  EXPECT_TRUE(p.empty()) << p.ToStatus().ToString();
  EXPECT_EQ(stored.notes, (std::vector<core::Note>{{100, "call", "dec_1"}}));
  EXPECT_EQ(WriteStoredRecord(stored)["notes"], body["notes"]);
  EXPECT_FALSE(WriteRecord(stored).contains("notes"));
  // So is the connector a record came through.
  const Json sourced = Json::parse(R"({"id": "D-1", "source": {"connector": "pd", "crm_type": "deal"}})");
  core::Record from_crm = ReadStoredRecord(sourced, p);
  EXPECT_TRUE(p.empty()) << p.ToStatus().ToString();
  EXPECT_EQ(from_crm.source_connector, "pd");
  EXPECT_EQ(from_crm.source_type, "deal");
  EXPECT_EQ(WriteStoredRecord(from_crm)["source"], sourced["source"]);
  EXPECT_FALSE(WriteRecord(from_crm).contains("source"));
  EXPECT_TRUE(ReadRecord(sourced, "", p).source_connector.empty());
  core::Record given = ReadRecord(Json::parse(R"({"id": "L-1", "notes": "the CRM's own"})"), "", p);
  EXPECT_TRUE(p.empty());
  EXPECT_TRUE(given.notes.empty());
  // A stored body whose notes cannot be read is a problem, not a silent loss.
  ReadStoredRecord(Json::parse(R"({"id": "L-1", "notes": ["junk", {"at": "soon"}]})"), p);
  EXPECT_PROBLEM(p.list(), "notes[0]", "a note is");
  EXPECT_PROBLEM(p.list(), "notes[1].at", "whole number");
}

TEST(ConfigJsonTest, NumericIdsReadAsStrings) {
  Json doc = Base();
  doc["users"].push_back({{"id", 42}});
  doc["pools"][0]["members"].push_back("42");
  auto c = ReadConfig(doc);
  ASSERT_TRUE(c.ok()) << Dump(c.status().details());
  EXPECT_EQ(c->users[2].id, "42");
}

TEST(ConfigJsonTest, PartReadersReportRelativePaths) {
  Problems p;
  core::Rule r = ReadRule(Json::parse(R"({"id": "r", "object_type": "lead", "events": ["created"],
      "conditions": {"all": [{"field": "a", "op": "like", "value": "x"}]}, "assign": {"type": "user", "user": "u"}})"),
                          "rule", p);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p.list()[0].path, "rule.conditions.all[0].op");
  EXPECT_EQ(r.id, "r");

  Problems q;
  auto owners = ReadKeyOwners(Json::parse(R"([{"user": "u-1", "percent": 60}, {"user": "u-2", "percent": 40}])"),
                              "owners", q);
  EXPECT_TRUE(q.empty());
  ASSERT_EQ(owners.size(), 2u);
  EXPECT_EQ(WriteKeyOwners(owners), Json::parse(R"([{"user": "u-1", "percent": 60.0}, {"user": "u-2", "percent": 40.0}])"));
}

}  // namespace
}  // namespace rota::io
