// Talking to a CRM: one HTTP request to its API (write-backs, user lists), and a
// connector's row opened into its settings and credentials.
#pragma once

#include <optional>
#include <string>

#include "connectors/connector.h"
#include "connectors/secrets.h"
#include "service/webhooks.h"
#include "store/store.h"

namespace rota::service {

struct HttpAnswer {
  int status = 0;  // 0: no answer (see error)
  std::string body;
  std::optional<int64_t> retry_after_ms;  // from Retry-After (RetryAfterMs) on 429 and 503
  std::string error;
  int64_t elapsed_ms = 0;  // how long the call took, to its answer or its failure (a timeout)
};

// The retry policy of every delivery (webhooks and write-backs) after answer `a` to its
// `attempt`-th try. Attempts allowed: a receiver only rate limiting (429) gets four times
// as many. The wait before the next: the backoff, or the receiver's Retry-After where it
// gave one (on a 429 or 503) and it is longer; on a 429 its Retry-After, but never under
// the first backoff, so that a "Retry-After: 0" does not spend the attempts at once.
int64_t AttemptsAllowed(const DeliveryOptions& options, const HttpAnswer& a);
// A Retry-After header's wait at `now_ms`: delay-seconds, or an HTTP date (RFC 9110's
// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"; a date past is 0); at most an hour.
// nullopt when it is neither.
std::optional<int64_t> RetryAfterMs(const std::string& value, int64_t now_ms);
int64_t RetryWait(const DeliveryOptions& options, int64_t attempt, const HttpAnswer& a);
// Whether a write-back answered `status` (0: no answer) is tried again: no answer, 408, 429,
// 5xx, and HubSpot's 423 Locked and 477 Migration in Progress, which its API docs name as
// worth retrying. Any other answer outside 2xx fails it.
bool TriedAgain(int status);

// The most of an answer's body an outgoing call reads (a CRM's page of users is far less).
inline constexpr size_t kMaxAnswerBytes = 8u << 20;

// `r` sent to base + r.path (a CRM's API, or a webhook's URL with an empty path); never
// throws. The one HTTP client of rota's outgoing calls. No answer (status 0, with the
// error) when the answer's body is over kMaxAnswerBytes or the whole call takes more than
// twice `timeout_ms`.
HttpAnswer HttpCall(const std::string& api_base, const connectors::OutRequest& r, int timeout_ms);

// The stored row with its credentials opened by `box`.
Result<connectors::Connector> OpenConnectorRow(const connectors::SecretBox* box, const store::ConnectorRow& row);

// Sends one write-back outbox row. 2xx: delivered; 429: again after Retry-After;
// the rest of TriedAgain: again with backoff until out of attempts; any other: failed.
store::AttemptResult SendWriteBack(const connectors::SecretBox* box, const store::DeliveryRow& d,
                                   const DeliveryOptions& options, int64_t now_ms);

}  // namespace rota::service
