// Decisions over HTTP (issue 4): /v1/assign and batch, idempotency, dry runs,
// assign_requested, records, the unassigned queue, history, transport errors, metrics.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "api_util.h"

namespace rota::testing {
namespace {

TEST(ApiAssign, DecisionShapeAndExplain) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Json body = AssignBody("D-1", "created", {{"county", "Kent"}, {"amount", 1200}});
  body["record"]["links"] = {{"company", "C-1"}, {"person", "P-1"}};
  Reply r = a.Post("/v1/assign", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_TRUE(r.body["decision_id"].is_string());
  EXPECT_FALSE(r.body["decision_id"].get<std::string>().empty());
  EXPECT_TRUE(std::regex_match(r.body["at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << r.body["at"];
  EXPECT_EQ(r.body["outcome"], "assigned");
  EXPECT_EQ(r.body["owner"], "A");
  EXPECT_EQ(r.body["rule"], "r-pool");
  EXPECT_EQ(r.body["strategy"], "pool");
  EXPECT_TRUE(r.body["reason"].is_null());
  EXPECT_TRUE(r.body["related"].is_array());
  EXPECT_FALSE(r.body.contains("trace"));

  body["record"]["id"] = "D-2";
  body["explain"] = true;
  Reply e = a.Post("/v1/assign", body);
  ASSERT_EQ(e.status, 200) << e.raw;
  ASSERT_TRUE(e.body["trace"].is_array());
  EXPECT_FALSE(e.body["trace"].empty());
  EXPECT_NE(e.body["trace"].dump().find("r-pool"), std::string::npos) << e.raw;

  // No rule matched, no default owner: unassigned with a reason.
  Reply u = a.Post("/v1/assign", AssignBody("L-1", "created", Json::object(), "lead"));
  ASSERT_EQ(u.status, 200) << u.raw;
  EXPECT_EQ(u.body["outcome"], "unassigned");
  EXPECT_TRUE(u.body["owner"].is_null());
  EXPECT_EQ(u.body["reason"], "no_rule_matched");
}

// Why a record found nobody is what the admin asks next, of decisions a CRM asked for
// without `explain`: the history keeps the trace of every decision that did not go to its
// strategy's choice. The answer, and a replay of it, stay as asked.
TEST(ApiAssign, TheHistoryKeepsTheTraceOfDecisionsThatFoundNobody) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("D-1")).body["outcome"], "assigned");
  for (const char* user : {"A", "B", "C"}) {
    ASSERT_EQ(a.Patch(std::string("/v1/users/") + user, {{"active", false}}).status, 200);
  }
  Json body = AssignBody("D-2");
  body["idempotency_key"] = "crm-call-2";
  Reply r = a.Post("/v1/assign", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["outcome"], "unassigned");
  EXPECT_EQ(r.body["reason"], "no_eligible_user");
  EXPECT_FALSE(r.body.contains("trace")) << r.raw;
  EXPECT_FALSE(r.body.contains("kept_trace")) << r.raw;
  Reply again = a.Post("/v1/assign", body);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["decision_id"], r.body["decision_id"]);
  EXPECT_FALSE(again.body.contains("trace")) << again.raw;
  EXPECT_FALSE(again.body.contains("kept_trace")) << again.raw;
  // No rule matched: the rules tried and the condition that failed.
  Reply none = a.Post("/v1/assign", AssignBody("L-1", "created", Json::object(), "lead"));
  ASSERT_EQ(none.body["reason"], "no_rule_matched") << none.raw;

