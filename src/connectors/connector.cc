#include "connectors/connector.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace rota::connectors {
namespace {

const std::map<std::string, std::string>& DefaultObjects(Kind k) {
  static const std::map<std::string, std::string> kHubSpot = {
      {"contacts", "contact"}, {"companies", "company"}, {"deals", "deal"}, {"tickets", "task"}};
  static const std::map<std::string, std::string> kPipedrive = {{"deal", "deal"},
                                                                {"person", "contact"},
                                                                {"organization", "company"},
                                                                {"lead", "lead"},
                                                                {"activity", "task"}};
  static const std::map<std::string, std::string> kGeneric = {
      {"lead", "lead"}, {"contact", "contact"}, {"company", "company"}, {"deal", "deal"}, {"task", "task"}};
  switch (k) {
    case Kind::kHubSpot: return kHubSpot;
    case Kind::kPipedrive: return kPipedrive;
    case Kind::kGeneric: return kGeneric;
  }
  return kGeneric;
}

const std::map<std::string, std::string>& DefaultFields() {
  static const std::map<std::string, std::string> kFields = {{"record_id", "$.id"},
                                                             {"object_type", "$.object_type"},
                                                             {"event", "$.event"},
                                                             {"properties", "$.properties"},
                                                             {"previous", "$.previous"},
                                                             {"links", "$.links"},
                                                             {"idempotency_key", "$.event_id"}};
  return kFields;
}

const std::vector<std::string>& FieldNames() {
  static const std::vector<std::string> kNames = {"record_id",  "object_type", "event", "properties",
                                                  "previous",   "links",       "owners", "open",
                                                  "idempotency_key", "pool",   "rule"};
  return kNames;
}


bool HttpUrl(const std::string& u) {
  return (u.rfind("http://", 0) == 0 && u.size() > 7) || (u.rfind("https://", 0) == 0 && u.size() > 8);
}

// Reads {"name": "text", …}; numbers are taken as their text where `numbers`.
void StringMap(io::Problems& p, const Json& doc, const char* key, std::map<std::string, std::string>& out,
               bool numbers = false) {
  if (!doc.contains(key) || doc[key].is_null()) return;
  if (!p.Object(doc, key, "")) return;
  for (const auto& [k, v] : doc[key].items()) {
    if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else if (numbers && v.is_number_integer()) {
      out[k] = v.dump();
    } else {
      p.Add(io::Join(key, k), numbers ? "a text or a whole number" : "a text");
    }
  }
}

}  // namespace

const char* ToString(Kind k) {
  switch (k) {
    case Kind::kHubSpot: return "hubspot";
    case Kind::kPipedrive: return "pipedrive";
    case Kind::kGeneric: return "generic";
  }
  return "generic";
}

std::optional<Kind> ParseKind(const std::string& s) {
  if (s == "hubspot") return Kind::kHubSpot;
  if (s == "pipedrive") return Kind::kPipedrive;
  if (s == "generic") return Kind::kGeneric;
  return std::nullopt;
}

const std::vector<CredentialSpec>& Credentials(Kind k) {
  static const std::vector<CredentialSpec> kHubSpot = {
      {"app_secret", true, "the HubSpot app's client secret: checks X-HubSpot-Signature-v3 on calls in"},
      {"access_token", false, "a private app's access token: writes owners back and reads owners"}};
  static const std::vector<CredentialSpec> kPipedrive = {
      {"webhook_user", true, "the HTTP basic auth user set on the Pipedrive webhook"},
      {"webhook_password", true, "the HTTP basic auth password set on the Pipedrive webhook"},
      {"api_token", false, "a Pipedrive API token: writes owners back and reads users"}};
  static const std::vector<CredentialSpec> kGeneric = {
      {"secret", true, "signs calls in (Rota-Signature) and write-backs out"}};
  switch (k) {
    case Kind::kHubSpot: return kHubSpot;
    case Kind::kPipedrive: return kPipedrive;
    case Kind::kGeneric: return kGeneric;
  }
  return kGeneric;
}

