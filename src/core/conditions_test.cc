// Condition operators (SPEC §4): every operator, folding, numbers vs text, missing and
// empty properties, and changed / changed_from / changed_to against `previous`.
#include "core/conditions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/test_util.h"

namespace rota::core {
namespace {

using testing::Cond;
using testing::List;
using testing::MakeRule;
using testing::MakeUser;
using testing::Num;
using testing::One;
using testing::Str;
using testing::StrList;
using testing::ToUser;

// Whether `c` holds for a record with `props` (and `previous`, for updated events). The
// condition goes through Workspace::Build, so it is also a valid one.
bool Eval(const Condition& c, const Properties& props, const Properties* previous = nullptr) {
  Config config;
  config.users.push_back(MakeUser("u"));
  Rule r = MakeRule("r", ToUser("u"));
  r.conditions.all = {c};
  config.rules.push_back(r);
  auto ws = testing::BuildOrThrow(config);
  RecordOperands ops(*ws, props, previous);
  return Holds(ws->FindRule("r")->all[0], ops);
}

Properties P(const std::string& field, Value v) { return {{field, std::move(v)}}; }
Properties S(const std::string& field, const std::string& v) { return P(field, Str(v)); }
const Properties kNone;

// ---------------------------------------------------------------- eq / neq

TEST(EqTest, FoldsCaseAndSurroundingSpace) {
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One("kraków")), S("city", "KRAKÓW")));
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One("KRAKÓW")), S("city", "kraków")));
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One("PLZEŇ")), S("city", " Plzeň ")));
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One(" Plzeň ")), S("city", "PLZEŇ")));
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One("Kent")), S("city", "\tkent\n")));
  EXPECT_FALSE(Eval(Cond("city", Op::kEq, One("Krakow")), S("city", "Kraków")));
}

TEST(EqTest, CanonicallyEquivalentFormsAreEqual) {
  const std::string nfc = "Plze\xC5\x88";      // ň as one code point (U+0148)
  const std::string nfd = "Plzen\xCC\x8C";     // n + combining caron (U+030C)
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One(Str(nfc))), S("city", nfd)));
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One(Str(nfd))), S("city", "PLZE\xC5\x87")));
  const std::string upper_nfd = "KRAKO\xCC\x81W";  // Ó decomposed
  EXPECT_TRUE(Eval(Cond("city", Op::kEq, One("kraków")), S("city", upper_nfd)));
}

TEST(EqTest, FoldsOtherScripts) {
  EXPECT_TRUE(Eval(Cond("c", Op::kEq, One("straße")), S("c", "STRASSE")));        // full case folding
  EXPECT_TRUE(Eval(Cond("c", Op::kEq, One("ΑΘΉΝΑ")), S("c", "αθήνα")));           // Greek
  EXPECT_TRUE(Eval(Cond("c", Op::kEq, One("МОСКВА")), S("c", "москва")));         // Cyrillic
  EXPECT_TRUE(Eval(Cond("c", Op::kEq, One("ŁÓDŹ")), S("c", "łódź")));             // Polish
  EXPECT_TRUE(Eval(Cond("c", Op::kEq, One("Ärger")), S("c", "\xE3\x80\x80" "ärger\xC2\xA0")));  // Unicode spaces
}

TEST(EqTest, NumbersCompareNumerically) {
  EXPECT_TRUE(Eval(Cond("amount", Op::kEq, One(Num("1200"))), S("amount", "1200.0")));
  EXPECT_TRUE(Eval(Cond("amount", Op::kEq, One("1200")), P("amount", Num("1200"))));
  EXPECT_TRUE(Eval(Cond("amount", Op::kEq, One("-12.5")), S("amount", " -12.5 ")));
  EXPECT_TRUE(Eval(Cond("amount", Op::kEq, One("007")), S("amount", "7")));
  EXPECT_TRUE(Eval(Cond("amount", Op::kEq, One(Num("1e3"))), P("amount", Num("1000"))));  // JSON numbers
}

