#include "service/window.h"

#include <date/tz.h>

#include <tuple>

namespace rota::service {

std::pair<int64_t, int64_t> LocalRange(const date::time_zone* tz, core::Time now, bool month, int shift_days) {
  auto local = tz->to_local(now);
  auto day = std::chrono::floor<date::days>(local) + date::days(shift_days);
  date::local_days start = day, end = day + date::days(1);
  if (month) {
    date::year_month_day ymd{day};
    start = date::local_days(ymd.year() / ymd.month() / 1);
    end = date::local_days((ymd.year() / ymd.month() / 1) + date::months(1));
  }
  auto to_unix = [&](date::local_days d) {
    return std::chrono::floor<std::chrono::seconds>(tz->to_sys(date::local_seconds(d), date::choose::earliest))
        .time_since_epoch()
        .count();
  };
  return {to_unix(start), to_unix(end)};
}

void ReadWindow(const WindowQuery& q, const date::time_zone* tz, core::Time now, io::Problems& p,
                std::optional<int64_t>& from, std::optional<int64_t>& to) {
  auto bound = [&](const std::optional<std::string>& v, const char* name, std::optional<int64_t>& into) {
    if (!v) return;
    auto t = io::ParseTime(*v);
    if (!t) {
      p.Add(name, "not an RFC 3339 time: \"" + *v + "\"");
      return;
    }
    into = t->time_since_epoch().count();
  };
  bound(q.from, "from", from);
  bound(q.to, "to", to);
  if (!q.period) {
    if (from && to && *to < *from) p.Add("to", "the range ends before it starts (from " + *q.from + ")");
    return;
  }
  const bool today = *q.period == "today", yesterday = *q.period == "yesterday";
  const bool month = *q.period == "month";
  if (!today && !yesterday && !month) {
    p.Add("period", "period is \"today\", \"yesterday\" or \"month\"");
    return;
  }
  std::tie(from, to) = LocalRange(tz, now, month, yesterday ? -1 : 0);
}

}  // namespace rota::service
