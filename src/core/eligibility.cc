#include "core/eligibility.h"

#include <date/tz.h>

namespace rota::core {

Time StartOfDay(const date::time_zone* tz, Time now) {
  if (tz == nullptr) return std::chrono::floor<date::days>(now);
  auto local = tz->to_local(now);
  auto midnight = std::chrono::floor<date::days>(local);
  // A midnight that a DST change skips starts the day at the transition.
  return std::chrono::floor<std::chrono::seconds>(tz->to_sys(midnight, date::choose::earliest));
}

bool InWorkingHours(const WorkingHours& hours, const date::time_zone* tz, Time now) {
  auto local = tz != nullptr ? tz->to_local(now) : date::local_seconds(now.time_since_epoch());
  auto day = std::chrono::floor<date::days>(local);
  int weekday = static_cast<int>(date::weekday(day).c_encoding());
  int minute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
  for (auto [from, to] : hours.days[weekday]) {
    if (minute >= from && minute < to) return true;
  }
  return false;
}

std::optional<Skip> CheckNamed(const Workspace& ws, const std::string& user) {
  const CompiledUser* u = ws.FindUser(user);
  if (u == nullptr) return Skip::kNotFound;
  if (!u->user->active) return Skip::kInactive;
  return std::nullopt;
}

std::optional<Skip> CheckEligible(const EligibilityContext& ctx, const std::string& user) {
  const CompiledUser* cu = ctx.ws.FindUser(user);
  if (cu == nullptr) return Skip::kNotFound;
  const User& u = *cu->user;
  if (!u.active) return Skip::kInactive;
  for (const OutOfOffice& o : u.out_of_office) {
    if (ctx.now >= o.from && ctx.now < o.to) return Skip::kOutOfOffice;
  }
  if (u.working_hours && !InWorkingHours(*u.working_hours, cu->tz, ctx.now)) {
    return Skip::kOutsideWorkingHours;
  }
  if (u.caps.per_day) {
    const date::time_zone* tz = u.working_hours ? cu->tz : ctx.ws.time_zone();
    if (ctx.state.AssignedSince(u.id, StartOfDay(tz, ctx.now), ctx.now) >= *u.caps.per_day) {
      return Skip::kPerDayCap;
    }
  }
  if (u.caps.max_open && ctx.state.OpenRecords(u.id, ctx.type, ctx.record_id) >= *u.caps.max_open) {
    return Skip::kMaxOpenCap;
  }
  return std::nullopt;
}

}  // namespace rota::core
