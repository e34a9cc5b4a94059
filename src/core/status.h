// Errors as values. A Status is OK or carries a code, a human message and, for
// validation, every problem found with the path it concerns. Codes map one-to-one onto
// the HTTP statuses of API.md in src/http; nothing in rota throws across src/core.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace rota {

enum class Code {
  kOk,
  kMalformed,        // 400: not parseable / wrong shape at the transport level
  kUnauthenticated,  // 401
  kForbidden,        // 403
  kNotFound,         // 404
  kConflict,         // 409
  kTooLarge,         // 413
  kInvalid,          // 422: well-formed but invalid
  kInternal,         // 500
  kUnavailable,      // 503
};

// One problem found while validating: where (a JSON path such as
// `rules[3].conditions.all[2].op`, or a row number) and what.
struct Problem {
  std::string path;
  std::string message;
  friend bool operator==(const Problem&, const Problem&) = default;
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string error_code, std::string message,
         std::vector<Problem> details = {})
      : code_(code),
        error_code_(std::move(error_code)),
        message_(std::move(message)),
        details_(std::move(details)) {}

  static Status Ok() { return {}; }
  static Status Malformed(std::string msg) { return {Code::kMalformed, "malformed", std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, "not_found", std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, "conflict", std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, "internal", std::move(msg)}; }
  static Status Forbidden(std::string msg) { return {Code::kForbidden, "forbidden", std::move(msg)}; }
  // The database gave up the transaction (a serialization failure or a deadlock):
  // nothing of it was stored and running it again from the start may succeed. 503
  // "retry" when it reaches a client; the service retries it first (service/retry.h).
  static Status Retry(std::string msg) {
    Status s(Code::kUnavailable, "retry", std::move(msg));
    s.retryable_ = true;
    return s;
  }
  // 422 with every problem listed; the message names the first one and the count.
  static Status Invalid(std::vector<Problem> problems);
  static Status Invalid(std::string path, std::string message) {
    return Invalid(std::vector<Problem>{{std::move(path), std::move(message)}});
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The snake_case code of API.md's error body, e.g. "validation_failed".
  const std::string& error_code() const { return error_code_; }
  const std::string& message() const { return message_; }
  const std::vector<Problem>& details() const { return details_; }
  // Made by Retry(): the whole transaction may be run again.
  bool retryable() const { return retryable_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string error_code_;
  std::string message_;
  std::vector<Problem> details_;
  bool retryable_ = false;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // REQUIRES: !status.ok()

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rota
