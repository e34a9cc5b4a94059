// CRM connectors (issue 9) through the real server: HubSpot, Pipedrive and generic
// calls in, signatures good, bad and stale, every object type, write-backs to a local
// CRM stand-in (429 then 200; down for a while, then back, nothing lost), the loop
// guard, user sync with paging, and credentials never answered nor stored in clear.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace rota::testing {
namespace {

const std::string kSecretKey = "connector-test-secret-key-0123";

Json Fixture(const std::string& name) {
  std::ifstream in(std::string(ROTA_FIXTURES) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Hmac(const std::string& key, const std::string& text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string Hex(const std::string& bytes) {
  std::string hex;
  for (unsigned char c : bytes) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  return hex;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A stand-in for the CRMs' APIs on loopback: the few endpoints rota calls, recording
// every request, answering from the fixtures, and failing on purpose when told to.
class FakeCrm {
 public:
  struct Got {
    std::string method, path, auth, token, signature;
    Json body;
    int64_t at_ms = 0;
    int answered = 0;
    std::string delivery;  // Rota-Delivery
  };

  explicit FakeCrm(int port = 0) {
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      Got g{req.method, req.path, req.get_header_value("Authorization"), req.get_header_value("x-api-token"),
            req.get_header_value("Rota-Signature"), Json::parse(req.body, nullptr, false), NowMs(), 200,
            req.get_header_value("Rota-Delivery")};
      if (!fail_with_.empty()) {
        auto [status, retry_after] = fail_with_.front();
        fail_with_.erase(fail_with_.begin());
        g.answered = status;
        res.status = status;
        if (!retry_after.empty()) res.set_header("Retry-After", retry_after);
        res.set_content(R"({"status":"error","message":"slow down"})", "application/json");
      } else {
        res.set_content(R"({"success":true})", "application/json");
      }
      got_.push_back(std::move(g));
    };
    server_.Patch(R"(/crm/v3/objects/([a-z]+)/([^/]+))", record);
    server_.Patch(R"(/api/v2/([a-z]+)/([^/]+))", record);
    server_.Patch(R"(/api/v1/leads/([^/]+))", record);
    server_.Post("/hooks/rota", record);
    server_.Get("/crm/v3/owners", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        got_.push_back({"GET", req.path + "?" + req.get_param_value("after"), req.get_header_value("Authorization"), "", "", nullptr});
      }
      std::string file = req.get_param_value("archived") == "true" ? "hubspot/owners_archived.json"
                         : req.get_param_value("after") == "2"    ? "hubspot/owners_page2.json"
                                                                  : "hubspot/owners_page1.json";
      res.set_content(Fixture(file).dump(), "application/json");
    });
    server_.Get("/api/v1/users", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        got_.push_back({"GET", req.path, "", req.get_header_value("x-api-token"), "", nullptr});
      }
      std::string file = req.get_param_value("start") == "2" ? "pipedrive/users_page2.json" : "pipedrive/users_page1.json";
      res.set_content(Fixture(file).dump(), "application/json");
    });
    port_ = port == 0 ? server_.bind_to_any_port("127.0.0.1") : (server_.bind_to_port("127.0.0.1", port) ? port : -1);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Stopping a server that has not started listening yet would hang its thread.
    WaitFor([this] { return port_ < 0 || server_.is_running(); }, 5000);
  }
  ~FakeCrm() {
    server_.stop();
    thread_.join();
  }
  void FailNext(int status, const std::string& retry_after = "") {
    std::lock_guard<std::mutex> lock(mu_);
    fail_with_.push_back({status, retry_after});
  }
  std::vector<Got> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  std::vector<Got> Writes() {
    std::vector<Got> out;
    for (const Got& g : got()) {
      if (g.method != "GET") out.push_back(g);
    }
    return out;
  }
  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Got> got_;
  std::vector<std::pair<int, std::string>> fail_with_;
};

