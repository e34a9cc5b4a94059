// Webhooks out, durable (issue 5): signed deliveries with retries, a stable delivery id,
// delivery after a crash between decision and delivery; related records, the unassigned
// queue and the distribution report through the real server.
#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"

namespace rota::testing {
namespace {

std::string Hmac(const std::string& secret, const std::string& text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

// A real HTTP receiver on loopback that checks the signature and fails on purpose.
class Receiver {
 public:
  // `slow_first_ms`: the first attempt is answered only after that long (a timeout).
  explicit Receiver(std::string secret, int fail_first = 0, int port = 0, int slow_first_ms = 0)
      : secret_(std::move(secret)), fail_first_(fail_first) {
    server_.Post("/hook", [this, slow_first_ms](const httplib::Request& req, httplib::Response& res) {
      const auto arrived = std::chrono::steady_clock::now();
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        first = attempts_.empty() && !slowed_;
        slowed_ = slowed_ || first;
      }
      if (first && slow_first_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_first_ms));
      std::lock_guard<std::mutex> lock(mu_);
      Got g;
      g.at = arrived;
      g.event = req.get_header_value("Rota-Event");
      g.delivery = req.get_header_value("Rota-Delivery");
      g.sequence = req.get_header_value("Rota-Sequence");
      std::string sig = req.get_header_value("Rota-Signature");
      auto comma = sig.find(",v1=");
      if (sig.rfind("t=", 0) == 0 && comma != std::string::npos) {
        std::string t = sig.substr(2, comma - 2);
        g.signature_ok = Hmac(secret_, t + "." + req.body) == sig.substr(comma + 4);
      }
      g.body = Json::parse(req.body, nullptr, false);
      attempts_.push_back(g);
      const bool fail = static_cast<int>(attempts_.size()) <= fail_first_;
      res.status = fail ? fail_status_ : 200;
      if (fail && !retry_after_.empty()) res.set_header("Retry-After", retry_after_);
    });
    port_ = port == 0 ? server_.bind_to_any_port("127.0.0.1") : (server_.bind_to_port("127.0.0.1", port) ? port : -1);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  struct Got {
    std::string event, delivery, sequence;
    bool signature_ok = false;
    Json body;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Got> attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }
  int port() const { return port_; }
  // The first `fail_first` attempts are answered `status` (500 unless set), with a
  // Retry-After of `retry_after` when it is not empty.
  void FailWith(int status, std::string retry_after) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_status_ = status;
    retry_after_ = std::move(retry_after);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  std::string secret_;
  int fail_first_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Got> attempts_;
  bool slowed_ = false;
  int fail_status_ = 500;
  std::string retry_after_;
};

Json PoolConfig() {
  return Json::parse(R"({
    "users": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
    "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b", "c"]}],
    "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
               "conditions": {"all": [{"field": "source", "op": "is_not_empty"}]},
               "assign": {"type": "pool", "pool": "p"}, "actions": {"notify": true}}]
  })");
}

Json Lead(const std::string& id) {
  return {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}, {"properties", {{"source", "web"}}}}}};
}

// The pool config and a webhook "crm" on decision.assigned to `url`: the hook's status.
int PoolAndHook(const RotaServer& server, const std::string& key, const std::string& url, const std::string& secret) {
  EXPECT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  return server.Call("POST", "/v1/webhooks", key,
                     {{"id", "crm"}, {"url", url}, {"events", {"decision.assigned"}}, {"secret", secret}})
      .status;
}

TEST(Webhooks, RetriesUntilDeliveredWithValidSignatureAndStableDeliveryId) {
  Receiver receiver("s3cret", /*fail_first=*/2);
  RotaServer server("", {}, {"--webhook-backoff-ms", "50"});
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  Reply hook = server.Call("POST", "/v1/webhooks", key,
                           {{"id", "crm"}, {"url", receiver.url()}, {"events", {"decision.assigned"}}, {"secret", "s3cret"}});
  ASSERT_EQ(hook.status, 201) << hook.raw;
  Reply d = server.Call("POST", "/v1/assign", key, Lead("L-1"));
  ASSERT_EQ(d.status, 200);

  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() >= 3; })) << server.Output();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no fourth attempt after a 200
  auto got = receiver.attempts();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& g : got) {
    EXPECT_EQ(g.event, "decision.assigned");
    EXPECT_TRUE(g.signature_ok);
    EXPECT_EQ(g.delivery, got[0].delivery);  // one delivery id for every attempt
    EXPECT_EQ(g.body["data"]["decision_id"], d.body["decision_id"]);
    EXPECT_EQ(g.body["data"]["owner"], "a");
  }
  Reply list = server.Call("GET", "/v1/webhooks/crm/deliveries", key);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["items"].size(), 1u);
  EXPECT_EQ(list.body["items"][0]["status"], "delivered");
  EXPECT_EQ(list.body["items"][0]["attempts"], 3);
  EXPECT_EQ(list.body["items"][0]["id"], got[0].delivery);
}

// A retry arrives after deliveries made later; Rota-Sequence gives the order the events
// were stored in (created_at has whole seconds), the same on every attempt.
TEST(Webhooks, TheSequenceHeaderOrdersDeliveriesThatRetriesReordered) {
  Receiver receiver("s3cret", /*fail_first=*/1);
  RotaServer server("", {}, {"--webhook-backoff-ms", "400"});
  const std::string key = server.admin_key();
  ASSERT_EQ(PoolAndHook(server, key, receiver.url(), "s3cret"), 201);
  std::vector<std::string> decisions;
  for (const char* id : {"L-1", "L-2", "L-3"}) decisions.push_back(server.Call("POST", "/v1/assign", key, Lead(id)).body["decision_id"]);
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() >= 4; })) << server.Output();
  auto got = receiver.attempts();
  ASSERT_EQ(got.size(), 4u);
  std::map<std::string, std::set<std::string>> sequences;  // decision: the sequences its attempts carried
  for (const auto& g : got) sequences[g.body["data"]["decision_id"]].insert(g.sequence);
  ASSERT_EQ(sequences.size(), 3u);
  std::vector<int64_t> order;
  for (const std::string& d : decisions) {
    ASSERT_EQ(sequences[d].size(), 1u) << d << ": one sequence for every attempt";
    order.push_back(std::stoll(*sequences[d].begin()));
  }
  EXPECT_LT(order[0], order[1]);
  EXPECT_LT(order[1], order[2]);
  EXPECT_EQ(got.back().body["data"]["decision_id"], decisions[0]) << "the first, retried, came last";
}

