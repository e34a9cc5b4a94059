// Eligibility (SPEC §5): exists, active, out of office, working hours (with DST), the
// per-day cap counted from local midnight, and the open-records cap.
#include "core/eligibility.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <string>

#include "core/test_util.h"

namespace rota::core {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::At;
using testing::Harness;
using testing::MakePool;
using testing::MakeRecord;
using testing::MakeRule;
using testing::MakeUser;
using testing::Monday;
using testing::ToPool;

WorkingHours EveryDay(std::string tz, int from, int to) {
  WorkingHours h;
  h.tz = std::move(tz);
  for (auto& d : h.days) d = {{from, to}};
  return h;
}

class EligibilityTest : public ::testing::Test {
 protected:
  // Builds the workspace from `config` (users added by the test).
  void Build() { ws_ = testing::BuildOrThrow(config_); }
  std::optional<Skip> Check(const std::string& user, Time now, ObjectType t = ObjectType::kLead,
                            const std::string& record_id = "current") {
    EligibilityContext ctx{*ws_, state_, t, record_id, now};
    return CheckEligible(ctx, user);
  }
  // Records that `user` was given a record at `at`.
  void GiveAt(const std::string& user, Time at, const std::string& id) {
    Decision d;
    d.outcome = Outcome::kAssigned;
    d.owner = user;
    state_.Apply(d, MakeRecord(id), at);
  }
  void PutOwned(const std::string& id, std::vector<std::string> owners, bool open = true,
                ObjectType t = ObjectType::kLead) {
    Record r = MakeRecord(id, {}, t);
    r.owners = std::move(owners);
    r.open = open;
    state_.PutRecord(r);
  }

  Config config_;
  std::shared_ptr<const Workspace> ws_;
  MemoryState state_;
};

TEST_F(EligibilityTest, UnknownUserIsNotFound) {
  Build();
  EXPECT_EQ(Check("ghost", Monday()), Skip::kNotFound);
  EXPECT_EQ(CheckNamed(*ws_, "ghost"), Skip::kNotFound);
}

TEST_F(EligibilityTest, InactiveUserIsSkipped) {
  User u = MakeUser("u");
  u.active = false;
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", Monday()), Skip::kInactive);
  EXPECT_EQ(CheckNamed(*ws_, "u"), Skip::kInactive);
}

TEST_F(EligibilityTest, ActiveUserWithoutConstraintsIsEligible) {
  config_.users.push_back(MakeUser("u"));
  Build();
  EXPECT_EQ(Check("u", Monday()), std::nullopt);
  EXPECT_EQ(CheckNamed(*ws_, "u"), std::nullopt);
}

TEST_F(EligibilityTest, OutOfOfficeFromIncludedToExcluded) {
  User u = MakeUser("u");
  Time from = At(2025, 6, 2, 9), to = At(2025, 6, 6, 17);
  u.out_of_office = {{from, to}};
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", from - seconds(1)), std::nullopt);
  EXPECT_EQ(Check("u", from), Skip::kOutOfOffice);
  EXPECT_EQ(Check("u", to - seconds(1)), Skip::kOutOfOffice);
  EXPECT_EQ(Check("u", to), std::nullopt);
}

TEST_F(EligibilityTest, AnyOfSeveralOutOfOfficePeriodsCounts) {
  User u = MakeUser("u");
  u.out_of_office = {{At(2025, 6, 1), At(2025, 6, 2)}, {At(2025, 6, 10), At(2025, 6, 11)}};
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", At(2025, 6, 1, 12)), Skip::kOutOfOffice);
  EXPECT_EQ(Check("u", At(2025, 6, 5)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 10, 12)), Skip::kOutOfOffice);
}

TEST_F(EligibilityTest, NamedUserIgnoresOutOfOfficeHoursAndCaps) {
  User u = MakeUser("u");
  u.out_of_office = {{At(2025, 1, 1), At(2026, 1, 1)}};
  u.working_hours = EveryDay("UTC", 0, 1);
  u.caps.per_day = 0;
  u.caps.max_open = 0;
  config_.users.push_back(u);
  Build();
  EXPECT_NE(Check("u", Monday()), std::nullopt);
  EXPECT_EQ(CheckNamed(*ws_, "u"), std::nullopt);
}

