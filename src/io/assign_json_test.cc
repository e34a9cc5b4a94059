#include "io/assign_json.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace rota::io {
namespace {

using core::Time;

Time At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return Time{date::sys_days{date::year{y} / date::month{mo} / date::day{d}}} + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

std::string Dump(const Status& s) {
  std::string out = s.message() + "\n";
  for (const Problem& p : s.details()) out += "  " + p.path + ": " + p.message + "\n";
  return out;
}

const Problem* Find(const Status& s, const std::string& path) {
  for (const Problem& p : s.details()) {
    if (p.path == path) return &p;
  }
  return nullptr;
}

#define EXPECT_PROBLEM(status, path, needle)                                                   \
  do {                                                                                         \
    const auto& all_ = (status);  /* kept alive for found_ */               \
    const Problem* found_ = Find(all_, path);                                                \
    ASSERT_NE(found_, nullptr) << "no problem at " << (path) << "; got:\n" << Dump(all_);     \
    EXPECT_NE(found_->message.find(needle), std::string::npos)                                 \
        << (path) << ": " << found_->message << " does not mention " << (needle);              \
  } while (0)

Status Problems(const std::string& text) {
  auto r = ReadAssignBody(Json::parse(text));
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return Status::Ok();
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  return r.status();
}

std::set<std::string> Keys(const Json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
  return out;
}

// --- ReadAssignBody -------------------------------------------------------------------------

TEST(AssignJsonTest, ReadsApiExample) {
  auto b = ReadAssignBody(Json::parse(R"({
    "object_type": "deal",
    "event": "created",
    "record": {"id": "D-1", "properties": {"county": "Kent", "amount": 1200},
               "links": {"company": "C-1", "person": "P-1"}, "owners": [], "open": true},
    "idempotency_key": "hubspot-cb-123",
    "explain": true,
    "dry_run": false
  })"));
  ASSERT_TRUE(b.ok()) << Dump(b.status());
  EXPECT_EQ(b->record.object_type, core::ObjectType::kDeal);
  EXPECT_EQ(b->record.id, "D-1");
  EXPECT_EQ(b->record.properties.at("county"), core::Value::String("Kent"));
  EXPECT_EQ(b->record.properties.at("amount").kind, core::Value::Kind::kNumber);
  EXPECT_DOUBLE_EQ(b->record.properties.at("amount").number, 1200);
  EXPECT_EQ(b->record.properties.at("amount").text, "1200");
  EXPECT_EQ(b->record.links.at("company"), "C-1");
  EXPECT_EQ(b->record.links.at("person"), "P-1");
  EXPECT_TRUE(b->record.owners.empty());
  EXPECT_TRUE(b->record.open);
  EXPECT_EQ(b->event, core::Event::kCreated);
  EXPECT_FALSE(b->previous);
  EXPECT_FALSE(b->target);
  EXPECT_EQ(b->idempotency_key, "hubspot-cb-123");
  EXPECT_TRUE(b->explain);
  EXPECT_FALSE(b->dry_run);
  EXPECT_FALSE(b->at);
}

TEST(AssignJsonTest, MinimalBodyDefaults) {
  auto b = ReadAssignBody(Json::parse(R"({"object_type": "lead", "event": "bulk", "record": {"id": "L-1"}})"));
  ASSERT_TRUE(b.ok()) << Dump(b.status());
  EXPECT_EQ(b->record.object_type, core::ObjectType::kLead);
  EXPECT_EQ(b->event, core::Event::kBulk);
  EXPECT_TRUE(b->record.properties.empty());
  EXPECT_TRUE(b->record.open);
  EXPECT_FALSE(b->explain);
  EXPECT_FALSE(b->dry_run);
  EXPECT_TRUE(b->idempotency_key.empty());
}

TEST(AssignJsonTest, EveryObjectTypeAndEvent) {
  for (const char* type : {"lead", "contact", "company", "deal", "task"}) {
    for (const char* event : {"created", "updated", "bulk"}) {
      Json j = {{"object_type", type}, {"event", event}, {"record", {{"id", "X"}}}};
      auto b = ReadAssignBody(j);
      ASSERT_TRUE(b.ok()) << type << " " << event << Dump(b.status());
      EXPECT_EQ(core::ToString(b->record.object_type), type);
      EXPECT_EQ(core::ToString(b->event), event);
    }
  }
}

TEST(AssignJsonTest, NumericRecordIdIsAString) {
  auto b = ReadAssignBody(Json::parse(R"({"object_type": "deal", "event": "created", "record": {"id": 1234}})"));
  ASSERT_TRUE(b.ok()) << Dump(b.status());
  EXPECT_EQ(b->record.id, "1234");
}

// A link sent as null is sent, as an unlink (""), not left out.
TEST(AssignJsonTest, ANullLinkUnlinks) {
  auto b = ReadAssignBody(Json::parse(
      R"({"object_type": "deal", "event": "bulk", "record": {"id": "D", "links": {"company": null, "person": 7}}})"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->record.links.at("company"), "");
  EXPECT_EQ(b->record.links.at("person"), "7");
}

TEST(AssignJsonTest, RecordObjectTypeComesFromBody) {
  auto b = ReadAssignBody(Json::parse(
      R"({"object_type": "deal", "event": "created", "record": {"id": "D-1", "object_type": "lead"}})"));
  ASSERT_TRUE(b.ok()) << Dump(b.status());
  EXPECT_EQ(b->record.object_type, core::ObjectType::kDeal);
}

TEST(AssignJsonTest, AtIsParsed) {
  auto b = ReadAssignBody(Json::parse(
      R"({"object_type": "lead", "event": "created", "record": {"id": "L-1"}, "at": "2026-11-23T10:00:00+01:00"})"));
  ASSERT_TRUE(b.ok()) << Dump(b.status());
  ASSERT_TRUE(b->at);
  EXPECT_EQ(*b->at, At(2026, 11, 23, 9));
  Status s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1"}, "at": "yesterday"})");
  EXPECT_PROBLEM(s, "at", "RFC 3339");
}

TEST(AssignJsonTest, NotAnObject) {
  auto r = ReadAssignBody(Json::parse(R"(["lead"])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
}

TEST(AssignJsonTest, MissingEvent) {
  Status s = Problems(R"({"object_type": "lead", "record": {"id": "L-1"}})");
  EXPECT_PROBLEM(s, "event", "an event is required");
  EXPECT_EQ(s.details().size(), 1u) << Dump(s);
}

TEST(AssignJsonTest, UnknownEvent) {
  Status s = Problems(R"({"object_type": "lead", "event": "deleted", "record": {"id": "L-1"}})");
  EXPECT_PROBLEM(s, "event", "unknown event \"deleted\"");
  s = Problems(R"({"object_type": "lead", "event": "Created", "record": {"id": "L-1"}})");
  EXPECT_PROBLEM(s, "event", "unknown event");
  s = Problems(R"({"object_type": "lead", "event": true, "record": {"id": "L-1"}})");
  EXPECT_NE(Find(s, "event"), nullptr) << Dump(s);
}

TEST(AssignJsonTest, MissingObjectType) {
  Status s = Problems(R"({"event": "created", "record": {"id": "L-1"}})");
  EXPECT_PROBLEM(s, "object_type", "an object type is required");
  EXPECT_EQ(s.details().size(), 1u) << Dump(s);
}

TEST(AssignJsonTest, UnknownObjectType) {
  Status s = Problems(R"({"object_type": "ticket", "event": "created", "record": {"id": "L-1"}})");
  EXPECT_PROBLEM(s, "object_type", "unknown object type \"ticket\"");
}

TEST(AssignJsonTest, RecordRequiredWithId) {
  Status s = Problems(R"({"object_type": "lead", "event": "created"})");
  EXPECT_PROBLEM(s, "record", "record");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": "L-1"})");
  EXPECT_PROBLEM(s, "record", "record");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"properties": {}}})");
  EXPECT_PROBLEM(s, "record.id", "needs an id");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1", "properties": [1]}})");
  EXPECT_PROBLEM(s, "record.properties", "object");
}

