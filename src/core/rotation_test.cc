// Round robin (SPEC §5.1) and smooth weighted round robin (§5.2), on the bare algorithms
// and through decide() with a MemoryState carrying the pointer and the credits.
#include "core/rotation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/test_util.h"

namespace rota::core {
namespace {

using testing::At;
using testing::Harness;
using testing::MakeDistribution;
using testing::MakePool;
using testing::MakeRule;
using testing::MakeUser;
using testing::Monday;
using testing::Str;
using testing::ToDistribution;
using testing::ToPool;

std::vector<PoolMember> Members(std::vector<int64_t> positions) {
  std::vector<PoolMember> m;
  for (int64_t p : positions) m.push_back({"u" + std::to_string(p), p});
  return m;
}

auto AllEligible() {
  return [](size_t) { return true; };
}

// ---------------------------------------------------------------- PickRoundRobin

TEST(PickRoundRobinTest, FreshPoolStartsWithTheFirstMember) {
  EXPECT_EQ(PickRoundRobin(Members({1, 2, 3}), 0, AllEligible()), 0);
}

TEST(PickRoundRobinTest, NextIsTheFirstPositionAfterThePointer) {
  auto m = Members({1, 2, 3});
  EXPECT_EQ(PickRoundRobin(m, 1, AllEligible()), 1);
  EXPECT_EQ(PickRoundRobin(m, 2, AllEligible()), 2);
}

TEST(PickRoundRobinTest, WrapsAroundAfterTheLastMember) {
  EXPECT_EQ(PickRoundRobin(Members({1, 2, 3}), 3, AllEligible()), 0);
}

TEST(PickRoundRobinTest, PointerOfARemovedMemberGoesOnToTheNextPosition) {
  // Members 1, 3, 5 remain; the pool last served position 4 (now gone).
  auto m = Members({1, 3, 5});
  EXPECT_EQ(PickRoundRobin(m, 4, AllEligible()), 2);  // position 5
  EXPECT_EQ(PickRoundRobin(m, 2, AllEligible()), 1);  // position 3
  EXPECT_EQ(PickRoundRobin(m, 9, AllEligible()), 0);  // past the end: wrap
}

TEST(PickRoundRobinTest, SkipsIneligibleMembersAndWraps) {
  auto m = Members({1, 2, 3});
  EXPECT_EQ(PickRoundRobin(m, 1, [](size_t i) { return i != 1; }), 2);
  EXPECT_EQ(PickRoundRobin(m, 2, [](size_t i) { return i == 1; }), 1);  // wraps round to it
  EXPECT_EQ(PickRoundRobin(m, 1, [](size_t i) { return i == 0; }), 0);
}

TEST(PickRoundRobinTest, LastServedIsChosenAgainOnlyWhenAloneEligible) {
  auto m = Members({1, 2, 3});
  EXPECT_EQ(PickRoundRobin(m, 2, [](size_t i) { return i == 1; }), 1);
  EXPECT_EQ(PickRoundRobin(m, 2, [](size_t i) { return i != 2; }), 0);
}

TEST(PickRoundRobinTest, NobodyEligibleOrEmptyPoolGivesMinusOne) {
  EXPECT_EQ(PickRoundRobin(Members({1, 2}), 0, [](size_t) { return false; }), -1);
  EXPECT_EQ(PickRoundRobin({}, 0, AllEligible()), -1);
}

TEST(PickRoundRobinTest, AsksEachMemberAtMostOnceInPoolOrderFromThePointer) {
  auto m = Members({1, 2, 3, 4});
  std::vector<size_t> asked;
  EXPECT_EQ(PickRoundRobin(m, 2, [&](size_t i) { asked.push_back(i); return false; }), -1);
  EXPECT_EQ(asked, (std::vector<size_t>{2, 3, 0, 1}));
}

// ---------------------------------------------------------------- PickSmoothWeighted

TEST(PickSmoothWeightedTest, MatchesNginxSequenceFor5_1_1) {
  std::vector<int64_t> w = {5, 1, 1}, c = {0, 0, 0};
  std::vector<bool> e(3, true);
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + PickSmoothWeighted(w, c, e));
  EXPECT_EQ(seq, "aabacaa");
  EXPECT_EQ(c, (std::vector<int64_t>{0, 0, 0}));  // one full period returns to zero
}

TEST(PickSmoothWeightedTest, TiesGoToTheEarlierEntry) {
  std::vector<int64_t> w = {1, 1, 1}, c = {0, 0, 0};
  std::vector<bool> e(3, true);
  EXPECT_EQ(PickSmoothWeighted(w, c, e), 0);
  EXPECT_EQ(PickSmoothWeighted(w, c, e), 1);
  EXPECT_EQ(PickSmoothWeighted(w, c, e), 2);
}

TEST(PickSmoothWeightedTest, WinnerLosesTheSumOfEligibleWeightsOnly) {
  std::vector<int64_t> w = {50, 30, 20}, c = {0, 0, 0};
  std::vector<bool> e = {true, false, true};
  EXPECT_EQ(PickSmoothWeighted(w, c, e), 0);
  EXPECT_EQ(c, (std::vector<int64_t>{50 - 70, 0, 20}));
}

TEST(PickSmoothWeightedTest, IneligibleCreditIsLeftAsItIs) {
  std::vector<int64_t> w = {50, 30, 20}, c = {-7, 42, 3};
  std::vector<bool> e = {true, false, true};
  PickSmoothWeighted(w, c, e);
  EXPECT_EQ(c[1], 42);
  // The ineligible user's high credit does not make it win: it is not considered.
  EXPECT_NE(PickSmoothWeighted(w, c, e), 1);
  EXPECT_EQ(c[1], 42);
}

TEST(PickSmoothWeightedTest, NobodyEligibleLeavesCreditsUntouched) {
  std::vector<int64_t> w = {50, 50}, c = {3, -3};
  EXPECT_EQ(PickSmoothWeighted(w, c, {false, false}), -1);
  EXPECT_EQ(c, (std::vector<int64_t>{3, -3}));
}

TEST(PercentUnitsTest, HoldsHundredthsExactly) {
  EXPECT_EQ(PercentUnits(100), 100 * kPercentScale);
  EXPECT_EQ(PercentUnits(33.33), 333300);
  EXPECT_EQ(PercentUnits(33.34), 333400);
  EXPECT_EQ(PercentUnits(0.01), 100);
  EXPECT_EQ(PercentUnits(33.33) * 2 + PercentUnits(33.34), 100 * kPercentScale);
}

// Runs `n` picks over `percents` with everybody eligible; returns the winners.
std::vector<int> Picks(const std::vector<double>& percents, int n) {
  std::vector<int64_t> w, c(percents.size(), 0);
  for (double p : percents) w.push_back(PercentUnits(p));
  std::vector<bool> e(percents.size(), true);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(PickSmoothWeighted(w, c, e));
  return out;
}

// Every window of `window` consecutive picks holds exactly the percentages.
void ExpectExactWindows(const std::vector<double>& percents, const std::vector<int>& picks, int window) {
  const size_t k = percents.size();
  std::vector<int64_t> want(k);
  for (size_t i = 0; i < k; ++i) want[i] = std::llround(percents[i] * window / 100.0);
  std::vector<int64_t> count(k, 0);
  for (size_t i = 0; i < picks.size(); ++i) {
    ++count[static_cast<size_t>(picks[i])];
    if (i >= static_cast<size_t>(window)) --count[static_cast<size_t>(picks[i - window])];
    if (i + 1 >= static_cast<size_t>(window)) {
      ASSERT_EQ(count, want) << "window ending at pick " << i;
    }
  }
}

// At every point each user's count is less than `bound` from its exact share.
void ExpectWithinShare(const std::vector<double>& percents, const std::vector<int>& picks, double bound) {
  std::vector<int64_t> count(percents.size(), 0);
  for (size_t n = 0; n < picks.size(); ++n) {
    ++count[static_cast<size_t>(picks[n])];
    for (size_t i = 0; i < percents.size(); ++i) {
      double share = percents[i] * static_cast<double>(n + 1) / 100.0;
      ASSERT_LT(std::fabs(static_cast<double>(count[i]) - share), bound)
          << "user " << i << " after " << n + 1 << " picks";
    }
  }
}

TEST(SmoothWeightedFairnessTest, FiftyThirtyTwentyExactInEveryWindowOf100) {
  std::vector<double> p = {50, 30, 20};
  auto picks = Picks(p, 1000);
  ExpectExactWindows(p, picks, 100);
  ExpectWithinShare(p, picks, 1.0);
}

TEST(SmoothWeightedFairnessTest, ThirtyFourThirtyThreeThirtyThreeExactInEveryWindowOf100) {
  std::vector<double> p = {34, 33, 33};
  auto picks = Picks(p, 1000);
  ExpectExactWindows(p, picks, 100);
  ExpectWithinShare(p, picks, 1.0);
}

TEST(SmoothWeightedFairnessTest, DecimalPercentsExactInEveryWindowOf10000) {
  std::vector<double> p = {33.33, 33.33, 33.34};
  auto picks = Picks(p, 30000);
  ExpectExactWindows(p, picks, 10000);
  ExpectWithinShare(p, picks, 1.0);
}

TEST(SmoothWeightedFairnessTest, FourUsersWithDecimalsStayWithinOneOfShare) {
  std::vector<double> p = {12.5, 37.25, 0.25, 50};
  auto picks = Picks(p, 30000);
  ExpectExactWindows(p, picks, 10000);
  ExpectWithinShare(p, picks, 1.0);
}

TEST(SmoothWeightedFairnessTest, ManyUsersStayWithinTwoOfShare) {
  std::vector<double> p = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 22};
  auto picks = Picks(p, 1000);
  ExpectExactWindows(p, picks, 100);
  ExpectWithinShare(p, picks, 2.0);
}

