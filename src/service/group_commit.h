// Group commit: decisions arriving together are committed in one transaction, in
// arrival order, each in its own unit (a failing one rolls back alone), and each is
// acknowledged only after the commit. One fsync then pays for many decisions.
//
// Each workspace has a committer thread, started with its first work: it takes the
// oldest queued batch, runs it in one write transaction, commits, wakes one of that
// batch's callers (who wakes the others) and goes on to the next batch; callers that
// arrive meanwhile fill the next batch. The committer never waits for a wake-up while
// work is queued, and pays for one wake-up a batch, not one a caller: on this machine's
// VM every wake-up costs 20-40 µs, and a caller leading the next batch first had to be
// scheduled (docs/performance.md, "Sixth pass"). It stops after `idle` without work, and
// when the GroupCommit is destroyed.
// A batch whose transaction the database gave up (a serialization failure or deadlock,
// Status::retryable()) is run again whole, in a new transaction, as retry.h says;
// nothing of it was acknowledged. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
  std::vector<std::string> confirmed_keys;  // hashes of keys ConfirmKey passed
};

class GroupCommit {
 public:
  using Work = std::function<Result<io::Json>(store::Tx&, BatchState&)>;
  using Done = std::function<void(Result<io::Json>)>;

  // `on_retry` is told each time a batch runs again.
  GroupCommit(store::Store& store, size_t max_batch, RetryPolicy retry = {}, std::function<void()> on_retry = {},
              std::chrono::milliseconds idle = std::chrono::seconds(10))
      : store_(store), max_batch_(max_batch), retry_(retry), on_retry_(std::move(on_retry)), idle_(idle) {}
  // Waits for the committers, which finish the work queued before they stop.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs each work in order, each in its own unit, and answers their results once
  // the transaction that holds them committed (or failed).
  std::vector<Result<io::Json>> Run(const std::string& workspace, std::vector<Work> works);
  // Queues one work as Run does and returns at once: `done` gets its result on the
  // committer's thread once the transaction that holds it committed (or failed), or here
  // when it cannot be queued. It must not block: the next batch waits for it. The HTTP
  // server answers a decision so, with no thread waiting for it (http/connections.h).
  void Submit(const std::string& workspace, Work work, Done done);

  // Batches committed and work items run, for the metrics and the benchmarks.
  size_t batches() const;
  size_t items() const;
  // Committer threads running now (the tests see an idle one stop).
  size_t committers() const;

 private:
  struct Pending;
  // Works queued together and committed together. Its callers wait on `done`: when the
  // batch's results are published the committer wakes one of them, and the first caller to
  // see them wakes the rest (`relayed`).
  struct Batch {
    std::vector<Pending*> items;
    std::vector<std::unique_ptr<Pending>> submitted;  // Submit's items, which no caller holds
    std::condition_variable done;
    bool relayed = false;  // GUARDED_BY(mu_)
  };
  struct Pending {
    Work work;
    Done done;                               // Submit's: told the result, owned by the batch
    std::optional<Result<io::Json>> result;  // GUARDED_BY(mu_)
    std::shared_ptr<Batch> batch;            // where its caller waits (Run's; none for Submit's)
  };
  struct Queue {
    std::deque<std::shared_ptr<Batch>> batches;  // oldest first; the last fills until taken
    std::condition_variable work;                // wakes an idle committer
    bool running = false;                        // a committer serves this queue
    bool idle = false;                           // and waits on `work`
    std::thread thread;                          // the last committer started (joined before the next)
  };
  // Queues `items` (the lock held) and makes sure a committer serves them; the error when
  // none can be started (nothing is queued then). The batch that takes `submitted` (one of
  // `items`, or null) takes it over.
  Status Enqueue(const std::string& workspace, std::unique_lock<std::mutex>& lock, const std::vector<Pending*>& items,
                 std::unique_ptr<Pending>& submitted);
  // The committer of one workspace's queue: batches until `idle_` passes without work.
  void Commit(const std::string& workspace, Queue& q);
  // The batch's results, run again whole while the database gives it up (retry.h).
  std::vector<Result<io::Json>> RunBatch(const std::string& workspace, const std::vector<Pending*>& batch);
  // One transaction over the batch: a result per work.
  std::vector<Result<io::Json>> RunOnce(const std::string& workspace, const std::vector<Pending*>& batch);

  store::Store& store_;
  const size_t max_batch_;
  const RetryPolicy retry_;
  const std::function<void()> on_retry_;
  const std::chrono::milliseconds idle_;
  mutable std::mutex mu_;
  std::map<std::string, Queue> queues_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                // GUARDED_BY(mu_)
  size_t batches_ = 0, items_ = 0;       // GUARDED_BY(mu_)
};

}  // namespace rota::service
