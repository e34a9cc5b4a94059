// Semantic validation of a configuration (SPEC §3–5): references, limits, percents,
// condition value shapes. Every problem is reported with its path, e.g.
// `rules[3].conditions.all[2].value: "between" takes a list [low, high]`.
#pragma once

#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace rota::core {

inline constexpr size_t kMaxRulesPerTypeAndEvent = 50;
inline constexpr size_t kMaxConditionsPerSet = 160;
// The longest value a distribution key may have, in bytes: keys are counties, countries,
// postcodes, sources; a megabyte's key made every config write carry it.
inline constexpr size_t kMaxKeyValue = 1000;
inline constexpr double kPercentTolerance = 0.01;

std::vector<Problem> Validate(const Config& config);

// The shape problem of a condition's value for its operator, or empty.
std::string CheckValueShape(Op op, const ConditionValue& value);

// The `between` conditions of `rule` whose low end is above their high end (both numbers,
// or both text), which never hold; paths as Validate's under `base` ("rules[3]"). Checked
// when a rule is saved, not in Validate, so that a rule stored before keeps working.
std::vector<Problem> ReversedRanges(const Rule& rule, const std::string& base);

}  // namespace rota::core