// ---------------------------------------------------------------- pools through decide()

Harness PoolHarness(std::vector<std::string> members) {
  Harness h;
  for (const auto& m : members) h.config.users.push_back(MakeUser(m));
  h.config.pools.push_back(MakePool("p", members));
  h.config.rules.push_back(MakeRule("r", ToPool("p")));
  h.Build();
  return h;
}

TEST(PoolRotationTest, ZendeskSellExampleThenAssignRequestedContinuesTheSamePool) {
  Harness h = PoolHarness({"A", "B", "C"});
  // The pool serves A, B, C, A for created records...
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  EXPECT_EQ(h.NextOwner(Monday()), "C");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  // ...and a record assigned to the pool by hand gets the next one: B.
  Harness::Options o;
  o.event = Event::kAssignRequested;
  o.target = testing::PoolTarget("p");
  Decision d = h.Decide(testing::MakeRecord("manual"), Monday(), o);
  EXPECT_EQ(d.outcome, Outcome::kAssigned);
  EXPECT_EQ(d.owner, "B");
  EXPECT_EQ(h.NextOwner(Monday()), "C");
}

TEST(PoolRotationTest, PoolAdvanceRecordsTheServedMembersPosition) {
  Harness h = PoolHarness({"A", "B"});
  Decision d = h.DecideNew(Monday());
  ASSERT_EQ(d.changes.pools.size(), 1u);
  EXPECT_EQ(d.changes.pools[0].pool, "p");
  EXPECT_EQ(d.changes.pools[0].position, 1);
  EXPECT_EQ(h.state.PoolPointer("p"), 1);
}

