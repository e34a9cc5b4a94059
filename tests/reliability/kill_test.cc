// Kill -9 under load (issue 7, reliability suite 2 and 3): 8 clients post decisions,
// each with its own idempotency key, while the server is killed at seeded random
// moments and restarted on the same database; clients retry with the same key. Nothing
// acknowledged is lost, nothing is stored twice or by halves, the pool's pointer and the
// key's exact shares hold over the history, and the outbox delivers every decision.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include "reliability.h"

namespace rota::testing::reliability {
namespace {

const std::vector<std::string> kMembers = {"m-1", "m-2", "m-3", "m-4"};
const std::vector<std::pair<std::string, int>> kKey = {{"k-a", 50}, {"k-b", 30}, {"k-c", 20}};

Json Config() {
  Json users = Json::array();
  for (const std::string& m : kMembers) users.push_back({{"id", m}, {"name", "Member " + m}});
  Json owners = Json::array();
  for (const auto& [u, pct] : kKey) {
    users.push_back({{"id", u}, {"name", "Key owner " + u}});
    owners.push_back({{"user", u}, {"percent", pct}});
  }
  users.push_back({{"id", "t-1"}, {"name", "Tasks"}});
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
                    {{"id", "r-tasks"},
                     {"name", "Routed tasks"},
                     {"object_type", "task"},
                     {"events", {"created", "updated"}},
                     {"conditions", {{"all", Json::array({{{"field", "route"}, {"op", "eq"}, {"value", "yes"}}})}}},
                     {"assign", {{"type", "user"}, {"user", "t-1"}}}},
                })},
  };
}

// One request a client makes, and what it finally got.
struct Req {
  std::string idem;
  std::string type, record_id;
  std::string body;     // sent byte for byte on every attempt
  bool as_header = false;
  int attempts = 0;
  bool acked = false;
  std::string error;    // a 4xx, or given up
  std::string decision_id, owner, outcome;
};

// The server's current port, changed at each restart.
struct Live {
  std::atomic<int> port{0};
  std::atomic<bool> stop_new{false};
  std::atomic<bool> give_up{false};
  std::atomic<int> transport_errors{0}, server_errors{0};
};

