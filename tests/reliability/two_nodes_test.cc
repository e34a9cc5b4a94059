// Two nodes, one database (issue 7, reliability suite 1): two `rota serve` processes
// on one PostgreSQL database, 16 clients spread over both, decisions on one pool and one
// distribution key. The pool's counts differ by at most one (the exact cycle in history
// order), the key's counts are exact per 100, no record is decided twice, none is lost,
// and the history equals the acknowledged decisions. A configuration change made through
// one node is seen by the other node's next decision.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <thread>

#include "reliability.h"

namespace rota::testing::reliability {
namespace {

const std::vector<std::string> kMembers = {"m-1", "m-2", "m-3", "m-4", "m-5"};
const std::vector<std::pair<std::string, int>> kKey = {{"k-a", 50}, {"k-b", 30}, {"k-c", 20}};
constexpr int kClients = 16;

Json Config() {
  Json users = Json::array();
  for (const std::string& m : kMembers) users.push_back({{"id", m}, {"name", "Member " + m}});
  Json owners = Json::array();
  for (const auto& [u, pct] : kKey) {
    users.push_back({{"id", u}, {"name", "Key owner " + u}});
    owners.push_back({{"user", u}, {"percent", pct}});
  }
  users.push_back({{"id", "vip"}, {"name", "VIP desk"}});
  return {
      {"users", users},
      {"pools", Json::array({{{"id", "rr"}, {"name", "Round robin"}, {"object_type", "lead"}, {"members", kMembers}}})},
      {"distributions", Json::array({{{"id", "by-region"},
                                      {"object_type", "deal"},
                                      {"property", "region"},
                                      {"keys", Json::array({{{"value", "north"}, {"owners", owners}}})}}})},
      {"rules", Json::array({
                    {{"id", "r-leads"},
                     {"name", "Leads"},
                     {"object_type", "lead"},
                     {"events", {"created"}},
                     {"conditions", {{"all", Json::array({{{"field", "source"}, {"op", "is_not_empty"}}})}}},
                     {"assign", {{"type", "pool"}, {"pool", "rr"}}}},
                    {{"id", "r-deals"},
                     {"name", "Deals"},
                     {"object_type", "deal"},
                     {"events", {"created"}},
                     {"conditions", {{"all", Json::array({{{"field", "region"}, {"op", "is_not_empty"}}})}}},
                     {"assign", {{"type", "distribution"}, {"distribution", "by-region"}}}},
                })},
  };
}

// Even: a lead for the pool; odd: a deal for the key (its value in varying case).
std::string Body(int i) {
  static const char* kValues[] = {"north", "North", " NORTH "};
  Json b;
  if (i % 2 == 0) {
    b = {{"object_type", "lead"},
         {"event", "created"},
         {"record", {{"id", "L-" + std::to_string(i)}, {"properties", {{"source", "web"}}}}}};
  } else {
    b = {{"object_type", "deal"},
         {"event", "created"},
         {"record", {{"id", "D-" + std::to_string(i)}, {"properties", {{"region", kValues[i % 3]}}}}}};
  }
  b["idempotency_key"] = "two-nodes-" + std::to_string(i);
  return b.dump();
}

struct Ack {
  int node = -1;
  int status = 0;
  std::string decision_id, record_id, owner, error;
};

// One decision through `node`, answered owner (or the error).
std::string DecideOn(const RotaServer& node, const std::string& key, const Json& body) {
  Reply r = node.Call("POST", "/v1/assign", key, body);
  if (r.status != 200) return "error " + std::to_string(r.status) + " " + r.raw;
  return r.body["owner"].is_string() ? r.body["owner"].get<std::string>() : "(unassigned)";
}

// rota_tx_retries_total from the node's /metrics (-1 when missing).
long long TxRetries(const RotaServer& node) {
  Reply m = node.Call("GET", "/metrics", "");
  const std::string name = "\nrota_tx_retries_total ";
  const size_t at = m.raw.find(name);
  return at == std::string::npos ? -1 : std::atoll(m.raw.c_str() + at + name.size());
}

// GET /readyz follows the database (a load balancer takes a node whose database is gone
// out of service); /healthz only says the process is up.
TEST(TwoNodes, postgres_ReadinessFollowsTheDatabase) {
  Backend backend = FreshPostgres();
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  if (std::getenv("ROTA_TEST_PG_URL") != nullptr) GTEST_SKIP() << "drops its database: only on the test server";
  RotaServer node(backend.db, {}, {"--quiet"});
  Reply ready = node.Call("GET", "/readyz", "");
  ASSERT_EQ(ready.status, 200) << ready.raw;
  EXPECT_EQ(ready.body["status"], "ready");
  const std::string db = backend.db.substr(backend.db.rfind('/') + 1);
  const std::string maintenance = backend.db.substr(0, backend.db.rfind('/') + 1) + "postgres";
  PGconn* c = PQconnectdb(maintenance.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, ("DROP DATABASE " + db + " WITH (FORCE)").c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  Reply gone = node.Call("GET", "/readyz", "");
  EXPECT_EQ(gone.status, 503) << gone.raw;
  EXPECT_EQ(gone.body["error"]["code"], "not_ready") << gone.raw;
  EXPECT_EQ(node.Call("GET", "/healthz", "").status, 200);
}

// The backends of the node's database, stopped (SIGSTOP) or resumed (SIGCONT): a server
// that stalls (on its disk, say) while its connections stay open.
void SignalBackends(const std::string& url, int sig) {
  const std::string db = url.substr(url.rfind('/') + 1);
  PGconn* c = PQconnectdb((url.substr(0, url.rfind('/') + 1) + "postgres").c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  const char* params[] = {db.c_str()};
  PGresult* r = PQexecParams(c, "SELECT pid FROM pg_stat_activity WHERE datname=$1", 1, nullptr, params, nullptr,
                             nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  EXPECT_GT(PQntuples(r), 0);
  for (int i = 0; i < PQntuples(r); ++i) EXPECT_EQ(kill(std::atoi(PQgetvalue(r, i, 0)), sig), 0);
  PQclear(r);
  PQfinish(c);
}

// A database that stops answering holds a request for the statement timeout
// (ROTA_PG_STATEMENT_TIMEOUT_MS), which then gets 503 database_unavailable, not for
// ever; once the database answers again, so does the node.
TEST(TwoNodes, postgres_AStalledDatabaseGets503AfterTheStatementTimeout) {
  Backend backend = FreshPostgres();
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  if (std::getenv("ROTA_TEST_PG_URL") != nullptr) GTEST_SKIP() << "stops its backends: only on the test server";
  RotaServer node(backend.db, {{"ROTA_PG_STATEMENT_TIMEOUT_MS", "700"}}, {"--quiet"});
  const std::string key = node.admin_key();
  ASSERT_EQ(node.Call("PUT", "/v1/config", key, Config()).status, 200);
  const Json lead = {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", "L-1"}, {"properties", {{"source", "web"}}}}}};
  Reply first = node.Call("POST", "/v1/assign", key, lead);
  ASSERT_EQ(first.status, 200) << first.raw;

  SignalBackends(backend.db, SIGSTOP);
  const auto started = std::chrono::steady_clock::now();
  Reply stalled = node.Call("POST", "/v1/assign", key, lead);
  const auto took = std::chrono::steady_clock::now() - started;
  SignalBackends(backend.db, SIGCONT);
  EXPECT_EQ(stalled.status, 503) << stalled.raw;
  EXPECT_EQ(stalled.body["error"]["code"], "database_unavailable") << stalled.raw;
  EXPECT_NE(stalled.raw.find("did not answer within 700 ms"), std::string::npos) << stalled.raw;
  EXPECT_GE(took, std::chrono::milliseconds(700));
  EXPECT_LT(took, std::chrono::seconds(5));

  const Json next = {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", "L-2"}, {"properties", {{"source", "web"}}}}}};
  Reply again = node.Call("POST", "/v1/assign", key, next);
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(node.Call("GET", "/readyz", "").status, 200);
}

// A node takes a key it has seen from memory for POST /v1/assign, and the decision's
// transaction confirms it. A revocation through the other node waits for the workspace's
// decision under way, which has confirmed the key: that decision is stored before the
// revocation commits (204), and the key decides nothing on either node after it. Another
// session holds the pool's state row, so that the decision waits inside its transaction.
TEST(TwoNodes, postgres_ARevocationWaitsForTheDecisionThatConfirmedItsKey) {
  Backend backend = FreshPostgres();
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  RotaServer a(backend.db, {}, {"--quiet"});
  const std::string admin = a.admin_key();
  ASSERT_FALSE(admin.empty()) << a.Output();
  RotaServer b(backend.db, {}, {"--quiet"});
  ASSERT_EQ(a.Call("PUT", "/v1/config", admin, Config()).status, 200);
  Reply created = a.Call("POST", "/v1/keys", admin, {{"role", "integration"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string key = created.body["key"], id = created.body["id"];
  auto lead = [](const std::string& id) {
    return Json{{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}, {"properties", {{"source", "web"}}}}}};
  };
  ASSERT_EQ(b.Call("POST", "/v1/assign", key, lead("L-1")).status, 200);  // the pool's state row exists now
  ASSERT_EQ(b.Call("POST", "/v1/assign", key, lead("L-2")).status, 200);  // from b's memory

  PGconn* other = PQconnectdb(backend.db.c_str());
  ASSERT_EQ(PQstatus(other), CONNECTION_OK) << PQerrorMessage(other);
  auto exec = [other](const char* sql) {
    PGresult* r = PQexec(other, sql);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
  };
  // Sessions of this database that wait, as PostgreSQL sees them (`watch` is outside any
  // transaction, so each query sees the activity afresh); true once one does, within 20 s.
  PGconn* watch = PQconnectdb(backend.db.c_str());
  ASSERT_EQ(PQstatus(watch), CONNECTION_OK) << PQerrorMessage(watch);
  auto waiting = [watch](const std::string& condition) {
    const std::string sql =
        "SELECT count(*) FROM pg_stat_activity WHERE datname=current_database() AND " + condition;
    for (int i = 0; i < 400; ++i) {
      PGresult* r = PQexec(watch, sql.c_str());
      const bool found = PQresultStatus(r) == PGRES_TUPLES_OK && std::atoi(PQgetvalue(r, 0, 0)) > 0;
      PQclear(r);
      if (found) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  ASSERT_TRUE(exec("BEGIN"));
  ASSERT_TRUE(exec("SELECT pointer FROM pool_state WHERE workspace='default' FOR UPDATE")) << PQerrorMessage(other);
  auto decision = std::async(std::launch::async, [&] { return b.Call("POST", "/v1/assign", key, lead("L-3")); });
  // The decision has confirmed the key in its transaction, and waits for the row.
  EXPECT_TRUE(waiting("wait_event_type='Lock' AND wait_event IN ('transactionid', 'tuple')"));
  auto revoke = std::async(std::launch::async, [&] { return a.Call("DELETE", "/v1/keys/" + id, admin); });
  EXPECT_TRUE(waiting("wait_event_type='Lock' AND wait_event='advisory'"))
      << "the revocation did not wait for the workspace's decision under way";
  EXPECT_EQ(revoke.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the revocation committed while a decision that confirmed the key was under way";
  ASSERT_TRUE(exec("COMMIT"));
  PQfinish(other);
  PQfinish(watch);
  Reply decided = decision.get();
  EXPECT_EQ(decided.status, 200) << decided.raw;
  EXPECT_EQ(revoke.get().status, 204);
  EXPECT_EQ(a.Call("GET", "/v1/records/lead/L-3", admin).status, 200);
  Reply refused = b.Call("POST", "/v1/assign", key, lead("L-4"));  // b still remembers the key
  EXPECT_EQ(refused.status, 401) << refused.raw;
  EXPECT_EQ(a.Call("POST", "/v1/assign", key, lead("L-5")).status, 401);
  EXPECT_EQ(b.Call("GET", "/v1/records/lead/L-4", admin).status, 404);
  EXPECT_EQ(a.Call("GET", "/v1/records/lead/L-5", admin).status, 404);
}

TEST(TwoNodes, postgres_OnePoolAndOneKeyStayExactAcrossNodes) {
  Backend backend = FreshPostgres();
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  const int decisions = Full() ? 10000 : 2000;
  Figures fig("two_nodes/postgres");

  RotaServer a(backend.db, {}, {"--quiet"});
  const std::string key = a.admin_key();
  ASSERT_FALSE(key.empty()) << a.Output();
  RotaServer b(backend.db, {}, {"--quiet"});  // the database has its workspace: no new key
  Reply cfg = a.Call("PUT", "/v1/config", key, Config());
  ASSERT_EQ(cfg.status, 200) << cfg.raw;
  const std::vector<const RotaServer*> nodes = {&a, &b};

  std::vector<Ack> acks(decisions);
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      const int node = t % 2;  // half the clients on each node
      auto client = RawClient(nodes[node]->port());
      for (int i = next++; i < decisions; i = next++) {
        Ack& ack = acks[i];
        ack.node = node;
        Raw r = Send(*client, "POST", "/v1/assign", key, Body(i));
        ack.status = r.status;
        if (r.status != 200 || !r.json.is_object()) {
          ack.error = r.status == 0 ? "transport: " + r.error : r.body.substr(0, 300);
          continue;
        }
        ack.decision_id = r.json.value("decision_id", "");
        ack.owner = r.json["owner"].is_string() ? r.json["owner"].get<std::string>() : "";
        ack.record_id = (i % 2 == 0 ? "L-" : "D-") + std::to_string(i);
      }
    });
  }
  for (std::thread& c : clients) c.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::map<std::string, const Ack*> by_id;
  std::map<std::string, int> pool_count, key_count;
  int failed = 0, per_node[2] = {0, 0};
  for (int i = 0; i < decisions; ++i) {
    const Ack& ack = acks[i];
    if (ack.status != 200) {
      if (++failed <= 5) ADD_FAILURE() << "decision " << i << " on node " << ack.node << ": " << ack.status << " "
                                       << ack.error;
      continue;
    }
    ++per_node[ack.node];
    EXPECT_TRUE(by_id.emplace(ack.decision_id, &ack).second) << "one decision id answered twice: " << ack.decision_id;
    (i % 2 == 0 ? pool_count : key_count)[ack.owner]++;
  }
  fig.Set("decisions_made", decisions);
  fig.Set("acknowledged", static_cast<long long>(by_id.size()));
  fig.Set("via_node_a", per_node[0]);
  fig.Set("via_node_b", per_node[1]);
  fig.Set("decisions_per_second", static_cast<long long>(decisions / secs));
  ASSERT_EQ(failed, 0);
  EXPECT_GT(per_node[0], 0);
  EXPECT_GT(per_node[1], 0);

  // Pool counts within one of each other; the key's totals exact.
  ASSERT_EQ(pool_count.size(), kMembers.size());
  for (const auto& [m, n] : pool_count) {
    for (const auto& [o, k] : pool_count) EXPECT_LE(std::abs(n - k), 1) << m << " " << n << " vs " << o << " " << k;
  }
  for (const auto& [u, pct] : kKey) EXPECT_EQ(key_count[u], pct * (decisions / 2) / 100) << u;

  // The history (read through node B), oldest first, equals the acknowledged decisions.
  std::vector<Json> history = AllItems(b, key, "/v1/history");
  std::reverse(history.begin(), history.end());
  fig.Set("found_in_history", static_cast<long long>(history.size()));
  std::set<std::string> hist_ids, hist_records;
  std::vector<std::string> pool_seq, key_seq;
  int strangers = 0, twice = 0, disagree = 0;
  for (const Json& d : history) {
    const std::string id = d["decision_id"].get<std::string>();
    EXPECT_TRUE(hist_ids.insert(id).second) << "decision stored twice: " << id;
    if (!hist_records.insert(d["record_id"].get<std::string>()).second && ++twice <= 5) {
      ADD_FAILURE() << "record decided twice: " << d["record_id"];
    }
    const std::string owner = d["owner"].is_string() ? d["owner"].get<std::string>() : "";
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      if (++strangers <= 5) ADD_FAILURE() << "the history holds a decision no client was answered: " << d.dump();
    } else if (it->second->owner != owner || it->second->record_id != d["record_id"]) {
      if (++disagree <= 5) ADD_FAILURE() << "history and answer disagree on " << id << ": " << d.dump();
    }
    (d["object_type"] == "lead" ? pool_seq : key_seq).push_back(owner);
  }
  int lost = 0;
  for (const auto& [id, ack] : by_id) {
    if (!hist_ids.count(id) && ++lost <= 5) ADD_FAILURE() << "acknowledged decision lost: " << id;
  }
  EXPECT_EQ(strangers, 0);
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(disagree, 0);
  EXPECT_EQ(lost, 0);
  fig.Set("lost", lost);
  fig.Set("decided_twice", twice);
  fig.Set("unacknowledged_in_history", strangers);

  // §5.1 across nodes: the exact cycle in storage order.
  int off_cycle = 0;
  for (size_t i = 0; i < pool_seq.size(); ++i) {
    if (pool_seq[i] != kMembers[i % kMembers.size()] && ++off_cycle <= 5) {
      ADD_FAILURE() << "pool decision " << i << " went to " << pool_seq[i] << ", expected "
                    << kMembers[i % kMembers.size()];
    }
  }
  EXPECT_EQ(off_cycle, 0);
  // §5.2 across nodes: every window of 100 key decisions is exactly 50/30/20.
  std::map<std::string, int> window;
  int bad_windows = 0;
  for (size_t i = 0; i < key_seq.size(); ++i) {
    window[key_seq[i]]++;
    if (i >= 100) window[key_seq[i - 100]]--;
    if (i < 99) continue;
    for (const auto& [u, pct] : kKey) {
      if (window[u] != pct && ++bad_windows <= 5) {
        ADD_FAILURE() << "window of 100 ending at key decision " << i << ": " << u << " got " << window[u];
      }
    }
  }
  EXPECT_EQ(bad_windows, 0);
  fig.Set("pool_decisions", static_cast<long long>(pool_seq.size()));
  fig.Set("key_decisions", static_cast<long long>(key_seq.size()));
  fig.Set("bad_key_windows", bad_windows);

  // Both nodes agree on where the pool goes on.
  Reply pa = a.Call("GET", "/v1/pools/rr", key), pb = b.Call("GET", "/v1/pools/rr", key);
  ASSERT_EQ(pa.status, 200) << pa.raw;
  EXPECT_EQ(pa.body["next"], kMembers[(decisions / 2) % kMembers.size()]);
  EXPECT_EQ(pa.body["next"], pb.body["next"]);

  // A change through node A is seen by node B's very next decision, and the other way.
  const Json vip_lead = {{"object_type", "lead"}, {"event", "created"},
                         {"record", {{"id", "VIP-1"}, {"properties", {{"tier", "vip"}}}}}};
  EXPECT_EQ(DecideOn(b, key, vip_lead), "(unassigned)");  // no rule matches yet
  Reply rule = a.Call("POST", "/v1/rules", key,
                      {{"id", "r-vip"}, {"name", "VIP"}, {"object_type", "lead"}, {"events", {"created"}},
                       {"conditions", {{"all", Json::array({{{"field", "tier"}, {"op", "eq"}, {"value", "vip"}}})}}},
                       {"assign", {{"type", "user"}, {"user", "vip"}}}});
  ASSERT_EQ(rule.status, 201) << rule.raw;
  Json vip2 = vip_lead;
  vip2["record"]["id"] = "VIP-2";
  EXPECT_EQ(DecideOn(b, key, vip2), "vip") << "node B decided with the configuration before node A's change";
  Reply removed = b.Call("DELETE", "/v1/pools/rr/members/" + pa.body["next"].get<std::string>(), key);
  ASSERT_EQ(removed.status, 200) << removed.raw;
  const std::string gone = pa.body["next"].get<std::string>();
  for (int i = 0; i < static_cast<int>(kMembers.size()); ++i) {
    Json lead = {{"object_type", "lead"}, {"event", "created"},
                 {"record", {{"id", "AFTER-" + std::to_string(i)}, {"properties", {{"source", "web"}}}}}};
    EXPECT_NE(DecideOn(a, key, lead), gone) << "node A decided with the pool before node B removed " << gone;
  }
  fig.Set("config_changes_seen_across_nodes", 2);
  // Transactions PostgreSQL gave up and the nodes ran again (none surfaced above).
  fig.Set("tx_retries_a", TxRetries(a));
  fig.Set("tx_retries_b", TxRetries(b));
  EXPECT_GE(fig.Get("tx_retries_a"), 0) << "rota_tx_retries_total missing from /metrics";
  RecordProperty("seconds", static_cast<int>(secs));
}

}  // namespace
}  // namespace rota::testing::reliability
