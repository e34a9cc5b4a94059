// Bad input on every route (issue 7, reliability suite 4): malformed JSON, wrong types,
// huge numbers, deep nesting, invalid UTF-8, oversize bodies, SQL-like strings and
// path-traversal ids. Each answers a 4xx with API.md's error body, changes nothing
// (the config document, history, keys, webhooks, queue and a record stay identical),
// and the server stays up.
#include <signal.h>

#include <regex>

#include "reliability.h"

namespace rota::testing::reliability {
namespace {

const std::string kSql = "'; DROP TABLE decisions; --";
const std::string kBad = "@@BAD@@";  // placeholder for raw text in a JSON template
const std::string kTwo70 = "1180591620717411303424";

std::string Deep(int n, char open, char close) { return std::string(n, open) + std::string(n, close); }

std::string DeepObject(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(n, '}');
  return s;
}

struct Route {
  std::string method;
  std::string path;                 // with {…} parameters
  std::vector<std::string> args;    // valid values of the parameters, in order
  std::vector<bool> free_args;      // any value is a new valid id (PUT creates): not replaced
  Json body = nullptr;              // a valid body (never sent as is); null: no body
  std::string any = "";             // regex of leaf paths that take any value
  std::string free = "";            // regex of leaf paths where any string is valid
  bool body_ignored = false;        // the handler reads no body
  std::vector<std::string> bad_queries;  // each must be refused
};

std::string Fill(const Route& r, const std::vector<std::string>& args) {
  std::string out;
  size_t i = 0, pos = 0;
  while (pos < r.path.size()) {
    if (r.path[pos] == '{') {
      size_t end = r.path.find('}', pos);
      out += args[i++];
      pos = end + 1;
    } else {
      out += r.path[pos++];
    }
  }
  return out;
}

// Leaf paths ("record/id") of a template with their values.
void Leaves(const Json& j, const std::string& path, std::vector<std::pair<std::string, Json>>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it) Leaves(it.value(), path.empty() ? it.key() : path + "/" + it.key(), out);
  } else if (j.is_array() && !j.empty() && !j[0].is_string()) {
    for (size_t i = 0; i < j.size(); ++i) Leaves(j[i], path + "/" + std::to_string(i), out);
  } else if (j.is_array() && !j.empty()) {
    out.emplace_back(path, j);
    for (size_t i = 0; i < j.size(); ++i) out.emplace_back(path + "/" + std::to_string(i), j[i]);
  } else if (!path.empty()) {
    out.emplace_back(path, j);
  }
}

// The template with the leaf at `path` replaced by raw JSON text.
std::string WithRaw(const Json& tmpl, const std::string& path, const std::string& raw) {
  Json copy = tmpl;
  copy[Json::json_pointer("/" + path)] = kBad;
  std::string text = copy.dump();
  const std::string quoted = "\"" + kBad + "\"";
  return text.replace(text.find(quoted), quoted.size(), raw);
}

struct BodyCase {
  std::string what, body, content_type = "application/json";
};

std::vector<BodyCase> SyntaxCases(bool body_ignored) {
  std::vector<BodyCase> c = {
      {"truncated object", "{"},
      {"missing value", "{\"id\": }"},
      {"unterminated array", "[1, 2"},
      {"bare word", "nul"},
      {"trailing garbage", "{\"a\":1}}"},
      {"single quotes", "{'a': 1}"},
      {"trailing comma", "{\"a\":1,}"},
      {"invalid UTF-8 bytes", "\xff\xfe{}"},
      {"invalid UTF-8 in a string", "{\"id\": \"\xff\xfe\xfd\"}"},
      {"overlong UTF-8", "{\"id\": \"\xc0\xaf\"}"},
      {"lone surrogate", "{\"id\": \"\\ud800\"}"},
      {"number out of range", "{\"id\": 1e400}"},
      {"oversize body", "{\"id\": \"" + std::string((1 << 20) + 4096, 'x') + "\"}"},
  };
  if (!body_ignored) {
    std::vector<BodyCase> more = {
        {"empty body", ""},
        {"array", "[]"},
        {"string", "\"x\""},
        {"number", "42"},
        {"huge number", "1e400"},
        {"2^70", kTwo70},
        {"true", "true"},
        {"null", "null"},
        {"10000 nested arrays", Deep(10000, '[', ']')},
    };
    c.insert(c.end(), more.begin(), more.end());
  }
  return c;
}

