// A decision that loses a real PostgreSQL deadlock is run again by the node and answered
// 200 with the right owner, never 503 or a wrong owner (issue 7: "a serialization or
// deadlock failure is retried"). Another session holds the pool's state row and then
// asks for the workspace's advisory lock, which the decision holds while it waits for
// that row: PostgreSQL breaks the cycle by failing the decision's transaction (40P01;
// the other session waits longer before it looks for deadlocks).
#include <libpq-fe.h>

#include <chrono>
#include <future>

#include "reliability.h"

namespace rota::testing::reliability {
namespace {

bool Exec(PGconn* c, const std::string& sql, std::string* error) {
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!ok) *error = PQresultErrorMessage(r);
  PQclear(r);
  return ok;
}

long long TxRetries(const RotaServer& node) {
  Reply m = node.Call("GET", "/metrics", "");
  const std::string name = "\nrota_tx_retries_total ";
  const size_t at = m.raw.find(name);
  return at == std::string::npos ? -1 : std::atoll(m.raw.c_str() + at + name.size());
}

Json Lead(const std::string& id) {
  return {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}, {"properties", {{"source", "web"}}}}}};
}

TEST(Deadlock, postgres_ADecisionThatLosesADeadlockIsRunAgain) {
  Backend backend = FreshPostgres();
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  Figures fig("deadlock/postgres");
  RotaServer server(backend.db, {}, {"--quiet"});
  const std::string key = server.admin_key();
  ASSERT_FALSE(key.empty()) << server.Output();
  Json config = {
      {"users", Json::array({{{"id", "a"}, {"name", "A"}}, {{"id", "b"}, {"name", "B"}}, {{"id", "c"}, {"name", "C"}}})},
      {"pools", Json::array({{{"id", "team"}, {"name", "Team"}, {"object_type", "lead"}, {"members", {"a", "b", "c"}}}})},
      {"rules", Json::array({{{"id", "r"}, {"name", "Leads"}, {"object_type", "lead"}, {"events", {"created"}},
                              {"conditions", {{"all", Json::array({{{"field", "source"}, {"op", "is_not_empty"}}})}}},
                              {"assign", {{"type", "pool"}, {"pool", "team"}}}}})},
  };
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, config).status, 200);
  Reply first = server.Call("POST", "/v1/assign", key, Lead("L-1"));
  ASSERT_EQ(first.status, 200) << first.raw;
  ASSERT_EQ(first.body["owner"], "a");  // the pool's state row exists now

  PGconn* other = PQconnectdb(backend.db.c_str());
  ASSERT_EQ(PQstatus(other), CONNECTION_OK) << PQerrorMessage(other);
  std::string err;
  // This session looks for deadlocks only after 20 s, rota's after PostgreSQL's 1 s: the
  // decision is the one PostgreSQL fails.
  ASSERT_TRUE(Exec(other, "SET deadlock_timeout = '20s'", &err)) << err;
  ASSERT_TRUE(Exec(other, "BEGIN", &err)) << err;
  ASSERT_TRUE(Exec(other, "SELECT pointer FROM pool_state WHERE workspace='default' FOR UPDATE", &err)) << err;

  const long long retries_before = TxRetries(server);
  auto decision = std::async(std::launch::async, [&] { return server.Call("POST", "/v1/assign", key, Lead("L-2")); });
  // Let the decision take the workspace lock and wait for the row.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  // Blocks until the decision's transaction is failed and rolled back.
  ASSERT_TRUE(Exec(other, "SELECT pg_advisory_xact_lock(hashtext('default'))", &err)) << err;
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(Exec(other, "COMMIT", &err)) << err;
  PQfinish(other);

  Reply second = decision.get();
  EXPECT_EQ(second.status, 200) << second.raw;
  EXPECT_EQ(second.body["owner"], "b") << second.raw;
  Reply third = server.Call("POST", "/v1/assign", key, Lead("L-3"));
  EXPECT_EQ(third.body["owner"], "c") << third.raw;
  Reply history = server.Call("GET", "/v1/history?limit=10", key);
  ASSERT_EQ(history.status, 200);
  EXPECT_EQ(history.body["items"].size(), 3u) << "the given-up run left nothing behind";
  const long long retries = TxRetries(server) - retries_before;
  EXPECT_GE(retries, 1) << "the decision should have been run again after the deadlock";
  fig.Set("deadlocks_lost_by_the_decision", retries);
  fig.Set("decision_status", second.status);
  fig.Set("ms_until_postgres_broke_the_cycle", static_cast<long long>(waited * 1000));
}

}  // namespace
}  // namespace rota::testing::reliability