// Pipedrive users 7 and 12 take deals in turn; any deal whose stage changed is
// decided again. (`id` empty or not: a condition that always holds.)
Json DealConfig() {
  return Json::parse(R"({
    "users": [{"id": "7"}, {"id": "12"}, {"id": "ada"}],
    "pools": [{"id": "p", "object_type": "deal", "members": ["7", "12"]},
              {"id": "c", "object_type": "contact", "members": ["7"]},
              {"id": "co", "object_type": "company", "members": ["12"]},
              {"id": "north", "object_type": "company", "members": ["ada"]},
              {"id": "l", "object_type": "lead", "members": ["7"]},
              {"id": "t", "object_type": "task", "members": ["12"]}],
    "rules": [{"id": "new-deals", "object_type": "deal", "events": ["created"],
               "conditions": {"any": [{"field": "id", "op": "is_empty"}, {"field": "id", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "p"}},
              {"id": "stage", "object_type": "deal", "events": ["updated"],
               "conditions": {"all": [{"field": "stage_id", "op": "changed"}]}, "assign": {"type": "pool", "pool": "p"}},
              {"id": "contacts", "object_type": "contact", "events": ["created"],
               "conditions": {"any": [{"field": "id", "op": "is_empty"}, {"field": "id", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "c"}},
              {"id": "companies", "object_type": "company", "events": ["created"],
               "conditions": {"any": [{"field": "id", "op": "is_empty"}, {"field": "id", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "co"}},
              {"id": "leads", "object_type": "lead", "events": ["created"],
               "conditions": {"any": [{"field": "id", "op": "is_empty"}, {"field": "id", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "l"}},
              {"id": "tasks", "object_type": "task", "events": ["created"],
               "conditions": {"any": [{"field": "id", "op": "is_empty"}, {"field": "id", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "t"}}]
  })");
}

struct Fixture_ : ::testing::Test {
  std::unique_ptr<RotaServer> server;
  std::string key;
  void Start(std::map<std::string, std::string> env = {{"ROTA_SECRET_KEY", kSecretKey}},
             const std::string& backoff_ms = "100") {
    server = std::make_unique<RotaServer>(
        "", env, std::vector<std::string>{"--webhook-backoff-ms", backoff_ms, "--webhook-max-attempts", "30"});
    key = server->admin_key();
    Reply r = server->Call("PUT", "/v1/config", key, DealConfig());
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  Reply Connector(const Json& body) { return server->Call("POST", "/v1/connectors", key, body); }
  // The Pipedrive connector "pd" most cases use, its write-backs sent to `api_base`.
  Reply PipedriveConnector(const std::string& api_base) {
    return Connector({{"id", "pd"}, {"kind", "pipedrive"}, {"api_base", api_base},
                      {"credentials", {{"webhook_user", "hook"}, {"webhook_password", "s3cret"}, {"api_token", "tok"}}}});
  }
  Reply Pipedrive(const Json& body, const std::string& user = "hook", const std::string& password = "s3cret",
                  const std::string& workspace = "default") {
    auto cli = server->Client();
    cli->set_basic_auth(user, password);
    auto res = cli->Post("/v1/connectors/pd/pipedrive/webhook?workspace=" + workspace, body.dump(), "application/json");
    Reply r;
    if (res) {
      r.status = res->status;
      r.raw = res->body;
      r.body = Json::parse(res->body, nullptr, false);
    }
    return r;
  }
  Reply HubSpot(const Json& body, const std::string& secret = "app-secret", int64_t ts = NowMs(),
                const std::string& query = "") {
    const std::string target = "/v1/connectors/hs/hubspot/workflow?workspace=default" + query;
    const std::string raw = body.dump();
    const std::string uri = "http://127.0.0.1:" + std::to_string(server->port()) + target;
    const std::string stamp = std::to_string(ts);
    return server->Call("POST", target, "", body,
                        {{"X-HubSpot-Signature-v3", Base64(Hmac(secret, "POST" + uri + raw + stamp))},
                         {"X-HubSpot-Request-Timestamp", stamp}});
  }
  Json History() { return server->Call("GET", "/v1/history", key).body["items"]; }
};

using Connectors = Fixture_;

TEST_F(Connectors, CredentialsAreSealedNeverAnsweredAndNeedTheServerKey) {
  {
    RotaServer plain;
    Reply r = plain.Call("POST", "/v1/connectors", plain.admin_key(),
                         {{"id", "g"}, {"kind", "generic"}, {"write_back", false}, {"credentials", {{"secret", "x"}}}});
    EXPECT_EQ(r.status, 503) << r.raw;
    EXPECT_EQ(r.body["error"]["code"], "secret_key_missing");
  }
  Start();
  FakeCrm crm;
  Reply c = Connector({{"id", "pd"}, {"kind", "pipedrive"}, {"api_base", crm.base()},
                       {"credentials", {{"webhook_user", "hook"}, {"webhook_password", "s3cret"}, {"api_token", "tok-very-secret"}}}});
  ASSERT_EQ(c.status, 201) << c.raw;
  EXPECT_EQ(c.body["credentials_set"], Json::array({"api_token", "webhook_password", "webhook_user"}));
  EXPECT_EQ(c.body["inbound_url"], "/v1/connectors/pd/pipedrive/webhook?workspace=default");
  for (const Reply& r : {c, server->Call("GET", "/v1/connectors/pd", key), server->Call("GET", "/v1/connectors", key)}) {
    EXPECT_EQ(r.raw.find("tok-very-secret"), std::string::npos);
    EXPECT_EQ(r.raw.find("s3cret"), std::string::npos);
  }
  // Not in the database file in clear either.
  std::ifstream db(server->db(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  std::ifstream wal(server->db() + "-wal", std::ios::binary);
  bytes += std::string((std::istreambuf_iterator<char>(wal)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("tok-very-secret"), std::string::npos);

  // Bad input: every problem named, nothing stored; duplicates and unknown ids.
  Reply bad = Connector({{"kind", "hubspot"}, {"credentials", {{"api_token", "x"}}}, {"object_map", {{"deals", "deal"}, {"x", 1}}}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_GE(bad.body["error"]["details"].size(), 3u) << bad.raw;
  const Json taken = {{"id", "pd"}, {"kind", "generic"}, {"write_back", false}, {"credentials", {{"secret", "x"}}}};
  EXPECT_EQ(Connector(taken).status, 409);
  // A generic CRM has no user list to sync: a clear 422 (the console offers no button).
  ASSERT_EQ(Connector({{"id", "g"}, {"kind", "generic"}, {"write_back", false}, {"credentials", {{"secret", "x"}}}}).status, 201);
  Reply sync = server->Call("POST", "/v1/connectors/g/sync-users", key);
  EXPECT_EQ(sync.status, 422) << sync.raw;
  EXPECT_NE(sync.raw.find("no user list"), std::string::npos) << sync.raw;
  EXPECT_EQ(server->Call("DELETE", "/v1/connectors/g", key).status, 204);
  EXPECT_EQ(server->Call("GET", "/v1/connectors/nope", key).status, 404);
  EXPECT_EQ(server->Call("GET", "/v1/connectors", key).body["items"].size(), 1u);

  // PATCH replaces a credential and keeps the others; the kind does not change.
  Reply p = server->Call("PATCH", "/v1/connectors/pd", key, {{"credentials", {{"webhook_password", "n3w"}}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_create.json")).status, 401);
  EXPECT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_create.json"), "hook", "n3w").status, 200);
  EXPECT_EQ(server->Call("PATCH", "/v1/connectors/pd", key, {{"kind", "hubspot"}}).status, 422);

  // A member reads but does not change; an integration key does neither.
  Reply member = server->Call("POST", "/v1/keys", key, {{"role", "member"}});
  EXPECT_EQ(server->Call("GET", "/v1/connectors/pd", member.body["key"]).status, 200);
  EXPECT_EQ(server->Call("DELETE", "/v1/connectors/pd", member.body["key"]).status, 403);
  EXPECT_EQ(server->Call("DELETE", "/v1/connectors/pd", key).status, 204);
  EXPECT_EQ(server->Call("GET", "/v1/connectors/pd", key).status, 404);
}

TEST_F(Connectors, PipedriveEveryEntityWritesBackAndTheLoopGuardHolds) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  // Signature-like checks: basic auth wrong, missing, wrong workspace.
  EXPECT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_create.json"), "hook", "wrong").status, 401);
  EXPECT_EQ(server->Call("POST", "/v1/connectors/pd/pipedrive/webhook", "", Fixture("pipedrive/v2_deal_create.json")).status, 401);
  EXPECT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_create.json"), "hook", "s3cret", "other").status, 401);
  EXPECT_TRUE(History().empty());

  struct Case {
    const char* file;
    const char* path;
  };
  for (const Case& k : {Case{"v2_deal_create.json", "/api/v2/deals/4002"}, Case{"v2_person_create.json", "/api/v2/persons/32"},
                        Case{"v2_organization_create.json", "/api/v2/organizations/22"},
                        Case{"v2_lead_create.json", "/api/v1/leads/adf21080-0e10-11eb-879b-05d71fb426ec"},
                        Case{"v2_activity_create.json", "/api/v2/activities/601"}}) {
    Json body = Fixture(std::string("pipedrive/") + k.file);
    body["data"]["owner_id"] = 99;  // Pipedrive's owner: not the one rota decides
    Reply r = Pipedrive(body);
    ASSERT_EQ(r.status, 200) << k.file << r.raw;
    EXPECT_EQ(r.body["outcome"], "assigned") << k.file << r.raw;
    ASSERT_TRUE(WaitFor([&] {
      for (const auto& g : crm.Writes()) {
        if (g.path == k.path) return true;
      }
      return false;
    })) << k.file;
  }
  for (const auto& g : crm.Writes()) {
    EXPECT_EQ(g.method, "PATCH");
    EXPECT_EQ(g.token, "tok");
    EXPECT_TRUE(g.body["owner_id"].is_number_integer()) << g.body;
  }
  // The deal went to user 7 (first in the pool): written back as owner_id 7.
  EXPECT_EQ(crm.Writes()[0].body["owner_id"], 7);

  // A retried webhook (same event) is not decided twice.
  size_t decisions = History().size();
  Json again = Fixture("pipedrive/v2_deal_create.json");
  again["data"]["owner_id"] = 99;
  EXPECT_EQ(Pipedrive(again).status, 200);
  EXPECT_EQ(History().size(), decisions);

  // Loop guard: Pipedrive tells rota about rota's own write-back; no second decision.
  Reply echo = Pipedrive(Fixture("pipedrive/v2_deal_owner_change.json"));
  ASSERT_EQ(echo.status, 200) << echo.raw;
  EXPECT_NE(echo.body.value("ignored", "").find("loop_guard"), std::string::npos) << echo.raw;
  EXPECT_EQ(History().size(), decisions);

  // A stage change ("assign after the pipeline or stage changed") decides again.
  Reply stage = Pipedrive(Fixture("pipedrive/v2_deal_stage_change.json"));
  ASSERT_EQ(stage.status, 200) << stage.raw;
  EXPECT_EQ(stage.body["rule"], "stage");
  EXPECT_EQ(stage.body["owner"], "12");
  EXPECT_EQ(History().size(), decisions + 1);
  // v1 shape too.
  Reply v1 = Pipedrive(Fixture("pipedrive/v1_deal_updated.json"));
  ASSERT_EQ(v1.status, 200) << v1.raw;
  EXPECT_EQ(v1.body["rule"], "stage");
  // A deal Pipedrive already gives the owner rota decides (12, next in the pool after the
  // v1 update's 7) needs no write-back.
  Json same = Fixture("pipedrive/v2_deal_create.json");
  same["meta"]["entity_id"] = "4003";
  same["data"]["id"] = 4003;
  same["meta"]["correlation_id"] = "same-owner";
  Reply same_owner = Pipedrive(same);
  ASSERT_EQ(same_owner.status, 200) << same_owner.raw;
  EXPECT_EQ(same_owner.body["owner"], "12");

  // An edit no rule takes (the title) re-decides nothing: the deal keeps its owner, is not
  // queued, and rota's copy takes the new title.
  const size_t before_edit = History().size();  // deal 4003 included
  Json title = Fixture("pipedrive/v2_deal_stage_change.json");
  title["meta"]["correlation_id"] = "title-edit";
  title["previous"] = {{"title", "Old title"}};
  title["data"]["title"] = "New title";
  Reply edit = Pipedrive(title);
  ASSERT_EQ(edit.status, 200) << edit.raw;
  EXPECT_NE(edit.body.value("ignored", "").find("no rule takes this change"), std::string::npos) << edit.raw;
  EXPECT_EQ(History().size(), before_edit);
  Reply deal = server->Call("GET", "/v1/records/deal/4002", key);
  EXPECT_EQ(deal.body["properties"]["title"], "New title") << deal.raw;
  EXPECT_FALSE(deal.body["owners"].empty()) << deal.raw;
  EXPECT_TRUE(server->Call("GET", "/v1/unassigned", key).body["items"].empty());
  // A delete makes no decision; rota's copy is no longer open.
  Reply del = Pipedrive(Fixture("pipedrive/v2_deal_delete.json"));
  ASSERT_EQ(del.status, 200) << del.raw;
  EXPECT_TRUE(del.body.contains("ignored")) << del.raw;
  EXPECT_EQ(del.body["closed"], true) << del.raw;
  EXPECT_EQ(server->Call("GET", "/v1/records/deal/4002", key).body["open"], false);
  EXPECT_EQ(History().size(), before_edit);

  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
    // 5 creates, and the v1 update's 7: the stage change's 12 and deal 4003's 12 are the
    // owners Pipedrive had, so nothing goes back for them.
    if (d.body["items"].size() != 6) return false;
    for (const Json& i : d.body["items"]) {
      if (i["status"] != "delivered") return false;
    }
    return true;
  })) << server->Call("GET", "/v1/connectors/pd/deliveries", key).raw;
}

// The owner Pipedrive has is the record's owner where rota knows none yet, so that
// `related_owner` finds a linked organization's owner; a deal won or lost, an activity
// done, is not open. An update racing rota's write-back does not undo rota's decision.
TEST_F(Connectors, PipedriveOwnersAndOpenAreWhatTheCrmSays) {
  Start();
  Json config = Json::parse(R"({
    "users": [{"id": "7"}, {"id": "12"}],
    "pools": [{"id": "p", "object_type": "task", "members": ["7", "12"]}],
    "rules": [{"id": "org-owner", "object_type": "deal", "events": ["created"],
               "conditions": {"all": [{"field": "title", "op": "is_not_empty"}]}, "assign": {"type": "related_owner", "relation": "company"}},
              {"id": "tasks", "object_type": "task", "events": ["created", "updated"],
               "conditions": {"all": [{"field": "subject", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "p"}}]
  })");
  ASSERT_EQ(server->Call("PUT", "/v1/config", key, config).status, 200);
  ASSERT_EQ(Connector({{"id", "pd"}, {"kind", "pipedrive"}, {"write_back", false}, {"api_base", "http://127.0.0.1:1"},
                       {"credentials", {{"webhook_user", "hook"}, {"webhook_password", "s3cret"}}}})
                .status,
            201);
  // No rule for organizations: rota still learns that user 12 owns it.
  Reply org = Pipedrive(Fixture("pipedrive/v2_organization_create.json"));
  ASSERT_EQ(org.status, 200) << org.raw;
  EXPECT_EQ(org.body["reason"], "no_rule_matched");
  EXPECT_EQ(server->Call("GET", "/v1/records/company/22", key).body["owners"], Json::array({"12"}));
  // A deal of that organization goes to the organization's owner.
  Json deal = Fixture("pipedrive/v2_deal_create.json");
  deal["data"]["owner_id"] = 7;
  Reply d = Pipedrive(deal);
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["outcome"], "assigned");
  EXPECT_EQ(d.body["owner"], "12");
  // Pipedrive still says 7 in an update sent before rota's write-back: rota's copy holds.
  Json stage = Fixture("pipedrive/v2_deal_stage_change.json");
  stage["data"]["owner_id"] = 7;
  ASSERT_EQ(Pipedrive(stage).status, 200);
  Reply stored = server->Call("GET", "/v1/records/deal/4002", key);
  EXPECT_EQ(stored.body["owners"], Json::array({"12"}));
  EXPECT_EQ(stored.body["open"], true);
  // Won: no longer open.
  Json won = Fixture("pipedrive/v2_deal_stage_change.json");
  won["meta"]["correlation_id"] = "won";
  won["data"]["status"] = "won";
  ASSERT_EQ(Pipedrive(won).status, 200);
  EXPECT_EQ(server->Call("GET", "/v1/records/deal/4002", key).body["open"], false);
  // An activity done is not open either.
  Json task = Fixture("pipedrive/v2_activity_create.json");
  task["data"]["done"] = true;
  Reply t = Pipedrive(task);
  ASSERT_EQ(t.status, 200) << t.raw;
  EXPECT_EQ(server->Call("GET", "/v1/records/task/601", key).body["open"], false);
  // A deal with no organization is queued (company_not_linked); deleted in Pipedrive, it
  // leaves the queue.
  Json lone = Fixture("pipedrive/v2_deal_create.json");
  lone["meta"]["entity_id"] = "4100";
  lone["data"]["id"] = 4100;
  lone["data"].erase("org_id");
  lone["meta"]["correlation_id"] = "lone";
  Reply queued = Pipedrive(lone);
  ASSERT_EQ(queued.status, 200) << queued.raw;
  EXPECT_EQ(queued.body["reason"], "company_not_linked") << queued.raw;
  auto queued_ids = [&] {
    std::set<std::string> ids;
    const Reply q = server->Call("GET", "/v1/unassigned", key);
    for (const Json& i : q.body["items"]) ids.insert(i["record_id"].get<std::string>());
    return ids;
  };
  EXPECT_TRUE(queued_ids().count("4100"));
  // A deal Pipedrive sent with no owner is queued as well. Given an owner by hand in
  // Pipedrive (an edit no rule takes), it is assigned and leaves the queue; 4100, which
  // Pipedrive owned all along, stays after the same kind of edit.
  Json ownerless = lone;
  ownerless["meta"]["entity_id"] = "4101";
  ownerless["data"]["id"] = 4101;
  ownerless["data"]["owner_id"] = nullptr;
  ownerless["meta"]["correlation_id"] = "ownerless";
  Reply q2 = Pipedrive(ownerless);
  ASSERT_EQ(q2.status, 200) << q2.raw;
  EXPECT_EQ(q2.body["reason"], "company_not_linked") << q2.raw;
  EXPECT_TRUE(server->Call("GET", "/v1/records/deal/4101", key).body["owners"].empty());
  EXPECT_TRUE(queued_ids().count("4101"));
  auto edit = [&](int id, const Json& owner, const std::string& correlation) {
    Json e = Fixture("pipedrive/v2_deal_stage_change.json");
    e["meta"]["entity_id"] = std::to_string(id);
    e["meta"]["correlation_id"] = correlation;
    e["data"]["id"] = id;
    e["data"].erase("org_id");
    e["data"]["owner_id"] = owner;
    e["data"]["title"] = "Renamed";
    e["previous"] = {{"title", "Essex order"}};
    return Pipedrive(e);
  };
  Reply kept = edit(4100, 7, "edit-4100");
  ASSERT_EQ(kept.status, 200) << kept.raw;
  EXPECT_TRUE(kept.body.contains("ignored")) << kept.raw;
  EXPECT_TRUE(queued_ids().count("4100"));
  Reply by_hand = edit(4101, 12, "edit-4101");
  ASSERT_EQ(by_hand.status, 200) << by_hand.raw;
  EXPECT_TRUE(by_hand.body.contains("ignored")) << by_hand.raw;
  EXPECT_EQ(server->Call("GET", "/v1/records/deal/4101", key).body["owners"], Json::array({"12"}));
  EXPECT_FALSE(queued_ids().count("4101"));
  EXPECT_TRUE(queued_ids().count("4100"));
  Json gone = Fixture("pipedrive/v2_deal_delete.json");
  gone["meta"]["entity_id"] = "4100";
  Reply del = Pipedrive(gone);
  EXPECT_EQ(del.body["closed"], true) << del.raw;
  EXPECT_FALSE(queued_ids().count("4100"));
  // Queued, lost (closed), then deleted: it leaves the queue all the same.
  Json queued2 = lone;
  queued2["meta"]["entity_id"] = "4102";
  queued2["data"]["id"] = 4102;
  queued2["meta"]["correlation_id"] = "queued-4102";
  ASSERT_EQ(Pipedrive(queued2).body["reason"], "company_not_linked");
  EXPECT_TRUE(queued_ids().count("4102"));
  Json lost = Fixture("pipedrive/v2_deal_stage_change.json");
  lost["meta"]["entity_id"] = "4102";
  lost["meta"]["correlation_id"] = "lost-4102";
  lost["data"]["id"] = 4102;
  lost["data"].erase("org_id");
  lost["data"]["owner_id"] = 7;
  lost["data"]["status"] = "lost";
  lost["previous"] = {{"status", "open"}};
  ASSERT_EQ(Pipedrive(lost).status, 200);
  EXPECT_EQ(server->Call("GET", "/v1/records/deal/4102", key).body["open"], false);
  Json gone_closed = Fixture("pipedrive/v2_deal_delete.json");
  gone_closed["meta"]["entity_id"] = "4102";
  gone_closed["meta"]["correlation_id"] = "delete-4102";
  Reply del_closed = Pipedrive(gone_closed);
  ASSERT_EQ(del_closed.status, 200) << del_closed.raw;
  EXPECT_EQ(del_closed.body["closed"], false) << del_closed.raw;  // it was closed already
  EXPECT_FALSE(queued_ids().count("4102"));
}

// A record that came in through a connector gets its owner written back to that CRM when
// an admin decides it from the API or the console (assign to a pool) or sets it by hand:
// fixing the unassigned queue in rota fixes the CRM too.
TEST_F(Connectors, FixesOfACrmRecordInRotaGoBackToTheCrm) {
  Start();
  FakeCrm crm;
  Json config = Json::parse(R"({
    "users": [{"id": "7"}, {"id": "12"}],
    "pools": [{"id": "p", "object_type": "deal", "members": ["7", "12"]}],
    "rules": [{"id": "never", "object_type": "deal", "events": ["created"],
               "conditions": {"all": [{"field": "title", "op": "eq", "value": "no such title"}]},
               "assign": {"type": "pool", "pool": "p"}}]
  })");
  ASSERT_EQ(server->Call("PUT", "/v1/config", key, config).status, 200);
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  Reply in = Pipedrive(Fixture("pipedrive/v2_deal_create.json"));  // deal 4002: no rule takes it
  ASSERT_EQ(in.status, 200) << in.raw;
  EXPECT_EQ(in.body["outcome"], "unassigned") << in.raw;
  // From the queue: send it to the pool (the console's "Send to pool").
  Reply sent = server->Call("POST", "/v1/assign", key,
                            {{"object_type", "deal"}, {"event", "assign_requested"}, {"target", {{"pool", "p"}}},
                             {"record", {{"id", "4002"}}}});
  ASSERT_EQ(sent.status, 200) << sent.raw;
  EXPECT_EQ(sent.body["owner"], "7");
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 1; })) << crm.Writes().size();
  EXPECT_EQ(crm.Writes()[0].path, "/api/v2/deals/4002");
  EXPECT_EQ(crm.Writes()[0].body["owner_id"], 7);
  // By hand: the record's owner set to 12.
  Reply record = server->Call("GET", "/v1/records/deal/4002", key);
  Json by_hand = {{"properties", record.body["properties"]}, {"links", record.body["links"]}, {"owners", {"12"}}};
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", key, by_hand).status, 200);
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 2; })) << crm.Writes().size();
  EXPECT_EQ(crm.Writes()[1].path, "/api/v2/deals/4002");
  EXPECT_EQ(crm.Writes()[1].body["owner_id"], 12);
  // Nothing goes out for: the same owner again; an owner rota has no user for; a sync job's
  // PUT (an integration key); a decision that keeps the owner rota's copy has; a record rota
  // did not get from a CRM; a record the CRM deleted.
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", key, by_hand).status, 200);
  Json stranger = by_hand;
  stranger["owners"] = {"alice"};
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", key, stranger).status, 200);
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", key, by_hand).status, 200);  // alice → 12: goes out
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 3; })) << crm.Writes().size();
  Reply integration = server->Call("POST", "/v1/keys", key, {{"role", "integration"}});
  ASSERT_EQ(integration.status, 201) << integration.raw;
  Json synced = by_hand;
  synced["owners"] = {"7"};
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", integration.body["key"], synced).status, 200);
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", key, by_hand).status, 200);  // 7 → 12: goes out
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 4; })) << crm.Writes().size();
  for (const auto& g : crm.Writes()) EXPECT_NE(g.body["owner_id"], "alice") << g.body;
  Reply kept = server->Call("POST", "/v1/assign", key,
                            {{"object_type", "deal"}, {"event", "assign_requested"}, {"target", {{"pool", "p"}}},
                             {"record", {{"id", "4002"}}}});  // the pool's next is 12 again
  ASSERT_EQ(kept.status, 200) << kept.raw;
  EXPECT_EQ(kept.body["owner"], "12");
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/own-1", key, {{"owners", {"7"}}}).status, 200);
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/own-1", key, {{"owners", {"12"}}}).status, 200);
  ASSERT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_delete.json")).body["closed"], true);
  ASSERT_EQ(server->Call("PUT", "/v1/records/deal/4002", key, synced).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(crm.Writes().size(), 4u);
}

// Two of the CRM's types mapped to one of rota's: the owner goes back to the type the
// call named, not to the first type that maps there.
TEST_F(Connectors, AWriteBackGoesToTheCrmTypeTheCallNamed) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(Connector({{"id", "pd"}, {"kind", "pipedrive"}, {"api_base", crm.base()}, {"object_map", {{"lead", "deal"}}},
                       {"credentials", {{"webhook_user", "hook"}, {"webhook_password", "s3cret"}, {"api_token", "tok"}}}})
                .status,
            201);
  for (const char* file : {"v2_lead_create.json", "v2_deal_create.json"}) {
    Json body = Fixture(std::string("pipedrive/") + file);
    body["data"]["owner_id"] = 99;  // not the owner rota decides: each is written back
    Reply r = Pipedrive(body);
    ASSERT_EQ(r.status, 200) << file << r.raw;
  }
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() >= 2; }));
  std::set<std::string> paths;
  for (const auto& g : crm.Writes()) paths.insert(g.path);
  EXPECT_TRUE(paths.count("/api/v1/leads/adf21080-0e10-11eb-879b-05d71fb426ec")) << *paths.begin();
  EXPECT_TRUE(paths.count("/api/v2/deals/4002"));
}

