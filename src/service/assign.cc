// Decisions: POST /v1/assign and /v1/assign/batch, and the workspace bootstrap.
#include <algorithm>
#include <chrono>

#include "core/decide.h"
#include "io/assign_json.h"
#include "io/config_json.h"
#include "service/list_page.h"
#include "service/service.h"
#include "service/webhooks.h"

namespace rota::service {
namespace {

int64_t Unix(core::Time t) { return t.time_since_epoch().count(); }

// The body as its idempotency key compares it, hashed: the same key must come with the
// same request (io::CanonicalRequest says what counts as the same).
std::string RequestHash(const Json& body) { return Sha256Hex(io::CanonicalRequest(body)); }

// The workspace's webhooks, read once per batch.
Result<const std::vector<store::WebhookRow>*> BatchWebhooks(store::Tx& tx, BatchState& batch) {
  if (!batch.webhooks) {
    auto read = tx.Webhooks();
    if (!read.ok()) return read.status();
    batch.webhooks = std::move(read).value();
  }
  return &*batch.webhooks;
}

// The decision's webhook events, into the outbox of the same transaction; `changed` are
// the linked records whose owners the decision changed.
Status EmitDecisionEvents(store::Tx& tx, BatchState& batch, const core::Decision& d, const Json& answer,
                          const store::DecisionRow& row, const core::Record& record,
                          const std::vector<core::RelatedChange>& changed, core::Time now) {
  auto read = BatchWebhooks(tx, batch);
  if (!read.ok()) return read.status();
  const std::vector<store::WebhookRow>* hooks = *read;
  if (hooks->empty()) return Status::Ok();
  const int64_t now_ms = now.time_since_epoch().count() * 1000;
  Json data = answer;
  data["record_id"] = row.record_id;
  data["object_type"] = row.object_type;
  data["event"] = row.event;
  Status s = Emit(tx, *hooks, d.owner ? "decision.assigned" : "decision.unassigned", data, now_ms);
  if (s.ok() && d.notify && d.owner) {
    // The rule's text, or a sentence any chat or mail bridge can pass on as it is.
    std::string message = !d.notify_message.empty()
                              ? d.notify_message
                              : "New " + row.object_type + " " + row.record_id + " assigned to you";
    s = Emit(tx, *hooks, "owner.notified",
             Json{{"owner", *d.owner},
                  {"decision_id", row.id},
                  {"rule", d.rule ? Json(*d.rule) : Json(nullptr)},
                  {"message", message},
                  {"record", io::WriteRecord(record)}},
             now_ms);
  }
  for (const core::RelatedChange& rc : changed) {
    if (!s.ok()) break;
    auto linked = tx.FindRecord(rc.object_type, rc.id);
    if (linked) s = Emit(tx, *hooks, "record.updated", Json{{"record", io::WriteRecord(*linked)}, {"decision_id", row.id}}, now_ms);
  }
  return s;
}

// The owner, written back to the CRM the record came from: the record's, unless the CRM
// said it has that owner already (`crm_owner`), and each linked record's whose owners the
// decision changed (`changed`: rota's copy had others) to that owner alone (a CRM keeps one).
Status EmitWriteBacks(store::Tx& tx, const WriteBackTarget& wb, const core::Decision& d, const core::Record& record,
                      const std::vector<core::RelatedChange>& changed, const std::optional<std::string>& crm_owner,
                      const std::string& decision_id, core::Time now) {
  if (!d.owner) return Status::Ok();
  const int64_t now_ms = now.time_since_epoch().count() * 1000;
  Status s = crm_owner == d.owner ? OwnerKnown(tx, wb, record.object_type, record.id, *d.owner, decision_id,
                                                wb.crm_type, now_ms)
                                  : EmitWriteBack(tx, wb, record.object_type, record.id, *d.owner, decision_id,
                                                  wb.crm_type, now_ms);
  for (const core::RelatedChange& rc : changed) {
    if (!s.ok()) break;
    if (rc.owners == std::vector<std::string>{*d.owner}) {
      s = EmitWriteBack(tx, wb, rc.object_type, rc.id, *d.owner, decision_id, "", now_ms);
    }
  }
  return s;
}

}  // namespace

std::string SupersededBy(const std::string& decision_id) {
  return decision_id.empty() ? "superseded by an owner set by hand" : "superseded by decision " + decision_id;
}

Status OwnerKnown(store::Tx& tx, const WriteBackTarget& wb, core::ObjectType type, const std::string& id,
                  const std::string& owner, const std::string& decision_id, const std::string& crm_type,
                  int64_t now_ms) {
  // An earlier owner still waiting (or being sent) would land after it: write this one back
  // after it, instead of nothing.
  auto superseded =
      tx.SupersedeWriteBacks(wb.connector, store::WriteBackSubject(core::ToString(type), id), SupersededBy(decision_id));
  if (!superseded.ok()) return superseded.status();
  return *superseded > 0 ? EmitWriteBack(tx, wb, type, id, owner, decision_id, crm_type, now_ms) : Status::Ok();
}

Status EmitWriteBack(store::Tx& tx, const WriteBackTarget& wb, core::ObjectType type, const std::string& id,
                     const std::string& owner, const std::string& decision_id, const std::string& crm_type,
                     int64_t now_ms) {
  if (std::find(wb.types.begin(), wb.types.end(), type) == wb.types.end()) return Status::Ok();
  store::DeliveryRow row;
  row.id = NewId("wb_");
  row.connector = wb.connector;
  row.event = "owner.write_back";
  row.body = connectors::ToJson({std::string(core::ToString(type)), id, owner, decision_id, crm_type}).dump();
  row.next_attempt_at = now_ms;
  row.created_at = now_ms;
  row.subject = store::WriteBackSubject(core::ToString(type), id);
  // Its record's earlier write-backs still pending are not sent: the CRM's owner could
  // otherwise end up older than this one (a retry of an earlier one landing after it).
  auto superseded = tx.SupersedeWriteBacks(wb.connector, row.subject, SupersededBy(decision_id));
  return superseded.ok() ? tx.InsertDelivery(row) : superseded.status();
}

Status Service::Ready() {
  auto n = store_.CountWorkspaces();
  if (n.ok()) return Status::Ok();
  return Status(Code::kUnavailable, "not_ready", "the database does not answer: " + n.status().message());
}

Result<std::optional<std::string>> Service::Bootstrap(const std::string& secret) {
  auto n = store_.CountWorkspaces();
  if (!n.ok()) return n.status();
  if (*n > 0) return std::optional<std::string>();
  // The operator's chosen key, or a generated one, is the first admin key. One that no
  // `Authorization: Bearer` header can carry (spaces, control characters) would lock the
  // workspace out from the start. (A short one is taken, as API.md says; `rota serve` warns.)
  if (std::any_of(secret.begin(), secret.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7F; })) {
    return Status(Code::kInvalid, "bad_bootstrap_key",
                  "ROTA_BOOTSTRAP_KEY cannot hold spaces or control characters: no Authorization header could carry it");
  }
  auto key = CreateWorkspace("default", secret);
  if (!key.ok()) return key.status();
  if (!secret.empty()) return std::optional<std::string>();
  return std::optional<std::string>(key->secret);
}

