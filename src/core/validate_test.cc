// Validation (SPEC §3 limits, §4 value shapes, §5.2 percents): a bad configuration is
// refused by Workspace::Build with every problem and the path naming its place.
#include "core/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/test_util.h"

namespace rota::core {
namespace {

using testing::Cond;
using testing::List;
using testing::MakeDistribution;
using testing::MakePool;
using testing::MakeRule;
using testing::MakeUser;
using testing::Num;
using testing::One;
using testing::Str;
using testing::StrList;
using testing::ToDistribution;
using testing::ToPool;
using testing::ToUser;

Config Base() {
  Config c;
  c.users = {MakeUser("u1"), MakeUser("u2")};
  return c;
}

// The problems Workspace::Build reports; empty when it builds.
std::vector<Problem> Problems(const Config& c) {
  auto r = Workspace::Build(c);
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().error_code(), "validation_failed");
  EXPECT_FALSE(r.status().details().empty());
  return r.status().details();
}

bool HasPath(const std::vector<Problem>& ps, const std::string& path) {
  return std::any_of(ps.begin(), ps.end(), [&](const Problem& p) { return p.path == path; });
}

std::string Paths(const std::vector<Problem>& ps) {
  std::string s;
  for (const Problem& p : ps) s += p.path + ": " + p.message + "\n";
  return s;
}

Rule UserRule(std::string id, ObjectType t = ObjectType::kLead, std::vector<Event> ev = {Event::kCreated}) {
  return MakeRule(std::move(id), ToUser("u1"), t, std::move(ev));
}

TEST(ValidateTest, ValidConfigBuilds) {
  Config c = Base();
  c.pools.push_back(MakePool("p", {"u1", "u2"}));
  c.rules.push_back(MakeRule("r", ToPool("p")));
  EXPECT_TRUE(Problems(c).empty());
  EXPECT_TRUE(Validate(c).empty());
}

// ---------------------------------------------------------------- limits

TEST(RuleLimitTest, FiftyRulesPerTypeAndEventAreAllowed) {
  Config c = Base();
  for (int i = 0; i < 50; ++i) c.rules.push_back(UserRule("r" + std::to_string(i)));
  EXPECT_TRUE(Problems(c).empty());
}

TEST(RuleLimitTest, FiftyFirstRuleIsRefusedWithItsPath) {
  Config c = Base();
  for (int i = 0; i < 51; ++i) c.rules.push_back(UserRule("r" + std::to_string(i)));
  auto ps = Problems(c);
  ASSERT_EQ(ps.size(), 1u) << Paths(ps);
  EXPECT_EQ(ps[0].path, "rules[50]");
  EXPECT_NE(ps[0].message.find("50"), std::string::npos);
}

TEST(RuleLimitTest, InactiveRulesCountTowardsTheLimit) {
  Config c = Base();
  for (int i = 0; i < 51; ++i) {
    Rule r = UserRule("r" + std::to_string(i));
    r.active = i < 10;
    c.rules.push_back(r);
  }
  EXPECT_TRUE(HasPath(Problems(c), "rules[50]"));
}

TEST(RuleLimitTest, LimitIsPerObjectTypeAndEvent) {
  Config c = Base();
  for (int i = 0; i < 50; ++i) c.rules.push_back(UserRule("lc" + std::to_string(i)));
  for (int i = 0; i < 50; ++i) c.rules.push_back(UserRule("lu" + std::to_string(i), ObjectType::kLead, {Event::kUpdated}));
  for (int i = 0; i < 50; ++i) c.rules.push_back(UserRule("dc" + std::to_string(i), ObjectType::kDeal));
  EXPECT_TRUE(Problems(c).empty());
  // One more rule on both lead events breaks both.
  c.rules.push_back(UserRule("extra", ObjectType::kLead, {Event::kCreated, Event::kUpdated}));
  auto ps = Problems(c);
  EXPECT_TRUE(HasPath(ps, "rules[150]")) << Paths(ps);
  EXPECT_EQ(ps.size(), 2u) << Paths(ps);
}

TEST(ConditionLimitTest, HundredSixtyConditionsPerSetAreAllowed) {
  Config c = Base();
  Rule r = UserRule("r");
  r.conditions.all.assign(160, Cond("a", Op::kEq, One("1")));
  r.conditions.any.assign(160, Cond("a", Op::kEq, One("1")));
  c.rules.push_back(r);
  EXPECT_TRUE(Problems(c).empty());
}

TEST(ConditionLimitTest, HundredSixtyFirstConditionIsRefusedWithTheSetsPath) {
  Config c = Base();
  c.rules.push_back(UserRule("r0"));
  Rule r = UserRule("r1");
  r.conditions.all.assign(161, Cond("a", Op::kEq, One("1")));
  c.rules.push_back(r);
  Rule s = UserRule("r2");
  s.conditions.any.assign(161, Cond("a", Op::kEq, One("1")));
  c.rules.push_back(s);
  auto ps = Problems(c);
  EXPECT_TRUE(HasPath(ps, "rules[1].conditions.all")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[2].conditions.any")) << Paths(ps);
  EXPECT_EQ(ps.size(), 2u) << Paths(ps);
}

TEST(ConditionLimitTest, RuleWithoutConditionsIsRefused) {
  Config c = Base();
  Rule r = UserRule("r");
  r.conditions = {};
  c.rules = {UserRule("ok"), r};
  auto ps = Problems(c);
  ASSERT_EQ(ps.size(), 1u) << Paths(ps);
  EXPECT_EQ(ps[0].path, "rules[1].conditions");
}

TEST(ConditionLimitTest, OneConditionInAnyIsEnough) {
  Config c = Base();
  Rule r = UserRule("r");
  r.conditions.all.clear();
  r.conditions.any = {Cond("a", Op::kIsEmpty)};
  c.rules.push_back(r);
  EXPECT_TRUE(Problems(c).empty());
}

TEST(ValidateTest, BuildRefusalMessageNamesTheFirstProblemAndCount) {
  Config c = Base();
  Rule r = UserRule("r");
  r.conditions.all = {Cond("a", Op::kBetween, One("1")), Cond("b", Op::kIn, One("x"))};
  c.rules.push_back(r);
  auto built = Workspace::Build(c);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("rules[0].conditions.all[0].value"), std::string::npos);
  EXPECT_NE(built.status().message().find("1 more problem"), std::string::npos);
  ASSERT_EQ(built.status().details().size(), 2u);
  EXPECT_EQ(built.status().details()[1].path, "rules[0].conditions.all[1].value");
}

// ---------------------------------------------------------------- value shapes

struct ShapeCase {
  Op op;
  ConditionValue value;
  bool ok;
};

TEST(ValueShapeTest, EachOperatorTakesItsShape) {
  const ConditionValue none = {};
  const ConditionValue null_scalar = One(Value::Null());
  const ConditionValue scalar = One("x");
  const ConditionValue number = One(Num("5"));
  const ConditionValue boolean = One(Value::Bool(true));
  const ConditionValue list1 = StrList({"a"});
  const ConditionValue list2 = StrList({"a", "b"});
  const ConditionValue list3 = StrList({"a", "b", "c"});
  const ConditionValue empty_list = List({});
  const ConditionValue list_with_null = List({Str("a"), Value::Null()});
  const ConditionValue other = {ConditionValue::Shape::kOther, {}};
  std::vector<ShapeCase> cases;
  for (Op op : {Op::kIn, Op::kNotIn}) {
    cases.insert(cases.end(), {{op, list1, true}, {op, list3, true}, {op, empty_list, true}, {op, none, false},
                               {op, scalar, false}, {op, list_with_null, false}, {op, other, false}});
  }
  cases.insert(cases.end(), {{Op::kBetween, list2, true}, {Op::kBetween, List({Num("1"), Num("2")}), true},
                             {Op::kBetween, list1, false}, {Op::kBetween, list3, false}, {Op::kBetween, scalar, false},
                             {Op::kBetween, none, false}, {Op::kBetween, List({Str("a"), Value::Null()}), false},
                             {Op::kBetween, other, false}});
  for (Op op : {Op::kIsEmpty, Op::kIsNotEmpty, Op::kChanged}) {
    cases.insert(cases.end(), {{op, none, true}, {op, scalar, false}, {op, list1, false}, {op, other, false}});
  }
  for (Op op : {Op::kEq, Op::kNeq, Op::kContains, Op::kNotContains, Op::kStartsWith, Op::kEndsWith, Op::kGt,
                Op::kGte, Op::kLt, Op::kLte, Op::kChangedFrom, Op::kChangedTo}) {
    cases.insert(cases.end(), {{op, scalar, true}, {op, number, true}, {op, boolean, true}, {op, none, false},
                               {op, null_scalar, false}, {op, list1, false}, {op, other, false}});
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const ShapeCase& sc = cases[i];
    SCOPED_TRACE(std::string(ToString(sc.op)) + " case " + std::to_string(i));
    EXPECT_EQ(CheckValueShape(sc.op, sc.value).empty(), sc.ok);
    Config c = Base();
    Rule r = UserRule("r");
    r.conditions.all = {Cond("a", Op::kEq, One("1")), Cond("f", sc.op, sc.value)};
    c.rules = {UserRule("r0"), UserRule("r1"), UserRule("r2"), r};
    auto ps = Problems(c);
    if (sc.ok) {
      EXPECT_TRUE(ps.empty()) << Paths(ps);
    } else {
      ASSERT_EQ(ps.size(), 1u) << Paths(ps);
      EXPECT_EQ(ps[0].path, "rules[3].conditions.all[1].value");
      EXPECT_NE(ps[0].message.find(std::string(ToString(sc.op))), std::string::npos) << ps[0].message;
    }
  }
}

TEST(ValueShapeTest, PathNamesTheAnySetToo) {
  Config c = Base();
  Rule r = UserRule("r");
  r.conditions.any = {Cond("a", Op::kEq, One("1")), Cond("a", Op::kEq, One("1")), Cond("b", Op::kIsEmpty, One("x"))};
  c.rules = {UserRule("r0"), UserRule("r1"), UserRule("r2"), r};
  auto ps = Problems(c);
  ASSERT_EQ(ps.size(), 1u) << Paths(ps);
  EXPECT_EQ(ps[0].path, "rules[3].conditions.any[2].value");
}

TEST(ValueShapeTest, ConditionNeedsAField) {
  Config c = Base();
  Rule r = UserRule("r");
  r.conditions.all = {Cond(" ", Op::kIsEmpty)};
  c.rules = {r};
  EXPECT_TRUE(HasPath(Problems(c), "rules[0].conditions.all[0].field"));
}

TEST(OperatorTest, EveryOperatorOfTheSpecParsesAndUnknownOnesDoNot) {
  for (const char* name : {"eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with", "gt",
                           "gte", "lt", "lte", "between", "is_empty", "is_not_empty", "changed", "changed_from",
                           "changed_to"}) {
    auto op = ParseOp(name);
    ASSERT_TRUE(op.has_value()) << name;
    EXPECT_EQ(ToString(*op), name);
  }
  for (const char* name : {"like", "EQ", "equals", "", "not_between", "regex"}) {
    EXPECT_FALSE(ParseOp(name).has_value()) << name;
  }
}

// ---------------------------------------------------------------- references

TEST(ReferenceTest, UnknownReferencesAreRefusedWithTheirPaths) {
  Config c = Base();
  c.pools.push_back(MakePool("p", {"u1", "ghost"}));
  Rule a = MakeRule("a", ToUser("ghost"));
  Rule b = MakeRule("b", ToPool("nopool"));
  Rule d = MakeRule("d", ToDistribution("nodist"));
  Rule f = MakeRule("f", ToUser("u1"));
  f.fallback_user = "ghost";
  c.rules = {a, b, d, f};
  c.settings.default_owners[ObjectType::kDeal] = "ghost";
  auto ps = Problems(c);
  EXPECT_TRUE(HasPath(ps, "pools[0].members[1]")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[0].assign.user")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[1].assign.pool")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[2].assign.distribution")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[3].fallback_user")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "settings.default_owners.deal")) << Paths(ps);
}

