// The service over a real SQLite file with a fixed clock: retention, periods in the
// workspace's time zone, and dry runs.
#include <algorithm>
#include "service/service.h"
#include "service/test_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "io/json_util.h"

namespace rota::service {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore("service", &dir_, &store_));
    svc_ = std::make_unique<Service>(*store_, clock_);
    ASSERT_TRUE(svc_->CreateWorkspace("w").ok());
    principal_ = {"w", Role::kAdmin, true, "k"};
    auto r = svc_->PutConfig("w", Json::parse(R"({
      "users": [{"id": "a"}, {"id": "b"}],
      "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b"]}],
      "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
                 "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "pool", "pool": "p"}}],
      "settings": {"time_zone": "Europe/Warsaw", "history_retention_days": 30}
    })"), false);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Json Assign(const std::string& id) {
    auto r = svc_->Assign(principal_, {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}}}}, "");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Json();
  }
  size_t HistorySize(HistoryQuery q = {}) {
    auto h = svc_->History("w", q);
    EXPECT_TRUE(h.ok()) << h.status().message();
    return h.ok() ? (*h)["items"].size() : 0;
  }

  std::filesystem::path dir_;
  FixedClock clock_{*io::ParseTime("2026-03-10T12:00:00Z")};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  Principal principal_;
};

TEST_F(ServiceTest, PurgeRemovesOnlyDecisionsPastRetentionAndKeepsRotationState) {
  EXPECT_EQ(Assign("L-1")["owner"], "a");
  clock_.Set(*io::ParseTime("2026-03-25T12:00:00Z"));
  EXPECT_EQ(Assign("L-2")["owner"], "b");
  clock_.Set(*io::ParseTime("2026-04-15T12:00:00Z"));  // L-1 is 36 days old, L-2 21
  auto n = svc_->PurgeHistory("w");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(HistorySize(), 1u);
  EXPECT_EQ((*svc_->GetPool("w", "p"))["next"], "a");  // the pointer did not move back
  EXPECT_EQ(Assign("L-3")["owner"], "a");
  EXPECT_EQ(*svc_->PurgeAllHistory(), 0);
}

// A purge goes a chunk at a time, each chunk its own transaction: all past retention go,
// the oldest first, and the rest stay.
TEST_F(ServiceTest, APurgeInChunksRemovesAllPastRetention) {
  for (int day = 1; day <= 5; ++day) {
    clock_.Set(*io::ParseTime("2026-01-0" + std::to_string(day) + "T12:00:00Z"));
    Assign("L-" + std::to_string(day));
  }
  clock_.Set(*io::ParseTime("2026-02-03T12:00:00Z"));  // L-1..L-3 past 30 days
  auto n = svc_->PurgeHistory("w", 2);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 3);
  auto h = svc_->History("w", {});
  ASSERT_TRUE(h.ok());
  std::vector<std::string> left;
  for (const Json& d : (*h)["items"]) left.push_back(d["record_id"]);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"L-4", "L-5"}));
  clock_.Set(*io::ParseTime("2026-03-03T12:00:00Z"));
  EXPECT_EQ(*svc_->PurgeHistory("w", 1), 2);  // exactly a chunk's worth each time, then none
  EXPECT_EQ(HistorySize(), 0u);
}

// Retention shortens the history, not this month's figure (SPEC §8) nor today's count for
// the per-day caps (SPEC §5).
TEST_F(ServiceTest, APurgeKeepsThisMonthsFigureAndToday) {
  clock_.Set(*io::ParseTime("2026-02-28T23:30:00Z"));  // 00:30 on 1 March in Warsaw
  Assign("L-1");
  clock_.Set(*io::ParseTime("2026-03-30T23:00:00Z"));  // 01:00 on the 31st in Warsaw (summer time)
  Assign("L-2");
  clock_.Set(*io::ParseTime("2026-03-31T20:00:00Z"));  // 22:00 in Warsaw
  Assign("L-3");
  ASSERT_TRUE(svc_->PutSettings("w", {{"history_retention_days", 1}}).ok());
  EXPECT_EQ((*svc_->Summary("w"))["processed_this_month"], 3);
  auto n = svc_->PurgeHistory("w");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1);              // L-1; L-2 is 21 hours old: still today in Warsaw
  EXPECT_EQ(HistorySize(), 2u);
  EXPECT_EQ((*svc_->Summary("w"))["processed_this_month"], 3);
  // Past 25 hours a day's decisions go.
  clock_.Set(*io::ParseTime("2026-04-01T00:30:00Z"));
  ASSERT_TRUE(svc_->PurgeHistory("w").ok());
  EXPECT_EQ(HistorySize(), 1u);
  // April's figure starts afresh; March's counts go with the next purge.
  EXPECT_EQ((*svc_->Summary("w"))["processed_this_month"], 0);
}

