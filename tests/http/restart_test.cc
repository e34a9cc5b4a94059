// `rota serve` keeps everything across a restart, drains requests under way on SIGTERM
// (API.md "Command line"), and takes its first admin key from ROTA_BOOTSTRAP_KEY.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace rota::testing {
namespace {

Json PoolConfig() {
  return {
      {"users", Json::array({{{"id", "a"}, {"name", "A"}}, {{"id", "b"}, {"name", "B"}}, {{"id", "c"}, {"name", "C"}}})},
      {"pools", Json::array({{{"id", "team"}, {"name", "Team"}, {"object_type", "lead"}, {"members", {"a", "b", "c"}}}})},
      {"rules", Json::array({{{"id", "r-leads"},
                              {"name", "Leads"},
                              {"object_type", "lead"},
                              {"events", {"created"}},
                              {"conditions", {{"all", Json::array({{{"field", "source"}, {"op", "is_not_empty"}}})}}},
                              {"assign", {{"type", "pool"}, {"pool", "team"}}}}})},
      {"settings", {{"time_zone", "Europe/Warsaw"}}},
  };
}

Json Lead(const std::string& id) {
  return {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}, {"properties", {{"source", "web"}}}}}};
}

// Every decision in the history, newest first.
std::vector<Json> AllHistory(const RotaServer& server, const std::string& key) {
  std::vector<Json> out;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    Reply r = server.Call("GET", "/v1/history?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor), key);
    EXPECT_EQ(r.status, 200) << r.raw;
    if (r.status != 200) break;
    for (const Json& item : r.body["items"]) out.push_back(item);
    if (!r.body["next_cursor"].is_string() || r.body["items"].empty()) break;
    cursor = r.body["next_cursor"].get<std::string>();
  }
  return out;
}

}  // namespace

TEST(Restart, KeepsKeysConfigPoolPointerAndHistory) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  std::string key;
  Json config_before;
  std::vector<Json> history_before;
  {
    RotaServer first(db);
    key = first.admin_key();
    ASSERT_FALSE(key.empty());
    Reply put = first.Call("PUT", "/v1/config", key, PoolConfig());
    ASSERT_EQ(put.status, 200) << put.raw;
    const std::vector<std::string> expected = {"a", "b", "c", "a"};
    for (size_t i = 0; i < expected.size(); ++i) {
      Reply d = first.Call("POST", "/v1/assign", key, Lead("L-" + std::to_string(i)));
      ASSERT_EQ(d.status, 200) << d.raw;
      EXPECT_EQ(d.body["owner"], expected[i]);
    }
    Reply cfg = first.Call("GET", "/v1/config", key);
    ASSERT_EQ(cfg.status, 200);
    config_before = cfg.body;
    history_before = AllHistory(first, key);
    ASSERT_EQ(history_before.size(), 4u);
    EXPECT_EQ(first.Stop(SIGTERM), 0) << first.Output();
  }

  RotaServer second(db);
  EXPECT_TRUE(second.admin_key().empty()) << "a restart must not print a new admin key:\n" << second.Output();
  EXPECT_EQ(second.Output().find("shown once"), std::string::npos) << second.Output();
  // The old key still works; config and history are intact.
  Reply cfg = second.Call("GET", "/v1/config", key);
  ASSERT_EQ(cfg.status, 200) << cfg.raw;
  EXPECT_EQ(cfg.body, config_before);
  EXPECT_EQ(AllHistory(second, key), history_before);
  // The pool's pointer continues: after a, b, c, a comes b.
  Reply pool = second.Call("GET", "/v1/pools/team", key);
  ASSERT_EQ(pool.status, 200) << pool.raw;
  EXPECT_EQ(pool.body["next"], "b");
  Reply d = second.Call("POST", "/v1/assign", key, Lead("L-after"));
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["owner"], "b");
  Reply d2 = second.Call("POST", "/v1/assign", key, Lead("L-after-2"));
  EXPECT_EQ(d2.body["owner"], "c");
  EXPECT_EQ(AllHistory(second, key).size(), 6u);
  EXPECT_EQ(second.Call("GET", "/v1/users", "rota_not_a_key").status, 401);
}