// Ids with control characters are refused: PostgreSQL ends text at a NUL ("a\0b" was
// stored and found as "a", so two records were one there).
TEST(AssignJsonTest, IdsHoldNoControlCharacters) {
  Status s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "a\u0000b"}})");
  EXPECT_PROBLEM(s, "record.id", "control characters");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1", "links": {"company": "C\n1"}}})");
  EXPECT_PROBLEM(s, "record.links.company", "control characters");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1"}, "idempotency_key": "k\u0000"})");
  EXPECT_PROBLEM(s, "idempotency_key", "control characters");
  // C1 controls too (U+0085 is a line break), and in the owners the record names.
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "a\u0085b"}})");
  EXPECT_PROBLEM(s, "record.id", "control characters");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1", "owners": ["u-1", "a\tb"]}})");
  EXPECT_PROBLEM(s, "record.owners[1]", "control characters");
  // A number the parser cannot keep exactly is no id (it would be stored as other text).
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": 18446744073709551616}})");
  EXPECT_PROBLEM(s, "record.id", "must be a string");
  auto numeric = ReadAssignBody(Json::parse(R"({"object_type": "lead", "event": "created", "record": {"id": 18446744073709551615}})"));
  ASSERT_TRUE(numeric.ok());
  EXPECT_EQ(numeric->record.id, "18446744073709551615");
  EXPECT_TRUE(ReadAssignBody(Json::parse(R"({"object_type": "lead", "event": "created",
                                              "record": {"id": "Łódź 7/ü", "links": {"company": "C 1"}}})")).ok());
}

