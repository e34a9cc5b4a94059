// Connector I/O: requests to a CRM's API, and the write-back of a decision's owner
// from the outbox (the delivery worker calls SendWriteBack for connector rows).
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "connectors/generic.h"
#include "connectors/hubspot.h"
#include "connectors/pipedrive.h"
#include "service/crm.h"

namespace rota::service {

namespace {

// Runs `on_time` on a thread of its own if it is not destroyed within `limit`; the
// destructor wakes and joins that thread.
class Watchdog {
 public:
  template <typename F>
  Watchdog(std::chrono::milliseconds limit, F on_time)
      : thread_([this, limit, on_time] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            fired_ = true;
            on_time();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
  std::thread thread_;  // last: started once the members it uses are
};

HttpAnswer Call(const std::string& api_base, const connectors::OutRequest& r, int timeout_ms) {
  HttpAnswer a;
  // scheme://host[:port][/base] + path → a client on scheme://host:port, the request on /base + path.
  const std::string url = api_base + r.path;
  size_t scheme_end = url.find("://");
  size_t path_start = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  const std::string origin = path_start == std::string::npos ? url : url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  try {
    httplib::Client client(origin);
    if (origin.rfind("https://", 0) == 0 && std::filesystem::exists("/etc/ssl/certs/ca-certificates.crt")) {
      client.set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
    }
    client.set_connection_timeout(0, timeout_ms * 1000);
    client.set_read_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
    client.set_write_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
    httplib::Request req;
    req.method = r.method == "GET" || r.method == "PATCH" || r.method == "PUT" ? r.method : "POST";
    req.path = path;
    req.headers = httplib::Headers(r.headers.begin(), r.headers.end());
    if (!req.headers.count("User-Agent")) req.headers.emplace("User-Agent", "rota-connectors/1");
    req.headers.emplace("Accept", "application/json");
    if (req.method != "GET") {
      req.headers.emplace("Content-Type", "application/json");
      req.body = r.body;
    }
    // The answer's body is kept up to kMaxAnswerBytes: a receiver answering gigabytes is cut
    // off, not read into memory. Its status is seen before the body: a 2xx cut off, or late,
    // was still accepted by the receiver, and is not sent again.
    bool too_large = false;
    int status_seen = 0;
    req.response_handler = [&](const httplib::Response& head) {
      status_seen = head.status;
      return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (a.body.size() + n > kMaxAnswerBytes) return !(too_large = true);
      a.body.append(data, n);
      return true;
    };
    httplib::Result res{nullptr, httplib::Error::Unknown};
    bool late = false;
    {
      // The exchange ends within twice the timeout once connected: the timeouts above bound
      // each read and write, and a receiver sending a byte now and then would hold the call
      // (and its delivery lane) for hours. Joined however `send` ends, a throw included.
      Watchdog watchdog(std::chrono::milliseconds(2LL * timeout_ms), [&] { client.stop(); });
      res = client.send(req);
      late = watchdog.fired();
    }
    if (!res) {
      const bool accepted = (too_large || late) && status_seen >= 200 && status_seen < 300;
      a.status = accepted ? status_seen : 0;
      a.body.clear();
      if (!accepted) {
        a.error = too_large ? "the answer is over " + std::to_string(kMaxAnswerBytes >> 20) + " MiB"
                  : late    ? "no whole answer within " + std::to_string(2LL * timeout_ms) + " ms"
                            : httplib::to_string(res.error());
      }
      return a;
    }
    a.status = res->status;
    if ((a.status == 429 || a.status == 503) && res->has_header("Retry-After")) {
      const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
      a.retry_after_ms = RetryAfterMs(res->get_header_value("Retry-After"), now_ms);
    }
    if (a.status < 200 || a.status >= 300) a.error = "HTTP " + std::to_string(a.status);
  } catch (const std::exception& e) {
    a.error = e.what();
  }
  return a;
}

}  // namespace

std::optional<int64_t> RetryAfterMs(const std::string& value, int64_t now_ms) {
  constexpr int64_t kLongest = 3600 * 1000;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
    return std::min<int64_t>(seconds, 3600) * 1000;
  }
  // An HTTP date: IMF-fixdate, always GMT (the C locale's day and month names).
  std::tm tm{};
  const char* rest = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!rest || *rest != '\0') return std::nullopt;
  const int64_t at_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  return std::clamp<int64_t>(at_ms - now_ms, 0, kLongest);
}

int64_t AttemptsAllowed(const DeliveryOptions& options, const HttpAnswer& a) {
  return a.status == 429 ? options.max_attempts * 4 : options.max_attempts;
}

int64_t RetryWait(const DeliveryOptions& options, int64_t attempt, const HttpAnswer& a) {
  if (a.retry_after_ms && a.status == 429) return std::max<int64_t>(*a.retry_after_ms, options.base_backoff_ms);
  const int64_t backoff = Backoff(options, attempt);
  return a.retry_after_ms ? std::max(*a.retry_after_ms, backoff) : backoff;
}

