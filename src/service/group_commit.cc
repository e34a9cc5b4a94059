#include "service/group_commit.h"

#include <algorithm>
#include <system_error>

namespace rota::service {

GroupCommit::~GroupCommit() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  for (auto& [workspace, q] : queues_) q.work.notify_all();
  lock.unlock();
  // Run no longer touches queues_ once stopping_ is set.
  for (auto& [workspace, q] : queues_) {
    if (q.thread.joinable()) q.thread.join();
  }
}

Status GroupCommit::Enqueue(const std::string& workspace, std::unique_lock<std::mutex>& lock,
                            const std::vector<Pending*>& items, std::unique_ptr<Pending>& submitted) {
  if (stopping_) return Status::Internal("the server is stopping");
  Queue& q = queues_[workspace];  // never erased: the reference outlives the lock
  if (!q.running) {
    // The last committer stopped when it found no work; it no longer needs the lock. The
    // new one starts before anything is queued, so that when it cannot, nothing is; it
    // takes the lock once the work below is queued.
    if (q.thread.joinable()) q.thread.join();
    try {
      q.thread = std::thread([this, workspace, &q] { Commit(workspace, q); });
    } catch (const std::system_error& e) {
      return Status::Internal(std::string("cannot start group commit: ") + e.what());
    }
    q.running = true;
  }
  for (Pending* p : items) {
    if (q.batches.empty() || q.batches.back()->items.size() >= max_batch_) {
      q.batches.push_back(std::make_shared<Batch>());
    }
    Batch& b = *q.batches.back();
    b.items.push_back(p);
    if (p == submitted.get()) {
      // Owned by the batch, and told its result through `done`: no caller waits on the
      // batch for it, and a pointer back to the batch would keep both alive for ever.
      b.submitted.push_back(std::move(submitted));
    } else {
      p->batch = q.batches.back();
    }
  }
  if (q.idle) {
    q.idle = false;  // one wake-up, however many callers find it idle
    lock.unlock();
    q.work.notify_one();
    lock.lock();
  }
  return Status::Ok();
}

std::vector<Result<io::Json>> GroupCommit::Run(const std::string& workspace, std::vector<Work> works) {
  std::vector<Pending> mine(works.size());
  std::vector<Pending*> items;
  for (size_t i = 0; i < works.size(); ++i) {
    mine[i].work = std::move(works[i]);
    items.push_back(&mine[i]);
  }
  std::unique_lock<std::mutex> lock(mu_);
  std::unique_ptr<Pending> none;
  if (Status queued = Enqueue(workspace, lock, items, none); !queued.ok()) {
    return std::vector<Result<io::Json>>(mine.size(), Result<io::Json>(queued));
  }
  for (Pending& p : mine) {
    while (!p.result) p.batch->done.wait(lock);
    // The committer woke one caller of the batch; the first to see its results wakes the
    // others, so that the committer pays for one wake-up a batch, not one a caller.
    if (!p.batch->relayed) {
      p.batch->relayed = true;
      lock.unlock();
      p.batch->done.notify_all();
      lock.lock();
    }
  }
  lock.unlock();
  std::vector<Result<io::Json>> out;
  out.reserve(mine.size());
  for (Pending& p : mine) out.push_back(std::move(*p.result));
  return out;
}

void GroupCommit::Submit(const std::string& workspace, Work work, Done done) {
  auto p = std::make_unique<Pending>();
  p->work = std::move(work);
  p->done = std::move(done);
  Pending* item = p.get();
  std::unique_lock<std::mutex> lock(mu_);
  Status queued = Enqueue(workspace, lock, {item}, p);
  lock.unlock();
  if (!queued.ok()) p->done(queued);  // not queued: still ours
}

void GroupCommit::Commit(const std::string& workspace, Queue& q) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (q.batches.empty()) {
      if (stopping_) break;
      q.idle = true;
      bool work = q.work.wait_for(lock, idle_, [&] { return !q.batches.empty() || stopping_; });
      q.idle = false;
      if (!work) break;
      continue;
    }
    std::shared_ptr<Batch> b = std::move(q.batches.front());
    q.batches.pop_front();
    lock.unlock();
    std::vector<Result<io::Json>> results;
    try {
      results = RunBatch(workspace, b->items);
    } catch (const std::exception& e) {
      // Nothing of the batch was acknowledged; its transaction rolled back as it unwound.
      results.assign(b->items.size(), Result<io::Json>(Status::Internal(std::string("group commit: ") + e.what())));
    }
    // Submit's items are told first, outside the lock (no caller holds them).
    for (size_t i = 0; i < results.size(); ++i) {
      if (b->items[i]->done) b->items[i]->done(std::move(results[i]));
    }
    lock.lock();
    // Published under the lock, where the callers look for them; a caller that sees its
    // results may return at once, so the batch's items are not touched after this.
    for (size_t i = 0; i < results.size(); ++i) {
      if (!b->items[i]->done) b->items[i]->result = std::move(results[i]);
    }
    ++batches_;
    items_ += results.size();
    // One of the batch's callers is woken, after the lock is released so that it does not
    // at once wait for it, and wakes the others (Run); `b` keeps the condition alive.
    const bool callers_wait = b->items.size() > b->submitted.size();  // in Run
    lock.unlock();
    if (callers_wait) b->done.notify_one();
    // Submit's items (their requests, answer functions, perhaps a connection's last owner)
    // are freed here, outside the lock that loop threads take to queue work.
    b.reset();
    lock.lock();
  }
  q.running = false;
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

size_t GroupCommit::committers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::count_if(queues_.begin(), queues_.end(), [](const auto& e) { return e.second.running; }));
}

}  // namespace rota::service