Result<NewKey> Service::CreateWorkspace(const std::string& id, const std::string& first_secret) {
  if (id.empty() || id.size() > 64 || id.find_first_of(" /?#%\"\\") != std::string::npos) {
    return Status::Invalid("id", "a workspace id is 1–64 characters without spaces, slashes, ?, #, % or quotes");
  }
  Status s = store_.CreateWorkspace(id, StoredConfig(core::Config{}), Unix(clock_.Now()));
  if (!s.ok()) return s;
  return service::CreateKey(store_, id, Role::kAdmin, true, "first admin key", Unix(clock_.Now()), first_secret);
}

Result<Json> Service::CreateKey(const Principal& p, const Json& body) {
  io::Problems pr;
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  std::string role_name = "member", name;
  bool can_reassign = false;
  pr.String(body, "role", "", role_name);
  pr.String(body, "name", "", name);
  pr.Bool(body, "can_reassign", "", can_reassign);
  // A key is for the caller's workspace: {"workspace": …}, say, is refused, not ignored.
  pr.Unknown(body, {"role", "name", "can_reassign"}, "");
  auto role = ParseRole(role_name);
  if (!role) pr.Add("role", "role is admin, member or integration");
  if (!pr.empty()) return pr.ToStatus();
  auto k = service::CreateKey(store_, p.workspace, *role, can_reassign, name, Unix(clock_.Now()));
  if (!k.ok()) return k.status();
  return Json{{"id", k->row.id},         {"key", k->secret},
              {"role", k->row.role},     {"can_reassign", k->row.can_reassign},
              {"name", k->row.name},     {"created_at", io::FormatTime(core::Time(std::chrono::seconds(k->row.created_at)))}};
}