TEST(Webhooks, FailedDeliveryIsMarkedAndCanBeResent) {
  Receiver receiver("k", /*fail_first=*/2);
  RotaServer server("", {}, {"--webhook-backoff-ms", "20", "--webhook-max-attempts", "2"});
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  ASSERT_EQ(server.Call("POST", "/v1/webhooks", key,
                        {{"id", "w"}, {"url", receiver.url()}, {"events", {"owner.notified"}}, {"secret", "k"}})
                .status,
            201);
  ASSERT_EQ(server.Call("POST", "/v1/assign", key, Lead("L-1")).status, 200);
  Json item;
  ASSERT_TRUE(WaitFor([&] {
    Reply l = server.Call("GET", "/v1/webhooks/w/deliveries", key);
    if (l.body["items"].empty()) return false;
    item = l.body["items"][0];
    return item["status"] == "failed";
  }));
  EXPECT_EQ(item["attempts"], 2);
  EXPECT_EQ(item["last_status"], 500);
  EXPECT_EQ(receiver.attempts().size(), 2u);
  EXPECT_EQ(receiver.attempts()[0].body["data"]["owner"], "a");  // notify goes to the new owner

  Reply retry = server.Call("POST", "/v1/webhooks/w/deliveries/" + item["id"].get<std::string>() + "/retry", key);
  EXPECT_EQ(retry.status, 202) << retry.raw;
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() == 3; }));
  ASSERT_TRUE(WaitFor([&] {
    return server.Call("GET", "/v1/webhooks/w/deliveries", key).body["items"][0]["status"] == "delivered";
  }));
  EXPECT_EQ(server.Call("POST", "/v1/webhooks/w/deliveries/dlv_nope/retry", key).status, 404);
}

// Zendesk Sell's "assign to pool": the pool's next member is told (owner.notified), though
// a pool has no rule and so no actions of its own.
TEST(Webhooks, AnAssignmentToAPoolNotifiesTheMemberItGaveTheRecordTo) {
  Receiver receiver("k");
  RotaServer server;
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  ASSERT_EQ(server.Call("POST", "/v1/webhooks", key, {{"url", receiver.url()}, {"events", {"owner.notified"}}, {"secret", "k"}})
                .status,
            201);
  Json body = {{"object_type", "lead"}, {"event", "assign_requested"}, {"target", {{"pool", "p"}}},
               {"record", {{"id", "L-9"}}}};
  Reply d = server.Call("POST", "/v1/assign", key, body);
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["owner"], "a");
  EXPECT_EQ(d.body["actions"]["notify"], true) << d.raw;
  ASSERT_TRUE(WaitFor([&] { return !receiver.attempts().empty(); })) << server.Output();
  EXPECT_EQ(receiver.attempts()[0].body["data"]["owner"], "a");
  EXPECT_EQ(receiver.attempts()[0].body["data"]["message"], "New lead L-9 assigned to you");
  EXPECT_TRUE(receiver.attempts()[0].body["data"]["rule"].is_null());
}

// Livespace's notification text: the rule's notify_message goes with owner.notified and in
// the decision's actions; without one, a sentence naming the record.
TEST(Webhooks, OwnerNotifiedCarriesTheRulesText) {
  Receiver receiver("k");
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = PoolConfig();
  config["rules"][0]["actions"]["notify_message"] = "Masz nowego leada!";
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  EXPECT_EQ(server.Call("GET", "/v1/rules/r", key).body["actions"]["notify_message"], "Masz nowego leada!");
  ASSERT_EQ(server.Call("POST", "/v1/webhooks", key, {{"url", receiver.url()}, {"events", {"owner.notified"}}, {"secret", "k"}})
                .status,
            201);
  Reply d = server.Call("POST", "/v1/assign", key, Lead("L-1"));
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["actions"]["notify"], true);
  EXPECT_EQ(d.body["actions"]["notify_message"], "Masz nowego leada!");
  config["rules"][0]["actions"].erase("notify_message");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  ASSERT_EQ(server.Call("POST", "/v1/assign", key, Lead("L-2")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() >= 2; })) << server.Output();
  std::map<std::string, std::string> messages;
  for (const auto& g : receiver.attempts()) {
    messages[g.body["data"]["record"]["id"]] = g.body["data"]["message"];
  }
  EXPECT_EQ(messages["L-1"], "Masz nowego leada!");
  EXPECT_EQ(messages["L-2"], "New lead L-2 assigned to you");

  // A text without notify is refused, and nothing changes.
  config["rules"][0]["actions"] = {{"notify", false}, {"notify_message", "hello"}};
  Reply bad = server.Call("PUT", "/v1/config", key, config);
  EXPECT_EQ(bad.status, 422) << bad.raw;
  EXPECT_EQ(server.Call("GET", "/v1/rules/r", key).body["actions"]["notify"], true);
}

