// decide() (SPEC §3, §5, §6, §7, §9 "Explain"): choosing the rule, assign_requested,
// every strategy, every outcome and reason code, follow-up actions, and the trace.
#include "core/decide.h"

#include <gtest/gtest.h>

#include <map>

#include <algorithm>
#include <string>
#include <vector>

#include "core/test_util.h"

namespace rota::core {
namespace {

using testing::At;
using testing::Cond;
using testing::Harness;
using testing::MakeDistribution;
using testing::MakePool;
using testing::MakeRecord;
using testing::MakeRule;
using testing::MakeUser;
using testing::Monday;
using testing::One;
using testing::PoolTarget;
using testing::RuleTarget;
using testing::Str;
using testing::ToDistribution;
using testing::ToField;
using testing::ToLeastLoaded;
using testing::ToPool;
using testing::ToRelatedOwner;
using testing::ToUser;

Rule When(Rule r, std::string field, std::string value) {
  r.conditions.all = {Cond(std::move(field), Op::kEq, One(Str(std::move(value))))};
  return r;
}

User Inactive(std::string id) {
  User u = MakeUser(std::move(id));
  u.active = false;
  return u;
}

Harness::Options Explain() {
  Harness::Options o;
  o.explain = true;
  return o;
}

Harness::Options Requested(Target t, bool explain = false) {
  Harness::Options o;
  o.event = Event::kAssignRequested;
  o.target = std::move(t);
  o.explain = explain;
  return o;
}

Harness::Options On(Event e) {
  Harness::Options o;
  o.event = e;
  return o;
}

// ---------------------------------------------------------------- choosing the rule (§3)

TEST(RuleChoiceTest, FirstMatchingRuleInPriorityOrderDecides) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B"), MakeUser("C")};
  h.config.rules = {When(MakeRule("r1", ToUser("A")), "county", "Kent"), MakeRule("r2", ToUser("B")),
                    MakeRule("r3", ToUser("C"))};
  h.Build();
  Decision d = h.DecideNew(Monday(), {{"county", Str("kent")}});
  EXPECT_EQ(d.owner, "A");
  EXPECT_EQ(d.rule, "r1");
  EXPECT_EQ(d.strategy, "user");
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.reason, std::nullopt);
  d = h.DecideNew(Monday(), {{"county", Str("Essex")}});
  EXPECT_EQ(d.owner, "B");
  EXPECT_EQ(d.rule, "r2");
}

TEST(RuleChoiceTest, LaterRulesAreNotTriedWhenTheChosenAssigneeCannotTakeTheRecord) {
  Harness h;
  h.config.users = {Inactive("A"), MakeUser("B"), MakeUser("D")};
  h.config.pools.push_back(MakePool("p", {"A"}));
  h.config.rules = {MakeRule("r1", ToPool("p")), MakeRule("r2", ToUser("B"))};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.owner, std::nullopt);
  EXPECT_EQ(d.rule, "r1");
  EXPECT_EQ(d.strategy, "pool");
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
}

TEST(RuleChoiceTest, InactiveRulesAreIgnored) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B")};
  Rule off = MakeRule("off", ToUser("A"));
  off.active = false;
  h.config.rules = {off, MakeRule("on", ToUser("B"))};
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.owner, "B");
  EXPECT_EQ(d.rule, "on");
}

TEST(RuleChoiceTest, OnlyRulesListeningToTheEventAreTried) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B"), MakeUser("C")};
  h.config.rules = {MakeRule("upd", ToUser("A"), ObjectType::kLead, {Event::kUpdated}),
                    MakeRule("bulk", ToUser("B"), ObjectType::kLead, {Event::kBulk, Event::kCreated}),
                    MakeRule("any", ToUser("C"), ObjectType::kLead,
                             {Event::kCreated, Event::kUpdated, Event::kBulk, Event::kAssignRequested})};
  h.Build();
  Record r = MakeRecord("x");
  EXPECT_EQ(h.Peek(r, Monday(), On(Event::kCreated)).rule, "bulk");
  EXPECT_EQ(h.Peek(r, Monday(), On(Event::kBulk)).rule, "bulk");
  Properties prev = {{"stage", Str("new")}};
  Harness::Options upd = On(Event::kUpdated);
  upd.previous = &prev;
  EXPECT_EQ(h.Peek(r, Monday(), upd).rule, "upd");
  // assign_requested without a target goes through the rules listening to it.
  EXPECT_EQ(h.Peek(r, Monday(), On(Event::kAssignRequested)).rule, "any");
}

TEST(RuleChoiceTest, RulesOfOtherObjectTypesAreNotTried) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B")};
  h.config.rules = {MakeRule("deal", ToUser("A"), ObjectType::kDeal), MakeRule("lead", ToUser("B"))};
  h.Build();
  EXPECT_EQ(h.DecideNew(Monday()).rule, "lead");
  EXPECT_EQ(h.DecideNew(Monday(), {}, ObjectType::kDeal).rule, "deal");
  Decision c = h.DecideNew(Monday(), {}, ObjectType::kContact);
  EXPECT_EQ(c.outcome, Outcome::kUnassigned);
  EXPECT_EQ(c.reason, Reason::kNoRuleMatched);
}

TEST(RuleChoiceTest, UpdatedRuleOnAChangedStageLikePipedrive) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B")};
  Rule r = MakeRule("won", ToUser("A"), ObjectType::kDeal, {Event::kUpdated});
  r.conditions.all = {Cond("stage", Op::kChangedTo, One("won"))};
  Rule s = MakeRule("moved", ToUser("B"), ObjectType::kDeal, {Event::kUpdated});
  s.conditions.any = {Cond("pipeline", Op::kChanged), Cond("stage", Op::kChangedFrom, One("new"))};
  h.config.rules = {r, s};
  h.Build();
  Record deal = MakeRecord("d1", {{"stage", Str("won")}, {"pipeline", Str("1")}}, ObjectType::kDeal);
  Properties prev = {{"stage", Str("new")}};
  Harness::Options o = On(Event::kUpdated);
  o.previous = &prev;
  EXPECT_EQ(h.Peek(deal, Monday(), o).rule, "won");
  deal.properties["stage"] = Str("lost");
  EXPECT_EQ(h.Peek(deal, Monday(), o).rule, "moved");
  Properties prev2 = {{"pipeline", Str("2")}};
  o.previous = &prev2;
  EXPECT_EQ(h.Peek(deal, Monday(), o).rule, "moved");
  Properties nothing;
  o.previous = &nothing;
  EXPECT_EQ(h.Peek(deal, Monday(), o).reason, Reason::kNoRuleMatched);
}

