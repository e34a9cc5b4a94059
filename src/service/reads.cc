// Records, history and the unassigned queue.
#include <date/tz.h>

#include <map>

#include "io/config_json.h"
#include "service/service.h"
#include "service/window.h"
#include "service/webhooks.h"

namespace rota::service {
namespace {

Result<core::ObjectType> TypeOf(const std::string& s) {
  auto t = core::ParseObjectType(s);
  if (!t) return Status::NotFound("unknown object type \"" + s + "\" (lead, contact, company, deal, task)");
  return *t;
}

std::string AtText(int64_t at) { return io::FormatTime(core::Time(std::chrono::seconds(at))); }

Result<int> Limit(const Page& page) {
  if (page.limit < 1 || page.limit > 1000) return Status::Invalid("limit", "limit is from 1 to 1000");
  return page.limit;
}

}  // namespace

Status PutGivenRecord(store::Tx& tx, core::Record record, int64_t at) {
  auto known = tx.FindRecord(record.object_type, record.id);
  record.notes = known ? known->notes : std::vector<core::Note>{};
  if (known) {  // rota's own, as the notes
    record.source_connector = known->source_connector;
    record.source_type = known->source_type;
  }
  core::DropEmptyLinks(record);
  Status s = tx.PutRecord(record, at);
  if (s.ok() && !record.owners.empty()) s = tx.RemoveUnassigned(std::string(core::ToString(record.object_type)), record.id);
  return s;
}

Result<Json> Service::PutRecord(const std::string& ws, const std::string& type, const std::string& id,
                                const Json& body, bool by_hand) {
  auto t = TypeOf(type);
  if (!t.ok()) return t.status();
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  Json copy = body;
  copy.erase("object_type");
  if (copy.contains("id") && copy["id"] != id) p.Add("id", "the body's id differs from the URL's");
  copy["id"] = id;
  copy.erase("activity");
  core::Record r = io::ReadRecord(copy, "", p);
  r.object_type = *t;
  core::DropEmptyLinks(r);
  if (!p.empty()) return p.ToStatus();
  const int64_t now = clock_.Now().time_since_epoch().count();
  Status s = Retrying([&]() -> Status {
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    auto known = (*tx)->FindRecord(r.object_type, r.id);
    Status st = PutGivenRecord(**tx, r, now);
    // An owner an admin sets by hand on a record that came from a CRM goes back to it, as a
    // decision's: when the first owner changes, to a user of the workspace (a CRM keeps one).
    // Any other change of the first owner (cleared, or not a user) sends nothing, and an
    // earlier owner still waiting to be written back is not sent either.
    const bool changed = known && (r.owners.empty() != known->owners.empty() ||
                                   (!r.owners.empty() && known->owners.front() != r.owners.front()));
    if (st.ok() && by_hand && changed) {
      auto snapshot = snapshots_.Get(**tx, ws);
      if (!snapshot.ok()) return snapshot.status();
      const bool a_user = !r.owners.empty() && (*snapshot)->FindUser(r.owners.front()) != nullptr;
      auto wb = SourceWriteBack(**tx, *known);
      if (!wb.ok()) return wb.status();
      if (*wb && a_user) {
        st = EmitWriteBack(**tx, **wb, r.object_type, r.id, r.owners.front(), "", known->source_type, now * 1000);
      } else if (*wb) {
        auto superseded = (*tx)->SupersedeWriteBacks(
            (*wb)->connector, store::WriteBackSubject(core::ToString(r.object_type), r.id), SupersededBy(""));
        if (!superseded.ok()) st = superseded.status();
      }
    }
    if (st.ok()) {
      auto hooks = (*tx)->Webhooks();
      st = hooks.ok() ? Emit(**tx, *hooks, "record.updated", Json{{"record", io::WriteRecord(r)}}, now * 1000)
                      : hooks.status();
    }
    return st.ok() ? (*tx)->Commit() : st;
  });
  if (!s.ok()) return s;
  return GetRecord(ws, type, id);
}

Result<bool> Service::CloseRecord(const std::string& ws, core::ObjectType type, const std::string& id) {
  const int64_t now = clock_.Now().time_since_epoch().count();
  bool closed = false;
  Status s = Retrying([&]() -> Status {
    closed = false;
    auto tx = store_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    auto known = (*tx)->FindRecord(type, id);
    if (!known) return Status::Ok();  // nothing to write: the transaction rolls back
    // Gone from the CRM, closed before or not: nothing of it goes back to the CRM any more,
    // and it leaves the unassigned queue.
    const bool was_open = known->open;
    Status st;
    if (was_open || !known->source_connector.empty()) {  // else nothing of it changes (a retried delete)
      known->open = false;
      known->source_connector.clear();
      known->source_type.clear();
      st = (*tx)->PutRecord(*known, now);
    }
    if (st.ok()) st = (*tx)->RemoveUnassigned(std::string(core::ToString(type)), id);
    if (st.ok() && was_open) {
      auto hooks = (*tx)->Webhooks();
      st = hooks.ok() ? Emit(**tx, *hooks, "record.updated", Json{{"record", io::WriteRecord(*known)}}, now * 1000)
                      : hooks.status();
    }
    if (st.ok()) st = (*tx)->Commit();
    closed = st.ok() && was_open;
    return st;
  });
  if (!s.ok()) return s;
  return closed;
}

Result<Json> Service::GetRecord(const std::string& ws, const std::string& type, const std::string& id) {
  auto t = TypeOf(type);
  if (!t.ok()) return t.status();
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto r = (*tx)->FindRecord(*t, id);
  if (!r) return Status::NotFound("unknown " + type + " record \"" + id + "\"");
  Json j = io::WriteRecord(*r);
  auto decisions = (*tx)->RecordDecisions(type, id, 100);
  if (!decisions.ok()) return decisions.status();
  // Newest first: each decision's note (kept on the record; a decision stored before
  // notes were kept has it in its body) before its assignment, then the notes whose
  // decisions the retention has purged.
  auto note_json = [](const core::Note& n) {
    return Json{{"kind", "note"}, {"at", AtText(n.at)}, {"text", n.text}, {"decision_id", n.decision_id}};
  };
  std::map<std::string, const core::Note*> notes;
  for (const core::Note& n : r->notes) notes[n.decision_id] = &n;
  Json activity = Json::array();
  for (const store::DecisionRow& d : *decisions) {
    if (auto n = notes.find(d.id); n != notes.end()) {
      activity.push_back(note_json(*n->second));
      notes.erase(n);
    } else if (Json body = Json::parse(d.body, nullptr, false);
               body.is_object() && body.contains("actions") && body["actions"].contains("note")) {
      activity.push_back({{"kind", "note"}, {"at", AtText(d.at)}, {"text", body["actions"]["note"]},
                          {"decision_id", d.id}});
    }
    activity.push_back({{"kind", "assignment"},
                        {"at", AtText(d.at)},
                        {"decision_id", d.id},
                        {"event", d.event},
                        {"outcome", d.outcome},
                        {"owner", d.owner ? Json(*d.owner) : Json(nullptr)},
                        {"rule", d.rule ? Json(*d.rule) : Json(nullptr)},
                        {"reason", d.reason ? Json(*d.reason) : Json(nullptr)}});
  }
  for (auto n = r->notes.rbegin(); n != r->notes.rend(); ++n) {
    if (notes.count(n->decision_id)) activity.push_back(note_json(*n));
  }
  j["activity"] = activity;
  return j;
}

Result<Json> Service::History(const std::string& ws, const HistoryQuery& q) {
  io::Problems p;
  store::HistoryFilter f;
  auto limit = Limit(q.page);
  if (!limit.ok()) return limit.status();
  f.limit = *limit + 1;  // one more than the page: whether another page follows
  const date::time_zone* tz = nullptr;
  if (q.period) {
    auto w = Current(ws);
    if (!w.ok()) return w.status();
    tz = (*w)->time_zone();
  }
  ReadWindow({q.from, q.to, q.period}, tz, clock_.Now(), p, f.from, f.to);
  if (q.object_type && !core::ParseObjectType(*q.object_type)) p.Add("object_type", "unknown object type");
  if (q.event && !core::ParseEvent(*q.event)) p.Add("event", "unknown event");
  if (q.outcome && !core::ParseOutcome(*q.outcome)) p.Add("outcome", "unknown outcome");
  if (!q.page.cursor.empty()) {
    if (q.page.cursor.find_first_not_of("0123456789") != std::string::npos || q.page.cursor.size() > 18) {
      p.Add("cursor", "not a cursor this list gave");
    } else {
      f.before_seq = std::stoll(q.page.cursor);
    }
  }
  if (!p.empty()) return p.ToStatus();
  f.object_type = q.object_type;
  f.event = q.event;
  f.rule = q.rule;
  f.owner = q.owner;
  f.outcome = q.outcome;
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto rows = (*tx)->History(f);
  if (!rows.ok()) return rows.status();
  const bool more = rows->size() > static_cast<size_t>(*limit);
  if (more) rows->pop_back();
  Json items = Json::array();
  for (const store::DecisionRow& d : *rows) {
    Json j = Json::parse(d.body, nullptr, false);
    if (!j.is_object()) j = Json::object();
    if (auto kept = j.find(kKeptTrace); kept != j.end()) {
      j["trace"] = std::move(*kept);
      j.erase(kKeptTrace);
    }
    j["decision_id"] = d.id;
    j["at"] = AtText(d.at);
    j["record_id"] = d.record_id;
    j["object_type"] = d.object_type;
    j["event"] = d.event;
    items.push_back(std::move(j));
  }
  Json next = more ? Json(std::to_string(rows->back().seq)) : Json(nullptr);
  return Json{{"items", items}, {"next_cursor", next}};
}

Result<Json> Service::Unassigned(const std::string& ws, const std::optional<std::string>& object_type,
                                 const Page& page) {
  auto limit = Limit(page);
  if (!limit.ok()) return limit.status();
  if (object_type && !core::ParseObjectType(*object_type)) {
    return Status::Invalid("object_type", "unknown object type \"" + *object_type + "\"");
  }
  // The cursor is the id of the page's last decision ("dec_" and 28 hex digits, NewId).
  if (!page.cursor.empty() && (page.cursor.size() != 32 || !page.cursor.starts_with("dec_") ||
                               page.cursor.find_first_not_of("0123456789abcdef", 4) != std::string::npos)) {
    return Status::Invalid("cursor", "not a cursor this list gave");
  }
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto rows = (*tx)->ListUnassigned(object_type, page.cursor.empty() ? std::nullopt : std::optional(page.cursor),
                                    *limit + 1);  // one more: whether another page follows
  if (!rows.ok()) return rows.status();
  const bool more = rows->size() > static_cast<size_t>(*limit);
  if (more) rows->pop_back();
  Json items = Json::array();
  for (const store::UnassignedRow& u : *rows) {
    items.push_back({{"object_type", u.object_type},
                     {"record_id", u.record_id},
                     {"reason", u.reason},
                     {"decision_id", u.decision_id},
                     {"at", AtText(u.at)}});
  }
  Json next = more ? Json(rows->back().decision_id) : Json(nullptr);
  return Json{{"items", items}, {"next_cursor", next}};
}

}  // namespace rota::service