// A workspace has at most 50 webhooks (each decision writes a delivery to each of its
// event's in its commit); a deleted one makes room.
TEST(Webhooks, AWorkspaceHasAtMostFifty) {
  RotaServer server;
  const std::string key = server.admin_key();
  const Json hook = {{"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}};
  for (int i = 0; i < 50; ++i) ASSERT_EQ(server.Call("POST", "/v1/webhooks", key, hook).status, 201) << i;
  Reply over = server.Call("POST", "/v1/webhooks", key, hook);
  EXPECT_EQ(over.status, 422) << over.raw;
  EXPECT_NE(over.raw.find("at most 50 webhooks"), std::string::npos) << over.raw;
  Reply list = server.Call("GET", "/v1/webhooks?limit=1", key);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(server.Call("DELETE", "/v1/webhooks/" + list.body["items"][0]["id"].get<std::string>(), key).status, 204);
  EXPECT_EQ(server.Call("POST", "/v1/webhooks", key, hook).status, 201);
}

TEST(Webhooks, ValidationAndLifecycle) {
  RotaServer server;
  const std::string key = server.admin_key();
  EXPECT_EQ(server.Call("POST", "/v1/webhooks", key, {{"url", "ftp://x"}, {"events", {"decision.assigned"}}}).status, 422);
  EXPECT_EQ(server.Call("POST", "/v1/webhooks", key, {{"url", "http://127.0.0.1:1/x"}, {"events", {"nope"}}}).status,
            422);
  // An id is not blank, and fits a list's cursor (at most 255 characters).
  for (const std::string& bad : {std::string("   "), std::string(256, 'w')}) {
    Reply r = server.Call("POST", "/v1/webhooks", key, {{"id", bad}, {"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}});
    EXPECT_EQ(r.status, 422) << r.raw;
  }
  // A secret or URL with a control character (NUL would be cut on PostgreSQL) is refused.
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"secret", std::string("top\0secret", 10)}, {"secret", "two\nlines"}, {"url", "http://127.0.0.1:1/x\ty"}}) {
    Json body = {{"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}};
    body[field] = value;
    Reply r = server.Call("POST", "/v1/webhooks", key, body);
    EXPECT_EQ(r.status, 422) << field << ": " << r.raw;
  }
  EXPECT_TRUE(server.Call("GET", "/v1/webhooks", key).body["items"].empty());
  Reply made = server.Call("POST", "/v1/webhooks", key, {{"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}});
  ASSERT_EQ(made.status, 201);
  EXPECT_TRUE(made.body["secret"].is_string());  // generated and shown once
  std::string id = made.body["id"];
  Reply got = server.Call("GET", "/v1/webhooks/" + id, key);
  EXPECT_EQ(got.status, 200);
  EXPECT_FALSE(got.body.contains("secret"));
  EXPECT_EQ(server.Call("POST", "/v1/webhooks", key, {{"id", id}, {"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}}).status,
            409);
  EXPECT_EQ(server.Call("DELETE", "/v1/webhooks/" + id, key).status, 204);
  EXPECT_EQ(server.Call("GET", "/v1/webhooks/" + id, key).status, 404);
  EXPECT_EQ(server.Call("DELETE", "/v1/webhooks/" + id, key).status, 404);
}

// Webhooks and connectors are lists like the others: by id, in pages of `limit`, with a
// cursor that a walk follows (API.md's conventions).
TEST(Webhooks, WebhooksAndConnectorsAreListedInPages) {
  RotaServer server("", {{"ROTA_SECRET_KEY", "paging-test-secret-key-0123456"}});
  const std::string key = server.admin_key();
  for (const char* id : {"w-c", "w-a", "w-b"}) {
    ASSERT_EQ(server.Call("POST", "/v1/webhooks", key,
                          {{"id", id}, {"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}}).status,
              201);
    const std::string connector = std::string("c") + id;
    Reply made = server.Call("POST", "/v1/connectors", key,
                             {{"id", connector}, {"kind", "generic"}, {"write_back", false}, {"credentials", {{"secret", "x"}}}});
    ASSERT_EQ(made.status, 201) << made.raw;
  }
  for (const std::string list : {"/v1/webhooks", "/v1/connectors"}) {
    const std::string prefix = list == "/v1/webhooks" ? "" : "c";
    Reply first = server.Call("GET", list + "?limit=2", key);
    ASSERT_EQ(first.status, 200) << first.raw;
    ASSERT_EQ(first.body["items"].size(), 2u) << first.raw;
    EXPECT_EQ(first.body["items"][0]["id"], prefix + "w-a");
    EXPECT_EQ(first.body["items"][1]["id"], prefix + "w-b");
    ASSERT_TRUE(first.body["next_cursor"].is_string()) << first.raw;
    Reply second = server.Call("GET", list + "?limit=2&cursor=" + first.body["next_cursor"].get<std::string>(), key);
    ASSERT_EQ(second.status, 200) << second.raw;
    ASSERT_EQ(second.body["items"].size(), 1u) << second.raw;
    EXPECT_EQ(second.body["items"][0]["id"], prefix + "w-c");
    EXPECT_TRUE(second.body["next_cursor"].is_null());
    EXPECT_EQ(server.Call("GET", list, key).body["items"].size(), 3u);
    EXPECT_EQ(server.Call("GET", list + "?limit=0", key).status, 422);
    EXPECT_EQ(server.Call("GET", list + "?cursor=zzz", key).status, 422);
  }
}

// A timed-out attempt waits its backoff from the timeout, not from when it started (a
// backoff shorter than the timeout used to send the retry at once).
TEST(Webhooks, ATimedOutAttemptWaitsItsBackoffAfterTheTimeout) {
  Receiver receiver("s3cret", /*fail_first=*/0, /*port=*/0, /*slow_first_ms=*/2500);
  RotaServer server("", {}, {"--webhook-backoff-ms", "600", "--webhook-timeout-ms", "1000"});
  const std::string key = server.admin_key();
  ASSERT_EQ(PoolAndHook(server, key, receiver.url(), "s3cret"), 201);
  ASSERT_EQ(server.Call("POST", "/v1/assign", key, Lead("L-1")).status, 200);
  // The first attempt's handler still sleeps when the second one arrives: both are seen.
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() >= 2; })) << server.Output();
  auto got = receiver.attempts();
  ASSERT_GE(got.size(), 2u);
  // The second attempt (recorded first: the first one's handler is still asleep) came at
  // least the timeout (1 s) and the backoff's least (480 ms) after the first.
  auto first = std::min(got[0].at, got[1].at), second = std::max(got[0].at, got[1].at);
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(second - first).count(), 1400);
  EXPECT_EQ(got[0].delivery, got[1].delivery);
}

// A receiver that is down in the worst way (it takes connections and never answers: each
// attempt waits the whole timeout) holds up only its own lane: another webhook's events go
// out at once, and the silent one's are still tried.
TEST(Webhooks, AReceiverThatNeverAnswersHoldsUpNoOtherReceiver) {
  const int silent = socket(AF_INET, SOCK_STREAM, 0);  // listens, never accepts
  ASSERT_GE(silent, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(silent, 64), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string silent_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/hook";

  Receiver good("k");
  RotaServer server("", {}, {"--webhook-timeout-ms", "3000", "--webhook-backoff-ms", "60000"});
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  // "a-silent" is listed first, so each decision's row for it is older than the good one's.
  for (const auto& [id, url] : {std::pair<std::string, std::string>{"a-silent", silent_url}, {"good", good.url()}}) {
    ASSERT_EQ(server.Call("POST", "/v1/webhooks", key,
                          {{"id", id}, {"url", url}, {"events", {"decision.assigned"}}, {"secret", "k"}})
                  .status,
              201);
  }
  Json items = Json::array();
  for (int i = 0; i < 6; ++i) items.push_back(Lead("L-" + std::to_string(i)));
  const auto decided = std::chrono::steady_clock::now();
  ASSERT_EQ(server.Call("POST", "/v1/assign/batch", key, {{"items", items}}).status, 200);
  // With one sender, the first silent attempt alone took 3 s before any good one went out.
  ASSERT_TRUE(WaitFor([&] { return good.attempts().size() >= 6; })) << server.Output();
  const auto last = good.attempts().back().at;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(last - decided).count(), 2000);
  // The silent receiver is tried too: its first attempt ends in a timeout, and then its
  // other rows wait for that attempt's backoff (60 s) untried, not a timeout each in turn.
  auto tried = [&] {
    int n = 0;
    const Reply list = server.Call("GET", "/v1/webhooks/a-silent/deliveries", key);
    for (const Json& d : list.body["items"]) n += d["attempts"].get<int>();
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return tried() >= 1; })) << server.Output();
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // a timeout and more
  EXPECT_EQ(tried(), 1) << server.Call("GET", "/v1/webhooks/a-silent/deliveries", key).raw;
  close(silent);
}

// A receiver that asks for a pause (429 with Retry-After: 3) gets nothing until then: neither
// that delivery again (the backoff would be 50 ms) nor the others, made with it; then all of
// them, oldest first.
TEST(Webhooks, AReceiverThatAsksForAPauseGetsNothingUntilItsRetryAfter) {
  Receiver receiver("k", /*fail_first=*/1);
  receiver.FailWith(429, "3");
  RotaServer server("", {}, {"--webhook-backoff-ms", "50"});
  const std::string key = server.admin_key();
  ASSERT_EQ(PoolAndHook(server, key, receiver.url(), "k"), 201);
  Json items = Json::array();
  for (int i = 0; i < 4; ++i) items.push_back(Lead("L-" + std::to_string(i)));
  ASSERT_EQ(server.Call("POST", "/v1/assign/batch", key, {{"items", items}}).status, 200);
  ASSERT_TRUE(WaitFor([&] { return !receiver.attempts().empty(); })) << server.Output();
  std::this_thread::sleep_until(receiver.attempts()[0].at + std::chrono::milliseconds(2000));
  EXPECT_EQ(receiver.attempts().size(), 1u);
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() >= 5; })) << server.Output();
  auto got = receiver.attempts();
  EXPECT_EQ(got[1].delivery, got[0].delivery);  // the paused one first
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(got[1].at - got[0].at).count(), 2900);
  std::set<std::string> delivered;
  for (size_t i = 1; i < got.size(); ++i) delivered.insert(got[i].delivery);
  EXPECT_EQ(delivered.size(), 4u);
  EXPECT_EQ(got.size(), 5u);
  Reply list = server.Call("GET", "/v1/webhooks/crm/deliveries", key);
  for (const Json& d : list.body["items"]) EXPECT_EQ(d["status"], "delivered") << d;
}

TEST(Webhooks, KillBetweenDecisionAndDeliveryStillDeliversAfterRestart) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  const int port = UnusedPort();  // nobody listens there until the receiver starts
  // A short lease, so that a delivery claimed when the kill landed is not held 15 s.
  const std::vector<std::string> args = {"--webhook-backoff-ms", "50", "--webhook-timeout-ms", "1000",
                                         "--webhook-lease-ms", "2000"};
  std::string key, decision;
  {
    RotaServer server(db, {}, args);
    key = server.admin_key();
    ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
    ASSERT_EQ(server.Call("POST", "/v1/webhooks", key,
                          {{"id", "w"}, {"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"},
                           {"events", {"decision.assigned"}}, {"secret", "k"}})
                  .status,
              201);
    Reply d = server.Call("POST", "/v1/assign", key, Lead("L-1"));
    ASSERT_EQ(d.status, 200);
    decision = d.body["decision_id"];
    server.Stop(SIGKILL);
  }
  Receiver receiver("k", 0, port);
  ASSERT_EQ(receiver.port(), port);
  RotaServer again(db, {}, args);
  // Killed right after the decision: at most an attempt or two failed, the delivery is
  // still pending in the outbox and goes out once the receiver listens (after the lease,
  // 2 s, when the kill landed during an attempt).
  ASSERT_TRUE(WaitFor([&] { return !receiver.attempts().empty(); }, 30000));
  EXPECT_EQ(receiver.attempts()[0].body["data"]["decision_id"], decision);
  EXPECT_TRUE(receiver.attempts()[0].signature_ok);
}

TEST(AfterDecision, RelatedOwnersAddVersusReplaceOnACompanyWithOwners) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = Json::parse(R"({
    "users": [{"id": "a"}, {"id": "b"}, {"id": "old"}],
    "rules": [
      {"id": "add", "object_type": "deal", "events": ["created"], "conditions": {"all": [{"field": "mode", "op": "eq", "value": "add"}]},
       "assign": {"type": "user", "user": "a"},
       "actions": {"apply_to_related": ["company", "person"], "related_mode": "add", "tag": "rota", "note": "Assigned by rota"}},
      {"id": "replace", "object_type": "deal", "events": ["created"], "conditions": {"all": [{"field": "mode", "op": "eq", "value": "replace"}]},
       "assign": {"type": "user", "user": "b"}, "actions": {"apply_to_related": ["company"], "related_mode": "replace"}}
    ],
    "records": [{"object_type": "company", "id": "C-1", "owners": ["old"]}, {"object_type": "company", "id": "C-2", "owners": ["old"]}]
  })");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  Reply add = server.Call("POST", "/v1/assign", key,
                          {{"object_type", "deal"}, {"event", "created"},
                           {"record", {{"id", "D-1"}, {"properties", {{"mode", "add"}}}, {"links", {{"company", "C-1"}, {"person", "P-1"}}}}}});
  ASSERT_EQ(add.status, 200);
  EXPECT_EQ(add.body["related"][0]["owners"], Json({"old", "a"}));
  EXPECT_EQ(add.body["related"][1], Json({{"object_type", "contact"}, {"id", "P-1"}, {"owners", {"a"}}}));
  EXPECT_EQ(server.Call("GET", "/v1/records/company/C-1", key).body["owners"], Json({"old", "a"}));
  EXPECT_EQ(server.Call("GET", "/v1/records/contact/P-1", key).body["owners"], Json({"a"}));
  Reply deal = server.Call("GET", "/v1/records/deal/D-1", key);
  EXPECT_EQ(deal.body["tags"], Json({"rota"}));
  ASSERT_GE(deal.body["activity"].size(), 2u);
  EXPECT_EQ(deal.body["activity"][0]["kind"], "note");
  EXPECT_EQ(deal.body["activity"][0]["text"], "Assigned by rota");
  EXPECT_EQ(deal.body["activity"][1]["kind"], "assignment");

  Reply replace = server.Call("POST", "/v1/assign", key,
                              {{"object_type", "deal"}, {"event", "created"},
                               {"record", {{"id", "D-2"}, {"properties", {{"mode", "replace"}}}, {"links", {{"company", "C-2"}}}}}});
  ASSERT_EQ(replace.status, 200);
  EXPECT_EQ(server.Call("GET", "/v1/records/company/C-2", key).body["owners"], Json({"b"}));
}