TEST(EqTest, NonDecimalStringsCompareAsText) {
  EXPECT_FALSE(Eval(Cond("n", Op::kEq, One(Num("1000"))), S("n", "1e3")));
  EXPECT_FALSE(Eval(Cond("n", Op::kEq, One(Num("5"))), S("n", "+5")));
  EXPECT_FALSE(Eval(Cond("n", Op::kEq, One(Num("1000"))), S("n", "1_000")));
  EXPECT_TRUE(Eval(Cond("n", Op::kEq, One("1e3")), S("n", "1E3")));  // as folded text
}

TEST(EqTest, MissingPropertyIsEmpty) {
  EXPECT_TRUE(Eval(Cond("x", Op::kEq, One("")), kNone));
  EXPECT_FALSE(Eval(Cond("x", Op::kEq, One("a")), kNone));
  EXPECT_TRUE(Eval(Cond("x", Op::kEq, One("")), P("x", Value::Null())));
}

TEST(EqTest, BoolsCompareAsText) {
  EXPECT_TRUE(Eval(Cond("vip", Op::kEq, One(Value::Bool(true))), S("vip", "TRUE")));
  EXPECT_TRUE(Eval(Cond("vip", Op::kEq, One("true")), P("vip", Value::Bool(true))));
  EXPECT_FALSE(Eval(Cond("vip", Op::kEq, One("true")), P("vip", Value::Bool(false))));
}

TEST(NeqTest, IsTheNegationOfEq) {
  EXPECT_FALSE(Eval(Cond("city", Op::kNeq, One("kraków")), S("city", "KRAKÓW")));
  EXPECT_TRUE(Eval(Cond("city", Op::kNeq, One("Kraków")), S("city", "Plzeň")));
  EXPECT_FALSE(Eval(Cond("n", Op::kNeq, One("10")), S("n", "10.00")));
  EXPECT_TRUE(Eval(Cond("x", Op::kNeq, One("a")), kNone));  // missing is empty, not "a"
}

// ---------------------------------------------------------------- in / not_in

TEST(InTest, MatchesAnyItemWithFoldingAndNumbers) {
  auto c = Cond("city", Op::kIn, StrList({"Kraków", "Plzeň"}));
  EXPECT_TRUE(Eval(c, S("city", "KRAKÓW")));
  EXPECT_TRUE(Eval(c, S("city", " plzeň ")));
  EXPECT_FALSE(Eval(c, S("city", "Praha")));
  EXPECT_FALSE(Eval(c, kNone));
  auto n = Cond("n", Op::kIn, List({Num("1"), Num("2.5")}));
  EXPECT_TRUE(Eval(n, S("n", "2.50")));
  EXPECT_FALSE(Eval(n, S("n", "3")));
}

TEST(NotInTest, IsTheNegationOfIn) {
  auto c = Cond("city", Op::kNotIn, StrList({"Kraków", "Plzeň"}));
  EXPECT_FALSE(Eval(c, S("city", "kraków")));
  EXPECT_TRUE(Eval(c, S("city", "Praha")));
  EXPECT_TRUE(Eval(c, kNone));
}

TEST(InTest, AnEmptyListHoldsNothing) {
  // `in`/`not_in` take a list, and [] is one: nothing is in it, everything is not.
  EXPECT_FALSE(Eval(Cond("city", Op::kIn, StrList({})), S("city", "Praha")));
  EXPECT_FALSE(Eval(Cond("city", Op::kIn, StrList({})), kNone));
  EXPECT_TRUE(Eval(Cond("city", Op::kNotIn, StrList({})), S("city", "Praha")));
  EXPECT_TRUE(Eval(Cond("city", Op::kNotIn, StrList({})), kNone));
}

// ---------------------------------------------------------------- text operators

TEST(ContainsTest, FoldedSubstring) {
  EXPECT_TRUE(Eval(Cond("t", Op::kContains, One("KÓW")), S("t", "Kraków city")));
  EXPECT_FALSE(Eval(Cond("t", Op::kContains, One("xyz")), S("t", "Kraków city")));
  EXPECT_FALSE(Eval(Cond("t", Op::kContains, One("a")), kNone));
  EXPECT_TRUE(Eval(Cond("t", Op::kContains, One("00")), P("t", Num("1200"))));
}