std::vector<BodyCase> LeafCases(const Route& r) {
  std::vector<BodyCase> out;
  if (r.body.is_null() || r.body_ignored) return out;
  std::vector<std::pair<std::string, Json>> leaves;
  Leaves(r.body, "", leaves);
  const std::regex any(r.any.empty() ? "$^" : r.any), free(r.free.empty() ? "$^" : r.free);
  for (const auto& [path, value] : leaves) {
    if (std::regex_match(path, any)) continue;
    std::vector<std::pair<std::string, std::string>> raws;
    if (value.is_string()) {
      // Not numbers: a string field takes a number as its text (CRM ids arrive as numbers).
      raws = {{"a list", "[\"x\"]"}, {"an object", "{}"}, {"true", "true"}};
    } else if (value.is_number()) {
      raws = {{"a string", "\"x\""}, {"a list", "[1]"}, {"true", "true"}, {"-1e400", "-1e400"}};
    } else if (value.is_boolean()) {
      raws = {{"a string", "\"yes\""}, {"1", "1"}, {"a list", "[true]"}};
    } else if (value.is_array()) {
      raws = {{"a string", "\"x\""}, {"an object", "{}"}, {"a number", "7"}};
    } else if (value.is_object()) {
      raws = {{"a string", "\"x\""}, {"a list", "[]"}, {"a number", "7"}};
    }
    raws.push_back({"1e400", "1e400"});
    if (!value.is_string()) {
      raws.push_back({"2^70", kTwo70});
      raws.push_back({"-2^70", "-" + kTwo70});
    }
    raws.push_back({"10000 nested arrays", Deep(10000, '[', ']')});
    // (A whole body of nested objects is only unknown fields, which readers ignore.)
    raws.push_back({"10000 nested objects", DeepObject(10000)});
    raws.push_back({"invalid UTF-8", "\"a\xff\xfe\""});
    if (!std::regex_match(path, free) && !value.is_number() && !value.is_boolean()) {
      raws.push_back({"an SQL-like string", Json(kSql).dump()});
      raws.push_back({"a path-traversal string", "\"../../etc/passwd\""});
    }
    for (const auto& [what, raw] : raws) out.push_back({path + " = " + what, WithRaw(r.body, path, raw)});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> BadIds() {
  return {
      {"raw traversal", "../../etc/passwd"},
      {"encoded traversal", "..%2F..%2Fetc%2Fpasswd"},
      {"%2e%2e%2f", "%2e%2e%2f"},
      {"%2e%2e", "%2e%2e"},
      {"SQL-like", Encode(kSql)},
      {"invalid UTF-8", "%FF%FE"},
      {"overlong UTF-8", "%C0%AF"},
      {"NUL byte", "x%00y"},
      {"1e400", "1e400"},
      {"2^70", kTwo70},
      {"very long", std::string(4000, 'z')},
  };
}

struct Snapshot {
  Json config, keys, webhooks, unassigned, record, settings;
  size_t history = 0;
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(const RotaServer& s, const std::string& key) {
  Snapshot out;
  out.config = s.Call("GET", "/v1/config", key).body;
  out.keys = s.Call("GET", "/v1/keys", key).body;
  out.webhooks = s.Call("GET", "/v1/webhooks", key).body;
  out.unassigned = s.Call("GET", "/v1/unassigned", key).body;
  out.record = s.Call("GET", "/v1/records/deal/D-0", key).body;
  out.settings = s.Call("GET", "/v1/settings", key).body;
  out.history = AllItems(s, key, "/v1/history").size();
  return out;
}

Json AssignTemplate() {
  return {{"object_type", "deal"},
          {"event", "created"},
          {"record", {{"id", "D-new"}, {"properties", {{"region", "north"}}}, {"owners", Json::array()}, {"open", true}}},
          {"explain", true},
          {"dry_run", false}};
}

Json RuleTemplate(bool with_id) {
  Json r = {{"name", "New rule"},
            {"description", "d"},
            {"object_type", "deal"},
            {"events", {"created"}},
            {"active", true},
            {"conditions", {{"all", Json::array({{{"field", "region"}, {"op", "eq"}, {"value", "north"}}})}, {"any", Json::array()}}},
            {"assign", {{"type", "pool"}, {"pool", "p"}}},
            {"fallback_user", "u-1"},
            {"actions", {{"apply_to_related", {"company"}}, {"related_mode", "add"}, {"tag", "t"}, {"note", "n"}, {"notify", true}}}};
  if (with_id) r["id"] = "r-new";
  return r;
}

const std::string kRuleAny = "conditions/(all|any)/\\d+/value";
const std::string kRuleFree = "id|name|description|conditions/all/\\d+/field|actions/tag|actions/note";

std::vector<Route> Routes(const std::string& key_id, const std::string& delivery) {
  const std::vector<std::string> limits = {"limit=1e400", "limit=" + kTwo70, "limit=-1", "limit=0", "limit=abc", "limit=%FF"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), limits.begin(), limits.end());
    return extra;
  };
  Json config = Json::parse(R"({
    "users": [{"id": "u-1", "name": "U1"}, {"id": "u-2", "name": "U2"}],
    "pools": [{"id": "p", "name": "P", "object_type": "deal", "members": ["u-1"]}],
    "distributions": [{"id": "d", "object_type": "deal", "property": "region",
                       "keys": [{"value": "north", "owners": [{"user": "u-1", "percent": 100}]}]}],
    "rules": [{"id": "r", "name": "R", "object_type": "deal", "events": ["created"],
               "conditions": {"all": [{"field": "region", "op": "is_not_empty"}]}, "assign": {"type": "pool", "pool": "p"}}],
    "settings": {"time_zone": "UTC", "history_retention_days": 30}
  })");
  return {
      {"POST", "/v1/assign", {}, {}, AssignTemplate(), "record/properties.*", "record/id"},
      {"POST", "/v1/assign/batch", {}, {}, {{"items", Json::array({AssignTemplate()})}}, "items/.+"},
      {"POST", "/v1/simulate", {}, {}, {{"records", Json::array({AssignTemplate()})}}, "records/0/record/properties.*", "records/0/record/id"},
      {"POST", "/v1/keys", {}, {}, {{"role", "member"}, {"name", "k"}, {"can_reassign", false}}, "", "name"},
      {"GET", "/v1/keys", {}, {}},
      {"DELETE", "/v1/keys/{id}", {key_id}, {false}},
      {"POST", "/v1/users", {}, {},
       Json::parse(R"({"id": "u-new", "name": "New", "email": "new@example.com", "active": true,
                       "caps": {"per_day": 5, "max_open": 10},
                       "working_hours": {"tz": "UTC", "days": {"mon": ["09:00", "17:00"]}},
                       "out_of_office": [{"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}]})"),
       "", "id|name|email"},
      {"GET", "/v1/users", {}, {}, nullptr, "", "", false, limits},
      {"GET", "/v1/users/{id}", {"u-1"}, {false}},
      {"PATCH", "/v1/users/{id}", {"u-2"}, {false}, {{"name", "Renamed"}, {"active", false}, {"caps", {{"per_day", 3}}}}, "", "name"},
      {"DELETE", "/v1/users/{id}", {"u-2"}, {false}},
      {"POST", "/v1/pools", {}, {}, {{"id", "p-new"}, {"name", "N"}, {"object_type", "deal"}, {"members", {"u-1"}}}, "", "id|name"},
      {"GET", "/v1/pools", {}, {}, nullptr, "", "", false, limits},
      {"GET", "/v1/pools/{id}", {"p"}, {false}},
      {"PATCH", "/v1/pools/{id}", {"p"}, {false}, {{"name", "Renamed"}, {"members", {"u-2", "u-1"}}}, "", "name"},
      {"DELETE", "/v1/pools/{id}", {"p"}, {false}},
      {"POST", "/v1/pools/{id}/members", {"p"}, {false}, {{"user", "u-3"}}},
      {"DELETE", "/v1/pools/{id}/members/{user}", {"p", "u-1"}, {false, false}},
      {"PUT", "/v1/rules/priority", {}, {}, {{"object_type", "deal"}, {"order", {"r"}}}},
      {"POST", "/v1/rules", {}, {}, RuleTemplate(true), kRuleAny, kRuleFree},
      {"GET", "/v1/rules", {}, {}, nullptr, "", "", false, with({"object_type=" + Encode(kSql), "object_type=%FF"})},
      {"GET", "/v1/rules/{id}", {"r"}, {false}},
      {"PUT", "/v1/rules/{id}", {"r"}, {false}, RuleTemplate(false), kRuleAny, kRuleFree},
      {"DELETE", "/v1/rules/{id}", {"r"}, {false}},
      {"POST", "/v1/distributions", {}, {},
       {{"id", "d-new"}, {"object_type", "deal"}, {"property", "area"}, {"default_owner", "u-1"}}, "", "id|property"},
      {"GET", "/v1/distributions", {}, {}, nullptr, "", "", false, limits},
      {"GET", "/v1/distributions/{id}", {"d"}, {false}},
      {"PATCH", "/v1/distributions/{id}", {"d"}, {false}, {{"default_owner", "u-2"}, {"property", "area"}}, "", "property"},
      {"DELETE", "/v1/distributions/{id}", {"d"}, {false}},
      {"PUT", "/v1/distributions/{id}/keys/{value}", {"d", "south"}, {false, true},
       {{"owners", Json::array({{{"user", "u-1"}, {"percent", 60}}, {{"user", "u-2"}, {"percent", 40}}})}}},
      {"DELETE", "/v1/distributions/{id}/keys/{value}", {"d", "north"}, {false, false}},
      {"GET", "/v1/distributions/{id}/import/template.xlsx", {"d"}, {false}, nullptr, "", "", false,
       {"header=maybe", "header=%FF", "header=1e400"}},
      {"GET", "/v1/distributions/{id}/import/template.csv", {"d"}, {false}, nullptr, "", "", false,
       {"header=maybe", "header=" + Encode(kSql)}},
      {"PUT", "/v1/records/{object_type}/{id}", {"deal", "D-0"}, {false, true},
       {{"properties", {{"x", 1}}}, {"owners", {"u-1"}}, {"links", {{"company", "C-1"}}}, {"tags", {"t"}}},
       "properties.*", "owners/\\d+|links/.*|tags/\\d+"},
      {"GET", "/v1/records/{object_type}/{id}", {"deal", "D-0"}, {false, false}},
      {"GET", "/v1/settings", {}, {}},
      {"PUT", "/v1/settings", {}, {}, {{"default_owners", {{"deal", "u-1"}}}, {"history_retention_days", 30}, {"time_zone", "UTC"}}},
      {"GET", "/v1/config", {}, {}},
      {"PUT", "/v1/config", {}, {}, config, "",
       "(users|pools|distributions|rules)/\\d+/(id|name|property)|distributions/0/keys/0/value|rules/0/conditions/all/\\d+/field",
       false, {"dry_run=" + Encode(kSql)}},
      {"GET", "/v1/history", {}, {}, nullptr, "", "", false,
       with({"from=1e400", "from=" + Encode(kSql), "to=..%2F..%2Fetc%2Fpasswd", "period=%FF", "period=" + Encode(kSql),
             "object_type=" + Encode(kSql), "event=%FF", "outcome=" + Encode(kSql), "cursor=1e400", "cursor=" + kTwo70,
             "cursor=-1", "cursor=" + Encode(kSql)})},
      {"GET", "/v1/unassigned", {}, {}, nullptr, "", "", false, with({"object_type=" + Encode(kSql), "object_type=%FF%FE"})},
      {"GET", "/v1/reports/distribution", {}, {}, nullptr, "", "", false,
       {"from=1e400", "to=" + Encode(kSql), "period=%FF", "object_type=" + Encode(kSql), "distribution=" + Encode(kSql),
        "distribution=..%2F..%2Fetc%2Fpasswd", "distribution=%FF"}},
      {"GET", "/v1/reports/summary", {}, {}},
      {"POST", "/v1/webhooks", {}, {},
       {{"id", "w-new"}, {"url", "http://127.0.0.1:1/x"}, {"events", {"decision.assigned"}}, {"secret", "s"}}, "", "id|secret"},
      {"GET", "/v1/webhooks", {}, {}},
      {"GET", "/v1/webhooks/{id}", {"w"}, {false}},
      {"DELETE", "/v1/webhooks/{id}", {"w"}, {false}},
      {"GET", "/v1/webhooks/{id}/deliveries", {"w"}, {false}, nullptr, "", "", false, limits},
      {"POST", "/v1/webhooks/{id}/deliveries/{delivery}/retry", {"w", delivery}, {false, false}, nullptr, "", "", true},
  };
}

class BadInput : public ::testing::TestWithParam<std::string> {};

TEST_P(BadInput, EveryRouteRefusesBadInputChangesNothingAndStaysUp) {
  TempDir dir;
  Backend backend = MakeBackend(GetParam(), dir);
  if (!backend.skip_reason.empty()) GTEST_SKIP() << backend.skip_reason;
  RotaServer server(backend.db, {}, {"--quiet", "--webhook-backoff-ms", "3600000", "--webhook-max-attempts", "1"});
  const std::string key = server.admin_key();
  ASSERT_FALSE(key.empty());
  Figures fig("bad-input/" + GetParam());
  As admin{server, key};
  SeedUsers(admin, {"u-1", "u-2", "u-3"});
  ASSERT_EQ(admin.Post("/v1/pools", Pool("p", {"u-1", "u-2"})).status, 201);
  ASSERT_EQ(admin.Post("/v1/distributions", Json{{"id", "d"}, {"object_type", "deal"}, {"property", "region"}}).status, 201);
  ASSERT_EQ(admin.Put("/v1/distributions/d/keys/north",
                      Json{{"owners", Json::array({{{"user", "u-1"}, {"percent", 50}}, {{"user", "u-2"}, {"percent", 50}}})}})
                .status,
            200);
  ASSERT_EQ(admin.Post("/v1/rules", Rule("r", ToPool("p"))).status, 201);
  ASSERT_EQ(admin.Post("/v1/webhooks", Json{{"id", "w"}, {"url", "http://127.0.0.1:1/x"}, {"events", {"record.updated", "decision.unassigned"}}})
                .status,
            201);
  ASSERT_EQ(admin.Post("/v1/assign", AssignBody("D-0")).status, 200);
  ASSERT_EQ(admin.Post("/v1/assign", AssignBody("T-0", "created", Json::object(), "task")).status, 200);  // queued
  ASSERT_EQ(admin.Put("/v1/records/company/C-1", Json{{"owners", {"u-1"}}}).status, 200);
  Reply keys = admin.Get("/v1/keys");
  ASSERT_EQ(keys.status, 200);
  const std::string key_id = keys.body["items"][0]["id"];
  std::string delivery;
  for (int i = 0; i < 100 && delivery.empty(); ++i) {
    Reply d = admin.Get("/v1/webhooks/w/deliveries");
    if (d.status == 200 && !d.body["items"].empty() && d.body["items"][0]["status"] == "failed") delivery = d.body["items"][0]["id"];
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(delivery.empty()) << "no failed delivery to retry";

  const Snapshot before = Take(server, key);
  auto client = RawClient(server.port());
  int tried = 0, refused = 0;
  auto check = [&](const std::string& what, const Raw& a) {
    ++tried;
    if (a.status == 0) {
      ADD_FAILURE() << what << ": no answer (" << a.error << ")";
      client = RawClient(server.port());
      return;
    }
    Reply r = ToReply(a);
    ::testing::AssertionResult ok = IsClientError(r);
    if (ok) ++refused;
    EXPECT_TRUE(ok) << what;
  };

  for (const Route& route : Routes(key_id, delivery)) {
    const std::string name = route.method + " " + route.path;
    const std::string valid = Fill(route, route.args);
    const bool has_body = route.method == "POST" || route.method == "PUT" || route.method == "PATCH";
    const std::string template_body = route.body.is_null() ? "" : route.body.dump();
    // Bad ids in each parameter that names an existing object.
    for (size_t i = 0; i < route.args.size(); ++i) {
      for (const auto& [what, id] : BadIds()) {
        // A parameter that names a new object takes any text, but not bytes that are not UTF-8.
        if (route.free_args[i] && what.find("UTF-8") == std::string::npos) continue;
        std::vector<std::string> args = route.args;
        args[i] = id;
        check(name + " with id " + what, Send(*client, route.method, Fill(route, args), key, template_body));
      }
    }
    // Bad query parameters.
    for (const std::string& q : route.bad_queries) {
      check(name + " ?" + q, Send(*client, route.method, valid + "?" + q, key, template_body));
    }
    if (has_body) {
      for (const BodyCase& c : SyntaxCases(route.body_ignored)) {
        check(name + " with " + c.what, Send(*client, route.method, valid, key, c.body, c.content_type));
      }
      for (const BodyCase& c : LeafCases(route)) {
        check(name + " with " + c.what, Send(*client, route.method, valid, key, c.body, c.content_type));
      }
    }
    Snapshot after = Take(server, key);
    EXPECT_TRUE(after == before) << "bad input to " << name << " changed something:\nconfig before "
                                 << before.config.dump() << "\nafter " << after.config.dump() << "\nhistory "
                                 << before.history << " → " << after.history;
  }

  // A batch answers 200, but each bad item fails alone and nothing is stored.
  {
    Route assign = Routes(key_id, delivery)[0];
    std::vector<BodyCase> cases = LeafCases(assign);
    std::string items;
    int n = 0;
    for (const BodyCase& c : cases) {
      // Only items that parse: a body that does not is the whole batch's error (above).
      if (c.what.find("nested") != std::string::npos || c.what.find("UTF-8") != std::string::npos ||
          c.what.find("1e400") != std::string::npos) {
        continue;
      }
      items += (items.empty() ? "" : ",") + c.body;
      ++n;
    }
    Raw a = Send(*client, "POST", "/v1/assign/batch", key, "{\"items\": [" + items + "]}");
    tried += n;
    ASSERT_EQ(a.status, 200) << a.body.substr(0, 500);
    ASSERT_EQ(a.json["decisions"].size(), static_cast<size_t>(n));
    for (size_t i = 0; i < a.json["decisions"].size(); ++i) {
      const Json& d = a.json["decisions"][i];
      Reply r;
      r.status = 422;
      r.body = d;
      r.raw = d.dump();
      if (d.contains("error")) ++refused;
      EXPECT_TRUE(d.contains("error") && IsError(r, 422)) << "batch item " << i << ": " << d.dump();
    }
  }

  // Keys import: bad files.
  const std::string import = "/v1/distributions/d/import?header=false";
  const std::vector<BodyCase> files = {
      {"percent 1e400", "north,u-1,1e400\n", "text/csv"},
      {"percent 2^70", "north,u-1," + kTwo70 + "\n", "text/csv"},
      {"percent -50", "north,u-1,-50\nnorth,u-2,150\n", "text/csv"},
      {"percent text", "north,u-1,lots\n", "text/csv"},
      {"SQL-like user", "north," + kSql + ",100\n", "text/csv"},
      {"path-traversal user", "north,../../etc/passwd,100\n", "text/csv"},
      {"invalid UTF-8 value", "nor\xff\xfeth,u-1,100\n", "text/csv"},
      {"invalid UTF-8 user", "north,u-\xff,100\n", "text/csv"},
      {"binary garbage", std::string("\x00\x01\x02\xff\xfe\n\x00", 7), "text/csv"},
      {"unbalanced quotes", "\"north,u-1,100\n", "text/csv"},
      {"oversize file", std::string((1 << 20) + 4096, 'x'), "text/csv"},
      {"broken workbook", std::string("PK\x03\x04", 4) + std::string(200, '\x07'),
       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"empty workbook", "", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"JSON instead of a file", "{\"rows\": []}", "application/json"},
      {"malformed JSON", "{", "application/json"},
  };
  for (const BodyCase& f : files) {
    check("import " + f.what, Send(*client, "POST", import, key, f.body, f.content_type));
  }
  check("import header=maybe", Send(*client, "POST", "/v1/distributions/d/import?header=maybe", key, "north,u-1,100\n", "text/csv"));
  for (const auto& [what, id] : BadIds()) {
    check("import into id " + what,
          Send(*client, "POST", "/v1/distributions/" + id + "/import", key, "north,u-1,100\n", "text/csv"));
  }
  // Unknown routes and methods.
  check("unknown route", Send(*client, "GET", "/v1/nope", key));
  check("unknown method on a route", Send(*client, "PATCH", "/v1/history", key, "{}"));
  check("traversal to the console", Send(*client, "GET", "/../../etc/passwd", ""));
  check("encoded traversal to the console", Send(*client, "GET", "/%2e%2e/%2e%2e/etc/passwd", ""));

  Snapshot after = Take(server, key);
  EXPECT_TRUE(after == before) << "bad input changed something: history " << before.history << " → " << after.history;
  Reply health = server.Call("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200) << "the server is down after the bad input";
  EXPECT_EQ(kill(server.pid(), 0), 0) << "the server process is gone";
  fig.Set("inputs_tried", tried);
  fig.Set("refused_4xx", refused);
  fig.Set("history_before", static_cast<long long>(before.history));
  fig.Set("history_after", static_cast<long long>(after.history));
}

INSTANTIATE_TEST_SUITE_P(Backends, BadInput, ::testing::ValuesIn(BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rota::testing::reliability