// record.updated goes out for a linked record whose owners the decision changed, not for
// one that had that owner already.
TEST(AfterDecision, RecordUpdatedOnlyForLinkedRecordsWhoseOwnersChanged) {
  Receiver receiver("k");
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = Json::parse(R"({
    "users": [{"id": "a"}, {"id": "old"}],
    "rules": [{"id": "add", "object_type": "deal", "events": ["created"],
               "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "user", "user": "a"},
               "actions": {"apply_to_related": ["company", "person"], "related_mode": "add"}}],
    "records": [{"object_type": "company", "id": "C-1", "owners": ["old", "a"]}]
  })");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  ASSERT_EQ(server.Call("POST", "/v1/webhooks", key,
                        {{"url", receiver.url()}, {"events", {"decision.assigned", "record.updated"}}, {"secret", "k"}})
                .status,
            201);
  Reply d = server.Call("POST", "/v1/assign", key,
                        {{"object_type", "deal"}, {"event", "created"},
                         {"record", {{"id", "D-1"}, {"links", {{"company", "C-1"}, {"person", "P-1"}}}}}});
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["related"].size(), 2u);  // both are returned, for the caller to apply
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts().size() >= 2; })) << server.Output();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::string> updated;
  for (const auto& g : receiver.attempts()) {
    if (g.event == "record.updated") updated.push_back(g.body["data"]["record"]["id"]);
  }
  EXPECT_EQ(updated, (std::vector<std::string>{"P-1"}));
  EXPECT_EQ(server.Call("GET", "/v1/records/company/C-1", key).body["owners"], Json({"old", "a"}));
}

