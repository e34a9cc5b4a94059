// Text as conditions compare it (SPEC §4): trimming, NFC + Unicode case folding, and
// the strict decimal numbers.
#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

#include "core/test_util.h"

namespace rota::core {
namespace {

TEST(TrimTest, RemovesAsciiAndUnicodeSpaceAtBothEndsOnly) {
  EXPECT_EQ(Trim("  a b  "), "a b");
  EXPECT_EQ(Trim("\t\n\r a \v\f"), "a");
  EXPECT_EQ(Trim("\xC2\xA0" "x" "\xE2\x80\x83"), "x");  // NBSP, EM SPACE
  EXPECT_EQ(Trim("\xE3\x80\x80Plze\xC5\x88\xE3\x80\x80"), "Plze\xC5\x88");  // ideographic space
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(Trim("ó"), "ó");
}

TEST(Utf8Test, ValidUtf8RefusesIllFormedBytes) {
  EXPECT_TRUE(ValidUtf8(""));
  EXPECT_TRUE(ValidUtf8("Kraków \xF0\x9F\x98\x80"));
  EXPECT_FALSE(ValidUtf8("Krak\xC3"));              // cut short
  EXPECT_FALSE(ValidUtf8("\xC0\xAF"));              // overlong "/"
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));          // a surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));      // past U+10FFFF
  EXPECT_FALSE(ValidUtf8("a\xFF" "b"));
}

TEST(Utf8Test, PrefixCutsAtACharacterAndReplacesIllFormedBytes) {
  EXPECT_EQ(Utf8Prefix("abc", 10), "abc");
  EXPECT_EQ(Utf8Prefix("abc", 2), "ab");
  EXPECT_EQ(Utf8Prefix(std::string_view("bad\0x", 5), 10), "bad?x");  // stored as text on PostgreSQL
  EXPECT_EQ(Utf8Prefix("a\xC5\x82" "b", 2), "a");  // "ł" does not fit whole
  EXPECT_EQ(Utf8Prefix("a\xC5\x82" "b", 3), "a\xC5\x82");
  EXPECT_EQ(Utf8Prefix("a\xFF\xC5" "b", 10), "a??b");
  EXPECT_TRUE(ValidUtf8(Utf8Prefix(std::string(199, 'x') + "\xC5\x82\xC5\x82", 200)));
  EXPECT_EQ(Utf8Prefix(std::string(199, 'x') + "\xC5\x82", 200).size(), 199u);
}

TEST(Utf8Test, AsciiLowerLeavesOtherBytes) {
  EXPECT_EQ(AsciiLower("Text/CSV; Charset=UTF-8"), "text/csv; charset=utf-8");
  EXPECT_EQ(AsciiLower("\xC3\x89A"), "\xC3\x89a");
}

TEST(FoldTest, LowercasesAndTrims) {
  EXPECT_EQ(Fold("  Kent "), "kent");
  EXPECT_EQ(Fold("KRAKÓW"), "kraków");
  EXPECT_EQ(Fold(" Plzeň "), Fold("PLZEŇ"));
  EXPECT_EQ(Fold(""), "");
  EXPECT_EQ(Fold(" \t "), "");
}

TEST(FoldTest, NfcAndNfdFoldToTheSameBytes) {
  const std::string nfc = "Krak\xC3\xB3w";    // ó U+00F3
  const std::string nfd = "Krako\xCC\x81w";   // o + U+0301
  EXPECT_EQ(Fold(nfc), Fold(nfd));
  EXPECT_EQ(Fold(nfd), "krak\xC3\xB3w");      // NFC result
  EXPECT_EQ(Fold("PLZEN\xCC\x8C"), "plze\xC5\x88");
  // Angstrom sign U+212B is canonically Å U+00C5.
  EXPECT_EQ(Fold("\xE2\x84\xAB"), Fold("\xC3\xA5"));
}

TEST(FoldTest, FullCaseFolding) {
  EXPECT_EQ(Fold("STRASSE"), Fold("straße"));
  EXPECT_EQ(Fold("ΣΊΣΥΦΟΣ"), Fold("σίσυφος"));  // final sigma folds like sigma
  EXPECT_EQ(Fold("İstanbul").empty(), false);
}

TEST(FoldTest, InvalidUtf8DoesNotCrash) {
  std::string bad = "AB\xFF\xFE";
  std::string out = Fold(bad);
  EXPECT_FALSE(out.empty());
}

TEST(ParseDecimalTest, AcceptsOptionalMinusDigitsOptionalFraction) {
  EXPECT_EQ(ParseDecimal("1200"), 1200.0);
  EXPECT_EQ(ParseDecimal(" -12.5 "), -12.5);
  EXPECT_EQ(ParseDecimal("0"), 0.0);
  EXPECT_EQ(ParseDecimal("-0.25"), -0.25);
  EXPECT_EQ(ParseDecimal("007"), 7.0);
  EXPECT_EQ(ParseDecimal("\t42\n"), 42.0);
}