TEST(AssignJsonTest, EveryProblemAtOnce) {
  Status s = Problems(R"({"object_type": "ticket", "event": "deleted", "record": {"open": 1},
                          "explain": "yes", "dry_run": 0, "previous": {"a": 1}, "target": {"pool": "p"},
                          "at": "soon"})");
  EXPECT_NE(Find(s, "object_type"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "event"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "record.id"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "record.open"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "explain"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "dry_run"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "previous"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "target"), nullptr) << Dump(s);
  EXPECT_NE(Find(s, "at"), nullptr) << Dump(s);
}

TEST(AssignJsonTest, TargetOnlyWithAssignRequested) {
  auto pool = ReadAssignBody(Json::parse(
      R"({"object_type": "lead", "event": "assign_requested", "record": {"id": "L-1"}, "target": {"pool": "north"}})"));
  ASSERT_TRUE(pool.ok()) << Dump(pool.status());
  ASSERT_TRUE(pool->target);
  EXPECT_EQ(pool->target->kind, core::Target::Kind::kPool);
  EXPECT_EQ(pool->target->id, "north");

  auto rule = ReadAssignBody(Json::parse(
      R"({"object_type": "lead", "event": "assign_requested", "record": {"id": "L-1"}, "target": {"rule": "r-1"}})"));
  ASSERT_TRUE(rule.ok()) << Dump(rule.status());
  ASSERT_TRUE(rule->target);
  EXPECT_EQ(rule->target->kind, core::Target::Kind::kRule);
  EXPECT_EQ(rule->target->id, "r-1");

  for (const char* event : {"created", "updated", "bulk"}) {
    Json j = Json::parse(R"({"object_type": "lead", "record": {"id": "L-1"}, "target": {"pool": "north"}})");
    j["event"] = event;
    auto r = ReadAssignBody(j);
    ASSERT_FALSE(r.ok()) << event;
    EXPECT_PROBLEM(r.status(), "target", "only for \"assign_requested\"");
  }
}

TEST(AssignJsonTest, TargetShape) {
  const char* bad[] = {
      R"({"pool": "a", "rule": "b"})", R"({})", R"({"pool": ""})", R"({"team": "a"})",
      R"({"pool": ["a"]})",
  };
  for (const char* t : bad) {
    Json j = Json::parse(R"({"object_type": "lead", "event": "assign_requested", "record": {"id": "L-1"}})");
    j["target"] = Json::parse(t);
    auto r = ReadAssignBody(j);
    ASSERT_FALSE(r.ok()) << "accepted target " << t;
    EXPECT_FALSE(r.status().details().empty());
    bool at_target = false;
    for (const Problem& p : r.status().details()) at_target = at_target || p.path.rfind("target", 0) == 0;
    EXPECT_TRUE(at_target) << t << Dump(r.status());
  }
  Status s = Problems(R"({"object_type": "lead", "event": "assign_requested", "record": {"id": "L-1"}, "target": "north"})");
  EXPECT_PROBLEM(s, "target", "object");
}