TEST(Drain, SigtermFinishesTheBatchUnderWayAndExitsZero) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  std::string key;
  Json batch_reply;
  int batch_status = 0;
  std::string batch_error;
  {
    RotaServer server(db);
    key = server.admin_key();
    ASSERT_FALSE(key.empty());
    ASSERT_EQ(server.Call("PUT", "/v1/config", key, PoolConfig()).status, 200);

    Json items = Json::array();
    for (int i = 0; i < 1000; ++i) {
      Json item = Lead("B-" + std::to_string(i));
      item["explain"] = true;
      items.push_back(item);
    }
    const std::string payload = Json{{"items", items}}.dump();
    std::atomic<bool> done{false};
    std::thread batch([&] {
      auto c = server.Client();
      c->set_read_timeout(120, 0);
      auto r = c->Post("/v1/assign/batch", {{"Authorization", "Bearer " + key}}, payload, "application/json");
      if (r) {
        batch_status = r->status;
        batch_reply = Json::parse(r->body, nullptr, false);
      } else {
        batch_error = httplib::to_string(r.error());
      }
      done = true;
    });
    // Wait until the batch's first decisions are committed, then signal.
    auto watcher = server.Client();
    httplib::Headers h = {{"Authorization", "Bearer " + key}};
    bool started = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      auto r = watcher->Get("/v1/history?limit=1", h);
      if (r && r->status == 200) {
        Json j = Json::parse(r->body, nullptr, false);
        if (j.is_object() && !j["items"].empty()) {
          started = true;
          break;
        }
      }
    }
    watcher.reset();
    ASSERT_TRUE(started) << "the batch never began";
    ASSERT_FALSE(done) << "the batch finished before the signal: the test proves nothing";
    int exit_code = server.Stop(SIGTERM);
    batch.join();
    EXPECT_EQ(exit_code, 0) << server.Output();
    EXPECT_NE(server.Output().find("finishing requests under way"), std::string::npos) << server.Output();
    if (getenv("ROTA_TEST_SHOW_LOG")) std::cerr << server.Output().substr(server.Output().size() > 3000 ? server.Output().size() - 3000 : 0);
  }
  ASSERT_EQ(batch_status, 200) << "the request under way must complete: " << batch_error;
  ASSERT_TRUE(batch_reply.is_object());
  ASSERT_EQ(batch_reply["decisions"].size(), 1000u);
  std::set<std::string> answered;
  for (const Json& d : batch_reply["decisions"]) {
    ASSERT_TRUE(d.contains("decision_id")) << d.dump();
    EXPECT_EQ(d["outcome"], "assigned");
    answered.insert(d["decision_id"].get<std::string>());
  }
  ASSERT_EQ(answered.size(), 1000u);

  RotaServer again(db);
  std::set<std::string> stored;
  for (const Json& d : AllHistory(again, key)) stored.insert(d["decision_id"].get<std::string>());
  EXPECT_EQ(stored, answered) << "every decision answered before the stop is in the history, and nothing else";
}

TEST(Bootstrap, ChosenKeyWorksAndNoKeyIsPrinted) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  const std::string chosen = "rota_chosen_bootstrap_key_0123456789";
  {
    RotaServer server(db, {{"ROTA_BOOTSTRAP_KEY", chosen}});
    EXPECT_TRUE(server.admin_key().empty()) << server.Output();
    EXPECT_EQ(server.Output().find("shown once"), std::string::npos) << server.Output();
    EXPECT_EQ(server.Output().find(chosen), std::string::npos) << "the chosen key must not be printed";
    EXPECT_NE(server.Output().find("the one in ROTA_BOOTSTRAP_KEY"), std::string::npos) << server.Output();
    EXPECT_EQ(server.Call("GET", "/v1/users", chosen).status, 200);
    EXPECT_EQ(server.Call("PUT", "/v1/config", chosen, PoolConfig()).status, 200);  // admin role
    EXPECT_EQ(server.Call("GET", "/v1/users", chosen + "x").status, 401);
    EXPECT_EQ(server.Stop(SIGTERM), 0);
  }
  // Not an empty database any more: another ROTA_BOOTSTRAP_KEY changes nothing.
  RotaServer again(db, {{"ROTA_BOOTSTRAP_KEY", "rota_some_other_key_9876543210"}});
  EXPECT_TRUE(again.admin_key().empty()) << again.Output();
  EXPECT_EQ(again.Output().find("the one in ROTA_BOOTSTRAP_KEY"), std::string::npos) << again.Output();
  EXPECT_NE(again.Output().find("ROTA_BOOTSTRAP_KEY ignored"), std::string::npos) << again.Output();
  EXPECT_EQ(again.Call("GET", "/v1/users", chosen).status, 200);
  EXPECT_EQ(again.Call("GET", "/v1/users", "rota_some_other_key_9876543210").status, 401);
}