  Reply h = a.Get("/v1/history");
  ASSERT_EQ(h.status, 200) << h.raw;
  ASSERT_EQ(h.body["items"].size(), 3u) << h.raw;
  const Json& lead = h.body["items"][0];
  const Json& unassigned = h.body["items"][1];
  const Json& assigned = h.body["items"][2];
  EXPECT_FALSE(lead.contains("kept_trace"));
  ASSERT_TRUE(lead["trace"].is_array()) << lead;
  EXPECT_EQ(lead["trace"].back()["step"], "no_rule") << lead;
  ASSERT_TRUE(unassigned["trace"].is_array()) << unassigned;
  std::set<std::string> skipped;
  for (const Json& t : unassigned["trace"]) {
    if (t["step"] == "member") skipped.insert(t["user"].get<std::string>() + ":" + t["skipped"].get<std::string>());
  }
  EXPECT_EQ(skipped, (std::set<std::string>{"A:inactive", "B:inactive", "C:inactive"})) << unassigned;
  EXPECT_FALSE(assigned.contains("trace")) << "an assigned decision keeps a trace only when asked: " << assigned;
}

// The kept trace is the trace of the decision stored, not of one made after its writes:
// here the fallback owner given to the linked company would make the company's owner the
// choice of a second decision.
TEST(ApiAssign, TheKeptTraceIsOfTheDecisionStored) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"A", "F"});
  ASSERT_EQ(a.Put("/v1/records/company/C-1", Json{{"properties", {{"name", "Acme"}}}}).status, 200);
  Json rule = Rule("r-co", {{"type", "related_owner"}, {"relation", "company"}}, "deal", Json::array({"created"}));
  rule["fallback_user"] = "F";
  rule["actions"] = {{"apply_to_related", {"company"}}, {"related_mode", "replace"}};
  ASSERT_EQ(a.Post("/v1/rules", rule).status, 201);
  Reply r = a.Post("/v1/assign", Json{{"object_type", "deal"}, {"event", "created"},
                                      {"record", {{"id", "D-1"}, {"links", {{"company", "C-1"}}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["outcome"], "fallback") << r.raw;
  EXPECT_EQ(r.body["owner"], "F");
  EXPECT_EQ(a.Get("/v1/records/company/C-1").body["owners"], Json::array({"F"}));
  Reply h = a.Get("/v1/history");
  ASSERT_EQ(h.status, 200) << h.raw;
  ASSERT_EQ(h.body["items"].size(), 1u) << h.raw;
  const Json& item = h.body["items"][0];
  ASSERT_TRUE(item["trace"].is_array()) << item;
  // The trace that a decision asked with explain gets, on a second such deal.
  ASSERT_EQ(a.Put("/v1/records/company/C-2", Json{{"properties", {{"name", "Bcme"}}}}).status, 200);
  Reply asked = a.Post("/v1/assign", Json{{"object_type", "deal"}, {"event", "created"}, {"explain", true}, {"dry_run", true},
                                          {"record", {{"id", "D-2"}, {"links", {{"company", "C-2"}}}}}});
  ASSERT_EQ(asked.status, 200) << asked.raw;
  ASSERT_EQ(asked.body["outcome"], "fallback") << asked.raw;
  EXPECT_EQ(item["trace"], asked.body["trace"]);
  EXPECT_EQ(item["trace"].back()["step"], "fallback") << item["trace"];
}

// A CRM's record id may hold "/" ("ACME/2024/7"): sent as %2F, the record is read and
// written like any other.
TEST(ApiAssign, ARecordIdWithASlashIsReadAndWritten) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Reply r = a.Post("/v1/assign", AssignBody("ACME/2024/7"));
  ASSERT_EQ(r.status, 200) << r.raw;
  Reply got = a.Get("/v1/records/deal/ACME%2F2024%2F7");
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(got.body["id"], "ACME/2024/7");
  EXPECT_EQ(got.body["owners"], Json::array({"A"}));
  Reply put = a.Put("/v1/records/deal/ACME%2F2024%2F7", {{"owners", {"B"}}});
  ASSERT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(a.Get("/v1/records/deal/ACME%2F2024%2F7").body["owners"], Json::array({"B"}));
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/ACME%2F2024%2F8"), 404));
  // A NUL (or another control character) is no part of an id: refused (as no path holds
  // one), nothing stored.
  Reply nul = a.Put("/v1/records/deal/a%00b", {{"owners", {"B"}}});
  EXPECT_TRUE(IsError(nul, 400, "bad_request")) << nul.raw;
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/a"), 404));
}

TEST(ApiAssign, ValidationNamesEachProblem) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Reply r = a.Post("/v1/assign", {{"object_type", "banana"}, {"event", "exploded"}, {"explain", "yes"}});
  EXPECT_TRUE(IsError(r, 422));
  EXPECT_TRUE(HasDetail(r, "object_type"));
  EXPECT_TRUE(HasDetail(r, "event"));
  EXPECT_TRUE(HasDetail(r, "record"));
  EXPECT_TRUE(HasDetail(r, "explain"));
  Json prev = AssignBody("D-1");
  prev["previous"] = {{"stage", "new"}};
  EXPECT_TRUE(HasDetail(a.Post("/v1/assign", prev), "previous"));
  Json tgt = AssignBody("D-1");
  tgt["target"] = {{"pool", "p"}};
  Reply t = a.Post("/v1/assign", tgt);
  EXPECT_TRUE(IsError(t, 422));
  EXPECT_TRUE(HasDetail(t, "target"));
  Reply t2 = a.Post("/v1/assign", Requested("D-1", {{"team", "p"}}));
  EXPECT_TRUE(IsError(t2, 422));
  EXPECT_TRUE(HasDetail(t2, "target"));
  Json noid = AssignBody("");
  EXPECT_TRUE(HasDetail(a.Post("/v1/assign", noid), "record.id"));
  // None of these was a decision.
  EXPECT_EQ(HistoryCount(a), 0u);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "A");
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-1"), 404));
}

// The Zendesk Sell example: pool A, B, C gives A, B, C, A; then a record whose owner is
// set to the pool goes to B.
TEST(ApiAssign, ZendeskExampleAndAssignRequested) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  std::vector<std::string> owners;
  for (int i = 1; i <= 4; ++i) owners.push_back(AssignOwner(a, "D-" + std::to_string(i)));
  EXPECT_EQ(owners, (std::vector<std::string>{"A", "B", "C", "A"}));
  Reply r = a.Post("/v1/assign", Requested("D-5", {{"pool", "p"}}));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["outcome"], "assigned");
  EXPECT_EQ(r.body["owner"], "B");
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "C");

  // Unknown targets: 404, nothing stored, the pool does not move.
  EXPECT_TRUE(IsError(a.Post("/v1/assign", Requested("D-6", {{"pool", "nope"}})), 404));
  EXPECT_TRUE(IsError(a.Post("/v1/assign", Requested("D-6", {{"rule", "nope"}})), 404));
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-6"), 404));
  EXPECT_EQ(HistoryCount(a), 5u);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "C");

  // A rule target decides whatever its events, conditions and active switch say.
  Json only_leads = Rule("r-off", {{"type", "user"}, {"user", "A"}}, "deal", {"updated"},
                         {{{"field", "county"}, {"op", "eq"}, {"value", "Nowhere"}}});
  only_leads["active"] = false;
  ASSERT_EQ(a.Post("/v1/rules", only_leads).status, 201);
  Reply byrule = a.Post("/v1/assign", Requested("D-7", {{"rule", "r-off"}}));
  ASSERT_EQ(byrule.status, 200) << byrule.raw;
  EXPECT_EQ(byrule.body["owner"], "A");
  EXPECT_EQ(byrule.body["rule"], "r-off");
  // A pool target of another object type is refused.
  ASSERT_EQ(a.Post("/v1/pools", Pool("leads", {"A"}, "lead")).status, 201);
  Reply wrongtype = a.Post("/v1/assign", Requested("D-8", {{"pool", "leads"}}));
  EXPECT_TRUE(wrongtype.status == 404 || wrongtype.status == 422) << wrongtype.raw;
  EXPECT_TRUE(IsError(wrongtype, wrongtype.status));
}

