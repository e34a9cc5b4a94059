#include "service/group_commit.h"

#include <algorithm>

namespace rota::service {

std::vector<Result<io::Json>> GroupCommit::Run(const std::string& workspace, std::vector<Work> works) {
  std::vector<Pending> mine(works.size());
  for (size_t i = 0; i < works.size(); ++i) mine[i].work = std::move(works[i]);
  auto all_done = [&] {
    return std::all_of(mine.begin(), mine.end(), [](const Pending& p) { return p.result.has_value(); });
  };

  std::unique_lock<std::mutex> lock(mu_);
  Queue& q = queues_[workspace];
  for (Pending& p : mine) q.waiting.push_back(&p);
  while (!all_done()) {
    if (q.leading) {
      cv_.wait(lock);
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
    RunBatch(workspace, batch);
    lock.lock();
    ++batches_;
    items_ += batch.size();
    q.leading = false;
    cv_.notify_all();
  }
  std::vector<Result<io::Json>> out;
  out.reserve(mine.size());
  for (Pending& p : mine) out.push_back(std::move(*p.result));
  return out;
}

void GroupCommit::RunBatch(const std::string& workspace, const std::vector<Pending*>& batch) {
  auto fail_all = [&](const Status& s) {
    for (Pending* p : batch) p->result = s;
  };
  auto tx = store_.BeginWrite(workspace);
  if (!tx.ok()) return fail_all(tx.status());
  std::vector<std::optional<Result<io::Json>>> results(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    Status s = (*tx)->BeginUnit();
    if (!s.ok()) return fail_all(s);
    Result<io::Json> r = batch[i]->work(**tx);
    s = r.ok() ? (*tx)->EndUnit() : (*tx)->RollbackUnit();
    if (!s.ok()) return fail_all(s);
    results[i] = std::move(r);
  }
  Status committed = (*tx)->Commit();
  for (size_t i = 0; i < batch.size(); ++i) {
    // A failed commit fails every decision of the batch; none was acknowledged.
    batch[i]->result = committed.ok() || !results[i]->ok() ? std::move(*results[i]) : Result<io::Json>(committed);
  }
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
