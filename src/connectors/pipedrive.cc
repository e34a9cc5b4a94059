#include "connectors/pipedrive.h"

#include <algorithm>
#include <optional>
#include <set>

#include "connectors/crypto.h"

namespace rota::connectors::pipedrive {
namespace {

// Fields that change with every write and say nothing about the record.
const std::set<std::string>& Bookkeeping() {
  static const std::set<std::string> kFields = {"update_time", "owner_id", "user_id", "owner_name",
                                                "last_activity_date", "last_activity_id", "next_activity_date",
                                                "next_activity_id", "next_activity_time"};
  return kFields;
}

// A Pipedrive field's value as a property: {"value": V} (v1, and v2's typed text, number
// and monetary fields) as V; {"id": N, …} (v2's enum, user, organization and person fields,
// and v1's related objects) as N; a v2 set {"values": [{"id": 1}, {"id": 2}]} as "1,2", the
// option ids as v1 sends them; {"amount": A, "currency": …} (a lead's value) as A.
Json FieldValue(const Json& v) {
  if (!v.is_object() || v.contains("value")) return PlainValue(v);
  if (v.contains("id")) return v["id"];
  if (v.contains("values") && v["values"].is_array()) {
    std::string ids;
    for (const Json& option : v["values"]) {
      const Json& id = option.is_object() && option.contains("id") ? option["id"] : option;
      if (!id.is_string() && !id.is_number()) continue;
      ids += (ids.empty() ? "" : ",") + (id.is_string() ? id.get<std::string>() : id.dump());
    }
    return ids;
  }
  if (v.contains("amount")) return v["amount"];
  return v;
}

// Flattens a Pipedrive object into properties (FieldValue), custom fields beside the
// standard ones.
Json Properties(const Json& object) {
  Json props = Json::object();
  if (!object.is_object()) return props;
  for (const auto& [k, v] : object.items()) {
    if (k == "custom_fields" && v.is_object()) {
      for (const auto& [ck, cv] : v.items()) props[ck] = FieldValue(cv);
    } else {
      props[k] = FieldValue(v);
    }
  }
  return props;
}


// Whether the CRM says the object is still open (SPEC §1: false when a deal is won or
// lost, a task done): a deal's `status`, an activity's `done`, a lead's `is_archived`.
// Unknown when the object carries none of them.
std::optional<bool> IsOpen(const Json& object) {
  if (!object.is_object()) return std::nullopt;
  auto flag = [&](const char* key) -> std::optional<bool> {
    if (!object.contains(key)) return std::nullopt;
    const Json& v = object[key];
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer()) return v.get<int64_t>() != 0;
    return std::nullopt;
  };
  if (flag("is_archived") == true || flag("done") == true) return false;
  if (object.contains("status") && object["status"].is_string()) {
    const std::string status = object["status"];
    if (status == "won" || status == "lost" || status == "deleted") return false;
    if (status == "open") return true;
  }
  if (flag("done") == false || flag("is_archived") == false) return true;
  return std::nullopt;
}

}  // namespace

