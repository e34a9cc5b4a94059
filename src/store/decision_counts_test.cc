// How a report window is cut into pre-counted hours and edges counted from decisions.
#include "store/decision_counts.h"

#include <gtest/gtest.h>

namespace rota::store::counts {
namespace {

TEST(DecisionCountsTest, BucketIsTheHoursStartAlsoBefore1970) {
  EXPECT_EQ(BucketOf(0), 0);
  EXPECT_EQ(BucketOf(3599), 0);
  EXPECT_EQ(BucketOf(3600), 3600);
  EXPECT_EQ(BucketOf(7201), 7200);
  EXPECT_EQ(BucketOf(-1), -3600);
  EXPECT_EQ(BucketOf(-3600), -3600);
  EXPECT_EQ(BucketOf(-3601), -7200);
}

TEST(DecisionCountsTest, NullMaskKeepsNullApartFromEmpty) {
  DecisionRow d;
  EXPECT_EQ(NullMask(d), kRuleNull | kDistributionNull | kKeyValueNull | kOwnerNull);
  d.rule = "";
  d.owner = "ann";
  EXPECT_EQ(NullMask(d), kDistributionNull | kKeyValueNull);
}

std::string Show(const Split& s) {
  auto t = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  std::string out = s.use_counts ? "counts[" + t(s.buckets.from) + "," + t(s.buckets.to) + ")" : "no counts";
  for (const auto& e : s.edges) out += " edge[" + t(e.from) + "," + t(e.to) + ")";
  return out;
}

TEST(DecisionCountsTest, WindowsSplitIntoWholeHoursAndEdges) {
  EXPECT_EQ(Show(SplitWindow(std::nullopt, std::nullopt)), "counts[-,-)");
  EXPECT_EQ(Show(SplitWindow(3600, 7200 * 2)), "counts[3600,14400)");
  EXPECT_EQ(Show(SplitWindow(3601, 14399)), "counts[7200,10800) edge[3601,7200) edge[10800,14399)");
  EXPECT_EQ(Show(SplitWindow(100, std::nullopt)), "counts[3600,-) edge[100,3600)");
  EXPECT_EQ(Show(SplitWindow(std::nullopt, 100)), "counts[-,0) edge[0,100)");
  // Less than a whole hour inside: decisions alone.
  EXPECT_EQ(Show(SplitWindow(3601, 7300)), "no counts edge[3601,7300)");
  EXPECT_EQ(Show(SplitWindow(3600, 3600)), "no counts edge[3600,3600)");
  EXPECT_EQ(Show(SplitWindow(9000, 100)), "no counts edge[9000,100)");
  // Beyond the buckets' range: decisions alone.
  EXPECT_EQ(Show(SplitWindow(INT64_MIN, 100)), "no counts edge[" + std::to_string(INT64_MIN) + ",100)");
  EXPECT_EQ(Show(SplitWindow(0, INT64_MAX)), "no counts edge[0," + std::to_string(INT64_MAX) + ")");
}

TEST(DecisionCountsTest, TallyAddsUpInReportOrder) {
  Tally t;
  t.Add("bob", "paris", 1);
  t.Add("ann", std::nullopt, 2);
  t.Add("ann", "", 3);
  t.Add("bob", "paris", 4);
  t.Add("ann", "paris", 5);
  std::vector<std::string> got;
  for (const auto& r : t.Rows()) got.push_back(r.owner + "/" + r.value + "/" + std::to_string(r.count));
  EXPECT_EQ(got, (std::vector<std::string>{"ann//2", "ann//3", "ann/paris/5", "bob/paris/5"}));
}

TEST(DecisionCountsTest, PendingCountsFollowUnits) {
  auto row = [](int64_t at, const char* owner) {
    DecisionRow d;
    d.at = at;
    d.object_type = "lead";
    d.outcome = "assigned";
    d.owner = owner;
    return d;
  };
  auto show = [](const std::map<CountKey, int64_t>& m) {
    std::string out;
    for (const auto& [k, n] : m) out += std::to_string(k.bucket) + "/" + k.owner + "=" + std::to_string(n) + " ";
    return out;
  };
  PendingCounts p;
  p.Add(row(10, "ann"));  // outside any unit: kept
  p.BeginUnit();
  p.Add(row(20, "ann"));
  p.Add(row(3700, "bob"));  // the next hour
  p.EndUnit();
  p.BeginUnit();
  p.Add(row(30, "ann"));
  p.RollbackUnit();  // dropped
  p.BeginUnit();
  p.Add(row(40, "bob"));
  EXPECT_EQ(show(p.Take()), "0/ann=2 0/bob=1 3600/bob=1 ");  // an open unit's counts go too
  p.Add(row(50, "ann"));  // still in that unit
  p.RollbackUnit();
  EXPECT_EQ(show(p.Take()), "");
}

}  // namespace
}  // namespace rota::store::counts
