#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "connectors/connector.h"
#include "connectors/crypto.h"
#include "connectors/generic.h"
#include "connectors/hubspot.h"
#include "connectors/pipedrive.h"
#include "connectors/secrets.h"

namespace rota::connectors {
namespace {

Json Fixture(const std::string& name) {
  std::ifstream in(std::string(ROTA_FIXTURES) + "/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

Connector Make(const Json& doc) {
  auto c = ReadConnector(doc);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Connector{};
}

Connector HubSpot() {
  return Make({{"id", "hs"},
               {"kind", "hubspot"},
               {"credentials", {{"app_secret", "app-secret"}, {"access_token", "pat-1"}}},
               {"user_map", {{"ada", "41629779"}}}});
}

Connector Pipedrive() {
  return Make({{"id", "pd"},
               {"kind", "pipedrive"},
               {"api_base", "https://acme.pipedrive.com/"},
               {"credentials", {{"webhook_user", "hook"}, {"webhook_password", "s3cret"}, {"api_token", "tok"}}}});
}

Connector Generic() {
  return Make({{"id", "crm"},
               {"kind", "generic"},
               {"api_base", "http://crm.local/hooks/rota"},
               {"credentials", {{"secret", "shh"}}},
               {"field_map", {{"record_id", "$.payload.key"}, {"object_type", "$.payload.kind"},
                              {"properties", "$.payload.fields"}, {"idempotency_key", "$.delivery"},
                              {"event", "created"}}},
               {"object_map", {{"opportunity", "deal"}}}});
}

// ---- crypto and sealing

TEST(Crypto, HmacAndBase64MatchKnownValues) {
  // RFC 4231 test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(FromBase64("Zm8="), std::optional<std::string>("fo"));
  EXPECT_EQ(FromHex(Hex("a/b \xff")), std::optional<std::string>("a/b \xff"));
  EXPECT_EQ(FromHex("4A6b"), std::optional<std::string>("Jk"));
  EXPECT_EQ(FromHex("abc"), std::nullopt);
  EXPECT_EQ(FromHex("zz"), std::nullopt);
  EXPECT_EQ(FromBase64("Zm9vYmFy"), std::optional<std::string>("foobar"));
  EXPECT_FALSE(FromBase64("Zm8"));
  EXPECT_FALSE(FromBase64("Zm8*"));
  EXPECT_TRUE(SafeEqual("abc", "abc"));
  EXPECT_FALSE(SafeEqual("abc", "abd"));
  EXPECT_FALSE(SafeEqual("abc", "abcd"));
}

TEST(SecretBox, SealsAndOpensOnlyWithTheSameKey) {
  EXPECT_FALSE(SecretBox::FromText("short").ok());
  auto box = SecretBox::FromText("0123456789abcdef-key");
  auto other = SecretBox::FromText("0123456789abcdef-other");
  ASSERT_TRUE(box.ok() && other.ok());
  std::string sealed = box->Seal(R"({"api_token":"tok"})");
  EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
  EXPECT_EQ(sealed.find("tok"), std::string::npos);
  EXPECT_NE(sealed, box->Seal(R"({"api_token":"tok"})"));  // a fresh nonce each time
  EXPECT_EQ(*box->Open(sealed), R"({"api_token":"tok"})");
  EXPECT_FALSE(other->Open(sealed).ok());
  std::string tampered = sealed;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box->Open(tampered).ok());
  EXPECT_FALSE(box->Open("plain text").ok());
}

// ---- configuration

TEST(Connector, ReadsDefaultsAndReportsEveryProblem) {
  Connector hs = HubSpot();
  EXPECT_EQ(hs.api_base, "https://api.hubapi.com");
  EXPECT_EQ(RotaType(hs, "deals"), core::ObjectType::kDeal);
  EXPECT_EQ(RotaType(hs, "TICKETS"), core::ObjectType::kTask);
  EXPECT_EQ(CrmType(hs, core::ObjectType::kCompany), std::optional<std::string>("companies"));
  EXPECT_EQ(CrmOwner(hs, "ada"), "41629779");
  EXPECT_EQ(CrmOwner(hs, "41629780"), "41629780");
  EXPECT_EQ(RotaUser(hs, "41629779"), "ada");

  auto bad = ReadConnector({{"kind", "pipedrive"},
                            {"api_base", "ftp://x"},
                            {"credentials", {{"webhook_user", 3}, {"nope", "x"}}},
                            {"object_map", {{"deal", "opportunity"}}},
                            {"field_map", {{"record_id", "$.id"}}},
                            {"colour", "red"}});
  ASSERT_FALSE(bad.ok());
  std::set<std::string> paths;
  for (const Problem& p : bad.status().details()) paths.insert(p.path);
  for (const char* want : {"api_base", "credentials.webhook_user", "credentials.nope", "credentials.webhook_password",
                           "credentials.api_token", "object_map.deal", "field_map", "colour"}) {
    EXPECT_TRUE(paths.count(want)) << want;
  }
  EXPECT_FALSE(ReadConnector({{"id", "x"}}).ok());                      // kind required
  EXPECT_FALSE(ReadConnector({{"kind", "salesforce"}}).ok());          // unknown kind
  EXPECT_FALSE(ReadConnector({{"kind", "hubspot"}, {"credentials", {{"app_secret", "a"}}}}).ok());  // token for write-back
  EXPECT_TRUE(ReadConnector({{"kind", "hubspot"}, {"write_back", false}, {"credentials", {{"app_secret", "a"}}}}).ok());
  EXPECT_FALSE(ReadConnector({{"kind", "generic"}, {"credentials", {{"secret", "s"}}}, {"field_map", {{"record_id", "$.a["}}},
                              {"write_back", false}})
                   .ok());
  // A user map names a CRM owner for each user, and each CRM owner once.
  auto mapped = [](const Json& map) {
    auto c = ReadConnector({{"kind", "hubspot"}, {"write_back", false}, {"credentials", {{"app_secret", "a"}}},
                            {"user_map", map}});
    std::set<std::string> paths;
    if (!c.ok()) for (const Problem& p : c.status().details()) paths.insert(p.path + ": " + p.message);
    return paths;
  };
  EXPECT_EQ(mapped({{"ada", ""}}), (std::set<std::string>{"user_map.ada: the CRM owner id is empty"}));
  EXPECT_EQ(mapped({{"ada", " "}}), (std::set<std::string>{"user_map.ada: the CRM owner id is empty"}));
  EXPECT_EQ(mapped({{"ada", "7"}, {"bob", 7}}),
            (std::set<std::string>{"user_map.bob: CRM owner \"7\" is mapped from \"ada\" too"}));
  EXPECT_EQ(mapped({{"", "7"}}).size(), 1u);
  EXPECT_TRUE(mapped({{"ada", "7"}, {"bob", 8}}).empty());
}

TEST(Connector, SettingsNeverHoldCredentials) {
  Json j = SettingsJson(Pipedrive());
  EXPECT_FALSE(j.contains("credentials"));
  EXPECT_EQ(j.dump().find("s3cret"), std::string::npos);
  EXPECT_EQ(j.dump().find("tok"), std::string::npos);
  EXPECT_EQ(CredentialsJson(Pipedrive())["api_token"], "tok");
}

TEST(Connector, JsonPathSelects) {
  Json doc = {{"a", {{"b", Json::array({10, 20})}, {"odd key", "x"}}}};
  EXPECT_EQ(**Select(doc, "$.a.b[1]"), 20);
  EXPECT_EQ(**Select(doc, "$.a['odd key']"), "x");
  EXPECT_EQ(*Select(doc, "$.a.c"), nullptr);
  EXPECT_EQ(*Select(doc, "$.a.b[5]"), nullptr);
  EXPECT_FALSE(Select(doc, "a.b").ok());
  EXPECT_FALSE(ValidPath("$..a"));
  EXPECT_TRUE(ValidPath("$"));
}

// ---- HubSpot

TEST(HubSpot, SignatureV3GoodBadAndStale) {
  const std::string body = R"({"vid":1})";
  const std::string uri = "https://rota.example.com/v1/connectors/hs/hubspot/workflow?workspace=default";
  const int64_t now = 1763900000000;
  const std::string ts = std::to_string(now - 1000);
  std::string sig = hubspot::SignatureV3("app-secret", "POST", uri, body, ts);
  EXPECT_TRUE(hubspot::Verify("app-secret", "POST", {"http://other", uri}, body, sig, ts, now).ok());
  EXPECT_EQ(hubspot::Verify("wrong", "POST", {uri}, body, sig, ts, now).code(), Code::kUnauthenticated);
  EXPECT_FALSE(hubspot::Verify("app-secret", "POST", {uri}, body + " ", sig, ts, now).ok());
  EXPECT_FALSE(hubspot::Verify("app-secret", "POST", {uri}, body, "", ts, now).ok());
  const std::string stale = std::to_string(now - hubspot::kMaxSkewMs - 1);
  EXPECT_FALSE(hubspot::Verify("app-secret", "POST", {uri}, body,
                               hubspot::SignatureV3("app-secret", "POST", uri, body, stale), stale, now)
                   .ok());
  EXPECT_FALSE(hubspot::Verify("app-secret", "POST", {uri}, body, sig, "12ab", now).ok());
  // HubSpot decodes %3A and the like before signing.
  const std::string encoded = "https://rota.example.com/x?next=a%3Ab";
  EXPECT_EQ(hubspot::SignatureV3("k", "POST", encoded, "", "1"),
            hubspot::SignatureV3("k", "POST", "https://rota.example.com/x?next=a:b", "", "1"));
  // Known value, computed independently (Python: base64(hmac.new(b"app-secret",
  // b"POST" + uri + body + ts, sha256).digest())).
  EXPECT_EQ(hubspot::SignatureV3("app-secret", "POST", "https://h/x", "{}", "1"),
            "iFhsbGwARCldV1s99SjEcjs0xIFzo9CBr2mM0OJi4q8=");
}

// A call's associations become the record's links: the objects API's, the legacy ones,
// or a contact's primary company.
TEST(HubSpot, AssociationsBecomeLinks) {
  Connector c = HubSpot();
  Json v3 = {{"id", "9500"},
             {"properties", Json::object()},
             {"associations",
              {{"companies", {{"results", {{{"id", "7001"}, {"type", "deal_to_company"}}, {{"id", "7002"}}}}}},
               {"contacts", {{"results", {{{"id", "301"}, {"type", "deal_to_contact"}}}}}}}}};
  auto deal = hubspot::ReadWorkflow(c, v3, {{"object_type", "deals"}});
  ASSERT_TRUE(deal.ok()) << deal.status().ToString();
  EXPECT_EQ(deal->assign["record"]["links"], Json({{"company", "7001"}, {"person", "301"}}));
  Json legacy = {{"dealId", 9501},
                 {"properties", Json::object()},
                 {"associations", {{"associatedCompanyIds", {7003}}, {"associatedVids", {302, 303}}}}};
  EXPECT_EQ(hubspot::ReadWorkflow(c, legacy, {})->assign["record"]["links"],
            Json({{"company", "7003"}, {"person", "302"}}));
  Json contact = {{"vid", 3201}, {"properties", {{"associatedcompanyid", {{"value", "7004"}}}}}};
  EXPECT_EQ(hubspot::ReadWorkflow(c, contact, {})->assign["record"]["links"], Json({{"company", "7004"}}));
  EXPECT_FALSE(hubspot::ReadWorkflow(c, Fixture("hubspot/workflow_contact.json"), {})->assign["record"].contains("links"));
}

TEST(HubSpot, WorkflowWebhooksForEveryObjectType) {
  Connector c = HubSpot();
  auto contact = hubspot::ReadWorkflow(c, Fixture("hubspot/workflow_contact.json"), {});
  ASSERT_TRUE(contact.ok()) << contact.status().ToString();
  EXPECT_FALSE(contact->custom_action);
  EXPECT_EQ(contact->assign["object_type"], "contact");
  EXPECT_EQ(contact->assign["event"], "created");
  EXPECT_EQ(contact->assign["record"]["id"], "3201");
  EXPECT_EQ(contact->assign["record"]["properties"]["country"], "Kent");
  EXPECT_FALSE(contact->assign.contains("idempotency_key"));
  EXPECT_FALSE(contact->owner);
  EXPECT_FALSE(contact->assign["record"].contains("open"));

  Json owned = {{"objectId", 5}, {"properties", {{"hubspot_owner_id", {{"value", "41629779"}}}, {"hs_is_closed", {{"value", "true"}}}}}};
  auto closed = hubspot::ReadWorkflow(c, owned, {{"object_type", "deals"}});
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->owner, std::optional<std::string>("41629779"));
  EXPECT_EQ(closed->assign["record"]["open"], false);
  owned["properties"]["hs_is_closed"]["value"] = "false";
  owned["properties"]["hubspot_owner_id"]["value"] = "";
  auto open = hubspot::ReadWorkflow(c, owned, {{"object_type", "deals"}});
  EXPECT_FALSE(open->owner);
  EXPECT_EQ(open->assign["record"]["open"], true);

  auto deal = hubspot::ReadWorkflow(c, Fixture("hubspot/workflow_deal.json"), {{"event", "updated"}});
  ASSERT_TRUE(deal.ok());
  EXPECT_EQ(deal->assign["object_type"], "deal");
  EXPECT_EQ(deal->assign["event"], "updated");
  EXPECT_EQ(deal->assign["record"]["properties"]["amount"], "1200");

  auto company = hubspot::ReadWorkflow(c, Fixture("hubspot/custom_action_company.json"), {});
  ASSERT_TRUE(company.ok());
  EXPECT_TRUE(company->custom_action);
  EXPECT_EQ(company->assign["object_type"], "company");
  EXPECT_EQ(company->assign["event"], "assign_requested");
  EXPECT_EQ(company->assign["target"]["pool"], "north");
  EXPECT_EQ(company->assign["idempotency_key"], "hubspot:ap-62515-56776413549-7-0");

  auto ticket = hubspot::ReadWorkflow(c, Fixture("hubspot/custom_action_ticket.json"), {});
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(ticket->assign["object_type"], "task");
  EXPECT_EQ(ticket->assign["record"]["properties"]["hs_ticket_priority"], "HIGH");

  // No type anywhere: the admin is told to add ?object_type=.
  auto unknown = hubspot::ReadWorkflow(c, {{"objectId", 5}, {"properties", Json::object()}}, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().ToString().find("object_type"), std::string::npos);
  EXPECT_TRUE(hubspot::ReadWorkflow(c, {{"objectId", 5}}, {{"object_type", "companies"}}).ok());
  EXPECT_FALSE(hubspot::ReadWorkflow(c, {{"properties", Json::object()}}, {{"object_type", "deals"}}).ok());
  EXPECT_FALSE(hubspot::ReadWorkflow(c, Json::array(), {}).ok());
}

TEST(HubSpot, ActionAnswerAndWriteBack) {
  Connector c = HubSpot();
  Json answer = hubspot::ActionAnswer(c, {{"owner", "ada"}, {"outcome", "assigned"}, {"decision_id", "dec_1"}});
  EXPECT_EQ(answer["outputFields"]["hubspot_owner_id"], "41629779");
  EXPECT_EQ(hubspot::ActionAnswer(c, {{"owner", nullptr}, {"outcome", "unassigned"}})["outputFields"]["hubspot_owner_id"], "");
  OutRequest r = hubspot::WriteBackRequest(c, "deals", "9001", "41629779");
  EXPECT_EQ(r.method, "PATCH");
  EXPECT_EQ(r.path, "/crm/v3/objects/deals/9001");
  EXPECT_EQ(hubspot::WriteBackRequest(c, "2-1234", "9/../9002", "41629779").path, "/crm/v3/objects/2-1234/9%2F..%2F9002");
  EXPECT_EQ(Json::parse(r.body), Fixture("hubspot/patch_owner_request.json"));
  EXPECT_EQ(r.headers[0].second, "Bearer pat-1");
}

TEST(HubSpot, OwnersPages) {
  auto p1 = hubspot::ReadOwners(Fixture("hubspot/owners_page1.json"), false);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->users.size(), 2u);
  EXPECT_EQ(p1->users[0].crm_id, "41629779");
  EXPECT_EQ(p1->users[0].name, "Ada Lovelace");
  EXPECT_TRUE(p1->users[0].active);
  EXPECT_EQ(p1->next, std::optional<std::string>("2"));
  auto p2 = hubspot::ReadOwners(Fixture("hubspot/owners_page2.json"), false);
  EXPECT_FALSE(p2->next);
  auto archived = hubspot::ReadOwners(Fixture("hubspot/owners_archived.json"), true);
  EXPECT_FALSE(archived->users[0].active);
  EXPECT_FALSE(hubspot::ReadOwners({{"error", "x"}}, false).ok());
  // Owners with parts missing or null (no last name is common) are read, not a 500.
  auto partial = hubspot::ReadOwners(Json::parse(R"({"results": [
      {"id": "9003", "email": "c@x", "firstName": "C"},
      {"id": "9004", "lastName": "Doe", "email": null, "archived": null},
      {"id": "9005"}]})"), false);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  ASSERT_EQ(partial->users.size(), 3u);
  EXPECT_EQ(partial->users[0].name, "C");
  EXPECT_EQ(partial->users[1].name, "Doe");
  EXPECT_TRUE(partial->users[1].active);
  EXPECT_EQ(partial->users[2].name, "9005");
  EXPECT_EQ(hubspot::OwnersRequest(HubSpot(), std::string("2"), false).path, "/crm/v3/owners?limit=100&archived=false&after=2");
}