TEST_F(Connectors, HubSpotSignaturesObjectTypesCustomActionAndRateLimit) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(Connector({{"id", "hs"}, {"kind", "hubspot"}, {"api_base", crm.base()},
                       {"credentials", {{"app_secret", "app-secret"}, {"access_token", "pat-1"}}}})
                .status,
            201);
  // Good, bad and stale signatures.
  EXPECT_EQ(HubSpot(Fixture("hubspot/workflow_deal.json"), "wrong-secret").status, 401);
  Reply stale = HubSpot(Fixture("hubspot/workflow_deal.json"), "app-secret", NowMs() - 6 * 60 * 1000);
  EXPECT_EQ(stale.status, 401);
  // Answered as an unknown connector is: a caller without the secret learns nothing.
  EXPECT_EQ(stale.body["error"]["code"], "unauthenticated");
  Reply unknown = server->Call("POST", "/v1/connectors/nope/hubspot/workflow?workspace=default", "",
                               Fixture("hubspot/workflow_deal.json"));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body["error"], stale.body["error"]);
  EXPECT_EQ(server->Call("POST", "/v1/connectors/hs/hubspot/workflow", "", Fixture("hubspot/workflow_deal.json")).status, 401);
  EXPECT_TRUE(History().empty());

  // The first write-back is rate limited (429, Retry-After: 1), then accepted.
  crm.FailNext(429, "1");
  const int64_t sent_at = NowMs();
  Reply deal = HubSpot(Fixture("hubspot/workflow_deal.json"), "app-secret", sent_at);
  ASSERT_EQ(deal.status, 200) << deal.raw;
  EXPECT_EQ(deal.body["owner"], "7");
  // The same signed call again is the same decision, not a second one.
  Reply again = HubSpot(Fixture("hubspot/workflow_deal.json"), "app-secret", sent_at);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["decision_id"], deal.body["decision_id"]);
  EXPECT_EQ(History().size(), 1u);
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() >= 2; }));
  auto writes = crm.Writes();
  EXPECT_EQ(writes[0].answered, 429);
  EXPECT_EQ(writes[1].answered, 200);
  EXPECT_GE(writes[1].at_ms - writes[0].at_ms, 900);  // Retry-After honoured
  EXPECT_EQ(writes[1].path, "/crm/v3/objects/deals/9001");
  EXPECT_EQ(writes[1].auth, "Bearer pat-1");
  const Json expected = {{"properties", {{"hubspot_owner_id", "7"}}}};
  EXPECT_EQ(writes[1].body, expected);

  // A refusal that is not about load (404: the record is gone) fails at once, unretried.
  crm.FailNext(404);
  Reply gone = HubSpot({{"objectId", 404404}, {"properties", Json::object()}}, "app-secret", NowMs(), "&object_type=deals");
  ASSERT_EQ(gone.status, 200) << gone.raw;
  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/hs/deliveries", key);
    return !d.body["items"].empty() && d.body["items"][0]["status"] == "failed";
  })) << server->Call("GET", "/v1/connectors/hs/deliveries", key).raw;
  Reply failed = server->Call("GET", "/v1/connectors/hs/deliveries", key);
  EXPECT_EQ(failed.body["items"][0]["attempts"], 1);
  EXPECT_EQ(failed.body["items"][0]["last_status"], 404);

  Reply contact = HubSpot(Fixture("hubspot/workflow_contact.json"));
  EXPECT_EQ(contact.body["owner"], "7") << contact.raw;
  // HubSpot retries "Send a webhook" with a new timestamp (so a new signature) and the same
  // body: the same decision.
  Reply retried = HubSpot(Fixture("hubspot/workflow_contact.json"), "app-secret", NowMs() + 2000);
  ASSERT_EQ(retried.status, 200) << retried.raw;
  EXPECT_EQ(retried.body["decision_id"], contact.body["decision_id"]) << retried.raw;
  // The same body to another URL (here another event) is another request, not a conflict.
  Reply other = HubSpot(Fixture("hubspot/workflow_contact.json"), "app-secret", NowMs(), "&event=updated");
  EXPECT_EQ(other.status, 200) << other.raw;
  // The custom action answers outputFields; ask the pool "north" by input field.
  Reply company = HubSpot(Fixture("hubspot/custom_action_company.json"));
  ASSERT_EQ(company.status, 200) << company.raw;
  EXPECT_EQ(company.body["outputFields"]["hubspot_owner_id"], "ada");
  EXPECT_EQ(company.body["outputFields"]["rota_outcome"], "assigned");
  // HubSpot retries the same callback: the same answer, one decision.
  size_t n = History().size();
  EXPECT_EQ(HubSpot(Fixture("hubspot/custom_action_company.json")).body, company.body);
  EXPECT_EQ(History().size(), n);
  // The company given to another owner by hand in HubSpot, then an edit no rule takes:
  // "unchanged", with the owner HubSpot has, so a step copying it back undoes nothing.
  Json reassigned = Fixture("hubspot/custom_action_company.json");
  reassigned["callbackId"] = "ap-62515-56776413549-7-1";
  reassigned["object"]["properties"] = {{"hubspot_owner_id", "12"}, {"name", "Renamed"}};
  reassigned["inputFields"] = {{"event", "updated"}};
  Reply unchanged = HubSpot(reassigned);
  ASSERT_EQ(unchanged.status, 200) << unchanged.raw;
  EXPECT_EQ(unchanged.body["outputFields"]["rota_outcome"], "unchanged") << unchanged.raw;
  EXPECT_EQ(unchanged.body["outputFields"]["hubspot_owner_id"], "12") << unchanged.raw;
  Reply ticket = HubSpot(Fixture("hubspot/custom_action_ticket.json"));
  EXPECT_EQ(ticket.body["outputFields"]["hubspot_owner_id"], "12") << ticket.raw;
  // Without a type in the body, the URL names it; without either, a clear 422.
  EXPECT_EQ(HubSpot({{"objectId", 8}, {"properties", Json::object()}}).status, 422);
  EXPECT_EQ(HubSpot({{"objectId", 8}, {"properties", Json::object()}}, "app-secret", NowMs(), "&object_type=contacts")
                .body["owner"],
            "7");
  // A company no rule decides keeps the owner HubSpot gave it, with no decision (an update
  // no rule takes); a closed deal is not open.
  const size_t before_owned = History().size();
  Reply owned = HubSpot({{"objectId", 5121}, {"properties", {{"hubspot_owner_id", {{"value", "12"}}}}}}, "app-secret",
                        NowMs(), "&object_type=companies&event=updated");
  ASSERT_EQ(owned.status, 200) << owned.raw;
  EXPECT_TRUE(owned.body.contains("ignored")) << owned.raw;
  EXPECT_EQ(History().size(), before_owned);
  EXPECT_EQ(server->Call("GET", "/v1/records/company/5121", key).body["owners"], Json::array({"12"}));
  Reply closed = HubSpot({{"objectId", 9002}, {"properties", {{"hs_is_closed", {{"value", "true"}}}}}}, "app-secret", NowMs(),
                         "&object_type=deals&event=updated");
  ASSERT_EQ(closed.status, 200) << closed.raw;
  EXPECT_EQ(server->Call("GET", "/v1/records/deal/9002", key).body["open"], false);
  ASSERT_TRUE(WaitFor([&] {
    std::set<std::string> paths;
    for (const auto& g : crm.Writes()) paths.insert(g.path);
    return paths.count("/crm/v3/objects/contacts/3201") && paths.count("/crm/v3/objects/companies/5120") &&
           paths.count("/crm/v3/objects/tickets/77") && paths.count("/crm/v3/objects/contacts/8");
  }));
}