TEST(NoRuleMatchedTest, WorkspaceDefaultOwnerTakesIt) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("D")};
  h.config.rules = {When(MakeRule("r", ToUser("A")), "county", "Kent")};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.DecideNew(Monday(), {{"county", Str("Essex")}});
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_EQ(d.owner, "D");
  EXPECT_EQ(d.rule, std::nullopt);
  EXPECT_EQ(d.reason, std::nullopt);
}

TEST(NoRuleMatchedTest, WorkspaceDefaultDecisionNamesStrategyDefault) {
  Harness h;
  h.config.users = {MakeUser("D")};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_EQ(d.strategy, "default");
  EXPECT_EQ(d.rule, std::nullopt);
}

TEST(NoRuleMatchedTest, DefaultOwnerIsPerObjectType) {
  Harness h;
  h.config.users = {MakeUser("D")};
  h.config.settings.default_owners[ObjectType::kDeal] = "D";
  h.Build();
  EXPECT_EQ(h.DecideNew(Monday(), {}, ObjectType::kDeal).owner, "D");
  Decision lead = h.DecideNew(Monday());
  EXPECT_EQ(lead.outcome, Outcome::kUnassigned);
  EXPECT_EQ(lead.reason, Reason::kNoRuleMatched);
}

TEST(NoRuleMatchedTest, WithoutDefaultOwnerTheRecordIsUnassigned) {
  Harness h;
  h.config.users = {MakeUser("A")};
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.owner, std::nullopt);
  EXPECT_EQ(d.reason, Reason::kNoRuleMatched);
  EXPECT_EQ(d.rule, std::nullopt);
}

TEST(NoRuleMatchedTest, InactiveDefaultOwnerLeavesItUnassignedAsUserNotFound) {
  Harness h;
  h.config.users = {Inactive("D")};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
}

// ---------------------------------------------------------------- assign_requested (§3.2)

Harness TargetHarness() {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B"), MakeUser("F"), MakeUser("D"), MakeUser("X")};
  h.config.pools.push_back(MakePool("p", {"A", "B"}));
  Rule off = When(MakeRule("off", ToUser("X"), ObjectType::kLead, {Event::kUpdated}), "never", "true");
  off.active = false;
  h.config.rules = {MakeRule("first", ToUser("F")), off};
  h.Build();
  return h;
}

TEST(AssignRequestedTest, PoolTargetDecidesIgnoringTheRules) {
  Harness h = TargetHarness();
  Decision d = h.Decide(MakeRecord("x"), Monday(), Requested(PoolTarget("p")));
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "A");
  EXPECT_EQ(d.strategy, "pool");
  EXPECT_EQ(d.rule, std::nullopt);
  EXPECT_TRUE(d.notify);  // the pool's member is told, as in Zendesk Sell
  EXPECT_EQ(h.Decide(MakeRecord("y"), Monday(), Requested(PoolTarget("p"))).owner, "B");
}

TEST(AssignRequestedTest, RuleTargetDecidesIgnoringConditionsEventsAndActiveSwitch) {
  Harness h = TargetHarness();
  Decision d = h.Decide(MakeRecord("x"), Monday(), Requested(RuleTarget("off")));
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "X");
  EXPECT_EQ(d.rule, "off");
  EXPECT_EQ(d.strategy, "user");
}

TEST(AssignRequestedTest, UnknownTargetIsNotFound) {
  Harness h = TargetHarness();
  Record r = MakeRecord("x");
  auto pool = h.Try(r, Monday(), Requested(PoolTarget("nope")));
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), Code::kNotFound);
  auto rule = h.Try(r, Monday(), Requested(RuleTarget("nope")));
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.status().code(), Code::kNotFound);
  // A pool id is not a rule id, nor the other way round.
  EXPECT_EQ(h.Try(r, Monday(), Requested(RuleTarget("p"))).status().code(), Code::kNotFound);
  EXPECT_EQ(h.Try(r, Monday(), Requested(PoolTarget("first"))).status().code(), Code::kNotFound);
}

TEST(AssignRequestedTest, TargetOfAnotherObjectTypeIsRefused) {
  Harness h = TargetHarness();
  Record deal = MakeRecord("x", {}, ObjectType::kDeal);
  EXPECT_EQ(h.Try(deal, Monday(), Requested(PoolTarget("p"))).status().code(), Code::kInvalid);
  EXPECT_EQ(h.Try(deal, Monday(), Requested(RuleTarget("first"))).status().code(), Code::kInvalid);
}

TEST(AssignRequestedTest, PoolTargetFindingNobodyFallsToTheWorkspaceDefault) {
  Harness h;
  h.config.users = {Inactive("A"), MakeUser("D")};
  h.config.pools.push_back(MakePool("p", {"A"}));
  h.Build();
  Decision d = h.Peek(MakeRecord("x"), Monday(), Requested(PoolTarget("p")));
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  d = h.Peek(MakeRecord("x"), Monday(), Requested(PoolTarget("p")));
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_EQ(d.owner, "D");
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
  EXPECT_TRUE(d.changes.pools.empty());
  EXPECT_FALSE(d.notify);  // the default owner is not the pool's pick
}