Result<Connector> ReadConnector(const Json& doc) {
  if (!doc.is_object()) return Status::Invalid("", "a connector is a JSON object");
  io::Problems p;
  p.Unknown(doc,
            {"id", "kind", "api_base", "credentials", "object_map", "field_map", "user_map", "write_back",
             "public_url", "credentials_set", "created_at", "updated_at", "inbound_url"},
            "");
  Connector c;
  p.String(doc, "id", "", c.id);
  if (c.id.size() > 128) p.Add("id", "at most 128 characters");
  else if (auto problem = io::NewIdProblem(c.id)) p.Add("id", *problem);
  if (c.id.find_first_of("/?#%\\") != std::string::npos) p.Add("id", "no /, ?, #, % or \\ in a connector id");
  std::string kind;
  if (!doc.contains("kind")) {
    p.Add("kind", "kind is required: hubspot, pipedrive or generic");
  } else if (p.String(doc, "kind", "", kind)) {
    if (auto k = ParseKind(kind)) {
      c.kind = *k;
    } else {
      p.Add("kind", "kind is hubspot, pipedrive or generic");
    }
  }
  p.Bool(doc, "write_back", "", c.write_back);
  p.String(doc, "api_base", "", c.api_base);
  if (c.api_base.empty() && c.kind == Kind::kHubSpot) c.api_base = "https://api.hubapi.com";
  while (!c.api_base.empty() && c.api_base.back() == '/') c.api_base.pop_back();
  if (!c.api_base.empty() && !HttpUrl(c.api_base)) {
    p.Add("api_base", "an http:// or https:// URL");
  } else if (c.api_base.empty() && c.kind == Kind::kPipedrive) {
    p.Add("api_base", "your company's Pipedrive URL, such as https://yourcompany.pipedrive.com");
  } else if (c.api_base.empty() && c.kind == Kind::kGeneric && c.write_back) {
    p.Add("api_base", "the URL rota posts its decisions to (or write_back false)");
  }
  p.String(doc, "public_url", "", c.public_url);
  while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
  if (!c.public_url.empty() && !HttpUrl(c.public_url)) p.Add("public_url", "an http:// or https:// URL");

  StringMap(p, doc, "credentials", c.credentials);
  const auto& specs = Credentials(c.kind);
  for (const auto& [name, value] : c.credentials) {
    bool known = std::any_of(specs.begin(), specs.end(), [&](const CredentialSpec& s) { return name == s.name; });
    if (!known) {
      std::string names;
      for (const auto& s : specs) names += (names.empty() ? "" : ", ") + std::string(s.name);
      p.Add(io::Join("credentials", name), "unknown credential for " + std::string(ToString(c.kind)) + " (" + names + ")");
    }
  }
  for (const auto& s : specs) {
    bool needed = s.required || (c.write_back && c.kind != Kind::kGeneric);
    auto it = c.credentials.find(s.name);
    if (needed && (it == c.credentials.end() || it->second.empty())) {
      p.Add(io::Join("credentials", s.name), std::string("required: ") + s.what);
    }
  }

  std::map<std::string, std::string> objects;
  StringMap(p, doc, "object_map", objects);
  c.object_map = DefaultObjects(c.kind);
  for (const auto& [crm, rota] : objects) {
    if (!core::ParseObjectType(rota)) {
      p.Add(io::Join("object_map", crm), "a rota object type: lead, contact, company, deal or task");
    } else {
      c.object_map[core::AsciiLower(crm)] = rota;
    }
  }
  StringMap(p, doc, "field_map", c.field_map);
  if (c.kind != Kind::kGeneric && !c.field_map.empty()) p.Add("field_map", "only generic connectors take a field map");
  for (const auto& [field, path] : c.field_map) {
    if (std::find(FieldNames().begin(), FieldNames().end(), field) == FieldNames().end()) {
      p.Add(io::Join("field_map", field),
            "unknown field (record_id, object_type, event, properties, previous, links, owners, open, "
            "idempotency_key, pool, rule)");
    } else if (path.rfind("$", 0) == 0 && !ValidPath(path)) {
      p.Add(io::Join("field_map", field), "not a JSON path of the form $.a.b, $['a'] or $.a[0]");
    }
  }
  if (c.kind == Kind::kGeneric) {
    for (const auto& [field, path] : DefaultFields()) c.field_map.emplace(field, path);
  }
  StringMap(p, doc, "user_map", c.user_map, true);
  // An empty CRM owner id would be written back as an owner ("" clears it in HubSpot), and
  // one CRM id for two users would make the CRM's owner name either of them.
  std::map<std::string, std::string> by_crm;
  for (const auto& [user, crm] : c.user_map) {
    if (user.find_first_not_of(" \t") == std::string::npos) {
      p.Add(io::Join("user_map", user), "a rota user id is not empty");
    } else if (crm.find_first_not_of(" \t") == std::string::npos) {
      p.Add(io::Join("user_map", user), "the CRM owner id is empty");
    } else if (auto [it, fresh] = by_crm.emplace(crm, user); !fresh) {
      p.Add(io::Join("user_map", user), "CRM owner \"" + crm + "\" is mapped from \"" + it->second + "\" too");
    }
  }
  if (!p.empty()) return p.ToStatus();
  return c;
}

Json SettingsJson(const Connector& c) {
  Json j = {{"id", c.id},
            {"kind", ToString(c.kind)},
            {"api_base", c.api_base},
            {"object_map", c.object_map},
            {"user_map", c.user_map},
            {"write_back", c.write_back}};
  if (c.kind == Kind::kGeneric) j["field_map"] = c.field_map;
  if (!c.public_url.empty()) j["public_url"] = c.public_url;
  return j;
}