TEST(Reports, TargetBesideActualAfter200DecisionsOnA343333Key) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = Json::parse(R"({
    "users": [{"id": "x"}, {"id": "y"}, {"id": "z"}],
    "distributions": [{"id": "d", "object_type": "deal", "property": "region",
      "keys": [{"value": "north", "owners": [{"user": "x", "percent": 34}, {"user": "y", "percent": 33}, {"user": "z", "percent": 33}]}]}],
    "rules": [{"id": "r", "object_type": "deal", "events": ["created"], "conditions": {"all": [{"field": "region", "op": "is_not_empty"}]},
               "assign": {"type": "distribution", "distribution": "d"}}]
  })");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  Json items = Json::array();
  for (int i = 0; i < 200; ++i) {
    items.push_back({{"object_type", "deal"}, {"event", "created"},
                     {"record", {{"id", "D-" + std::to_string(i)}, {"properties", {{"region", i % 2 ? "North" : " NORTH "}}}}}});
  }
  Reply batch = server.Call("POST", "/v1/assign/batch", key, {{"items", items}});
  ASSERT_EQ(batch.status, 200);
  Reply report = server.Call("GET", "/v1/reports/distribution?distribution=d&period=today", key);
  ASSERT_EQ(report.status, 200) << report.raw;
  std::map<std::string, Json> rows;
  for (const Json& r : report.body["rows"]) rows[r["owner"]] = r;
  EXPECT_EQ(rows["x"]["count"], 68);
  EXPECT_EQ(rows["y"]["count"], 66);
  EXPECT_EQ(rows["z"]["count"], 66);
  EXPECT_DOUBLE_EQ(rows["x"]["percent"].get<double>(), 34.0);
  EXPECT_DOUBLE_EQ(rows["x"]["target_percent"].get<double>(), 34.0);
  EXPECT_DOUBLE_EQ(rows["y"]["target_percent"].get<double>(), 33.0);
  // The same report as CSV: the owners' rows, then the value's.
  Reply csv = server.Call("GET", "/v1/reports/distribution?distribution=d&period=today", key, Json(),
                          {{"Accept", "text/csv"}});
  ASSERT_EQ(csv.status, 200) << csv.raw;
  EXPECT_EQ(csv.raw.rfind("value,owner,count,percent,target_percent\r\n", 0), 0u) << csv.raw;
  EXPECT_NE(csv.raw.find("\r\n,x,68,34.0,34.0\r\n"), std::string::npos) << csv.raw;
  EXPECT_NE(csv.raw.find("\r\nnorth,x,68,34.0,34.0\r\n"), std::string::npos) << csv.raw;
  EXPECT_EQ(std::count(csv.raw.begin(), csv.raw.end(), '\n'), 7) << csv.raw;  // header, 3 + 3 rows
  Reply summary = server.Call("GET", "/v1/reports/summary", key);
  EXPECT_EQ(summary.body["processed_this_month"], 200);
  EXPECT_EQ(summary.body["by_outcome_this_month"]["assigned"], 200);
  EXPECT_EQ(server.Call("GET", "/v1/reports/distribution?distribution=nope", key).status, 404);
  EXPECT_EQ(server.Call("GET", "/v1/reports/distribution?from=yesterday", key).status, 422);
}