// A megabyte of "a" against 2 500 "a" and a "b": found or not by a search linear in both (it
// took minutes by comparing at every place; this test is not timed, only answered).
TEST(ContainsTest, ALongRepetitiveTextAndNeedle) {
  const std::string hay(1 << 20, 'a');
  const std::string needle = std::string(2500, 'a') + "b";
  EXPECT_FALSE(Eval(Cond("t", Op::kContains, One(needle.c_str())), S("t", hay)));
  EXPECT_TRUE(Eval(Cond("t", Op::kContains, One(needle.c_str())), S("t", hay + "b")));
  EXPECT_TRUE(Eval(Cond("t", Op::kNotContains, One(needle.c_str())), S("t", hay)));
}

TEST(NotContainsTest, IsTheNegationOfContains) {
  EXPECT_FALSE(Eval(Cond("t", Op::kNotContains, One("KÓW")), S("t", "Kraków")));
  EXPECT_TRUE(Eval(Cond("t", Op::kNotContains, One("xyz")), S("t", "Kraków")));
  EXPECT_TRUE(Eval(Cond("t", Op::kNotContains, One("a")), kNone));
}

TEST(StartsWithTest, FoldedPrefixIgnoringSurroundingSpace) {
  EXPECT_TRUE(Eval(Cond("e", Op::kStartsWith, One("ACME")), S("e", "  acme.com")));
  EXPECT_TRUE(Eval(Cond("e", Op::kStartsWith, One("ŁÓ")), S("e", "łódź")));
  EXPECT_FALSE(Eval(Cond("e", Op::kStartsWith, One("com")), S("e", "acme.com")));
  EXPECT_FALSE(Eval(Cond("e", Op::kStartsWith, One("a")), kNone));
}

TEST(EndsWithTest, FoldedSuffixIgnoringSurroundingSpace) {
  EXPECT_TRUE(Eval(Cond("e", Op::kEndsWith, One("@ACME.PL")), S("e", "jan@acme.pl  ")));
  EXPECT_TRUE(Eval(Cond("e", Op::kEndsWith, One("Ń")), S("e", "poznań")));
  EXPECT_FALSE(Eval(Cond("e", Op::kEndsWith, One("acme")), S("e", "acme.pl")));
}

// ---------------------------------------------------------------- ordering

TEST(OrderingTest, NumbersCompareNumerically) {
  // As text "9" > "10"; as numbers 9 < 10.
  EXPECT_TRUE(Eval(Cond("n", Op::kLt, One("10")), S("n", "9")));
  EXPECT_TRUE(Eval(Cond("n", Op::kGt, One(Num("9"))), S("n", "10")));
  EXPECT_TRUE(Eval(Cond("n", Op::kGte, One("-12.5")), S("n", " -12.5 ")));
  EXPECT_TRUE(Eval(Cond("n", Op::kLte, One("-12.5")), P("n", Num("-13"))));
  EXPECT_FALSE(Eval(Cond("n", Op::kGt, One("1000")), P("n", Num("1000"))));
  EXPECT_TRUE(Eval(Cond("n", Op::kGte, One("1000")), P("n", Num("1000"))));
  EXPECT_FALSE(Eval(Cond("n", Op::kLt, One("1000")), P("n", Num("1000"))));
  EXPECT_TRUE(Eval(Cond("n", Op::kLte, One("1000")), P("n", Num("1000"))));
}

