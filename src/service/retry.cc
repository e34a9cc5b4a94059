#include "service/retry.h"

#include <algorithm>
#include <random>
#include <thread>

namespace rota::service {

void PauseBeforeRetry(const RetryPolicy& policy, int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t pause = policy.first_pause.count();
  for (int i = 1; i < attempt && pause < policy.max_pause.count(); ++i) pause *= 2;
  pause = std::max<int64_t>(1, std::min<int64_t>(pause, policy.max_pause.count()));
  std::uniform_int_distribution<int64_t> jitter(pause / 2, pause);
  std::this_thread::sleep_for(std::chrono::microseconds(jitter(rng)));
}

}  // namespace rota::service