TEST_F(EligibilityTest, WorkingHoursStartIncludedEndExcluded) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "UTC";
  h.days[1] = {{9 * 60, 17 * 60}};  // Monday 09:00–17:00
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", At(2025, 6, 2, 8, 59, 59)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 9, 0)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 16, 59, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 17, 0)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 6, 3, 10, 0)), Skip::kOutsideWorkingHours);  // Tuesday: none
}

TEST_F(EligibilityTest, WorkingHoursUntil2400RunToTheEndOfTheDay) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "UTC";
  h.days[1] = {{22 * 60, 1440}};  // Monday 22:00–24:00
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", At(2025, 6, 2, 23, 59, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 3, 0, 0)), Skip::kOutsideWorkingHours);  // Tuesday 00:00
}

TEST_F(EligibilityTest, SeveralIntervalsADay) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "UTC";
  h.days[1] = {{8 * 60, 12 * 60}, {13 * 60, 17 * 60}};
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", At(2025, 6, 2, 11, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 12, 30)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 13, 0)), std::nullopt);
}

TEST_F(EligibilityTest, WorkingHoursAreLocalToTheirZone) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "America/New_York";
  h.days[1] = {{9 * 60, 17 * 60}};
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  // Monday 2025-06-02, EDT = UTC-4: 09:00 local is 13:00 UTC.
  EXPECT_EQ(Check("u", At(2025, 6, 2, 12, 59)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 13, 0)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 20, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 21, 0)), Skip::kOutsideWorkingHours);
}

TEST_F(EligibilityTest, WarsawWorkingHoursFollowTheSpringDstChange) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "Europe/Warsaw";
  for (int d = 1; d <= 5; ++d) h.days[d] = {{9 * 60, 17 * 60}};
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  // Friday 2025-03-28, CET (UTC+1): 09:00 local = 08:00 UTC.
  EXPECT_EQ(Check("u", At(2025, 3, 28, 7, 59)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 3, 28, 8, 0)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 3, 28, 15, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 3, 28, 16, 0)), Skip::kOutsideWorkingHours);
  // Monday 2025-03-31, CEST (UTC+2): 09:00 local = 07:00 UTC.
  EXPECT_EQ(Check("u", At(2025, 3, 31, 6, 59)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 3, 31, 7, 0)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 3, 31, 14, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 3, 31, 15, 0)), Skip::kOutsideWorkingHours);
}

TEST_F(EligibilityTest, WarsawWorkingHoursFollowTheAutumnDstChange) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "Europe/Warsaw";
  for (int d = 1; d <= 5; ++d) h.days[d] = {{9 * 60, 17 * 60}};
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  // Friday 2025-10-24, CEST: 09:00 = 07:00 UTC. Monday 2025-10-27, CET: 09:00 = 08:00 UTC.
  EXPECT_EQ(Check("u", At(2025, 10, 24, 7, 0)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 10, 24, 15, 0)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 10, 27, 7, 0)), Skip::kOutsideWorkingHours);
  EXPECT_EQ(Check("u", At(2025, 10, 27, 8, 0)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 10, 27, 15, 59)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 10, 27, 16, 0)), Skip::kOutsideWorkingHours);
}

