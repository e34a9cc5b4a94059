// MemoryState over a base view: reads fall through, applied decisions shadow the base.
#include "core/state.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(over.AssignedSince("a", Time(std::chrono::seconds(0))), 1);
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
  EXPECT_EQ(over.AssignedSince("b", Time(std::chrono::seconds(0))), 1);
  EXPECT_EQ(base.AssignedSince("b", Time(std::chrono::seconds(0))), 0);
}

}  // namespace
}  // namespace rota::core