HttpAnswer HttpCall(const std::string& api_base, const connectors::OutRequest& r, int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  HttpAnswer a = Call(api_base, r, timeout_ms);
  a.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return a;
}

Result<connectors::Connector> OpenConnectorRow(const connectors::SecretBox* box, const store::ConnectorRow& row) {
  if (!box) {
    return Status(Code::kUnavailable, "secret_key_missing",
                  "the server has no ROTA_SECRET_KEY, so connector credentials cannot be opened");
  }
  auto plain = box->Open(row.secrets);
  if (!plain.ok()) return plain.status();
  io::Json doc = io::Json::parse(row.doc, nullptr, false);
  io::Json creds = io::Json::parse(*plain, nullptr, false);
  if (!doc.is_object() || !creds.is_object()) return Status::Internal("connector \"" + row.id + "\" is unreadable");
  doc["credentials"] = creds;
  auto c = connectors::ReadConnector(doc);
  if (!c.ok()) return Status::Internal("connector \"" + row.id + "\" is no longer valid: " + c.status().message());
  return c;
}

bool TriedAgain(int status) {
  return status == 0 || status == 408 || status == 423 || status == 429 || status == 477 || status >= 500;
}

store::AttemptResult SendWriteBack(const connectors::SecretBox* box, const store::DeliveryRow& d,
                                   const DeliveryOptions& options, int64_t now_ms) {
  using State = store::AttemptResult::State;
  store::AttemptResult r;
  r.at = now_ms;
  r.next_attempt_at = d.next_attempt_at;
  auto fail = [&](const std::string& why) {
    r.state = State::kFailed;
    r.error = why;
    spdlog::warn("connectors: write-back {} of connector {} failed: {}", d.id, d.connector, why);
    return r;
  };
  const int64_t attempt = d.attempts + 1;
  int64_t call_ms = 0;  // the CRM's time to answer (or to time out): the wait counts from then
  auto again = [&](const std::string& why, int64_t wait_ms) {
    r.state = State::kRetry;
    r.error = why;
    r.next_attempt_at = now_ms + call_ms + wait_ms;
    return r;
  };
  if (!d.target) return fail("connector deleted");
  auto c = OpenConnectorRow(box, *d.target);
  if (!c.ok()) {
    // The key may be set at the next start: keep the write-back until then.
    if (attempt >= options.max_attempts) return fail(c.status().message());
    return again(c.status().message(), Backoff(options, attempt));
  }
  // Switched off since the decision: its tokens may be gone too.
  if (!c->write_back) return fail("write-back is switched off for this connector");
  auto w = connectors::ReadWriteBack(d.body);
  if (!w.ok()) return fail(w.status().message());
  auto type = core::ParseObjectType(w->object_type);
  std::optional<std::string> crm_type = w->crm_type;
  if (crm_type->empty()) crm_type = type ? connectors::CrmType(*c, *type) : std::nullopt;
  if (!crm_type) return fail("the connector maps no CRM object type to " + w->object_type);
  const std::string owner = connectors::CrmOwner(*c, w->owner);
  connectors::OutRequest req;
  switch (c->kind) {
    case connectors::Kind::kHubSpot:
      req = connectors::hubspot::WriteBackRequest(*c, *crm_type, w->record_id, owner);
      break;
    case connectors::Kind::kPipedrive:
      req = connectors::pipedrive::WriteBackRequest(*c, *crm_type, w->record_id, owner);
      break;
    case connectors::Kind::kGeneric:
      req = connectors::generic::WriteBackRequest(*c, *w, now_ms / 1000);
      // As a webhook's: the same id on every attempt to de-duplicate on, and the order.
      req.headers.emplace_back("Rota-Delivery", d.id);
      req.headers.emplace_back("Rota-Sequence", std::to_string(d.seq));
      break;
  }
  HttpAnswer a = HttpCall(c->api_base, req, options.timeout_ms);
  call_ms = a.elapsed_ms;
  if (a.status) r.http_status = a.status;
  if (a.status >= 200 && a.status < 300) {
    r.state = State::kDelivered;
    return r;
  }
  if (a.status == 401) {
    // The CRM refused the connector's credentials: it would refuse every write-back alike.
    // This one waits (holding the others, store::HoldsDestination) for new credentials,
    // which make it due at once (Tx::UpdateConnector), and is tried again meanwhile at the
    // longest backoff, with no limit on its attempts: none is failed, none lost.
    return again(a.error + ": the CRM refused the connector's credentials; its write-backs wait until they are "
                               "updated: " + core::Utf8Prefix(a.body, 200),
                 options.max_backoff_ms);
  }
  if (!TriedAgain(a.status)) return fail(a.error + ": " + core::Utf8Prefix(a.body, 200));  // stored: UTF-8 for PostgreSQL
  if (attempt >= AttemptsAllowed(options, a)) {
    return fail(a.error + (a.status == 429 ? " (rate limited too often)" : " after " + std::to_string(attempt) + " attempts"));
  }
  return again(a.error, RetryWait(options, attempt, a));
}

}  // namespace rota::service