TEST(OrderingTest, NumbersCompareExactlyAtAnyLength) {
  // Beyond a double's precision and range: still the decimal numbers they are.
  EXPECT_FALSE(Eval(Cond("n", Op::kEq, One("12345678901234567890")), S("n", "12345678901234567891")));
  EXPECT_TRUE(Eval(Cond("n", Op::kGt, One("12345678901234567890")), S("n", "12345678901234567891")));
  EXPECT_TRUE(Eval(Cond("n", Op::kLt, One(Num("12345678901234567892"))), S("n", "12345678901234567891")));
  EXPECT_FALSE(Eval(Cond("n", Op::kEq, One("0.3")), S("n", "0.30000000000000001")));
  EXPECT_TRUE(Eval(Cond("n", Op::kEq, One("0.3")), S("n", "0.300")));
  const std::string huge(309, '9');
  EXPECT_TRUE(Eval(Cond("n", Op::kGt, One(Num("1"))), S("n", huge)));
  EXPECT_FALSE(Eval(Cond("n", Op::kLt, One(Num("1"))), S("n", huge)));
  EXPECT_TRUE(Eval(Cond("n", Op::kLt, One("0")), S("n", "-" + huge)));
  EXPECT_FALSE(Eval(Cond("n", Op::kEq, One(Num("0"))), S("n", "1" + std::string(400, '0'))));
  EXPECT_TRUE(Eval(Cond("n", Op::kBetween, List({Str("99999999999999999998"), Str("99999999999999999999")})),
                   S("n", "99999999999999999999")));
  EXPECT_FALSE(Eval(Cond("n", Op::kBetween, List({Str("99999999999999999998"), Str("99999999999999999999")})),
                    S("n", "100000000000000000000")));
}

TEST(OrderingTest, NonNumbersCompareAsFoldedText) {
  // "1e3" is not a number: text order, "1e3" < "5".
  EXPECT_TRUE(Eval(Cond("n", Op::kLt, One("5")), S("n", "1e3")));
  EXPECT_TRUE(Eval(Cond("n", Op::kLt, One("5")), S("n", "+50")));    // '+' < '5' as text
  EXPECT_TRUE(Eval(Cond("n", Op::kLt, One("2")), S("n", "1_000")));
  EXPECT_TRUE(Eval(Cond("s", Op::kGt, One("APPLE")), S("s", "banana")));
}

TEST(OrderingTest, IsoDatesOrderAsText) {
  EXPECT_TRUE(Eval(Cond("d", Op::kGt, One("2025-01-31")), S("d", "2025-02-01")));
  EXPECT_TRUE(Eval(Cond("d", Op::kLt, One("2025-10-01")), S("d", "2025-09-30")));
  EXPECT_TRUE(Eval(Cond("d", Op::kGte, One("2025-03-30T10:00:00Z")), S("d", "2025-03-30T10:00:00Z")));
  EXPECT_FALSE(Eval(Cond("d", Op::kLt, One("2024-12-31")), S("d", "2025-01-01")));
}

TEST(OrderingTest, EmptyOrMissingPropertyIsFalseForEveryOrderingOperator) {
  for (Op op : {Op::kGt, Op::kGte, Op::kLt, Op::kLte}) {
    SCOPED_TRACE(std::string(ToString(op)));
    EXPECT_FALSE(Eval(Cond("n", op, One("0")), kNone));
    EXPECT_FALSE(Eval(Cond("n", op, One("")), kNone));
    EXPECT_FALSE(Eval(Cond("n", op, One("a")), S("n", "   ")));
    EXPECT_FALSE(Eval(Cond("n", op, One("a")), P("n", Value::Null())));
  }
  EXPECT_FALSE(Eval(Cond("n", Op::kBetween, StrList({"", "z"})), kNone));
}