// The per-day cap counts since midnight in the user's zone, and a day there may be longer
// than 25 hours (Antarctica/Troll goes from +02 to +00 on 25 October 2026: 26 hours): the
// purge keeps the whole day, so the cap still holds after it.
TEST_F(ServiceTest, APurgeKeepsAllOfADayLongerThan25Hours) {
  Json config = Json::parse(R"({
    "users": [{"id": "a", "caps": {"per_day": 1}}, {"id": "b"}],
    "pools": [{"id": "p", "object_type": "lead", "members": ["a"]}],
    "rules": [{"id": "r", "object_type": "lead", "events": ["created"], "fallback_user": "b",
               "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "pool", "pool": "p"}}],
    "settings": {"time_zone": "Antarctica/Troll", "history_retention_days": 1}
  })");
  auto r = svc_->PutConfig("w", config, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  clock_.Set(*io::ParseTime("2026-10-24T22:10:00Z"));  // 00:10 on the 25th, +02
  EXPECT_EQ(Assign("T-1")["owner"], "a");
  clock_.Set(*io::ParseTime("2026-10-25T23:30:00Z"));  // 23:30 on the 25th, +00: 25 h 20 min later
  ASSERT_TRUE(svc_->PurgeHistory("w").ok());
  EXPECT_EQ(HistorySize(), 1u);
  Json second = Assign("T-2");
  EXPECT_EQ(second["owner"], "b") << second.dump();
  EXPECT_EQ(second["outcome"], "fallback");
  // The same when the day is the user's own (working hours in Troll, workspace in UTC).
  config["users"][0]["working_hours"] = Json::parse(
      R"({"tz": "Antarctica/Troll", "days": {"sun": ["00:00", "24:00"], "mon": ["00:00", "24:00"]}})");
  config["settings"]["time_zone"] = "UTC";
  r = svc_->PutConfig("w", config, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(svc_->PurgeHistory("w").ok());
  EXPECT_EQ(HistorySize(), 2u);  // T-1 is still in a's day
  EXPECT_EQ(Assign("T-3")["owner"], "b");
}

// In a half-hour zone the month starts inside an hour, whose count also holds the month
// before: the purge keeps that hour's decisions from the month's start, so the figure stays.
TEST_F(ServiceTest, APurgeKeepsThisMonthsFigureInAHalfHourZone) {
  ASSERT_TRUE(svc_->PutSettings("w", {{"time_zone", "Asia/Kolkata"}, {"history_retention_days", 1}}).ok());
  clock_.Set(*io::ParseTime("2026-02-28T18:10:00Z"));  // 23:40 on 28 February in Kolkata
  Assign("L-0");
  clock_.Set(*io::ParseTime("2026-02-28T18:45:00Z"));  // 00:15 on 1 March in Kolkata
  Assign("L-1");
  clock_.Set(*io::ParseTime("2026-03-04T12:00:00Z"));
  EXPECT_EQ((*svc_->Summary("w"))["processed_this_month"], 1);
  auto n = svc_->PurgeHistory("w");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1);  // L-0; L-1 stays for the figure
  EXPECT_EQ((*svc_->Summary("w"))["processed_this_month"], 1);
  // In April the March hour goes like any other.
  clock_.Set(*io::ParseTime("2026-04-04T12:00:00Z"));
  EXPECT_EQ(*svc_->PurgeHistory("w"), 1);
  EXPECT_EQ(HistorySize(), 0u);
}

// SPEC §7: a rule's note goes to the record's activity on rota's copy of the record, so
// it stays when the history's retention purges the decision; a PUT of the record keeps it.
TEST_F(ServiceTest, NotesStayOnTheRecordPastRetention) {
  auto r = svc_->PutConfig("w", Json::parse(R"({
    "users": [{"id": "a"}, {"id": "b"}],
    "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b"]}],
    "rules": [{"id": "r", "object_type": "lead", "events": ["created", "updated"],
               "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "pool", "pool": "p"},
               "actions": {"note": "Call within the hour"}}],
    "settings": {"time_zone": "UTC", "history_retention_days": 7}
  })"), false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Assign("L-1");
  clock_.Set(*io::ParseTime("2026-03-20T12:00:00Z"));
  auto second = svc_->Assign(principal_, {{"object_type", "lead"}, {"event", "updated"}, {"record", {{"id", "L-1"}}}}, "");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(svc_->PutRecord("w", "lead", "L-1", {{"properties", {{"x", ""}}}, {"owners", {"a"}}}).ok());
  auto kinds = [&] {
    std::vector<std::string> out;
    auto rec = svc_->GetRecord("w", "lead", "L-1");
    EXPECT_TRUE(rec.ok());
    for (const Json& a : (*rec)["activity"]) out.push_back(a["kind"].get<std::string>() + " " + a["at"].get<std::string>());
    return out;
  };
  EXPECT_EQ(kinds(), (std::vector<std::string>{"note 2026-03-20T12:00:00Z", "assignment 2026-03-20T12:00:00Z",
                                               "note 2026-03-10T12:00:00Z", "assignment 2026-03-10T12:00:00Z"}));
  ASSERT_EQ(*svc_->PurgeHistory("w"), 1);  // the first decision is 10 days old
  EXPECT_EQ(kinds(), (std::vector<std::string>{"note 2026-03-20T12:00:00Z", "assignment 2026-03-20T12:00:00Z",
                                               "note 2026-03-10T12:00:00Z"}));
  auto rec = svc_->GetRecord("w", "lead", "L-1");
  EXPECT_EQ((*rec)["activity"][2]["text"], "Call within the hour");
  EXPECT_FALSE(rec->contains("notes"));  // the API shows them as activity only
}

