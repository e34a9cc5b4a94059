// Property tests with seeded std::mt19937: random pools with eligibility flips and
// members joining and leaving (SPEC §5.1), random keys with and without flips (§5.2),
// and random rule sets (§3). Every run is reproducible from its seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/rotation.h"
#include "core/test_util.h"

namespace rota::core {
namespace {

using std::chrono::minutes;
using testing::At;
using testing::Harness;
using testing::MakeDistribution;
using testing::MakeRecord;
using testing::MakeRule;
using testing::MakeUser;
using testing::ToDistribution;
using testing::ToPool;
using testing::ToUser;

int Uniform(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

// ---------------------------------------------------------------- pools

// A pool under random eligibility flips and membership changes serves, every time, the
// first eligible member after the last served position (wrapping), so it never serves a
// member twice in a row while another eligible one waits, and a joiner comes after
// everyone already there.
TEST(PoolPropertyTest, StrictRoundRobinUnderRandomFlipsJoinsAndLeaves) {
  for (unsigned seed = 1; seed <= 25; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const int kUsers = 8;
    Harness h;
    for (int i = 0; i < kUsers; ++i) h.config.users.push_back(MakeUser("u" + std::to_string(i)));
    std::vector<int> order(kUsers);
    for (int i = 0; i < kUsers; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    Pool pool;
    pool.id = "p";
    int64_t next_pos = 1;
    int initial = Uniform(rng, 1, 5);
    for (int i = 0; i < initial; ++i) pool.members.push_back({"u" + std::to_string(order[i]), next_pos++});
    h.config.pools = {pool};
    h.config.rules = {MakeRule("r", ToPool("p"))};

    int64_t last_pos = 0;  // the model's pointer
    std::string last_owner;
    Time now = At(2025, 6, 2, 9);
    for (int step = 0; step < 400; ++step) {
      Pool& p = h.config.pools[0];
      // Membership changes: join at the end, or leave.
      int action = Uniform(rng, 0, 9);
      if (action == 0 && static_cast<int>(p.members.size()) < kUsers) {
        std::set<std::string> in;
        for (const auto& m : p.members) in.insert(m.user);
        std::vector<std::string> out;
        for (int i = 0; i < kUsers; ++i) {
          if (!in.count("u" + std::to_string(i))) out.push_back("u" + std::to_string(i));
        }
        p.members.push_back({out[static_cast<size_t>(Uniform(rng, 0, static_cast<int>(out.size()) - 1))], next_pos++});
      } else if (action == 1 && p.members.size() > 1) {
        p.members.erase(p.members.begin() + Uniform(rng, 0, static_cast<int>(p.members.size()) - 1));
      }
      // Eligibility flips: inactive or out of office now.
      std::set<std::string> eligible;
      for (User& u : h.config.users) {
        u.active = Chance(rng, 0.8);
        u.out_of_office.clear();
        if (Chance(rng, 0.1)) u.out_of_office.push_back({now - minutes(5), now + minutes(5)});
        if (u.active && u.out_of_office.empty()) eligible.insert(u.id);
      }
      h.Build();

      // The model: first eligible member after last_pos, wrapping.
      std::string want;
      int64_t want_pos = 0;
      const auto& ms = h.config.pools[0].members;
      for (size_t k = 0, n = ms.size(); k < n && want.empty(); ++k) {
        size_t start = static_cast<size_t>(std::upper_bound(ms.begin(), ms.end(), last_pos,
                                                            [](int64_t v, const PoolMember& m) {
                                                              return v < m.position;
                                                            }) -
                                           ms.begin());
        const PoolMember& m = ms[(start + k) % n];
        if (eligible.count(m.user)) {
          want = m.user;
          want_pos = m.position;
        }
      }

      Decision d = h.DecideNew(now);
      if (want.empty()) {
        ASSERT_EQ(d.outcome, Outcome::kUnassigned) << "step " << step;
        ASSERT_EQ(d.reason, Reason::kNoEligibleUser);
        ASSERT_TRUE(d.changes.pools.empty());
      } else {
        ASSERT_EQ(d.owner, want) << "step " << step;
        ASSERT_EQ(d.outcome, Outcome::kAssigned);
        ASSERT_EQ(h.state.PoolPointer("p"), want_pos);
        // Never twice in a row while another eligible member waits.
        if (*d.owner == last_owner) {
          int others = 0;
          for (const auto& m : ms) others += m.user != last_owner && eligible.count(m.user);
          ASSERT_EQ(others, 0) << "step " << step << ": " << last_owner << " served twice";
        }
        last_owner = *d.owner;
        last_pos = want_pos;
      }
      now += minutes(1);
    }
  }
}

// With everybody eligible, every member is served exactly once in each round of n.
TEST(PoolPropertyTest, AllEligibleServesEachMemberOncePerRound) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    int n = Uniform(rng, 1, 9);
    Harness h;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back("u" + std::to_string(i));
      h.config.users.push_back(MakeUser(ids.back()));
    }
    std::shuffle(ids.begin(), ids.end(), rng);
    h.config.pools = {testing::MakePool("p", ids)};
    h.config.rules = {MakeRule("r", ToPool("p"))};
    h.Build();
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(h.NextOwner(testing::Monday()), ids[static_cast<size_t>(i)]) << "seed " << seed;
      }
    }
  }
}