TEST_F(EligibilityTest, WorkingHoursOnTheDstNightsThemselves) {
  User u = MakeUser("u");
  WorkingHours h;
  h.tz = "Europe/Warsaw";
  h.days[0] = {{60, 4 * 60}};  // Sunday 01:00–04:00 local
  u.working_hours = h;
  config_.users.push_back(u);
  Build();
  // 2025-03-30: 02:00 CET jumps to 03:00 CEST (at 01:00 UTC).
  EXPECT_EQ(Check("u", At(2025, 3, 29, 23, 59)), Skip::kOutsideWorkingHours);  // 00:59 CET
  EXPECT_EQ(Check("u", At(2025, 3, 30, 0, 0)), std::nullopt);                  // 01:00 CET
  EXPECT_EQ(Check("u", At(2025, 3, 30, 1, 30)), std::nullopt);                 // 03:30 CEST
  EXPECT_EQ(Check("u", At(2025, 3, 30, 2, 0)), Skip::kOutsideWorkingHours);    // 04:00 CEST
  // 2025-10-26: 03:00 CEST falls back to 02:00 CET (at 01:00 UTC); 02:30 happens twice.
  EXPECT_EQ(Check("u", At(2025, 10, 25, 23, 0)), std::nullopt);                // 01:00 CEST
  EXPECT_EQ(Check("u", At(2025, 10, 26, 0, 30)), std::nullopt);                // 02:30 CEST
  EXPECT_EQ(Check("u", At(2025, 10, 26, 1, 30)), std::nullopt);                // 02:30 CET
  EXPECT_EQ(Check("u", At(2025, 10, 26, 2, 59)), std::nullopt);                // 03:59 CET
  EXPECT_EQ(Check("u", At(2025, 10, 26, 3, 0)), Skip::kOutsideWorkingHours);   // 04:00 CET
}

TEST(StartOfDayTest, UtcAndZones) {
  EXPECT_EQ(StartOfDay(nullptr, At(2025, 6, 2, 13, 45)), At(2025, 6, 2));
  const date::time_zone* warsaw = date::locate_zone("Europe/Warsaw");
  // Summer: midnight CEST = 22:00 UTC the day before.
  EXPECT_EQ(StartOfDay(warsaw, At(2025, 6, 2, 13)), At(2025, 6, 1, 22));
  EXPECT_EQ(StartOfDay(warsaw, At(2025, 6, 1, 22, 30)), At(2025, 6, 1, 22));
  // The spring change day started at midnight CET; the next day at midnight CEST.
  EXPECT_EQ(StartOfDay(warsaw, At(2025, 3, 30, 12)), At(2025, 3, 29, 23));
  EXPECT_EQ(StartOfDay(warsaw, At(2025, 3, 31, 12)), At(2025, 3, 30, 22));
  // The autumn change day started at midnight CEST.
  EXPECT_EQ(StartOfDay(warsaw, At(2025, 10, 26, 12)), At(2025, 10, 25, 22));
  EXPECT_EQ(StartOfDay(warsaw, At(2025, 10, 27, 12)), At(2025, 10, 26, 23));
}

TEST_F(EligibilityTest, PerDayCapCountsSinceUtcMidnightByDefault) {
  User u = MakeUser("u");
  u.caps.per_day = 2;
  config_.users.push_back(u);
  Build();
  GiveAt("u", At(2025, 6, 1, 23, 59, 59), "r0");  // yesterday: does not count
  GiveAt("u", At(2025, 6, 2, 0, 0, 0), "r1");
  EXPECT_EQ(Check("u", At(2025, 6, 2, 12)), std::nullopt);
  GiveAt("u", At(2025, 6, 2, 11), "r2");
  EXPECT_EQ(Check("u", At(2025, 6, 2, 12)), Skip::kPerDayCap);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 23, 59, 59)), Skip::kPerDayCap);
  EXPECT_EQ(Check("u", At(2025, 6, 3, 0, 0)), std::nullopt);
}

// A simulation's lines need not come in time order: a record given later that day (or
// on a later day) does not count for a decision at an earlier time.
TEST_F(EligibilityTest, PerDayCapCountsNothingAfterTheDecision) {
  User u = MakeUser("u");
  u.caps.per_day = 1;
  config_.users.push_back(u);
  Build();
  GiveAt("u", At(2025, 6, 2, 15), "r1");
  EXPECT_EQ(Check("u", At(2025, 6, 2, 9)), std::nullopt);
  EXPECT_EQ(Check("u", At(2025, 6, 2, 15)), Skip::kPerDayCap);
  EXPECT_EQ(Check("u", At(2025, 6, 1, 9)), std::nullopt);
}