Json CredentialsJson(const Connector& c) { return Json(c.credentials); }

std::optional<core::ObjectType> RotaType(const Connector& c, const std::string& crm_type) {
  auto it = c.object_map.find(core::AsciiLower(crm_type));
  if (it == c.object_map.end()) return std::nullopt;
  return core::ParseObjectType(it->second);
}

std::optional<std::string> CrmType(const Connector& c, core::ObjectType t) {
  for (const auto& [crm, rota] : c.object_map) {
    if (rota == core::ToString(t)) return crm;
  }
  return std::nullopt;
}

std::string CrmOwner(const Connector& c, const std::string& user) {
  auto it = c.user_map.find(user);
  return it == c.user_map.end() ? user : it->second;
}

std::string RotaUser(const Connector& c, const std::string& crm_owner) {
  for (const auto& [user, crm] : c.user_map) {
    if (crm == crm_owner) return user;
  }
  return crm_owner;
}

Json ToJson(const WriteBack& w) {
  Json j = {{"object_type", w.object_type}, {"record_id", w.record_id}, {"owner", w.owner}, {"decision_id", w.decision_id}};
  if (!w.crm_type.empty()) j["crm_type"] = w.crm_type;
  return j;
}

Result<WriteBack> ReadWriteBack(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  WriteBack w;
  if (!j.is_object() || !j.value("object_type", Json()).is_string() || !j.value("record_id", Json()).is_string() ||
      !j.value("owner", Json()).is_string()) {
    return Status::Internal("a write-back row that cannot be read");
  }
  w.object_type = j["object_type"];
  w.record_id = j["record_id"];
  w.owner = j["owner"];
  w.decision_id = j.value("decision_id", "");
  w.crm_type = j.value("crm_type", "");
  return w;
}

namespace {

// One step of a path: a key or an index. Answers false when `path` is not a path.
bool Steps(const std::string& path, std::vector<std::pair<std::string, long>>* out) {
  if (path.empty() || path[0] != '$') return false;
  size_t i = 1;
  while (i < path.size()) {
    if (path[i] == '.') {
      size_t j = i + 1;
      while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      if (j == i + 1) return false;
      if (out) out->push_back({path.substr(i + 1, j - i - 1), -1});
      i = j;
    } else if (path[i] == '[') {
      if (i + 1 < path.size() && path[i + 1] == '\'') {
        size_t end = path.find("']", i + 2);
        if (end == std::string::npos) return false;
        if (out) out->push_back({path.substr(i + 2, end - i - 2), -1});
        i = end + 2;
      } else {
        size_t end = path.find(']', i + 1);
        if (end == std::string::npos || end == i + 1 || end - i - 1 > 9) return false;
        std::string digits = path.substr(i + 1, end - i - 1);
        if (!std::all_of(digits.begin(), digits.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
          return false;
        }
        if (out) out->push_back({"", std::stol(digits)});
        i = end + 1;
      }
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

bool ValidPath(const std::string& path) { return Steps(path, nullptr); }

Result<const Json*> Select(const Json& doc, const std::string& path) {
  std::vector<std::pair<std::string, long>> steps;
  if (!Steps(path, &steps)) return Status::Invalid("", "\"" + path + "\" is not a JSON path");
  const Json* at = &doc;
  for (const auto& [key, index] : steps) {
    if (index >= 0) {
      if (!at->is_array() || static_cast<size_t>(index) >= at->size()) return static_cast<const Json*>(nullptr);
      at = &(*at)[static_cast<size_t>(index)];
    } else {
      if (!at->is_object()) return static_cast<const Json*>(nullptr);
      auto it = at->find(key);
      if (it == at->end()) return static_cast<const Json*>(nullptr);
      at = &*it;
    }
  }
  return at;
}

Json PlainValue(const Json& v) {
  if (v.is_object() && v.contains("value")) return PlainValue(v["value"]);
  return v;
}

std::string Text(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "";
}

bool Flag(const Json& obj, const char* key, bool fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::optional<std::string> CrmIdText(const Json& v) {
  const Json& plain = v.is_object() && v.contains("value") ? v["value"] : v;
  if (plain.is_string() && !plain.get<std::string>().empty()) return plain.get<std::string>();
  if (plain.is_number_integer()) return plain.dump();
  if (v.is_object() && v.contains("id")) return CrmIdText(v["id"]);
  return std::nullopt;
}

std::string PathSegment(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  // "." and ".." alone are path steps, not names.
  if (out == "." || out == "..") return out == "." ? "%2E" : "%2E%2E";
  return out;
}

}  // namespace rota::connectors