TEST(ParseDecimalTest, RejectsEverythingElse) {
  for (const char* s : {"1e3", "+5", "1_000", "", " ", "-", ".5", "5.", "1.2.3", "1,5", "0x10", "12a", "- 5",
                        "inf", "nan", "1 000", "--1"}) {
    EXPECT_FALSE(ParseDecimal(s).has_value()) << '"' << s << '"';
  }
}

TEST(MakeOperandTest, StringsThatAreDecimalsAreNumbers) {
  Operand o = MakeOperand(Value::String(" -12.5 "));
  EXPECT_TRUE(o.is_number);
  EXPECT_EQ(o.number, (Decimal{true, "12", "5"}));
  EXPECT_EQ(o.folded, "-12.5");
  EXPECT_FALSE(MakeOperand(Value::String("1e3")).is_number);
  EXPECT_FALSE(MakeOperand(Value::String("+5")).is_number);
  EXPECT_FALSE(MakeOperand(Value::String("1_000")).is_number);
}

TEST(MakeOperandTest, JsonNumbersAreNumbers) {
  Operand o = MakeOperand(testing::Num("1e3"));
  EXPECT_TRUE(o.is_number);
  EXPECT_EQ(o.number, (Decimal{false, "1000", ""}));
  EXPECT_EQ(MakeOperand(testing::Num("-2.5E-3")).number, (Decimal{true, "", "0025"}));
  EXPECT_EQ(MakeOperand(testing::Num("1e+300")).number.integer, "1" + std::string(300, '0'));
  EXPECT_EQ(MakeOperand(testing::Num("12345678901234567891")).number, (Decimal{false, "12345678901234567891", ""}));
}

TEST(MakeOperandTest, ANumberWhoseTextIsNotJsonIsTheDoublesShortestForm) {
  Operand o = MakeOperand(Value::Number(0.1, "one tenth"));
  EXPECT_TRUE(o.is_number);
  EXPECT_EQ(o.number, (Decimal{false, "", "1"}));
}

Decimal D(const char* text) { return *ParseStrictDecimal(text); }

TEST(DecimalTest, IsNormalizedSoThatEqualNumbersAreEqual) {
  EXPECT_EQ(D("007"), D("7"));
  EXPECT_EQ(D("1200.0"), D("1200"));
  EXPECT_EQ(D("-0"), D("0.000"));
  EXPECT_FALSE(D("-0").negative);
  EXPECT_EQ(D(" -12.50 "), (Decimal{true, "12", "5"}));
  EXPECT_EQ(D("0.25"), (Decimal{false, "", "25"}));
  EXPECT_EQ(*ParseJsonNumber("25e-1"), D("2.5"));
  EXPECT_EQ(*ParseJsonNumber("0.0025e3"), D("2.5"));
  EXPECT_EQ(*ParseJsonNumber("1E2"), D("100"));
}

TEST(DecimalTest, ComparesExactlyAtAnyLength) {
  EXPECT_EQ(CompareDecimals(D("12345678901234567891"), D("12345678901234567890")), 1);
  EXPECT_EQ(CompareDecimals(D("0.30000000000000001"), D("0.3")), 1);
  EXPECT_EQ(CompareDecimals(D("0.1"), D("0.10000000000000000001")), -1);
  const std::string huge(309, '9');
  EXPECT_EQ(CompareDecimals(D(huge.c_str()), D("1")), 1);
  EXPECT_EQ(CompareDecimals(D(("-" + huge).c_str()), D("0")), -1);
  EXPECT_EQ(CompareDecimals(D(("1" + std::string(400, '0')).c_str()), D("0")), 1);
  // Signs, lengths of the integer part, then digits; negatives the other way round.
  EXPECT_EQ(CompareDecimals(D("-5"), D("3")), -1);
  EXPECT_EQ(CompareDecimals(D("10"), D("9.99")), 1);
  EXPECT_EQ(CompareDecimals(D("-10"), D("-9.99")), -1);
  EXPECT_EQ(CompareDecimals(D("0.6"), D("0.51")), 1);
  EXPECT_EQ(CompareDecimals(D("-0.6"), D("-0.51")), -1);
  EXPECT_EQ(CompareDecimals(D("2.5"), D("2.50")), 0);
  EXPECT_EQ(CompareDecimals(D("0"), D("0.001")), -1);
  EXPECT_EQ(CompareDecimals(D("-0.001"), D("0")), -1);
}

TEST(DecimalTest, JsonNumbersNeedTheirWholeForm) {
  for (const char* s : {"", "-", "1e", "1e+", "e3", "1.e3", ".5", "1x", "1e3.5", "1e999999"}) {
    EXPECT_FALSE(ParseJsonNumber(s).has_value()) << '"' << s << '"';
  }
}

TEST(MakeOperandTest, NullIsEmptyAndBoolIsText) {
  EXPECT_TRUE(MakeOperand(Value::Null()).empty());
  EXPECT_FALSE(MakeOperand(Value::Null()).is_number);
  Operand b = MakeOperand(Value::Bool(true));
  EXPECT_EQ(b.folded, "true");
  EXPECT_FALSE(b.is_number);
  EXPECT_TRUE(MakeOperand(Value::String("  ")).empty());
}

}  // namespace
}  // namespace rota::core
