// Pipedrive: webhooks in (v1: current/previous/meta; v2: data/previous/meta), checked
// with the HTTP basic auth set on the webhook; owners written back through the v2 API
// (leads through v1); users read from /api/v1/users. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"

namespace rota::connectors::pipedrive {

// Checks `Authorization: Basic …` against the connector's webhook_user and password.
Status CheckBasicAuth(const Connector& c, const std::string& authorization);

struct Inbound {
  Json assign;                       // the assign body (when not ignored)
  std::string ignored;               // why the call makes no decision (deleted, unmapped type…)
  std::string crm_type;              // deal, person, organization, lead, activity
  std::optional<std::string> owner;  // the record's owner id in Pipedrive now
  bool owner_only_change = false;    // the update changed the owner and nothing else that matters
  bool deleted = false;              // the object was deleted: `assign` names it (object_type, record.id)
};
Result<Inbound> ReadWebhook(const Connector& c, const Json& body);

OutRequest WriteBackRequest(const Connector& c, const std::string& crm_type, const std::string& id,
                            const std::string& crm_owner);
// GET /api/v1/users from `start`.
OutRequest UsersRequest(const Connector& c, const std::optional<std::string>& start);
Result<UsersPage> ReadUsers(const Json& body);

}  // namespace rota::connectors::pipedrive