TEST_F(Connectors, CrmDownForAWhileThenBackLosesNothing) {
  Start();
  // A port with nothing listening yet.
  int port = 0;
  {
    FakeCrm probe;
    port = probe.port();
  }
  ASSERT_EQ(PipedriveConnector("http://127.0.0.1:" + std::to_string(port)).status, 201);
  std::map<std::string, std::string> decided;
  for (int i = 0; i < 12; ++i) {
    Json w = Fixture("pipedrive/v2_deal_create.json");
    w["meta"]["entity_id"] = std::to_string(5000 + i);
    w["data"]["id"] = 5000 + i;
    w["meta"]["correlation_id"] = "c-" + std::to_string(i);
    w["data"]["owner_id"] = 99;  // not the owner rota decides: each is written back
    Reply r = Pipedrive(w);
    ASSERT_EQ(r.status, 200) << r.raw;
    decided["/api/v2/deals/" + std::to_string(5000 + i)] = r.body["owner"];
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  Reply pending = server->Call("GET", "/v1/connectors/pd/deliveries", key);
  ASSERT_EQ(pending.body["items"].size(), 12u);
  // The CRM refused the oldest one (newest first in the list); the others waited with it,
  // untried, rather than each being refused in turn.
  int tried = 0;
  for (const Json& i : pending.body["items"]) {
    EXPECT_EQ(i["status"], "pending");
    tried += i["attempts"].get<int>();
  }
  EXPECT_GE(pending.body["items"].back()["attempts"].get<int>(), 1) << pending.raw;
  EXPECT_EQ(tried, pending.body["items"].back()["attempts"].get<int>()) << pending.raw;
  FakeCrm crm(port);  // back
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() >= 12; }, 20000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::map<std::string, std::string> written;
  for (const auto& g : crm.Writes()) written[g.path] = g.body["owner_id"].dump();
  ASSERT_EQ(written.size(), 12u);
  EXPECT_EQ(crm.Writes().size(), 12u);  // once each
  for (const auto& [path, owner] : decided) EXPECT_EQ(written[path], owner) << path;
}

