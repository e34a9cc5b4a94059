// The write-back sender's paths that need no CRM: a deleted connector, a server
// without its secret key (kept until the key is back, then given up), a row that
// cannot be read; and one against a CRM on loopback that answers too late.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <optional>
#include <thread>

#include "core/text.h"
#include "service/crm.h"

namespace rota::service {
namespace {

using State = store::AttemptResult::State;

store::DeliveryRow Row(int64_t attempts) {
  store::DeliveryRow d;
  d.id = "wb_1";
  d.connector = "pd";
  d.event = "owner.write_back";
  d.body = connectors::ToJson({"deal", "4002", "7", "dec_1", ""}).dump();
  d.attempts = attempts;
  d.next_attempt_at = 1000;
  return d;
}

// Every delivery's retry policy: a receiver's Retry-After is waited for, but neither a 429's
// "0" nor a 503's short one spends the attempts faster than the backoff would.
TEST(RetryPolicy, RetryAfterIsWaitedForButNeverShortensTheBackoff) {
  DeliveryOptions o;  // backoff 1 000 ms doubling (±20 %), 8 attempts
  auto answer = [](int status, std::optional<int64_t> retry_after_ms) {
    HttpAnswer a;
    a.status = status;
    a.retry_after_ms = retry_after_ms;
    return a;
  };
  EXPECT_EQ(AttemptsAllowed(o, answer(429, std::nullopt)), 32);
  EXPECT_EQ(AttemptsAllowed(o, answer(503, 2000)), 8);
  EXPECT_EQ(AttemptsAllowed(o, answer(0, std::nullopt)), 8);
  EXPECT_EQ(RetryWait(o, 5, answer(429, 0)), 1000);      // at least the first backoff
  EXPECT_EQ(RetryWait(o, 5, answer(429, 3000)), 3000);   // as told, though the backoff is 16 s
  EXPECT_EQ(RetryWait(o, 1, answer(503, 60000)), 60000);  // longer than the backoff: as told
  for (int i = 0; i < 20; ++i) {
    const int64_t w = RetryWait(o, 5, answer(503, 1000));  // shorter: the backoff (16 s ± 20 %)
    EXPECT_GE(w, 12800);
    EXPECT_LE(w, 19200);
    const int64_t plain = RetryWait(o, 2, answer(500, std::nullopt));  // 2 s ± 20 %
    EXPECT_GE(plain, 1600);
    EXPECT_LE(plain, 2400);
  }
}

// Which answers a write-back is tried again after (HubSpot names 423 and 477 as retryable).
TEST(RetryPolicy, TransientAnswersAreTriedAgain) {
  for (int status : {0, 408, 423, 429, 477, 500, 502, 503, 504}) EXPECT_TRUE(TriedAgain(status)) << status;
  for (int status : {400, 401, 403, 404, 409, 410, 422}) EXPECT_FALSE(TriedAgain(status)) << status;
}

// Retry-After in seconds or as an HTTP date (RFC 9110), at most an hour; anything else is
// not read (the backoff then applies).
TEST(RetryPolicy, RetryAfterIsReadInSecondsOrAsAnHttpDate) {
  const int64_t now = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(RetryAfterMs("30", now), 30000);
  EXPECT_EQ(RetryAfterMs("0", now), 0);
  EXPECT_EQ(RetryAfterMs("7200", now), 3600000);
  EXPECT_EQ(RetryAfterMs("Sun, 06 Nov 1994 08:51:37 GMT", now), 120000);
  EXPECT_EQ(RetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
  EXPECT_EQ(RetryAfterMs("Sat, 05 Nov 1994 08:49:37 GMT", now), 0);        // past
  EXPECT_EQ(RetryAfterMs("Mon, 07 Nov 1994 08:49:37 GMT", now), 3600000);  // at most an hour
  for (const char* bad : {"", "-5", " 30", "30s", "soon", "Sun, 06 Nov 1994 08:51:37", "Sun, 06 Nov 1994 08:51:37 GMT+1"}) {
    EXPECT_EQ(RetryAfterMs(bad, now), std::nullopt) << bad;
  }
}

TEST(SendWriteBack, ConnectorDeletedFailsAtOnce) {
  auto r = SendWriteBack(nullptr, Row(0), DeliveryOptions{}, 5000);
  EXPECT_EQ(r.state, State::kFailed);
  EXPECT_EQ(r.error, "connector deleted");
}

TEST(SendWriteBack, NoSecretKeyWaitsThenGivesUp) {
  auto box = connectors::SecretBox::FromText("0123456789abcdef-key");
  ASSERT_TRUE(box.ok());
  store::DeliveryRow d = Row(0);
  d.target = store::ConnectorRow{"pd", "pipedrive", R"({"id":"pd","kind":"pipedrive","api_base":"http://127.0.0.1:1"})",
                                 box->Seal(R"({"webhook_user":"u","webhook_password":"p","api_token":"t"})"), 1, 1};
  DeliveryOptions options;
  options.max_attempts = 3;
  auto early = SendWriteBack(nullptr, d, options, 5000);
  EXPECT_EQ(early.state, State::kRetry);
  EXPECT_GT(early.next_attempt_at, 5000);
  EXPECT_NE(early.error.find("ROTA_SECRET_KEY"), std::string::npos);
  d.attempts = 2;
  EXPECT_EQ(SendWriteBack(nullptr, d, options, 5000).state, State::kFailed);
  // Another key cannot open the credentials either.
  auto other = connectors::SecretBox::FromText("another-key-0123456789");
  d.attempts = 0;
  auto wrong = SendWriteBack(&*other, d, options, 5000);
  EXPECT_EQ(wrong.state, State::kRetry);
  EXPECT_NE(wrong.error.find("cannot be opened"), std::string::npos);
  // With the key, a row whose body is unreadable fails at once.
  d.body = "not json";
  EXPECT_EQ(SendWriteBack(&*box, d, options, 5000).state, State::kFailed);
}

// A Pipedrive CRM on loopback whose PATCH answers are `answer`'s, and a write-back row
// sealed for it (`box` holds the secret key).
class LoopbackCrm {
 public:
  explicit LoopbackCrm(httplib::Server::Handler answer) {
    crm_.Patch(".*", std::move(answer));
    port_ = crm_.bind_to_any_port("127.0.0.1");
    serving_ = std::thread([this] { crm_.listen_after_bind(); });
  }
  ~LoopbackCrm() {
    crm_.stop();
    serving_.join();
  }
  int port() const { return port_; }
  store::DeliveryRow RowFor(const connectors::SecretBox& box) const {
    store::DeliveryRow d = Row(0);
    const std::string base = "http://127.0.0.1:" + std::to_string(port_);
    d.target = store::ConnectorRow{"pd", "pipedrive", R"({"id":"pd","kind":"pipedrive","api_base":")" + base + R"("})",
                                   box.Seal(R"({"webhook_user":"u","webhook_password":"p","api_token":"t"})"), 1, 1};
    return d;
  }

 private:
  httplib::Server crm_;
  int port_ = -1;
  std::thread serving_;
};

// A receiver that answers gigabytes, or a byte now and then, does not hold an outgoing call:
// the body is cut off past kMaxAnswerBytes, and the whole call ends within twice the timeout
// (each read alone never times out on a byte every 50 ms). An answer whose status said 2xx
// was accepted by the receiver all the same: not an error, not sent again.
TEST(HttpCall, AHugeOrDrippingAnswerIsCutOff) {
  httplib::Server receiver;
  receiver.Post(R"(/huge/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
      static const std::string mb(1 << 20, 'x');
      return sink.write(mb.data(), mb.size());
    });
  });
  receiver.Post(R"(/drip/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return sink.write("x", 1);
    });
  });
  receiver.Post("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { receiver.listen_after_bind(); });
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  HttpAnswer huge = HttpCall(base, {"POST", "/huge/500", {}, "{}"}, 5000);
  EXPECT_EQ(huge.status, 0);
  EXPECT_NE(huge.error.find("MiB"), std::string::npos) << huge.error;
  EXPECT_TRUE(huge.body.empty());
  HttpAnswer drip = HttpCall(base, {"POST", "/drip/502", {}, "{}"}, 300);
  EXPECT_EQ(drip.status, 0);
  EXPECT_NE(drip.error.find("within 600 ms"), std::string::npos) << drip.error;
  EXPECT_LT(drip.elapsed_ms, 3000);
  for (const char* accepted : {"/huge/200", "/drip/202"}) {
    HttpAnswer a = HttpCall(base, {"POST", accepted, {}, "{}"}, 300);
    EXPECT_GE(a.status, 200) << accepted << ": " << a.error;
    EXPECT_LT(a.status, 300) << accepted;
    EXPECT_TRUE(a.error.empty()) << accepted << ": " << a.error;
  }
  HttpAnswer ok = HttpCall(base, {"POST", "/ok", {}, "{}"}, 1000);
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, "{}");
  receiver.stop();
  serving.join();
}

