// Any CRM that can call a URL: a JSON body mapped to an assign request by the
// connector's field map, signed with the connector's secret (Rota-Signature, as rota's
// own webhooks); decisions written back as a signed POST to the connector's URL.
#pragma once

#include <string>

#include "connectors/connector.h"

namespace rota::connectors::generic {

inline constexpr int64_t kMaxSkewSeconds = 5 * 60;

// "t=UNIX,v1=HEX": HMAC-SHA256 of "UNIX.body" under `secret`, hex.
std::string Sign(const std::string& secret, int64_t unix_seconds, const std::string& body);
// Unauthenticated unless `header` is such a signature, made within 5 minutes of `now`.
Status Verify(const std::string& secret, const std::string& header, const std::string& body, int64_t now_seconds);

// The call's body through the field map into an assign body.
Result<Json> ReadInbound(const Connector& c, const Json& body);

// POST to api_base: {"event": "owner.write_back", object_type, record_id, owner,
// crm_owner, decision_id}, signed at `now_seconds`.
OutRequest WriteBackRequest(const Connector& c, const WriteBack& w, int64_t now_seconds);

}  // namespace rota::connectors::generic