// A write-back the CRM refused once (a 500, retried later) must not land after a later
// decision's owner: the later decision supersedes it, and writes its own owner back after
// it, even when the CRM says it has that owner already (the earlier one may be on its way).
TEST_F(Connectors, AnEarlierOwnerIsNeverWrittenOverALaterOne) {
  Start({{"ROTA_SECRET_KEY", kSecretKey}}, "5000");  // a retry 4-6 s after a 500
  FakeCrm crm;
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  auto deal = [](const std::string& file, int id, int crm_owner, const std::string& correlation) {
    Json w = Fixture("pipedrive/" + file);
    w["meta"]["id"] = w["meta"]["entity_id"] = std::to_string(id);
    w["meta"]["correlation_id"] = correlation;
    w["data"]["id"] = id;
    w["data"]["owner_id"] = crm_owner;
    return w;
  };
  auto writes_to = [&](const std::string& path) {
    std::vector<FakeCrm::Got> out;
    for (const auto& g : crm.Writes()) {
      if (g.path == path) out.push_back(g);
    }
    return out;
  };
  // A Pipedrive call deciding `owner` for deal `id` (the CRM saying it has `crm_owner`).
  auto decide = [&](const std::string& file, int id, int crm_owner, const std::string& correlation,
                    const std::string& owner) {
    Reply r = Pipedrive(deal(file, id, crm_owner, correlation));
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["owner"], owner) << r.raw;
    return r;
  };
  // Deal 4002 goes to 7; the CRM answers its write-back with a 500.
  crm.FailNext(500);
  Reply first = decide("v2_deal_create.json", 4002, 99, "a1", "7");
  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
    return d.body["items"].size() == 1 && d.body["items"][0]["attempts"] == 1;
  }));
  ASSERT_EQ(writes_to("/api/v2/deals/4002").size(), 1u);
  // Its stage changes before the retry: it goes to 12, written back at once.
  Reply second = decide("v2_deal_stage_change.json", 4002, 99, "a2", "12");
  ASSERT_TRUE(WaitFor([&] { return writes_to("/api/v2/deals/4002").size() == 2; }));

  // Deal 5001 goes to 7, refused with a 500 as well; its stage changes, and the CRM says it
  // has the owner rota now decides (12): 7 must not follow, and 12 is written back after it.
  crm.FailNext(500);
  Reply third = decide("v2_deal_create.json", 5001, 99, "b1", "7");
  ASSERT_TRUE(WaitFor([&] { return writes_to("/api/v2/deals/5001").size() == 1; }));
  // (Its attempt may not be recorded yet: then it never is, the row superseded meanwhile.)
  Reply fourth = decide("v2_deal_stage_change.json", 5001, 12, "b2", "12");
  ASSERT_TRUE(WaitFor([&] { return writes_to("/api/v2/deals/5001").size() == 2; }));

  // Deal 6001 goes to 7, refused with a 500; an admin then clears its owner by hand: 7 must
  // not follow, and nothing is written back in its place.
  crm.FailNext(500);
  Reply fifth = decide("v2_deal_create.json", 6001, 99, "c1", "7");
  ASSERT_TRUE(WaitFor([&] { return writes_to("/api/v2/deals/6001").size() == 1; }));
  const auto refused_at = std::chrono::steady_clock::now();
  Reply record = server->Call("GET", "/v1/records/deal/6001", key);
  ASSERT_EQ(record.status, 200) << record.raw;
  Reply cleared = server->Call("PUT", "/v1/records/deal/6001", key,
                               {{"properties", record.body["properties"]}, {"owners", Json::array()}});
  ASSERT_EQ(cleared.status, 200) << cleared.raw;

  // Past the refused ones' retries (6 s at most): nothing more was sent.
  std::this_thread::sleep_until(refused_at + std::chrono::milliseconds(6500));
  // Each deal's writes as (the CRM's answer, the owner sent), in order.
  using Sent = std::vector<std::pair<int, Json>>;
  auto sent = [&](const std::string& path) {
    Sent out;
    for (const auto& g : writes_to(path)) out.push_back({g.answered, g.body["owner_id"]});
    return out;
  };
  EXPECT_EQ(sent("/api/v2/deals/4002"), (Sent{{500, 7}, {200, 12}}));
  EXPECT_EQ(sent("/api/v2/deals/5001"), (Sent{{500, 7}, {200, 12}}));
  EXPECT_EQ(sent("/api/v2/deals/6001"), (Sent{{500, 7}}));

  // The list says why; a retry of a superseded write-back is refused, naming the later one.
  Reply list = server->Call("GET", "/v1/connectors/pd/deliveries", key);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["items"].size(), 5u) << list.raw;  // newest first
  const Json& c_first = list.body["items"][0];
  const Json& b_second = list.body["items"][1];
  const Json& b_first = list.body["items"][2];
  const Json& a_second = list.body["items"][3];
  const Json& a_first = list.body["items"][4];
  EXPECT_EQ(c_first["status"], "superseded");
  EXPECT_EQ(c_first["last_error"], "superseded by an owner set by hand");
  EXPECT_EQ(a_second["status"], "delivered");
  EXPECT_EQ(b_second["status"], "delivered");
  EXPECT_EQ(a_first["status"], "superseded");
  EXPECT_EQ(a_first["attempts"], 1);
  EXPECT_EQ(a_first["last_error"], "superseded by decision " + second.body["decision_id"].get<std::string>());
  EXPECT_EQ(b_first["status"], "superseded");
  EXPECT_EQ(b_first["last_error"], "superseded by decision " + fourth.body["decision_id"].get<std::string>());
  for (const auto& [old, later] : {std::pair<const Json*, const Json*>{&a_first, &a_second}, {&b_first, &b_second}}) {
    Reply refused = server->Call("POST", "/v1/connectors/pd/deliveries/" + (*old)["id"].get<std::string>() + "/retry", key);
    EXPECT_EQ(refused.status, 409) << refused.raw;
    EXPECT_EQ(refused.body["error"]["code"], "superseded") << refused.raw;
    EXPECT_NE(refused.raw.find((*later)["id"].get<std::string>()), std::string::npos) << refused.raw;
  }
  EXPECT_EQ(server->Call("GET", "/v1/connectors/pd/deliveries", key).body, list.body);  // nothing changed
}

