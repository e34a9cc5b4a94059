// The time window [from, to) of the history and the reports: RFC 3339 bounds, or a named
// period (today, yesterday, this month) in the workspace's time zone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/model.h"
#include "io/json_util.h"

namespace date {
class time_zone;
}

namespace rota::service {

// [start, end) as unix seconds of the local day (or month) containing `now`, shifted by
// `shift_days` days.
std::pair<int64_t, int64_t> LocalRange(const date::time_zone* tz, core::Time now, bool month, int shift_days = 0);

struct WindowQuery {
  const std::optional<std::string>& from;
  const std::optional<std::string>& to;
  const std::optional<std::string>& period;  // today, yesterday or month
};

// Reads the window; each bad parameter is a problem in `p`. REQUIRES: `tz` is set when
// `q.period` is.
void ReadWindow(const WindowQuery& q, const date::time_zone* tz, core::Time now, io::Problems& p,
                std::optional<int64_t>& from, std::optional<int64_t>& to);

}  // namespace rota::service
