// HubSpot: workflow calls in (the "Send a webhook" action and custom workflow
// actions), signed with X-HubSpot-Signature-v3; owners written back through the CRM
// objects API; owners read from the owners API. Pure: no I/O, the clock is passed in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"

namespace rota::connectors::hubspot {

inline constexpr int64_t kMaxSkewMs = 5 * 60 * 1000;

// base64 HMAC-SHA256 of method + uri + body + timestamp under the app secret.
std::string SignatureV3(const std::string& app_secret, const std::string& method, const std::string& uri,
                        const std::string& body, const std::string& timestamp);
// Checks the v3 signature against each URL the request may have been sent to (HubSpot
// signs the URL it called; behind a proxy that is `public_url`). Unauthenticated when
// the signature is missing, wrong, or its timestamp is over 5 minutes from `now_ms`.
Status Verify(const std::string& app_secret, const std::string& method, const std::vector<std::string>& uris,
              const std::string& body, const std::string& signature, const std::string& timestamp, int64_t now_ms);

// A workflow call read into an assign body.
struct Inbound {
  Json assign;
  bool custom_action = false;  // answer with outputFields
  std::string crm_type;        // contacts, companies, deals, tickets: where the owner goes back
  std::optional<std::string> owner;  // hubspot_owner_id, when the call carries one
};
// `query`: the call's query parameters (object_type, event, pool, rule may come there).
Result<Inbound> ReadWorkflow(const Connector& c, const Json& body, const std::map<std::string, std::string>& query);
// A custom action's answer: outputFields with hubspot_owner_id (empty when unassigned).
Json ActionAnswer(const Connector& c, const Json& decision);

// PATCH /crm/v3/objects/{type}/{id} setting hubspot_owner_id.
OutRequest WriteBackRequest(const Connector& c, const std::string& crm_type, const std::string& id,
                            const std::string& crm_owner);
// GET /crm/v3/owners, one page (archived ones in their own listing).
OutRequest OwnersRequest(const Connector& c, const std::optional<std::string>& after, bool archived);
Result<UsersPage> ReadOwners(const Json& body, bool archived);

}  // namespace rota::connectors::hubspot