TEST(ApiAssign, IdempotencyByBodyAndHeader) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Json body = AssignBody("D-1");
  body["idempotency_key"] = "hubspot-cb-123";
  Reply first = a.Post("/v1/assign", body);
  ASSERT_EQ(first.status, 200) << first.raw;
  EXPECT_EQ(first.body["owner"], "A");

  // Same key in the body: the same decision, the pool does not move.
  Reply again = a.Post("/v1/assign", body);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["decision_id"], first.body["decision_id"]);
  EXPECT_EQ(again.body["owner"], "A");
  // Same key as a header, body without it.
  Reply header = a.Post("/v1/assign", AssignBody("D-1"), {{"Idempotency-Key", "hubspot-cb-123"}});
  ASSERT_EQ(header.status, 200) << header.raw;
  EXPECT_EQ(header.body["decision_id"], first.body["decision_id"]);
  EXPECT_EQ(header.body["owner"], "A");
  // A retry that spells out the defaults is the same request.
  Json spelled = body;
  spelled["explain"] = false;
  spelled["dry_run"] = false;
  spelled["record"]["owners"] = Json::array();
  spelled["record"]["links"] = Json::object();
  Reply retry = a.Post("/v1/assign", spelled);
  ASSERT_EQ(retry.status, 200) << retry.raw;
  EXPECT_EQ(retry.body["decision_id"], first.body["decision_id"]);
  // Asking for the trace on a retry asks for the same decision (answered as it was stored).
  spelled["explain"] = true;
  Reply explained = a.Post("/v1/assign", spelled);
  ASSERT_EQ(explained.status, 200) << explained.raw;
  EXPECT_EQ(explained.body["decision_id"], first.body["decision_id"]);
  // `open` left out (keep what rota knows) or sent closed is another request.
  spelled["record"].erase("open");
  EXPECT_TRUE(IsError(a.Post("/v1/assign", spelled), 409));
  spelled["record"]["open"] = false;
  EXPECT_TRUE(IsError(a.Post("/v1/assign", spelled), 409));
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");
  EXPECT_EQ(HistoryCount(a), 1u);

  // Same key, different body: 409, nothing stored.
  Json other = AssignBody("D-2");
  other["idempotency_key"] = "hubspot-cb-123";
  EXPECT_TRUE(IsError(a.Post("/v1/assign", other), 409));
  EXPECT_TRUE(IsError(a.Post("/v1/assign", AssignBody("D-2"), {{"Idempotency-Key", "hubspot-cb-123"}}), 409));
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-2"), 404));
  EXPECT_EQ(HistoryCount(a), 1u);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");

  // Header key first, then the body key: the same decision too.
  Reply h1 = a.Post("/v1/assign", AssignBody("D-3"), {{"Idempotency-Key", "k-2"}});
  ASSERT_EQ(h1.status, 200);
  EXPECT_EQ(h1.body["owner"], "B");
  Json b2 = AssignBody("D-3");
  b2["idempotency_key"] = "k-2";
  EXPECT_EQ(a.Post("/v1/assign", b2).body["decision_id"], h1.body["decision_id"]);
  // Header and body naming different keys: refused.
  EXPECT_TRUE(IsError(a.Post("/v1/assign", b2, {{"Idempotency-Key", "k-3"}}), 422));
  // A new key decides anew and the pool goes on.
  EXPECT_EQ(a.Post("/v1/assign", AssignBody("D-4"), {{"Idempotency-Key", "k-4"}}).body["owner"], "C");
  EXPECT_EQ(HistoryCount(a), 3u);
  // The header is held to the body's 255 characters: a retry may move the key into the body.
  Reply long_header = a.Post("/v1/assign", AssignBody("D-5"), {{"Idempotency-Key", std::string(256, 'k')}});
  EXPECT_TRUE(IsError(long_header, 422)) << long_header.raw;
  EXPECT_TRUE(HasDetail(long_header, "idempotency_key")) << long_header.raw;
  EXPECT_EQ(a.Post("/v1/assign", AssignBody("D-5"), {{"Idempotency-Key", std::string(255, 'k')}}).status, 200);
  EXPECT_EQ(HistoryCount(a), 4u);
}

TEST(ApiAssign, DryRunDecidesAndStoresNothing) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  EXPECT_EQ(AssignOwner(a, "D-1"), "A");
  Json body = AssignBody("D-2", "created", {{"stage", "new"}});
  body["dry_run"] = true;
  body["explain"] = true;
  Reply r = a.Post("/v1/assign", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["outcome"], "assigned");
  EXPECT_EQ(r.body["owner"], "B");
  EXPECT_TRUE(r.body["trace"].is_array() && !r.body["trace"].empty()) << r.raw;
  // Again: still B, as nothing moved.
  EXPECT_EQ(a.Post("/v1/assign", body).body["owner"], "B");
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");
  EXPECT_EQ(HistoryCount(a), 1u);
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-2"), 404));
  // A dry run of an unassigned decision does not queue the record.
  Json lead = AssignBody("L-1", "created", Json::object(), "lead");
  lead["dry_run"] = true;
  EXPECT_EQ(a.Post("/v1/assign", lead).body["outcome"], "unassigned");
  EXPECT_TRUE(a.Get("/v1/unassigned").body["items"].empty());
  // Dry runs with an idempotency key do not take the key.
  body["idempotency_key"] = "dry-1";
  ASSERT_EQ(a.Post("/v1/assign", body).status, 200);
  body.erase("dry_run");
  body.erase("explain");
  Reply real = a.Post("/v1/assign", body);
  ASSERT_EQ(real.status, 200) << real.raw;
  EXPECT_EQ(real.body["owner"], "B");
  EXPECT_TRUE(real.body["decision_id"].is_string());
  EXPECT_EQ(HistoryCount(a), 2u);
  // Once a stored decision holds the key, a dry run with it is another request.
  body["dry_run"] = true;
  EXPECT_TRUE(IsError(a.Post("/v1/assign", body), 409));
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "C");
}

