// Webhook subscriptions and their deliveries.
#include <algorithm>

#include "io/json_util.h"
#include "service/deliveries.h"
#include "service/list_page.h"
#include "service/service.h"
#include "service/webhooks.h"

namespace rota::service {
namespace {

Json WebhookJson(const store::WebhookRow& w) {
  return {{"id", w.id},
          {"url", w.url},
          {"events", w.events},
          {"created_at", io::FormatTime(core::Time(std::chrono::seconds(w.created_at)))}};
}

std::string MsText(int64_t ms) { return io::FormatTime(core::Time(std::chrono::seconds(ms / 1000))); }

}  // namespace

Json DeliveryJson(const store::DeliveryRow& d) {
  Json body = Json::parse(d.body, nullptr, false);
  return {{"id", d.id},
          {"event", d.event},
          {"status", d.status},
          {"attempts", d.attempts},
          {"last_status", d.last_status ? Json(*d.last_status) : Json(nullptr)},
          {"last_error", d.last_error},
          {"created_at", MsText(d.created_at)},
          {"next_attempt_at", d.status == "pending" ? Json(MsText(d.next_attempt_at)) : Json(nullptr)},
          {"delivered_at", d.delivered_at ? Json(MsText(*d.delivered_at)) : Json(nullptr)},
          {"body", body.is_discarded() ? Json(nullptr) : body}};
}

Result<std::optional<int64_t>> SeqCursor(const Page& page) {
  if (page.limit < 1 || page.limit > 1000) return Status::Invalid("limit", "limit is from 1 to 1000");
  if (page.cursor.empty()) return std::optional<int64_t>();
  if (page.cursor.find_first_not_of("0123456789") != std::string::npos || page.cursor.size() > 18) {
    return Status::Invalid("cursor", "not a cursor this list gave");
  }
  return std::optional<int64_t>(std::stoll(page.cursor));
}

// `rows` holds one more than the page when another page follows.
Json DeliveryPage(std::vector<store::DeliveryRow> rows, const Page& page) {
  const bool more = rows.size() > static_cast<size_t>(page.limit);
  if (more) rows.pop_back();
  Json items = Json::array();
  for (const auto& d : rows) items.push_back(DeliveryJson(d));
  Json next = more ? Json(std::to_string(rows.back().seq)) : Json(nullptr);
  return Json{{"items", items}, {"next_cursor", next}};
}

Result<Json> Service::CreateWebhook(const std::string& ws, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  store::WebhookRow w;
  p.String(body, "id", "", w.id);
  if (auto problem = io::NewIdProblem(w.id)) p.Add("id", *problem);
  p.String(body, "url", "", w.url);
  p.String(body, "secret", "", w.secret);
  if (!(w.url.rfind("http://", 0) == 0 || w.url.rfind("https://", 0) == 0) || w.url.size() < 10) {
    p.Add("url", "an http:// or https:// URL is required");
  } else if (auto why = io::ControlCharProblem(w.url, "a URL")) {
    p.Add("url", *why);
  }
  // Stored as text (PostgreSQL's ends at a NUL: the signatures would use another secret).
  if (auto why = io::ControlCharProblem(w.secret, "a secret")) p.Add("secret", *why);
  if (p.Array(body, "events", "")) {
    for (const Json& e : body["events"]) {
      if (!e.is_string() ||
          std::find(kWebhookEvents.begin(), kWebhookEvents.end(), e.get<std::string>()) == kWebhookEvents.end()) {
        p.Add("events", "unknown event " + e.dump() +
                            " (decision.assigned, decision.unassigned, owner.notified, record.updated)");
      } else {
        w.events.push_back(e.get<std::string>());
      }
    }
  }
  if (w.events.empty() && p.empty()) p.Add("events", "subscribe to at least one event");
  if (!p.empty()) return p.ToStatus();
  if (w.id.empty()) w.id = NewId("wh_");
  const bool generated = w.secret.empty();
  if (generated) w.secret = "whsec_" + RandomHex(24);
  w.created_at = clock_.Now().time_since_epoch().count();
  Status s = Retrying([&]() -> Status {
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    // Each decision writes a delivery for each webhook of its event, in its commit: a
    // thousand webhooks made a batch of 250 decisions write 250 000 rows.
    auto existing = (*tx)->Webhooks();
    if (!existing.ok()) return existing.status();
    if (existing->size() >= kMaxWebhooks) {
      return Status::Invalid("", "a workspace has at most " + std::to_string(kMaxWebhooks) +
                                     " webhooks: delete one, or subscribe one receiver to more events");
    }
    Status st = (*tx)->PutWebhook(w);
    return st.ok() ? (*tx)->Commit() : st;
  });
  if (!s.ok()) return s;
  Json j = WebhookJson(w);
  j["secret"] = w.secret;  // shown once
  return j;
}

Result<Json> Service::ListWebhooks(const std::string& ws, const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto hooks = (*tx)->Webhooks();
  if (!hooks.ok()) return hooks.status();
  Json items = Json::array();
  for (const auto& w : *hooks) items.push_back(WebhookJson(w));
  return PageOf(ById(std::move(items)), page, /*by_id=*/true);
}

Result<Json> Service::GetWebhook(const std::string& ws, const std::string& id) {
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto hooks = (*tx)->Webhooks();
  if (!hooks.ok()) return hooks.status();
  for (const auto& w : *hooks) {
    if (w.id == id) return WebhookJson(w);
  }
  return Status::NotFound("unknown webhook \"" + id + "\"");
}

Status Service::DeleteWebhook(const std::string& ws, const std::string& id) {
  return Retrying([&]() -> Status {
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    Status s = (*tx)->DeleteWebhook(id);
    return s.ok() ? (*tx)->Commit() : s;
  });
}

Result<Json> Service::ListDeliveries(const std::string& ws, const std::string& webhook, const Page& page) {
  auto before = SeqCursor(page);
  if (!before.ok()) return before.status();
  auto exists = GetWebhook(ws, webhook);
  if (!exists.ok()) return exists.status();
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto rows = (*tx)->Deliveries(webhook, *before, page.limit + 1);
  if (!rows.ok()) return rows.status();
  return DeliveryPage(std::move(rows).value(), page);
}

Result<Json> Service::RetryDelivery(const std::string& ws, const std::string& webhook, const std::string& delivery) {
  return Requeue(ws, delivery, [&](store::Tx& tx, int64_t now_ms) { return tx.RetryDelivery(webhook, delivery, now_ms); });
}

// A write-back's owner that rota no longer holds for its record (a later decision gave it
// another, perhaps one the CRM already had, so that no later write-back was made): sending
// it again would write an older owner over a newer one.
static Status StaleOwner(store::Tx& tx, const std::string& connector, const std::string& delivery) {
  auto row = tx.FindWriteBack(connector, delivery);
  if (!row.ok()) return row.status();
  if (!*row) return Status::Ok();  // RetryWriteBack says it is unknown
  auto w = connectors::ReadWriteBack((*row)->body);
  if (!w.ok() || w->owner.empty()) return Status::Ok();
  auto type = core::ParseObjectType(w->object_type);
  if (!type) return Status::Ok();
  const std::optional<core::Record> now = tx.FindRecord(*type, w->record_id);
  if (!now || std::find(now->owners.begin(), now->owners.end(), w->owner) != now->owners.end()) return Status::Ok();
  return store::Superseded(delivery, "the record's owner in rota is now " +
                                         (now->owners.empty() ? std::string("nobody") : "\"" + now->owners.front() + "\"") +
                                         ", not \"" + w->owner + "\"");
}

Result<Json> Service::RetryWriteBack(const std::string& ws, const std::string& connector, const std::string& delivery) {
  return Requeue(ws, delivery, [&](store::Tx& tx, int64_t now_ms) {
    // The store refuses first (unknown, superseded, a later write-back of the record);
    // a stale owner then undoes the requeue with the transaction.
    Status s = tx.RetryWriteBack(connector, delivery, now_ms);
    return s.ok() ? StaleOwner(tx, connector, delivery) : s;
  });
}

Result<Json> Service::Requeue(const std::string& ws, const std::string& delivery,
                              const std::function<Status(store::Tx&, int64_t)>& requeue) {
  const int64_t now_ms = clock_.Now().time_since_epoch().count() * 1000;
  Status s = Retrying([&]() -> Status {
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    Status st = requeue(**tx, now_ms);
    return st.ok() ? (*tx)->Commit() : st;
  });
  if (!s.ok()) return s;
  return Json{{"id", delivery}, {"status", "pending"}};
}

}  // namespace rota::service
