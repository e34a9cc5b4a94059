#include "core/text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rota::core {
namespace {

bool IsAsciiOnly(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool IsSpaceAt(std::string_view s, size_t i, size_t* len) {
  UChar32 c;
  int32_t off = static_cast<int32_t>(i);
  U8_NEXT(s.data(), off, static_cast<int32_t>(s.size()), c);
  *len = static_cast<size_t>(off) - i;
  return c >= 0 && u_isUWhiteSpace(c);
}

// The length of the well-formed UTF-8 character at text[i], or 0 where it is ill-formed.
size_t CharLength(std::string_view text, size_t i) {
  UChar32 c;
  int32_t off = static_cast<int32_t>(i);
  U8_NEXT(text.data(), off, static_cast<int32_t>(text.size()), c);
  return c < 0 ? 0 : static_cast<size_t>(off) - i;
}

}  // namespace

bool HasControlChar(std::string_view text, bool text_spacing) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (text_spacing && (c == '\t' || c == '\n' || c == '\r')) continue;
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return true;
    }
  }
  return false;
}

bool ValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = CharLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Utf8Prefix(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t n = CharLength(text, i);
    if (out.size() + std::max<size_t>(n, 1) > max_bytes) break;
    if (n == 0 || text[i] == '\0') {  // PostgreSQL's text holds no NUL
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string AsciiLower(std::string text) {
  for (char& ch : text) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return text;
}

std::string_view Trim(std::string_view s) {
  size_t begin = 0;
  size_t len = 0;
  while (begin < s.size() && IsSpaceAt(s, begin, &len)) begin += len;
  s.remove_prefix(begin);
  // Scan from the front to find the last non-space code point (UTF-8 safe).
  size_t end = 0;
  for (size_t i = 0; i < s.size();) {
    bool space = IsSpaceAt(s, i, &len);
    i += len;
    if (!space) end = i;
  }
  return s.substr(0, end);
}

std::string Fold(std::string_view text) {
  std::string_view t = Trim(text);
  if (IsAsciiOnly(t)) {
    std::string out(t);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err)) return std::string(t);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(t.data(), static_cast<int32_t>(t.size())));
  icu::UnicodeString n = nfc->normalize(u, err);
  if (U_FAILURE(err)) return std::string(t);
  n.foldCase();
  // Folding can leave a sequence that is not NFC; normalize again so that canonically
  // equivalent spellings fold to the same bytes.
  icu::UnicodeString m = nfc->normalize(n, err);
  if (U_FAILURE(err)) return std::string(t);
  std::string out;
  m.toUTF8String(out);
  return out;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The number whose digits are `digits` with the point after the first `point` of them
// (`point` may lie outside them: zeros fill the gap).
Decimal MakeDecimal(bool negative, std::string_view digits, long point) {
  const long n = static_cast<long>(digits.size());
  Decimal d;
  if (point > 0) {
    d.integer.assign(digits.substr(0, static_cast<size_t>(std::min(point, n))));
    if (point > n) d.integer.append(static_cast<size_t>(point - n), '0');
  }
  if (point < n) {
    if (point < 0) d.fraction.assign(static_cast<size_t>(-point), '0');
    d.fraction.append(digits.substr(static_cast<size_t>(std::max(point, 0L))));
  }
  d.integer.erase(0, std::min(d.integer.find_first_not_of('0'), d.integer.size()));
  d.fraction.erase(d.fraction.find_last_not_of('0') + 1);
  d.negative = negative && !(d.integer.empty() && d.fraction.empty());
  return d;
}

// Optional minus, digits, optional point and digits, from `*i`; false when that is not there.
bool ReadMantissa(std::string_view t, size_t* i, bool* negative, std::string* digits, long* point) {
  *negative = *i < t.size() && t[*i] == '-';
  if (*negative) ++*i;
  size_t start = *i;
  while (*i < t.size() && IsDigit(t[*i])) ++*i;
  if (*i == start) return false;
  digits->assign(t.substr(start, *i - start));
  *point = static_cast<long>(digits->size());
  if (*i < t.size() && t[*i] == '.') {
    size_t frac = ++*i;
    while (*i < t.size() && IsDigit(t[*i])) ++*i;
    if (*i == frac) return false;
    digits->append(t.substr(frac, *i - frac));
  }
  return true;
}

}  // namespace

int CompareDecimals(const Decimal& a, const Decimal& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int magnitude = 0;  // of |a| against |b|
  if (a.integer.size() != b.integer.size()) {
    magnitude = a.integer.size() < b.integer.size() ? -1 : 1;
  } else if (int c = a.integer.compare(b.integer); c != 0) {
    magnitude = c < 0 ? -1 : 1;
  } else if (int f = a.fraction.compare(b.fraction); f != 0) {
    magnitude = f < 0 ? -1 : 1;  // no trailing zeros: text order is number order
  }
  return a.negative ? -magnitude : magnitude;
}

std::optional<Decimal> ParseStrictDecimal(std::string_view text) {
  std::string_view t = Trim(text);
  size_t i = 0;
  bool negative = false;
  std::string digits;
  long point = 0;
  if (!ReadMantissa(t, &i, &negative, &digits, &point) || i != t.size()) return std::nullopt;
  return MakeDecimal(negative, digits, point);
}

std::optional<double> ParseDecimal(std::string_view text) {
  if (!ParseStrictDecimal(text)) return std::nullopt;
  std::string_view t = Trim(text);
  double value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);  // locale-independent; out of range stays 0
  return value;
}

std::optional<Decimal> ParseJsonNumber(std::string_view t) {
  size_t i = 0;
  bool negative = false;
  std::string digits;
  long point = 0;
  if (!ReadMantissa(t, &i, &negative, &digits, &point)) return std::nullopt;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool minus = i < t.size() && t[i] == '-';
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t start = i;
    long exponent = 0;
    while (i < t.size() && IsDigit(t[i])) {
      exponent = exponent * 10 + (t[i++] - '0');
      if (exponent > 100000) return std::nullopt;  // beyond any double: not a number rota can hold
    }
    if (i == start) return std::nullopt;
    point += minus ? -exponent : exponent;
  }
  if (i != t.size()) return std::nullopt;
  return MakeDecimal(negative, digits, point);
}

Operand MakeOperand(const Value& v) {
  Operand o;
  switch (v.kind) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kBool:
      o.folded = v.text;
      break;
    case Value::Kind::kNumber:
      o.folded = Fold(v.text);
      if (auto n = ParseJsonNumber(v.text)) {
        o.is_number = true;
        o.number = std::move(*n);
      } else if (std::isfinite(v.number)) {  // text that is not a JSON number's: the double's shortest form
        char buf[64];
        auto end = std::to_chars(buf, buf + sizeof buf, v.number).ptr;
        if (auto d = ParseJsonNumber(std::string_view(buf, static_cast<size_t>(end - buf)))) {
          o.is_number = true;
          o.number = std::move(*d);
        }
      }
      break;
    case Value::Kind::kString: {
      o.folded = Fold(v.text);
      if (auto n = ParseStrictDecimal(v.text)) {
        o.is_number = true;
        o.number = std::move(*n);
      }
      break;
    }
  }
  return o;
}

}  // namespace rota::core
