// Pre-counted decisions (table decision_counts, migration 4), shared by both stores.
//
// Each row counts a workspace's decisions in one UTC hour (bucket = the hour's first
// second) with one (object_type, rule, distribution, key_value, owner, outcome). A report
// sums the whole hours of its window from here and counts only the partial hours at its
// edges from `decisions`, so its cost follows the hours and kinds of decision in the
// window, not the number of decisions.
//
// The nullable columns are stored as '' so that they can be in the primary key; which of
// them were NULL is kept in null_mask, so that a NULL and an empty string stay apart and
// the counts stay exactly those of `decisions`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace rota::store::counts {

inline constexpr int64_t kBucketSeconds = 3600;

// null_mask bits.
inline constexpr int64_t kRuleNull = 1;
inline constexpr int64_t kDistributionNull = 2;
inline constexpr int64_t kKeyValueNull = 4;
inline constexpr int64_t kOwnerNull = 8;

// Times beyond ±2^62 s are not bucketed (the SQL below would overflow): a window with
// such an edge is counted from `decisions`, a purge before such a time recounts all.
inline constexpr int64_t kTimeLimit = int64_t{1} << 62;

// The bucket of a time: the start of its UTC hour (rounded down, also before 1970).
int64_t BucketOf(int64_t at);
int64_t NullMask(const DecisionRow& d);

// The same two in SQL over a `decisions` row (SQLite and PostgreSQL alike).
inline constexpr const char* kBucketSql = "(at - ((at % 3600) + 3600) % 3600)";
inline constexpr const char* kNullMaskSql =
    "((CASE WHEN rule IS NULL THEN 1 ELSE 0 END) + (CASE WHEN distribution IS NULL THEN 2 ELSE 0 END) + "
    "(CASE WHEN key_value IS NULL THEN 4 ELSE 0 END) + (CASE WHEN owner IS NULL THEN 8 ELSE 0 END))";

// "INSERT … SELECT" of the counts of the decisions of workspace `ws_param` with `at`
// between `from_param` and `to_param` (inclusive): recounting buckets after a purge.
std::string RecountSql(const std::string& ws_param, const std::string& from_param, const std::string& to_param);

// A time range [from, to); an absent end is open.
struct Span {
  std::optional<int64_t> from, to;
};

// A report window cut into whole buckets (read from decision_counts) and the partial
// hours at its edges (read from decisions). A window within two hours is read from
// decisions alone.
struct Split {
  bool use_counts = false;
  Span buckets;             // bucket >= from AND bucket < to
  std::vector<Span> edges;  // at >= from AND at < to
};
Split SplitWindow(std::optional<int64_t> from, std::optional<int64_t> to);

// What a report groups by, in each table. `first` is the owner or the outcome, `second`
// the key value (NULL when the report has none).
struct Shape {
  const char* decisions_columns;  // "first, second"
  const char* decisions_where;    // " AND …" or ""
  const char* decisions_group;
  const char* counts_columns;
  const char* counts_where;
  bool per_owner;  // owners alone: a store may count an edge its own way
};
inline constexpr Shape kByOwner{"owner, CAST(NULL AS TEXT)", " AND owner IS NOT NULL", "owner", "owner, CAST(NULL AS TEXT)",
                                " AND null_mask & 8 = 0", true};
inline constexpr Shape kByKey{"owner, key_value", " AND owner IS NOT NULL", "owner, key_value",
                              "owner, CASE WHEN null_mask & 4 = 0 THEN key_value END", " AND null_mask & 8 = 0",
                              false};
inline constexpr Shape kByOutcome{"outcome, CAST(NULL AS TEXT)", "", "outcome", "outcome, CAST(NULL AS TEXT)", "", false};

// The filters of a report on decision_counts: a NULL column never matches a filter, as
// in `decisions`. `param` gives the placeholder of the n-th parameter ("?3", "$3").
template <typename P>
std::string CountsFilterSql(const ReportFilter& f, int& n, P param) {
  std::string sql;
  if (f.object_type) sql += " AND object_type=" + param(++n);
  if (f.rule) sql += " AND rule=" + param(++n) + " AND null_mask & 1 = 0";
  if (f.distribution) sql += " AND distribution=" + param(++n) + " AND null_mask & 2 = 0";
  return sql;
}

// One row of decision_counts without its workspace and n.
struct CountKey {
  int64_t bucket = 0;
  std::string object_type, rule, distribution, key_value, owner, outcome;
  int64_t null_mask = 0;
  static CountKey Of(const DecisionRow& d);
  auto operator<=>(const CountKey&) const = default;
};

// The counts a write transaction owes decision_counts, written once per row at the end
// (Flush) instead of one upsert per decision: a batch of decisions in one hour touches a
// row per owner and outcome, not per decision. Units (savepoints) are followed: the
// counts of a unit rolled back are dropped with it. A store flushes before COMMIT and
// before it reads or purges decision_counts in the same transaction.
class PendingCounts {
 public:
  void Add(const DecisionRow& d) { (in_unit_ ? unit_ : kept_)[CountKey::Of(d)] += 1; }
  void BeginUnit() { in_unit_ = true; }
  void EndUnit();
  void RollbackUnit() {
    unit_.clear();
    in_unit_ = false;
  }
  // Everything added and kept (an open unit's included), leaving nothing.
  std::map<CountKey, int64_t> Take();

 private:
  std::map<CountKey, int64_t> kept_, unit_;
  bool in_unit_ = false;
};

// Rows of both tables added up, given back in the reports' order: by key value (none
// first), then by owner or outcome.
class Tally {
 public:
  void Add(std::string first, std::optional<std::string> second, int64_t n) {
    sums_[{std::move(second), std::move(first)}] += n;
  }
  std::vector<OwnerCount> Rows() const;

 private:
  std::map<std::pair<std::optional<std::string>, std::string>, int64_t> sums_;
};

// A report, for both stores: the whole buckets of the window of `f` through
// `counted(buckets, tally)` (decision_counts), each partial hour at its edges through
// `edge(filter narrowed to that edge, tally)` (decisions), added up in report order.
template <typename Counted, typename Edge>
Result<std::vector<OwnerCount>> CountReport(const ReportFilter& f, Counted counted, Edge edge) {
  Tally tally;
  const Split split = SplitWindow(f.from, f.to);
  if (split.use_counts) {
    if (Status s = counted(split.buckets, tally); !s.ok()) return s;
  }
  for (const Span& span : split.edges) {
    ReportFilter e = f;
    e.from = span.from;
    e.to = span.to;
    if (Status s = edge(e, tally); !s.ok()) return s;
  }
  return tally.Rows();
}

}  // namespace rota::store::counts
