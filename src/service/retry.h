// Running a write transaction again when the database gave it up (a PostgreSQL
// serialization failure or deadlock: Status::retryable()). Nothing of a given-up
// transaction was stored and nothing of it was answered, so the service runs the whole
// transaction again, a bounded number of times, after a short jittered pause; only
// when every attempt was given up does the caller see the 503 "retry".
#pragma once

#include <chrono>
#include <functional>

#include "core/status.h"

namespace rota::service {

struct RetryPolicy {
  int max_attempts = 8;                          // runs in all, the first included
  std::chrono::microseconds first_pause{1000};   // before the second run; doubles after
  std::chrono::microseconds max_pause{100000};
};

// Sleeps before run `attempt` + 1: a random time in [pause/2, pause], pause =
// first_pause · 2^(attempt-1), at most max_pause.
void PauseBeforeRetry(const RetryPolicy& policy, int attempt);

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Runs `attempt()` (Status or Result<T>) until it succeeds, fails for another reason,
// or `policy.max_attempts` runs were given up; `on_retry` is told of each new run.
template <typename F>
auto WithRetry(const RetryPolicy& policy, const std::function<void()>& on_retry, F&& attempt) -> decltype(attempt()) {
  for (int n = 1;; ++n) {
    auto r = attempt();
    if (!StatusOf(r).retryable() || n >= policy.max_attempts) return r;
    if (on_retry) on_retry();
    PauseBeforeRetry(policy, n);
  }
}

}  // namespace rota::service
