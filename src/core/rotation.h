// The two rotation algorithms of SPEC §5, on plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/model.h"

namespace rota::core {

// Strict round robin (§5.1): the first member, in join order, whose position is after
// `pointer` and who is eligible, wrapping round to the start. `members` are in
// ascending position. Returns the member's index, or -1 when nobody is eligible.
int PickRoundRobin(const std::vector<PoolMember>& members, int64_t pointer,
                   const std::function<bool(size_t)>& eligible);

// Smooth weighted round robin (§5.2, nginx): among the eligible entries, each credit
// += its weight; the highest credit wins (ties to the earlier entry); the winner's
// credit -= the sum of the eligible weights. Ineligible credits are left as they are.
// Returns the winner's index, or -1 (credits untouched) when nobody is eligible.
int PickSmoothWeighted(const std::vector<int64_t>& weights, std::vector<int64_t>& credits,
                       const std::vector<bool>& eligible);

}  // namespace rota::core