TEST(AssignJsonTest, PreviousOnlyWithUpdated) {
  auto b = ReadAssignBody(Json::parse(
      R"({"object_type": "deal", "event": "updated", "record": {"id": "D-1", "properties": {"stage": "won"}},
          "previous": {"stage": "new", "amount": 5}})"));
  ASSERT_TRUE(b.ok()) << Dump(b.status());
  ASSERT_TRUE(b->previous);
  EXPECT_EQ(b->previous->at("stage"), core::Value::String("new"));
  EXPECT_EQ(b->previous->at("amount").kind, core::Value::Kind::kNumber);

  for (const char* event : {"created", "bulk", "assign_requested"}) {
    Json j = Json::parse(R"({"object_type": "deal", "record": {"id": "D-1"}, "previous": {"stage": "new"}})");
    j["event"] = event;
    auto r = ReadAssignBody(j);
    ASSERT_FALSE(r.ok()) << event;
    EXPECT_PROBLEM(r.status(), "previous", "only for \"updated\"");
  }
  Status s = Problems(R"({"object_type": "deal", "event": "updated", "record": {"id": "D-1"}, "previous": "new"})");
  EXPECT_PROBLEM(s, "previous", "object");
}

TEST(AssignJsonTest, FlagsAndKeyShapes) {
  Status s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1"}, "explain": "true"})");
  EXPECT_PROBLEM(s, "explain", "true or false");
  s = Problems(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1"}, "dry_run": 1})");
  EXPECT_PROBLEM(s, "dry_run", "true or false");
  Json j = Json::parse(R"({"object_type": "lead", "event": "created", "record": {"id": "L-1"}})");
  j["idempotency_key"] = std::string(256, 'k');
  auto r = ReadAssignBody(j);
  ASSERT_FALSE(r.ok());
  EXPECT_PROBLEM(r.status(), "idempotency_key", "255");
  j["idempotency_key"] = std::string(255, 'k');
  EXPECT_TRUE(ReadAssignBody(j).ok());
}

TEST(AssignJsonTest, ToRequest) {
  auto b = ReadAssignBody(Json::parse(
      R"({"object_type": "deal", "event": "updated", "record": {"id": "D-1"}, "previous": {"stage": "new"},
          "explain": true})"));
  ASSERT_TRUE(b.ok());
  core::Request req = ToRequest(*b, At(2026, 1, 2, 3));
  EXPECT_EQ(req.record, &b->record);
  EXPECT_EQ(req.previous, &*b->previous);
  EXPECT_EQ(req.event, core::Event::kUpdated);
  EXPECT_FALSE(req.target);
  EXPECT_EQ(req.now, At(2026, 1, 2, 3));
  EXPECT_TRUE(req.explain);

  auto t = ReadAssignBody(Json::parse(
      R"({"object_type": "lead", "event": "assign_requested", "record": {"id": "L-1"}, "target": {"rule": "r"}})"));
  ASSERT_TRUE(t.ok());
  core::Request treq = ToRequest(*t, At(2026, 1, 1));
  EXPECT_EQ(treq.previous, nullptr);
  ASSERT_TRUE(treq.target);
  EXPECT_EQ(treq.target->id, "r");
  EXPECT_FALSE(treq.explain);
}

// --- WriteDecision --------------------------------------------------------------------------

core::Decision Assigned() {
  core::Decision d;
  d.outcome = core::Outcome::kAssigned;
  d.owner = "u-2";
  d.rule = "r-1";
  d.strategy = "pool";
  d.related = {{core::ObjectType::kCompany, "C-1", {"u-2"}}};
  d.trace = {core::TraceEntry(core::TraceEntry::Kind::kRule, "r-1", true, "all conditions hold"),
             core::TraceEntry(core::TraceEntry::Kind::kMember, "u-1", false, "out of office",
                              core::Skip::kOutOfOffice),
             core::TraceEntry(core::TraceEntry::Kind::kMember, "u-2", true, "next in turn")};
  return d;
}

TEST(AssignJsonTest, WriteDecisionMatchesApi) {
  Json j = WriteDecision(Assigned(), false);
  EXPECT_EQ(j, Json::parse(R"({
    "outcome": "assigned", "owner": "u-2", "rule": "r-1", "strategy": "pool", "reason": null,
    "related": [{"object_type": "company", "id": "C-1", "owners": ["u-2"]}]
  })"));
  EXPECT_FALSE(j.contains("trace"));
}

