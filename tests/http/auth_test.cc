// Keys, roles and workspace isolation over HTTP (issue 4).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "api_util.h"

namespace rota::testing {
namespace {

TEST(ApiAuth, MissingOrBadKeyIs401) {
  RotaServer s;
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/users", ""), 401));
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/users", "rota_0000"), 401));
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", "", AssignBody("D-1")), 401));
  // Not a Bearer header.
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/users", "", nullptr, {{"Authorization", "Basic " + s.admin_key()}}), 401));
  // The scheme in any case, with any spaces after it (RFC 9110: case-insensitive).
  EXPECT_EQ(s.Call("GET", "/v1/users", "", nullptr, {{"Authorization", "bearer  " + s.admin_key() + " "}}).status, 200);
  // A 401 stores nothing.
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/users", "nope", User("u-1")), 401));
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/users/u-1", s.admin_key()), 404));
}

// One request written byte for byte (a client library would not send a NUL in a header);
// the status line's code, or 0.
int RawStatus(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[64] = {};
    if (recv(fd, buf, sizeof buf - 1, MSG_WAITALL) > 12) status = std::atoi(buf + 9);  // "HTTP/1.1 401"
  }
  close(fd);
  return status;
}

// The key is the whole header: one followed by a NUL and more is not the key.
TEST(ApiAuth, AKeyWithMoreAfterANulIsNotTheKey) {
  RotaServer s;
  const std::string head = "GET /v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + s.admin_key();
  EXPECT_EQ(RawStatus(s.port(), head + "\r\n\r\n"), 200);
  EXPECT_EQ(RawStatus(s.port(), head + std::string("\0garbage", 8) + "\r\n\r\n"), 401);
}

TEST(ApiAuth, BootstrapKeyFromEnvironment) {
  RotaServer s("", {{"ROTA_BOOTSTRAP_KEY", "rota_bootstrap_secret_1"}});
  EXPECT_EQ(s.Call("GET", "/v1/users", "rota_bootstrap_secret_1").status, 200);
  EXPECT_EQ(s.Call("POST", "/v1/users", "rota_bootstrap_secret_1", User("u-1")).status, 201);
  // The chosen key is the first admin key: no generated key beside it, revoked or not.
  Reply keys = s.Call("GET", "/v1/keys", "rota_bootstrap_secret_1");
  ASSERT_EQ(keys.status, 200) << keys.raw;
  ASSERT_EQ(keys.body["items"].size(), 1u) << keys.raw;
  EXPECT_EQ(keys.body["items"][0]["role"], "admin");
  EXPECT_EQ(keys.body["items"][0]["revoked"], false) << keys.raw;
}

TEST(ApiAuth, KeysCreateListRevoke) {
  RotaServer s;
  As admin{s, s.admin_key()};
  Reply r = admin.Post("/v1/keys", {{"role", "member"}, {"can_reassign", true}, {"name", "console"}});
  ASSERT_EQ(r.status, 201) << r.raw;
  ASSERT_TRUE(r.body["key"].is_string());
  ASSERT_TRUE(r.body["id"].is_string());
  EXPECT_EQ(r.body["role"], "member");
  EXPECT_EQ(r.body["can_reassign"], true);
  EXPECT_EQ(r.body["name"], "console");
  const std::string secret = r.body["key"], id = r.body["id"];
  EXPECT_EQ(s.Call("GET", "/v1/users", secret).status, 200);
  // A key is the caller's workspace's: a field naming another (or misspelt) is refused.
  Reply other = admin.Post("/v1/keys", {{"role", "admin"}, {"workspace", "elsewhere"}});
  EXPECT_TRUE(IsError(other, 422)) << other.raw;
  EXPECT_TRUE(HasDetail(other, "workspace")) << other.raw;
  Reply nul_name = admin.Post("/v1/keys", {{"role", "member"}, {"name", std::string("a\0b", 3)}});
  EXPECT_TRUE(HasDetail(nul_name, "name")) << nul_name.raw;

  Reply list = admin.Get("/v1/keys");
  ASSERT_EQ(list.status, 200) << list.raw;
  bool found = false;
  for (const Json& k : list.body["items"]) {
    EXPECT_FALSE(k.contains("key")) << "a listed key shows its secret: " << k;
    EXPECT_EQ(k.dump().find(secret), std::string::npos);
    if (k["id"] == id) {
      found = true;
      EXPECT_EQ(k["role"], "member");
      EXPECT_EQ(k["revoked"], false);
    }
  }
  EXPECT_TRUE(found) << list.raw;

  // Invalid bodies.
  Reply bad = admin.Post("/v1/keys", {{"role", "owner"}});
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "role"));
  EXPECT_TRUE(IsError(admin.Post("/v1/keys", Json::array()), 422));

  // Revoke: 204, then the key is refused with 401.
  Reply del = admin.Delete("/v1/keys/" + id);
  EXPECT_EQ(del.status, 204) << del.raw;
  EXPECT_TRUE(del.raw.empty());
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/users", secret), 401));
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", secret, Requested("D-1", {{"pool", "p"}})), 401));
  EXPECT_TRUE(IsError(admin.Delete("/v1/keys/key_nosuchkey"), 404));

  // Other roles may not manage keys.
  Reply member = admin.Post("/v1/keys", {{"role", "member"}});
  ASSERT_EQ(member.status, 201);
  EXPECT_EQ(member.body["can_reassign"], false);
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/keys", member.body["key"], {{"role", "admin"}}), 403));
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/keys", member.body["key"]), 403));
  EXPECT_TRUE(IsError(s.Call("DELETE", "/v1/keys/" + member.body["id"].get<std::string>(), member.body["key"]), 403));

  // Keys are listed by id, in pages: a walk of one key a page gives each of the three once.
  std::vector<std::string> walked;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    Reply p = admin.Get("/v1/keys?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(p.status, 200) << p.raw;
    ASSERT_EQ(p.body["items"].size(), 1u) << p.raw;
    walked.push_back(p.body["items"][0]["id"]);
    if (p.body["next_cursor"].is_null()) break;
    cursor = p.body["next_cursor"];
  }
  EXPECT_EQ(walked.size(), 3u);
  EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end()));
  EXPECT_EQ(std::set<std::string>(walked.begin(), walked.end()).size(), 3u);
  EXPECT_TRUE(IsError(admin.Get("/v1/keys?limit=1001"), 422));
  EXPECT_TRUE(IsError(admin.Get("/v1/keys?cursor=nope"), 422));
}