// A CRM that refuses the connector's token (401) would refuse every write-back: they wait,
// none failed, and new credentials send them at once, in order.
TEST_F(Connectors, ARefusedTokenHoldsTheWriteBacksUntilItIsReplaced) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  crm.FailNext(401);
  ASSERT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_create.json")).status, 200);
  Json other = Fixture("pipedrive/v2_deal_create.json");
  other["meta"]["id"] = other["meta"]["entity_id"] = "5001";
  other["meta"]["correlation_id"] = "second";
  other["data"]["id"] = 5001;
  other["data"]["owner_id"] = 99;  // not the owner rota gives it: written back
  ASSERT_EQ(Pipedrive(other).status, 200);
  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
    return d.body["items"].size() == 2 && d.body["items"][1]["last_status"] == 401;
  })) << server->Call("GET", "/v1/connectors/pd/deliveries", key).raw;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // ten backoffs: nothing more is sent
  Reply waiting = server->Call("GET", "/v1/connectors/pd/deliveries", key);
  for (const Json& d : waiting.body["items"]) EXPECT_EQ(d["status"], "pending") << waiting.raw;
  EXPECT_EQ(waiting.body["items"][1]["attempts"], 1) << waiting.raw;
  EXPECT_EQ(waiting.body["items"][0]["attempts"], 0) << waiting.raw;  // held behind the refused one
  EXPECT_NE(waiting.body["items"][1]["last_error"].get<std::string>().find("refused the connector's credentials"),
            std::string::npos)
      << waiting.raw;
  ASSERT_EQ(crm.Writes().size(), 1u);

  Reply patched = server->Call("PATCH", "/v1/connectors/pd", key, {{"credentials", {{"api_token", "tok2"}}}});
  ASSERT_EQ(patched.status, 200) << patched.raw;
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 3; }));
  const auto writes = crm.Writes();
  EXPECT_EQ(writes[0].path, "/api/v2/deals/4002");
  EXPECT_EQ(writes[0].token, "tok");
  EXPECT_EQ(writes[0].answered, 401);
  EXPECT_EQ(writes[1].path, "/api/v2/deals/4002");
  EXPECT_EQ(writes[1].token, "tok2");
  EXPECT_EQ(writes[2].path, "/api/v2/deals/5001");
  EXPECT_EQ(writes[2].token, "tok2");
  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
    return d.body["items"][0]["status"] == "delivered" && d.body["items"][1]["status"] == "delivered";
  }));
}