TEST(ReferenceTest, PoolOfAnotherObjectTypeIsRefused) {
  Config c = Base();
  c.pools.push_back(MakePool("deals", {"u1"}, ObjectType::kDeal));
  c.rules = {MakeRule("r", ToPool("deals"), ObjectType::kLead),
             MakeRule("l", testing::ToLeastLoaded("deals"), ObjectType::kLead)};
  auto ps = Problems(c);
  EXPECT_TRUE(HasPath(ps, "rules[0].assign.pool")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[1].assign.pool")) << Paths(ps);
}

TEST(ReferenceTest, DuplicateIdsAreRefused) {
  Config c = Base();
  c.users.push_back(MakeUser("u1"));
  c.rules = {UserRule("r"), UserRule("r")};
  auto ps = Problems(c);
  EXPECT_TRUE(HasPath(ps, "users[2].id")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "rules[1].id")) << Paths(ps);
}

TEST(ReferenceTest, RuleNeedsAnEvent) {
  Config c = Base();
  c.rules = {UserRule("r", ObjectType::kLead, {})};
  EXPECT_TRUE(HasPath(Problems(c), "rules[0].events"));
}

TEST(ReferenceTest, PoolPositionsMustIncrease) {
  Config c = Base();
  Pool p = MakePool("p", {"u1", "u2"});
  p.members[1].position = 1;
  c.pools.push_back(p);
  EXPECT_TRUE(HasPath(Problems(c), "pools[0].members[1]"));
}