// GET /v1/me names the caller's own key, for every role; a revoked key gets 401 there too.
TEST(ApiAuth, MeNamesTheCallersKey) {
  RotaServer s;
  As admin{s, s.admin_key()};
  Reply me = admin.Get("/v1/me");
  ASSERT_EQ(me.status, 200) << me.raw;
  EXPECT_EQ(me.body["workspace"], "default");
  EXPECT_EQ(me.body["role"], "admin");
  ASSERT_TRUE(me.body["key_id"].is_string());
  Reply keys = admin.Get("/v1/keys");
  ASSERT_EQ(keys.status, 200);
  ASSERT_EQ(keys.body["items"].size(), 1u);
  EXPECT_EQ(me.body["key_id"], keys.body["items"][0]["id"]);

  Reply reassigner = admin.Post("/v1/keys", {{"role", "member"}, {"can_reassign", true}});
  Reply plain = admin.Post("/v1/keys", {{"role", "member"}});
  Reply integration = admin.Post("/v1/keys", {{"role", "integration"}});
  ASSERT_EQ(reassigner.status, 201);
  ASSERT_EQ(plain.status, 201);
  ASSERT_EQ(integration.status, 201);
  for (const Reply* k : {&reassigner, &plain, &integration}) {
    Reply r = s.Call("GET", "/v1/me", k->body["key"]);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["key_id"], k->body["id"]);
    EXPECT_EQ(r.body["role"], k->body["role"]);
    EXPECT_EQ(r.body["can_reassign"], k->body["can_reassign"]);
    EXPECT_FALSE(r.body.contains("key")) << "the secret is never shown again: " << r.raw;
  }
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/me", ""), 401));
  ASSERT_EQ(s.Call("DELETE", "/v1/keys/" + plain.body["id"].get<std::string>(), s.admin_key()).status, 204);
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/me", plain.body["key"]), 401));
}