TEST(PoolRotationTest, PeekDoesNotMoveThePointer) {
  Harness h = PoolHarness({"A", "B"});
  EXPECT_EQ(h.Peek(testing::MakeRecord("x"), Monday()).owner, "A");
  EXPECT_EQ(h.Peek(testing::MakeRecord("x"), Monday()).owner, "A");
}

TEST(PoolRotationTest, MemberAddedAfterCIsServedAfterC) {
  Harness h = PoolHarness({"A", "B", "C"});
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  // D joins at the end (a position after every current one).
  Config c = h.config;
  c.users.push_back(MakeUser("D"));
  c.pools[0].members.push_back({"D", 4});
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "C");
  EXPECT_EQ(h.NextOwner(Monday()), "D");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
}

TEST(PoolRotationTest, MemberAddedWhenTheLastServedWasCIsServedNext) {
  Harness h = PoolHarness({"A", "B", "C"});
  for (int i = 0; i < 3; ++i) h.NextOwner(Monday());  // A, B, C
  Config c = h.config;
  c.users.push_back(MakeUser("D"));
  c.pools[0].members.push_back({"D", 4});
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "D");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
}

TEST(PoolRotationTest, RemovedMembersTurnPassesToTheNext) {
  Harness h = PoolHarness({"A", "B", "C", "D"});
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  // C leaves; the pool goes on from where it was (after B): D, then A.
  Config c = h.config;
  c.pools[0].members.erase(c.pools[0].members.begin() + 2);
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "D");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
}