// The summary's month is the workspace's: at UTC+14 (Kiritimati, no daylight saving) the
// month starts at 10:00 UTC the day before, and the console names the month by `month`.
TEST(Reports, TheSummarysMonthIsTheWorkspaces) {
  RotaServer server;
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/settings", key, {{"time_zone", "Pacific/Kiritimati"}}).status, 200);
  const std::time_t local = std::time(nullptr) + 14 * 3600;
  std::tm tm{};
  gmtime_r(&local, &tm);
  char month[16], start[32];
  std::strftime(month, sizeof month, "%Y-%m", &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  const std::time_t first = timegm(&tm) - 14 * 3600;  // the local 1st, 00:00, in UTC
  gmtime_r(&first, &tm);
  std::strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", &tm);
  Reply summary = server.Call("GET", "/v1/reports/summary", key);
  ASSERT_EQ(summary.status, 200) << summary.raw;
  EXPECT_EQ(summary.body["month"], month) << summary.raw;
  EXPECT_EQ(summary.body["month_start"], start) << summary.raw;
}

// A key changed in the period: the owner taken out of it keeps its row (target 0), so
// the value's rows add up to its count.
TEST(Reports, AnOwnerTakenOutOfAKeyKeepsItsRowInTheValue) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = Json::parse(R"({
    "users": [{"id": "x"}, {"id": "y"}],
    "distributions": [{"id": "d", "object_type": "deal", "property": "region",
      "keys": [{"value": "north", "owners": [{"user": "x", "percent": 50}, {"user": "y", "percent": 50}]}]}],
    "rules": [{"id": "r", "object_type": "deal", "events": ["created"], "conditions": {"all": [{"field": "region", "op": "is_not_empty"}]},
               "assign": {"type": "distribution", "distribution": "d"}}]
  })");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  auto deal = [&](int i) {
    Reply r = server.Call("POST", "/v1/assign", key,
                          {{"object_type", "deal"}, {"event", "created"},
                           {"record", {{"id", "D-" + std::to_string(i)}, {"properties", {{"region", "north"}}}}}});
    ASSERT_EQ(r.status, 200) << r.raw;
  };
  for (int i = 0; i < 4; ++i) deal(i);  // x, y, x, y
  ASSERT_EQ(server.Call("PUT", "/v1/distributions/d/keys/north", key, {{"owners", {{{"user", "x"}, {"percent", 100}}}}}).status,
            200);
  deal(4);
  Reply report = server.Call("GET", "/v1/reports/distribution?distribution=d&period=today", key);
  ASSERT_EQ(report.status, 200) << report.raw;
  const Json& north = report.body["by_value"][0];
  EXPECT_EQ(north["count"], 5);
  ASSERT_EQ(north["rows"].size(), 2u) << north;
  EXPECT_EQ(north["rows"][0], Json({{"owner", "x"}, {"count", 3}, {"percent", 60.0}, {"target_percent", 100.0}}));
  EXPECT_EQ(north["rows"][1], Json({{"owner", "y"}, {"count", 2}, {"percent", 40.0}, {"target_percent", 0.0}}));
}

// A report for one rule: a rule that assigns by a distribution has its targets, and the
// decisions that found nobody are counted beside the owners' rows.
TEST(Reports, ARulesReportHasItsDistributionsTargetsAndItsUnassigned) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = Json::parse(R"({
    "users": [{"id": "x"}, {"id": "y"}],
    "distributions": [{"id": "d", "object_type": "deal", "property": "region",
      "keys": [{"value": "north", "owners": [{"user": "x", "percent": 25}, {"user": "y", "percent": 75}]}]}],
    "rules": [{"id": "r", "object_type": "deal", "events": ["created"], "conditions": {"all": [{"field": "region", "op": "is_not_empty"}]},
               "assign": {"type": "distribution", "distribution": "d"}}]
  })");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  Json items = Json::array();
  for (int i = 0; i < 8; ++i) {
    items.push_back({{"object_type", "deal"}, {"event", "created"},
                     {"record", {{"id", "D-" + std::to_string(i)}, {"properties", {{"region", i < 6 ? "north" : "south"}}}}}});
  }
  ASSERT_EQ(server.Call("POST", "/v1/assign/batch", key, {{"items", items}}).status, 200);
  Reply report = server.Call("GET", "/v1/reports/distribution?rule=r&period=today", key);
  ASSERT_EQ(report.status, 200) << report.raw;
  EXPECT_EQ(report.body["total"], 6);
  EXPECT_EQ(report.body["unassigned"], 2);  // "south" has no key and d no default owner
  std::map<std::string, Json> rows;
  for (const Json& r : report.body["rows"]) rows[r["owner"]] = r;
  ASSERT_EQ(rows.size(), 2u) << report.raw;
  EXPECT_DOUBLE_EQ(rows["y"]["target_percent"].get<double>(), 75.0);
  EXPECT_EQ(report.body["by_value"].size(), 1u);
  // A report of the whole workspace counts them too, and has no targets.
  report = server.Call("GET", "/v1/reports/distribution?period=today", key);
  EXPECT_EQ(report.body["unassigned"], 2);
  EXPECT_TRUE(report.body["rows"][0]["target_percent"].is_null()) << report.raw;
  EXPECT_FALSE(report.body.contains("by_value"));
}