TEST_F(ServiceTest, TodayAndYesterdayAreDaysInTheWorkspaceTimeZone) {
  clock_.Set(*io::ParseTime("2026-03-10T22:30:00Z"));  // 23:30 in Warsaw, still the 10th
  Assign("L-1");
  clock_.Set(*io::ParseTime("2026-03-10T23:30:00Z"));  // 00:30 on the 11th in Warsaw
  Assign("L-2");
  HistoryQuery today;
  today.period = "today";
  HistoryQuery yesterday;
  yesterday.period = "yesterday";
  EXPECT_EQ(HistorySize(today), 1u);
  EXPECT_EQ(HistorySize(yesterday), 1u);
  HistoryQuery bad;
  bad.period = "last_week";
  EXPECT_FALSE(svc_->History("w", bad).ok());
}

TEST_F(ServiceTest, DryRunDecidesWithoutStoringOrAdvancing) {
  auto r = svc_->Assign(principal_,
                        {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", "L-1"}}}, {"dry_run", true},
                         {"explain", true}},
                        "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["owner"], "a");
  EXPECT_TRUE((*r)["decision_id"].is_null());
  EXPECT_FALSE((*r)["trace"].empty());
  EXPECT_EQ(HistorySize(), 0u);
  EXPECT_FALSE(svc_->GetRecord("w", "lead", "L-1").ok());
  EXPECT_EQ(Assign("L-1")["owner"], "a");
}

TEST_F(ServiceTest, ConfigDryRunReportsChangesAndStoresNothing) {
  auto doc = svc_->GetConfig("w");
  ASSERT_TRUE(doc.ok());
  Json changed = *doc;
  changed["users"].push_back({{"id", "c"}});
  auto r = svc_->PutConfig("w", changed, /*dry_run=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["applied"], false);
  ASSERT_EQ((*r)["changes"].size(), 1u);
  EXPECT_EQ((*r)["changes"][0]["id"], "c");
  EXPECT_FALSE(svc_->GetUser("w", "c").ok());
}

// A `between` whose low end is above its high end never holds: refused where a rule's
// conditions are saved, and nothing stored; a rule stored so before keeps working.
TEST_F(ServiceTest, ABetweenTheWrongWayRoundIsRefusedWhenSaved) {
  auto rule = [](const std::string& id, const Json& range) {
    return Json{{"id", id},
                {"object_type", "lead"},
                {"events", {"created"}},
                {"conditions", {{"all", {{{"field", "n"}, {"op", "between"}, {"value", range}}}}}},
                {"assign", {{"type", "user"}, {"user", "a"}}}};
  };
  for (const Json& range : {Json::array({10, 1}), Json::array({"10", 9.5}), Json::array({"z", "A"}),
                            Json::array({"2026-12-31", "2026-01-01"})}) {
    auto created = svc_->CreateRule("w", rule("rev", range));
    ASSERT_FALSE(created.ok()) << range;
    EXPECT_EQ(created.status().code(), Code::kInvalid);
    ASSERT_EQ(created.status().details().size(), 1u) << created.status().message();
    EXPECT_EQ(created.status().details()[0].path, "conditions.all[0].value");
    EXPECT_NE(created.status().details()[0].message.find("low end is above its high end"), std::string::npos);
  }
  auto doc = svc_->GetConfig("w");
  ASSERT_TRUE(doc.ok());
  Json whole = *doc;
  whole["rules"].push_back(rule("rev", {10, 1}));
  auto put = svc_->PutConfig("w", whole, false);
  ASSERT_FALSE(put.ok());
  ASSERT_EQ(put.status().details().size(), 1u) << put.status().message();
  EXPECT_EQ(put.status().details()[0].path, "rules[1].conditions.all[0].value");
  EXPECT_FALSE(svc_->GetRule("w", "rev").ok());
  // Equal ends, and a number against text (compared as text), are saved.
  EXPECT_TRUE(svc_->CreateRule("w", rule("same", {5, 5})).ok());
  EXPECT_TRUE(svc_->CreateRule("w", rule("mixed", {10, "a"})).ok());

  // Stored before the check (written straight to the store): the workspace keeps working,
  // and the rule can be renamed, but not given another range the wrong way round.
  {
    auto tx = store_->BeginWrite("w");
    ASSERT_TRUE(tx.ok());
    auto loaded = (*tx)->LoadConfig();
    ASSERT_TRUE(loaded.ok());
    Json stored = Json::parse(loaded->second);
    stored["rules"][1]["conditions"]["all"][0]["value"] = {10, 1};
    ASSERT_TRUE((*tx)->SaveConfig(loaded->first + 1, stored.dump()).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  EXPECT_EQ(Assign("L-1")["outcome"], "assigned");
  Json renamed = rule("same", {10, 1});
  renamed["name"] = "Renamed";
  auto kept = svc_->PutRule("w", "same", renamed);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ((*kept)["name"], "Renamed");
  EXPECT_FALSE(svc_->PutRule("w", "same", rule("same", {20, 2})).ok());
  EXPECT_TRUE(svc_->PutConfig("w", *svc_->GetConfig("w"), false).ok());
}

// A configuration an older rota stored may hold a field this one no longer reads: it still
// loads (input from outside is refused for one; what rota wrote itself is not).
TEST(StoredConfigTest, AFieldThisRotaDoesNotReadStillLoads) {
  auto c = ParseStoredConfig(R"({"users": [{"id": "a", "retired_field": 1}],
                                 "rules": [{"id": "r", "object_type": "lead", "events": ["created"], "old": true,
                                            "conditions": {"all": [{"field": "x", "op": "is_empty"}]},
                                            "assign": {"type": "user", "user": "a"}}]})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->users.size(), 1u);
  EXPECT_EQ(c->rules.at(0).assign.ref, "a");
}

}  // namespace
}  // namespace rota::service