Status CheckBasicAuth(const Connector& c, const std::string& authorization) {
  const Status refused(Code::kUnauthenticated, "bad_credentials",
                       "the webhook's HTTP basic auth user and password do not match the connector's");
  const std::string prefix = "Basic ";
  if (authorization.size() <= prefix.size() || !std::equal(prefix.begin(), prefix.end(), authorization.begin(),
                                                           [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return refused;
  }
  auto decoded = FromBase64(authorization.substr(prefix.size()));
  auto user = c.credentials.find("webhook_user");
  auto password = c.credentials.find("webhook_password");
  if (!decoded || user == c.credentials.end() || password == c.credentials.end()) return refused;
  if (!SafeEqual(*decoded, user->second + ":" + password->second)) return refused;
  return Status::Ok();
}

Result<Inbound> ReadWebhook(const Connector& c, const Json& body) {
  if (!body.is_object() || !body.contains("meta") || !body["meta"].is_object()) {
    return Status::Invalid("meta", "a Pipedrive webhook has a meta object");
  }
  const Json& meta = body["meta"];
  const bool v2 = body.contains("data") || Text(meta, "version").rfind("2", 0) == 0;
  Inbound in;
  std::string action = Text(meta, "action");
  in.crm_type = v2 ? Text(meta, "entity") : Text(meta, "object");
  const Json empty = Json::object();
  const Json& current = v2 ? (body.contains("data") && body["data"].is_object() ? body["data"] : empty)
                           : (body.contains("current") && body["current"].is_object() ? body["current"] : empty);
  const Json& before = body.contains("previous") && body["previous"].is_object() ? body["previous"] : empty;
  std::string id = v2 ? Text(meta, "entity_id") : Text(meta, "id");
  if (id.empty()) id = Text(current, "id");

  std::string event;
  const bool bulk = Flag(meta, "is_bulk_update", false) || Flag(meta, "is_bulk_edit", false);
  if (action == "added" || action == "create") {
    event = "created";
  } else if (action == "updated" || action == "change") {
    event = bulk ? "bulk" : "updated";
  } else if (action == "deleted" || action == "delete") {
    in.deleted = true;
  } else {
    in.ignored = "action \"" + action + "\" makes no decision";
    return in;
  }
  auto rota_type = RotaType(c, in.crm_type);
  if (!rota_type) {
    in.deleted = false;
    in.ignored = "the connector maps no rota object type to Pipedrive's \"" + in.crm_type + "\"";
    return in;
  }
  if (id.empty()) return Status::Invalid("meta", "the webhook names no object id");
  if (in.deleted) {  // no decision: rota's copy stops counting as open
    in.assign = {{"object_type", std::string(core::ToString(*rota_type))}, {"record", {{"id", id}}}};
    return in;
  }

  Json props = Properties(current);
  // previous: the properties that changed, with their old values (SPEC §4). v2 sends
  // only those; v1 sends the whole object before the change.
  Json previous = Json::object();
  if (event != "created") {
    Json old = Properties(before);
    for (const auto& [k, v] : old.items()) {
      if (v2 || !props.contains(k) || props[k] != v) previous[k] = v;
    }
  }
  std::string owner_field = current.contains("owner_id") ? "owner_id" : "user_id";
  if (current.contains(owner_field)) in.owner = CrmIdText(current[owner_field]);
  if (event != "created") {
    bool owner_changed = false, other_changed = false;
    for (const auto& [k, v] : previous.items()) {
      (Bookkeeping().count(k) ? owner_changed : other_changed) = true;
    }
    in.owner_only_change = owner_changed && !other_changed;
  }

  Json links = Json::object();
  if (auto person = current.contains("person_id") ? CrmIdText(current["person_id"]) : std::nullopt) links["person"] = *person;
  for (const char* org : {"org_id", "organization_id"}) {
    if (current.contains(org)) {
      if (auto o = CrmIdText(current[org])) links["company"] = *o;
    }
  }
  Json record = {{"id", id}, {"properties", props}, {"links", links}};
  if (auto open = IsOpen(current)) record["open"] = *open;
  Json a = {{"object_type", std::string(core::ToString(*rota_type))}, {"event", event}, {"record", record}};
  if (event == "updated") a["previous"] = previous;
  // What tells one event from another (a retry of it keeps them): v1's microsecond stamp;
  // v2's correlation id with the event's own id (meta.id), so that two events sharing a
  // correlation id are not taken for one; else the stamp in seconds.
  std::string when = Text(meta, "timestamp_micro");
  if (when.empty()) {
    when = Text(meta, "correlation_id");
    const std::string event_id = Text(meta, "id");
    if (!when.empty() && !event_id.empty() && event_id != id) when += ":" + event_id;
  }
  if (when.empty()) when = Text(meta, "timestamp");
  if (!when.empty()) {
    a["idempotency_key"] = "pipedrive:" + in.crm_type + ":" + id + ":" + action + ":" + when;
  }
  in.assign = std::move(a);
  return in;
}

OutRequest WriteBackRequest(const Connector& c, const std::string& crm_type, const std::string& id,
                            const std::string& crm_owner) {
  static const std::map<std::string, std::string> kPaths = {{"deal", "/api/v2/deals/"},
                                                            {"person", "/api/v2/persons/"},
                                                            {"organization", "/api/v2/organizations/"},
                                                            {"activity", "/api/v2/activities/"},
                                                            {"lead", "/api/v1/leads/"}};
  OutRequest r;
  r.method = "PATCH";
  auto it = kPaths.find(crm_type);
  r.path = (it == kPaths.end() ? "/api/v2/" + PathSegment(crm_type) + "s/" : it->second) + PathSegment(id);
  r.headers = {{"x-api-token", c.credentials.at("api_token")}};
  Json owner = crm_owner;
  if (!crm_owner.empty() && crm_owner.size() < 16 &&
      std::all_of(crm_owner.begin(), crm_owner.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
    owner = std::stoll(crm_owner);
  }
  r.body = Json{{"owner_id", owner}}.dump();
  return r;
}

OutRequest UsersRequest(const Connector& c, const std::optional<std::string>& start) {
  OutRequest r;
  r.method = "GET";
  r.path = "/api/v1/users?limit=100";
  if (start) r.path += "&start=" + *start;
  auto token = c.credentials.find("api_token");
  if (token != c.credentials.end()) r.headers = {{"x-api-token", token->second}};
  return r;
}

Result<UsersPage> ReadUsers(const Json& body) {
  if (!body.is_object() || !body.contains("data") || !(body["data"].is_array() || body["data"].is_null())) {
    return Status(Code::kUnavailable, "crm_bad_answer", "Pipedrive's users answer has no data list");
  }
  UsersPage page;
  if (body["data"].is_array()) {
    for (const Json& u : body["data"]) {
      auto id = u.is_object() ? CrmIdText(u.value("id", Json())) : std::nullopt;
      if (!id) continue;
      CrmUser user;
      user.crm_id = *id;
      user.name = Text(u, "name");
      user.email = Text(u, "email");
      if (user.name.empty()) user.name = user.email.empty() ? user.crm_id : user.email;
      user.active = Flag(u, "active_flag", true);
      page.users.push_back(std::move(user));
    }
  }
  const Json& extra = body.value("additional_data", Json());
  if (extra.is_object() && extra.contains("pagination") && extra["pagination"].is_object()) {
    const Json& p = extra["pagination"];
    if (Flag(p, "more_items_in_collection", false) && p.contains("next_start")) {
      page.next = CrmIdText(p["next_start"]);
    }
  }
  return page;
}

}  // namespace rota::connectors::pipedrive
