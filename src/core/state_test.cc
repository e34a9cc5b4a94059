// MemoryState over a base view: reads fall through, applied decisions shadow the base.
#include "core/state.h"

#include <gtest/gtest.h>

#include "core/simulate.h"
#include "core/test_util.h"

namespace rota::core {
namespace {

Record Rec(ObjectType t, const std::string& id, std::vector<std::string> owners, bool open = true) {
  Record r;
  r.object_type = t;
  r.id = id;
  r.owners = std::move(owners);
  r.open = open;
  return r;
}

TEST(MemoryStateOverBase, ReadsFallThroughToTheBase) {
  MemoryState base;
  base.PutRecord(Rec(ObjectType::kDeal, "D-1", {"a"}));
  Decision d;
  d.owner = "a";
  d.changes.pools.push_back({"p", 3});
  d.changes.keys.push_back({"dist", "kent", {"a", "b"}, {-5, 5}, "a"});
  base.Apply(d, Rec(ObjectType::kDeal, "D-2", {}), Time(std::chrono::seconds(100)));

  MemoryState over(&base);
  EXPECT_EQ(over.PoolPointer("p"), 3);
  EXPECT_EQ(over.KeyCredits("dist", "kent", {"b", "a", "c"}), (std::vector<int64_t>{5, -5, 0}));
  EXPECT_EQ(over.AssignedSince("a", Time(std::chrono::seconds(0)), Time(std::chrono::seconds(100))), 1);
  EXPECT_EQ(over.AssignedSince("a", Time(std::chrono::seconds(0)), Time(std::chrono::seconds(99))), 0);
  EXPECT_EQ(over.OpenRecords("a", ObjectType::kDeal, ""), 2);
  ASSERT_TRUE(over.FindRecord(ObjectType::kDeal, "D-1"));
}

TEST(MemoryStateOverBase, AppliedDecisionsShadowTheBaseWithoutWritingIt) {
  MemoryState base;
  base.PutRecord(Rec(ObjectType::kDeal, "D-1", {"a"}));
  MemoryState over(&base);
  Decision d;
  d.owner = "b";
  d.changes.pools.push_back({"p", 7});
  over.Apply(d, Rec(ObjectType::kDeal, "D-1", {}), Time(std::chrono::seconds(50)));
  EXPECT_EQ(over.OpenRecords("a", ObjectType::kDeal, ""), 0);  // D-1 moved from a to b
  EXPECT_EQ(over.OpenRecords("b", ObjectType::kDeal, ""), 1);
  EXPECT_EQ(over.PoolPointer("p"), 7);
  EXPECT_EQ(base.PoolPointer("p"), 0);
  EXPECT_EQ(base.OpenRecords("a", ObjectType::kDeal, ""), 1);
  EXPECT_EQ(over.AssignedSince("b", Time(std::chrono::seconds(0)), Time(std::chrono::seconds(50))), 1);
  EXPECT_EQ(over.AssignedSince("b", Time(std::chrono::seconds(0)), Time(std::chrono::seconds(49))), 0);
  EXPECT_EQ(base.AssignedSince("b", Time(std::chrono::seconds(0)), Time(std::chrono::seconds(50))), 0);
}

TEST(RecordAsKnown, WhatWasSentOverWhatWasKnown) {
  Record stored = Rec(ObjectType::kDeal, "D-1", {"a"}, /*open=*/false);
  stored.properties = {{"region", Value::String("north")}, {"stage", Value::String("new")}};
  stored.links = {{"company", "C-1"}};
  stored.tags = {"vip"};
  Record sent = Rec(ObjectType::kDeal, "D-1", {});
  sent.properties = {{"stage", Value::String("won")}};
  sent.tags = {"big"};

  Record r = RecordAsKnown(stored, sent, /*open_given=*/false);
  EXPECT_EQ(r.properties.at("stage"), Value::String("won"));
  EXPECT_EQ(r.properties.at("region"), Value::String("north"));
  EXPECT_EQ(r.links.at("company"), "C-1");
  EXPECT_EQ(r.tags, (std::vector<std::string>{"big", "vip"}));
  sent.tags = {"VIP "};  // the same tag as text conditions compare it: not kept twice
  EXPECT_EQ(RecordAsKnown(stored, sent, false).tags, (std::vector<std::string>{"VIP "}));
  sent.tags = {"big"};
  EXPECT_EQ(r.owners, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(r.open);
  EXPECT_TRUE(RecordAsKnown(stored, sent, /*open_given=*/true).open);
  sent.owners = {"b"};
  sent.links = {{"company", "C-2"}};
  r = RecordAsKnown(stored, sent, true);
  EXPECT_EQ(r.owners, (std::vector<std::string>{"b"}));
  EXPECT_EQ(r.links.at("company"), "C-2");
  EXPECT_EQ(RecordAsKnown(std::nullopt, sent, false), sent);
  // A link sent empty (as JSON's null is read) unlinks.
  sent.links = {{"company", ""}};
  EXPECT_FALSE(RecordAsKnown(stored, sent, true).links.contains("company"));
  EXPECT_FALSE(RecordAsKnown(std::nullopt, sent, true).links.contains("company"));
}

// `rota simulate` decides each line on the record as the lines before left it.
TEST(RecordAsKnown, SimulationDecidesOnTheRecordAsKnown) {
  Config c;
  c.users = {testing::MakeUser("a"), testing::MakeUser("b")};
  Rule north = testing::MakeRule("north", testing::ToUser("a"));
  north.conditions.all = {testing::Cond("region", Op::kEq, testing::One("north"))};
  c.rules = {north};
  c.settings.default_owners[ObjectType::kLead] = "b";
  auto ws = testing::BuildOrThrow(c);
  Record first = testing::MakeRecord("L-1", {{"region", Value::String("north")}});
  Record second = testing::MakeRecord("L-1", {{"amount", Value::String("5")}});
  Request r1, r2;
  r1.record = &first;
  r2.record = &second;
  r1.now = r2.now = testing::Monday();
  MemoryState state;
  auto steps = Simulate(*ws, state, {{r1, false, "", ""}, {r2, false, "", ""}}, nullptr);
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_TRUE(steps[1].decision.ok());
  EXPECT_EQ(steps[1].decision->owner, "a");  // the region of the first line still holds
  auto kept = state.FindRecord(ObjectType::kLead, "L-1");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->properties.size(), 2u);
}

// A simulation treats `dry_run` and `idempotency_key` as POST /v1/assign does: a dry run
// decides and keeps nothing; the same request again with its key gets the same decision,
// another request (a dry run too) with that key gets idempotency_conflict.
TEST(Simulate, DryRunsKeepNothingAndKeysReplay) {
  Config c;
  c.users = {testing::MakeUser("a"), testing::MakeUser("b")};
  c.pools = {testing::MakePool("p", {"a", "b"})};
  c.rules = {testing::MakeRule("r", testing::ToPool("p"))};
  auto ws = testing::BuildOrThrow(c);
  Record l1 = testing::MakeRecord("L-1"), l2 = testing::MakeRecord("L-2");
  auto line = [](const Record& r, bool dry, std::string key, std::string fingerprint) {
    SimulatedRequest s;
    s.request.record = &r;
    s.request.now = testing::Monday();
    s.dry_run = dry;
    s.idempotency_key = std::move(key);
    s.fingerprint = std::move(fingerprint);
    return s;
  };
  MemoryState state;
  Tally tally;
  auto steps = Simulate(*ws, state,
                        {line(l1, true, "", ""), line(l1, false, "k", "one"), line(l1, false, "k", "one"),
                         line(l2, false, "k", "two"), line(l2, true, "k", "one"), line(l2, false, "", "")},
                        &tally);
  ASSERT_EQ(steps.size(), 6u);
  std::vector<std::string> owners;
  for (const SimulationStep& s : steps) owners.push_back(s.decision.ok() ? *s.decision->owner : s.decision.status().error_code());
  EXPECT_EQ(owners, (std::vector<std::string>{"a", "a", "a", "idempotency_conflict", "idempotency_conflict", "b"}));
  EXPECT_FALSE(steps[1].replayed);
  EXPECT_TRUE(steps[2].replayed);
  EXPECT_EQ(tally.total(), 2);  // the dry run and the replay are not counted again
  EXPECT_TRUE(state.FindRecord(ObjectType::kLead, "L-2"));
}

TEST(ApplyOwner, TagAddedOnceAsTextComparesIt) {
  Record r = Rec(ObjectType::kDeal, "D-1", {"a"});
  r.tags = {"HOT"};
  Decision d;
  d.owner = "b";
  d.tag = "hot";
  ApplyOwner(d, r);
  EXPECT_EQ(r.owners, (std::vector<std::string>{"b"}));
  EXPECT_EQ(r.tags, (std::vector<std::string>{"HOT"}));
  d.tag = "Kraków";
  ApplyOwner(d, r);
  EXPECT_EQ(r.tags, (std::vector<std::string>{"HOT", "Kraków"}));
}

}  // namespace
}  // namespace rota::core