TEST(ApiAssign, Batch) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Json bad = AssignBody("D-2");
  bad["event"] = "exploded";
  Reply r = a.Post("/v1/assign/batch", {{"items", {AssignBody("D-1"), bad, AssignBody("D-3")}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["decisions"].size(), 3u);
  EXPECT_EQ(r.body["decisions"][0]["owner"], "A");
  EXPECT_TRUE(r.body["decisions"][1].contains("error")) << r.raw;
  EXPECT_EQ(r.body["decisions"][1]["error"]["details"][0]["path"], "event");
  EXPECT_EQ(r.body["decisions"][2]["owner"], "B");
  EXPECT_EQ(HistoryCount(a), 2u);

  Json many = Json::array();
  for (int i = 0; i < 1001; ++i) many.push_back(AssignBody("X-" + std::to_string(i)));
  EXPECT_TRUE(IsError(a.Post("/v1/assign/batch", {{"items", many}}), 422));
  EXPECT_TRUE(IsError(a.Post("/v1/assign/batch", {{"things", Json::array()}}), 422));
  // A key for the whole batch would not make its retry the same decisions: refused.
  Reply keyed = a.Post("/v1/assign/batch", {{"items", {AssignBody("D-4")}}}, {{"Idempotency-Key", "b-1"}});
  EXPECT_TRUE(IsError(keyed, 422));
  EXPECT_TRUE(HasDetail(keyed, "Idempotency-Key"));
  EXPECT_EQ(HistoryCount(a), 2u);

  // A dry run among stored items is decided in its place: on what the items before it
  // stored, storing nothing itself. Dry runs alone store nothing either.
  Json dry = AssignBody("D-6");
  dry["dry_run"] = true;
  Reply mixed = a.Post("/v1/assign/batch", {{"items", {AssignBody("D-5"), dry, AssignBody("D-7"), dry}}});
  ASSERT_EQ(mixed.status, 200) << mixed.raw;
  EXPECT_EQ(mixed.body["decisions"][0]["owner"], "C");
  EXPECT_EQ(mixed.body["decisions"][1]["owner"], "A");
  EXPECT_EQ(mixed.body["decisions"][1]["dry_run"], true);
  EXPECT_TRUE(mixed.body["decisions"][1]["decision_id"].is_null());
  EXPECT_EQ(mixed.body["decisions"][2]["owner"], "A");
  EXPECT_EQ(mixed.body["decisions"][3]["owner"], "B");
  EXPECT_EQ(HistoryCount(a), 4u);
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-6"), 404));
  Reply dry_only = a.Post("/v1/assign/batch", {{"items", {dry, dry}}});
  ASSERT_EQ(dry_only.status, 200) << dry_only.raw;
  EXPECT_EQ(dry_only.body["decisions"][0]["owner"], "B");
  EXPECT_EQ(dry_only.body["decisions"][1]["owner"], "B");
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");
  EXPECT_EQ(HistoryCount(a), 4u);
}

TEST(ApiRecords, PutGetActivityAndUnassignedQueue) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Reply put = a.Put("/v1/records/company/C-1", {{"properties", {{"name", "Acme"}, {"employees", 40}}},
                                                {"owners", {"B"}}, {"links", Json::object()}, {"tags", {"vip"}}});
  ASSERT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(put.body["id"], "C-1");
  EXPECT_EQ(put.body["object_type"], "company");
  EXPECT_EQ(put.body["properties"]["name"], "Acme");
  EXPECT_EQ(put.body["owners"], Json::array({"B"}));
  EXPECT_EQ(put.body["tags"], Json::array({"vip"}));
  EXPECT_TRUE(put.body["activity"].is_array());
  EXPECT_EQ(a.Get("/v1/records/company/C-1").body, put.body);

  // Errors.
  EXPECT_TRUE(IsError(a.Get("/v1/records/company/C-2"), 404));
  EXPECT_TRUE(IsError(a.Get("/v1/records/banana/C-1"), 404));
  EXPECT_TRUE(IsError(a.Put("/v1/records/banana/C-1", {{"properties", Json::object()}}), 404));
  Reply bad = a.Put("/v1/records/company/C-1", {{"id", "C-9"}, {"owners", "B"}, {"properties", 5}});
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "id"));
  EXPECT_TRUE(HasDetail(bad, "owners"));
  EXPECT_TRUE(HasDetail(bad, "properties"));
  EXPECT_EQ(a.Get("/v1/records/company/C-1").body["properties"]["name"], "Acme");

  // A decision stores the record and shows in its activity.
  Reply d = a.Post("/v1/assign", AssignBody("D-1", "created", {{"stage", "new"}}));
  ASSERT_EQ(d.status, 200);
  Reply rec = a.Get("/v1/records/deal/D-1");
  ASSERT_EQ(rec.status, 200) << rec.raw;
  EXPECT_EQ(rec.body["owners"], Json::array({"A"}));
  EXPECT_EQ(rec.body["properties"]["stage"], "new");
  ASSERT_FALSE(rec.body["activity"].empty()) << rec.raw;
  bool found = false;
  for (const Json& act : rec.body["activity"]) {
    if (act["decision_id"] == d.body["decision_id"]) {
      found = true;
      EXPECT_EQ(act["owner"], "A");
      EXPECT_EQ(act["outcome"], "assigned");
    }
  }
  EXPECT_TRUE(found) << rec.raw;

  // An unassigned lead enters the queue, leaves it when it gets owners by hand.
  Reply u = a.Post("/v1/assign", AssignBody("L-1", "created", Json::object(), "lead"));
  ASSERT_EQ(u.body["outcome"], "unassigned");
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("T-1", "created", Json::object(), "task")).body["outcome"], "unassigned");
  Reply q = a.Get("/v1/unassigned");
  ASSERT_EQ(q.status, 200) << q.raw;
  ASSERT_EQ(q.body["items"].size(), 2u);
  Reply ql = a.Get("/v1/unassigned?object_type=lead");
  ASSERT_EQ(ql.body["items"].size(), 1u);
  const Json& item = ql.body["items"][0];
  EXPECT_EQ(item["object_type"], "lead");
  EXPECT_EQ(item["record_id"], "L-1");
  EXPECT_EQ(item["reason"], "no_rule_matched");
  EXPECT_EQ(item["decision_id"], u.body["decision_id"]);
  EXPECT_TRUE(item["at"].is_string());
  EXPECT_TRUE(IsError(a.Get("/v1/unassigned?object_type=banana"), 422));
  Reply p1 = a.Get("/v1/unassigned?limit=1");
  ASSERT_EQ(p1.body["items"].size(), 1u);
  ASSERT_TRUE(p1.body["next_cursor"].is_string()) << p1.raw;
  Reply p2 = a.Get("/v1/unassigned?limit=1&cursor=" + p1.body["next_cursor"].get<std::string>());
  ASSERT_EQ(p2.status, 200) << p2.raw;
  ASSERT_EQ(p2.body["items"].size(), 1u);
  EXPECT_NE(p2.body["items"][0]["record_id"], p1.body["items"][0]["record_id"]);
  for (const char* bad : {"zzz", "aaa", "dec_", "dec_ZZZZ567890abcdef1234567890ab"}) {
    EXPECT_TRUE(IsError(a.Get(std::string("/v1/unassigned?cursor=") + bad), 422)) << bad;
  }
  const size_t queued = a.Get("/v1/unassigned").body["items"].size();
  EXPECT_TRUE(a.Get("/v1/unassigned?limit=" + std::to_string(queued)).body["next_cursor"].is_null());
  EXPECT_TRUE(a.Get("/v1/unassigned?limit=" + std::to_string(queued - 1)).body["next_cursor"].is_string());

  // Putting the record without owners keeps it queued; with owners it leaves.
  ASSERT_EQ(a.Put("/v1/records/lead/L-1", {{"properties", {{"x", 1}}}}).status, 200);
  EXPECT_EQ(a.Get("/v1/unassigned?object_type=lead").body["items"].size(), 1u);
  ASSERT_EQ(a.Put("/v1/records/lead/L-1", {{"properties", {{"x", 1}}}, {"owners", {"C"}}}).status, 200);
  EXPECT_TRUE(a.Get("/v1/unassigned?object_type=lead").body["items"].empty());
  EXPECT_EQ(a.Get("/v1/unassigned").body["items"].size(), 1u);
  EXPECT_EQ(a.Get("/v1/records/lead/L-1").body["owners"], Json::array({"C"}));
  // A later decision that assigns the task takes it off the queue too.
  ASSERT_EQ(a.Put("/v1/settings", {{"default_owners", {{"task", "C"}}}}).status, 200);
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("T-1", "updated", Json::object(), "task")).body["owner"], "C");
  EXPECT_TRUE(a.Get("/v1/unassigned").body["items"].empty());
}