// ---------------------------------------------------------------- distributions

Config WithKey(std::vector<KeyOwner> owners, std::string value = "Kent") {
  Config c = Base();
  c.users.push_back(MakeUser("u3"));
  c.distributions.push_back(MakeDistribution("d", "county", {{std::move(value), std::move(owners)}}));
  return c;
}

TEST(DistributionValidationTest, PercentsMustAddUpTo100WithinAHundredth) {
  EXPECT_TRUE(Problems(WithKey({{"u1", 50}, {"u2", 30}, {"u3", 20}})).empty());
  EXPECT_TRUE(Problems(WithKey({{"u1", 33.33}, {"u2", 33.33}, {"u3", 33.34}})).empty());
  EXPECT_TRUE(Problems(WithKey({{"u1", 33.33}, {"u2", 33.33}, {"u3", 33.33}})).empty());  // 99.99
  EXPECT_TRUE(Problems(WithKey({{"u1", 33.34}, {"u2", 33.34}, {"u3", 33.33}})).empty());  // 100.01
  auto low = Problems(WithKey({{"u1", 33.33}, {"u2", 33.33}, {"u3", 33.32}}));  // 99.98
  EXPECT_TRUE(HasPath(low, "distributions[0].keys[0].owners")) << Paths(low);
  auto high = Problems(WithKey({{"u1", 60}, {"u2", 50}}));
  EXPECT_TRUE(HasPath(high, "distributions[0].keys[0].owners")) << Paths(high);
}