TEST_F(EligibilityTest, PerDayCapCountsSinceMidnightInTheWorkspaceZone) {
  User u = MakeUser("u");
  u.caps.per_day = 1;
  config_.users.push_back(u);
  config_.settings.time_zone = "America/New_York";
  Build();
  GiveAt("u", At(2025, 6, 10, 3, 0), "r1");  // 23:00 EDT on June 9
  EXPECT_EQ(Check("u", At(2025, 6, 10, 3, 30)), Skip::kPerDayCap);  // still June 9 in New York
  EXPECT_EQ(Check("u", At(2025, 6, 10, 4, 0)), std::nullopt);       // 00:00 EDT June 10
}

TEST_F(EligibilityTest, PerDayCapCountsSinceMidnightInTheWorkingHoursZone) {
  User u = MakeUser("u");
  u.caps.per_day = 1;
  u.working_hours = EveryDay("Europe/Warsaw", 0, 1440);
  config_.users.push_back(u);
  config_.settings.time_zone = "America/New_York";  // not used: the user has working hours
  Build();
  GiveAt("u", At(2025, 6, 10, 21, 30), "r1");  // 23:30 CEST June 10
  EXPECT_EQ(Check("u", At(2025, 6, 10, 21, 50)), Skip::kPerDayCap);
  EXPECT_EQ(Check("u", At(2025, 6, 10, 22, 0)), std::nullopt);  // 00:00 CEST June 11
}

TEST_F(EligibilityTest, PerDayCapOfZeroExcludesAlways) {
  User u = MakeUser("u");
  u.caps.per_day = 0;
  config_.users.push_back(u);
  Build();
  EXPECT_EQ(Check("u", Monday()), Skip::kPerDayCap);
}

TEST_F(EligibilityTest, MaxOpenCountsOpenRecordsOfTheSameTypeOwnedByTheUser) {
  User u = MakeUser("u");
  u.caps.max_open = 2;
  config_.users.push_back(u);
  config_.users.push_back(MakeUser("v"));
  Build();
  PutOwned("a", {"u"});
  PutOwned("closed", {"u"}, /*open=*/false);
  PutOwned("other-type", {"u"}, true, ObjectType::kDeal);
  PutOwned("someone-else", {"v"});
  EXPECT_EQ(Check("u", Monday()), std::nullopt);  // 1 open lead
  PutOwned("b", {"v", "u"});                       // among several owners
  EXPECT_EQ(Check("u", Monday()), Skip::kMaxOpenCap);
  // The record being decided does not count.
  EXPECT_EQ(Check("u", Monday(), ObjectType::kLead, "b"), std::nullopt);
  // Deals: only one open deal.
  EXPECT_EQ(Check("u", Monday(), ObjectType::kDeal), std::nullopt);
  // A record closed by the CRM no longer counts.
  PutOwned("a", {"u"}, /*open=*/false);
  EXPECT_EQ(Check("u", Monday()), std::nullopt);
}

TEST_F(EligibilityTest, MemoryStateOpenRecordsExcludesTheDecidedRecord) {
  Build();
  PutOwned("a", {"u"});
  PutOwned("b", {"u"});
  EXPECT_EQ(state_.OpenRecords("u", ObjectType::kLead, ""), 2);
  EXPECT_EQ(state_.OpenRecords("u", ObjectType::kLead, "a"), 1);
  EXPECT_EQ(state_.OpenRecords("u", ObjectType::kContact, ""), 0);
}

// ---------------------------------------------------------------- through decide()

Harness PoolOf(std::vector<User> users) {
  Harness h;
  std::vector<std::string> ids;
  for (const User& u : users) ids.push_back(u.id);
  h.config.users = std::move(users);
  h.config.pools.push_back(MakePool("p", ids));
  h.config.rules.push_back(MakeRule("r", ToPool("p")));
  h.Build();
  return h;
}

