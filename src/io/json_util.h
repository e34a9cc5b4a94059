// Shared pieces of rota's JSON codecs: values, times, and a problem collector that
// knows the JSON path it is at.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace rota::io {

using Json = nlohmann::json;

// RFC 3339 ("2026-11-22T10:00:00Z", offsets and fractions accepted; fractions dropped).
std::optional<core::Time> ParseTime(const std::string& text);
std::string FormatTime(core::Time t);

// A JSON scalar as a core value. Arrays and objects are kept as their JSON text.
core::Value ToValue(const Json& j);
Json FromValue(const core::Value& v);
core::Properties ToProperties(const Json& object);
Json FromProperties(const core::Properties& p);

// An id as text: a string as it is, a number (CRM ids often arrive as numbers) as JSON
// writes it; anything else has none.
std::optional<std::string> IdText(const Json& v);

// The longest id a client may give a new user, pool, rule, distribution, webhook or
// connector: lists page by id, and a cursor must fit in a URL.
inline constexpr size_t kMaxId = 255;
// The problem with a client's id for a new object, if any: blank (but not empty, which
// asks rota to make one) or over kMaxId.
std::optional<std::string> NewIdProblem(const std::string& id);
// An id or key from outside (a record's, a link's, an idempotency key) holds no control
// characters: PostgreSQL ends text at a NUL, so "a\0b" would be stored and found as "a".
// `what` names the text in the message ("a URL", "a secret"): the same rule for any text
// rota keeps as given and PostgreSQL would end at a NUL.
std::optional<std::string> ControlCharProblem(const std::string& id, std::string_view what = "an id");

// Collects problems while reading a document; each has the path it concerns.
class Problems {
 public:
  void Add(const std::string& path, std::string message) { list_.push_back({path, std::move(message)}); }
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  std::vector<Problem>& list() { return list_; }
  Status ToStatus() { return Status::Invalid(std::move(list_)); }

  // Typed field readers: absent (or null) leaves `out` as it is; a wrong type is a problem.
  bool String(const Json& obj, const char* key, const std::string& path, std::string& out);
  bool OptString(const Json& obj, const char* key, const std::string& path, std::optional<std::string>& out);
  bool Bool(const Json& obj, const char* key, const std::string& path, bool& out);
  bool Int(const Json& obj, const char* key, const std::string& path, int64_t& out);
  bool Object(const Json& obj, const char* key, const std::string& path);  // present and an object?
  bool Array(const Json& obj, const char* key, const std::string& path);   // present and an array?
  // Problems for keys of `obj` not in `known` (none once AllowUnknown was called).
  void Unknown(const Json& obj, std::initializer_list<const char*> known, const std::string& path);
  // For documents rota wrote itself (a stored configuration): a field an older rota wrote
  // and this one no longer reads is no reason to refuse the whole document.
  void AllowUnknown() { allow_unknown_ = true; }

 private:
  std::vector<Problem> list_;
  bool allow_unknown_ = false;
};

std::string Join(const std::string& path, const std::string& key);
std::string Index(const std::string& path, size_t i);

// API.md's error body: {"error": {"code", "message", "details": [{"path", "message"}]}}.
Json ErrorBody(const Status& s);

// Deepest nesting of arrays and objects ParseJson takes. rota's documents nest a few
// levels; nlohmann's dump, copy and compare recurse once per level, so a body of 100 000
// '[' overflowed the stack where a record property was kept as its JSON text.
inline constexpr size_t kMaxJsonDepth = 128;

// Parses text as JSON; a 400 Status naming the position when it is not JSON or nests
// deeper than kMaxJsonDepth.
Result<Json> ParseJson(const std::string& text);

}  // namespace rota::io