// ---- Pipedrive

TEST(Pipedrive, BasicAuth) {
  Connector c = Pipedrive();
  EXPECT_TRUE(pipedrive::CheckBasicAuth(c, "Basic " + Base64("hook:s3cret")).ok());
  EXPECT_FALSE(pipedrive::CheckBasicAuth(c, "Basic " + Base64("hook:wrong")).ok());
  EXPECT_FALSE(pipedrive::CheckBasicAuth(c, "Bearer x").ok());
  EXPECT_FALSE(pipedrive::CheckBasicAuth(c, "").ok());
  EXPECT_FALSE(pipedrive::CheckBasicAuth(c, "Basic !!!!").ok());
}

TEST(Pipedrive, V1UpdatePassesOnlyWhatChanged) {
  auto in = pipedrive::ReadWebhook(Pipedrive(), Fixture("pipedrive/v1_deal_updated.json"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  const Json& a = in->assign;
  EXPECT_EQ(a["object_type"], "deal");
  EXPECT_EQ(a["event"], "updated");
  EXPECT_EQ(a["record"]["id"], "4001");
  EXPECT_EQ(a["record"]["links"]["person"], "31");
  EXPECT_EQ(a["record"]["links"]["company"], "21");
  EXPECT_EQ(a["previous"], (Json{{"stage_id", 1}, {"update_time", "2026-11-22 09:00:00"}}));
  EXPECT_EQ(in->owner, std::optional<std::string>("12"));
  EXPECT_FALSE(in->owner_only_change);
  EXPECT_EQ(a["idempotency_key"], "pipedrive:deal:4001:updated:1763900000123456");
}

TEST(Pipedrive, V2EveryEntity) {
  Connector c = Pipedrive();
  struct Case {
    const char* file;
    const char* type;
    const char* id;
  };
  for (const Case& k : {Case{"v2_deal_create.json", "deal", "4002"}, Case{"v2_person_create.json", "contact", "32"},
                        Case{"v2_organization_create.json", "company", "22"},
                        Case{"v2_lead_create.json", "lead", "adf21080-0e10-11eb-879b-05d71fb426ec"},
                        Case{"v2_activity_create.json", "task", "601"}}) {
    auto in = pipedrive::ReadWebhook(c, Fixture(std::string("pipedrive/") + k.file));
    ASSERT_TRUE(in.ok()) << k.file << in.status().ToString();
    EXPECT_TRUE(in->ignored.empty()) << k.file;
    EXPECT_EQ(in->assign["object_type"], k.type) << k.file;
    EXPECT_EQ(in->assign["event"], "created") << k.file;
    EXPECT_EQ(in->assign["record"]["id"], k.id) << k.file;
    EXPECT_FALSE(in->assign.contains("previous")) << k.file;
    EXPECT_EQ(in->owner, std::optional<std::string>("12")) << k.file;
  }
  EXPECT_EQ(pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_deal_create.json"))->assign["record"]["open"], true);
  EXPECT_EQ(pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_activity_create.json"))->assign["record"]["open"], true);
  Json won = Fixture("pipedrive/v2_deal_create.json");
  won["data"]["status"] = "lost";
  EXPECT_EQ(pipedrive::ReadWebhook(c, won)->assign["record"]["open"], false);
  Json archived = Fixture("pipedrive/v2_lead_create.json");
  archived["data"]["is_archived"] = true;
  EXPECT_EQ(pipedrive::ReadWebhook(c, archived)->assign["record"]["open"], false);
  EXPECT_FALSE(pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_person_create.json"))->assign["record"].contains("open"));
  auto deal = pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_deal_create.json"));
  EXPECT_EQ(deal->assign["record"]["properties"]["8f1c2d"], "Essex");  // custom fields flattened
  auto lead = pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_lead_create.json"));
  EXPECT_EQ(lead->assign["record"]["links"]["company"], "22");
}

// A v2 event is known by its correlation id and its own id (meta.id): a retry of it is the
// same request; another event sharing the correlation id is not.
TEST(Pipedrive, V2EventsAreKnownByTheirOwnIds) {
  Connector c = Pipedrive();
  Json first = Fixture("pipedrive/v2_deal_stage_change.json");
  first["meta"]["id"] = "0c6bbf27-aaaa-4000-8000-000000000001";
  first["meta"]["correlation_id"] = "corr-shared";
  Json second = first;
  second["meta"]["id"] = "0c6bbf27-bbbb-4000-8000-000000000002";
  second["previous"] = {{"stage_id", 4}};
  second["data"]["stage_id"] = 5;
  auto a = pipedrive::ReadWebhook(c, first);
  auto again = pipedrive::ReadWebhook(c, first);
  auto b = pipedrive::ReadWebhook(c, second);
  ASSERT_TRUE(a.ok() && again.ok() && b.ok());
  EXPECT_EQ(a->assign["idempotency_key"], again->assign["idempotency_key"]);
  EXPECT_NE(a->assign["idempotency_key"], b->assign["idempotency_key"]);
  EXPECT_EQ(a->assign["idempotency_key"], "pipedrive:deal:4002:change:corr-shared:0c6bbf27-aaaa-4000-8000-000000000001");
}

// v2's typed custom fields read as values conditions can test: an option's id, a set's ids
// as v1 sends them ("1,2"), a monetary field's amount; a lead's value its amount. The
// previous values of an update alike.
TEST(Pipedrive, V2TypedFieldsAreTheirValues) {
  Connector c = Pipedrive();
  Json deal = Fixture("pipedrive/v2_deal_stage_change.json");
  deal["data"]["custom_fields"] = Json::parse(R"({
    "region": {"type": "enum", "id": 45}, "tags": {"type": "set", "values": [{"id": 1}, {"id": 2}]},
    "manager": {"type": "user", "id": 13, "name": "Ann"}, "budget": {"type": "monetary", "value": 100, "currency": "EUR"},
    "note": {"type": "varchar", "value": "Kent"}, "empty_set": {"type": "set", "values": []}, "plain": "Essex"})");
  deal["previous"] = Json::parse(R"({"custom_fields": {"region": {"type": "enum", "id": 44}}})");
  auto in = pipedrive::ReadWebhook(c, deal);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  const Json& props = in->assign["record"]["properties"];
  EXPECT_EQ(props["region"], 45);
  EXPECT_EQ(props["tags"], "1,2");
  EXPECT_EQ(props["manager"], 13);
  EXPECT_EQ(props["budget"], 100);
  EXPECT_EQ(props["note"], "Kent");
  EXPECT_EQ(props["empty_set"], "");
  EXPECT_EQ(props["plain"], "Essex");
  EXPECT_EQ(in->assign["previous"]["region"], 44) << in->assign.dump();
  Json lead = Fixture("pipedrive/v2_lead_create.json");
  lead["data"]["value"] = {{"amount", 5000}, {"currency", "EUR"}};
  auto l = pipedrive::ReadWebhook(c, lead);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->assign["record"]["properties"]["value"], 5000);
}

TEST(Pipedrive, V2ChangeAndLoopGuardSignals) {
  Connector c = Pipedrive();
  auto stage = pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_deal_stage_change.json"));
  ASSERT_TRUE(stage.ok());
  EXPECT_EQ(stage->assign["event"], "updated");
  EXPECT_EQ(stage->assign["previous"]["stage_id"], 1);
  EXPECT_EQ(stage->assign["record"]["properties"]["stage_id"], 4);
  EXPECT_FALSE(stage->owner_only_change);

  auto owner = pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_deal_owner_change.json"));
  ASSERT_TRUE(owner.ok());
  EXPECT_TRUE(owner->owner_only_change);
  EXPECT_EQ(owner->owner, std::optional<std::string>("7"));

  auto del = pipedrive::ReadWebhook(c, Fixture("pipedrive/v2_deal_delete.json"));
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(del->deleted);  // no decision; the service closes rota's copy
  EXPECT_TRUE(del->ignored.empty());
  EXPECT_EQ(del->assign, Json::parse(R"({"object_type": "deal", "record": {"id": "4002"}})"));
  Json v1_del = Fixture("pipedrive/v1_deal_updated.json");
  v1_del["meta"]["action"] = "deleted";
  EXPECT_TRUE(pipedrive::ReadWebhook(c, v1_del)->deleted);
  Json product_del = Fixture("pipedrive/v2_deal_delete.json");
  product_del["meta"]["entity"] = "product";
  EXPECT_FALSE(pipedrive::ReadWebhook(c, product_del)->deleted);  // an unmapped type is ignored

  Json bulk = Fixture("pipedrive/v2_deal_stage_change.json");
  bulk["meta"]["is_bulk_edit"] = true;
  EXPECT_EQ(pipedrive::ReadWebhook(c, bulk)->assign["event"], "bulk");
  EXPECT_FALSE(pipedrive::ReadWebhook(c, {{"data", 1}}).ok());
  Json product = Fixture("pipedrive/v2_deal_create.json");
  product["meta"]["entity"] = "product";
  EXPECT_FALSE(pipedrive::ReadWebhook(c, product)->ignored.empty());
}

TEST(Pipedrive, WriteBackAndUsers) {
  Connector c = Pipedrive();
  OutRequest r = pipedrive::WriteBackRequest(c, "deal", "4002", "7");
  EXPECT_EQ(r.method, "PATCH");
  EXPECT_EQ(r.path, "/api/v2/deals/4002");
  EXPECT_EQ(Json::parse(r.body), Fixture("pipedrive/patch_deal_request.json"));
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"x-api-token", "tok"}));
  EXPECT_EQ(pipedrive::WriteBackRequest(c, "lead", "abc", "7").path, "/api/v1/leads/abc");
  // An id is one path segment, whatever it holds.
  EXPECT_EQ(pipedrive::WriteBackRequest(c, "deal", "a/../b?x=1", "7").path, "/api/v2/deals/a%2F..%2Fb%3Fx%3D1");
  EXPECT_EQ(pipedrive::WriteBackRequest(c, "deal", "..", "7").path, "/api/v2/deals/%2E%2E");
  EXPECT_EQ(pipedrive::WriteBackRequest(c, "lead", "adf21080-0e10-11eb-879b-05d71fb426ec", "7").path,
            "/api/v1/leads/adf21080-0e10-11eb-879b-05d71fb426ec");
  EXPECT_EQ(pipedrive::WriteBackRequest(c, "person", "3", "7").path, "/api/v2/persons/3");
  EXPECT_EQ(pipedrive::WriteBackRequest(c, "organization", "3", "7").path, "/api/v2/organizations/3");

  auto p1 = pipedrive::ReadUsers(Fixture("pipedrive/users_page1.json"));
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->users.size(), 2u);
  EXPECT_EQ(p1->next, std::optional<std::string>("2"));
  auto p2 = pipedrive::ReadUsers(Fixture("pipedrive/users_page2.json"));
  EXPECT_FALSE(p2->next);
  EXPECT_FALSE(p2->users[0].active);
  auto nulls = pipedrive::ReadUsers(Json::parse(
      R"({"data": [{"id": 5, "name": null, "active_flag": null}],
          "additional_data": {"pagination": {"more_items_in_collection": null}}})"));
  ASSERT_TRUE(nulls.ok()) << nulls.status().ToString();
  EXPECT_EQ(nulls->users[0].name, "5");
  EXPECT_TRUE(nulls->users[0].active);
  EXPECT_FALSE(nulls->next);
  EXPECT_EQ(pipedrive::UsersRequest(c, std::string("2")).path, "/api/v1/users?limit=100&start=2");
}