TEST(AssignRequestedTest, RuleTargetFindingNobodyUsesFallbackThenWorkspaceDefault) {
  Harness h;
  h.config.users = {Inactive("A"), MakeUser("F"), MakeUser("D")};
  Rule r = MakeRule("r", ToUser("A"));
  r.fallback_user = "F";
  r.actions.tag = "routed";
  h.config.rules = {r};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.Peek(MakeRecord("x"), Monday(), Requested(RuleTarget("r")));
  EXPECT_EQ(d.outcome, Outcome::kFallback);
  EXPECT_EQ(d.owner, "F");
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
  // Without a usable fallback user, the workspace default owner.
  h.config.users[1].active = false;
  h.Build();
  d = h.Peek(MakeRecord("x"), Monday(), Requested(RuleTarget("r")));
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_EQ(d.owner, "D");
  EXPECT_EQ(d.rule, "r");
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
  // And without a default owner: unassigned.
  h.config.settings.default_owners.clear();
  h.Build();
  d = h.Peek(MakeRecord("x"), Monday(), Requested(RuleTarget("r")));
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
}

TEST(AssignRequestedTest, MatchedRuleFindingNobodyDoesNotUseTheWorkspaceDefault) {
  Harness h;
  h.config.users = {Inactive("A"), MakeUser("D")};
  h.config.rules = {MakeRule("r", ToUser("A"))};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
}

// ---------------------------------------------------------------- user / fallback (§5, §6)

TEST(UserStrategyTest, NamedUserOnlyHasToExistAndBeActive) {
  User a = MakeUser("A");
  a.out_of_office = {{At(2025, 1, 1), At(2026, 1, 1)}};
  a.caps.per_day = 0;
  a.caps.max_open = 0;
  Harness h;
  h.config.users = {a};
  h.config.rules = {MakeRule("r", ToUser("A"))};
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "A");
}

TEST(UserStrategyTest, InactiveUserIsUserNotFound) {
  Harness h;
  h.config.users = {Inactive("A")};
  h.config.rules = {MakeRule("r", ToUser("A"))};
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
  EXPECT_EQ(d.rule, "r");
}

TEST(FallbackTest, FallbackUserTakesItAndTheReasonIsKept) {
  Harness h;
  h.config.users = {Inactive("A"), MakeUser("F")};
  h.config.pools.push_back(MakePool("p", {"A"}));
  Rule r = MakeRule("r", ToPool("p"));
  r.fallback_user = "F";
  h.config.rules = {r};
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kFallback);
  EXPECT_EQ(d.owner, "F");
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
  EXPECT_EQ(d.rule, "r");
  EXPECT_EQ(d.strategy, "pool");
}

TEST(FallbackTest, FallbackUserIgnoresEligibilityButMustBeActive) {
  User f = MakeUser("F");
  f.out_of_office = {{At(2025, 1, 1), At(2026, 1, 1)}};
  Harness h;
  h.config.users = {Inactive("A"), f};
  Rule r = MakeRule("r", ToUser("A"));
  r.fallback_user = "F";
  h.config.rules = {r};
  h.Build();
  EXPECT_EQ(h.DecideNew(Monday()).owner, "F");
  h.config.users[1].active = false;
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
}

// SPEC §5: a fallback user only has to exist and be active, else `user_not_found`, even
// where the strategy found nobody for another reason (which the trace keeps).
TEST(FallbackTest, AnInactiveFallbackUserIsUserNotFound) {
  Harness h;
  h.config.users = {Inactive("A"), Inactive("F")};
  h.config.pools.push_back(MakePool("p", {"A"}));
  Rule r = MakeRule("r", ToPool("p"));
  r.fallback_user = "F";
  h.config.rules = {r};
  h.Build();
  Harness::Options explain;
  explain.explain = true;
  Decision d = h.Decide(MakeRecord("x"), Monday(), explain);
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
  ASSERT_GE(d.trace.size(), 2u);
  bool strategy_reason_kept = false;
  for (const TraceEntry& e : d.trace) {
    if (e.kind == TraceEntry::Kind::kStrategy && e.reason == Reason::kNoEligibleUser) strategy_reason_kept = true;
  }
  EXPECT_TRUE(strategy_reason_kept);
}

// A pool target whose pool finds nobody, with an inactive workspace default owner: the
// default is the last named user who could not take it.
TEST(AssignRequestedTest, PoolTargetWithAnInactiveDefaultOwnerIsUserNotFound) {
  Harness h;
  h.config.users = {Inactive("A"), Inactive("D")};
  h.config.pools.push_back(MakePool("p", {"A"}));
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.Peek(MakeRecord("x"), Monday(), Requested(PoolTarget("p")));
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
  h.config.settings.default_owners.clear();
  h.Build();
  EXPECT_EQ(h.Peek(MakeRecord("x"), Monday(), Requested(PoolTarget("p"))).reason, Reason::kNoEligibleUser);
}

TEST(FallbackTest, FallbackIsNotUsedWhenTheStrategyFoundSomeone) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("F")};
  Rule r = MakeRule("r", ToUser("A"));
  r.fallback_user = "F";
  h.config.rules = {r};
  h.Build();
  Decision d = h.DecideNew(Monday());
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "A");
}

// ---------------------------------------------------------------- field

TEST(FieldStrategyTest, OwnerIdComesFromTheProperty) {
  Harness h;
  h.config.users = {MakeUser("u-7"), Inactive("u-8")};
  h.config.rules = {MakeRule("r", ToField("owner_id"))};
  h.Build();
  Decision d = h.DecideNew(Monday(), {{"owner_id", Str(" u-7 ")}});
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "u-7");
  EXPECT_EQ(d.strategy, "field");
  EXPECT_EQ(h.DecideNew(Monday(), {{"owner_id", Str("u-8")}}).reason, Reason::kUserNotFound);
  EXPECT_EQ(h.DecideNew(Monday(), {{"owner_id", Str("nobody")}}).reason, Reason::kUserNotFound);
}

TEST(FieldStrategyTest, EmptyOrMissingPropertyIsFieldEmpty) {
  Harness h;
  h.config.users = {MakeUser("u")};
  h.config.rules = {MakeRule("r", ToField("owner_id"))};
  h.Build();
  for (const Properties& p : {Properties{}, Properties{{"owner_id", Str("  ")}},
                              Properties{{"owner_id", Value::Null()}}}) {
    Decision d = h.DecideNew(Monday(), p);
    EXPECT_EQ(d.outcome, Outcome::kUnassigned);
    EXPECT_EQ(d.reason, Reason::kFieldEmpty);
  }
}

