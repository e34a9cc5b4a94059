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
  EXPECT_EQ(o.number, -12.5);
  EXPECT_EQ(o.folded, "-12.5");
  EXPECT_FALSE(MakeOperand(Value::String("1e3")).is_number);
  EXPECT_FALSE(MakeOperand(Value::String("+5")).is_number);
  EXPECT_FALSE(MakeOperand(Value::String("1_000")).is_number);
}

TEST(MakeOperandTest, JsonNumbersAreNumbers) {
  Operand o = MakeOperand(testing::Num("1e3"));
  EXPECT_TRUE(o.is_number);
  EXPECT_EQ(o.number, 1000.0);
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
