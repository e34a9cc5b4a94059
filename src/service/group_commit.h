// Group commit: decisions arriving together are committed in one transaction, in
// arrival order, each in its own unit (a failing one rolls back alone), and each is
// acknowledged only after the commit. One fsync then pays for many decisions.
//
// The first caller for a workspace leads: it takes the queued work, runs it in one
// write transaction and commits; callers that arrive meanwhile queue for the next
// batch, which one of them leads. A batch whose transaction the database gave up (a
// serialization failure or deadlock, Status::retryable()) is run again whole, in a new
// transaction, as retry.h says; nothing of it was acknowledged. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/workspace.h"
#include "io/json_util.h"
#include "service/retry.h"
#include "store/store.h"

namespace rota::service {

// What the decisions of one transaction read once and share: each would otherwise
// read the same rows again. Cleared when a decision's unit rolls back, as its writes
// are undone.
struct BatchState {
  std::shared_ptr<const core::Workspace> workspace;    // the configuration snapshot
  std::optional<int64_t> last_decision_at;             // Tx::LastDecisionAt, kept up to date
  std::optional<std::vector<store::WebhookRow>> webhooks;
};

class GroupCommit {
 public:
  using Work = std::function<Result<io::Json>(store::Tx&, BatchState&)>;

  // `on_retry` is told each time a batch runs again.
  GroupCommit(store::Store& store, size_t max_batch, RetryPolicy retry = {}, std::function<void()> on_retry = {})
      : store_(store), max_batch_(max_batch), retry_(retry), on_retry_(std::move(on_retry)) {}

  // Runs each work in order, each in its own unit, and answers their results once
  // the transaction that holds them committed (or failed).
  std::vector<Result<io::Json>> Run(const std::string& workspace, std::vector<Work> works);

  // Batches committed and work items run, for the metrics and the benchmarks.
  size_t batches() const;
  size_t items() const;

 private:
  // One caller of Run, waiting on its own condition: a finished batch wakes only the
  // callers it answered and the next leader, not every waiting thread.
  struct Waiter {
    std::condition_variable cv;
  };
  struct Pending {
    Work work;
    std::optional<Result<io::Json>> result;  // GUARDED_BY(mu_)
    std::shared_ptr<Waiter> waiter;
  };
  struct Queue {
    std::deque<Pending*> waiting;
    bool leading = false;
  };
  // The batch's results, run again whole while the database gives it up (retry.h).
  std::vector<Result<io::Json>> RunBatch(const std::string& workspace, const std::vector<Pending*>& batch);
  // One transaction over the batch: a result per work.
  std::vector<Result<io::Json>> RunOnce(const std::string& workspace, const std::vector<Pending*>& batch);

  store::Store& store_;
  const size_t max_batch_;
  const RetryPolicy retry_;
  const std::function<void()> on_retry_;
  mutable std::mutex mu_;
  std::map<std::string, Queue> queues_;  // GUARDED_BY(mu_)
  size_t batches_ = 0, items_ = 0;       // GUARDED_BY(mu_)
};

}  // namespace rota::service