TEST(FieldStrategyTest, NumericOwnerIdsWork) {
  Harness h;
  h.config.users = {MakeUser("12345")};
  h.config.rules = {MakeRule("r", ToField("hubspot_owner_id"))};
  h.Build();
  EXPECT_EQ(h.DecideNew(Monday(), {{"hubspot_owner_id", testing::Num("12345")}}).owner, "12345");
}

// ---------------------------------------------------------------- related_owner

class RelatedOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.config.users = {MakeUser("A"), MakeUser("B"), Inactive("Z")};
    h_.config.rules = {MakeRule("byco", ToRelatedOwner(Relation::kCompany), ObjectType::kDeal),
                       MakeRule("byperson", ToRelatedOwner(Relation::kPerson), ObjectType::kLead)};
    h_.Build();
  }
  void Put(ObjectType t, std::string id, std::vector<std::string> owners) {
    Record r = MakeRecord(std::move(id), {}, t);
    r.owners = std::move(owners);
    h_.state.PutRecord(r);
  }
  Decision DealWith(std::map<std::string, std::string, std::less<>> links) {
    Record r = MakeRecord("deal", {}, ObjectType::kDeal);
    r.links = std::move(links);
    return h_.Peek(r, Monday());
  }
  Decision LeadWith(std::map<std::string, std::string, std::less<>> links) {
    Record r = MakeRecord("lead", {}, ObjectType::kLead);
    r.links = std::move(links);
    return h_.Peek(r, Monday());
  }
  Harness h_;
};

TEST_F(RelatedOwnerTest, TakesTheFirstOwnerOfTheLinkedCompany) {
  Put(ObjectType::kCompany, "C-1", {"B", "A"});
  Decision d = DealWith({{"company", "C-1"}});
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "B");
  EXPECT_EQ(d.strategy, "related_owner");
}

TEST_F(RelatedOwnerTest, PersonLinkNamesAContactRecord) {
  Put(ObjectType::kContact, "P-1", {"A"});
  Put(ObjectType::kCompany, "P-2", {"A"});  // a company with the id of a person link
  EXPECT_EQ(LeadWith({{"person", "P-1"}}).owner, "A");
  EXPECT_EQ(LeadWith({{"person", "P-2"}}).reason, Reason::kPersonNotFound);
}

TEST_F(RelatedOwnerTest, MissingLinksAreNotLinked) {
  Put(ObjectType::kContact, "P-1", {"A"});
  EXPECT_EQ(DealWith({}).reason, Reason::kCompanyNotLinked);
  EXPECT_EQ(DealWith({{"person", "P-1"}}).reason, Reason::kCompanyNotLinked);
  EXPECT_EQ(DealWith({{"company", ""}}).reason, Reason::kCompanyNotLinked);
  EXPECT_EQ(LeadWith({}).reason, Reason::kPersonNotLinked);
  EXPECT_EQ(LeadWith({{"company", "C-1"}}).reason, Reason::kPersonNotLinked);
}

TEST_F(RelatedOwnerTest, UnknownLinkedRecordsAreNotFound) {
  Decision d = DealWith({{"company", "C-404"}});
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kCompanyNotFound);
  EXPECT_EQ(LeadWith({{"person", "P-404"}}).reason, Reason::kPersonNotFound);
}

TEST_F(RelatedOwnerTest, KnownRecordWithoutOwnerIsRelatedHasNoOwner) {
  Put(ObjectType::kCompany, "C-1", {});
  Put(ObjectType::kContact, "P-1", {});
  EXPECT_EQ(DealWith({{"company", "C-1"}}).reason, Reason::kRelatedHasNoOwner);
  EXPECT_EQ(LeadWith({{"person", "P-1"}}).reason, Reason::kRelatedHasNoOwner);
}

TEST_F(RelatedOwnerTest, InactiveRelatedOwnerIsUserNotFound) {
  Put(ObjectType::kCompany, "C-1", {"Z", "A"});
  EXPECT_EQ(DealWith({{"company", "C-1"}}).reason, Reason::kUserNotFound);
}

// ---------------------------------------------------------------- distribution (§5.2)

Harness DistHarness(std::optional<std::string> default_owner) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B"), MakeUser("D"), MakeUser("F")};
  Distribution d = MakeDistribution("d", "county", {{"Kraków", {{"A", 50}, {"B", 50}}}});
  d.default_owner = std::move(default_owner);
  h.config.distributions = {d};
  h.config.rules = {MakeRule("r", ToDistribution("d"))};
  h.Build();
  return h;
}

TEST(DistributionStrategyTest, ValueWithAKeyIsAssignedByTheKey) {
  Harness h = DistHarness(std::nullopt);
  Decision d = h.DecideNew(Monday(), {{"county", Str("Kraków")}});
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "A");
  EXPECT_EQ(d.strategy, "distribution");
  EXPECT_TRUE(d.changes.unkeyed.empty());
}

TEST(DistributionStrategyTest, ValueIsMatchedToTheKeysWithFolding) {
  Harness h = DistHarness(std::nullopt);
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str(" KRAKÓW ")}}), "A");
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("Krako\xCC\x81w")}}), "B");  // NFD
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("kraków")}}), "A");
}

TEST(DistributionStrategyTest, ValueWithoutAKeyGoesToTheDefaultOwnerAndIsListed) {
  Harness h = DistHarness("D");
  Decision d = h.DecideNew(Monday(), {{"county", Str(" Gdańsk ")}});
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_EQ(d.owner, "D");
  EXPECT_EQ(d.rule, "r");
  EXPECT_EQ(d.reason, std::nullopt);
  ASSERT_EQ(d.changes.unkeyed.size(), 1u);
  EXPECT_EQ(d.changes.unkeyed[0].distribution, "d");
  EXPECT_EQ(d.changes.unkeyed[0].value, "Gdańsk");
  EXPECT_EQ(h.state.Unkeyed().count({"d", "Gdańsk"}), 1u);
}