Req MakeRequest(int thread, int n, std::mt19937& rng, std::vector<std::pair<std::string, bool>>& tasks) {
  Req r;
  r.idem = "idem-" + std::to_string(thread) + "-" + std::to_string(n);
  r.as_header = (n % 2) == 1;
  Json body;
  int dice = std::uniform_int_distribution<int>(0, 99)(rng);
  if (dice < 45) {
    r.type = "lead";
    r.record_id = "L-" + std::to_string(thread) + "-" + std::to_string(n);
    body = {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", r.record_id}, {"properties", {{"source", "web"}}}}}};
  } else if (dice < 90) {
    r.type = "deal";
    r.record_id = "D-" + std::to_string(thread) + "-" + std::to_string(n);
    body = {{"object_type", "deal"}, {"event", "created"}, {"record", {{"id", r.record_id}, {"properties", {{"region", "north"}}}}}};
  } else {
    r.type = "task";
    const bool route = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    if (!tasks.empty() && std::uniform_int_distribution<int>(0, 1)(rng) == 1) {
      // Decide one of this client's earlier tasks again (its last decision is acknowledged).
      auto& [id, was] = tasks[std::uniform_int_distribution<size_t>(0, tasks.size() - 1)(rng)];
      r.record_id = id;
      body = {{"object_type", "task"},
              {"event", "updated"},
              {"previous", {{"route", was ? "yes" : "no"}}},
              {"record", {{"id", id}, {"properties", {{"route", route ? "yes" : "no"}}}}}};
      was = route;
    } else {
      r.record_id = "T-" + std::to_string(thread) + "-" + std::to_string(n);
      body = {{"object_type", "task"}, {"event", "created"}, {"record", {{"id", r.record_id}, {"properties", {{"route", route ? "yes" : "no"}}}}}};
      tasks.emplace_back(r.record_id, route);
    }
  }
  if (!r.as_header) body["idempotency_key"] = r.idem;
  r.body = body.dump();
  return r;
}

// Sends until a 200 (retrying with the same key and body), a 4xx, or giving up.
void Deliver(Req& r, const std::string& key, Live& live, std::unique_ptr<httplib::Client>& client, int& client_port) {
  httplib::Headers h;
  if (r.as_header) h.emplace("Idempotency-Key", r.idem);
  while (!live.give_up) {
    const int port = live.port.load();
    if (!client || port != client_port) {
      client = RawClient(port);
      client->set_read_timeout(20, 0);
      client_port = port;
    }
    ++r.attempts;
    Raw a = Send(*client, "POST", "/v1/assign", key, r.body, "application/json", h);
    if (a.status == 200 && a.json.is_object()) {
      r.acked = true;
      r.decision_id = a.json.value("decision_id", "");
      r.outcome = a.json.value("outcome", "");
      r.owner = a.json["owner"].is_string() ? a.json["owner"].get<std::string>() : "";
      return;
    }
    if (a.status >= 400 && a.status < 500) {
      r.error = std::to_string(a.status) + " " + a.body;
      return;
    }
    if (a.status == 0) {
      ++live.transport_errors;
      client.reset();  // a dead connection: reconnect (to the new port once there is one)
    } else {
      ++live.server_errors;
      r.error = "server error " + std::to_string(a.status) + " " + a.body;  // kept if never acknowledged
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (r.error.empty()) r.error = "given up after " + std::to_string(r.attempts) + " attempts";
}

class KillUnderLoad : public ::testing::TestWithParam<std::string> {};

TEST_P(KillUnderLoad, AcknowledgedDecisionsSurviveAndNothingIsHalfStored) {
  TempDir dir;
  Backend backend = MakeBackend(GetParam(), dir);
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  const bool full = Full();
  const int kills = full ? 20 : 4;
  const int threads = 8;
  const unsigned seed = Seed();
  std::mt19937 schedule(seed);
  Figures fig("kill9/" + GetParam());
  fig.Set("seed", seed);

  Receiver receiver;
  const std::vector<std::string> args = {"--quiet", "--webhook-backoff-ms", "50", "--webhook-lease-ms", "1000",
                                         "--webhook-timeout-ms", "400"};
  auto server = std::make_unique<RotaServer>(backend.db, std::map<std::string, std::string>{}, args);
  const std::string key = server->admin_key();
  ASSERT_FALSE(key.empty()) << server->Output();
  Reply cfg = server->Call("PUT", "/v1/config", key, Config());
  ASSERT_EQ(cfg.status, 200) << cfg.raw;
  Reply hook = server->Call("POST", "/v1/webhooks", key,
                            {{"id", "rel"}, {"url", receiver.url()},
                             {"events", {"decision.assigned", "decision.unassigned"}}, {"secret", "s"}});
  ASSERT_EQ(hook.status, 201) << hook.raw;

  Live live;
  live.port = server->port();
  std::vector<std::vector<Req>> done(threads);
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(seed * 31 + t);
      std::vector<std::pair<std::string, bool>> tasks;
      std::unique_ptr<httplib::Client> client;
      int client_port = 0;
      for (int n = 0; !live.stop_new; ++n) {
        Req r = MakeRequest(t, n, rng, tasks);
        Deliver(r, key, live, client, client_port);
        const bool failed = !r.acked;
        done[t].push_back(std::move(r));
        if (failed) break;
      }
    });
  }

  // Kill at seeded random moments; some right after a restart, most under full load.
  int survived = 0;
  for (int k = 0; k < kills; ++k) {
    int wait_ms = std::uniform_int_distribution<int>(0, 3)(schedule) == 0
                      ? std::uniform_int_distribution<int>(0, 60)(schedule)
                      : std::uniform_int_distribution<int>(150, full ? 1500 : 700)(schedule);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    server->Stop(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(schedule)));
    try {
      server = std::make_unique<RotaServer>(backend.db, std::map<std::string, std::string>{}, args);
    } catch (const std::exception& e) {
      live.give_up = true;
      live.stop_new = true;
      for (auto& c : clients) c.join();
      FAIL() << "the server did not come back after kill " << k + 1 << ": " << e.what();
    }
    live.port = server->port();
    ++survived;
  }
  // A last stretch without kills, then the clients finish what they started.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  live.stop_new = true;
  std::thread watchdog([&] {
    WaitFor([&] { return live.give_up.load(); }, full ? 300000 : 60000);
    live.give_up = true;
  });
  for (auto& c : clients) c.join();
  live.give_up = true;
  watchdog.join();

  std::vector<Req*> all;
  for (auto& v : done) {
    for (Req& r : v) all.push_back(&r);
  }
  fig.Set("kills_survived", survived);
  fig.Set("decisions_made", static_cast<long long>(all.size()));
  std::map<std::string, Req*> by_id;  // decision id → its request
  int unacked = 0, retried = 0;
  for (Req* r : all) {
    if (r->attempts > 1) ++retried;
    if (!r->acked) {
      if (++unacked <= 5) ADD_FAILURE() << "request " << r->idem << " never acknowledged: " << r->error;
      continue;
    }
    ASSERT_FALSE(r->decision_id.empty()) << r->idem;
    EXPECT_TRUE(by_id.emplace(r->decision_id, r).second)
        << "two idempotency keys answered with one decision " << r->decision_id;
  }
  fig.Set("acknowledged", static_cast<long long>(all.size()) - unacked);
  fig.Set("retried_after_kill", retried);
  fig.Set("transport_errors", live.transport_errors);
  fig.Set("server_errors_5xx", live.server_errors);
  ASSERT_EQ(unacked, 0);
  EXPECT_EQ(live.server_errors, 0) << "a live server answered 5xx to a well-formed decision";

  // Idempotency across restarts: the same key and body again answers the same decision
  // (every retried request, and a sample of the others); the same key with another body
  // is a conflict. None of this adds to the history.
  auto client = RawClient(server->port());
  int replays = 0;
  std::mt19937 pick(seed + 7);
  for (Req* r : all) {
    if (r->attempts == 1 && std::uniform_int_distribution<int>(0, 9)(pick) != 0) continue;
    httplib::Headers h;
    if (r->as_header) h.emplace("Idempotency-Key", r->idem);
    Raw a = Send(*client, "POST", "/v1/assign", key, r->body, "application/json", h);
    ++replays;
    ASSERT_EQ(a.status, 200) << r->idem << ": " << a.body;
    EXPECT_EQ(a.json["decision_id"], r->decision_id) << "idempotency key " << r->idem << " has two decisions";
    EXPECT_EQ(a.json["owner"].is_string() ? a.json["owner"].get<std::string>() : "", r->owner) << r->idem;
  }
  for (int i = 0; i < 5 && i < static_cast<int>(all.size()); ++i) {
    Req* r = all[i * all.size() / 5];
    Json other = Json::parse(r->body);
    other["record"]["id"] = "other-" + r->record_id;
    other["idempotency_key"] = r->idem;
    Raw a = Send(*client, "POST", "/v1/assign", key, other.dump());
    ++replays;
    EXPECT_TRUE(IsError(ToReply(a), 409, "idempotency_conflict")) << r->idem;
  }
  fig.Set("replays_checked", replays);

  // The history, oldest first, equals the acknowledged decisions.
  std::vector<Json> history = AllItems(*server, key, "/v1/history");
  std::reverse(history.begin(), history.end());
  fig.Set("found_in_history", static_cast<long long>(history.size()));
  std::set<std::string> hist_ids;
  std::map<std::pair<std::string, std::string>, std::vector<const Json*>> per_record;
  std::vector<std::string> pool_seq, key_seq;
  int strangers = 0, wrong_owner = 0;
  for (const Json& d : history) {
    const std::string id = d["decision_id"].get<std::string>();
    EXPECT_TRUE(hist_ids.insert(id).second) << "decision stored twice: " << id;
    const std::string owner = d["owner"].is_string() ? d["owner"].get<std::string>() : "";
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      if (++strangers <= 5) ADD_FAILURE() << "the history holds a decision no client was answered: " << d.dump();
    } else if (it->second->owner != owner || it->second->record_id != d["record_id"]) {
      if (++wrong_owner <= 5) ADD_FAILURE() << "history and answer disagree on " << id << ": " << d.dump();
    }
    per_record[{d["object_type"].get<std::string>(), d["record_id"].get<std::string>()}].push_back(&d);
    if (d["object_type"] == "lead") pool_seq.push_back(owner);
    if (d["object_type"] == "deal") key_seq.push_back(owner);
  }
  EXPECT_EQ(strangers, 0);
  EXPECT_EQ(wrong_owner, 0);
  int lost = 0;
  for (const auto& [id, r] : by_id) {
    if (!hist_ids.count(id) && ++lost <= 5) ADD_FAILURE() << "acknowledged decision lost: " << id << " (" << r->idem << ")";
  }
  EXPECT_EQ(lost, 0);
  fig.Set("lost", lost);
  fig.Set("unacknowledged_in_history", strangers);

  // Nothing half-stored: each record's owners and activity agree with its decisions.
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<const Json*>>> records(per_record.begin(),
                                                                                                  per_record.end());
  std::atomic<size_t> next{0};
  std::atomic<int> bad_records{0};
  std::mutex fail_mu;
  std::vector<std::string> record_failures;
  std::vector<std::thread> checkers;
  for (int t = 0; t < 4; ++t) {
    checkers.emplace_back([&] {
      auto c = RawClient(server->port());
      for (size_t i = next++; i < records.size(); i = next++) {
        const auto& [rk, decisions] = records[i];
        Raw got = Send(*c, "GET", "/v1/records/" + rk.first + "/" + Encode(rk.second), key);
        std::string why;
        if (got.status != 200) {
          why = "record missing: " + std::to_string(got.status);
        } else {
          const Json& latest = *decisions.back();
          Json expect_owners = Json::array();
          if (latest["owner"].is_string()) {
            expect_owners.push_back(latest["owner"]);
          } else {
            for (auto it = decisions.rbegin(); it != decisions.rend(); ++it) {
              if ((**it)["owner"].is_string()) {
                expect_owners.push_back((**it)["owner"]);
                break;
              }
            }
          }
          if (got.json["owners"] != expect_owners) why = "owners " + got.json["owners"].dump() + ", expected " + expect_owners.dump();
          std::vector<std::string> activity, expected;
          for (const Json& a : got.json["activity"]) {
            if (a["kind"] == "assignment") activity.push_back(a["decision_id"]);
          }
          for (const Json* d : decisions) expected.push_back((*d)["decision_id"]);
          std::sort(activity.begin(), activity.end());
          std::sort(expected.begin(), expected.end());
          if (activity != expected) why += " activity holds other decisions than the history";
        }
        if (!why.empty()) {
          ++bad_records;
          std::lock_guard<std::mutex> lock(fail_mu);
          if (record_failures.size() < 5) record_failures.push_back(rk.first + "/" + rk.second + ": " + why);
        }
      }
    });
  }
  for (auto& t : checkers) t.join();
  for (const std::string& f : record_failures) ADD_FAILURE() << f;
  EXPECT_EQ(bad_records, 0);
  fig.Set("records_checked", static_cast<long long>(records.size()));

  // The unassigned queue: exactly the records whose latest decision is unassigned.
  std::map<std::pair<std::string, std::string>, std::string> expect_queue;
  for (const auto& [rk, decisions] : per_record) {
    if (decisions.back()->value("outcome", "") == "unassigned") expect_queue[rk] = (*decisions.back())["decision_id"];
  }
  std::map<std::pair<std::string, std::string>, std::string> queue;
  for (const Json& u : AllItems(*server, key, "/v1/unassigned")) {
    EXPECT_TRUE(queue.emplace(std::make_pair(u["object_type"].get<std::string>(), u["record_id"].get<std::string>()),
                              u["decision_id"].get<std::string>())
                    .second)
        << "queued twice: " << u.dump();
  }
  EXPECT_EQ(queue, expect_queue) << "the unassigned queue disagrees with the latest decisions";
  fig.Set("unassigned_queued", static_cast<long long>(queue.size()));

  // The pool: the exact cycle in history order, and the pointer after the last one.
  int off_cycle = 0;
  for (size_t i = 0; i < pool_seq.size(); ++i) {
    if (pool_seq[i] != kMembers[i % kMembers.size()] && ++off_cycle <= 5) {
      ADD_FAILURE() << "pool decision " << i << " went to " << pool_seq[i] << ", expected " << kMembers[i % kMembers.size()];
    }
  }
  EXPECT_EQ(off_cycle, 0);
  Reply pool = server->Call("GET", "/v1/pools/rr", key);
  ASSERT_EQ(pool.status, 200) << pool.raw;
  if (!pool_seq.empty()) {
    auto last = std::find(kMembers.begin(), kMembers.end(), pool_seq.back());
    ASSERT_NE(last, kMembers.end());
    EXPECT_EQ(pool.body["next"], kMembers[(last - kMembers.begin() + 1) % kMembers.size()])
        << "the pool pointer does not follow the last stored pool decision";
  }
  fig.Set("pool_decisions", static_cast<long long>(pool_seq.size()));

  // The key: every window of 100 consecutive decisions is exactly 50/30/20, and every
  // prefix is within one record of its share.
  std::map<std::string, int> window, prefix;
  int bad_windows = 0, bad_prefixes = 0;
  for (size_t i = 0; i < key_seq.size(); ++i) {
    window[key_seq[i]]++;
    prefix[key_seq[i]]++;
    for (const auto& [u, pct] : kKey) {
      if (std::abs(prefix[u] - (i + 1) * pct / 100.0) >= 1.0 && ++bad_prefixes <= 5) {
        ADD_FAILURE() << "after " << i + 1 << " key decisions " << u << " has " << prefix[u];
      }
    }
    if (i >= 100) window[key_seq[i - 100]]--;
    if (i >= 99) {
      for (const auto& [u, pct] : kKey) {
        if (window[u] != pct && ++bad_windows <= 5) {
          ADD_FAILURE() << "window of 100 ending at key decision " << i << ": " << u << " got " << window[u];
        }
      }
    }
  }
  EXPECT_EQ(bad_windows, 0);
  EXPECT_EQ(bad_prefixes, 0);
  fig.Set("key_decisions", static_cast<long long>(key_seq.size()));

  // The outbox: every stored decision's event reaches the receiver at least once.
  auto missing = [&] {
    auto got = receiver.events();
    std::vector<std::string> out;
    for (const Json& d : history) {
      const std::string want = d["owner"].is_string() ? "decision.assigned" : "decision.unassigned";
      auto it = got.find(d["decision_id"].get<std::string>());
      if (it == got.end() || !it->second.count(want)) out.push_back(d["decision_id"].get<std::string>());
    }
    return out;
  };
  WaitFor([&] { return missing().empty(); }, full ? 120000 : 30000);
  auto not_delivered = missing();
  EXPECT_TRUE(not_delivered.empty()) << not_delivered.size() << " stored decisions never reached the webhook, e.g. "
                                     << not_delivered.front();
  fig.Set("webhook_events_received", static_cast<long long>(history.size() - not_delivered.size()));
  fig.Set("webhook_attempts", receiver.attempts());
  fig.Set("webhook_redeliveries", receiver.duplicates());
}

INSTANTIATE_TEST_SUITE_P(Backends, KillUnderLoad, ::testing::ValuesIn(BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rota::testing::reliability