// A failed write-back retried after a later decision gave the record an owner the CRM
// already had (so no later write-back was made) is refused: it would write the older owner.
TEST_F(Connectors, ARetryNeverWritesAnOwnerRotaNoLongerHolds) {
  Start({{"ROTA_SECRET_KEY", kSecretKey}});
  FakeCrm crm;
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  auto deal = [](const std::string& file, int crm_owner, const std::string& correlation) {
    Json w = Fixture("pipedrive/" + file);
    w["meta"]["id"] = w["meta"]["entity_id"] = "7001";
    w["meta"]["correlation_id"] = correlation;
    w["data"]["id"] = 7001;
    w["data"]["owner_id"] = crm_owner;
    return w;
  };
  crm.FailNext(404);  // refused for good: failed at once
  Reply first = Pipedrive(deal("v2_deal_create.json", 99, "d1"));
  ASSERT_EQ(first.body["owner"], "7") << first.raw;
  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
    return d.body["items"].size() == 1 && d.body["items"][0]["status"] == "failed";
  }));
  // The stage changes and the CRM already has the owner rota now decides: nothing to write.
  Reply second = Pipedrive(deal("v2_deal_stage_change.json", 12, "d2"));
  ASSERT_EQ(second.body["owner"], "12") << second.raw;
  Reply list = server->Call("GET", "/v1/connectors/pd/deliveries", key);
  ASSERT_EQ(list.body["items"].size(), 1u) << list.raw;
  Reply retry = server->Call("POST", "/v1/connectors/pd/deliveries/" + list.body["items"][0]["id"].get<std::string>() +
                                         "/retry", key);
  EXPECT_EQ(retry.status, 409) << retry.raw;
  EXPECT_EQ(retry.body["error"]["code"], "superseded") << retry.raw;
  EXPECT_NE(retry.body["error"]["message"].get<std::string>().find("owner in rota is now \"12\""), std::string::npos)
      << retry.raw;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(crm.Writes().size(), 1u);  // the refused one only
  EXPECT_EQ(server->Call("GET", "/v1/connectors/pd/deliveries", key).body, list.body);
}