// A value no key could have (a key's value holds no NUL or other control character) goes
// to the default owner as any value without a key, but is not listed as one to give a key.
TEST(DistributionStrategyTest, AValueNoKeyCouldHaveIsNotListed) {
  Harness h = DistHarness("D");
  Decision d = h.DecideNew(Monday(), {{"county", Str(std::string("a\0b", 3))}});
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_EQ(d.owner, "D");
  EXPECT_TRUE(d.changes.unkeyed.empty());
  d = h.DecideNew(Monday(), {{"county", Str("two\nlines")}});  // a key's value may have lines
  ASSERT_EQ(d.changes.unkeyed.size(), 1u);
}

TEST(DistributionStrategyTest, ValueWithoutAKeyAndNoDefaultOwnerIsNoDistributionKey) {
  Harness h = DistHarness(std::nullopt);
  Decision d = h.DecideNew(Monday(), {{"county", Str("Gdańsk")}});
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kNoDistributionKey);
}

TEST(DistributionStrategyTest, EmptyValueHasNoKeyAndIsNotListed) {
  Harness h = DistHarness("D");
  for (const Properties& p : {Properties{}, Properties{{"county", Str("   ")}}, Properties{{"county", Value::Null()}}}) {
    Decision d = h.DecideNew(Monday(), p);
    EXPECT_EQ(d.outcome, Outcome::kDefault);
    EXPECT_EQ(d.owner, "D");
    EXPECT_TRUE(d.changes.unkeyed.empty());
  }
  EXPECT_TRUE(h.state.Unkeyed().empty());
  Harness n = DistHarness(std::nullopt);
  EXPECT_EQ(n.DecideNew(Monday()).reason, Reason::kNoDistributionKey);
}

TEST(DistributionStrategyTest, KeyWithNobodyEligibleIsNoEligibleUserThenFallback) {
  Harness h;
  h.config.users = {Inactive("A"), Inactive("B"), MakeUser("F")};
  h.config.distributions = {MakeDistribution("d", "county", {{"Kent", {{"A", 50}, {"B", 50}}}})};
  Rule r = MakeRule("r", ToDistribution("d"));
  h.config.rules = {r};
  h.Build();
  Decision d = h.DecideNew(Monday(), {{"county", Str("Kent")}});
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
  EXPECT_TRUE(d.changes.keys.empty());
  h.config.rules[0].fallback_user = "F";
  h.Build();
  d = h.DecideNew(Monday(), {{"county", Str("Kent")}});
  EXPECT_EQ(d.outcome, Outcome::kFallback);
  EXPECT_EQ(d.owner, "F");
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
}

TEST(DistributionStrategyTest, NumericValuesMatchTheirKey) {
  Harness h;
  h.config.users = {MakeUser("A")};
  h.config.distributions = {MakeDistribution("d", "zip", {{"30301", {{"A", 100}}}})};
  h.config.rules = {MakeRule("r", ToDistribution("d"))};
  h.Build();
  EXPECT_EQ(h.NextOwner(Monday(), {{"zip", testing::Num("30301")}}), "A");
}

// ---------------------------------------------------------------- least_loaded

Harness LoadHarness() {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B"), MakeUser("C")};
  h.config.pools.push_back(MakePool("p", {"A", "B", "C"}));
  h.config.rules = {When(MakeRule("ll", ToLeastLoaded("p")), "kind", "ll"), MakeRule("rr", ToPool("p"))};
  h.Build();
  return h;
}

void Own(Harness& h, const std::string& id, std::string user, bool open = true, ObjectType t = ObjectType::kLead) {
  Record r = MakeRecord(id, {}, t);
  r.owners = {std::move(user)};
  r.open = open;
  h.state.PutRecord(r);
}

const Properties kLl = {{"kind", Str("ll")}};

TEST(LeastLoadedTest, PicksTheMemberWithFewestOpenRecords) {
  Harness h = LoadHarness();
  Own(h, "1", "A");
  Own(h, "2", "A");
  Own(h, "3", "B");
  Own(h, "4", "C");
  Own(h, "5", "C");
  Decision d = h.DecideNew(Monday(), kLl);
  EXPECT_EQ(d.owner, "B");
  EXPECT_EQ(d.strategy, "least_loaded");
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
}

TEST(LeastLoadedTest, TiesGoByPoolOrder) {
  Harness h = LoadHarness();
  EXPECT_EQ(h.NextOwner(Monday(), kLl), "A");
  EXPECT_EQ(h.NextOwner(Monday(), kLl), "B");
  EXPECT_EQ(h.NextOwner(Monday(), kLl), "C");
  EXPECT_EQ(h.NextOwner(Monday(), kLl), "A");
}

TEST(LeastLoadedTest, CountsOnlyOpenRecordsOfTheSameTypeExcludingTheDecidedOne) {
  Harness h = LoadHarness();
  Own(h, "closed1", "A", false);
  Own(h, "closed2", "A", false);
  Own(h, "deal", "A", true, ObjectType::kDeal);
  Own(h, "b1", "B");
  Own(h, "c1", "C");
  EXPECT_EQ(h.Peek(MakeRecord("new", kLl), Monday()).owner, "A");
  Own(h, "a1", "A");
  Own(h, "a2", "A");
  // Re-deciding a2 (A's own record) does not count it: A has 1 open, ties with B and C.
  EXPECT_EQ(h.Peek(MakeRecord("a2", kLl), Monday()).owner, "A");
  EXPECT_EQ(h.Peek(MakeRecord("new", kLl), Monday()).owner, "B");
}

TEST(LeastLoadedTest, SkipsIneligibleMembers) {
  Harness h = LoadHarness();
  h.config.users[0].active = false;
  h.Build();
  Own(h, "b1", "B");
  EXPECT_EQ(h.NextOwner(Monday(), kLl), "C");
  h.config.users[1].active = false;
  h.config.users[2].active = false;
  h.Build();
  Decision d = h.DecideNew(Monday(), kLl);
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(d.reason, Reason::kNoEligibleUser);
}

TEST(LeastLoadedTest, DoesNotMoveThePoolsRoundRobinPointer) {
  Harness h = LoadHarness();
  EXPECT_EQ(h.NextOwner(Monday()), "A");  // round robin: A
  for (int i = 0; i < 4; ++i) {
    Decision d = h.DecideNew(Monday(), kLl);
    EXPECT_TRUE(d.changes.pools.empty());
  }
  EXPECT_EQ(h.state.PoolPointer("p"), 1);
  EXPECT_EQ(h.NextOwner(Monday()), "B");  // round robin goes on after A
}