// ---- generic

TEST(Generic, SignatureAndFieldMap) {
  Connector c = Generic();
  const std::string body = R"({"delivery":"d-1","payload":{"key":42,"kind":"opportunity","fields":{"county":"Kent"}}})";
  const int64_t now = 1763900000;
  EXPECT_TRUE(generic::Verify("shh", generic::Sign("shh", now - 10, body), body, now).ok());
  EXPECT_FALSE(generic::Verify("shh", generic::Sign("other", now, body), body, now).ok());
  EXPECT_FALSE(generic::Verify("shh", generic::Sign("shh", now - 301, body), body, now).ok());
  EXPECT_FALSE(generic::Verify("shh", "", body, now).ok());
  EXPECT_FALSE(generic::Verify("shh", "t=abc,v1=00", body, now).ok());

  auto a = generic::ReadInbound(c, Json::parse(body));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)["object_type"], "deal");
  EXPECT_EQ((*a)["event"], "created");  // a constant in the field map
  EXPECT_EQ((*a)["record"]["id"], "42");
  EXPECT_EQ((*a)["record"]["properties"]["county"], "Kent");
  EXPECT_EQ((*a)["idempotency_key"], "generic:crm:d-1");
  auto missing = generic::ReadInbound(c, Json::parse(R"({"payload":{"kind":"spaceship"}})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().details().size(), 2u);  // no id, unmapped type

  OutRequest r = generic::WriteBackRequest(c, {"deal", "42", "ada", "dec_1", ""}, now);
  EXPECT_EQ(r.method, "POST");
  Json sent = Json::parse(r.body);
  EXPECT_EQ(sent["owner"], "ada");
  EXPECT_EQ(sent["record_id"], "42");
  EXPECT_TRUE(generic::Verify("shh", r.headers[0].second, r.body, now).ok());
}

}  // namespace
}  // namespace rota::connectors
