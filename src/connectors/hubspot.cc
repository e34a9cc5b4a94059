#include "connectors/hubspot.h"

#include <algorithm>
#include <charconv>

#include "connectors/crypto.h"

namespace rota::connectors::hubspot {
namespace {

// HubSpot decodes these before signing (its request-validation guide).
std::string DecodeForSignature(const std::string& uri) {
  static const std::vector<std::pair<std::string, char>> kCodes = {
      {"%3A", ':'}, {"%2F", '/'}, {"%3F", '?'}, {"%40", '@'}, {"%21", '!'}, {"%24", '$'},
      {"%27", '\''}, {"%28", '('}, {"%29", ')'}, {"%2A", '*'}, {"%2C", ','}, {"%3B", ';'}};
  std::string out;
  for (size_t i = 0; i < uri.size();) {
    bool replaced = false;
    if (uri[i] == '%' && i + 2 < uri.size()) {
      std::string code = uri.substr(i, 3);
      std::transform(code.begin(), code.end(), code.begin(), [](unsigned char ch) { return std::toupper(ch); });
      for (const auto& [from, to] : kCodes) {
        if (code == from) {
          out += to;
          i += 3;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += uri[i++];
  }
  return out;
}

// "CONTACT", "contact", "contacts", "0-1" → "contacts" (the objects API's names).
std::string ObjectName(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (t == "contact" || t == "0-1") return "contacts";
  if (t == "company" || t == "0-2") return "companies";
  if (t == "deal" || t == "0-3") return "deals";
  if (t == "ticket" || t == "0-5") return "tickets";
  return t;
}

const std::vector<std::string>& Reserved() {
  static const std::vector<std::string> kReserved = {"event", "pool", "rule", "object_type"};
  return kReserved;
}

// The company and person a call's object is associated with, so that `related_owner` and
// `apply_to_related` work: the objects API's `associations.companies.results` and
// `associations.contacts.results`, the legacy `associatedCompanyIds` and `associatedVids`,
// or a contact's primary company (its `associatedcompanyid` property); the first of each.
Json Links(const Json& body, const Json& props) {
  Json links = Json::object();
  auto first = [&](const char* relation, const Json& list, const char* field) {
    if (links.contains(relation) || !list.is_array() || list.empty()) return;
    const Json& item = list.front();
    auto id = field == nullptr ? CrmIdText(item) : item.is_object() && item.contains(field) ? CrmIdText(item[field]) : std::nullopt;
    if (id && !id->empty()) links[relation] = *id;
  };
  if (body.contains("associations") && body["associations"].is_object()) {
    const Json& a = body["associations"];
    for (const auto& [relation, kind] : {std::pair{"company", "companies"}, std::pair{"person", "contacts"}}) {
      if (a.contains(kind) && a[kind].is_object() && a[kind].contains("results")) first(relation, a[kind]["results"], "id");
    }
    if (a.contains("associatedCompanyIds")) first("company", a["associatedCompanyIds"], nullptr);
    if (a.contains("associatedVids")) first("person", a["associatedVids"], nullptr);
  }
  if (!links.contains("company") && props.contains("associatedcompanyid")) {
    if (auto id = CrmIdText(props["associatedcompanyid"]); id && !id->empty()) links["company"] = *id;
  }
  return links;
}

}  // namespace

std::string SignatureV3(const std::string& app_secret, const std::string& method, const std::string& uri,
                        const std::string& body, const std::string& timestamp) {
  return Base64(HmacSha256(app_secret, method + DecodeForSignature(uri) + body + timestamp));
}

Status Verify(const std::string& app_secret, const std::string& method, const std::vector<std::string>& uris,
              const std::string& body, const std::string& signature, const std::string& timestamp, int64_t now_ms) {
  auto refuse = [](const std::string& why) { return Status(Code::kUnauthenticated, "bad_signature", why); };
  if (signature.empty() || timestamp.empty()) {
    return refuse("X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required");
  }
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) {
    return refuse("X-HubSpot-Request-Timestamp is not a number of milliseconds");
  }
  if (ts < now_ms - kMaxSkewMs || ts > now_ms + kMaxSkewMs) {
    return refuse("the request is older than 5 minutes (or its clock is off)");
  }
  for (const std::string& uri : uris) {
    if (SafeEqual(SignatureV3(app_secret, method, uri, body, timestamp), signature)) return Status::Ok();
  }
  return refuse("the HubSpot signature does not match (check the app secret and public_url)");
}

Result<Inbound> ReadWorkflow(const Connector& c, const Json& body, const std::map<std::string, std::string>& query) {
  if (!body.is_object()) return Status::Invalid("", "a HubSpot workflow call is a JSON object");
  Inbound in;
  Json properties = Json::object();
  Json inputs = Json::object();
  std::optional<std::string> id;
  std::string type;
  auto q = [&](const char* k) -> std::string {
    auto it = query.find(k);
    return it == query.end() ? "" : it->second;
  };

  if (body.contains("callbackId")) {  // a custom workflow action
    in.custom_action = true;
    const Json& object = body.value("object", Json::object());
    if (!object.is_object()) return Status::Invalid("object", "the custom action's object is missing");
    id = CrmIdText(object.value("objectId", Json()));
    type = Text(object, "objectType");
    if (object.contains("properties") && object["properties"].is_object()) properties = object["properties"];
    for (const char* key : {"inputFields", "fields"}) {
      if (body.contains(key) && body[key].is_object()) inputs = body[key];
    }
    if (!body["callbackId"].is_string()) return Status::Invalid("callbackId", "callbackId is a text");
  } else {  // "Send a webhook": the object as the objects API gives it
    for (const char* key : {"objectId", "id", "vid", "dealId", "companyId", "hs_object_id"}) {
      if (!id && body.contains(key)) id = CrmIdText(body[key]);
    }
    if (body.contains("properties") && body["properties"].is_object()) properties = body["properties"];
    if (!id && properties.contains("hs_object_id")) id = CrmIdText(properties["hs_object_id"]);
    if (body.contains("objectType") && body["objectType"].is_string()) type = body["objectType"];
    if (type.empty() && body.contains("vid")) type = "contacts";
    if (type.empty() && body.contains("dealId")) type = "deals";
    if (type.empty() && body.contains("companyId")) type = "companies";
  }
  auto input = [&](const char* k) -> std::string {
    if (inputs.contains(k) && inputs[k].is_string()) return inputs[k];
    return q(k);
  };
  if (!input("object_type").empty()) type = input("object_type");
  if (!id) return Status::Invalid("objectId", "the call names no object id (objectId, id, vid, dealId or companyId)");
  if (type.empty()) {
    return Status::Invalid("objectType", "the object type is unknown: add ?object_type=deals (or contacts, "
                                         "companies, tickets) to the webhook URL");
  }
  const std::string crm_type = ObjectName(type);
  auto rota_type = RotaType(c, crm_type);
  if (!rota_type) {
    return Status::Invalid("objectType", "the connector maps no rota object type to HubSpot's \"" + crm_type + "\"");
  }

  Json props = Json::object();
  for (const auto& [k, v] : inputs.items()) {
    if (std::find(Reserved().begin(), Reserved().end(), k) == Reserved().end()) props[k] = PlainValue(v);
  }
  for (const auto& [k, v] : properties.items()) props[k] = PlainValue(v);
  if (props.contains("hubspot_owner_id")) in.owner = CrmIdText(props["hubspot_owner_id"]);

  std::string event = input("event");
  std::string pool = input("pool"), rule = input("rule");
  Json record = {{"id", *id}, {"properties", props}};
  if (Json links = Links(in.custom_action ? body.value("object", Json::object()) : body, props); !links.empty()) {
    record["links"] = links;
  }
  // A closed deal or ticket (hs_is_closed, "true" or "false" as HubSpot sends it) is not open.
  if (props.contains("hs_is_closed")) {
    const Json& closed = props["hs_is_closed"];
    if (closed == true || closed == "true") record["open"] = false;
    if (closed == false || closed == "false") record["open"] = true;
  }
  Json a = {{"object_type", std::string(core::ToString(*rota_type))}, {"record", record}};
  if (!pool.empty() || !rule.empty()) {
    a["event"] = "assign_requested";
    a["target"] = pool.empty() ? Json{{"rule", rule}} : Json{{"pool", pool}};
  } else {
    a["event"] = event.empty() ? "created" : event;
  }
  if (in.custom_action) {
    const std::string callback = Text(body, "callbackId");
    if (callback.empty()) return Status::Invalid("callbackId", "the custom action's callbackId is missing");
    a["idempotency_key"] = "hubspot:" + callback;
  }
  in.assign = std::move(a);
  in.crm_type = crm_type;
  return in;
}

Json ActionAnswer(const Connector& c, const Json& decision) {
  auto text = [&](const char* key) -> std::string {
    if (!decision.is_object() || !decision.contains(key) || !decision[key].is_string()) return "";
    return decision[key].get<std::string>();
  };
  const std::string owner = text("owner");
  return {{"outputFields",
           {{"hubspot_owner_id", owner.empty() ? "" : CrmOwner(c, owner)},
            {"rota_outcome", text("outcome")},
            {"rota_decision_id", text("decision_id")}}}};
}

OutRequest WriteBackRequest(const Connector& c, const std::string& crm_type, const std::string& id,
                            const std::string& crm_owner) {
  OutRequest r;
  r.method = "PATCH";
  r.path = "/crm/v3/objects/" + PathSegment(crm_type) + "/" + PathSegment(id);
  r.headers = {{"Authorization", "Bearer " + c.credentials.at("access_token")}};
  r.body = Json{{"properties", {{"hubspot_owner_id", crm_owner}}}}.dump();
  return r;
}

OutRequest OwnersRequest(const Connector& c, const std::optional<std::string>& after, bool archived) {
  OutRequest r;
  r.method = "GET";
  r.path = std::string("/crm/v3/owners?limit=100&archived=") + (archived ? "true" : "false");
  if (after) r.path += "&after=" + *after;
  auto token = c.credentials.find("access_token");
  if (token != c.credentials.end()) r.headers = {{"Authorization", "Bearer " + token->second}};
  return r;
}

Result<UsersPage> ReadOwners(const Json& body, bool archived) {
  if (!body.is_object() || !body.contains("results") || !body["results"].is_array()) {
    return Status(Code::kUnavailable, "crm_bad_answer", "HubSpot's owners answer has no results list");
  }
  UsersPage page;
  for (const Json& o : body["results"]) {
    if (!o.is_object()) continue;
    auto id = CrmIdText(o.value("id", Json()));
    if (!id) continue;
    CrmUser u;
    u.crm_id = *id;
    // Any of these may be missing or null (an owner with no last name is common).
    u.email = Text(o, "email");
    const std::string first = Text(o, "firstName"), last = Text(o, "lastName");
    u.name = first + (first.empty() || last.empty() ? "" : " ") + last;
    if (u.name.empty()) u.name = u.email.empty() ? u.crm_id : u.email;
    u.active = !archived && !Flag(o, "archived", false);
    page.users.push_back(std::move(u));
  }
  if (body.contains("paging") && body["paging"].is_object()) {
    const Json& next = body["paging"].value("next", Json());
    if (next.is_object() && next.contains("after")) page.next = CrmIdText(next["after"]);
  }
  return page;
}

}  // namespace rota::connectors::hubspot