Result<Json> Service::ListKeys(const Principal& p, const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  auto rows = store_.ListKeys(p.workspace);
  if (!rows.ok()) return rows.status();
  Json items = Json::array();
  for (const store::KeyRow& k : *rows) {
    Json j = {{"id", k.id},
              {"role", k.role},
              {"can_reassign", k.can_reassign},
              {"name", k.name},
              {"created_at", io::FormatTime(core::Time(std::chrono::seconds(k.created_at)))},
              {"revoked", k.revoked_at.has_value()}};
    items.push_back(j);
  }
  return PageOf(ById(std::move(items)), page, /*by_id=*/true);
}

Status Service::RevokeKey(const Principal& p, const std::string& id) {
  return Retrying([&] { return store_.RevokeKey(id, p.workspace, Unix(clock_.Now())); });
}

void Service::RecordMetrics(const Json& decision, std::chrono::steady_clock::time_point start) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Json& strategy = decision["strategy"];
  metrics_.Decision(decision["outcome"].get<std::string>(), strategy.is_string() ? strategy.get<std::string>() : "",
                    secs);
}

// The answer to the caller: a replayed decision is not marked as such.
static Result<Json> Answered(Result<Json> r) {
  if (r.ok()) r->erase("replayed");
  return r;
}

Result<Json> Service::Assign(const Principal& p, const Json& body, const std::string& idempotency_header,
                             const FromCrm& crm) {
  auto start = std::chrono::steady_clock::now();
  auto prepared = Prepare(p, body, idempotency_header);
  if (!prepared.ok()) return KeyFirst(p, prepared.status());
  prepared->crm = crm;
  if (prepared->body.dry_run) return DryRun(p.workspace, *prepared);
  const PreparedAssign& pa = *prepared;
  auto results = committer_.Run(p.workspace, {[this, &p, &pa](store::Tx& tx, BatchState& batch) {
                                  return DecideAndStore(tx, batch, p.workspace, pa);
                                }});
  return Decided(std::move(results[0]), start);
}

void Service::AssignThen(const Principal& p, const Json& body, const std::string& idempotency_header,
                         std::function<void(Result<Json>)> done) {
  auto start = std::chrono::steady_clock::now();
  auto prepared = Prepare(p, body, idempotency_header);
  if (!prepared.ok()) return done(KeyFirst(p, prepared.status()));
  if (prepared->body.dry_run) return done(DryRun(p.workspace, *prepared));
  auto pa = std::make_shared<const PreparedAssign>(std::move(prepared).value());
  committer_.Submit(
      p.workspace,
      [this, workspace = p.workspace, pa](store::Tx& tx, BatchState& batch) {
        return DecideAndStore(tx, batch, workspace, *pa);
      },
      [this, start, done = std::move(done)](Result<Json> r) { done(Decided(std::move(r), start)); });
}

// A stored decision's answer to its caller, counted in the metrics when it was decided
// now: a replayed decision is not marked as such.
Result<Json> Service::Decided(Result<Json> r, std::chrono::steady_clock::time_point start) {
  if (r.ok() && !r->value("replayed", false) && !r->contains("ignored")) RecordMetrics(*r, start);
  return Answered(std::move(r));
}