TEST(PoolRotationTest, RemovingTheLastServedMemberGoesOnAfterItsPosition) {
  Harness h = PoolHarness({"A", "B", "C"});
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  Config c = h.config;
  c.pools[0].members.erase(c.pools[0].members.begin() + 1);  // B leaves
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "C");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
}

TEST(PoolRotationTest, RejoiningMemberGoesToTheEnd) {
  Harness h = PoolHarness({"A", "B", "C"});
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  // A leaves and joins again: a new position after C.
  Config c = h.config;
  c.pools[0].members.erase(c.pools[0].members.begin());
  c.pools[0].members.push_back({"A", 4});
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "B");
  EXPECT_EQ(h.NextOwner(Monday()), "C");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  EXPECT_EQ(h.NextOwner(Monday()), "B");
}

TEST(PoolRotationTest, SkippedMemberDoesNotGetAMakeUpTurn) {
  Harness h = PoolHarness({"A", "B", "C"});
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  Config c = h.config;
  c.users[1].active = false;  // B
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "C");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
  c.users[1].active = true;
  h.ws = testing::BuildOrThrow(c);
  EXPECT_EQ(h.NextOwner(Monday()), "B");  // plain order resumes, no catch-up
  EXPECT_EQ(h.NextOwner(Monday()), "C");
  EXPECT_EQ(h.NextOwner(Monday()), "A");
}

TEST(PoolRotationTest, PoolsKeepSeparatePointers) {
  Harness h;
  for (const char* u : {"A", "B", "C"}) h.config.users.push_back(MakeUser(u));
  h.config.pools.push_back(MakePool("p1", {"A", "B", "C"}));
  h.config.pools.push_back(MakePool("p2", {"A", "B", "C"}));
  Rule r1 = MakeRule("r1", ToPool("p1"));
  r1.conditions.all = {testing::Cond("team", Op::kEq, testing::One("one"))};
  Rule r2 = MakeRule("r2", ToPool("p2"));
  h.config.rules = {r1, r2};
  h.Build();
  EXPECT_EQ(h.NextOwner(Monday(), {{"team", Str("one")}}), "A");
  EXPECT_EQ(h.NextOwner(Monday(), {{"team", Str("one")}}), "B");
  EXPECT_EQ(h.NextOwner(Monday(), {{"team", Str("two")}}), "A");
  EXPECT_EQ(h.NextOwner(Monday(), {{"team", Str("one")}}), "C");
}

// ---------------------------------------------------------------- keys through decide()

Harness KeyHarness(std::vector<std::pair<std::string, double>> owners) {
  Harness h;
  DistributionKey key{"Kent", {}};
  for (const auto& [u, p] : owners) {
    h.config.users.push_back(MakeUser(u));
    key.owners.push_back({u, p});
  }
  h.config.distributions.push_back(MakeDistribution("d", "county", {key}));
  h.config.rules.push_back(MakeRule("r", ToDistribution("d")));
  h.Build();
  return h;
}

std::vector<int> KeyPicks(Harness& h, const std::vector<std::string>& users, int n) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < users.size(); ++i) index[users[i]] = static_cast<int>(i);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    std::string owner = h.NextOwner(Monday(), {{"county", Str("Kent")}});
    out.push_back(index.at(owner));
  }
  return out;
}