TEST(DistributionValidationTest, KeyNeedsValueOwnersAndKnownUsers) {
  EXPECT_TRUE(HasPath(Problems(WithKey({{"u1", 100}}, "  ")), "distributions[0].keys[0].value"));
  EXPECT_TRUE(HasPath(Problems(WithKey({})), "distributions[0].keys[0].owners"));
  EXPECT_TRUE(HasPath(Problems(WithKey({{"ghost", 100}})), "distributions[0].keys[0].owners[0].user"));
  EXPECT_TRUE(HasPath(Problems(WithKey({{"u1", 0}, {"u2", 100}})), "distributions[0].keys[0].owners[0].percent"));
  EXPECT_TRUE(HasPath(Problems(WithKey({{"u1", 50}, {"u1", 50}})), "distributions[0].keys[0].owners[1].user"));
}

TEST(DistributionValidationTest, AKeysValueHasAtMost1000Bytes) {
  EXPECT_TRUE(Problems(WithKey({{"u1", 100}}, std::string(kMaxKeyValue, 'k'))).empty());
  auto ps = Problems(WithKey({{"u1", 100}}, std::string(kMaxKeyValue + 1, 'k')));
  EXPECT_TRUE(HasPath(ps, "distributions[0].keys[0].value")) << Paths(ps);
}

TEST(DistributionValidationTest, KeyValuesAreUniqueOnceFolded) {
  Config c = WithKey({{"u1", 100}});
  c.distributions[0].keys.push_back({" KENT ", {{"u2", 100}}});
  EXPECT_TRUE(HasPath(Problems(c), "distributions[0].keys[1].value"));
}

TEST(SettingsValidationTest, UnknownTimeZonesAreRefused) {
  Config c = Base();
  c.settings.time_zone = "Mars/Olympus";
  User u = MakeUser("u3");
  WorkingHours h;
  h.tz = "Nowhere/City";
  u.working_hours = h;
  c.users.push_back(u);
  auto ps = Problems(c);
  EXPECT_TRUE(HasPath(ps, "settings.time_zone")) << Paths(ps);
  EXPECT_TRUE(HasPath(ps, "users[2].working_hours.tz")) << Paths(ps);
}

TEST(SettingsValidationTest, WorkingHoursIntervalsMustBeWithinTheDay) {
  Config c = Base();
  User u = MakeUser("u3");
  WorkingHours h;
  h.tz = "UTC";
  h.days[1] = {{9 * 60, 1441}};
  u.working_hours = h;
  c.users.push_back(u);
  EXPECT_TRUE(HasPath(Problems(c), "users[2].working_hours.days.mon"));
  c.users.back().working_hours->days[1] = {{0, 60}, {600, 540}};
  EXPECT_TRUE(HasPath(Problems(c), "users[2].working_hours.days.mon[1]")) << Paths(Problems(c));
  c.users.back().working_hours->days[1] = {{0, 1440}};
  EXPECT_TRUE(Problems(c).empty());
}

TEST(SettingsValidationTest, OutOfOfficeMustEndAfterItStarts) {
  Config c = Base();
  c.users[0].out_of_office = {{testing::At(2025, 6, 2), testing::At(2025, 6, 2)}};
  EXPECT_TRUE(HasPath(Problems(c), "users[0].out_of_office[0]"));
}

}  // namespace
}  // namespace rota::core