TEST(BetweenTest, BothEndsIncluded) {
  auto c = Cond("n", Op::kBetween, List({Num("10"), Num("20")}));
  EXPECT_TRUE(Eval(c, S("n", "10")));
  EXPECT_TRUE(Eval(c, S("n", "20")));
  EXPECT_TRUE(Eval(c, S("n", "15.5")));
  EXPECT_FALSE(Eval(c, S("n", "9.99")));
  EXPECT_FALSE(Eval(c, S("n", "20.01")));
  EXPECT_FALSE(Eval(c, S("n", "100")));  // numeric, not text ("100" < "20" as text)
  auto d = Cond("d", Op::kBetween, StrList({"2025-01-01", "2025-01-31"}));
  EXPECT_TRUE(Eval(d, S("d", "2025-01-01")));
  EXPECT_TRUE(Eval(d, S("d", "2025-01-31")));
  EXPECT_FALSE(Eval(d, S("d", "2025-02-01")));
  auto t = Cond("c", Op::kBetween, StrList({"B", "D"}));
  EXPECT_TRUE(Eval(t, S("c", " c ")));
  EXPECT_TRUE(Eval(t, S("c", "b")));
  EXPECT_TRUE(Eval(t, S("c", "d")));
  EXPECT_FALSE(Eval(t, S("c", "e")));
}

// ---------------------------------------------------------------- emptiness

TEST(IsEmptyTest, MissingNullBlankAndEmptyAreEmpty) {
  auto c = Cond("x", Op::kIsEmpty);
  EXPECT_TRUE(Eval(c, kNone));
  EXPECT_TRUE(Eval(c, P("x", Value::Null())));
  EXPECT_TRUE(Eval(c, S("x", "")));
  EXPECT_TRUE(Eval(c, S("x", "  \t ")));
  EXPECT_FALSE(Eval(c, S("x", "0")));
  EXPECT_FALSE(Eval(c, P("x", Num("0"))));
  EXPECT_FALSE(Eval(c, P("x", Value::Bool(false))));
}

TEST(IsNotEmptyTest, IsTheNegationOfIsEmpty) {
  auto c = Cond("x", Op::kIsNotEmpty);
  EXPECT_FALSE(Eval(c, kNone));
  EXPECT_FALSE(Eval(c, S("x", " ")));
  EXPECT_TRUE(Eval(c, S("x", "a")));
  EXPECT_TRUE(Eval(c, P("x", Num("0"))));
}

// ---------------------------------------------------------------- changed*

TEST(ChangedTest, HoldsWhenOldAndNewDiffer) {
  auto c = Cond("stage", Op::kChanged);
  Properties prev = S("stage", "new");
  EXPECT_TRUE(Eval(c, S("stage", "won"), &prev));
  EXPECT_FALSE(Eval(c, S("stage", "NEW "), &prev));  // same once folded
  Properties prev_num = P("amount", Num("100"));
  EXPECT_FALSE(Eval(Cond("amount", Op::kChanged), S("amount", "100.0"), &prev_num));
}

TEST(ChangedTest, PropertyAbsentFromPreviousDidNotChange) {
  Properties prev = S("other", "x");
  EXPECT_FALSE(Eval(Cond("stage", Op::kChanged), S("stage", "won"), &prev));
  EXPECT_FALSE(Eval(Cond("stage", Op::kChanged), S("stage", "won"), nullptr));
}

TEST(ChangedTest, SetAndClearedCountAsChanges) {
  Properties was_empty = P("stage", Value::Null());
  EXPECT_TRUE(Eval(Cond("stage", Op::kChanged), S("stage", "won"), &was_empty));
  Properties was_set = S("stage", "won");
  EXPECT_TRUE(Eval(Cond("stage", Op::kChanged), kNone, &was_set));
}

TEST(ChangedFromTest, HoldsWhenChangedAndOldEqualsValue) {
  auto c = Cond("stage", Op::kChangedFrom, One("New"));
  Properties prev = S("stage", " NEW");
  EXPECT_TRUE(Eval(c, S("stage", "won"), &prev));
  Properties other = S("stage", "lost");
  EXPECT_FALSE(Eval(c, S("stage", "won"), &other));
  Properties same = S("stage", "new");
  EXPECT_FALSE(Eval(c, S("stage", "new"), &same));  // did not change
  EXPECT_FALSE(Eval(c, S("stage", "won"), nullptr));
  Properties num = P("pipeline", Num("1"));
  EXPECT_TRUE(Eval(Cond("pipeline", Op::kChangedFrom, One("1.0")), P("pipeline", Num("2")), &num));
}