// SPEC §1: a record is what rota knows of it. A request that leaves out links, properties
// or `open` is decided, and kept, with what rota knew.
TEST(ApiRecords, DecisionsUseWhatRotaKnowsOfTheRecord) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"u-3", "u-9"});
  ASSERT_EQ(a.Put("/v1/records/company/C-1", Json{{"owners", {"u-9"}}}).status, 200);
  ASSERT_EQ(a.Put("/v1/records/deal/D-1", Json{{"links", {{"company", "C-1"}}}, {"properties", {{"region", "north"}}},
                                            {"open", false}}).status, 200);
  Json rule = Rule("r-north", {{"type", "user"}, {"user", "u-3"}}, "deal", Json::array({"created"}),
                   Json::array({{{"field", "region"}, {"op", "eq"}, {"value", "north"}}}));
  rule["actions"] = {{"apply_to_related", {"company"}}, {"related_mode", "replace"}};
  ASSERT_EQ(a.Post("/v1/rules", rule).status, 201);
  ASSERT_EQ(a.Post("/v1/rules", Rule("r-company", {{"type", "related_owner"}, {"relation", "company"}}, "deal",
                                     Json::array({"updated"}))).status, 201);

  // Only the id and another property: the stored region matches the rule, the stored link
  // gets the owner.
  Json body = {{"object_type", "deal"}, {"event", "created"}, {"record", {{"id", "D-1"}, {"properties", {{"amount", 5}}}}}};
  Reply r = a.Post("/v1/assign", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["rule"], "r-north") << r.raw;
  EXPECT_EQ(r.body["owner"], "u-3");
  ASSERT_EQ(r.body["related"].size(), 1u) << r.raw;
  EXPECT_EQ(r.body["related"][0]["id"], "C-1");
  EXPECT_EQ(a.Get("/v1/records/company/C-1").body["owners"], Json::array({"u-3"}));
  Reply deal = a.Get("/v1/records/deal/D-1");
  EXPECT_EQ(deal.body["open"], false) << deal.raw;  // left out: as it was
  EXPECT_EQ(deal.body["properties"]["region"], "north");
  EXPECT_EQ(deal.body["properties"]["amount"], 5);
  // "open": null is as left out.
  Json with_null = body;
  with_null["record"]["open"] = nullptr;
  ASSERT_EQ(a.Post("/v1/assign", with_null).status, 200);
  EXPECT_EQ(a.Get("/v1/records/deal/D-1").body["open"], false);

  // related_owner follows the stored link too; a sent `open` is kept.
  body["event"] = "updated";
  body["record"]["open"] = true;
  r = a.Post("/v1/assign", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["rule"], "r-company") << r.raw;
  EXPECT_EQ(r.body["owner"], "u-3");
  EXPECT_EQ(a.Get("/v1/records/deal/D-1").body["open"], true);

  // A dry run decides on the same record.
  body["event"] = "created";
  body["dry_run"] = true;
  r = a.Post("/v1/assign", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["rule"], "r-north") << r.raw;
}

