// Isolation (issue 7, reliability suite 6): three workspaces on one server. For every
// route, a key of one workspace can neither read nor change another's objects, nor tell
// whether they exist: asking for another workspace's id answers exactly as asking for
// an id that exists nowhere (status, error code, and message with the id left out).
#include <functional>
#include <regex>

#include "reliability.h"

namespace rota::testing::reliability {
namespace {

struct Ws {
  std::string id, key;
  std::string extra_key, extra_key_id;  // made through POST /v1/keys
  std::string delivery;                 // a (failed) delivery of its webhook
  std::string decision;                 // the decision made with idempotency key ID-idem
  std::string P(const std::string& s) const { return id + "-" + s; }
};

void Seed(const RotaServer& s, Ws& w) {
  As a{s, w.key};
  SeedUsers(a, {w.P("u1"), w.P("u2")});
  ASSERT_EQ(a.Post("/v1/pools", Pool(w.P("p"), {w.P("u1"), w.P("u2")})).status, 201);
  ASSERT_EQ(a.Post("/v1/distributions", Json{{"id", w.P("d")}, {"object_type", "deal"}, {"property", "region"}}).status, 201);
  ASSERT_EQ(a.Put("/v1/distributions/" + w.P("d") + "/keys/north",
                  Json{{"owners", Json::array({{{"user", w.P("u1")}, {"percent", 50}}, {{"user", w.P("u2")}, {"percent", 50}}})}})
                .status,
            200);
  ASSERT_EQ(a.Post("/v1/rules", Rule(w.P("r"), ToPool(w.P("p")))).status, 201);
  ASSERT_EQ(a.Post("/v1/rules", Rule(w.P("rel"), Json{{"type", "related_owner"}, {"relation", "company"}}, "lead")).status, 201);
  ASSERT_EQ(a.Post("/v1/webhooks", Json{{"id", w.P("w")}, {"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated"}}}).status, 201);
  ASSERT_EQ(a.Post("/v1/connectors", Json{{"id", w.P("con")}, {"kind", "generic"}, {"write_back", false},
                                         {"credentials", {{"secret", "s-" + w.id}}}})
                .status,
            201);
  ASSERT_EQ(a.Put("/v1/records/company/" + w.P("C"), Json{{"owners", {w.P("u1")}}}).status, 200);
  Json body = AssignBody(w.P("D"));
  body["idempotency_key"] = w.P("idem");
  Reply d = a.Post("/v1/assign", body);
  ASSERT_EQ(d.status, 200) << d.raw;
  w.decision = d.body["decision_id"];
  ASSERT_EQ(a.Post("/v1/assign", AssignBody(w.P("T"), "created", Json::object(), "task")).status, 200);
  Reply k = a.Post("/v1/keys", Json{{"role", "member"}, {"name", "extra"}});
  ASSERT_EQ(k.status, 201) << k.raw;
  w.extra_key = k.body["key"];
  w.extra_key_id = k.body["id"];
  for (int i = 0; i < 200 && w.delivery.empty(); ++i) {
    Reply l = a.Get("/v1/webhooks/" + w.P("w") + "/deliveries");
    if (l.status == 200 && !l.body["items"].empty() && l.body["items"][0]["status"] == "failed") {
      w.delivery = l.body["items"][0]["id"];
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ASSERT_FALSE(w.delivery.empty());
}

Json Snap(const RotaServer& s, const Ws& w) {
  As a{s, w.key};
  return {{"config", a.Get("/v1/config").body},
          {"keys", a.Get("/v1/keys").body},
          {"webhooks", a.Get("/v1/webhooks").body},
          {"connectors", a.Get("/v1/connectors").body},
          {"deliveries", a.Get("/v1/webhooks/" + w.P("w") + "/deliveries").body},
          {"unassigned", a.Get("/v1/unassigned").body},
          {"history", AllItems(s, w.key, "/v1/history")},
          {"deal", a.Get("/v1/records/deal/" + w.P("D")).body},
          {"company", a.Get("/v1/records/company/" + w.P("C")).body}};
}

// What a caller can observe of an answer, with the probed id taken out.
Json Observed(const Raw& r, const std::string& id) {
  Json o = {{"status", r.status}};
  auto strip = [&](std::string s) {
    for (size_t pos; !id.empty() && (pos = s.find(id)) != std::string::npos;) s.replace(pos, id.size(), "{ID}");
    return s;
  };
  if (r.json.is_object() && r.json.contains("error")) {
    o["code"] = r.json["error"]["code"];
    o["message"] = strip(r.json["error"].value("message", ""));
    Json details = Json::array();
    for (const Json& d : r.json["error"].value("details", Json::array())) details.push_back(strip(d.dump()));
    o["details"] = details;
  } else if (r.json.is_object() && r.json.contains("items")) {
    o["items"] = r.json["items"].size();
  } else if (r.json.is_object() && r.json.contains("outcome")) {
    o["outcome"] = r.json["outcome"];
    o["owner"] = r.json["owner"];
    o["reason"] = r.json["reason"];
  } else if (r.json.is_object() && r.json.contains("rows")) {
    o["rows"] = r.json["rows"];
  } else if (r.status >= 200 && r.status < 300) {
    Json body = r.json;
    if (body.is_object()) {
      // What differs between any two creates: generated secrets, times (also inside a
      // simulation's decisions: two calls may fall on two seconds), a new rule's place.
      std::function<void(Json&)> forget = [&](Json& j) {
        if (j.is_object()) {
          for (const char* k : {"secret", "created_at", "updated_at", "at", "priority", "decision_id"}) j.erase(k);
        }
        if (j.is_object() || j.is_array()) {
          for (Json& child : j) forget(child);
        }
      };
      forget(body);
      o["body"] = strip(body.dump());
    } else {
      o["body"] = strip(r.body);
    }
  }
  return o;
}

// A probe: a call about object `id` (substituted for {ID} in path and body).
struct Probe {
  std::string method, path;
  Json body = nullptr;
};

std::string Sub(std::string s, const std::string& id) {
  for (size_t pos; (pos = s.find("{ID}")) != std::string::npos;) s.replace(pos, 4, id);
  return s;
}

class Isolation : public ::testing::TestWithParam<std::string> {};

TEST_P(Isolation, NoWorkspaceCanReadChangeOrInferAnothersObjects) {
  TempDir dir;
  Backend backend = MakeBackend(GetParam(), dir);
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  const std::string db = backend.db;
  RotaServer server(db, {{"ROTA_SECRET_KEY", "isolation-test-secret-key"}}, {"--quiet", "--webhook-backoff-ms", "3600000", "--webhook-max-attempts", "1"});
  Figures fig("isolation/" + GetParam());
  std::vector<Ws> ws = {{"A", server.admin_key()}, {"B", ""}, {"C", ""}};
  ASSERT_FALSE(ws[0].key.empty());
  for (size_t i = 1; i < ws.size(); ++i) {
    auto [code, out] = RunRota({"workspaces", "create", ws[i].id, "--db", db});
    ASSERT_EQ(code, 0) << out;
    ws[i].key = PrintedKey(out);
    ASSERT_FALSE(ws[i].key.empty()) << out;
  }
  // The default workspace is called "default" in the store; its objects carry "A-".
  for (Ws& w : ws) {
    Seed(server, w);
    if (HasFatalFailure()) return;
  }
  std::vector<Json> before;
  for (const Ws& w : ws) before.push_back(Snap(server, w));

  auto client = RawClient(server.port());
  int probes = 0, leaks = 0, nowhere_n = 0;
  // Compares X's answer about Y's object `theirs` with its answer about `nowhere`.
  auto compare = [&](const Ws& x, const std::string& what, const std::string& method, const std::string& path_tmpl,
                     const std::string& body_tmpl, const std::string& theirs, const std::string& nowhere) {
    Raw a = Send(*client, method, Sub(path_tmpl, Encode(theirs)), x.key, Sub(body_tmpl, theirs));
    Raw b = Send(*client, method, Sub(path_tmpl, Encode(nowhere)), x.key, Sub(body_tmpl, nowhere));
    probes += 2;
    Json oa = Observed(a, theirs), ob = Observed(b, nowhere);
    if (a.status >= 200 && a.status < 300 && method == "GET" && a.body.find(theirs) != std::string::npos &&
        b.status == a.status) {
      // A read that answers with the other workspace's id in it: only fine when X made it.
      oa["mentions"] = true;
    }
    if (oa != ob) {
      ++leaks;
      ADD_FAILURE() << x.id << " can tell " << what << " \"" << theirs << "\" exists: " << method << " "
                    << Sub(path_tmpl, theirs) << " answers " << a.status << " " << a.body.substr(0, 300)
                    << "\nbut for \"" << nowhere << "\": " << b.status << " " << b.body.substr(0, 300);
    }
    return std::make_pair(a, b);
  };

  for (const Ws& x : ws) {
    for (const Ws& y : ws) {
      if (x.id == y.id) continue;
      auto nowhere = [&](const std::string& s) { return "Z" + std::to_string(++nowhere_n) + "-" + s; };
      // Reads and changes of one object by id.
      const std::vector<std::tuple<std::string, std::string, std::string, std::string, std::string>> by_id = {
          // what, method, path, body, Y's id
          {"user", "GET", "/v1/users/{ID}", "", y.P("u1")},
          {"user", "PATCH", "/v1/users/{ID}", R"({"name": "taken over"})", y.P("u1")},
          {"user", "DELETE", "/v1/users/{ID}", "", y.P("u2")},
          {"pool", "GET", "/v1/pools/{ID}", "", y.P("p")},
          {"pool", "PATCH", "/v1/pools/{ID}", R"({"name": "taken over"})", y.P("p")},
          {"pool", "POST", "/v1/pools/{ID}/members", Json{{"user", x.P("u1")}}.dump(), y.P("p")},
          {"pool", "DELETE", "/v1/pools/{ID}/members/" + Encode(y.P("u1")), "", y.P("p")},
          {"user", "DELETE", "/v1/pools/" + Encode(x.P("p")) + "/members/{ID}", "", y.P("u1")},
          {"user", "POST", "/v1/pools/" + Encode(x.P("p")) + "/members", R"({"user": "{ID}"})", y.P("u1")},
          {"pool", "DELETE", "/v1/pools/{ID}", "", y.P("p")},
          {"rule", "GET", "/v1/rules/{ID}", "", y.P("r")},
          {"rule", "PUT", "/v1/rules/{ID}", Rule("", ToPool(x.P("p"))).dump(), y.P("r")},
          {"rule", "PUT", "/v1/rules/priority", R"({"object_type": "deal", "order": ["{ID}"]})", y.P("r")},
          {"rule", "DELETE", "/v1/rules/{ID}", "", y.P("r")},
          {"distribution", "GET", "/v1/distributions/{ID}", "", y.P("d")},
          {"distribution", "PATCH", "/v1/distributions/{ID}", R"({"property": "area"})", y.P("d")},
          {"distribution", "PUT", "/v1/distributions/{ID}/keys/south",
           Json{{"owners", Json::array({{{"user", x.P("u1")}, {"percent", 100}}})}}.dump(), y.P("d")},
          {"distribution", "DELETE", "/v1/distributions/{ID}/keys/north", "", y.P("d")},
          {"distribution", "GET", "/v1/distributions/{ID}/import/template.csv", "", y.P("d")},
          {"distribution", "GET", "/v1/distributions/{ID}/import/template.xlsx", "", y.P("d")},
          {"distribution", "GET", "/v1/reports/distribution?distribution={ID}", "", y.P("d")},
          {"distribution", "DELETE", "/v1/distributions/{ID}", "", y.P("d")},
          {"user (as a pool member)", "POST", "/v1/pools", Json{{"id", "{ID}-pool"}, {"object_type", "deal"}, {"members", {"{ID}"}}}.dump(), y.P("u1")},
          {"pool (in a rule)", "POST", "/v1/rules", Rule("{ID}-rule", ToPool("{ID}")).dump(), y.P("p")},
          {"user (as a key owner)", "PUT", "/v1/distributions/" + Encode(x.P("d")) + "/keys/east",
           R"({"owners": [{"user": "{ID}", "percent": 100}]})", y.P("u1")},
          {"user (as default owner)", "PUT", "/v1/settings", R"({"default_owners": {"deal": "{ID}"}})", y.P("u1")},
          {"record", "GET", "/v1/records/deal/{ID}", "", y.P("D")},
          {"record", "GET", "/v1/records/company/{ID}", "", y.P("C")},
          {"rule", "GET", "/v1/history?rule={ID}", "", y.P("r")},
          {"user", "GET", "/v1/history?owner={ID}", "", y.P("u1")},
          {"rule", "GET", "/v1/reports/distribution?rule={ID}", "", y.P("r")},
          {"connector", "GET", "/v1/connectors/{ID}", "", y.P("con")},
          {"connector", "GET", "/v1/connectors/{ID}/deliveries", "", y.P("con")},
          {"connector", "PATCH", "/v1/connectors/{ID}", R"({"write_back": false})", y.P("con")},
          {"connector", "POST", "/v1/connectors/{ID}/sync-users", "", y.P("con")},
          {"connector (called in)", "POST", "/v1/connectors/{ID}/generic?workspace=" + Encode(x.id), "{}", y.P("con")},
          {"connector", "DELETE", "/v1/connectors/{ID}", "", y.P("con")},
          {"webhook", "GET", "/v1/webhooks/{ID}", "", y.P("w")},
          {"webhook", "GET", "/v1/webhooks/{ID}/deliveries", "", y.P("w")},
          {"delivery", "POST", "/v1/webhooks/" + Encode(y.P("w")) + "/deliveries/{ID}/retry", "", y.delivery},
          {"delivery", "POST", "/v1/webhooks/" + Encode(x.P("w")) + "/deliveries/{ID}/retry", "", y.delivery},
          {"webhook", "DELETE", "/v1/webhooks/{ID}", "", y.P("w")},
          {"key", "DELETE", "/v1/keys/{ID}", "", y.extra_key_id},
          {"pool (as a target)", "POST", "/v1/assign",
           Requested(x.P("R-") + std::to_string(nowhere_n), Json{{"pool", "{ID}"}}).dump(), y.P("p")},
          {"rule (as a target)", "POST", "/v1/assign",
           Requested(x.P("R2-") + std::to_string(nowhere_n), Json{{"rule", "{ID}"}}).dump(), y.P("r")},
          {"company (as a linked record)", "POST", "/v1/simulate",
           Json{{"records", Json::array({{{"object_type", "lead"}, {"event", "created"},
                                          {"record", {{"id", "L"}, {"links", {{"company", "{ID}"}}}}}}})}}.dump(),
           y.P("C")},
      };
      for (const auto& [what, method, path, body, theirs] : by_id) {
        std::string n = nowhere(theirs);
        if (what == "delivery") n = "dlv_" + n;
        compare(x, what, method, path, body, theirs, n);
      }
      // Deciding a lead linked to Y's company: X's decision sees no owner there.
      {
        auto lead = [&](const std::string& company) {
          Json b = {{"object_type", "lead"}, {"event", "created"},
                    {"record", {{"id", x.P("L-") + std::to_string(++nowhere_n)}, {"links", {{"company", company}}}}}};
          return b.dump();
        };
        const std::string n = nowhere("C");
        Raw a = Send(*client, "POST", "/v1/assign", x.key, lead(y.P("C")));
        Raw b = Send(*client, "POST", "/v1/assign", x.key, lead(n));
        probes += 2;
        EXPECT_EQ(Observed(a, y.P("C")), Observed(b, n)) << x.id << " decided with " << y.id << "'s company: " << a.body;
      }
      // Y's idempotency key means nothing to X: a new decision, as with a fresh key.
      {
        Json body = AssignBody(x.P("IK-") + std::to_string(++nowhere_n));
        body["idempotency_key"] = y.P("idem");
        Raw a = Send(*client, "POST", "/v1/assign", x.key, body.dump());
        body["record"]["id"] = x.P("IK-") + std::to_string(++nowhere_n);
        body["idempotency_key"] = nowhere("idem");
        Raw b = Send(*client, "POST", "/v1/assign", x.key, body.dump());
        probes += 2;
        EXPECT_EQ(a.status, 200) << x.id << " using " << y.id << "'s idempotency key: " << a.body;
        EXPECT_EQ(a.status, b.status);
        EXPECT_NE(a.json.value("decision_id", ""), y.decision) << x.id << " was answered " << y.id << "'s decision";
      }
      // Y's keys do not work on X's behalf, and the other way round: each key sees its own.
      {
        Raw a = Send(*client, "GET", "/v1/users/" + Encode(x.P("u1")), y.key);
        ++probes;
        EXPECT_EQ(a.status, 404) << y.id << "'s key read " << x.id << "'s user: " << a.body;
      }
    }
  }

  // Lists: nothing of another workspace shows.
  const std::vector<std::string> lists = {"/v1/users", "/v1/pools", "/v1/rules", "/v1/distributions", "/v1/webhooks",
                                          "/v1/connectors", "/v1/keys", "/v1/history", "/v1/unassigned", "/v1/config", "/v1/settings",
                                          "/v1/reports/summary", "/v1/reports/distribution"};
  for (const Ws& x : ws) {
    for (const std::string& path : lists) {
      Raw a = Send(*client, "GET", path, x.key);
      ++probes;
      EXPECT_EQ(a.status, 200) << path << " " << a.body;
      for (const Ws& y : ws) {
        if (y.id == x.id) continue;
        for (const std::string& marker : {"\"" + y.id + "-", y.extra_key_id, y.decision, y.delivery}) {
          if (a.body.find(marker) != std::string::npos) {
            ++leaks;
            ADD_FAILURE() << x.id << "'s " << path << " shows " << y.id << "'s " << marker << ": " << a.body.substr(0, 400);
          }
        }
      }
    }
    Reply summary = server.Call("GET", "/v1/reports/summary", x.key);
    EXPECT_EQ(summary.body["processed_this_month"], AllItems(server, x.key, "/v1/history").size())
        << x.id << "'s summary counts decisions of other workspaces";
  }

  // Creating with another workspace's ids: as with ids that exist nowhere (no 409).
  for (const Ws& x : ws) {
    for (const Ws& y : ws) {
      if (x.id == y.id) continue;
      auto nowhere = [&](const std::string& s) { return "Z" + std::to_string(++nowhere_n) + "-" + s; };
      const std::vector<std::tuple<std::string, std::string, std::string, std::string>> creates = {
          {"user", "/v1/users", R"({"id": "{ID}", "name": "N"})", y.P("u1")},
          {"pool", "/v1/pools", Json{{"id", "{ID}"}, {"object_type", "deal"}, {"members", {x.P("u1")}}}.dump(), y.P("p")},
          {"rule", "/v1/rules", Rule("{ID}", ToPool(x.P("p"))).dump(), y.P("r")},
          {"distribution", "/v1/distributions", R"({"id": "{ID}", "object_type": "deal", "property": "region"})", y.P("d")},
          {"webhook", "/v1/webhooks", R"({"id": "{ID}", "url": "http://127.0.0.1:1/y", "events": ["record.updated"]})", y.P("w")},
      };
      for (const auto& [what, path, body, theirs] : creates) {
        auto [a, b] = compare(x, what, "POST", path, body, theirs, nowhere(theirs));
        EXPECT_EQ(a.status, 201) << x.id << " creating " << what << " " << theirs << ": " << a.body;
      }
      auto [a, b] = compare(x, "record", "PUT", "/v1/records/deal/{ID}", R"({"properties": {"k": "v"}})", y.P("D"),
                            nowhere("D"));
      EXPECT_EQ(a.status, 200) << a.body;
    }
  }

  // Nothing of any workspace changed by the others (each changed only its own, above,
  // in phase 2 creates and its own decisions: compare the other workspaces' views).
  for (size_t i = 0; i < ws.size(); ++i) {
    Json now = Snap(server, ws[i]);
    // X's own creates and decisions above changed X's lists; what it had before is intact.
    EXPECT_EQ(now["deal"], before[i]["deal"]) << ws[i].id << "'s deal changed";
    EXPECT_EQ(now["company"], before[i]["company"]) << ws[i].id << "'s company changed";
    for (const Json& d : before[i]["deliveries"]["items"]) {
      bool same = false;
      for (const Json& e : now["deliveries"]["items"]) same = same || e == d;
      EXPECT_TRUE(same) << ws[i].id << "'s delivery " << d.dump() << " changed";
    }
    // Its own objects are as they were.
    for (const char* kind : {"users", "pools", "rules", "distributions"}) {
      for (const Json& o : before[i]["config"][kind]) {
        bool found = false;
        for (const Json& p : now["config"][kind]) {
          if (p["id"] == o["id"]) {
            found = true;
            EXPECT_EQ(p, o) << ws[i].id << "'s " << kind << " " << o["id"] << " changed";
          }
        }
        EXPECT_TRUE(found) << ws[i].id << "'s " << kind << " " << o["id"] << " is gone";
      }
    }
    EXPECT_EQ(now["config"]["settings"], before[i]["config"]["settings"]) << ws[i].id << "'s settings changed";
    for (const Json& h : before[i]["history"]) {
      bool found = false;
      for (const Json& g : now["history"]) found = found || g == h;
      EXPECT_TRUE(found) << ws[i].id << "'s decision " << h["decision_id"] << " changed or is gone";
    }
    for (const Json& w : before[i]["webhooks"]["items"]) {
      bool same = false;
      for (const Json& v : now["webhooks"]["items"]) same = same || v == w;
      EXPECT_TRUE(same) << ws[i].id << "'s webhook " << w.dump() << " changed";
    }
    // Its extra key still works; its own idempotency key still answers its own decision.
    EXPECT_EQ(server.Call("GET", "/v1/users", ws[i].extra_key).status, 200) << ws[i].id << "'s key was revoked by another";
    Json again = AssignBody(ws[i].P("D"));
    again["idempotency_key"] = ws[i].P("idem");
    Reply r = server.Call("POST", "/v1/assign", ws[i].key, again);
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["decision_id"], ws[i].decision);
  }
  fig.Set("workspaces", static_cast<long long>(ws.size()));
  fig.Set("probes", probes);
  fig.Set("leaks", leaks);
}

INSTANTIATE_TEST_SUITE_P(Backends, Isolation, ::testing::ValuesIn(BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rota::testing::reliability