// ---------------------------------------------------------------- keys

// Random whole percents adding up to 100.
std::vector<double> WholePercents(std::mt19937& rng, int n) {
  std::vector<int> cuts;
  std::set<int> used;
  while (static_cast<int>(used.size()) < n - 1) used.insert(Uniform(rng, 1, 99));
  std::vector<double> out;
  int prev = 0;
  for (int c : used) {
    out.push_back(c - prev);
    prev = c;
  }
  out.push_back(100 - prev);
  return out;
}

// Random percents in hundredths adding up to 100.
std::vector<double> HundredthPercents(std::mt19937& rng, int n) {
  std::set<int> used;
  while (static_cast<int>(used.size()) < n - 1) used.insert(Uniform(rng, 1, 9999));
  std::vector<double> out;
  int prev = 0;
  for (int c : used) {
    out.push_back((c - prev) / 100.0);
    prev = c;
  }
  out.push_back((10000 - prev) / 100.0);
  return out;
}

// Checks both SWRR bounds of SPEC §5.2 over `picks` for `percents`.
void CheckBounds(const std::vector<double>& percents, const std::vector<int>& picks, int window) {
  const size_t k = percents.size();
  const double bound = k <= 4 ? 1.0 : 2.0;
  std::vector<int64_t> total(k, 0), win(k, 0), want(k);
  for (size_t i = 0; i < k; ++i) want[i] = std::llround(percents[i] * window / 100.0);
  for (size_t n = 0; n < picks.size(); ++n) {
    ++total[static_cast<size_t>(picks[n])];
    ++win[static_cast<size_t>(picks[n])];
    if (n >= static_cast<size_t>(window)) --win[static_cast<size_t>(picks[n - window])];
    if (n + 1 >= static_cast<size_t>(window)) {
      ASSERT_EQ(win, want) << "window ending at " << n;
    }
    for (size_t i = 0; i < k; ++i) {
      double share = percents[i] * static_cast<double>(n + 1) / 100.0;
      ASSERT_LT(std::fabs(static_cast<double>(total[i]) - share), bound)
          << "user " << i << " of " << k << " after " << n + 1 << " picks";
    }
  }
}

std::string Describe(const std::vector<double>& p) {
  std::string s;
  for (double x : p) s += std::to_string(x) + " ";
  return s;
}

std::vector<int> RunPicks(const std::vector<double>& percents, int n) {
  std::vector<int64_t> w, c(percents.size(), 0);
  for (double p : percents) w.push_back(PercentUnits(p));
  std::vector<bool> e(percents.size(), true);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(PickSmoothWeighted(w, c, e));
  return out;
}