TEST(ApiAuth, RevokedCliKeyIs401) {
  RotaServer s;
  auto [code, out] = RunRota({"keys", "create", "--db", s.db(), "--workspace", "default", "--role", "integration"});
  ASSERT_EQ(code, 0) << out;
  const std::string key = PrintedKey(out), id = PrintedKeyId(out);
  ASSERT_FALSE(key.empty()) << out;
  EXPECT_EQ(s.Call("PUT", "/v1/records/deal/D-1", key, {{"properties", {{"x", 1}}}}).status, 200);
  auto [rc, rout] = RunRota({"keys", "revoke", id, "--db", s.db()});
  ASSERT_EQ(rc, 0) << rout;
  EXPECT_TRUE(IsError(s.Call("PUT", "/v1/records/deal/D-1", key, {{"properties", {{"x", 2}}}}), 401));
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/records/deal/D-1", key), 401));
  // The revoked key listed as such.
  auto [lc, lout] = RunRota({"keys", "list", "--db", s.db(), "--workspace", "default"});
  EXPECT_EQ(lc, 0);
  EXPECT_NE(lout.find("revoked"), std::string::npos) << lout;
}

// POST /v1/assign takes a key it has seen from memory, and the decision's own transaction
// confirms it: a key revoked since, by the CLI (another process) or the API, decides,
// replays and dry-runs nothing, and its other errors are 401 too.
TEST(ApiAuth, AKeyRevokedAfterItDecidedDecidesNothingMore) {
  RotaServer s;
  As admin{s, s.admin_key()};
  SeedRoundRobin(admin);
  auto [code, out] = RunRota({"keys", "create", "--db", s.db(), "--workspace", "default", "--role", "integration"});
  ASSERT_EQ(code, 0) << out;
  const std::string key = PrintedKey(out), id = PrintedKeyId(out);
  const httplib::Headers replayable = {{"Idempotency-Key", "k-1"}};
  ASSERT_EQ(s.Call("POST", "/v1/assign", key, AssignBody("D-1"), replayable).status, 200);
  Json dry = AssignBody("D-9");
  dry["dry_run"] = true;
  ASSERT_EQ(s.Call("POST", "/v1/assign", key, dry).status, 200);
  ASSERT_EQ(s.Call("POST", "/v1/assign", key, AssignBody("D-2")).status, 200);  // from memory
  ASSERT_EQ(s.Call("POST", "/v1/assign", key, AssignBody("D-1"), replayable).status, 200);  // a replay

  auto [rc, rout] = RunRota({"keys", "revoke", id, "--db", s.db()});
  ASSERT_EQ(rc, 0) << rout;
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", key, AssignBody("D-3")), 401));
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", key, AssignBody("D-3")), 401));  // read again, still 401
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", key, AssignBody("D-1"), replayable), 401));
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", key, dry), 401));
  EXPECT_TRUE(IsError(s.Call("GET", "/v1/records/deal/D-3", s.admin_key()), 404));
  Reply history = admin.Get("/v1/history");
  ASSERT_EQ(history.status, 200) << history.raw;
  EXPECT_EQ(history.body["items"].size(), 2u) << history.raw;  // D-1 and D-2

  // Revoked through the API, after a refusal that remembered it: a 401, not the 403 or 422.
  const std::string member = CliKey(s, "member", false);
  const std::string member_id = s.Call("GET", "/v1/me", member).body["key_id"];
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", member, Requested("D-4", {{"pool", "p"}})), 403));
  As integ{s, CliKey(s, "integration", false)};
  EXPECT_TRUE(IsError(integ.Post("/v1/assign", {{"object_type", "deal"}}), 422));
  ASSERT_EQ(admin.Delete("/v1/keys/" + member_id).status, 204);
  EXPECT_TRUE(IsError(s.Call("POST", "/v1/assign", member, Requested("D-4", {{"pool", "p"}})), 401));
  const std::string integ_id = integ.Get("/v1/me").body["key_id"];
  ASSERT_EQ(admin.Delete("/v1/keys/" + integ_id).status, 204);
  EXPECT_TRUE(IsError(integ.Post("/v1/assign", {{"object_type", "deal"}}), 401));
  EXPECT_TRUE(IsError(integ.Post("/v1/assign", AssignBody("D-5")), 401));
  EXPECT_EQ(admin.Get("/v1/history").body["items"].size(), 2u);
}