// Settings that cannot work are refused at start (exit 2, nothing made), not taken quietly.
// A short ROTA_BOOTSTRAP_KEY is the admin key, as API.md says, with a warning.
TEST(Bootstrap, AShortChosenKeyWorksWithAWarning) {
  RotaServer server("", {{"ROTA_BOOTSTRAP_KEY", "adminkey"}});
  EXPECT_NE(server.Output().find("fewer than 16 characters"), std::string::npos) << server.Output();
  EXPECT_EQ(server.Call("GET", "/v1/users", "adminkey").status, 200);
}

TEST(Bootstrap, BadSettingsAreRefusedAtStart) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  setenv("ROTA_BOOTSTRAP_KEY", "two words", 1);
  auto [space_code, space_out] = RunRota({"serve", "--db", db, "--listen", "127.0.0.1:0", "--quiet"});
  unsetenv("ROTA_BOOTSTRAP_KEY");
  EXPECT_EQ(space_code, 2) << space_out;
  EXPECT_NE(space_out.find("ROTA_BOOTSTRAP_KEY cannot hold spaces"), std::string::npos) << space_out;
  auto [keys_code, keys] = RunRota({"keys", "list", "--db", db});
  EXPECT_EQ(keys_code, 0) << keys;
  EXPECT_EQ(std::count(keys.begin(), keys.end(), '\n'), 1) << "only the heading: no key was made: " << keys;

  auto [lease_code, lease] = RunRota({"serve", "--db", db, "--listen", "127.0.0.1:0", "--webhook-timeout-ms", "2000",
                                      "--webhook-lease-ms", "1000"});
  EXPECT_EQ(lease_code, 2) << lease;
  EXPECT_NE(lease.find("--webhook-lease-ms (1000) must be longer than --webhook-timeout-ms (2000)"), std::string::npos)
      << lease;

  for (const char* bad : {"0", "-1", "abc", "12x"}) {
    setenv("ROTA_PG_MAX_CONNECTIONS", bad, 1);
    auto [pg_code, pg] = RunRota({"keys", "list", "--db", "postgresql://rota@127.0.0.1:1/rota"});
    unsetenv("ROTA_PG_MAX_CONNECTIONS");
    EXPECT_EQ(pg_code, 2) << pg;
    EXPECT_NE(pg.find("ROTA_PG_MAX_CONNECTIONS is a whole number from 1 to 1000"), std::string::npos) << bad << ": " << pg;
  }
  for (const char* bad : {"99", "3600001", "1s"}) {
    setenv("ROTA_PG_STATEMENT_TIMEOUT_MS", bad, 1);
    auto [pg_code, pg] = RunRota({"keys", "list", "--db", "postgresql://rota@127.0.0.1:1/rota"});
    unsetenv("ROTA_PG_STATEMENT_TIMEOUT_MS");
    EXPECT_EQ(pg_code, 2) << pg;
    EXPECT_NE(pg.find("ROTA_PG_STATEMENT_TIMEOUT_MS is a whole number from 100 to 3600000"), std::string::npos)
        << bad << ": " << pg;
  }
}

}  // namespace rota::testing