TEST(KeyPropertyTest, WholePercentsUpToFourUsersHoldExactWindowsAndStayWithinOne) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 3000; ++trial) {
    auto p = WholePercents(rng, Uniform(rng, 1, 4));
    SCOPED_TRACE(Describe(p));
    CheckBounds(p, RunPicks(p, 200), 100);
    if (HasFatalFailure()) return;
  }
}

TEST(KeyPropertyTest, WholePercentsManyUsersHoldExactWindowsAndStayWithinTwo) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 1500; ++trial) {
    auto p = WholePercents(rng, Uniform(rng, 5, 20));
    SCOPED_TRACE(Describe(p));
    CheckBounds(p, RunPicks(p, 200), 100);
    if (HasFatalFailure()) return;
  }
}

TEST(KeyPropertyTest, HundredthPercentsHoldExactWindowsOf10000) {
  std::mt19937 rng(2025);
  for (int trial = 0; trial < 12; ++trial) {
    auto p = HundredthPercents(rng, Uniform(rng, 2, 8));
    SCOPED_TRACE(Describe(p));
    CheckBounds(p, RunPicks(p, 20000), 10000);
    if (HasFatalFailure()) return;
  }
}

// Through decide(): random keys under random eligibility flips match a reference SWRR in
// which an ineligible user's credit is left as it is, and the winner is always eligible.
TEST(KeyPropertyTest, DecideMatchesReferenceUnderRandomEligibilityFlips) {
  for (unsigned seed = 1; seed <= 15; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const int n = Uniform(rng, 2, 6);
    auto percents = Uniform(rng, 0, 1) ? WholePercents(rng, n) : HundredthPercents(rng, n);
    Harness h;
    DistributionKey key{"Kent", {}};
    for (int i = 0; i < n; ++i) {
      h.config.users.push_back(MakeUser("u" + std::to_string(i)));
      key.owners.push_back({"u" + std::to_string(i), percents[static_cast<size_t>(i)]});
    }
    h.config.distributions = {MakeDistribution("d", "county", {key})};
    h.config.rules = {MakeRule("r", ToDistribution("d"))};
    std::vector<int64_t> credits(static_cast<size_t>(n), 0);
    Time now = At(2025, 6, 2, 9);
    for (int step = 0; step < 600; ++step) {
      std::vector<bool> eligible(static_cast<size_t>(n));
      bool any = false;
      for (int i = 0; i < n; ++i) {
        bool e = Chance(rng, 0.75);
        h.config.users[static_cast<size_t>(i)].active = e;
        eligible[static_cast<size_t>(i)] = e;
        any = any || e;
      }
      h.Build();
      // Reference nginx SWRR.
      std::vector<int64_t> before = credits;
      int64_t sum = 0;
      int best = -1;
      for (int i = 0; i < n; ++i) {
        if (!eligible[static_cast<size_t>(i)]) continue;
        credits[static_cast<size_t>(i)] += PercentUnits(percents[static_cast<size_t>(i)]);
        sum += PercentUnits(percents[static_cast<size_t>(i)]);
        if (best < 0 || credits[static_cast<size_t>(i)] > credits[static_cast<size_t>(best)]) best = i;
      }
      if (best >= 0) credits[static_cast<size_t>(best)] -= sum;

      Decision d = h.DecideNew(now, {{"county", testing::Str("kent")}});
      if (!any) {
        ASSERT_EQ(d.reason, Reason::kNoEligibleUser);
      } else {
        ASSERT_EQ(d.owner, "u" + std::to_string(best)) << "step " << step;
        ASSERT_TRUE(eligible[static_cast<size_t>(best)]);
      }
      ASSERT_EQ(h.state.KeyCredits("d", "kent", [&] {
        std::vector<std::string> us;
        for (int i = 0; i < n; ++i) us.push_back("u" + std::to_string(i));
        return us;
      }()), credits) << "step " << step;
      for (int i = 0; i < n; ++i) {
        if (!eligible[static_cast<size_t>(i)]) {
          ASSERT_EQ(credits[static_cast<size_t>(i)], before[static_cast<size_t>(i)]);
        }
      }
      now += minutes(1);
    }
  }
}