Result<Service::PreparedAssign> Service::Prepare(const Principal& p, const Json& body,
                                                 const std::string& idempotency_header) {
  auto parsed = io::ReadAssignBody(body);
  if (!parsed.ok()) return parsed.status();
  io::AssignBody& b = *parsed;
  if (b.at) return Status::Invalid("at", "\"at\" is only for `rota simulate`; the server decides at its own time");
  if (p.role == Role::kMember) {
    if (b.event != core::Event::kAssignRequested || !b.target || !p.can_reassign) {
      return Status::Forbidden(
          "a member key may only request assignment to a pool or rule, and only with can_reassign");
    }
    // Decided on the record as rota knows it: a member may not write a record's data
    // (PUT /v1/records is not theirs), which a decision would store.
    const core::Record& r = b.record;
    if (!r.properties.empty() || !r.owners.empty() || !r.links.empty() || !r.tags.empty() || b.open_given) {
      return Status::Forbidden(
          "a member key requests assignment of a record as rota knows it: send only record.id, not its "
          "properties, owners, links, tags or open");
    }
  }
  if (!idempotency_header.empty()) {
    if (idempotency_header.size() > io::kMaxIdempotencyKey) {  // as in the body: a retry may move it there
      return Status::Invalid("idempotency_key", "the Idempotency-Key header has at most " +
                                                    std::to_string(io::kMaxIdempotencyKey) + " characters");
    }
    if (auto why = io::ControlCharProblem(idempotency_header)) return Status::Invalid("idempotency_key", *why);
    if (!b.idempotency_key.empty() && b.idempotency_key != idempotency_header) {
      return Status::Invalid("idempotency_key", "the Idempotency-Key header and the body's idempotency_key differ");
    }
    b.idempotency_key = idempotency_header;
  }
  // The body is compared only when a decision is asked for again by its idempotency key:
  // no key, no hash (a copy, a dump and a SHA-256 of the body saved per decision).
  std::string hash = b.idempotency_key.empty() ? std::string() : RequestHash(body);
  std::string id = b.dry_run ? std::string() : NewId("dec_");  // a dry run stores nothing
  return PreparedAssign{
      .body = std::move(b), .hash = std::move(hash), .now = clock_.Now(), .crm = {}, .id = std::move(id), .who = p};
}

static Json Answer(const core::Decision& d, const io::AssignBody& b, const std::string& id, core::Time now) {
  Json j = io::WriteDecision(d, b.explain);
  j["decision_id"] = id.empty() ? Json(nullptr) : Json(id);
  j["at"] = io::FormatTime(now);
  return j;
}

// For a decision that did not go to its strategy's choice (fallback, default, unassigned),
// its trace even where the caller did not ask for one, kept with the stored decision as
// `kept_trace`: why a CRM's record went unassigned is what the admin asks next, from the
// history (SPEC §9 "every decision can return its trace"). The core is pure, so deciding
// again with the trace on, on the same state and record, gives the same decision: called
// before the decision's own writes (its pool pointer, its record, linked records' owners),
// which would change what a second decision sees.
static std::optional<Json> KeptTrace(const core::Workspace& ws, const core::StateView& state,
                                     const core::Request& request, const core::Decision& d) {
  if (request.explain || d.outcome == core::Outcome::kAssigned) return std::nullopt;
  core::Request traced = request;
  traced.explain = true;
  auto again = core::Decide(ws, state, traced);
  if (!again.ok()) return std::nullopt;
  return io::WriteTrace(again->trace);
}

// The stored decision: the answer and, where there is one, the kept trace. A replay
// answers as the first call was answered, without it.
static std::string StoredBody(const Json& answer, const std::optional<Json>& kept_trace) {
  if (!kept_trace) return answer.dump();
  Json body = answer;
  body[kKeptTrace] = *kept_trace;
  return body.dump();
}

static Status IdempotencyConflict(const std::string& key) {
  return Status(Code::kConflict, "idempotency_conflict", "idempotency key \"" + key + "\" was used with a different request");
}

Result<Json> Service::DryRun(const std::string& workspace, const PreparedAssign& pa) {
  auto tx = store_.BeginRead(workspace);
  if (!tx.ok()) return tx.status();
  if (Status s = ConfirmKeyOnce(**tx, nullptr, pa.who); !s.ok()) return s;
  auto ws = snapshots_.Get(**tx, workspace);
  if (!ws.ok()) return ws.status();
  return DecideDry(**tx, **ws, pa);
}