// ---------------------------------------------------------------- follow-ups (§7)

class FollowUpTest : public ::testing::Test {
 protected:
  void Make(RelatedMode mode, std::vector<Relation> rels) {
    h_.config.users = {MakeUser("A"), MakeUser("Z"), Inactive("X")};
    Rule r = MakeRule("r", ToUser("A"), ObjectType::kDeal);
    r.actions.apply_to_related = std::move(rels);
    r.actions.related_mode = mode;
    r.actions.tag = "routed";
    r.actions.note = "assigned by rota";
    r.actions.notify = true;
    Rule dead = When(MakeRule("dead", ToUser("X"), ObjectType::kDeal), "dead", "yes");
    dead.actions = r.actions;
    h_.config.rules = {dead, r};
    h_.Build();
    Record co = MakeRecord("C-1", {}, ObjectType::kCompany);
    co.owners = {"Z"};
    h_.state.PutRecord(co);
    Record person = MakeRecord("P-1", {}, ObjectType::kContact);
    person.owners = {"Z"};
    h_.state.PutRecord(person);
  }
  Record Deal(Properties p = {}) {
    Record r = MakeRecord("D-1", std::move(p), ObjectType::kDeal);
    r.links = {{"company", "C-1"}, {"person", "P-1"}};
    return r;
  }
  Harness h_;
};

TEST_F(FollowUpTest, ReplaceSetsTheOwnerAsTheOnlyOwnerOfLinkedRecords) {
  Make(RelatedMode::kReplace, {Relation::kCompany, Relation::kPerson});
  Decision d = h_.Decide(Deal(), Monday());
  ASSERT_EQ(d.related.size(), 2u);
  EXPECT_EQ(d.related[0], (RelatedChange{ObjectType::kCompany, "C-1", {"A"}}));
  EXPECT_EQ(d.related[1], (RelatedChange{ObjectType::kContact, "P-1", {"A"}}));
  EXPECT_EQ(h_.state.FindRecord(ObjectType::kCompany, "C-1")->owners, (std::vector<std::string>{"A"}));
  EXPECT_EQ(h_.state.FindRecord(ObjectType::kContact, "P-1")->owners, (std::vector<std::string>{"A"}));
  EXPECT_EQ(d.tag, "routed");
  EXPECT_EQ(d.note, "assigned by rota");
  EXPECT_TRUE(d.notify);
  EXPECT_EQ(h_.state.FindRecord(ObjectType::kDeal, "D-1")->tags, (std::vector<std::string>{"routed"}));
}

TEST_F(FollowUpTest, AddKeepsExistingOwnersAndAddsTheNewOneOnce) {
  Make(RelatedMode::kAdd, {Relation::kCompany});
  Decision d = h_.Decide(Deal(), Monday());
  ASSERT_EQ(d.related.size(), 1u);
  EXPECT_EQ(d.related[0], (RelatedChange{ObjectType::kCompany, "C-1", {"Z", "A"}}));
  // Deciding again does not add A twice.
  d = h_.Decide(Deal(), Monday());
  ASSERT_EQ(d.related.size(), 1u);
  EXPECT_EQ(d.related[0].owners, (std::vector<std::string>{"Z", "A"}));
  // The person was not listed: untouched.
  EXPECT_EQ(h_.state.FindRecord(ObjectType::kContact, "P-1")->owners, (std::vector<std::string>{"Z"}));
}

TEST_F(FollowUpTest, FallbackDecisionAlsoAppliesTheRulesFollowUps) {
  Make(RelatedMode::kReplace, {Relation::kCompany});
  h_.config.rules[0].fallback_user = "Z";
  h_.Build();
  Decision d = h_.Decide(Deal({{"dead", Str("yes")}}), Monday());
  EXPECT_EQ(d.outcome, Outcome::kFallback);
  EXPECT_EQ(d.owner, "Z");
  EXPECT_EQ(d.reason, Reason::kUserNotFound);
  ASSERT_EQ(d.related.size(), 1u);
  EXPECT_EQ(d.related[0].owners, (std::vector<std::string>{"Z"}));
  EXPECT_EQ(d.tag, "routed");
}

TEST_F(FollowUpTest, MissingLinkIsSkipped) {
  Make(RelatedMode::kReplace, {Relation::kCompany, Relation::kPerson});
  Record r = Deal();
  r.links.erase("person");
  Decision d = h_.Decide(r, Monday());
  ASSERT_EQ(d.related.size(), 1u);
  EXPECT_EQ(d.related[0].object_type, ObjectType::kCompany);
}

