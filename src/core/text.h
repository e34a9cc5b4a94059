// Text as conditions compare it (SPEC §4): surrounding space trimmed, NFC-normalized,
// Unicode case folded; and the strict decimal numbers that count as numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace rota::core {

// Trim surrounding white space, NFC-normalize, case fold. Invalid UTF-8 is folded
// byte-wise for ASCII and kept as it is otherwise.
std::string Fold(std::string_view text);

// White space trimmed from both ends (ASCII and Unicode white space).
std::string_view Trim(std::string_view text);

// A string that is wholly a decimal number once trimmed: optional minus, digits,
// optional fraction ("1200", " -12.5 "); not "1e3", "+5", "1_000", ".5", "5.".
std::optional<double> ParseDecimal(std::string_view text);

// A value as an operand: folded text and, when it counts as a number, the number.
struct Operand {
  std::string folded;
  bool is_number = false;
  double number = 0;
  bool empty() const { return folded.empty(); }
};
Operand MakeOperand(const Value& v);

}  // namespace rota::core