Status Service::LoadBatchWorkspace(store::Tx& tx, BatchState& batch, const std::string& workspace) {
  if (batch.workspace) return Status::Ok();  // read once per transaction
  auto snapshot = snapshots_.Get(tx, workspace);
  if (!snapshot.ok()) return snapshot.status();
  batch.workspace = *snapshot;
  return Status::Ok();
}

Status Service::ConfirmKeyOnce(store::Tx& tx, BatchState* batch, const Principal& p) {
  if (p.unconfirmed_key.empty()) return Status::Ok();
  if (batch && std::find(batch->confirmed_keys.begin(), batch->confirmed_keys.end(), p.unconfirmed_key) !=
                   batch->confirmed_keys.end()) {
    return Status::Ok();
  }
  Status s = ConfirmKey(tx, p);
  if (s.code() == Code::kUnauthenticated) known_keys_.Forget(p.unconfirmed_key);  // read afresh next time
  if (s.ok() && batch) batch->confirmed_keys.push_back(p.unconfirmed_key);
  return s;
}

Status Service::KeyFirst(const Principal& p, const Status& error) {
  if (p.unconfirmed_key.empty() || error.ok()) return error;
  auto tx = store_.BeginRead(p.workspace);
  if (!tx.ok()) return tx.status();
  Status s = ConfirmKeyOnce(**tx, nullptr, p);
  return s.ok() ? error : s;
}

Result<Json> Service::DecideDry(store::Tx& tx, const core::Workspace& ws, const PreparedAssign& pa) {
  // A key already used was used by a stored decision, never by a dry run: another request.
  if (!pa.body.idempotency_key.empty()) {
    auto found = tx.FindDecisionByKey(pa.body.idempotency_key);
    if (!found.ok()) return found.status();
    if (*found) return IdempotencyConflict(pa.body.idempotency_key);
  }
  const core::Record& sent = pa.body.record;
  core::Record record = core::RecordAsKnown(tx.FindRecord(sent.object_type, sent.id), sent, pa.body.open_given);
  core::Request request = io::ToRequest(pa.body, pa.now);
  request.record = &record;
  auto d = core::Decide(ws, tx, request);
  if (!d.ok()) return d.status();
  Json j = Answer(*d, pa.body, "", pa.now);
  j["dry_run"] = true;
  return j;
}