TEST_F(FollowUpTest, UnassignedDecisionHasNoFollowUps) {
  Make(RelatedMode::kReplace, {Relation::kCompany});
  Decision d = h_.Decide(Deal({{"dead", Str("yes")}}), Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_TRUE(d.related.empty());
  EXPECT_TRUE(d.tag.empty());
  EXPECT_TRUE(d.note.empty());
  EXPECT_FALSE(d.notify);
  EXPECT_EQ(h_.state.FindRecord(ObjectType::kCompany, "C-1")->owners, (std::vector<std::string>{"Z"}));
}

TEST(UnassignedTest, UnassignedDecisionLeavesTheOwnersAsTheyWere) {
  Harness h;
  h.config.users = {MakeUser("A"), Inactive("X")};
  h.config.rules = {When(MakeRule("a", ToUser("A")), "to", "a"), When(MakeRule("x", ToUser("X")), "to", "x")};
  h.Build();
  Record r = MakeRecord("r1", {{"to", Str("a")}});
  EXPECT_EQ(h.Decide(r, Monday()).owner, "A");
  r.properties["to"] = Str("x");
  Decision d = h.Decide(r, Monday());
  EXPECT_EQ(d.outcome, Outcome::kUnassigned);
  EXPECT_EQ(h.state.FindRecord(ObjectType::kLead, "r1")->owners, (std::vector<std::string>{"A"}));
}

TEST(PerDayTest, DefaultAndFallbackOutcomesCountTowardsPerDay) {
  User d = MakeUser("D");
  d.caps.per_day = 1;
  Harness h;
  h.config.users = {d, MakeUser("B")};
  h.config.pools.push_back(MakePool("p", {"D", "B"}));
  h.config.rules = {When(MakeRule("r", ToPool("p")), "go", "pool")};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  EXPECT_EQ(h.DecideNew(Monday()).outcome, Outcome::kDefault);  // D gets one as default owner
  EXPECT_EQ(h.NextOwner(Monday(), {{"go", Str("pool")}}), "B");  // D is at its cap
}

// ---------------------------------------------------------------- explain (§9)

const TraceEntry* Find(const std::vector<TraceEntry>& t, TraceEntry::Kind k, const std::string& id) {
  for (const TraceEntry& e : t) {
    if (e.kind == k && e.id == id) return &e;
  }
  return nullptr;
}

TEST(ExplainTest, NoTraceUnlessAsked) {
  Harness h = LoadHarness();
  EXPECT_TRUE(h.DecideNew(Monday()).trace.empty());
}

TEST(ExplainTest, TraceNamesEachRuleTriedWithItsFirstFailedCondition) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B"), MakeUser("C")};
  Rule r1 = MakeRule("r1", ToUser("A"));
  r1.conditions.all = {Cond("country", Op::kEq, One("PL")), Cond("amount", Op::kGt, One("1000")),
                       Cond("size", Op::kEq, One("big"))};
  Rule r2 = MakeRule("r2", ToUser("B"));
  r2.conditions.any = {Cond("source", Op::kEq, One("web")), Cond("source", Op::kEq, One("ads"))};
  Rule r3 = MakeRule("r3", ToUser("C"));
  h.config.rules = {r1, r2, r3};
  h.Build();
  Record rec = MakeRecord("x", {{"country", Str("pl")}, {"amount", Str("50")}, {"source", Str("mail")}});
  Decision d = h.Peek(rec, Monday(), Explain());
  EXPECT_EQ(d.rule, "r3");
  const TraceEntry* t1 = Find(d.trace, TraceEntry::Kind::kRule, "r1");
  ASSERT_NE(t1, nullptr);
  EXPECT_FALSE(t1->ok);
  EXPECT_EQ(t1->set, "all");
  EXPECT_EQ(t1->index, 1);  // amount gt 1000, not the later size condition
  EXPECT_NE(t1->detail.find("amount"), std::string::npos) << t1->detail;
  EXPECT_NE(t1->detail.find("gt"), std::string::npos) << t1->detail;
  const TraceEntry* t2 = Find(d.trace, TraceEntry::Kind::kRule, "r2");
  ASSERT_NE(t2, nullptr);
  EXPECT_FALSE(t2->ok);
  EXPECT_EQ(t2->set, "any");
  const TraceEntry* t3 = Find(d.trace, TraceEntry::Kind::kRule, "r3");
  ASSERT_NE(t3, nullptr);
  EXPECT_TRUE(t3->ok);
  // Rules are listed in the order they were tried.
  EXPECT_LT(t1, t2);
  EXPECT_LT(t2, t3);
}

// A failed condition is named in the trace with a list's first ten items and a long text's
// first 200 bytes, not whole: one explained decision over long `in` lists answered 50 MB.
TEST(ExplainTest, ATraceNamesLongListsAndTextsShort) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B")};
  Rule r1 = MakeRule("r1", ToUser("A"));
  ConditionValue many;
  many.shape = ConditionValue::Shape::kList;
  for (int i = 0; i < 500; ++i) many.items.push_back(Str("country-" + std::to_string(i)));
  r1.conditions.all = {Cond("country", Op::kIn, many)};
  Rule r2 = MakeRule("r2", ToUser("B"));
  r2.conditions.all = {Cond("note", Op::kEq, One(std::string(5000, 'n').c_str()))};
  Rule r3 = MakeRule("r3", ToUser("A"));
  h.config.rules = {r1, r2, r3};
  h.Build();
  Decision d = h.Peek(MakeRecord("x", {{"country", Str("pl")}}), Monday(), Explain());
  const TraceEntry* t1 = Find(d.trace, TraceEntry::Kind::kRule, "r1");
  ASSERT_NE(t1, nullptr);
  EXPECT_NE(t1->detail.find("\"country-9\" and 490 more]"), std::string::npos) << t1->detail;
  EXPECT_EQ(t1->detail.find("country-10\""), std::string::npos) << t1->detail;
  const TraceEntry* t2 = Find(d.trace, TraceEntry::Kind::kRule, "r2");
  ASSERT_NE(t2, nullptr);
  EXPECT_LT(t2->detail.size(), 300u) << t2->detail;
  EXPECT_NE(t2->detail.find(std::string(200, 'n') + "…\""), std::string::npos) << t2->detail;
}

TEST(ExplainTest, RulesAfterTheMatchAreNotInTheTrace) {
  Harness h;
  h.config.users = {MakeUser("A"), MakeUser("B")};
  h.config.rules = {MakeRule("r1", ToUser("A")), MakeRule("r2", ToUser("B"))};
  h.Build();
  Decision d = h.Peek(MakeRecord("x"), Monday(), Explain());
  EXPECT_NE(Find(d.trace, TraceEntry::Kind::kRule, "r1"), nullptr);
  EXPECT_EQ(Find(d.trace, TraceEntry::Kind::kRule, "r2"), nullptr);
}