TEST(AssignJsonTest, WriteDecisionTraceOnlyWhenAsked) {
  Json with = WriteDecision(Assigned(), true);
  ASSERT_TRUE(with.contains("trace"));
  ASSERT_TRUE(with["trace"].is_array());
  ASSERT_EQ(with["trace"].size(), 3u);
  EXPECT_EQ(with["trace"][0]["step"], "rule");
  EXPECT_EQ(with["trace"][0]["rule"], "r-1");
  EXPECT_EQ(with["trace"][0]["matched"], true);
  EXPECT_EQ(with["trace"][1]["step"], "member");
  EXPECT_EQ(with["trace"][1]["user"], "u-1");
  EXPECT_EQ(with["trace"][1]["chosen"], false);
  EXPECT_EQ(with["trace"][1]["skipped"], "out_of_office");
  EXPECT_EQ(with["trace"][2]["chosen"], true);
  EXPECT_FALSE(with["trace"][2].contains("skipped"));
  EXPECT_EQ(Keys(with), (std::set<std::string>{"outcome", "owner", "rule", "strategy", "reason", "related", "trace"}));

  core::Decision empty = Assigned();
  empty.trace.clear();
  EXPECT_EQ(WriteDecision(empty, true)["trace"], Json::array());
  EXPECT_FALSE(WriteDecision(empty, false).contains("trace"));
}

TEST(AssignJsonTest, WriteDecisionUnassigned) {
  core::Decision d;
  d.outcome = core::Outcome::kUnassigned;
  d.reason = core::Reason::kNoRuleMatched;
  d.trace = {core::TraceEntry(core::TraceEntry::Kind::kNoRule, "", false, "no rule matched")};
  Json j = WriteDecision(d, false);
  EXPECT_EQ(j, Json::parse(R"({"outcome": "unassigned", "owner": null, "rule": null, "strategy": null,
                                "reason": "no_rule_matched", "related": []})"));
  Json t = WriteDecision(d, true);
  ASSERT_EQ(t["trace"].size(), 1u);
  EXPECT_EQ(t["trace"][0]["step"], "no_rule");
}

TEST(AssignJsonTest, WriteDecisionOutcomesAndReasons) {
  struct Case {
    core::Outcome outcome;
    const char* text;
  } outcomes[] = {{core::Outcome::kAssigned, "assigned"},
                  {core::Outcome::kFallback, "fallback"},
                  {core::Outcome::kDefault, "default"},
                  {core::Outcome::kUnassigned, "unassigned"}};
  for (const Case& c : outcomes) {
    core::Decision d;
    d.outcome = c.outcome;
    EXPECT_EQ(WriteDecision(d, false)["outcome"], c.text);
  }
  core::Decision d;
  d.reason = core::Reason::kRelatedHasNoOwner;
  EXPECT_EQ(WriteDecision(d, false)["reason"], "related_has_no_owner");
  d.reason = core::Reason::kNoEligibleUser;
  EXPECT_EQ(WriteDecision(d, false)["reason"], "no_eligible_user");
}

TEST(AssignJsonTest, WriteDecisionRelatedList) {
  core::Decision d = Assigned();
  d.related.push_back({core::ObjectType::kContact, "P-1", {"u-1", "u-2"}});
  Json j = WriteDecision(d, false);
  ASSERT_EQ(j["related"].size(), 2u);
  EXPECT_EQ(j["related"][1], Json::parse(R"({"object_type": "contact", "id": "P-1", "owners": ["u-1", "u-2"]})"));
}

TEST(AssignJsonTest, WriteDecisionFollowUpsOnlyWhenSet) {
  core::Decision d = Assigned();
  d.tag = "rota";
  d.note = "Assigned by county";
  Json j = WriteDecision(d, false);
  ASSERT_TRUE(j.contains("actions"));
  EXPECT_EQ(j["actions"], Json::parse(R"({"tag": "rota", "note": "Assigned by county"})"));
  // The API's fields are all still there, unchanged.
  for (const char* k : {"outcome", "owner", "rule", "strategy", "reason", "related"}) EXPECT_TRUE(j.contains(k)) << k;
}

}  // namespace
}  // namespace rota::io
