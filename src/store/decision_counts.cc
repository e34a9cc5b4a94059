#include "store/decision_counts.h"

namespace rota::store::counts {

int64_t BucketOf(int64_t at) { return at - ((at % kBucketSeconds) + kBucketSeconds) % kBucketSeconds; }

int64_t NullMask(const DecisionRow& d) {
  return (d.rule ? 0 : kRuleNull) | (d.distribution ? 0 : kDistributionNull) | (d.key_value ? 0 : kKeyValueNull) |
         (d.owner ? 0 : kOwnerNull);
}

CountKey CountKey::Of(const DecisionRow& d) {
  return {BucketOf(d.at),           d.object_type,           d.rule.value_or(""), d.distribution.value_or(""),
          d.key_value.value_or(""), d.owner.value_or(""),    d.outcome,           NullMask(d)};
}

void PendingCounts::EndUnit() {
  for (auto& [k, n] : unit_) kept_[k] += n;
  unit_.clear();
  in_unit_ = false;
}

std::map<CountKey, int64_t> PendingCounts::Take() {
  // An open unit's counts go too (they are written inside its savepoint, so its
  // rollback undoes them there); the unit stays open.
  for (auto& [k, n] : unit_) kept_[k] += n;
  unit_.clear();
  std::map<CountKey, int64_t> out;
  out.swap(kept_);
  return out;
}

std::string RecountSql(const std::string& ws_param, const std::string& from_param, const std::string& to_param) {
  return std::string(
             "INSERT INTO decision_counts(workspace, bucket, object_type, rule, distribution, key_value, owner, "
             "outcome, null_mask, n) SELECT workspace, ") +
         kBucketSql +
         ", object_type, COALESCE(rule, ''), COALESCE(distribution, ''), COALESCE(key_value, ''), "
         "COALESCE(owner, ''), outcome, " +
         kNullMaskSql + ", COUNT(*) FROM decisions WHERE workspace=" + ws_param + " AND at>=" + from_param +
         " AND at<=" + to_param + " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9";
}

Split SplitWindow(std::optional<int64_t> from, std::optional<int64_t> to) {
  Split s;
  auto beyond = [](const std::optional<int64_t>& t) { return t && (*t < -kTimeLimit || *t > kTimeLimit); };
  if (beyond(from) || beyond(to)) {
    s.edges.push_back({from, to});
    return s;
  }
  std::optional<int64_t> lo, hi;  // the whole buckets inside the window
  if (from) lo = BucketOf(*from) == *from ? *from : BucketOf(*from) + kBucketSeconds;
  if (to) hi = BucketOf(*to);
  if (lo && hi && *lo >= *hi) {
    s.edges.push_back({from, to});
    return s;
  }
  s.use_counts = true;
  s.buckets = {lo, hi};
  if (from && *from < *lo) s.edges.push_back({from, lo});
  if (to && *hi < *to) s.edges.push_back({hi, to});
  return s;
}

std::vector<OwnerCount> Tally::Rows() const {
  std::vector<OwnerCount> rows;
  rows.reserve(sums_.size());
  for (const auto& [key, n] : sums_) rows.push_back({key.second, key.first.value_or(""), n});
  return rows;
}

}  // namespace rota::store::counts