// A CRM that answers after the attempt's time limit: the retry waits its backoff from the
// timeout, not from the attempt's start (a backoff shorter than the timeout had passed).
TEST(SendWriteBack, ATimedOutWriteBackWaitsItsBackoffAfterTheTimeout) {
  auto box = connectors::SecretBox::FromText("0123456789abcdef-key");
  ASSERT_TRUE(box.ok());
  store::AttemptResult r;
  {
    LoopbackCrm crm([](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(900));
      res.status = 200;
    });
    ASSERT_GT(crm.port(), 0);
    DeliveryOptions options;
    options.timeout_ms = 300;
    options.base_backoff_ms = 100;
    r = SendWriteBack(&*box, crm.RowFor(*box), options, 5000);
  }
  EXPECT_EQ(r.state, State::kRetry) << r.error;
  EXPECT_GE(r.next_attempt_at, 5000 + 300 + 80);  // the timeout, then at least 80 % of the backoff
}

// A CRM that refuses the connector's credentials (401) would refuse every write-back
// alike: the write-back waits for new credentials (tried again at the longest backoff,
// however many attempts it has had), holding the others, instead of failing.
TEST(SendWriteBack, ARefusedCredentialWaitsAndNeverFails) {
  auto box = connectors::SecretBox::FromText("0123456789abcdef-key");
  ASSERT_TRUE(box.ok());
  store::AttemptResult r;
  DeliveryOptions options;
  {
    LoopbackCrm crm([](const httplib::Request&, httplib::Response& res) {
      res.status = 401;
      res.set_content(R"({"success":false,"error":"unauthorized access"})", "application/json");
    });
    ASSERT_GT(crm.port(), 0);
    store::DeliveryRow d = crm.RowFor(*box);
    d.attempts = options.max_attempts * 10;
    r = SendWriteBack(&*box, d, options, 5000);
  }
  EXPECT_EQ(r.state, State::kRetry) << r.error;
  EXPECT_EQ(r.http_status, 401);
  EXPECT_TRUE(store::HoldsDestination(r, /*write_back=*/true));
  EXPECT_GE(r.next_attempt_at, 5000 + options.max_backoff_ms);
  EXPECT_NE(r.error.find("the CRM refused the connector's credentials"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("unauthorized access"), std::string::npos) << r.error;
}

// A CRM's refusal is stored with the start of its reply: cut at a character, and with the
// bytes that are not UTF-8 replaced, as PostgreSQL refuses such text (the attempt would not
// be recorded and the write-back would be sent again and again).
TEST(SendWriteBack, ARefusalKeepsTheReplysStartAsUtf8) {
  auto box = connectors::SecretBox::FromText("0123456789abcdef-key");
  ASSERT_TRUE(box.ok());
  store::AttemptResult r;
  {
    LoopbackCrm crm([](const httplib::Request&, httplib::Response& res) {
      res.status = 400;
      res.set_content(std::string(185, 'x') + "\xFF" + std::string(11, 'y') + "\xC5\x82\xC5\x82", "text/plain");
    });
    ASSERT_GT(crm.port(), 0);
    r = SendWriteBack(&*box, crm.RowFor(*box), DeliveryOptions{}, 5000);
  }
  ASSERT_EQ(r.state, State::kFailed) << r.error;
  EXPECT_TRUE(core::ValidUtf8(r.error)) << r.error;
  const std::string reply = std::string(185, 'x') + "?" + std::string(11, 'y') + "\xC5\x82";  // 199 of 200 bytes
  EXPECT_NE(r.error.find(reply), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find(reply + "\xC5"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace rota::service
