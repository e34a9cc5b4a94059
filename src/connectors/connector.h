// A CRM connector as configured: which CRM, where its API is, its credentials, how
// its object types map onto rota's, how its owners map onto rota's users, and
// whether rota writes its decisions back. Pure: reading, checking and mapping only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "io/json_util.h"

namespace rota::connectors {

using io::Json;

enum class Kind { kHubSpot, kPipedrive, kGeneric };
const char* ToString(Kind k);
std::optional<Kind> ParseKind(const std::string& s);

struct Connector {
  std::string id;
  Kind kind = Kind::kGeneric;
  std::string api_base;  // the CRM's API (hubspot, pipedrive) or write-back URL (generic)
  std::map<std::string, std::string> credentials;  // in memory only; sealed at rest
  std::map<std::string, std::string> object_map;   // CRM object type → rota object type
  std::map<std::string, std::string> field_map;    // generic: assign field → "$.path" or a constant
  std::map<std::string, std::string> user_map;     // rota user id → CRM owner id
  bool write_back = true;
  std::string public_url;  // the scheme://host[:port] the CRM calls rota on (HubSpot's signature)
};

// The credential names each kind takes; `required` ones must be set.
struct CredentialSpec {
  const char* name;
  bool required;
  const char* what;
};
const std::vector<CredentialSpec>& Credentials(Kind k);

// Reads a connector document (a create body, or the stored settings with the
// credentials put back). Every problem is reported with its path; the default object
// map of the kind fills object types the document does not map.
Result<Connector> ReadConnector(const Json& doc);
// The settings without credentials (as stored, and as GET answers with
// `credentials_set` naming the credentials that have a value).
Json SettingsJson(const Connector& c);
Json CredentialsJson(const Connector& c);

// The rota object type of a CRM object type, if mapped (CRM names compared in lower case).
std::optional<core::ObjectType> RotaType(const Connector& c, const std::string& crm_type);
// The CRM object type a rota type is written back as: the first that maps to it.
std::optional<std::string> CrmType(const Connector& c, core::ObjectType t);
// The CRM owner id of a rota user (user_map, else the user's id), and back.
std::string CrmOwner(const Connector& c, const std::string& user);
std::string RotaUser(const Connector& c, const std::string& crm_owner);

// A request rota makes to the CRM: on `api_base`, with `path` (and query).
struct OutRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON, empty for GET
};

// A CRM user, as a user sync reads it.
struct CrmUser {
  std::string crm_id;
  std::string name;
  std::string email;
  bool active = true;
};
struct UsersPage {
  std::vector<CrmUser> users;
  std::optional<std::string> next;  // cursor of the next page
};

// The write-back outbox row's body: what to write where.
struct WriteBack {
  std::string object_type;  // rota's
  std::string record_id;
  std::string owner;  // rota user
  std::string decision_id;
  std::string crm_type;  // the CRM's type the call named ("" for a linked record: CrmType)
};
Json ToJson(const WriteBack& w);
Result<WriteBack> ReadWriteBack(const std::string& body);

// A JSON path of the small kind field maps use: $, .name, ['name'], [N].
// nullptr when the path does not lead anywhere in `doc`; an error when it is not a path.
Result<const Json*> Select(const Json& doc, const std::string& path);
bool ValidPath(const std::string& path);

// A CRM value as a property value: scalars as they are, {"value": V} as V (HubSpot's
// and Pipedrive's v1 shapes), other objects and arrays as JSON.
Json PlainValue(const Json& v);
// A CRM object's text field: a string as it is, a number as its text; "" when the field is
// missing, null or anything else (a CRM leaves fields out or null freely).
std::string Text(const Json& obj, const char* key);
// A CRM object's true/false field; `fallback` when it is missing or not a boolean.
bool Flag(const Json& obj, const char* key, bool fallback);
// A CRM id (number or text, or HubSpot's {"value"} and Pipedrive's {"id"} wrapping one) as
// text; nullopt for anything else, an empty text included. (io::IdText reads rota's own API.)
std::optional<std::string> CrmIdText(const Json& v);
// `text` as one segment of a URL path, or a query value (RFC 3986): every byte but A–Z a–z 0–9 - . _ ~
// percent-encoded, so that an id holding "/" or "?" cannot name another resource.
std::string PathSegment(const std::string& text);

}  // namespace rota::connectors