TEST(ExplainTest, TraceSaysWhichMembersWereSkippedAndWhy) {
  User a = MakeUser("A");
  a.active = false;
  User b = MakeUser("B");
  b.out_of_office = {{At(2025, 6, 1), At(2025, 6, 5)}};
  User c = MakeUser("C");
  WorkingHours wh;
  wh.tz = "UTC";
  wh.days[1] = {{0, 60}};
  c.working_hours = wh;
  User d = MakeUser("D");
  d.caps.per_day = 0;
  User e = MakeUser("E");
  e.caps.max_open = 0;
  Harness h;
  h.config.users = {a, b, c, d, e, MakeUser("F")};
  h.config.pools.push_back(MakePool("p", {"A", "B", "C", "D", "E", "F"}));
  h.config.rules = {MakeRule("r", ToPool("p"))};
  h.Build();
  Decision dec = h.Peek(MakeRecord("x"), Monday(), Explain());
  EXPECT_EQ(dec.owner, "F");
  const std::vector<std::pair<std::string, Skip>> want = {{"A", Skip::kInactive},
                                                          {"B", Skip::kOutOfOffice},
                                                          {"C", Skip::kOutsideWorkingHours},
                                                          {"D", Skip::kPerDayCap},
                                                          {"E", Skip::kMaxOpenCap}};
  for (const auto& [user, skip] : want) {
    const TraceEntry* t = Find(dec.trace, TraceEntry::Kind::kMember, user);
    ASSERT_NE(t, nullptr) << user;
    EXPECT_FALSE(t->ok);
    EXPECT_EQ(t->skip, skip) << user;
    EXPECT_NE(t->detail.find(std::string(ToString(skip))), std::string::npos) << t->detail;
  }
  const TraceEntry* f = Find(dec.trace, TraceEntry::Kind::kMember, "F");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->ok);
}

TEST(ExplainTest, TraceShowsNoRuleStrategyFailureFallbackAndDefault) {
  Harness h;
  h.config.users = {Inactive("A"), MakeUser("F"), MakeUser("D")};
  h.config.pools.push_back(MakePool("p", {"A"}));
  Rule r = When(MakeRule("r", ToPool("p")), "go", "yes");
  r.fallback_user = "F";
  h.config.rules = {r};
  h.config.settings.default_owners[ObjectType::kLead] = "D";
  h.Build();
  Decision d = h.Peek(MakeRecord("x", {{"go", Str("yes")}}), Monday(), Explain());
  EXPECT_EQ(d.outcome, Outcome::kFallback);
  const TraceEntry* s = Find(d.trace, TraceEntry::Kind::kStrategy, "r");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->reason, Reason::kNoEligibleUser);
  const TraceEntry* f = Find(d.trace, TraceEntry::Kind::kFallback, "F");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->ok);
  d = h.Peek(MakeRecord("x"), Monday(), Explain());
  EXPECT_EQ(d.outcome, Outcome::kDefault);
  EXPECT_NE(Find(d.trace, TraceEntry::Kind::kNoRule, ""), nullptr);
  const TraceEntry* def = Find(d.trace, TraceEntry::Kind::kDefault, "D");
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(def->ok);
}

TEST(ExplainTest, LeastLoadedTraceShowsSkippedMembersAndTheChosenOne) {
  Harness h = LoadHarness();
  h.config.users[0].active = false;
  h.Build();
  Own(h, "b1", "B");
  Harness::Options o = Explain();
  Decision d = h.Peek(MakeRecord("x", kLl), Monday(), o);
  EXPECT_EQ(d.owner, "C");
  const TraceEntry* a = Find(d.trace, TraceEntry::Kind::kMember, "A");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->skip, Skip::kInactive);
  bool chosen = false;
  std::map<std::string, int> seen;
  for (const TraceEntry& e : d.trace) {
    if (e.kind != TraceEntry::Kind::kMember) continue;
    ++seen[e.id];
    if (e.ok) {
      EXPECT_EQ(e.id, "C");
      EXPECT_EQ(e.detail, "chosen: 0 open, the fewest");
      chosen = true;
    }
  }
  EXPECT_TRUE(chosen);
  // Every member once: A skipped, B eligible with its open record, C chosen.
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A", 1}, {"B", 1}, {"C", 1}}));
  const TraceEntry* b = Find(d.trace, TraceEntry::Kind::kMember, "B");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->ok);
  EXPECT_EQ(b->detail, "eligible, 1 open");
}

TEST(ExplainTest, TraceNamesTheRequestedTarget) {
  Harness h = TargetHarness();
  Decision d = h.Peek(MakeRecord("x"), Monday(), Requested(PoolTarget("p"), true));
  const TraceEntry* t = Find(d.trace, TraceEntry::Kind::kTarget, "p");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->ok);
}

TEST(ExplainTest, ExplainDoesNotChangeTheDecision) {
  Harness h = LoadHarness();
  Decision plain = h.Peek(MakeRecord("x"), Monday());
  Decision explained = h.Peek(MakeRecord("x"), Monday(), Explain());
  EXPECT_EQ(plain.owner, explained.owner);
  EXPECT_EQ(plain.outcome, explained.outcome);
  EXPECT_EQ(plain.changes, explained.changes);
  EXPECT_FALSE(explained.trace.empty());
}

// ---------------------------------------------------------------- names

TEST(NamesTest, OutcomesAndReasonsHaveTheirSpecNames) {
  EXPECT_EQ(ToString(Outcome::kAssigned), "assigned");
  EXPECT_EQ(ToString(Outcome::kFallback), "fallback");
  EXPECT_EQ(ToString(Outcome::kDefault), "default");
  EXPECT_EQ(ToString(Outcome::kUnassigned), "unassigned");
  const std::vector<std::pair<Reason, std::string>> reasons = {
      {Reason::kNoRuleMatched, "no_rule_matched"},     {Reason::kUserNotFound, "user_not_found"},
      {Reason::kNoEligibleUser, "no_eligible_user"},   {Reason::kNoDistributionKey, "no_distribution_key"},
      {Reason::kCompanyNotLinked, "company_not_linked"}, {Reason::kPersonNotLinked, "person_not_linked"},
      {Reason::kCompanyNotFound, "company_not_found"}, {Reason::kPersonNotFound, "person_not_found"},
      {Reason::kRelatedHasNoOwner, "related_has_no_owner"}, {Reason::kFieldEmpty, "field_empty"},
      {Reason::kError, "error"}};
  for (const auto& [r, name] : reasons) {
    EXPECT_EQ(ToString(r), name);
    EXPECT_EQ(ParseReason(name), r);
  }
  for (Outcome o : {Outcome::kAssigned, Outcome::kFallback, Outcome::kDefault, Outcome::kUnassigned}) {
    EXPECT_EQ(ParseOutcome(ToString(o)), o);
  }
}

}  // namespace
}  // namespace rota::core