// ---------------------------------------------------------------- rules

// Random rule sets: the decision comes from the first active rule, in priority order,
// that listens to the event and whose conditions hold; otherwise no_rule_matched.
TEST(RulePropertyTest, FirstActiveListeningMatchingRuleDecides) {
  const std::vector<std::string> values = {"a", "b", "c"};
  const std::vector<Event> events = {Event::kCreated, Event::kUpdated, Event::kBulk};
  for (unsigned seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    Harness h;
    const int n = Uniform(rng, 1, 12);
    struct Model {
      bool active;
      std::set<Event> events;
      std::string value;  // eq on "f"; empty: "g" is_not_empty
    };
    std::vector<Model> model;
    for (int i = 0; i < n; ++i) {
      std::string id = "r" + std::to_string(i);
      h.config.users.push_back(MakeUser("u" + std::to_string(i)));
      Rule r = MakeRule(id, ToUser("u" + std::to_string(i)));
      Model m;
      m.active = Chance(rng, 0.8);
      r.active = m.active;
      r.events.clear();
      for (Event e : events) {
        if (Chance(rng, 0.5)) {
          r.events.push_back(e);
          m.events.insert(e);
        }
      }
      if (r.events.empty()) {
        r.events.push_back(Event::kCreated);
        m.events.insert(Event::kCreated);
      }
      if (Chance(rng, 0.8)) {
        m.value = values[static_cast<size_t>(Uniform(rng, 0, 2))];
        r.conditions.all = {testing::Cond("f", Op::kEq, testing::One(testing::Str(m.value)))};
      } else {
        r.conditions.all = {testing::Cond("g", Op::kIsNotEmpty)};
      }
      h.config.rules.push_back(r);
      model.push_back(m);
    }
    h.Build();
    for (int q = 0; q < 50; ++q) {
      Properties props;
      int fv = Uniform(rng, 0, 3);
      if (fv < 3) props["f"] = testing::Str(fv == 0 ? " A " : values[static_cast<size_t>(fv)]);
      bool g = Chance(rng, 0.3);
      if (g) props["g"] = testing::Str("x");
      Event e = events[static_cast<size_t>(Uniform(rng, 0, 2))];
      std::optional<std::string> want;
      for (int i = 0; i < n && !want; ++i) {
        const Model& m = model[static_cast<size_t>(i)];
        if (!m.active || !m.events.count(e)) continue;
        bool holds = m.value.empty() ? g : (fv < 3 && values[static_cast<size_t>(fv)] == m.value);
        if (holds) want = "r" + std::to_string(i);
      }
      Harness::Options o;
      o.event = e;
      Properties prev;
      if (e == Event::kUpdated) o.previous = &prev;
      Decision d = h.Peek(MakeRecord("x", props), At(2025, 6, 2, 9), o);
      ASSERT_EQ(d.rule, want) << "query " << q;
      if (!want) {
        ASSERT_EQ(d.reason, Reason::kNoRuleMatched);
      }
    }
  }
}