TEST(AfterDecision, UnassignedQueueFillsAndEmpties) {
  RotaServer server;
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  Json task = {{"object_type", "task"}, {"event", "created"}, {"record", {{"id", "T-1"}}}};
  Reply d = server.Call("POST", "/v1/assign", key, task);
  ASSERT_EQ(d.body["reason"], "no_rule_matched");
  Reply q = server.Call("GET", "/v1/unassigned", key);
  ASSERT_EQ(q.body["items"].size(), 1u);
  EXPECT_EQ(q.body["items"][0]["record_id"], "T-1");
  EXPECT_EQ(q.body["items"][0]["reason"], "no_rule_matched");
  EXPECT_EQ(q.body["items"][0]["decision_id"], d.body["decision_id"]);
  ASSERT_EQ(server.Call("PUT", "/v1/records/task/T-1", key, {{"owners", {"a"}}}).status, 200);
  EXPECT_TRUE(server.Call("GET", "/v1/unassigned", key).body["items"].empty());
}

// Newest first, also for the decisions of one batch, made within the same millisecond.
TEST(AfterDecision, TheUnassignedQueueIsNewestFirstWithinABatch) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json items = Json::array();
  for (int i = 0; i < 40; ++i) {
    items.push_back({{"object_type", "company"}, {"event", "bulk"}, {"record", {{"id", "Q-" + std::to_string(100 + i)}}}});
  }
  Reply batch = server.Call("POST", "/v1/assign/batch", key, {{"items", items}});
  ASSERT_EQ(batch.status, 200) << batch.raw;
  ASSERT_EQ(batch.body["decisions"][39]["outcome"], "unassigned") << batch.raw;
  std::vector<std::string> got, history;
  Reply queue = server.Call("GET", "/v1/unassigned?limit=40", key);
  Reply decided = server.Call("GET", "/v1/history?limit=40", key);
  for (const Json& it : queue.body["items"]) got.push_back(it["record_id"]);
  for (const Json& it : decided.body["items"]) history.push_back(it["record_id"]);
  std::vector<std::string> expected;
  for (int i = 39; i >= 0; --i) expected.push_back("Q-" + std::to_string(100 + i));
  EXPECT_EQ(got, expected);
  EXPECT_EQ(history, expected);
}

// A draft's records are known to the simulation, as `rota simulate` knows its file's, and
// nothing is stored.
TEST(SimulateEndpoint, ADraftsRecordsAreKnown) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json draft = Json::parse(R"({
    "users": [{"id": "a"}, {"id": "b"}],
    "rules": [{"id": "co", "object_type": "deal", "events": ["created"],
               "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "related_owner", "relation": "company"}}],
    "records": [{"object_type": "company", "id": "CO-1", "owners": ["b"]}]
  })");
  Json line = {{"object_type", "deal"}, {"event", "created"}, {"record", {{"id", "D-1"}, {"links", {{"company", "CO-1"}}}}}};
  Reply sim = server.Call("POST", "/v1/simulate", key, {{"config", draft}, {"records", {line}}});
  ASSERT_EQ(sim.status, 200) << sim.raw;
  EXPECT_EQ(sim.body["decisions"][0]["owner"], "b") << sim.raw;
  EXPECT_EQ(server.Call("GET", "/v1/records/company/CO-1", key).status, 404);
}

// A draft is simulated as applying it would leave the rotation: a changed key starts
// afresh (SPEC §5.2), a reordered pool goes on after the member served last (§5.1).
TEST(SimulateEndpoint, ADraftStartsFromTheStateApplyingItWouldLeave) {
  RotaServer server;
  const std::string key = server.admin_key();
  Json config = Json::parse(R"({
    "users": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
    "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b", "c"]}],
    "distributions": [{"id": "d", "object_type": "task", "property": "zone",
                       "keys": [{"value": "Z", "owners": [{"user": "a", "percent": 50}, {"user": "b", "percent": 30},
                                                          {"user": "c", "percent": 20}]}]}],
    "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
               "conditions": {"all": [{"field": "source", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "p"}},
              {"id": "t", "object_type": "task", "events": ["created"],
               "conditions": {"all": [{"field": "zone", "op": "is_not_empty"}]},
               "assign": {"type": "distribution", "distribution": "d"}}]
  })");
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  auto task = [](const std::string& id) {
    return Json{{"object_type", "task"}, {"event", "created"}, {"record", {{"id", id}, {"properties", {{"zone", "Z"}}}}}};
  };
  ASSERT_EQ(server.Call("POST", "/v1/assign", key, task("T-0")).body["owner"], "a");
  ASSERT_EQ(server.Call("POST", "/v1/assign", key, Lead("L-0")).body["owner"], "a");

  Json draft = config;
  draft["distributions"][0]["keys"][0]["owners"] = Json::parse(R"([{"user": "a", "percent": 50}, {"user": "b", "percent": 50}])");
  draft["pools"][0]["members"] = {"a", "c", "b"};
  Json records = Json::array({task("T-1"), task("T-2"), task("T-3"), task("T-4"), Lead("L-1"), Lead("L-2")});
  Reply sim = server.Call("POST", "/v1/simulate", key, {{"config", draft}, {"records", records}});
  ASSERT_EQ(sim.status, 200) << sim.raw;
  std::vector<std::string> simulated;
  for (const Json& d : sim.body["decisions"]) simulated.push_back(d["owner"]);
  EXPECT_EQ(simulated, (std::vector<std::string>{"a", "b", "a", "b", "c", "b"}));

  // Applying the draft and deciding for real gives the same owners.
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, draft).status, 200);
  std::vector<std::string> real;
  for (const Json& r : records) real.push_back(server.Call("POST", "/v1/assign", key, r).body["owner"]);
  EXPECT_EQ(real, simulated);
}

