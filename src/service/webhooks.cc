#include "service/webhooks.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "connectors/generic.h"
#include "service/auth.h"
#include "service/crm.h"

namespace rota::service {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status Emit(store::Tx& tx, const std::vector<store::WebhookRow>& hooks, const std::string& event,
            const io::Json& data, int64_t now_ms) {
  for (const store::WebhookRow& w : hooks) {
    if (std::find(w.events.begin(), w.events.end(), event) == w.events.end()) continue;
    store::DeliveryRow d;
    d.id = NewId("dlv_");
    d.webhook = w.id;
    d.event = event;
    d.body = io::Json{{"id", d.id},
                      {"event", event},
                      {"webhook", w.id},
                      {"created_at", io::FormatTime(core::Time(std::chrono::seconds(now_ms / 1000)))},
                      {"data", data}}
                 .dump();
    d.next_attempt_at = now_ms;
    d.created_at = now_ms;
    Status s = tx.InsertDelivery(d);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

std::string Signature(const std::string& secret, int64_t unix_seconds, const std::string& body) {
  return connectors::generic::Sign(secret, unix_seconds, body);
}

int64_t Backoff(const DeliveryOptions& options, int64_t attempt) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double backoff = static_cast<double>(options.base_backoff_ms) * static_cast<double>(1LL << std::min<int64_t>(attempt - 1, 20));
  backoff = std::min(backoff, static_cast<double>(options.max_backoff_ms));
  backoff *= std::uniform_real_distribution<double>(0.8, 1.2)(rng);
  return static_cast<int64_t>(backoff);
}

void DeliveryWorker::Start() {
  stop_ = false;
  for (int i = 0; i < std::max(1, options_.lanes); ++i) lanes_.emplace_back([this] { Lane(); });
}

void DeliveryWorker::Lane() {
  while (!stop_) {
    if (RunOnce() > 0) continue;
    std::unique_lock<std::mutex> lock(mu_);
    if (!polling_) {
      polling_ = true;
      poll_cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_poll_ms), [this] { return stop_.load(); });
      polling_ = false;
    } else {
      const uint64_t seen = wakes_;
      idle_cv_.wait(lock, [&] { return stop_.load() || wakes_ != seen || !polling_; });
    }
  }
}

void DeliveryWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  poll_cv_.notify_all();
  idle_cv_.notify_all();
  for (std::thread& t : lanes_) {
    if (t.joinable()) t.join();
  }
  lanes_.clear();
}

int DeliveryWorker::RunOnce() {
  std::vector<store::DeliveryRow> due;
  std::string destination;
  int64_t leased_until = 0;
  {
    std::lock_guard<std::mutex> lock(claim_mu_);
    const int64_t now = NowMs();
    auto claimed = store_.ClaimDeliveries(now, options_.lease_ms, 16,
                                          std::vector<std::string>(in_flight_.begin(), in_flight_.end()));
    if (!claimed.ok()) {
      spdlog::error("webhooks: cannot claim deliveries: {}", claimed.status().message());
      return 0;
    }
    if (claimed->empty()) return 0;
    due = std::move(claimed).value();
    destination = store::DeliveryDestination(due.front());
    in_flight_.insert(destination);
    leased_until = now + options_.lease_ms;
  }
  // There may be more work than this lane: an idle one looks while this one sends.
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  idle_cv_.notify_one();
  size_t next = 0;
  std::vector<std::string> skipped;
  while (next < due.size() && !stop_) {
    // One that could outlast the lease (another node may then claim it) waits for the next claim.
    if (next > 0 && NowMs() + options_.timeout_ms >= leased_until) break;
    const store::DeliveryRow& d = due[next++];
    // A write-back a later decision superseded since the claim is not sent (nor recorded);
    // its lease ends with the others' below.
    if (!d.connector.empty()) {
      auto still = store_.StillClaimed(d.id, leased_until);
      if (still.ok() && !*still) {
        skipped.push_back(d.id);
        continue;
      }
    }
    store::AttemptResult r = Attempt(d);
    // Recorded only while this claim still leases the row (after the lease another node
    // may have sent it) and no re-send was asked meanwhile (then it stays due).
    Status s = store_.FinishAttempt(d.id, r, leased_until, d.next_attempt_at);
    if (!s.ok()) spdlog::error("webhooks: cannot record attempt of {}: {}", d.id, s.message());
    // No answer, or asked to pause: the destination is held until this row's retry
    // (ClaimDeliveries), the rest of this claim with it.
    if (store::HoldsDestination(r, !d.connector.empty())) break;
  }
  std::vector<std::string> untried = std::move(skipped);
  for (size_t i = next; i < due.size(); ++i) untried.push_back(due[i].id);
  Status s = store_.ReleaseDeliveries(untried, leased_until);
  if (!s.ok()) spdlog::error("webhooks: cannot hand back deliveries: {}", s.message());  // their lease ends anyway
  {
    std::lock_guard<std::mutex> lock(claim_mu_);
    in_flight_.erase(destination);
  }
  return static_cast<int>(due.size());
}

store::AttemptResult DeliveryWorker::Attempt(const store::DeliveryRow& d) {
  if (!d.connector.empty()) return SendWriteBack(secrets_, d, options_, NowMs());
  store::AttemptResult r;
  r.at = NowMs();
  connectors::OutRequest req{"POST", "",
                             {{"Rota-Event", d.event},
                              {"Rota-Delivery", d.id},
                              {"Rota-Sequence", std::to_string(d.seq)},
                              {"Rota-Signature", Signature(d.secret, r.at / 1000, d.body)},
                              {"User-Agent", "rota-webhooks/1"}},
                             d.body};
  HttpAnswer a = HttpCall(d.url, req, options_.timeout_ms);
  if (a.status) r.http_status = a.status;
  if (a.status >= 200 && a.status < 300) {
    r.state = store::AttemptResult::State::kDelivered;
    r.next_attempt_at = d.next_attempt_at;
    return r;
  }
  r.error = a.error;
  const int64_t attempt = d.attempts + 1;
  if (attempt >= AttemptsAllowed(options_, a)) {
    r.state = store::AttemptResult::State::kFailed;
    r.next_attempt_at = d.next_attempt_at;
    spdlog::warn("webhooks: delivery {} to {} failed after {} attempts: {}", d.id, d.url, attempt, r.error);
    return r;
  }
  r.state = store::AttemptResult::State::kRetry;
  r.next_attempt_at = r.at + a.elapsed_ms + RetryWait(options_, attempt, a);  // from the failure: a timeout took its time
  return r;
}

}  // namespace rota::service
