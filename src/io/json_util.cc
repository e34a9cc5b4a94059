#include "io/json_util.h"

#include <date/date.h>

#include <charconv>
#include <cstdio>
#include <sstream>

#include "core/text.h"

namespace rota::io {

// RFC 3339 by hand: date::parse converts a NaN to an integer (undefined behaviour) on
// some malformed seconds fields, e.g. "2026-11-01T[00:00:00Z" (found by fuzz_config).
std::optional<core::Time> ParseTime(const std::string& text) {
  using namespace std::chrono;
  size_t i = 0;
  auto digits = [&](size_t n, int& out) {
    if (i + n > text.size()) return false;
    out = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = text[i + k];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    i += n;
    return true;
  };
  auto lit = [&](auto... cs) {
    if (i < text.size() && ((text[i] == cs) || ...)) return ++i, true;
    return false;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(4, y) || !lit('-') || !digits(2, mo) || !lit('-') || !digits(2, d) || !lit('T', 't', ' ') ||
      !digits(2, h) || !lit(':') || !digits(2, mi) || !lit(':') || !digits(2, sec)) {
    return std::nullopt;
  }
  if (lit('.')) {  // fractions of a second are dropped
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (!lit('Z', 'z')) {
    if (i >= text.size() || (text[i] != '+' && text[i] != '-')) return std::nullopt;
    const int sign = text[i++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!digits(2, oh)) return std::nullopt;
    if (i < text.size()) {  // +hh:mm or +hhmm; +hh alone
      lit(':');
      if (!digits(2, om)) return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  }
  if (i != text.size() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                                 date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  return core::Time(date::sys_days(ymd)) + hours(h) + minutes(mi) + seconds(sec) - minutes(offset_minutes);
}

// By hand too: date::format goes through an ostream, about 10 000 instructions, and
// every decision's answer carries a time (issue 8).
std::string FormatTime(core::Time t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd(day);
  const date::hh_mm_ss<std::chrono::seconds> hms(t - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

core::Value ToValue(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return core::Value::Null();
    case Json::value_t::boolean:
      return core::Value::Bool(j.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return core::Value::Number(j.get<double>(), j.dump());
    case Json::value_t::string:
      return core::Value::String(j.get<std::string>());
    default:
      return core::Value::String(j.dump());
  }
}

Json FromValue(const core::Value& v) {
  switch (v.kind) {
    case core::Value::Kind::kNull:
      return nullptr;
    case core::Value::Kind::kBool:
      return v.text == "true";
    case core::Value::Kind::kNumber: {
      Json parsed = Json::parse(v.text, nullptr, false);
      return parsed.is_number() ? parsed : Json(v.number);
    }
    case core::Value::Kind::kString:
      return v.text;
  }
  return nullptr;
}

core::Properties ToProperties(const Json& object) {
  core::Properties p;
  if (!object.is_object()) return p;
  for (auto it = object.begin(); it != object.end(); ++it) p.emplace(it.key(), ToValue(it.value()));
  return p;
}

Json FromProperties(const core::Properties& p) {
  Json j = Json::object();
  for (const auto& [k, v] : p) j[k] = FromValue(v);
  return j;
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::optional<std::string> NewIdProblem(const std::string& id) {
  if (id.size() > kMaxId) return "an id has at most " + std::to_string(kMaxId) + " characters";
  if (!id.empty() && id.find_first_not_of(" \t\r\n") == std::string::npos) return "an id is not blank";
  return ControlCharProblem(id);
}

std::optional<std::string> ControlCharProblem(const std::string& id, std::string_view what) {
  if (core::HasControlChar(id)) return std::string(what) + " holds no control characters (tabs, line breaks, NUL)";
  return std::nullopt;
}

std::optional<std::string> IdText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) {
    // A number the parser could not keep exactly (past 64 bits, or an exponent) would be
    // stored as some other text ("1.8446744073709552e+19"): not an id.
    std::string text = v.dump();
    if (text.find_first_of("eE") == std::string::npos) return text;
  }
  return std::nullopt;
}

bool Problems::String(const Json& obj, const char* key, const std::string& path, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (auto id = IdText(*it)) {
    out = std::move(*id);
    return true;
  }
  Add(Join(path, key), "must be a string");
  return false;
}

bool Problems::OptString(const Json& obj, const char* key, const std::string& path,
                         std::optional<std::string>& out) {
  std::string s;
  if (!String(obj, key, path, s)) return false;
  if (s.empty()) {
    out.reset();
  } else {
    out = s;
  }
  return true;
}

bool Problems::Bool(const Json& obj, const char* key, const std::string& path, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    Add(Join(path, key), "must be true or false");
    return false;
  }
  out = it->get<bool>();
  return true;
}

bool Problems::Int(const Json& obj, const char* key, const std::string& path, int64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    Add(Join(path, key), "must be a whole number");
    return false;
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    Add(Join(path, key), "must be a whole number up to " + std::to_string(INT64_MAX));  // it would wrap round
    return false;
  }
  out = it->get<int64_t>();
  return true;
}

bool Problems::Object(const Json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_object()) {
    Add(Join(path, key), "must be an object");
    return false;
  }
  return true;
}

bool Problems::Array(const Json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_array()) {
    Add(Join(path, key), "must be a list");
    return false;
  }
  return true;
}

void Problems::Unknown(const Json& obj, std::initializer_list<const char*> known, const std::string& path) {
  if (allow_unknown_ || !obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) Add(Join(path, it.key()), "unknown field");
  }
}

Json ErrorBody(const Status& s) {
  Json details = Json::array();
  for (const Problem& p : s.details()) {
    Json d = {{"path", p.path}, {"message", p.message}};
    // A file's row ("row 12", from an import) is also given as a number.
    // Only such a path as a file's row can be: a body's own field named "row 99…9" is a path.
    int64_t row = 0;
    const char* digits = p.path.data() + 4;
    const char* end = p.path.data() + p.path.size();
    if (p.path.size() > 4 && p.path.rfind("row ", 0) == 0 &&
        p.path.find_first_not_of("0123456789", 4) == std::string::npos &&
        std::from_chars(digits, end, row).ec == std::errc()) {
      d["row"] = row;
    }
    details.push_back(std::move(d));
  }
  return {{"error", {{"code", s.error_code()}, {"message", s.message()}, {"details", details}}}};
}

Result<Json> ParseJson(const std::string& text) {
  // Nesting first, before the parser builds a value too deep to dump or destroy safely.
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return Status::Malformed("the body is not valid JSON: arrays and objects nest deeper than " +
                                 std::to_string(kMaxJsonDepth) + " levels (at byte " + std::to_string(i) + ")");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    // The message quotes the offending bytes, which may not be UTF-8: make it printable.
    // Without the library's own tag ("[json.exception.parse_error.101] "): the reader needs
    // where and why, not which exception.
    std::string_view text_of = e.what();
    if (text_of.rfind("[json.exception.", 0) == 0 && text_of.find("] ") != std::string_view::npos) {
      text_of.remove_prefix(text_of.find("] ") + 2);
    }
    std::string what = Json(std::string(text_of)).dump(-1, ' ', false, Json::error_handler_t::replace);
    return Status::Malformed("the body is not valid JSON: " + what.substr(1, what.size() - 2));
  }
}

}  // namespace rota::io