Result<Json> Service::DecideAndStore(store::Tx& tx, BatchState& batch, const std::string& workspace,
                                     const PreparedAssign& pa) {
  // Nothing, not even a replay, for a key revoked since it was remembered.
  if (Status s = ConfirmKeyOnce(tx, &batch, pa.who); !s.ok()) return s;
  const io::AssignBody& b = pa.body;
  const std::string& hash = pa.hash;
  if (!b.idempotency_key.empty()) {
    auto found = tx.FindDecisionByKey(b.idempotency_key);
    if (!found.ok()) return found.status();
    if (*found) {
      if ((*found)->request_hash != hash) return IdempotencyConflict(b.idempotency_key);
      Json j = Json::parse((*found)->body);
      j.erase(kKeptTrace);
      j["replayed"] = true;
      return j;
    }
  }
  // Decisions are stamped in storage order: across nodes (and threads) a clock that
  // reads a little behind the last stored decision's does not put this one before it.
  if (!batch.last_decision_at) {
    auto last = tx.LastDecisionAt();
    if (!last.ok()) return last.status();
    batch.last_decision_at = *last;
  }
  const core::Time now = std::max(pa.now, core::Time(std::chrono::seconds(*batch.last_decision_at)));
  if (Status s = LoadBatchWorkspace(tx, batch, workspace); !s.ok()) return s;
  const std::shared_ptr<const core::Workspace>* ws = &batch.workspace;
  // Decided on the record as rota knows it, and kept so.
  const std::optional<core::Record> known = tx.FindRecord(b.record.object_type, b.record.id);
  core::Record rec = core::RecordAsKnown(known, b.record, b.open_given);
  // The CRM's owner (a deal's creator, say) where rota knows none, so that `related_owner`
  // finds a linked organization's owner and `max_open` and `least_loaded` count it. Where
  // rota knows owners its copy holds: an update racing rota's write-back does not undo it.
  if (pa.crm.crm_owner && rec.owners.empty()) rec.owners = {*pa.crm.crm_owner};
  // Where the owner goes back: this call's connector, which the record then remembers, else
  // the connector it came through (a decision asked from the API or the console).
  std::optional<WriteBackTarget> write_back = pa.crm.write_back;
  std::optional<std::string> crm_has = pa.crm.crm_owner;  // no write-back of the owner the CRM has
  if (write_back) {
    rec.source_connector = write_back->connector;
    rec.source_type = write_back->crm_type;
  } else {
    auto source = SourceWriteBack(tx, rec);
    if (!source.ok()) return source.status();
    write_back = *source;
    if (write_back && !rec.owners.empty()) crm_has = rec.owners.front();  // as rota last knew it
  }
  core::Request request = io::ToRequest(b, now);
  request.record = &rec;
  auto decided = core::Decide(**ws, tx, request);
  if (!decided.ok()) return decided.status();
  const core::Decision& d = *decided;
  const std::string& id = pa.id;

  Status s;
  if (pa.crm.untaken_changes_decide_nothing && !d.rule && !rec.owners.empty() &&
      (b.event == core::Event::kUpdated || b.event == core::Event::kBulk)) {
    if (s = tx.PutRecord(rec, now.time_since_epoch().count()); !s.ok()) return s;  // the CRM's properties, open
    // Owned now where rota knew no owner: assigned by hand in the CRM, so it leaves the
    // unassigned queue (SPEC §6). One the CRM owned all along stays listed.
    if (!known || known->owners.empty()) {
      if (s = tx.RemoveUnassigned(std::string(core::ToString(rec.object_type)), rec.id); !s.ok()) return s;
    }
    auto hooks = BatchWebhooks(tx, batch);
    if (!hooks.ok()) return hooks.status();
    const int64_t now_ms = now.time_since_epoch().count() * 1000;
    if (s = Emit(tx, **hooks, "record.updated", Json{{"record", io::WriteRecord(rec)}}, now_ms); !s.ok()) return s;
    return Json{{"ignored", kUntakenChange}, {"owners", rec.owners}};  // the owners it keeps
  }
  const std::optional<Json> kept_trace = KeptTrace(**ws, tx, request, d);  // before the writes below
  for (const core::PoolAdvance& advance : d.changes.pools) {
    if (s = tx.SetPoolPointer(advance.pool, advance.position); !s.ok()) return s;
  }
  for (const core::KeyPick& k : d.changes.keys) {
    if (s = tx.SaveKeyPick(k); !s.ok()) return s;
  }
  for (const core::UnkeyedValue& u : d.changes.unkeyed) {
    if (s = tx.AddUnkeyed(u.distribution, core::Fold(u.value), u.value); !s.ok()) return s;
  }
  core::ApplyOwner(d, rec);
  if (!d.note.empty()) core::AddNote(rec, {Unix(now), d.note, id});
  if (s = tx.PutRecord(rec, now.time_since_epoch().count()); !s.ok()) return s;
  std::vector<core::RelatedChange> changed;  // linked records whose owners this changes
  for (const core::RelatedChange& rc : d.related) {
    core::Record linked;
    linked.object_type = rc.object_type;
    linked.id = rc.id;
    auto known = tx.FindRecord(rc.object_type, rc.id);
    if (known) linked = *known;
    if (!known || known->owners != rc.owners) {
      linked.owners = rc.owners;
      if (s = tx.PutRecord(linked, Unix(now)); !s.ok()) return s;
      changed.push_back(rc);
    }
    if (s = tx.RemoveUnassigned(std::string(core::ToString(rc.object_type)), rc.id); !s.ok()) return s;
  }
  Json j = Answer(d, b, id, now);
  store::DecisionRow row;
  row.id = id;
  row.at = Unix(now);
  row.event = std::string(core::ToString(b.event));
  row.object_type = std::string(core::ToString(b.record.object_type));
  row.record_id = b.record.id;
  row.rule = d.rule;
  row.strategy = d.strategy;
  row.outcome = std::string(core::ToString(d.outcome));
  row.owner = d.owner;
  if (d.reason) row.reason = std::string(core::ToString(*d.reason));
  if (d.rule && d.strategy == "distribution") {
    if (const core::CompiledRule* cr = (*ws)->FindRule(*d.rule)) row.distribution = cr->rule->assign.ref;
  }
  if (!d.changes.keys.empty()) row.key_value = d.changes.keys.front().value;
  row.body = StoredBody(j, kept_trace);
  row.idempotency_key = b.idempotency_key;
  row.request_hash = hash;
  if (s = tx.InsertDecision(row); !s.ok()) return s;
  batch.last_decision_at = row.at;
  if (d.outcome == core::Outcome::kUnassigned) {
    s = tx.PutUnassigned({row.object_type, row.record_id, *row.reason, id, row.at});
  } else {
    s = tx.RemoveUnassigned(row.object_type, row.record_id);
  }
  if (!s.ok()) return s;
  if (s = EmitDecisionEvents(tx, batch, d, j, row, rec, changed, now); !s.ok()) return s;
  if (write_back) {
    if (s = EmitWriteBacks(tx, *write_back, d, rec, changed, crm_has, id, now); !s.ok()) return s;
  }
  return j;  // committed, with the rest of its group, by GroupCommit
}