// A key revoked while its decision waits for the database's write lock (held here, as
// another process would): asked before the revocation and not yet stored, the decision gets
// 401 and stores nothing, whether the server had seen the key before or not.
TEST(ApiAuth, ADecisionWaitingWhenItsKeyIsRevokedIsRefused) {
  RotaServer s;
  As admin{s, s.admin_key()};
  SeedRoundRobin(admin);
  for (const bool seen_before : {false, true}) {
    SCOPED_TRACE(seen_before ? "a key seen before" : "a key not seen before");
    auto [code, out] = RunRota({"keys", "create", "--db", s.db(), "--workspace", "default", "--role", "integration"});
    ASSERT_EQ(code, 0) << out;
    const std::string key = PrintedKey(out), id = PrintedKeyId(out);
    const std::string record = seen_before ? "W-2" : "W-1";
    if (seen_before) {
      ASSERT_EQ(s.Call("POST", "/v1/assign", key, AssignBody("W-0")).status, 200);
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(s.db().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    auto decision = std::async(std::launch::async, [&] { return s.Call("POST", "/v1/assign", key, AssignBody(record)); });
    // Read and checked by now, the decision waits for the write lock. A key not seen before
    // is read on the way: time for it, so that the revocation below comes after that read.
    EXPECT_EQ(decision.wait_for(std::chrono::milliseconds(seen_before ? 400 : 2000)), std::future_status::timeout);
    const std::string revoke = "UPDATE api_keys SET revoked_at=1 WHERE id='" + id + "'";
    ASSERT_EQ(sqlite3_exec(db, revoke.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
    Reply r = decision.get();
    EXPECT_TRUE(IsError(r, 401)) << r.raw;
    EXPECT_TRUE(IsError(s.Call("GET", "/v1/records/deal/" + record, s.admin_key()), 404));
  }
}

// Member: reads everything, changes nothing, and may only request assignment to a pool
// or rule when its key has can_reassign.
TEST(ApiAuth, MemberRole) {
  RotaServer s;
  As admin{s, s.admin_key()};
  SeedRoundRobin(admin);
  ASSERT_EQ(admin.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "county"}}).status, 201);
  ASSERT_EQ(admin.Put("/v1/records/deal/D-0", {{"properties", {{"x", 1}}}}).status, 200);
  Reply k = admin.Post("/v1/keys", {{"role", "member"}, {"can_reassign", true}});
  ASSERT_EQ(k.status, 201);
  As member{s, k.body["key"]};
  As plain{s, CliKey(s, "member", false)};

  for (const char* path : {"/v1/users", "/v1/users/A", "/v1/pools", "/v1/pools/p", "/v1/rules", "/v1/rules/r-pool",
                           "/v1/distributions", "/v1/distributions/d", "/v1/settings", "/v1/config", "/v1/history",
                           "/v1/unassigned", "/v1/records/deal/D-0"}) {
    EXPECT_EQ(member.Get(path).status, 200) << path;
    EXPECT_EQ(plain.Get(path).status, 200) << path;
  }
  // No change of any kind.
  EXPECT_TRUE(IsError(member.Post("/v1/users", User("X")), 403, "forbidden"));
  EXPECT_TRUE(IsError(member.Patch("/v1/users/A", {{"name", "x"}}), 403));
  EXPECT_TRUE(IsError(member.Delete("/v1/users/A"), 403));
  EXPECT_TRUE(IsError(member.Post("/v1/pools", Pool("q", {"A"})), 403));
  EXPECT_TRUE(IsError(member.Patch("/v1/pools/p", {{"name", "x"}}), 403));
  EXPECT_TRUE(IsError(member.Delete("/v1/pools/p"), 403));
  EXPECT_TRUE(IsError(member.Post("/v1/pools/p/members", {{"user", "A"}}), 403));
  EXPECT_TRUE(IsError(member.Delete("/v1/pools/p/members/A"), 403));
  EXPECT_TRUE(IsError(member.Post("/v1/rules", Rule("r2", ToPool("p"))), 403));
  EXPECT_TRUE(IsError(member.Put("/v1/rules/r-pool", Rule("r-pool", ToPool("p"))), 403));
  EXPECT_TRUE(IsError(member.Delete("/v1/rules/r-pool"), 403));
  EXPECT_TRUE(IsError(member.Put("/v1/rules/priority", {{"object_type", "deal"}, {"order", {"r-pool"}}}), 403));
  EXPECT_TRUE(IsError(member.Post("/v1/distributions", {{"id", "e"}, {"object_type", "deal"}, {"property", "x"}}), 403));
  EXPECT_TRUE(IsError(member.Put("/v1/distributions/d/keys/Kent", {{"owners", {{{"user", "A"}, {"percent", 100}}}}}), 403));
  EXPECT_TRUE(IsError(member.Delete("/v1/distributions/d"), 403));
  EXPECT_TRUE(IsError(member.Put("/v1/settings", {{"time_zone", "UTC"}}), 403));
  EXPECT_TRUE(IsError(member.Put("/v1/config", admin.Get("/v1/config").body), 403));
  EXPECT_TRUE(IsError(member.Put("/v1/records/deal/D-0", {{"properties", {{"x", 2}}}}), 403));
  EXPECT_TRUE(IsError(member.Get("/v1/keys"), 403));

  // Assignment: only assign_requested with a target, only with can_reassign.
  EXPECT_TRUE(IsError(member.Post("/v1/assign", AssignBody("D-1")), 403));
  EXPECT_TRUE(IsError(member.Post("/v1/assign", AssignBody("D-1", "assign_requested")), 403));
  EXPECT_TRUE(IsError(plain.Post("/v1/assign", Requested("D-1", {{"pool", "p"}})), 403));
  EXPECT_TRUE(IsError(plain.Post("/v1/assign", Requested("D-1", {{"rule", "r-pool"}})), 403));
  // Such a key may never assign: the role is checked before the body is read.
  EXPECT_TRUE(IsError(plain.Post("/v1/assign", Json{{"x", 1}}), 403));
  EXPECT_TRUE(IsError(plain.Post("/v1/assign/batch", Json{{"items", Json::array()}}), 403));
  {
    auto c = s.Client();
    auto raw = c->Post("/v1/assign", {{"Authorization", "Bearer " + plain.key}}, "{bad", "application/json");
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->status, 403) << raw->body;
  }
  EXPECT_EQ(HistoryCount(admin), 0u);
  EXPECT_EQ(admin.Get("/v1/pools/p").body["next"], "A");

  Reply ok = member.Post("/v1/assign", Requested("D-1", {{"pool", "p"}}));
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["owner"], "A");
  ok = member.Post("/v1/assign", Requested("D-2", {{"rule", "r-pool"}}));
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["owner"], "B");
  // Unknown target: 404 for the member as for anyone.
  EXPECT_TRUE(IsError(member.Post("/v1/assign", Requested("D-3", {{"pool", "nope"}})), 404));
  // The record as rota knows it: a member's request writes none of its data (properties,
  // owners, links, tags, open), which PUT /v1/records would refuse it.
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, Json>>{{"properties", {{"x", 999}}},
                                                 {"owners", {"A", "someone"}},
                                                 {"links", {{"company", "C-9"}}},
                                                 {"tags", {"vip"}},
                                                 {"open", false}}) {
    Json body = Requested("D-0", {{"pool", "p"}});
    body["record"][field] = value;
    Reply r = member.Post("/v1/assign", body);
    EXPECT_TRUE(IsError(r, 403, "forbidden")) << field << ": " << r.raw;
  }
  Reply d0 = member.Post("/v1/assign", Requested("D-0", {{"pool", "p"}}));
  ASSERT_EQ(d0.status, 200) << d0.raw;
  EXPECT_EQ(d0.body["owner"], "C");
  Reply kept = admin.Get("/v1/records/deal/D-0");
  EXPECT_EQ(kept.body["properties"], Json({{"x", 1}})) << kept.raw;
  EXPECT_EQ(kept.body["owners"], Json::array({"C"})) << kept.raw;
  EXPECT_EQ(kept.body["open"], true) << kept.raw;

  // Nothing changed by the refused calls.
  EXPECT_EQ(admin.Get("/v1/users/A").body["name"], "User A");
  EXPECT_EQ(admin.Get("/v1/users").body["items"].size(), 3u);
  EXPECT_EQ(admin.Get("/v1/records/deal/D-0").body["properties"]["x"], 1);
  EXPECT_EQ(admin.Get("/v1/distributions/d").body["keys"].size(), 0u);
}