TEST(ApiHistory, FiltersPaginationAndCsv) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i) {
    Reply r = a.Post("/v1/assign", AssignBody("D-" + std::to_string(i)));
    ASSERT_EQ(r.status, 200);
    ids.push_back(r.body["decision_id"]);
  }  // A B C A B
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("L-1", "created", Json::object(), "lead")).body["outcome"], "unassigned");
  ASSERT_EQ(a.Post("/v1/assign", Requested("D-1", {{"pool", "p"}})).body["owner"], "C");

  Reply all = a.Get("/v1/history");
  ASSERT_EQ(all.status, 200) << all.raw;
  ASSERT_EQ(all.body["items"].size(), 7u);
  EXPECT_TRUE(all.body["next_cursor"].is_null());
  // Newest first.
  EXPECT_EQ(all.body["items"][6]["decision_id"], ids[0]);
  EXPECT_EQ(all.body["items"][0]["event"], "assign_requested");
  const Json& first = all.body["items"][6];
  for (const char* k : {"decision_id", "at", "event", "object_type", "record_id", "rule", "strategy", "outcome", "owner",
                        "reason"}) {
    EXPECT_TRUE(first.contains(k)) << k << ": " << first;
  }
  EXPECT_EQ(first["record_id"], "D-1");
  EXPECT_EQ(first["object_type"], "deal");
  EXPECT_EQ(first["event"], "created");

  auto count = [&](const std::string& q) {
    Reply r = a.Get("/v1/history?" + q);
    EXPECT_EQ(r.status, 200) << q << ": " << r.raw;
    return r.body.is_object() ? r.body["items"].size() : size_t{999};
  };
  EXPECT_EQ(count("owner=A"), 2u);
  EXPECT_EQ(count("owner=C"), 2u);
  EXPECT_EQ(count("outcome=unassigned"), 1u);
  EXPECT_EQ(count("outcome=assigned"), 6u);
  EXPECT_EQ(count("object_type=lead"), 1u);
  EXPECT_EQ(count("object_type=deal"), 6u);
  EXPECT_EQ(count("event=assign_requested"), 1u);
  EXPECT_EQ(count("event=created&owner=B"), 2u);
  EXPECT_EQ(count("rule=r-pool"), 5u);
  EXPECT_EQ(count("period=today"), 7u);
  EXPECT_EQ(count("period=yesterday"), 0u);
  EXPECT_EQ(count("period=month"), 7u);  // made now: this month
  EXPECT_EQ(count("from=2000-01-01T00:00:00Z"), 7u);
  EXPECT_EQ(count("from=2999-01-01T00:00:00Z"), 0u);
  EXPECT_EQ(count("to=2000-01-01T00:00:00Z"), 0u);
  EXPECT_TRUE(HasDetail(a.Get("/v1/history?outcome=maybe"), "outcome"));
  EXPECT_TRUE(IsError(a.Get("/v1/history?outcome=maybe"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/history?object_type=banana"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/history?event=exploded"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/history?period=lastweek"), 422));
  EXPECT_TRUE(HasDetail(a.Get("/v1/history?from=yesterday"), "from"));
  // A range that ends before it starts is a mistake, not an empty page; a named period
  // overrides the range.
  EXPECT_TRUE(HasDetail(a.Get("/v1/history?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"), "to"));
  EXPECT_TRUE(HasDetail(a.Get("/v1/reports/distribution?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"), "to"));
  EXPECT_EQ(a.Get("/v1/history?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&period=today").status, 200);
  EXPECT_EQ(count("from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"), 0u);
  EXPECT_TRUE(IsError(a.Get("/v1/history?limit=0"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/history?limit=1001"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/history?cursor=abc"), 422));

  // Pages of 3: 3, 3, 1; together every decision once, newest first.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 10; ++pages) {
    Reply r = a.Get("/v1/history?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_LE(r.body["items"].size(), 3u);
    for (const Json& d : r.body["items"]) seen.push_back(d["decision_id"]);
    if (r.body["next_cursor"].is_null()) break;
    cursor = r.body["next_cursor"];
  }
  EXPECT_EQ(pages, 2);
  std::vector<std::string> expected;
  for (const Json& d : all.body["items"]) expected.push_back(d["decision_id"]);
  EXPECT_EQ(seen, expected);
  // A last page that is exactly full says so: no cursor to an empty page.
  const std::string n = std::to_string(expected.size());
  Reply exact = a.Get("/v1/history?limit=" + n);
  ASSERT_EQ(exact.body["items"].size(), expected.size());
  EXPECT_TRUE(exact.body["next_cursor"].is_null()) << exact.raw.substr(0, 200);
  Reply exact_csv = a.Get("/v1/history?limit=" + n, {{"Accept", "text/csv"}});
  EXPECT_EQ(exact_csv.headers.count("Next-Cursor"), 0u);
  Reply short_by_one = a.Get("/v1/history?limit=" + std::to_string(expected.size() - 1));
  EXPECT_TRUE(short_by_one.body["next_cursor"].is_string());
  // Blank filters (a form's empty fields) are filters not given.
  Reply blank = a.Get("/v1/history?owner=&rule=&object_type=&period=&limit=" + n);
  ASSERT_EQ(blank.status, 200) << blank.raw;
  EXPECT_EQ(blank.body["items"].size(), expected.size());
  // Filters and pages together.
  Reply f1 = a.Get("/v1/history?object_type=deal&limit=4");
  ASSERT_EQ(f1.body["items"].size(), 4u);
  ASSERT_TRUE(f1.body["next_cursor"].is_string());
  Reply f2 = a.Get("/v1/history?object_type=deal&limit=4&cursor=" + f1.body["next_cursor"].get<std::string>());
  ASSERT_EQ(f2.body["items"].size(), 2u);
  for (const Json& d : f2.body["items"]) EXPECT_EQ(d["object_type"], "deal");

  // CSV.
  Reply csv = a.Get("/v1/history", {{"Accept", "text/csv"}});
  ASSERT_EQ(csv.status, 200) << csv.raw;
  auto ct = csv.headers.find("Content-Type");
  ASSERT_NE(ct, csv.headers.end());
  EXPECT_EQ(ct->second.rfind("text/csv", 0), 0u) << ct->second;
  std::vector<std::string> lines;
  std::stringstream ss(csv.raw);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 8u) << csv.raw;
  for (const char* col : {"decision_id", "object_type", "record_id", "owner", "outcome"}) {
    EXPECT_NE(lines[0].find(col), std::string::npos) << lines[0];
  }
  EXPECT_NE(lines[1].find("assign_requested"), std::string::npos) << lines[1];
  EXPECT_NE(csv.raw.find("no_rule_matched"), std::string::npos);
  Reply csvf = a.Get("/v1/history?owner=A", {{"Accept", "text/csv"}});
  EXPECT_EQ(std::count(csvf.raw.begin(), csvf.raw.end(), '\n'), 3) << csvf.raw;
  Reply upper = a.Get("/v1/history?owner=A", {{"Accept", "TEXT/CSV"}});  // media types ignore case
  EXPECT_EQ(upper.raw, csvf.raw);
}

TEST(ApiTransport, MalformedTooLargeAndUnknownRoutes) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  auto c = s.Client();
  httplib::Headers auth = {{"Authorization", "Bearer " + s.admin_key()}};

  auto check = [&](const httplib::Result& r, int status) {
    ASSERT_TRUE(r);
    Reply reply;
    reply.status = r->status;
    reply.raw = r->body;
    reply.body = Json::parse(r->body, nullptr, false);
    if (reply.body.is_discarded()) reply.body = nullptr;
    EXPECT_TRUE(IsError(reply, status));
  };
  check(c->Post("/v1/assign", auth, "{\"object_type\": ", "application/json"), 400);
  check(c->Post("/v1/users", auth, "{\"id\": \"u-1\",}", "application/json"), 400);
  check(c->Put("/v1/settings", auth, "not json", "application/json"), 400);
  check(c->Post("/v1/users", auth, "", "application/json"), 400);
  EXPECT_TRUE(IsError(a.Get("/v1/users/u-1"), 404));

  // Over 1 MiB: 413 with the error body; nothing stored.
  Json big = User("u-big");
  big["name"] = std::string((1 << 20) + 100, 'x');
  check(c->Post("/v1/users", auth, big.dump(), "application/json"), 413);
  Json big_assign = AssignBody("D-big", "created", {{"blob", std::string((1 << 20) + 10, 'y')}});
  check(c->Post("/v1/assign", auth, big_assign.dump(), "application/json"), 413);
  EXPECT_TRUE(IsError(a.Get("/v1/users/u-big"), 404));
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-big"), 404));
  EXPECT_EQ(HistoryCount(a), 0u);
  // Just under the limit is fine.
  Json ok = AssignBody("D-ok", "created", {{"blob", std::string((1 << 20) - 2000, 'z')}});
  Reply under = a.Post("/v1/assign", ok);
  EXPECT_EQ(under.status, 200) << under.raw.substr(0, 300);

  EXPECT_TRUE(IsError(a.Get("/v1/nothing-here"), 404));
}

