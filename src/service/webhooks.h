// Webhooks out, durable: events are written to the outbox in the decision's own
// transaction (Emit), and a worker posts them with a signature, retrying with
// exponential backoff and jitter until they are delivered or out of attempts.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/secrets.h"
#include "io/json_util.h"
#include "store/store.h"

namespace rota::service {

inline const std::vector<std::string> kWebhookEvents = {"decision.assigned", "decision.unassigned",
                                                        "owner.notified", "record.updated"};

// Writes `event` with `data` to the outbox of every webhook of the workspace that
// subscribes to it. Call inside the transaction that stores what the event tells.
Status Emit(store::Tx& tx, const std::vector<store::WebhookRow>& hooks, const std::string& event,
            const io::Json& data, int64_t now_ms);

// `t=UNIX,v1=HEX`: HMAC-SHA256 of "t.body" with the webhook's secret.
std::string Signature(const std::string& secret, int64_t unix_seconds, const std::string& body);

struct DeliveryOptions {
  int max_attempts = 8;
  int64_t base_backoff_ms = 1000;     // the first retry waits about this long
  int64_t max_backoff_ms = 600000;    // and no retry waits longer than this
  int timeout_ms = 5000;              // per attempt
  int64_t lease_ms = 15000;           // a claimed delivery is not handed out again before (> timeout)
  int64_t idle_poll_ms = 100;
};

// How long to wait before attempt `attempt` + 1 (exponential, ±20 % jitter, capped).
int64_t Backoff(const DeliveryOptions& options, int64_t attempt);

// Posts due deliveries (and connector write-backs, opened with `secrets`) on its own
// thread. Stop() waits for the attempt under way.
class DeliveryWorker {
 public:
  DeliveryWorker(store::Store& store, DeliveryOptions options, const connectors::SecretBox* secrets = nullptr)
      : store_(store), options_(options), secrets_(secrets) {}
  ~DeliveryWorker() { Stop(); }
  void Start();
  void Stop();
  // Runs one round: claims due deliveries and attempts each. Answers how many.
  int RunOnce();

 private:
  store::AttemptResult Attempt(const store::DeliveryRow& d);

  store::Store& store_;
  const DeliveryOptions options_;
  const connectors::SecretBox* secrets_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace rota::service
