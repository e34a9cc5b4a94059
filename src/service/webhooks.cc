#include "service/webhooks.h"

#include <httplib.h>
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
  thread_ = std::thread([this] {
    while (!stop_) {
      int n = RunOnce();
      if (n == 0) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_poll_ms), [this] { return stop_.load(); });
      }
    }
  });
}

void DeliveryWorker::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int DeliveryWorker::RunOnce() {
  auto due = store_.ClaimDeliveries(NowMs(), options_.lease_ms, 16);
  if (!due.ok()) {
    spdlog::error("webhooks: cannot claim deliveries: {}", due.status().message());
    return 0;
  }
  for (const store::DeliveryRow& d : *due) {
    if (stop_) break;  // leased rows go back to the queue when the lease ends
    store::AttemptResult r = Attempt(d);
    Status s = store_.FinishAttempt(d.id, r);
    if (!s.ok()) spdlog::error("webhooks: cannot record attempt of {}: {}", d.id, s.message());
  }
  return static_cast<int>(due->size());
}

store::AttemptResult DeliveryWorker::Attempt(const store::DeliveryRow& d) {
  if (!d.connector.empty()) return SendWriteBack(secrets_, d, options_, NowMs());
  store::AttemptResult r;
  r.at = NowMs();
  // http://host[:port]/path → client on scheme://host:port, request on /path.
  std::string url = d.url;
  size_t scheme_end = url.find("://");
  size_t path_start = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  std::string origin = path_start == std::string::npos ? url : url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(origin);
  client.set_connection_timeout(0, options_.timeout_ms * 1000);
  client.set_read_timeout(options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000);
  client.set_write_timeout(options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000);
  httplib::Headers headers = {{"Rota-Event", d.event},
                              {"Rota-Delivery", d.id},
                              {"Rota-Signature", Signature(d.secret, r.at / 1000, d.body)},
                              {"User-Agent", "rota-webhooks/1"}};
  auto res = client.Post(path, headers, d.body, "application/json");
  if (res && res->status >= 200 && res->status < 300) {
    r.state = store::AttemptResult::State::kDelivered;
    r.http_status = res->status;
    r.next_attempt_at = d.next_attempt_at;
    return r;
  }
  if (res) {
    r.http_status = res->status;
    r.error = "HTTP " + std::to_string(res->status);
  } else {
    r.error = httplib::to_string(res.error());
  }
  const int64_t attempt = d.attempts + 1;
  if (attempt >= options_.max_attempts) {
    r.state = store::AttemptResult::State::kFailed;
    r.next_attempt_at = d.next_attempt_at;
    spdlog::warn("webhooks: delivery {} to {} failed after {} attempts: {}", d.id, d.url, attempt, r.error);
    return r;
  }
  r.state = store::AttemptResult::State::kRetry;
  r.next_attempt_at = r.at + Backoff(options_, attempt);
  return r;
}

}  // namespace rota::service