// A chunked body has no Content-Length for httplib to check: rota holds it to the same
// limit while reading, and reads it to its end so that the connection goes on.
// A POST with no body at all (no Content-Length, not chunked: curl -X POST without -d)
// is an empty body, read at once (httplib would wait for the connection's end): a call
// that needs JSON says so.
TEST(ApiTransport, APostWithoutABodyIsAnEmptyBody) {
  RotaServer s;
  auto raw = [&](const std::string& path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(s.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    const std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + s.admin_key() +
                            "\r\nConnection: close\r\n\r\n";
    EXPECT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
    close(fd);
    return got;
  };
  std::string assign = raw("/v1/assign");
  EXPECT_EQ(assign.rfind("HTTP/1.1 400", 0), 0u) << assign;
  EXPECT_NE(assign.find("a JSON body is required"), std::string::npos) << assign;
}

TEST(ApiTransport, ChunkedBodiesAreHeldToTheLimit) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  auto c = s.Client();  // one keep-alive connection for every request below
  httplib::Headers auth = {{"Authorization", "Bearer " + s.admin_key()}};
  auto chunked = [&](const std::string& path, const std::string& body) {
    return c->Post(path, auth, [&body](size_t offset, httplib::DataSink& sink) {
      size_t n = std::min<size_t>(64 * 1024, body.size() - offset);
      if (n > 0) sink.write(body.data() + offset, n);
      if (offset + n >= body.size()) sink.done();
      return true;
    }, "application/json");
  };

  const std::string big = AssignBody("D-big", "created", {{"blob", std::string(3 << 20, 'y')}}).dump();
  auto r = chunked("/v1/assign", big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json::parse(r->body, nullptr, false)["error"]["code"], "body_too_large") << r->body.substr(0, 300);
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/D-big"), 404));
  EXPECT_EQ(HistoryCount(a), 0u);
  // On an unknown path as well.
  r = chunked("/v1/nothing-here", big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  // Under the limit, chunked works like any body, on the same connection.
  r = chunked("/v1/assign", AssignBody("D-ok", "created", {{"blob", std::string(300 * 1024, 'z')}}).dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_EQ(HistoryCount(a), 1u);

  // A multipart body is no JSON: 400, and the connection goes on.
  r = c->Post("/v1/assign", auth, "--XB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XB--\r\n",
              "multipart/form-data; boundary=XB");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = c->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ApiTransport, AWrongMethodOnARouteIs405WithAllow) {
  RotaServer s;
  As a{s, s.admin_key()};
  auto c = s.Client();
  httplib::Headers auth = {{"Authorization", "Bearer " + s.admin_key()}};
  auto r = c->Delete("/v1/history", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
  EXPECT_EQ(Json::parse(r->body, nullptr, false)["error"]["code"], "method_not_allowed") << r->body;
  r = c->Put("/v1/users/u-1", auth, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, PATCH, DELETE");
  r = c->Get("/v1/assign", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  // OPTIONS (no CORS here) is a method like the others.
  r = c->Options("/v1/users", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST, GET");
  // No route at all: 404, for every method.
  EXPECT_TRUE(IsError(a.Get("/v1/nothing-here"), 404));
  r = c->Delete("/v1/nothing-here", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c->Options("/v1/nothing-here", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  // A path that is not UTF-8 is a bad request on any path, as in a route's parameters.
  c->set_url_encode(false);
  r = c->Get("/v1/\xff\xfe", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(Json::parse(r->body, nullptr, false)["error"]["code"], "bad_request") << r->body;
  // So is a '%' without two hex digits (it was kept as it is: "%zz" became an id), and a
  // control character no route takes.
  for (const char* path : {"/v1/records/deal/%zz", "/v1/records/deal/%2", "/v1/distributions/d/keys/50%",
                           "/v1/records/deal/%0a"}) {
    r = c->Put(path, auth, "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    EXPECT_EQ(Json::parse(r->body, nullptr, false)["error"]["code"], "bad_request") << path << ": " << r->body;
  }
  EXPECT_TRUE(IsError(a.Get("/v1/records/deal/%25zz"), 404));  // "%zz" written as it should be: no such record
  // NUL in a route's parameter or a query parameter is refused before it reaches a store:
  // PostgreSQL's text ends at it, so "D-1\0zz" would find D-1, and "?owner=A%00zz" A's.
  SeedRoundRobin(a);
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("D-1")).status, 200);
  for (const char* path : {"/v1/records/deal/D-1%00zz", "/v1/keys/key_x%00zz", "/v1/history?owner=A%00zz",
                           "/v1/reports/distribution?rule=r-pool%00zz", "/v1/history?rule=%01"}) {
    r = c->Get(path, auth);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    EXPECT_EQ(Json::parse(r->body, nullptr, false)["error"]["code"], "bad_request") << path << ": " << r->body;
  }
  r = c->Delete("/v1/keys/key_x%00zz", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  // A key's value may hold a tab, in its path too.
  ASSERT_EQ(a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "county"}}).status, 201);
  Reply tab = a.Put("/v1/distributions/d/keys/a%09b", {{"owners", {{{"user", "A"}, {"percent", 100}}}}});
  EXPECT_EQ(tab.status, 200) << tab.raw;
}

// A CRM's own `notes` field on a record is the caller's (rota's notes are not read from
// callers); a link sent as null unlinks, on PUT as on assign.
TEST(ApiRecords, CallersNotesAreIgnoredAndANullLinkUnlinks) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Json body = AssignBody("D-1");
  body["record"]["notes"] = "Customer called twice";
  body["record"]["links"] = {{"company", "C-1"}};
  Reply d = a.Post("/v1/assign", body);
  ASSERT_EQ(d.status, 200) << d.raw;
  Reply put = a.Put("/v1/records/deal/D-1", {{"links", {{"company", nullptr}}}, {"notes", {{{"at", "yesterday"}}}}});
  ASSERT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(put.body["links"], Json::object()) << put.raw;
  EXPECT_FALSE(put.body.contains("notes")) << put.raw;
}

TEST(ApiMetrics, CountsRequestsAndDecisions) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(AssignOwner(a, "D-" + std::to_string(i)).empty(), false);
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("L-1", "created", Json::object(), "lead")).status, 200);
  Reply m = s.Call("GET", "/metrics", "");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.raw.find("rota_http_requests_total"), std::string::npos) << m.raw;
  EXPECT_NE(m.raw.find("rota_decisions_total"), std::string::npos) << m.raw;
  EXPECT_TRUE(std::regex_search(m.raw, std::regex(R"(rota_http_requests_total\{[^}]*\} [1-9])"))) << m.raw;
  std::smatch sm;
  ASSERT_TRUE(std::regex_search(
      m.raw, sm, std::regex(R"(rota_decisions_total\{outcome="assigned",strategy="pool"\} (\d+))")))
      << m.raw;
  EXPECT_EQ(sm[1], "3");
  EXPECT_TRUE(std::regex_search(m.raw, std::regex(R"(rota_decisions_total\{outcome="unassigned"[^}]*\} 1)"))) << m.raw;

  // Answers whose handlers write their own body (Prometheus text, CSV) count with the
  // status they were sent with.
  Reply csv = s.Call("GET", "/v1/history", a.key, Json(), {{"Accept", "text/csv"}});
  ASSERT_EQ(csv.status, 200) << csv.raw;
  m = s.Call("GET", "/metrics", "");
  EXPECT_NE(m.raw.find("rota_http_requests_total{route=\"GET /metrics\",status=\"200\"} 1"), std::string::npos) << m.raw;
  EXPECT_NE(m.raw.find("rota_http_requests_total{route=\"GET /v1/history\",status=\"200\"} 1"), std::string::npos)
      << m.raw;
  EXPECT_EQ(m.raw.find("status=\"-1\""), std::string::npos) << m.raw;
}

}  // namespace
// `rota assign` on the database a server uses: the same decisions as POST /v1/assign, in
// the same rotation; a refused line is answered in place and changes nothing.
TEST(AssignCli, DecidesFromJsonLinesOnTheDatabase) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  std::string key;
  {
    RotaServer s(db);
    key = s.admin_key();
    As a{s, key};
    SeedRoundRobin(a);
    EXPECT_EQ(AssignOwner(a, "D-1"), "A");
  }
  const std::string file = dir.path() + "/in.jsonl";
  std::ofstream(file) << AssignBody("D-2").dump() << "\n\n"
                      << R"({"object_type": "deal", "event": "created", "record": {"id": ""}})" << "\n"
                      << AssignBody("D-3").dump() << "\n";
  auto [code, out] = RunRota({"assign", "--db", db, file});
  EXPECT_EQ(code, 2) << out;  // one line refused
  std::istringstream lines(out);
  std::vector<Json> answers;
  for (std::string line; std::getline(lines, line);) answers.push_back(Json::parse(line, nullptr, false));
  ASSERT_EQ(answers.size(), 3u) << out;
  EXPECT_EQ(answers[0]["owner"], "B") << out;
  EXPECT_EQ(answers[1]["line"], 3) << out;
  EXPECT_EQ(answers[1]["error"]["code"], "validation_failed") << out;
  EXPECT_EQ(answers[2]["owner"], "C") << out;

  std::ofstream(file, std::ios::trunc) << AssignBody("D-4").dump(2);  // one document over several lines
  std::tie(code, out) = RunRota({"assign", "--db", db, file});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(Json::parse(out, nullptr, false)["owner"], "A") << out;

  RotaServer s(db);
  As a{s, key};
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");
  EXPECT_EQ(a.Get("/v1/history").body["items"].size(), 4u);

  // A mistyped --db, an unknown workspace, and a command rota does not have.
  std::tie(code, out) = RunRota({"assign", "--db", dir.path() + "/typo.db", file});
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = RunRota({"assign", "--db", db, "--workspace", "nope", file});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("nope"), std::string::npos) << out;
  std::tie(code, out) = RunRota({"asign", "--help"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("unknown command \"asign\""), std::string::npos) << out;
  // Usage errors exit 2 as every other error does; --help and --version succeed.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"assign", "--no-such-option"}, {"config"}, {"config", "bogus"}, {"serve", "--threads", "many"}}) {
    std::tie(code, out) = RunRota(args);
    EXPECT_EQ(code, 2) << args[0] << ": " << out;
  }
  EXPECT_EQ(RunRota({"assign", "--help"}).first, 0);
  EXPECT_EQ(RunRota({"--version"}).first, 0);
}

}  // namespace rota::testing
