#include "service/metrics.h"

#include <sstream>

namespace rota::service {

void Metrics::Request(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}

void Metrics::Decision(const std::string& outcome, const std::string& strategy, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++decisions_[{outcome, strategy}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++latency_buckets_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::TxRetried() {
  std::lock_guard<std::mutex> lock(mu_);
  ++tx_retries_;
}

static std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Metrics::Render(size_t commit_batches, size_t committed_items) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream o;
  o << "# HELP rota_http_requests_total HTTP requests by route and status.\n"
    << "# TYPE rota_http_requests_total counter\n";
  for (const auto& [k, n] : requests_) {
    o << "rota_http_requests_total{route=\"" << Escape(k.first) << "\",status=\"" << k.second << "\"} " << n << "\n";
  }
  o << "# HELP rota_decisions_total Stored decisions by outcome and strategy.\n"
    << "# TYPE rota_decisions_total counter\n";
  for (const auto& [k, n] : decisions_) {
    o << "rota_decisions_total{outcome=\"" << Escape(k.first) << "\",strategy=\"" << Escape(k.second) << "\"} " << n
      << "\n";
  }
  o << "# HELP rota_decision_duration_seconds Time to decide and store one decision.\n"
    << "# TYPE rota_decision_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    o << "rota_decision_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << latency_buckets_[i] << "\n";
  }
  o << "rota_decision_duration_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n"
    << "rota_decision_duration_seconds_sum " << latency_sum_ << "\n"
    << "rota_decision_duration_seconds_count " << latency_count_ << "\n";
  o << "# HELP rota_tx_retries_total Write transactions run again after the database gave them up "
       "(serialization failure or deadlock).\n"
    << "# TYPE rota_tx_retries_total counter\n"
    << "rota_tx_retries_total " << tx_retries_ << "\n";
  o << "# HELP rota_group_commits_total Write transactions of group commit (each one sync of the disk at most).\n"
    << "# TYPE rota_group_commits_total counter\n"
    << "rota_group_commits_total " << commit_batches << "\n"
    << "# HELP rota_group_commit_items_total Decisions run in those transactions: divided by "
       "rota_group_commits_total, the mean batch.\n"
    << "# TYPE rota_group_commit_items_total counter\n"
    << "rota_group_commit_items_total " << committed_items << "\n";
  return o.str();
}

}  // namespace rota::service
