#include "core/rotation.h"

#include <algorithm>

namespace rota::core {

int PickRoundRobin(const std::vector<PoolMember>& members, int64_t pointer,
                   const std::function<bool(size_t)>& eligible) {
  const size_t n = members.size();
  if (n == 0) return -1;
  auto after = std::upper_bound(members.begin(), members.end(), pointer,
                                [](int64_t p, const PoolMember& m) { return p < m.position; });
  size_t start = static_cast<size_t>(after - members.begin()) % n;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (start + k) % n;
    if (eligible(i)) return static_cast<int>(i);
  }
  return -1;
}

int PickSmoothWeighted(const std::vector<int64_t>& weights, std::vector<int64_t>& credits,
                       const std::vector<bool>& eligible) {
  int64_t total = 0;
  int best = -1;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!eligible[i]) continue;
    credits[i] += weights[i];
    total += weights[i];
    if (best < 0 || credits[i] > credits[static_cast<size_t>(best)]) best = static_cast<int>(i);
  }
  if (best >= 0) credits[static_cast<size_t>(best)] -= total;
  return best;
}

}  // namespace rota::core
