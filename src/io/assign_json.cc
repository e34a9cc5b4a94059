#include "io/assign_json.h"

#include "io/config_json.h"

namespace rota::io {

Result<AssignBody> ReadAssignBody(const Json& j) {
  Problems p;
  AssignBody b;
  if (!j.is_object()) {
    p.Add("", "the body must be a JSON object");
    return p.ToStatus();
  }
  auto type = ReadObjectType(j, "object_type", "", p);
  std::string event;
  p.String(j, "event", "", event);
  if (auto e = core::ParseEvent(event)) {
    b.event = *e;
  } else {
    p.Add("event", event.empty() ? "an event is required (created, updated, bulk, assign_requested)"
                                 : "unknown event \"" + event + "\" (created, updated, bulk, assign_requested)");
  }
  if (!j.contains("record") || !j["record"].is_object()) {
    p.Add("record", "a record {\"id\", \"properties\", …} is required");
  } else {
    Json rec = j["record"];
    rec.erase("object_type");
    b.record = ReadRecord(rec, "record", p);
    b.open_given = rec.contains("open") && !rec["open"].is_null();  // null: as left out
    if (b.record.id.empty()) p.Add("record.id", "a record needs an id");
  }
  if (type) b.record.object_type = *type;
  if (p.Object(j, "previous", "")) {
    b.previous = ToProperties(j["previous"]);
    if (b.event != core::Event::kUpdated) p.Add("previous", "\"previous\" is only for \"updated\" events");
  }
  if (p.Object(j, "target", "")) {
    const Json& t = j["target"];
    std::string id;
    if (p.String(t, "pool", "target", id)) {
      b.target = core::Target{core::Target::Kind::kPool, id};
    } else if (p.String(t, "rule", "target", id)) {
      b.target = core::Target{core::Target::Kind::kRule, id};
    }
    if (!b.target || id.empty() || t.size() != 1) p.Add("target", "a target is {\"pool\": ID} or {\"rule\": ID}");
    if (b.event != core::Event::kAssignRequested) {
      p.Add("target", "\"target\" is only for \"assign_requested\" events");
    }
  }
  p.String(j, "idempotency_key", "", b.idempotency_key);
  if (b.idempotency_key.size() > kMaxIdempotencyKey) {
    p.Add("idempotency_key", "at most " + std::to_string(kMaxIdempotencyKey) + " characters");
  } else if (auto why = ControlCharProblem(b.idempotency_key)) {
    p.Add("idempotency_key", *why);
  }
  p.Bool(j, "explain", "", b.explain);
  p.Bool(j, "dry_run", "", b.dry_run);
  std::string at;
  if (p.String(j, "at", "", at)) {
    b.at = ParseTime(at);
    if (!b.at) p.Add("at", "not an RFC 3339 time: \"" + at + "\"");
  }
  if (!p.empty()) return p.ToStatus();
  return b;
}

core::Request ToRequest(const AssignBody& body, core::Time now) {
  core::Request r;
  r.record = &body.record;
  r.open_given = body.open_given;
  r.previous = body.previous ? &*body.previous : nullptr;
  r.event = body.event;
  r.target = body.target;
  r.now = now;
  r.explain = body.explain;
  return r;
}

std::string CanonicalRequest(const Json& body) {
  Json copy = body;
  copy.erase("idempotency_key");
  copy.erase("explain");
  copy.erase("at");  // a simulated line's arrival time: a retry comes later with the same request
  if (auto it = copy.find("dry_run"); it != copy.end() && *it == false) copy.erase(it);
  if (auto rec = copy.find("record"); rec != copy.end() && rec->is_object()) {
    if (auto it = rec->find("open"); it != rec->end() && it->is_null()) rec->erase(it);
    for (const char* empty : {"owners", "links", "properties"}) {
      if (auto it = rec->find(empty); it != rec->end() && (it->empty() || it->is_null())) rec->erase(it);
    }
  }
  return copy.dump();
}

core::SimulatedRequest ToSimulated(const AssignBody& body, const Json& json, core::Time now) {
  core::SimulatedRequest s{ToRequest(body, now), body.dry_run, body.idempotency_key, {}};
  if (!body.idempotency_key.empty()) s.fingerprint = CanonicalRequest(json);
  return s;
}

Json WriteSimulationStep(const core::SimulationStep& step, const AssignBody& body) {
  if (!step.decision.ok()) return ErrorBody(step.decision.status());
  Json d = WriteDecision(*step.decision, body.explain);
  d["record_id"] = body.record.id;
  d["object_type"] = core::ToString(body.record.object_type);
  d["event"] = core::ToString(body.event);
  d["at"] = FormatTime(step.at);
  if (body.dry_run) d["dry_run"] = true;
  if (step.replayed) d["replayed"] = true;
  return d;
}

Json WriteTrace(const std::vector<core::TraceEntry>& trace) {
  using K = core::TraceEntry::Kind;
  Json list = Json::array();
  for (const core::TraceEntry& e : trace) {
    Json j;
    switch (e.kind) {
      case K::kRule:
        j = {{"step", "rule"}, {"rule", e.id}, {"matched", e.ok}};
        if (!e.ok) {
          j["failed_set"] = e.set;
          if (e.index >= 0) j["failed_index"] = e.index;
        }
        break;
      case K::kTarget: j = {{"step", "target"}, {"id", e.id}}; break;
      case K::kNoRule: j = {{"step", "no_rule"}}; break;
      case K::kMember:
        j = {{"step", "member"}, {"user", e.id}, {"chosen", e.ok}};
        if (e.skip) j["skipped"] = core::ToString(*e.skip);
        break;
      case K::kStrategy: j = {{"step", "strategy"}, {"id", e.id}}; break;
      case K::kFallback: j = {{"step", "fallback"}, {"user", e.id}, {"taken", e.ok}}; break;
      case K::kDefault: j = {{"step", "default"}, {"user", e.id}, {"taken", e.ok}}; break;
    }
    if (e.reason) j["reason"] = core::ToString(*e.reason);
    if (e.kind == K::kFallback || e.kind == K::kDefault) {
      if (e.skip) j["skipped"] = core::ToString(*e.skip);
    }
    j["detail"] = e.detail;
    list.push_back(std::move(j));
  }
  return list;
}

Json WriteDecision(const core::Decision& d, bool with_trace) {
  Json related = Json::array();
  for (const core::RelatedChange& rc : d.related) {
    related.push_back({{"object_type", core::ToString(rc.object_type)}, {"id", rc.id}, {"owners", rc.owners}});
  }
  Json j = {{"outcome", core::ToString(d.outcome)},
            {"owner", d.owner ? Json(*d.owner) : Json(nullptr)},
            {"rule", d.rule ? Json(*d.rule) : Json(nullptr)},
            {"strategy", d.strategy ? Json(*d.strategy) : Json(nullptr)},
            {"reason", d.reason ? Json(core::ToString(*d.reason)) : Json(nullptr)},
            {"related", related}};
  if (d.reason == core::Reason::kError) j["message"] = d.message;
  Json actions = Json::object();
  if (!d.tag.empty()) actions["tag"] = d.tag;
  if (!d.note.empty()) actions["note"] = d.note;
  if (d.notify) actions["notify"] = true;
  if (d.notify && !d.notify_message.empty()) actions["notify_message"] = d.notify_message;
  if (!actions.empty()) j["actions"] = actions;
  if (with_trace) j["trace"] = WriteTrace(d.trace);
  return j;
}

}  // namespace rota::io
