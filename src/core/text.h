// Text as conditions compare it (SPEC §4): surrounding space trimmed, NFC-normalized,
// Unicode case folded; and the strict decimal numbers that count as numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace rota::core {

// Whether text is well-formed UTF-8 (no overlong forms, surrogates or stray bytes).
bool ValidUtf8(std::string_view text);

// Text from outside (a CRM's reply, say) made safe to store and show: at most max_bytes,
// cut at a character boundary, each ill-formed byte and each NUL replaced by '?'.
std::string Utf8Prefix(std::string_view text, size_t max_bytes);

// Whether text holds a control character: C0 (tab, line break, NUL …), DEL, or C1 as
// UTF-8 (U+0080–U+009F, the next line U+0085 among them). `text_spacing`: tabs, line
// feeds and carriage returns are text (a property's value may have lines), the rest not.
bool HasControlChar(std::string_view text, bool text_spacing = false);

// ASCII letters in lower case; other bytes as they are (header names, media types).
std::string AsciiLower(std::string text);

// Trim surrounding white space, NFC-normalize, case fold. Invalid UTF-8 is folded
// byte-wise for ASCII and kept as it is otherwise.
std::string Fold(std::string_view text);

// White space trimmed from both ends (ASCII and Unicode white space).
std::string_view Trim(std::string_view text);

// A decimal number held exactly, so that numbers of any length compare as numbers
// ("12345678901234567891" is above "12345678901234567890", "0.30000000000000001" is not
// "0.3"). Normalized: equal numbers have equal forms.
struct Decimal {
  bool negative = false;  // never for zero
  std::string integer;    // digits, no leading zero; empty for a zero integer part
  std::string fraction;   // digits after the point, no trailing zero
  friend bool operator==(const Decimal&, const Decimal&) = default;
};
// -1, 0 or 1 as a is below, equal to or above b.
int CompareDecimals(const Decimal& a, const Decimal& b);

// A string that is wholly a decimal number once trimmed: optional minus, digits,
// optional fraction ("1200", " -12.5 "); not "1e3", "+5", "1_000", ".5", "5.".
std::optional<Decimal> ParseStrictDecimal(std::string_view text);
// The same, as the nearest double (percents).
std::optional<double> ParseDecimal(std::string_view text);
// A JSON number's text, exponent included ("1e+300", "-2.5E-3").
std::optional<Decimal> ParseJsonNumber(std::string_view text);

// A value as an operand: folded text and, when it counts as a number, the number.
struct Operand {
  std::string folded;
  bool is_number = false;
  Decimal number;  // when is_number
  bool empty() const { return folded.empty(); }
};
Operand MakeOperand(const Value& v);

}  // namespace rota::core
