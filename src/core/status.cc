#include "core/status.h"

namespace rota {

Status Status::Invalid(std::vector<Problem> problems) {
  std::string msg;
  if (problems.empty()) {
    msg = "the input is invalid";
  } else {
    const Problem& p = problems.front();
    msg = p.path.empty() ? p.message : p.path + ": " + p.message;
    if (problems.size() > 1) {
      msg += " (and " + std::to_string(problems.size() - 1) + " more problem" +
             (problems.size() > 2 ? "s" : "") + ")";
    }
  }
  return {Code::kInvalid, "validation_failed", std::move(msg), std::move(problems)};
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = error_code_ + ": " + message_;
  return s;
}

}  // namespace rota