TEST(PoolEligibilityTest, PoolSkipsOutOfOfficeMemberAndTraceSaysWhy) {
  User b = MakeUser("B");
  b.out_of_office = {{At(2025, 6, 1), At(2025, 6, 3)}};
  Harness h = PoolOf({MakeUser("A"), b, MakeUser("C")});
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  Harness::Options o;
  o.explain = true;
  Decision d = h.Decide(MakeRecord("x"), Monday(), o);
  EXPECT_EQ(d.owner, "C");
  bool skipped = false;
  for (const TraceEntry& e : d.trace) {
    if (e.kind == TraceEntry::Kind::kMember && e.id == "B") {
      skipped = true;
      EXPECT_FALSE(e.ok);
      EXPECT_EQ(e.skip, Skip::kOutOfOffice);
      EXPECT_NE(e.detail.find("out_of_office"), std::string::npos);
    }
  }
  EXPECT_TRUE(skipped);
  // Back at work on the 3rd: B's turn comes in plain order.
  EXPECT_EQ(h.NextOwner(At(2025, 6, 3, 12)), "A");
  EXPECT_EQ(h.NextOwner(At(2025, 6, 3, 12)), "B");
}

TEST(PoolEligibilityTest, PerDayCapCountsEveryDecisionThatGaveTheUserARecord) {
  User a = MakeUser("A");
  a.caps.per_day = 1;
  Harness h;
  h.config.users = {a, MakeUser("B")};
  h.config.pools.push_back(MakePool("p", {"A", "B"}));
  Rule direct = MakeRule("direct", testing::ToUser("A"));
  direct.conditions.all = {testing::Cond("kind", Op::kEq, testing::One("direct"))};
  h.config.rules = {direct, MakeRule("r", ToPool("p"))};
  h.Build();
  // A gets one record by name (caps do not apply to a named user)...
  EXPECT_EQ(h.NextOwner(Monday(), {{"kind", testing::Str("direct")}}), "A");
  EXPECT_EQ(h.NextOwner(Monday(), {{"kind", testing::Str("direct")}}), "A");
  // ...and that counts against A's per-day cap in the pool.
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  EXPECT_EQ(h.NextOwner(Monday() + hours(24)), "A");
}

TEST(PoolEligibilityTest, MaxOpenCapFreesUpWhenARecordCloses) {
  User a = MakeUser("A");
  a.caps.max_open = 1;
  Harness h = PoolOf({a, MakeUser("B")});
  Record r1 = MakeRecord("r1");
  EXPECT_EQ(h.Decide(r1, Monday()).owner, "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  EXPECT_EQ(h.NextOwner(Monday()), "B");  // A holds one open record
  r1.owners = {"A"};
  r1.open = false;  // the CRM says it is won
  h.state.PutRecord(r1);
  EXPECT_EQ(h.NextOwner(Monday()), "A");
}

TEST(PoolEligibilityTest, RedecidingTheSameRecordDoesNotCountItAgainstMaxOpen) {
  User a = MakeUser("A");
  a.caps.max_open = 1;
  Harness h = PoolOf({a});
  Record r1 = MakeRecord("r1");
  EXPECT_EQ(h.Decide(r1, Monday()).owner, "A");
  // A owns r1 (its only open record); deciding r1 again still finds A eligible.
  EXPECT_EQ(h.Peek(r1, Monday()).owner, "A");
  EXPECT_EQ(h.Peek(MakeRecord("r2"), Monday()).outcome, Outcome::kUnassigned);
}

TEST(PoolEligibilityTest, OutsideWorkingHoursMemberIsSkipped) {
  User a = MakeUser("A");
  WorkingHours wh;
  wh.tz = "Europe/Warsaw";
  wh.days[1] = {{9 * 60, 17 * 60}};
  a.working_hours = wh;
  Harness h = PoolOf({a, MakeUser("B")});
  // Monday 2025-06-02 06:00 UTC = 08:00 CEST: A is not working yet.
  EXPECT_EQ(h.NextOwner(At(2025, 6, 2, 6, 0)), "B");
  EXPECT_EQ(h.NextOwner(At(2025, 6, 2, 7, 0)), "A");  // 09:00 CEST
}

}  // namespace
}  // namespace rota::core
