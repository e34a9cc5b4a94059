// Reports (SPEC §8): records per owner for a period, with the target percentage of a
// distribution's keys beside the actual one; the month's summary; retention.
#include <date/tz.h>

#include <algorithm>
#include <map>

#include "core/eligibility.h"
#include "core/text.h"
#include "service/service.h"
#include "service/window.h"
#include "store/decision_counts.h"

namespace rota::service {

namespace {

// Idempotency keys are remembered for at least this long, whatever the retention.
constexpr int64_t kKeysKeptSeconds = 25 * 3600;

// The earliest start of today among the days the per-day caps count in (SPEC §5: since
// midnight in the user's working-hours time zone, else the workspace's). A day is not
// always 24 hours or 25: Antarctica/Troll's autumn day has 26.
int64_t EarliestDayStart(const core::Workspace& ws, core::Time now) {
  core::Time earliest = core::StartOfDay(ws.time_zone(), now);
  for (const core::User& u : ws.config().users) {
    if (!u.caps.per_day || !u.working_hours) continue;
    if (const core::CompiledUser* cu = ws.FindUser(u.id)) earliest = std::min(earliest, core::StartOfDay(cu->tz, now));
  }
  return earliest.time_since_epoch().count();
}

}  // namespace

Result<Json> Service::DistributionReport(const std::string& ws, const ReportQuery& q) {
  io::Problems p;
  store::ReportFilter f;
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  ReadWindow({q.from, q.to, q.period}, (*w)->time_zone(), clock_.Now(), p, f.from, f.to);
  if (q.object_type && !core::ParseObjectType(*q.object_type)) p.Add("object_type", "unknown object type");
  const core::Distribution* dist = nullptr;
  if (q.distribution) {
    const core::CompiledDistribution* d = (*w)->FindDistribution(*q.distribution);
    if (d == nullptr) return Status::NotFound("unknown distribution \"" + *q.distribution + "\"");
    dist = d->distribution;
  } else if (q.rule) {
    // A rule that assigns by a distribution has that distribution's targets.
    const core::CompiledRule* r = (*w)->FindRule(*q.rule);
    if (r != nullptr && r->rule->assign.type == core::Assignee::Type::kDistribution) {
      if (const core::CompiledDistribution* d = (*w)->FindDistribution(r->rule->assign.ref)) dist = d->distribution;
    }
  }
  if (!p.empty()) return p.ToStatus();
  f.object_type = q.object_type;
  f.rule = q.rule;
  f.distribution = q.distribution;

  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto owners = (*tx)->CountByOwner(f);
  if (!owners.ok()) return owners.status();
  int64_t total = 0;
  for (const auto& o : *owners) total += o.count;
  // The decisions that found nobody: received, but in no owner's row.
  auto outcomes = (*tx)->CountByOutcome(f);
  if (!outcomes.ok()) return outcomes.status();
  int64_t unassigned = 0;
  for (const auto& o : *outcomes) {
    if (o.owner == "unassigned") unassigned += o.count;
  }

  // For a distribution: each owner's target is its percentage in each key, weighted by
  // how many records that key's value received.
  std::map<std::string, double> target;
  Json by_value = Json::array();
  if (dist != nullptr) {
    auto per_key = (*tx)->CountByKey(f);
    if (!per_key.ok()) return per_key.status();
    std::map<std::string, std::map<std::string, int64_t>> counts;  // value → owner → n
    std::map<std::string, int64_t> value_totals;
    for (const auto& r : *per_key) {
      counts[r.value][r.owner] += r.count;
      value_totals[r.value] += r.count;
    }
    for (const auto& key : dist->keys) {
      std::string folded = core::Fold(key.value);
      int64_t n = value_totals.count(folded) ? value_totals[folded] : 0;
      Json rows = Json::array();
      for (const auto& o : key.owners) {
        int64_t got = counts[folded].count(o.user) ? counts[folded][o.user] : 0;
        if (total > 0) target[o.user] += static_cast<double>(n) / static_cast<double>(total) * o.percent;
        rows.push_back({{"owner", o.user},
                        {"count", got},
                        {"percent", n ? 100.0 * static_cast<double>(got) / static_cast<double>(n) : 0.0},
                        {"target_percent", o.percent}});
      }
      // Owners the value's records went to who are no longer in its key (the key was
      // changed in the period): their records are in the count, so they are in the rows.
      for (const auto& [owner, got] : counts[folded]) {
        auto in_key = [&](const core::KeyOwner& o) { return o.user == owner; };
        if (owner.empty() || std::any_of(key.owners.begin(), key.owners.end(), in_key)) continue;
        rows.push_back({{"owner", owner},
                        {"count", got},
                        {"percent", 100.0 * static_cast<double>(got) / static_cast<double>(n)},
                        {"target_percent", 0.0}});
      }
      by_value.push_back({{"value", key.value}, {"count", n}, {"rows", rows}});
    }
  }
  Json rows = Json::array();
  std::map<std::string, int64_t> seen;
  for (const auto& o : *owners) seen[o.owner] = o.count;
  for (const auto& [owner, t] : target) seen.emplace(owner, 0);
  for (const auto& [owner, count] : seen) {
    Json row = {{"owner", owner},
                {"count", count},
                {"percent", total ? 100.0 * static_cast<double>(count) / static_cast<double>(total) : 0.0}};
    row["target_percent"] = dist != nullptr ? Json(target.count(owner) ? target[owner] : 0.0) : Json(nullptr);
    rows.push_back(row);
  }
  Json out = {{"rows", rows}, {"total", total}, {"unassigned", unassigned}};
  if (f.from) out["from"] = io::FormatTime(core::Time(std::chrono::seconds(*f.from)));
  if (f.to) out["to"] = io::FormatTime(core::Time(std::chrono::seconds(*f.to)));
  if (dist != nullptr) out["by_value"] = by_value;
  return out;
}

Result<Json> Service::Summary(const std::string& ws) {
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  const core::Time now = clock_.Now();
  auto [from, to] = LocalRange((*w)->time_zone(), now, /*month=*/true);
  store::ReportFilter f;
  f.from = from;
  f.to = to;
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto outcomes = (*tx)->CountByOutcome(f);
  if (!outcomes.ok()) return outcomes.status();
  auto queued = (*tx)->CountUnassigned();
  if (!queued.ok()) return queued.status();
  int64_t total = 0;
  Json by_outcome = {{"assigned", 0}, {"fallback", 0}, {"default", 0}, {"unassigned", 0}};
  for (const auto& o : *outcomes) {
    by_outcome[o.owner] = o.count;
    total += o.count;
  }
  return Json{{"processed_this_month", total},
              {"by_outcome_this_month", by_outcome},
              {"unassigned_waiting", *queued},
              {"month", date::format("%Y-%m", (*w)->time_zone()->to_local(std::chrono::floor<std::chrono::seconds>(now)))},
              {"month_start", io::FormatTime(core::Time(std::chrono::seconds(from)))}};
}

Result<int64_t> Service::PurgeHistory(const std::string& ws, int64_t chunk) {
  chunk = std::max<int64_t>(chunk, 1);
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  int64_t days = (*w)->config().settings.history_retention_days;
  const core::Time now = clock_.Now();
  // Today's decisions stay whatever the retention, for the per-day caps, and so does the
  // last day's idempotency keys.
  const int64_t before = std::min(now.time_since_epoch().count() - std::max(days * 86400, kKeysKeptSeconds),
                                  EarliestDayStart(**w, now));
  // This month's counts stay too, for the dashboard's figure (from the hour that holds the
  // month's start in the workspace's time zone). Where the month starts inside an hour (a
  // half-hour zone), that hour's decisions from the month's start stay as well: the
  // figure reads them, as the hour's count holds the month before too.
  const int64_t month_start = LocalRange((*w)->time_zone(), now, /*month=*/true).first;
  const int64_t month_hour = store::counts::BucketOf(month_start);
  const int64_t counts_before = std::min(before, month_hour);
  const int64_t keep_to = month_start == month_hour ? month_start : month_hour + store::counts::kBucketSeconds;
  int64_t total = 0;
  for (;;) {
    auto n = Retrying([&]() -> Result<int64_t> {
      auto tx = store_.BeginWrite(ws);
      if (!tx.ok()) return tx.status();
      auto n = (*tx)->PurgeDecisions(before, counts_before, month_start, keep_to, chunk);
      if (!n.ok()) return n.status();
      Status s = (*tx)->Commit();
      if (!s.ok()) return s;
      return *n;
    });
    if (!n.ok()) return n.status();
    total += *n;
    if (*n < chunk) return total;
  }
}

Result<int64_t> Service::PurgeAllHistory() {
  auto workspaces = store_.ListWorkspaces();
  if (!workspaces.ok()) return workspaces.status();
  int64_t total = 0;
  for (const std::string& ws : *workspaces) {
    auto n = PurgeHistory(ws);
    if (!n.ok()) return n.status();
    total += *n;
  }
  return total;
}

}  // namespace rota::service