Result<Json> Service::AssignBatch(const Principal& p, const Json& body) {
  if (!body.is_object() || !body.contains("items") || !body["items"].is_array()) {
    return Status::Invalid("items", "a batch is {\"items\": [assign bodies…]}");
  }
  const Json& items = body["items"];
  if (items.size() > kMaxBatch) {
    return Status::Invalid("items", "at most " + std::to_string(kMaxBatch) + " items per batch, got " +
                                        std::to_string(items.size()));
  }
  // Every valid item is decided in order and committed together (group commit); a bad
  // item fails alone, with its error in its place.
  auto start = std::chrono::steady_clock::now();
  std::vector<std::optional<Result<Json>>> results(items.size());
  std::vector<PreparedAssign> prepared;
  std::vector<size_t> where;
  prepared.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto pa = Prepare(p, items[i], "");
    if (!pa.ok()) {
      results[i] = pa.status();
    } else {
      prepared.push_back(std::move(pa).value());
      where.push_back(i);
    }
  }
  // Dry runs alone need no write; beside stored items, each dry run is decided in its
  // place, on the state the items before it leave.
  const bool stores = std::any_of(prepared.begin(), prepared.end(), [](const PreparedAssign& pa) { return !pa.body.dry_run; });
  std::vector<GroupCommit::Work> works;
  for (const PreparedAssign& pa : prepared) {
    if (pa.body.dry_run) {
      works.push_back([this, &p, &pa](store::Tx& tx, BatchState& batch) -> Result<Json> {
        if (Status s = ConfirmKeyOnce(tx, &batch, pa.who); !s.ok()) return s;
        if (Status s = LoadBatchWorkspace(tx, batch, p.workspace); !s.ok()) return s;
        return DecideDry(tx, *batch.workspace, pa);
      });
    } else {
      works.push_back(
          [this, &p, &pa](store::Tx& tx, BatchState& batch) { return DecideAndStore(tx, batch, p.workspace, pa); });
    }
  }
  std::vector<Result<Json>> decided;
  if (stores) {
    decided = committer_.Run(p.workspace, std::move(works));
  } else {
    for (PreparedAssign& pa : prepared) decided.push_back(DryRun(p.workspace, pa));
  }
  for (size_t k = 0; k < decided.size(); ++k) {
    if (decided[k].ok() && !decided[k]->value("replayed", false) && !decided[k]->value("dry_run", false)) {
      RecordMetrics(*decided[k], start);
    }
    results[where[k]] = Answered(std::move(decided[k]));
  }
  Json decisions = Json::array();
  for (auto& r : results) decisions.push_back(r->ok() ? **r : io::ErrorBody(r->status()));
  return Json{{"decisions", decisions}};
}

}  // namespace rota::service