TEST(ChangedToTest, HoldsWhenChangedAndNewEqualsValue) {
  auto c = Cond("stage", Op::kChangedTo, One("Won"));
  Properties prev = S("stage", "new");
  EXPECT_TRUE(Eval(c, S("stage", "WON "), &prev));
  EXPECT_FALSE(Eval(c, S("stage", "lost"), &prev));
  Properties same = S("stage", "won");
  EXPECT_FALSE(Eval(c, S("stage", "won"), &same));  // did not change
  Properties absent;
  EXPECT_FALSE(Eval(c, S("stage", "won"), &absent));  // absent from previous: unchanged
}

// ---------------------------------------------------------------- sets

bool Matches(Conditions cs, const Properties& props) {
  Config config;
  config.users.push_back(MakeUser("u"));
  Rule r = MakeRule("r", ToUser("u"));
  r.conditions = std::move(cs);
  config.rules.push_back(r);
  auto ws = testing::BuildOrThrow(config);
  RecordOperands ops(*ws, props, nullptr);
  const CompiledRule* cr = ws->FindRule("r");
  return FirstFailing(cr->all, ops) < 0 && AnyHolds(cr->any, ops);
}

TEST(ConditionSetTest, AllMustHoldAndAnyNeedsOneWhenNotEmpty) {
  Conditions cs;
  cs.all = {Cond("a", Op::kEq, One("1")), Cond("b", Op::kEq, One("2"))};
  EXPECT_TRUE(Matches(cs, {{"a", Str("1")}, {"b", Str("2")}}));
  EXPECT_FALSE(Matches(cs, {{"a", Str("1")}, {"b", Str("3")}}));
  cs.any = {Cond("c", Op::kEq, One("x")), Cond("c", Op::kEq, One("y"))};
  EXPECT_FALSE(Matches(cs, {{"a", Str("1")}, {"b", Str("2")}}));
  EXPECT_TRUE(Matches(cs, {{"a", Str("1")}, {"b", Str("2")}, {"c", Str("y")}}));
  EXPECT_FALSE(Matches(cs, {{"a", Str("0")}, {"b", Str("2")}, {"c", Str("y")}}));
}

TEST(ConditionSetTest, OnlyAnyHoldsWhenOneOfThemHolds) {
  Conditions cs;
  cs.any = {Cond("c", Op::kEq, One("x")), Cond("d", Op::kIsNotEmpty)};
  EXPECT_TRUE(Matches(cs, {{"c", Str("X")}}));
  EXPECT_TRUE(Matches(cs, {{"d", Str("1")}}));
  EXPECT_FALSE(Matches(cs, {}));
}

TEST(ConditionSetTest, FirstFailingNamesTheFirstFailingIndex) {
  Config config;
  config.users.push_back(MakeUser("u"));
  Rule r = MakeRule("r", ToUser("u"));
  r.conditions.all = {Cond("a", Op::kEq, One("1")), Cond("b", Op::kEq, One("2")), Cond("c", Op::kEq, One("3"))};
  config.rules.push_back(r);
  auto ws = testing::BuildOrThrow(config);
  Properties props = {{"a", Str("1")}, {"b", Str("x")}, {"c", Str("x")}};
  RecordOperands ops(*ws, props, nullptr);
  EXPECT_EQ(FirstFailing(ws->FindRule("r")->all, ops), 1);
}

TEST(EqualCompareTest, NumbersOnlyWhenBothSidesAreNumbers) {
  Operand ten = MakeOperand(Str("10")), nine = MakeOperand(Num("9")), text = MakeOperand(Str("abc"));
  EXPECT_GT(Compare(ten, nine), 0);
  EXPECT_LT(Compare(nine, ten), 0);
  EXPECT_EQ(Compare(ten, MakeOperand(Str("10.000"))), 0);
  EXPECT_TRUE(Equal(ten, MakeOperand(Num("10"))));
  EXPECT_FALSE(Equal(ten, text));
  EXPECT_LT(Compare(ten, text), 0);  // "10" < "abc" as text
}

}  // namespace
}  // namespace rota::core