// A linked record is written back only when the decision changed its owners: an
// organization that already had the owner gets no call (its record.updated, likewise only for a
// change, is AfterDecision.RecordUpdatedOnlyForLinkedRecordsWhoseOwnersChanged's).
TEST_F(Connectors, ALinkedRecordThatHasTheOwnerAlreadyGetsNoWriteBack) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  Reply rule = server->Call("GET", "/v1/rules/new-deals", key);
  ASSERT_EQ(rule.status, 200) << rule.raw;
  Json changed = rule.body;
  changed["actions"] = {{"apply_to_related", {"company"}}, {"related_mode", "replace"}};
  ASSERT_EQ(server->Call("PUT", "/v1/rules/new-deals", key, changed).status, 200);
  // Organization 22 already has 7, the pool's next owner.
  ASSERT_EQ(server->Call("PUT", "/v1/records/company/22", key, {{"owners", {"7"}}}).status, 200);
  Reply deal = Pipedrive(Fixture("pipedrive/v2_deal_create.json"));
  ASSERT_EQ(deal.status, 200) << deal.raw;
  ASSERT_EQ(deal.body["owner"], "7") << deal.raw;
  ASSERT_TRUE(WaitFor([&] { return !crm.Writes().empty(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::set<std::string> paths;
  for (const auto& g : crm.Writes()) paths.insert(g.path);
  EXPECT_EQ(paths, (std::set<std::string>{"/api/v2/deals/4002"}));
}

TEST_F(Connectors, WriteBackSwitchedOffWhilePendingFailsCleanly) {
  Start();
  ASSERT_EQ(PipedriveConnector("http://127.0.0.1:1").status, 201);
  ASSERT_EQ(Pipedrive(Fixture("pipedrive/v2_deal_create.json")).status, 200);
  // The CRM is unreachable; the admin turns write-back off and removes the token.
  Reply p = server->Call("PATCH", "/v1/connectors/pd", key, {{"write_back", false}, {"credentials", {{"api_token", nullptr}}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["credentials_set"], Json::array({"webhook_password", "webhook_user"}));
  ASSERT_TRUE(WaitFor([&] {
    Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
    return d.body["items"].size() == 1 && d.body["items"][0]["status"] == "failed";
  })) << server->Call("GET", "/v1/connectors/pd/deliveries", key).raw;
  Reply d = server->Call("GET", "/v1/connectors/pd/deliveries", key);
  EXPECT_NE(d.body["items"][0]["last_error"].get<std::string>().find("switched off"), std::string::npos);
  EXPECT_EQ(server->Call("GET", "/healthz", "").status, 200);
  // Decisions go on, with nothing more to write back.
  Json next = Fixture("pipedrive/v2_deal_create.json");  // another deal (4002's owner stays the one refused)
  next["meta"]["correlation_id"] = "again";
  next["meta"]["id"] = next["meta"]["entity_id"] = "4003";
  next["data"]["id"] = 4003;
  ASSERT_EQ(Pipedrive(next).status, 200);
  EXPECT_EQ(server->Call("GET", "/v1/connectors/pd/deliveries", key).body["items"].size(), 1u);

  // Switched on again against a CRM that answers: the failed write-back is sent again.
  FakeCrm crm;
  p = server->Call("PATCH", "/v1/connectors/pd", key,
                   {{"write_back", true}, {"api_base", crm.base()}, {"credentials", {{"api_token", "tok"}}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  const std::string id = d.body["items"][0]["id"];
  EXPECT_EQ(server->Call("POST", "/v1/connectors/pd/deliveries/wb_nope/retry", key).status, 404);
  EXPECT_EQ(server->Call("POST", "/v1/connectors/other/deliveries/" + id + "/retry", key).status, 404);
  Reply retry = server->Call("POST", "/v1/connectors/pd/deliveries/" + id + "/retry", key);
  EXPECT_EQ(retry.status, 202) << retry.raw;
  ASSERT_TRUE(WaitFor([&] {
    return server->Call("GET", "/v1/connectors/pd/deliveries", key).body["items"][0]["status"] == "delivered";
  })) << server->Call("GET", "/v1/connectors/pd/deliveries", key).raw;
  ASSERT_EQ(crm.Writes().size(), 1u);
  EXPECT_EQ(crm.Writes()[0].path, "/api/v2/deals/4002");
}

TEST_F(Connectors, UserSyncReadsEveryPage) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(PipedriveConnector(crm.base()).status, 201);
  Reply sync = server->Call("POST", "/v1/connectors/pd/sync-users", key);
  ASSERT_EQ(sync.status, 200) << sync.raw;
  EXPECT_EQ(sync.body["users"], 3);
  EXPECT_EQ(sync.body["created"], 1);  // 13 is new; 7 and 12 existed
  EXPECT_EQ(sync.body["inactive"], 1);
  Reply cy = server->Call("GET", "/v1/users/13", key);
  EXPECT_EQ(cy.body["name"], "Cy Young");
  EXPECT_EQ(cy.body["active"], false);
  EXPECT_EQ(server->Call("GET", "/v1/users/12", key).body["email"], "ada@example.com");
  EXPECT_EQ(server->Call("POST", "/v1/connectors/pd/sync-users", key).body["unchanged"], 3);

  ASSERT_EQ(Connector({{"id", "hs"}, {"kind", "hubspot"}, {"api_base", crm.base()},
                       {"credentials", {{"app_secret", "a"}, {"access_token", "pat-1"}}},
                       {"user_map", {{"ada", "41629779"}}}})
                .status,
            201);
  Reply hs = server->Call("POST", "/v1/connectors/hs/sync-users", key);
  ASSERT_EQ(hs.status, 200) << hs.raw;
  EXPECT_EQ(hs.body["users"], 4);  // two pages of owners and one archived
  EXPECT_EQ(server->Call("GET", "/v1/users/ada", key).body["name"], "Ada Lovelace");  // mapped, not duplicated
  EXPECT_EQ(server->Call("GET", "/v1/users/41629781", key).body["name"], "Cy Young");
  EXPECT_EQ(server->Call("GET", "/v1/users/41629700", key).body["active"], false);
  int owner_pages = 0;
  for (const auto& g : crm.got()) {
    if (g.path.rfind("/crm/v3/owners", 0) == 0) {
      ++owner_pages;
      EXPECT_EQ(g.auth, "Bearer pat-1");
    }
  }
  EXPECT_EQ(owner_pages, 3);

  // The CRM not answering: a clear error, no user changed.
  ASSERT_EQ(server->Call("PATCH", "/v1/connectors/hs", key, {{"api_base", "http://127.0.0.1:1"}}).status, 200);
  Reply down = server->Call("POST", "/v1/connectors/hs/sync-users", key);
  EXPECT_EQ(down.status, 503) << down.raw;
  EXPECT_EQ(down.body["error"]["code"], "crm_unavailable");
  EXPECT_EQ(down.body["error"]["message"].get<std::string>().rfind(
                "GET /crm/v3/owners from hubspot got no answer (Connection", 0),
            0u)
      << down.raw;
}

TEST_F(Connectors, GenericMapsAnyBodyAndSignsItsWriteBack) {
  Start();
  FakeCrm crm;
  ASSERT_EQ(Connector({{"id", "crm"}, {"kind", "generic"}, {"api_base", crm.base() + "/hooks/rota"},
                       {"credentials", {{"secret", "shh"}}},
                       {"field_map", {{"record_id", "$.payload.key"}, {"object_type", "$.payload.kind"},
                                      {"properties", "$.payload.fields"}, {"idempotency_key", "$.delivery"}}},
                       {"object_map", {{"opportunity", "deal"}}}})
                .status,
            201);
  Json body = {{"delivery", "d-1"}, {"payload", {{"key", 42}, {"kind", "opportunity"}, {"fields", {{"county", "Kent"}}}}}};
  const std::string raw = body.dump();
  auto sign = [&](const std::string& secret, int64_t t) {
    return "t=" + std::to_string(t) + ",v1=" + Hex(Hmac(secret, std::to_string(t) + "." + raw));
  };
  const int64_t now = NowMs() / 1000;
  EXPECT_EQ(server->Call("POST", "/v1/connectors/crm/generic", "", body, {{"Rota-Signature", sign("nope", now)}}).status, 401);
  EXPECT_EQ(server->Call("POST", "/v1/connectors/crm/generic", "", body, {{"Rota-Signature", sign("shh", now - 600)}}).status, 401);
  Reply r = server->Call("POST", "/v1/connectors/crm/generic", "", body, {{"Rota-Signature", sign("shh", now)}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["owner"], "7");
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 1; }));
  auto g = crm.Writes()[0];
  EXPECT_EQ(g.path, "/hooks/rota");
  EXPECT_EQ(g.body["record_id"], "42");
  EXPECT_EQ(g.body["owner"], "7");
  std::string t = g.signature.substr(2, g.signature.find(',') - 2);
  EXPECT_EQ(g.signature, "t=" + t + ",v1=" + Hex(Hmac("shh", t + "." + g.body.dump())));
  Reply sent = server->Call("GET", "/v1/connectors/crm/deliveries", key);
  ASSERT_EQ(sent.body["items"].size(), 1u) << sent.raw;
  EXPECT_EQ(g.delivery, sent.body["items"][0]["id"]) << "a generic write-back carries its delivery id";
  Json unmapped = body;
  unmapped["payload"]["kind"] = "spaceship";
  const std::string raw2 = unmapped.dump();
  Reply bad = server->Call("POST", "/v1/connectors/crm/generic", "", unmapped,
                           {{"Rota-Signature", "t=" + std::to_string(now) + ",v1=" + Hex(Hmac("shh", std::to_string(now) + "." + raw2))}});
  EXPECT_EQ(bad.status, 422) << bad.raw;
  // A CRM's key longer than the API takes (in its body or its Idempotency-Key header) still
  // names its call: decided once, the same decision when sent again.
  for (const bool in_header : {false, true}) {
    Json keyed = body;
    keyed["payload"]["key"] = in_header ? 44 : 43;
    const std::string long_key = std::string(300, in_header ? 'h' : 'b');
    if (in_header) {
      keyed.erase("delivery");
    } else {
      keyed["delivery"] = long_key;
    }
    const std::string raw3 = keyed.dump();
    auto call = [&] {
      httplib::Headers headers = {
          {"Rota-Signature", "t=" + std::to_string(now) + ",v1=" + Hex(Hmac("shh", std::to_string(now) + "." + raw3))}};
      if (in_header) headers.emplace("Idempotency-Key", long_key);
      return server->Call("POST", "/v1/connectors/crm/generic", "", keyed, headers);
    };
    Reply first = call();
    ASSERT_EQ(first.status, 200) << first.raw;
    Reply again = call();
    ASSERT_EQ(again.status, 200) << again.raw;
    EXPECT_EQ(again.body["decision_id"], first.body["decision_id"]) << in_header;
  }
  // The owner the body says the CRM has (field_map "owners") is not written back to it when
  // rota decides it again.
  ASSERT_TRUE(WaitFor([&] { return crm.Writes().size() == 3; })) << crm.Writes().size();
  Reply patched = server->Call("PATCH", "/v1/connectors/crm", key,
                               {{"field_map", {{"record_id", "$.payload.key"}, {"object_type", "$.payload.kind"},
                                               {"properties", "$.payload.fields"}, {"owners", "$.payload.owners"}}}});
  ASSERT_EQ(patched.status, 200) << patched.raw;
  Reply next = server->Call("POST", "/v1/assign", key,
                            {{"object_type", "deal"}, {"event", "created"}, {"dry_run", true},
                             {"record", {{"id", "52"}, {"properties", {{"county", "Kent"}}}}}});
  ASSERT_EQ(next.status, 200) << next.raw;
  Json owned = body;
  owned["payload"]["key"] = 52;
  owned["payload"]["owners"] = {next.body["owner"]};
  const std::string raw4 = owned.dump();
  Reply same = server->Call("POST", "/v1/connectors/crm/generic", "", owned,
                            {{"Rota-Signature", "t=" + std::to_string(now) + ",v1=" + Hex(Hmac("shh", std::to_string(now) + "." + raw4))}});
  ASSERT_EQ(same.status, 200) << same.raw;
  EXPECT_EQ(same.body["owner"], next.body["owner"]) << same.raw;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(crm.Writes().size(), 3u) << "the owner the CRM sent was written back to it";
}

}  // namespace
}  // namespace rota::testing
