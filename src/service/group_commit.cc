#include "service/group_commit.h"

#include <algorithm>

namespace rota::service {

std::vector<Result<io::Json>> GroupCommit::Run(const std::string& workspace, std::vector<Work> works) {
  auto me = std::make_shared<Waiter>();
  std::vector<Pending> mine(works.size());
  for (size_t i = 0; i < works.size(); ++i) {
    mine[i].work = std::move(works[i]);
    mine[i].waiter = me;
  }
  auto all_done = [&] {
    return std::all_of(mine.begin(), mine.end(), [](const Pending& p) { return p.result.has_value(); });
  };

  std::unique_lock<std::mutex> lock(mu_);
  Queue& q = queues_[workspace];
  for (Pending& p : mine) q.waiting.push_back(&p);
  while (!all_done()) {
    if (q.leading) {
      me->cv.wait(lock);
      continue;
    }
    // Lead one batch: the oldest waiting work, whoever queued it.
    q.leading = true;
    std::vector<Pending*> batch;
    while (!q.waiting.empty() && batch.size() < max_batch_) {
      batch.push_back(q.waiting.front());
      q.waiting.pop_front();
    }
    lock.unlock();
    std::vector<Result<io::Json>> results = RunBatch(workspace, batch);
    lock.lock();
    // Results are published under the lock, where their callers look for them.
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
    ++batches_;
    items_ += batch.size();
    q.leading = false;
    // Wake a caller of waiting work to lead the next batch first (this caller, if it has
    // work left, loops and leads it): the next commit waits for nothing else. Then the
    // callers this batch answered.
    std::vector<std::shared_ptr<Waiter>> wake;
    if (!q.waiting.empty() && q.waiting.front()->waiter != me) wake.push_back(q.waiting.front()->waiter);
    for (Pending* p : batch) {  // a caller's work is queued together: one wake-up each
      if (p->waiter != me && (wake.empty() || (p->waiter != wake.front() && p->waiter != wake.back()))) {
        wake.push_back(p->waiter);
      }
    }
    // Woken after the lock is released, so that a woken caller does not at once wait for
    // it again (about a third of the server's futex calls did); the shared pointers keep each
    // Waiter alive should its caller see its results and return first.
    lock.unlock();
    for (const std::shared_ptr<Waiter>& w : wake) w->cv.notify_one();
    lock.lock();
  }
  lock.unlock();
  std::vector<Result<io::Json>> out;
  out.reserve(mine.size());
  for (Pending& p : mine) out.push_back(std::move(*p.result));
  return out;
}

std::vector<Result<io::Json>> GroupCommit::RunBatch(const std::string& workspace, const std::vector<Pending*>& batch) {
  auto given_up = [](const std::vector<Result<io::Json>>& results) {
    return std::any_of(results.begin(), results.end(), [](const Result<io::Json>& r) { return r.status().retryable(); });
  };
  for (int attempt = 1;; ++attempt) {
    std::vector<Result<io::Json>> results = RunOnce(workspace, batch);
    if (!given_up(results) || attempt >= retry_.max_attempts) return results;
    if (on_retry_) on_retry_();
    PauseBeforeRetry(retry_, attempt);
  }
}

std::vector<Result<io::Json>> GroupCommit::RunOnce(const std::string& workspace, const std::vector<Pending*>& batch) {
  auto all = [&](const Status& s) { return std::vector<Result<io::Json>>(batch.size(), Result<io::Json>(s)); };
  auto tx = store_.BeginWrite(workspace);
  if (!tx.ok()) return all(tx.status());
  std::vector<Result<io::Json>> results;
  results.reserve(batch.size());
  BatchState state;
  for (Pending* p : batch) {
    Status s = (*tx)->BeginUnit();
    if (!s.ok()) return all(s);
    Result<io::Json> r = p->work(**tx, state);
    // Given up by the database: the whole transaction is lost, not only this unit.
    if (r.status().retryable()) return all(r.status());
    if (r.ok()) {
      s = (*tx)->EndUnit();
    } else {
      s = (*tx)->RollbackUnit();
      state = BatchState{};
    }
    if (!s.ok()) return all(s);
    results.push_back(std::move(r));
  }
  Status committed = (*tx)->Commit();
  if (!committed.ok()) {
    // A failed commit fails every decision of the batch; none was acknowledged.
    for (Result<io::Json>& r : results) {
      if (r.ok()) r = committed;
    }
  }
  return results;
}

size_t GroupCommit::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

size_t GroupCommit::items() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_;
}

}  // namespace rota::service