TEST(KeyRotationTest, FiftyThirtyTwentyThroughDecideIsExactInEveryWindowOf100) {
  Harness h = KeyHarness({{"A", 50}, {"B", 30}, {"C", 20}});
  auto picks = KeyPicks(h, {"A", "B", "C"}, 500);
  ExpectExactWindows({50, 30, 20}, picks, 100);
  ExpectWithinShare({50, 30, 20}, picks, 1.0);
  EXPECT_EQ(h.state.KeyAssigned("d", "kent", "A"), 250);
  EXPECT_EQ(h.state.KeyAssigned("d", "kent", "B"), 150);
  EXPECT_EQ(h.state.KeyAssigned("d", "kent", "C"), 100);
}

TEST(KeyRotationTest, ThirtyFourThirtyThreeThirtyThreeThroughDecide) {
  Harness h = KeyHarness({{"A", 34}, {"B", 33}, {"C", 33}});
  auto picks = KeyPicks(h, {"A", "B", "C"}, 300);
  ExpectExactWindows({34, 33, 33}, picks, 100);
  ExpectWithinShare({34, 33, 33}, picks, 1.0);
}

TEST(KeyRotationTest, DecimalPercentsThroughDecideAreExactInEveryWindowOf10000) {
  Harness h = KeyHarness({{"A", 33.33}, {"B", 33.33}, {"C", 33.34}});
  auto picks = KeyPicks(h, {"A", "B", "C"}, 12000);
  ExpectExactWindows({33.33, 33.33, 33.34}, picks, 10000);
  ExpectWithinShare({33.33, 33.33, 33.34}, picks, 1.0);
}

TEST(KeyRotationTest, KeyPickCarriesCreditsAfterThePick) {
  Harness h = KeyHarness({{"A", 50}, {"B", 30}, {"C", 20}});
  Decision d = h.DecideNew(Monday(), {{"county", Str("Kent")}});
  ASSERT_EQ(d.changes.keys.size(), 1u);
  const KeyPick& k = d.changes.keys[0];
  EXPECT_EQ(k.distribution, "d");
  EXPECT_EQ(k.value, "kent");
  EXPECT_EQ(k.users, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(k.winner, "A");
  EXPECT_EQ(k.credits, (std::vector<int64_t>{PercentUnits(50) - PercentUnits(100), PercentUnits(30),
                                             PercentUnits(20)}));
}

TEST(KeyRotationTest, IneligibleKeyUserKeepsItsCreditAndDoesNotCatchUp) {
  Harness h = KeyHarness({{"A", 50}, {"B", 50}});
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("Kent")}}), "A");  // credits A -50, B 50
  Config c = h.config;
  c.users[1].active = false;  // B
  h.ws = testing::BuildOrThrow(c);
  auto before = h.state.KeyCredits("d", "kent", {"A", "B"});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("Kent")}}), "A");
  auto after = h.state.KeyCredits("d", "kent", {"A", "B"});
  EXPECT_EQ(after[1], before[1]);  // B's credit left as it was
  c.users[1].active = true;
  h.ws = testing::BuildOrThrow(c);
  // B keeps its place (it was next) but does not catch up on the five it missed.
  std::vector<std::string> seq;
  for (int i = 0; i < 4; ++i) seq.push_back(h.NextOwner(Monday(), {{"county", Str("Kent")}}));
  EXPECT_EQ(seq, (std::vector<std::string>{"B", "A", "B", "A"}));
}

TEST(KeyRotationTest, KeysOfDifferentValuesRotateIndependently) {
  Harness h;
  for (const char* u : {"A", "B"}) h.config.users.push_back(MakeUser(u));
  h.config.distributions.push_back(MakeDistribution(
      "d", "county", {{"Kent", {{"A", 50}, {"B", 50}}}, {"Essex", {{"A", 50}, {"B", 50}}}}));
  h.config.rules.push_back(MakeRule("r", ToDistribution("d")));
  h.Build();
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("Kent")}}), "A");
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("Essex")}}), "A");
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str("kent")}}), "B");
  EXPECT_EQ(h.NextOwner(Monday(), {{"county", Str(" ESSEX ")}}), "B");
}

}  // namespace
}  // namespace rota::core