// Integration: assign (every event) and records, nothing else.
TEST(ApiAuth, IntegrationRole) {
  RotaServer s;
  As admin{s, s.admin_key()};
  SeedRoundRobin(admin);
  Reply k = admin.Post("/v1/keys", {{"role", "integration"}});
  ASSERT_EQ(k.status, 201) << k.raw;
  As integ{s, k.body["key"]};

  Reply r = integ.Post("/v1/assign", AssignBody("D-1"));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["owner"], "A");
  r = integ.Post("/v1/assign", Requested("D-2", {{"pool", "p"}}));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["owner"], "B");
  r = integ.Post("/v1/assign/batch", {{"items", {AssignBody("D-3")}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["decisions"][0]["owner"], "C");
  EXPECT_EQ(integ.Put("/v1/records/deal/D-9", {{"properties", {{"stage", "new"}}}}).status, 200);
  EXPECT_EQ(integ.Get("/v1/records/deal/D-9").status, 200);
  EXPECT_EQ(integ.Get("/v1/records/deal/D-1").body["owners"], Json::array({"A"}));

  for (const char* path : {"/v1/users", "/v1/users/A", "/v1/pools", "/v1/pools/p", "/v1/rules", "/v1/rules/r-pool",
                           "/v1/distributions", "/v1/settings", "/v1/config", "/v1/history", "/v1/unassigned",
                           "/v1/keys"}) {
    EXPECT_TRUE(IsError(integ.Get(path), 403)) << path;
  }
  EXPECT_TRUE(IsError(integ.Post("/v1/users", User("X")), 403));
  EXPECT_TRUE(IsError(integ.Post("/v1/pools/p/members", {{"user", "A"}}), 403));
  EXPECT_TRUE(IsError(integ.Put("/v1/settings", {{"time_zone", "UTC"}}), 403));
  EXPECT_TRUE(IsError(integ.Post("/v1/keys", {{"role", "admin"}}), 403));
  EXPECT_TRUE(IsError(integ.Delete("/v1/rules/r-pool"), 403));
  EXPECT_EQ(admin.Get("/v1/rules").body["items"].size(), 1u);
}

// Keys made by `rota keys create` while the server runs on the same database.
TEST(ApiAuth, CliKeysWorkAgainstTheRunningServer) {
  RotaServer s;
  As admin{s, s.admin_key()};
  SeedRoundRobin(admin);
  As reassign{s, CliKey(s, "member", true)};
  As member{s, CliKey(s, "member", false)};
  As integ{s, CliKey(s, "integration", false)};
  As admin2{s, CliKey(s, "admin", false)};

  EXPECT_EQ(reassign.Get("/v1/users").status, 200);
  EXPECT_EQ(reassign.Post("/v1/assign", Requested("D-1", {{"pool", "p"}})).body["owner"], "A");
  EXPECT_TRUE(IsError(member.Post("/v1/assign", Requested("D-2", {{"pool", "p"}})), 403));
  EXPECT_TRUE(IsError(reassign.Post("/v1/users", User("X")), 403));
  EXPECT_EQ(integ.Post("/v1/assign", AssignBody("D-2")).body["owner"], "B");
  EXPECT_TRUE(IsError(integ.Get("/v1/users"), 403));
  EXPECT_EQ(admin2.Post("/v1/users", User("X")).status, 201);

  // The CLI refuses an unknown role or workspace.
  auto [c1, o1] = RunRota({"keys", "create", "--db", s.db(), "--workspace", "default", "--role", "owner"});
  EXPECT_NE(c1, 0) << o1;
  auto [c2, o2] = RunRota({"keys", "create", "--db", s.db(), "--workspace", "nope", "--role", "admin"});
  EXPECT_NE(c2, 0) << o2;
}

// A second workspace sees none of the first one's objects.
TEST(ApiAuth, WorkspaceIsolation) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  ASSERT_EQ(a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "county"}}).status, 201);
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("D-1")).status, 200);
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("L-1", "created", Json::object(), "lead")).status, 200);  // unassigned
  ASSERT_EQ(a.Put("/v1/settings", {{"default_owners", {{"task", "A"}}}}).status, 200);
  Reply akeys = a.Get("/v1/keys");
  ASSERT_EQ(akeys.status, 200);
  const std::string a_key_id = akeys.body["items"][0]["id"];

  auto [code, out] = RunRota({"workspaces", "create", "B", "--db", s.db()});
  ASSERT_EQ(code, 0) << out;
  As b{s, PrintedKey(out)};
  ASSERT_FALSE(b.key.empty()) << out;
  auto [dup, dout] = RunRota({"workspaces", "create", "B", "--db", s.db()});
  EXPECT_NE(dup, 0) << dout;

  // A's objects are not found.
  for (const char* path : {"/v1/users/A", "/v1/pools/p", "/v1/rules/r-pool", "/v1/distributions/d",
                           "/v1/records/deal/D-1"}) {
    EXPECT_TRUE(IsError(b.Get(path), 404)) << path;
  }
  EXPECT_TRUE(IsError(b.Patch("/v1/users/A", {{"name", "x"}}), 404));
  EXPECT_TRUE(IsError(b.Delete("/v1/users/A"), 404));
  EXPECT_TRUE(IsError(b.Delete("/v1/pools/p"), 404));
  EXPECT_TRUE(IsError(b.Post("/v1/pools/p/members", {{"user", "A"}}), 404));
  EXPECT_TRUE(IsError(b.Put("/v1/rules/r-pool", Rule("r-pool", ToPool("p"))), 404));
  EXPECT_TRUE(IsError(b.Delete("/v1/rules/r-pool"), 404));
  EXPECT_TRUE(IsError(b.Put("/v1/distributions/d/keys/Kent", {{"owners", {{{"user", "A"}, {"percent", 100}}}}}), 404));
  EXPECT_TRUE(IsError(b.Delete("/v1/keys/" + a_key_id), 404));
  EXPECT_TRUE(IsError(b.Post("/v1/assign", Requested("D-1", {{"pool", "p"}})), 404));
  EXPECT_TRUE(IsError(b.Post("/v1/assign", Requested("D-1", {{"rule", "r-pool"}})), 404));
  // …and not listed.
  for (const char* path : {"/v1/users", "/v1/pools", "/v1/rules", "/v1/distributions", "/v1/history", "/v1/unassigned"}) {
    Reply r = b.Get(path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_TRUE(r.body["items"].empty()) << path << ": " << r.raw;
  }
  Reply bkeys = b.Get("/v1/keys");
  ASSERT_EQ(bkeys.status, 200);
  for (const Json& k : bkeys.body["items"]) EXPECT_NE(k["id"], a_key_id);
  Reply cfg = b.Get("/v1/config");
  ASSERT_EQ(cfg.status, 200);
  EXPECT_TRUE(cfg.body["users"].empty());
  EXPECT_TRUE(cfg.body["rules"].empty());
  EXPECT_TRUE(b.Get("/v1/settings").body["default_owners"].empty());

  // B may use the same ids; A keeps its own.
  EXPECT_EQ(b.Post("/v1/users", User("A")).status, 201);
  EXPECT_EQ(b.Patch("/v1/users/A", {{"name", "B's A"}}).status, 200);
  EXPECT_EQ(a.Get("/v1/users/A").body["name"], "User A");
  // A rule-less B: its deal goes unassigned, A's pool does not move.
  Reply d = b.Post("/v1/assign", AssignBody("D-1"));
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["outcome"], "unassigned");
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");
  EXPECT_EQ(a.Get("/v1/records/deal/D-1").body["owners"], Json::array({"A"}));
  EXPECT_EQ(HistoryCount(a), 2u);
  EXPECT_EQ(HistoryCount(b), 1u);
  // A key made by the CLI for B is B's.
  As b2{s, CliKey(s, "member", false, "B")};
  EXPECT_EQ(b2.Get("/v1/users/A").body["name"], "B's A");
  EXPECT_TRUE(IsError(b2.Get("/v1/pools/p"), 404));
}

}  // namespace
}  // namespace rota::testing
