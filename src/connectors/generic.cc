#include "connectors/generic.h"

#include <charconv>

#include "connectors/crypto.h"

namespace rota::connectors::generic {

std::string Sign(const std::string& secret, int64_t unix_seconds, const std::string& body) {
  return "t=" + std::to_string(unix_seconds) + ",v1=" +
         Hex(HmacSha256(secret, std::to_string(unix_seconds) + "." + body));
}

Status Verify(const std::string& secret, const std::string& header, const std::string& body, int64_t now_seconds) {
  auto refuse = [](const std::string& why) { return Status(Code::kUnauthenticated, "bad_signature", why); };
  if (header.empty()) return refuse("Rota-Signature is required (t=UNIX,v1=HMAC-SHA256 hex of \"t.body\")");
  size_t comma = header.find(",v1=");
  if (header.rfind("t=", 0) != 0 || comma == std::string::npos) return refuse("Rota-Signature is t=UNIX,v1=HEX");
  int64_t t = 0;
  const char* first = header.data() + 2;
  const char* last = header.data() + comma;
  auto [end, ec] = std::from_chars(first, last, t);
  if (ec != std::errc() || end != last) return refuse("Rota-Signature's t is not a number of seconds");
  if (t < now_seconds - kMaxSkewSeconds || t > now_seconds + kMaxSkewSeconds) {
    return refuse("the signature is older than 5 minutes (or its clock is off)");
  }
  if (!SafeEqual(Sign(secret, t, body), header)) return refuse("the signature does not match the connector's secret");
  return Status::Ok();
}

Result<Json> ReadInbound(const Connector& c, const Json& body) {
  io::Problems p;
  // A field's value: a path into the body, or a constant.
  auto field = [&](const char* name) -> std::optional<Json> {
    auto it = c.field_map.find(name);
    if (it == c.field_map.end() || it->second.empty()) return std::nullopt;
    if (it->second[0] != '$') return Json(it->second);
    auto at = Select(body, it->second);
    if (!at.ok() || *at == nullptr || (*at)->is_null()) return std::nullopt;
    return **at;
  };
  auto where = [&](const char* name) { return std::string(name) + " (" + c.field_map.at(name) + ")"; };
  Json a = Json::object();
  Json record = Json::object();
  auto id = field("record_id");
  std::optional<std::string> id_text = id ? CrmIdText(*id) : std::nullopt;
  if (!id_text) p.Add(c.field_map.count("record_id") ? where("record_id") : "record_id", "the body gives no record id");
  record["id"] = id_text.value_or("");
  auto type = field("object_type");
  if (!type || !type->is_string()) {
    p.Add(c.field_map.count("object_type") ? where("object_type") : "object_type", "the body gives no object type");
  } else if (auto t = RotaType(c, type->get<std::string>())) {
    a["object_type"] = std::string(core::ToString(*t));
  } else {
    p.Add(where("object_type"), "the connector maps no rota object type to \"" + type->get<std::string>() + "\"");
  }
  auto event = field("event");
  a["event"] = event && event->is_string() ? *event : Json("created");
  auto object_of = [&](const char* name, Json& into, const char* key) {
    if (auto v = field(name)) {
      if (v->is_object()) {
        into[key] = *v;
      } else {
        p.Add(where(name), "an object");
      }
    }
  };
  object_of("properties", record, "properties");
  object_of("links", record, "links");
  if (auto owners = field("owners")) record["owners"] = *owners;
  if (auto open = field("open")) record["open"] = *open;
  a["record"] = record;
  if (a["event"] == "updated") object_of("previous", a, "previous");
  if (auto key = field("idempotency_key")) {
    if (auto k = CrmIdText(*key)) a["idempotency_key"] = "generic:" + c.id + ":" + *k;
  }
  auto pool = field("pool"), rule = field("rule");
  if ((pool && pool->is_string()) || (rule && rule->is_string())) {
    a["event"] = "assign_requested";
    a["target"] = pool && pool->is_string() ? Json{{"pool", *pool}} : Json{{"rule", *rule}};
  }
  if (!p.empty()) return p.ToStatus();
  return a;
}

OutRequest WriteBackRequest(const Connector& c, const WriteBack& w, int64_t now_seconds) {
  OutRequest r;
  r.method = "POST";
  r.path = "";
  r.body = Json{{"event", "owner.write_back"},
                {"connector", c.id},
                {"object_type", w.object_type},
                {"record_id", w.record_id},
                {"owner", w.owner},
                {"crm_owner", CrmOwner(c, w.owner)},
                {"decision_id", w.decision_id}}
               .dump();
  r.headers = {{"Rota-Signature", Sign(c.credentials.at("secret"), now_seconds, r.body)},
               {"Rota-Event", "owner.write_back"}};
  return r;
}

}  // namespace rota::connectors::generic