// The member a pool served last, removed and added back in a draft, waits its turn in the
// simulation as it would once the draft is applied (SPEC §5.1).
TEST(SimulateEndpoint, ADraftRejoiningTheMemberServedLastServesTheOthersFirst) {
  RotaServer server;
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);  // pool a, b, c
  for (const char* id : {"L-1", "L-2", "L-3"}) server.Call("POST", "/v1/assign", key, Lead(id));
  ASSERT_EQ(server.Call("DELETE", "/v1/pools/p/members/c", key).status, 200);
  Json draft = server.Call("GET", "/v1/config", key).body;
  draft["pools"][0]["members"].push_back("c");
  Json records = Json::array({Lead("L-4"), Lead("L-5"), Lead("L-6")});
  Reply sim = server.Call("POST", "/v1/simulate", key, {{"config", draft}, {"records", records}});
  ASSERT_EQ(sim.status, 200) << sim.raw;
  std::vector<std::string> simulated;
  for (const Json& d : sim.body["decisions"]) simulated.push_back(d["owner"]);
  EXPECT_EQ(simulated, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, draft).status, 200);
  std::vector<std::string> real;
  for (const Json& r : records) real.push_back(server.Call("POST", "/v1/assign", key, r).body["owner"]);
  EXPECT_EQ(real, simulated);
}

}  // namespace
}  // namespace rota::testing

namespace rota::testing {
namespace {

TEST(SimulateEndpoint, RunsFromCurrentStateWithCurrentOrDraftRulesAndStoresNothing) {
  RotaServer server;
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  ASSERT_EQ(server.Call("POST", "/v1/assign", key, Lead("L-0")).body["owner"], "a");
  Json records = Json::array({Lead("S-1"), Lead("S-2"), Lead("S-3")});
  Reply sim = server.Call("POST", "/v1/simulate", key, {{"records", records}});
  ASSERT_EQ(sim.status, 200) << sim.raw;
  EXPECT_EQ(sim.body["decisions"][0]["owner"], "b");  // continues from the stored pointer
  EXPECT_EQ(sim.body["decisions"][1]["owner"], "c");
  EXPECT_EQ(sim.body["decisions"][2]["owner"], "a");
  EXPECT_EQ(sim.body["summary"]["total"], 3);
  // A draft that sends every lead to c.
  Json draft = PoolConfig();
  draft["rules"][0]["assign"] = {{"type", "user"}, {"user", "c"}};
  Reply d = server.Call("POST", "/v1/simulate", key, {{"config", draft}, {"records", records}});
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["summary"]["owners"][0], Json({{"owner", "c"}, {"count", 3}, {"percent", 100.0}}));
  // Nothing stored, nothing advanced.
  EXPECT_EQ(server.Call("GET", "/v1/pools/p", key).body["next"], "b");
  EXPECT_EQ(server.Call("GET", "/v1/history", key).body["items"].size(), 1u);
  Json bad = PoolConfig();
  bad["rules"][0]["conditions"]["all"][0]["op"] = "equals";
  Reply invalid = server.Call("POST", "/v1/simulate", key, {{"config", bad}, {"records", records}});
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(invalid.body["error"]["details"][0]["path"], "config.rules[0].conditions.all[0].op");
  EXPECT_EQ(server.Call("POST", "/v1/simulate", key, {{"records", {{{"event", "nope"}}}}}).status, 422);
  // A draft that applying would refuse is refused here too: a reversed between.
  Json reversed = PoolConfig();
  reversed["rules"][0]["conditions"]["all"] = {{{"field", "score"}, {"op", "between"}, {"value", {10, 1}}}};
  Reply refused = server.Call("POST", "/v1/simulate", key, {{"config", reversed}, {"records", records}});
  EXPECT_EQ(refused.status, 422) << refused.raw;
  EXPECT_EQ(refused.body["error"]["details"][0]["path"], "config.rules[0].conditions.all[0].value") << refused.raw;
  EXPECT_EQ(server.Call("PUT", "/v1/config", key, reversed).status, 422);
}

// dry_run and idempotency_key mean in a simulation what they mean to POST /v1/assign.
TEST(SimulateEndpoint, DryRunsKeepNothingAndARetriedKeyGetsTheSameDecision) {
  RotaServer server;
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);
  Json dry = Lead("S-1");
  dry["dry_run"] = true;
  Json keyed = Lead("S-2");
  keyed["idempotency_key"] = "k";
  Json other = Lead("S-3");
  other["idempotency_key"] = "k";
  Reply sim = server.Call("POST", "/v1/simulate", key, {{"records", {dry, keyed, keyed, other, Lead("S-4")}}});
  ASSERT_EQ(sim.status, 200) << sim.raw;
  const Json& d = sim.body["decisions"];
  EXPECT_EQ(d[0]["owner"], "a");
  EXPECT_EQ(d[0]["dry_run"], true);
  EXPECT_EQ(d[1]["owner"], "a");  // the dry run kept nothing
  EXPECT_EQ(d[2]["owner"], "a");
  EXPECT_EQ(d[2]["replayed"], true);
  EXPECT_EQ(d[3]["error"]["code"], "idempotency_conflict") << d[3];
  EXPECT_EQ(d[4]["owner"], "b");
  EXPECT_EQ(sim.body["summary"]["total"], 2);
}

}  // namespace
}  // namespace rota::testing
