// Counters and a latency histogram, rendered in the Prometheus text format.
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace rota::service {

class Metrics {
 public:
  void Request(const std::string& route, int status);
  void Decision(const std::string& outcome, const std::string& strategy, double seconds);
  // A write transaction the database gave up (serialization failure, deadlock) runs again.
  void TxRetried();
  // `commit_batches` and `committed_items`: group commit's transactions and the
  // decisions they held (GroupCommit::batches(), items()).
  std::string Render(size_t commit_batches, size_t committed_items) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;             // GUARDED_BY(mu_)
  std::map<std::pair<std::string, std::string>, int64_t> decisions_;    // GUARDED_BY(mu_)
  std::array<int64_t, kBuckets.size()> latency_buckets_{};               // GUARDED_BY(mu_)
  int64_t latency_count_ = 0;                                           // GUARDED_BY(mu_)
  double latency_sum_ = 0;                                              // GUARDED_BY(mu_)
  int64_t tx_retries_ = 0;                                              // GUARDED_BY(mu_)
};

}  // namespace rota::service
