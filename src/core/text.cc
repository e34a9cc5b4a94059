#include "core/text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <charconv>

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

}  // namespace

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

std::optional<double> ParseDecimal(std::string_view text) {
  std::string_view t = Trim(text);
  size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  size_t digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (digits == 0) return std::nullopt;
  if (i < t.size() && t[i] == '.') {
    ++i;
    size_t frac = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++frac;
    if (frac == 0) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  double value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);  // locale-independent
  return value;
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
      o.is_number = true;
      o.number = v.number;
      break;
    case Value::Kind::kString: {
      o.folded = Fold(v.text);
      if (auto n = ParseDecimal(v.text)) {
        o.is_number = true;
        o.number = *n;
      }
      break;
    }
  }
  return o;
}

}  // namespace rota::core
