// CRM connectors: their configuration (credentials sealed at rest, never answered),
// calls in from HubSpot, Pipedrive and any CRM, and the sync of CRM users.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "connectors/generic.h"
#include "connectors/hubspot.h"
#include "connectors/pipedrive.h"
#include "service/crm.h"
#include "service/deliveries.h"
#include "service/list_page.h"
#include "service/service.h"

namespace rota::service {

namespace {

namespace cx = connectors;

constexpr int kCrmTimeoutMs = 10000;
constexpr int kMaxUserPages = 500;

std::string InboundPath(const std::string& ws, const cx::Connector& c) {
  std::string route = c.kind == cx::Kind::kHubSpot     ? "/hubspot/workflow"
                      : c.kind == cx::Kind::kPipedrive ? "/pipedrive/webhook"
                                                       : "/generic";
  return "/v1/connectors/" + cx::PathSegment(c.id) + route + "?workspace=" + cx::PathSegment(ws);
}

Json ConnectorJson(const std::string& ws, const cx::Connector& c, const store::ConnectorRow& row) {
  Json j = cx::SettingsJson(c);
  Json set = Json::array();
  for (const auto& [name, value] : c.credentials) {
    if (!value.empty()) set.push_back(name);
  }
  j["credentials_set"] = set;
  j["inbound_url"] = InboundPath(ws, c);
  j["created_at"] = io::FormatTime(core::Time(std::chrono::seconds(row.created_at)));
  j["updated_at"] = io::FormatTime(core::Time(std::chrono::seconds(row.updated_at)));
  return j;
}

// Unknown connector and wrong credentials answer alike: a caller without them learns
// nothing about what exists.
Status NotAuthorized() {
  return Status(Code::kUnauthenticated, "unauthenticated",
                "unknown connector, wrong route for its kind, or credentials that do not match");
}

// A call whose proof the connector refuses answers as NotAuthorized does; why it was
// refused (a stale timestamp, a wrong secret) goes to the server's log for its admin.
Status Refused(const std::string& connector, const Status& s) {
  if (s.ok() || s.code() != Code::kUnauthenticated) return s;
  spdlog::info("connectors: a call to {} was refused: {}", connector, s.message());
  return NotAuthorized();
}

std::string Header(const ConnectorCall& call, const std::string& name) {
  auto it = call.headers.find(name);
  return it == call.headers.end() ? "" : it->second;
}

// Where a connector writes owners back: the rota types its object_map maps.
WriteBackTarget WriteBackOf(const cx::Connector& c, const std::string& crm_type) {
  WriteBackTarget wb{c.id, {}, crm_type};
  for (const auto& [crm, rota] : c.object_map) {
    auto t = core::ParseObjectType(rota);
    if (t && std::find(wb.types.begin(), wb.types.end(), *t) == wb.types.end()) wb.types.push_back(*t);
  }
  return wb;
}

}  // namespace

Result<cx::Connector> Service::OpenConnector(const store::ConnectorRow& row) const {
  return OpenConnectorRow(secrets(), row);
}

Result<Json> Service::CreateConnector(const std::string& ws, const Json& body) {
  auto c = cx::ReadConnector(body);
  if (!c.ok()) return c.status();
  if (!secrets_) {
    return Status(Code::kUnavailable, "secret_key_missing",
                  "set ROTA_SECRET_KEY (16 characters or more) on the server to store connector credentials");
  }
  if (c->id.empty()) c->id = NewId("con_");
  store::ConnectorRow row;
  row.id = c->id;
  row.kind = cx::ToString(c->kind);
  row.doc = cx::SettingsJson(*c).dump();
  row.secrets = secrets_->Seal(cx::CredentialsJson(*c).dump());
  row.created_at = row.updated_at = clock_.Now().time_since_epoch().count();
  Status s = Retrying([&]() -> Status {
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    Status st = (*tx)->InsertConnector(row);
    return st.ok() ? (*tx)->Commit() : st;
  });
  if (!s.ok()) return s;
  return ConnectorJson(ws, *c, row);
}

Result<Json> Service::ListConnectors(const std::string& ws, const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto rows = (*tx)->Connectors();
  if (!rows.ok()) return rows.status();
  Json items = Json::array();
  for (const store::ConnectorRow& row : *rows) {
    // Listing needs no credentials: read the settings alone.
    Json doc = Json::parse(row.doc, nullptr, false);
    auto c = OpenConnector(row);
    if (c.ok()) {
      items.push_back(ConnectorJson(ws, *c, row));
    } else if (doc.is_object()) {
      doc["credentials_set"] = nullptr;
      doc["error"] = c.status().message();
      items.push_back(doc);
    }
  }
  return PageOf(ById(std::move(items)), page, /*by_id=*/true);
}

Result<Json> Service::GetConnector(const std::string& ws, const std::string& id) {
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto row = (*tx)->FindConnector(id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("unknown connector \"" + id + "\"");
  auto c = OpenConnector(**row);
  if (!c.ok()) return c.status();
  return ConnectorJson(ws, *c, **row);
}

Result<Json> Service::PatchConnector(const std::string& ws, const std::string& id, const Json& patch) {
  if (!patch.is_object()) return Status::Invalid("", "the body must be a JSON object");
  return Retrying([&]() { return PatchConnectorOnce(ws, id, patch); });
}

Result<Json> Service::PatchConnectorOnce(const std::string& ws, const std::string& id, const Json& patch) {
  auto tx = store_.BeginWrite(ws);
  if (!tx.ok()) return tx.status();
  auto row = (*tx)->FindConnector(id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("unknown connector \"" + id + "\"");
  auto current = OpenConnector(**row);
  if (!current.ok()) return current.status();
  Json doc = cx::SettingsJson(*current);
  doc["credentials"] = cx::CredentialsJson(*current);
  io::Problems p;
  for (const auto& [k, v] : patch.items()) {
    if (k == "id" && v != Json(id)) {
      p.Add("id", "a connector's id does not change");
    } else if (k == "kind" && v != doc["kind"]) {
      p.Add("kind", "a connector's kind does not change; create a new connector");
    } else if (k == "credentials" && v.is_object()) {
      for (const auto& [name, value] : v.items()) {
        if (value.is_null()) {
          doc["credentials"].erase(name);
        } else {
          doc["credentials"][name] = value;
        }
      }
    } else {
      doc[k] = v;
    }
  }
  if (!p.empty()) return p.ToStatus();
  auto c = cx::ReadConnector(doc);
  if (!c.ok()) return c.status();
  store::ConnectorRow updated = **row;
  updated.doc = cx::SettingsJson(*c).dump();
  updated.secrets = secrets_->Seal(cx::CredentialsJson(*c).dump());
  updated.updated_at = clock_.Now().time_since_epoch().count();
  Status s = (*tx)->UpdateConnector(updated);
  if (s.ok()) s = (*tx)->Commit();
  if (!s.ok()) return s;
  return ConnectorJson(ws, *c, updated);
}

Status Service::DeleteConnector(const std::string& ws, const std::string& id) {
  return Retrying([&]() -> Status {
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    Status s = (*tx)->DeleteConnector(id);
    return s.ok() ? (*tx)->Commit() : s;
  });
}

Result<Json> Service::ConnectorDeliveries(const std::string& ws, const std::string& id, const Page& page) {
  auto before = SeqCursor(page);
  if (!before.ok()) return before.status();
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto row = (*tx)->FindConnector(id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("unknown connector \"" + id + "\"");
  auto rows = (*tx)->ConnectorDeliveries(id, *before, page.limit + 1);
  if (!rows.ok()) return rows.status();
  return DeliveryPage(std::move(rows).value(), page);
}

Result<Json> Service::SyncUsers(const std::string& ws, const std::string& id) {
  std::optional<store::ConnectorRow> row;
  {
    auto tx = store_.BeginRead(ws);
    if (!tx.ok()) return tx.status();
    auto found = (*tx)->FindConnector(id);
    if (!found.ok()) return found.status();
    row = *found;
  }
  if (!row) return Status::NotFound("unknown connector \"" + id + "\"");
  auto c = OpenConnector(*row);
  if (!c.ok()) return c.status();
  if (c->kind == cx::Kind::kGeneric) {
    return Status::Invalid("kind", "a generic connector has no user list to sync; create users with POST /v1/users");
  }
  const char* token = c->kind == cx::Kind::kHubSpot ? "access_token" : "api_token";
  if (!c->credentials.count(token)) return Status::Invalid(std::string("credentials.") + token, "required to read users");

  // Every page of the CRM's users (HubSpot lists archived owners on their own).
  std::vector<cx::CrmUser> users;
  const std::vector<bool> listings = c->kind == cx::Kind::kHubSpot ? std::vector<bool>{false, true} : std::vector<bool>{false};
  for (bool archived : listings) {
    std::optional<std::string> cursor;
    for (int page = 0;; ++page) {
      if (page >= kMaxUserPages) return Status(Code::kUnavailable, "crm_paging", "the CRM's user list never ended");
      cx::OutRequest req = c->kind == cx::Kind::kHubSpot ? cx::hubspot::OwnersRequest(*c, cursor, archived)
                                                         : cx::pipedrive::UsersRequest(*c, cursor);
      HttpAnswer a = HttpCall(c->api_base, req, kCrmTimeoutMs);
      if (a.status < 200 || a.status >= 300) {
        std::string path = req.path.substr(0, req.path.find('?'));
        const std::string kind(cx::ToString(c->kind));
        return Status(Code::kUnavailable, "crm_unavailable",
                      (a.status ? kind + " answered " + std::to_string(a.status) + " to GET " + path +
                                      (a.status == 401 ? " (check the token)" : "")
                                : "GET " + path + " from " + kind + " got no answer (" + a.error + ")") +
                          "; no user was changed");
      }
      Json body = Json::parse(a.body, nullptr, false);
      auto read = c->kind == cx::Kind::kHubSpot ? cx::hubspot::ReadOwners(body, archived) : cx::pipedrive::ReadUsers(body);
      if (!read.ok()) return read.status();
      users.insert(users.end(), read->users.begin(), read->users.end());
      if (!read->next || read->next == cursor) break;
      cursor = read->next;
    }
  }

  int created = 0, updated = 0, unchanged = 0, inactive = 0;
  auto result = Mutate(ws, MutateFn([&](core::Config& config, store::Tx&) -> Status {
                         created = updated = unchanged = inactive = 0;
                         std::set<std::string> seen;
                         for (const cx::CrmUser& u : users) {
                           const std::string uid = cx::RotaUser(*c, u.crm_id);
                           if (!seen.insert(uid).second) continue;  // listed twice: the first wins
                           if (!u.active) ++inactive;
                           auto it = std::find_if(config.users.begin(), config.users.end(),
                                                  [&](const core::User& x) { return x.id == uid; });
                           if (it == config.users.end()) {
                             core::User user;
                             user.id = uid;
                             user.name = u.name;
                             user.email = u.email;
                             user.active = u.active;
                             config.users.push_back(std::move(user));
                             ++created;
                           } else if (it->name != u.name || it->email != u.email || it->active != u.active) {
                             it->name = u.name;
                             it->email = u.email;
                             it->active = u.active;
                             ++updated;
                           } else {
                             ++unchanged;
                           }
                         }
                         return Status::Ok();
                       }));
  if (!result.ok()) return result.status();
  return Json{{"users", created + updated + unchanged},
              {"created", created},
              {"updated", updated},
              {"unchanged", unchanged},
              {"inactive", inactive}};
}

Result<std::optional<WriteBackTarget>> Service::SourceWriteBack(store::Tx& tx, const core::Record& r) const {
  if (r.source_connector.empty() || !secrets_) return std::optional<WriteBackTarget>();
  auto row = tx.FindConnector(r.source_connector);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<WriteBackTarget>();  // the connector was deleted
  auto c = OpenConnector(**row);
  if (!c.ok() || !c->write_back) return std::optional<WriteBackTarget>();
  return std::optional<WriteBackTarget>(WriteBackOf(*c, r.source_type));
}

// A CRM sends every change of its records, and most are edits no rule is about (a title,
// a value, a manager's reassignment). Such a change to a record that has an owner makes no
// decision (FromCrm::untaken_changes_decide_nothing): otherwise the record would go to the
// default owner or to the unassigned queue (SPEC §3.3), undoing the owner it has. A change
// a rule takes is decided as usual; POST /v1/assign and the generic connector keep §3.3 for
// every event, as the integrator chooses what to send.
Result<Json> Service::ConnectorCallIn(const std::string& ws, const std::string& id, const ConnectorCall& call) {
  std::optional<store::ConnectorRow> row;
  {
    auto tx = store_.BeginRead(ws);
    if (!tx.ok()) return tx.status();
    auto found = (*tx)->FindConnector(id);
    if (!found.ok()) return found.status();
    row = *found;
  }
  if (!row || row->kind != call.route) return NotAuthorized();
  auto c = OpenConnector(*row);
  if (!c.ok()) return c.status();
  const int64_t now_ms = clock_.Now().time_since_epoch().count() * 1000;

  std::optional<WriteBackTarget> wb;
  if (c->write_back) wb = WriteBackOf(*c, "");
  const Principal who{ws, Role::kIntegration, false, "connector:" + c->id};

  switch (c->kind) {
    case cx::Kind::kHubSpot: {
      // HubSpot signs the URL it called: public_url when rota is behind a proxy, else
      // this host by either scheme.
      std::vector<std::string> urls;
      if (!c->public_url.empty()) {
        urls.push_back(c->public_url + call.target);
      } else {
        urls = {"https://" + call.host + call.target, "http://" + call.host + call.target};
      }
      Status s = cx::hubspot::Verify(c->credentials.at("app_secret"), call.method, urls, call.body,
                                     Header(call, "x-hubspot-signature-v3"),
                                     Header(call, "x-hubspot-request-timestamp"), now_ms);
      if (!s.ok()) return Refused(c->id, s);
      auto in = cx::hubspot::ReadWorkflow(*c, call.json, call.query);
      if (!in.ok()) return in.status();
      // "Send a webhook" carries no event id. Its body is the object as HubSpot's API
      // gives it (its last-modified time included), and a retry (new timestamp, new
      // signature) sends the same body to the same URL: the same URL (its query says the
      // event, pool or rule) and body are the same decision.
      if (!in->assign.contains("idempotency_key")) {
        in->assign["idempotency_key"] = "hubspot:" + c->id + ":body:" + Sha256Hex(call.target + "\n" + call.body);
      }
      if (wb) wb->crm_type = in->crm_type;
      FromCrm crm{wb, in->owner ? std::optional<std::string>(cx::RotaUser(*c, *in->owner)) : std::nullopt, true};
      auto d = Assign(who, in->assign, "", crm);
      if (!d.ok()) return d.status();
      if (d->contains("ignored") && in->custom_action) {
        // The owner HubSpot has (a later step copying it back changes nothing, where rota's
        // copy would undo an owner set by hand in HubSpot); else the one rota keeps.
        const Json& owners = (*d)["owners"];
        const Json owner = crm.crm_owner ? Json(*crm.crm_owner) : owners.empty() ? Json(nullptr) : owners[0];
        return cx::hubspot::ActionAnswer(*c, Json{{"owner", owner}, {"outcome", "unchanged"}});
      }
      return in->custom_action ? cx::hubspot::ActionAnswer(*c, *d) : *d;
    }
    case cx::Kind::kPipedrive: {
      Status s = cx::pipedrive::CheckBasicAuth(*c, Header(call, "authorization"));
      if (!s.ok()) return Refused(c->id, s);
      auto in = cx::pipedrive::ReadWebhook(*c, call.json);
      if (!in.ok()) return in.status();
      if (!in->ignored.empty()) return Json{{"ignored", in->ignored}};
      if (in->deleted) {
        const std::string type = in->assign["object_type"], record = in->assign["record"]["id"];
        auto closed = CloseRecord(ws, *core::ParseObjectType(type), record);
        if (!closed.ok()) return closed.status();
        return Json{{"ignored", "deleted in Pipedrive: no decision"}, {"closed", *closed}};
      }
      std::optional<std::string> crm_owner;
      if (in->owner) crm_owner = cx::RotaUser(*c, *in->owner);
      // Loop guard: rota's own write-back comes back as an update that changed only
      // the owner, to the owner rota decided; it makes no second decision.
      if (in->owner_only_change && crm_owner) {
        auto tx = store_.BeginRead(ws);
        if (!tx.ok()) return tx.status();
        auto type = core::ParseObjectType(in->assign["object_type"].get<std::string>());
        auto known = (*tx)->FindRecord(*type, in->assign["record"]["id"].get<std::string>());
        if (known && std::find(known->owners.begin(), known->owners.end(), *crm_owner) != known->owners.end()) {
          return Json{{"ignored", "loop_guard: the update only wrote back the owner rota decided"}};
        }
      }
      if (wb) wb->crm_type = in->crm_type;
      return Assign(who, in->assign, "", FromCrm{wb, crm_owner, true});
    }
    case cx::Kind::kGeneric: {
      Status s = cx::generic::Verify(c->credentials.at("secret"), Header(call, "rota-signature"), call.body,
                                     now_ms / 1000);
      if (!s.ok()) return Refused(c->id, s);
      auto a = cx::generic::ReadInbound(*c, call.json);
      if (!a.ok()) return a.status();
      // A CRM's own key, however long, names its call: one over the API's limit goes in as
      // its SHA-256 (the same key, the same hash).
      std::string key = Header(call, "idempotency-key");
      if (key.size() > io::kMaxIdempotencyKey) key = "sha256:" + Sha256Hex(key);
      if (auto k = a->find("idempotency_key");
          k != a->end() && k->is_string() && k->get<std::string>().size() > io::kMaxIdempotencyKey) {
        *k = "sha256:" + Sha256Hex(k->get<std::string>());
      }
      // The owner the body sent (field_map "owners"; its first, as the CRM's id or a rota
      // user id): the owner the CRM has, not written back to it when rota decides it again.
      std::optional<std::string> crm_owner;
      if (auto owners = a->find("record"); owners != a->end() && owners->contains("owners")) {
        const Json& list = (*owners)["owners"];
        if (list.is_array() && !list.empty()) {
          if (auto first = cx::CrmIdText(list[0])) crm_owner = cx::RotaUser(*c, *first);
        }
      }
      return Assign(who, *a, key, FromCrm{wb, crm_owner, false});
    }
  }
  return NotAuthorized();
}

}  // namespace rota::service