// Random rules drawn from a small set of conditions (so rules share conditions, in
// "all" and "any"): the rule chosen is the one a condition-by-condition evaluation
// in a workspace of its own picks.
TEST(RulePropertyTest, SharedConditionsEvaluateAsIfAlone) {
  using testing::Cond;
  using testing::One;
  using testing::Str;
  using testing::StrList;
  const std::vector<Condition> pool = {
      Cond("f", Op::kEq, One("a")),           Cond("f", Op::kNeq, One("b")),
      Cond("f", Op::kIn, StrList({"a", "c"})), Cond("n", Op::kGt, One("10")),
      Cond("n", Op::kLte, One("5")),          Cond("g", Op::kIsEmpty),
      Cond("g", Op::kContains, One("X")),     Cond("n", Op::kBetween, StrList({"3", "12"})),
      Cond("f", Op::kChangedTo, One("a")),    Cond("g", Op::kChanged)};
  // Each condition alone, as its own workspace decides it.
  auto alone = [](const Condition& c, const Properties& props, const Properties* prev) {
    Config config;
    config.users.push_back(MakeUser("u"));
    Rule r = MakeRule("r", ToUser("u"));
    r.conditions.all = {c};
    config.rules.push_back(r);
    Harness h;
    h.config = config;
    h.Build();
    Harness::Options o;
    o.event = Event::kCreated;
    o.previous = prev;
    return h.Peek(MakeRecord("x", props), At(2025, 6, 2, 9), o).rule.has_value();
  };
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    Harness h;
    h.config.users.push_back(MakeUser("u"));
    const int n = Uniform(rng, 2, 10);
    std::vector<std::vector<int>> all(static_cast<size_t>(n)), any(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      Rule r = MakeRule("r" + std::to_string(i), ToUser("u"));
      r.conditions.all.clear();
      int na = Uniform(rng, 0, 3), ny = Uniform(rng, na == 0 ? 1 : 0, 3);
      for (int k = 0; k < na; ++k) all[static_cast<size_t>(i)].push_back(Uniform(rng, 0, 9));
      for (int k = 0; k < ny; ++k) any[static_cast<size_t>(i)].push_back(Uniform(rng, 0, 9));
      for (int c : all[static_cast<size_t>(i)]) r.conditions.all.push_back(pool[static_cast<size_t>(c)]);
      for (int c : any[static_cast<size_t>(i)]) r.conditions.any.push_back(pool[static_cast<size_t>(c)]);
      h.config.rules.push_back(r);
    }
    h.Build();
    const std::vector<std::string> fs = {"a", "b", "c", ""}, ns = {"1", "5", "10", "11", "abc", ""},
                                   gs = {"", "xy", "q"};
    for (int q = 0; q < 40; ++q) {
      Properties props, prev;
      auto put = [&](Properties& p, const std::string& k, const std::string& v) {
        if (!v.empty()) p[k] = Str(v);
      };
      put(props, "f", fs[static_cast<size_t>(Uniform(rng, 0, 3))]);
      put(props, "n", ns[static_cast<size_t>(Uniform(rng, 0, 5))]);
      put(props, "g", gs[static_cast<size_t>(Uniform(rng, 0, 2))]);
      if (Chance(rng, 0.5)) prev["f"] = Str(fs[static_cast<size_t>(Uniform(rng, 0, 3))]);
      if (Chance(rng, 0.5)) prev["g"] = Str(gs[static_cast<size_t>(Uniform(rng, 0, 2))]);
      std::vector<int> holds(pool.size());
      for (size_t c = 0; c < pool.size(); ++c) holds[c] = alone(pool[c], props, &prev);
      std::optional<std::string> want;
      for (int i = 0; i < n && !want; ++i) {
        bool ok = true;
        for (int c : all[static_cast<size_t>(i)]) ok = ok && holds[static_cast<size_t>(c)];
        if (!any[static_cast<size_t>(i)].empty()) {
          bool one = false;
          for (int c : any[static_cast<size_t>(i)]) one = one || holds[static_cast<size_t>(c)];
          ok = ok && one;
        }
        if (ok) want = "r" + std::to_string(i);
      }
      Harness::Options o;
      o.previous = &prev;
      ASSERT_EQ(h.Peek(MakeRecord("x", props), At(2025, 6, 2, 9), o).rule, want) << "query " << q;
    }
  }
}

}  // namespace
}  // namespace rota::core
