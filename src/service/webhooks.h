// Webhooks out, durable: events are written to the outbox in the decision's own
// transaction (Emit), and a worker posts them with a signature, retrying with
// exponential backoff and jitter until they are delivered or out of attempts.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/secrets.h"
#include "io/json_util.h"
#include "store/store.h"

namespace rota::service {

inline const std::vector<std::string> kWebhookEvents = {"decision.assigned", "decision.unassigned",
                                                        "owner.notified", "record.updated"};
// Webhooks a workspace may have.
inline constexpr size_t kMaxWebhooks = 50;

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
  int lanes = 4;                      // destinations served at once
};

// How long to wait before attempt `attempt` + 1 (exponential, ±20 % jitter, capped).
int64_t Backoff(const DeliveryOptions& options, int64_t attempt);

// Posts due deliveries (and connector write-backs, opened with `secrets`) on `lanes`
// threads. Each lane claims the due deliveries of one destination (a webhook or a
// connector) that no other lane of the process serves, and sends them oldest first, one
// at a time; so a receiver that is down or slow holds up one lane, not every other
// receiver. After an attempt that got no answer (a timeout, a refused connection, or no
// call made: a connector that cannot be opened) the destination is held until that
// attempt's retry (ClaimDeliveries): its other deliveries, new ones too, wait untried
// instead of each waiting out a timeout in turn. An attempt that could outlast the claim's
// lease is left for the next claim, and an attempt is recorded only while its claim holds.
// Idle lanes do not all poll: one polls every `idle_poll_ms`, and a lane that finds work
// wakes another. Stop() waits for the attempts under way.
class DeliveryWorker {
 public:
  DeliveryWorker(store::Store& store, DeliveryOptions options, const connectors::SecretBox* secrets = nullptr)
      : store_(store), options_(options), secrets_(secrets) {}
  ~DeliveryWorker() { Stop(); }
  void Start();
  void Stop();
  // One lane's round: claims one destination's due deliveries and attempts them. Answers
  // how many it claimed.
  int RunOnce();

 private:
  void Lane();
  store::AttemptResult Attempt(const store::DeliveryRow& d);

  store::Store& store_;
  const DeliveryOptions options_;
  const connectors::SecretBox* secrets_;
  std::vector<std::thread> lanes_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable poll_cv_;  // the polling lane's timed wait
  std::condition_variable idle_cv_;  // the other idle lanes, until a lane finds work
  bool polling_ = false;             // GUARDED_BY(mu_): an idle lane polls
  uint64_t wakes_ = 0;               // GUARDED_BY(mu_)
  std::mutex claim_mu_;              // one claim at a time, so that lanes never share a destination
  std::set<std::string> in_flight_;  // GUARDED_BY(claim_mu_): destinations a lane serves
};

}  // namespace rota::service
