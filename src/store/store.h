// The one Store interface: workspaces, keys, configuration, rotation state, records,
// decisions and the unassigned queue. Implementations (sqlite/, later postgres/) keep
// every SQL detail to themselves. Every call is scoped to one workspace.
//
// Thread safety: a Store is safe to use from many threads; a Tx belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/state.h"
#include "core/status.h"

namespace rota::store {

struct KeyRow {
  std::string id;
  std::string workspace;
  std::string role;  // admin, member, integration
  bool can_reassign = false;
  std::string name;
  std::string hash;  // SHA-256 of the secret, hex
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;
};

// A stored decision, as history lists it.
struct DecisionRow {
  int64_t seq = 0;  // storage order
  std::string id;
  std::string workspace;
  int64_t at = 0;  // unix seconds
  std::string event;
  std::string object_type;
  std::string record_id;
  std::optional<std::string> rule;
  std::optional<std::string> strategy;
  std::string outcome;
  std::optional<std::string> owner;
  std::optional<std::string> reason;
  std::string body;  // the decision's JSON as answered (with trace when explained)
  std::string idempotency_key;
  std::string request_hash;
  std::optional<std::string> distribution;  // the distribution whose key (or default) chose
  std::optional<std::string> key_value;     // the folded value whose key picked
};

struct HistoryFilter {
  std::optional<int64_t> from, to;  // [from, to)
  std::optional<std::string> object_type, event, rule, owner, outcome;
  std::optional<int64_t> before_seq;  // cursor: rows with seq < this
  int limit = 100;
};

struct UnassignedRow {
  std::string object_type;
  std::string record_id;
  std::string reason;
  std::string decision_id;
  int64_t at = 0;
};

struct WebhookRow {
  std::string id;
  std::string url;
  std::vector<std::string> events;
  std::string secret;
  int64_t created_at = 0;
};

// A CRM connector: its settings (JSON, without secrets) and its credentials, sealed
// (encrypted) by the service before they reach the store.
struct ConnectorRow {
  std::string id;
  std::string kind;     // hubspot, pipedrive, generic
  std::string doc;      // the connector's settings as JSON, credentials left out
  std::string secrets;  // the sealed credentials
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// One event for one webhook, or one write-back for one connector, from the outbox.
// Times in milliseconds.
struct DeliveryRow {
  int64_t seq = 0;
  std::string id;  // the delivery id receivers de-duplicate on
  std::string workspace;
  std::string webhook;    // empty for a connector's write-back
  std::string connector;  // empty for a webhook's event
  std::string event;
  std::string body;
  std::string status;  // pending, delivered, failed, superseded (write-backs)
  int64_t attempts = 0;
  int64_t next_attempt_at = 0;
  std::optional<int64_t> last_status;
  std::string last_error;
  int64_t created_at = 0;
  std::optional<int64_t> delivered_at;
  // A write-back's record (WriteBackSubject); empty for a webhook's event.
  std::string subject;
  // For the worker: where and how to send it (a webhook's url and secret, or the
  // connector as it is now).
  std::string url;
  std::string secret;
  std::optional<ConnectorRow> target;
};

// The record a write-back sets the owner of: object type and id, separated by U+001F.
inline std::string WriteBackSubject(std::string_view object_type, std::string_view record_id) {
  std::string s(object_type);
  s += '\x1f';
  s += record_id;
  return s;
}

// A database whose schema a newer rota wrote (`version`, past the `known` migrations of
// this one) is refused, never written to: this rota's statements could damage what it
// does not know. Downgrading is restoring the backup taken before the upgrade.
inline Status NewerSchema(int64_t version, size_t known) {
  return Status(Code::kInvalid, "newer_schema",
                "the database's schema is version " + std::to_string(version) + ", written by a newer rota; this one "
                "knows versions up to " + std::to_string(known) +
                    ": run that newer rota, or restore the backup taken before the upgrade");
}

// A workspace keeps an admin key: revoking its last one would leave nobody able to change
// its configuration or make keys through the API.
inline Status LastAdminKey(const std::string& id) {
  return Status(Code::kConflict, "last_admin_key",
                "key \"" + id + "\" is its workspace's last admin key: create another admin key before revoking this one");
}

// The answer to a retry of a write-back that a later decision on the same record made
// obsolete (`why`): sending it could write an older owner over a newer one.
inline Status Superseded(const std::string& id, const std::string& why) {
  return Status(Code::kConflict, "superseded",
                "write-back \"" + id + "\" is not sent again: " + why +
                    ", and it would write an older owner over a newer one");
}

// Why a retry of write-back row `status` is refused: a later write-back of its record
// (`later`, its id, or empty), or the row superseded already (its `last_error`); nullopt
// when it may be sent again.
inline std::optional<Status> RefusedRetry(const std::string& id, const std::string& status,
                                          const std::string& last_error, const std::string& later) {
  if (!later.empty()) return Superseded(id, "write-back \"" + later + "\" of the same record came after it (retry that one)");
  if (status == "superseded") return Superseded(id, last_error);
  return std::nullopt;
}

// Where a delivery goes, as ClaimDeliveries' `busy` names it: workspace, webhook and
// connector, separated by U+001F.
inline std::string DeliveryDestination(const DeliveryRow& d) {
  return d.workspace + '\x1f' + d.webhook + '\x1f' + d.connector;
}

// What a delivery attempt came to.
struct AttemptResult {
  enum class State { kDelivered, kRetry, kFailed } state = State::kRetry;
  std::optional<int64_t> http_status;
  std::string error;
  int64_t next_attempt_at = 0;  // kRetry
  int64_t at = 0;
};

// An attempt to be retried that holds its destination until then (ClaimDeliveries): the
// receiver did not answer, or asked for a pause (429 Too Many Requests, 503 Service
// Unavailable), or a CRM refused the credentials of a connector (`write_back`: a
// connector's row) with a 401. Any other answer holds nothing: the next row may well be
// taken (a webhook's 401 among them).
inline bool HoldsDestination(const AttemptResult& r, bool write_back) {
  return r.state == AttemptResult::State::kRetry &&
         (!r.http_status || *r.http_status == 429 || *r.http_status == 503 || (write_back && *r.http_status == 401));
}
// The same, as SQL over an outbox row `h` (both stores; a connector's rows have no
// webhook). The `outbox_holding` index (as migration 10 made it) repeats it term for term
// (SQLite uses a partial index only so): change both. A row superseded while it held its destination (SupersedeWriteBacks) holds
// it still: the receiver's pause is kept by the rows after it.
inline constexpr const char* kHoldingRowSql =
    "h.status IN ('pending', 'superseded') AND h.attempts>0 AND (h.last_status IS NULL OR h.last_status IN (429, 503) "
    "OR (h.last_status=401 AND h.webhook=''))";
// A row of destination `d` being sent now, by any node (its lease not over), as SQL over
// an outbox row `l` (both stores, through migration 9's `outbox_leased`): no claim takes
// that destination meanwhile, so a receiver gets one delivery at a time from all nodes.
// `?1`/`$1` is the time of the claim.
inline constexpr const char* kLeasedRowSql =
    "l.workspace=d.workspace AND l.webhook=d.webhook AND COALESCE(l.connector, '')=d.connector AND l.lease_until>0 "
    "AND l.lease_until>";

struct ReportFilter {
  std::optional<int64_t> from, to;
  std::optional<std::string> object_type, rule, distribution;
};

struct OwnerCount {
  std::string owner;
  std::string value;  // key value for per-key counts
  int64_t count = 0;
};

struct KeyStateRow {
  std::string value;  // folded
  std::string user;
  int64_t credit = 0;
  int64_t assigned = 0;
};

struct UnkeyedRow {
  std::string value;
  int64_t seen = 0;
};

// A transaction on one workspace. Reads see the transaction's snapshot; a write
// transaction holds the database's write lock until Commit() or destruction (rollback).
// As a core::StateView it answers decide()'s questions from the database.
class Tx : public core::StateView {
 public:
  ~Tx() override = default;
  virtual Status Commit() = 0;
  // A unit inside the transaction that can fail alone (group commit: one decision of
  // many). Savepoints do not nest.
  virtual Status BeginUnit() = 0;
  virtual Status EndUnit() = 0;       // keeps the unit's writes
  virtual Status RollbackUnit() = 0;  // undoes them, the transaction goes on

  // Configuration: the workspace's document (storage form) and its version.
  virtual Result<std::pair<int64_t, std::string>> LoadConfig() = 0;
  virtual Result<int64_t> ConfigVersion() = 0;
  virtual Status SaveConfig(int64_t version, const std::string& doc) = 0;

  // Rotation state.
  // Moving the pointer forgets the pool's left member.
  virtual Status SetPoolPointer(const std::string& pool, int64_t position) = 0;
  virtual Status DeletePoolState(const std::string& pool) = 0;
  // The member the pool served last, once it has left the pool ("" when there is none,
  // or the pointer has moved since): service/reconcile.cc serves it after the others
  // should it rejoin. Setting it keeps the pointer; a pool never served has none.
  virtual Result<std::string> PoolLeftMember(const std::string& pool) = 0;
  virtual Status SetPoolLeftMember(const std::string& pool, const std::string& user) = 0;
  virtual Status SaveKeyPick(const core::KeyPick& pick) = 0;
  virtual Status ResetKeyState(const std::string& distribution, const std::optional<std::string>& folded_value) = 0;
  virtual Result<std::vector<KeyStateRow>> KeyState(const std::string& distribution) = 0;
  virtual Status AddUnkeyed(const std::string& distribution, const std::string& folded, const std::string& value) = 0;
  virtual Status RemoveUnkeyed(const std::string& distribution, const std::optional<std::string>& folded) = 0;
  virtual Result<std::vector<UnkeyedRow>> Unkeyed(const std::string& distribution) = 0;

  // Records.
  virtual Status PutRecord(const core::Record& record, int64_t at) = 0;

  // The API key with this hash as this transaction sees it (Store::FindKeyByHash outside
  // one): a decision confirms in its own transaction the key it was asked with
  // (service::ConfirmKey).
  virtual Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) = 0;

  // Decisions and the unassigned queue.
  virtual Status InsertDecision(const DecisionRow& row) = 0;
  virtual Result<std::optional<DecisionRow>> FindDecisionByKey(const std::string& idempotency_key) = 0;
  virtual Result<std::vector<DecisionRow>> History(const HistoryFilter& filter) = 0;
  // The decisions about one record, newest first.
  virtual Result<std::vector<DecisionRow>> RecordDecisions(const std::string& object_type, const std::string& id,
                                                           int limit) = 0;
  virtual Status PutUnassigned(const UnassignedRow& row) = 0;
  virtual Status RemoveUnassigned(const std::string& object_type, const std::string& record_id) = 0;
  virtual Result<std::vector<UnassignedRow>> ListUnassigned(const std::optional<std::string>& object_type,
                                                            const std::optional<std::string>& after,
                                                            int limit) = 0;
  virtual Result<int64_t> CountDecisions() = 0;
  // The time of the workspace's latest stored decision (unix seconds), 0 when none: a
  // new decision is never stamped earlier, so history's time order is storage order.
  virtual Result<int64_t> LastDecisionAt() = 0;
  // Decisions older than `before` (unix seconds) removed, except those in [keep_from,
  // keep_to) (none when equal); rotation state untouched. Their pre-counted reports
  // (decision_counts) go only where older than `counts_before` (at most `before`), so that a
  // report can outlive the history (this month's figure, SPEC §8). The kept decisions are
  // the part of an hour a report window starts in (a month that starts on a half hour),
  // which the hour's count cannot split. At most `limit` decisions go, the oldest first
  // (a large purge is made of several transactions, so that decisions need not wait for
  // it); the counts are purged by the call that removes fewer than `limit` (until then,
  // reports still count the decisions gone: an interrupted purge loses no count).
  virtual Result<int64_t> PurgeDecisions(int64_t before, int64_t counts_before, int64_t keep_from, int64_t keep_to,
                                         int64_t limit) = 0;

  // Reports: decisions that gave an owner, per owner (and per key value).
  virtual Result<std::vector<OwnerCount>> CountByOwner(const ReportFilter& f) = 0;
  virtual Result<std::vector<OwnerCount>> CountByKey(const ReportFilter& f) = 0;
  // Decisions per outcome (OwnerCount::owner holds the outcome).
  virtual Result<std::vector<OwnerCount>> CountByOutcome(const ReportFilter& f) = 0;
  virtual Result<int64_t> CountUnassigned() = 0;

  // Webhooks and their outbox.
  virtual Result<std::vector<WebhookRow>> Webhooks() = 0;
  virtual Status PutWebhook(const WebhookRow& w) = 0;  // Conflict when the id is taken
  virtual Status DeleteWebhook(const std::string& id) = 0;  // NotFound
  virtual Status InsertDelivery(const DeliveryRow& d) = 0;
  virtual Result<std::vector<DeliveryRow>> Deliveries(const std::string& webhook,
                                                      std::optional<int64_t> before_seq, int limit) = 0;
  // Makes a delivery due now again (a re-send); NotFound when unknown.
  virtual Status RetryDelivery(const std::string& webhook, const std::string& id, int64_t now_ms) = 0;
  // A connector's write-back sent again (pending now), as RetryDelivery does a webhook's;
  // Superseded when a later write-back of the same record (subject) exists.
  virtual Status RetryWriteBack(const std::string& connector, const std::string& id, int64_t now_ms) = 0;
  // The pending write-backs of `subject` to `connector` made before now are not sent:
  // status superseded, `why` as their last error; how many. (A row in flight keeps its
  // attempt; its result is then not recorded. A claimed row not yet tried is not tried.)
  virtual Result<int64_t> SupersedeWriteBacks(const std::string& connector, const std::string& subject,
                                              const std::string& why) = 0;

  // CRM connectors and their write-backs (outbox rows with `connector` set).
  virtual Result<std::vector<ConnectorRow>> Connectors() = 0;
  virtual Result<std::optional<ConnectorRow>> FindConnector(const std::string& id) = 0;
  virtual Status InsertConnector(const ConnectorRow& c) = 0;  // Conflict when the id is taken
  // NotFound. The connector's write-backs held by a refusal of its credentials (401) are
  // due at once: the new ones may be accepted.
  virtual Status UpdateConnector(const ConnectorRow& c) = 0;
  // NotFound; pending write-backs of the connector fail with it.
  virtual Status DeleteConnector(const std::string& id) = 0;
  virtual Result<std::vector<DeliveryRow>> ConnectorDeliveries(const std::string& connector,
                                                               std::optional<int64_t> before_seq, int limit) = 0;
  // One of a connector's write-backs by id; nullopt when it has none so named.
  virtual Result<std::optional<DeliveryRow>> FindWriteBack(const std::string& connector, const std::string& id) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Workspaces and keys (not scoped: used by the CLI and authentication).
  virtual Result<bool> WorkspaceExists(const std::string& id) = 0;
  virtual Result<int64_t> CountWorkspaces() = 0;
  // Creates the workspace with an empty configuration; Conflict when it exists.
  virtual Status CreateWorkspace(const std::string& id, const std::string& empty_doc, int64_t at) = 0;
  virtual Status CreateKey(const KeyRow& key) = 0;
  virtual Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) = 0;
  // All keys, or one workspace's.
  virtual Result<std::vector<KeyRow>> ListKeys(const std::optional<std::string>& workspace) = 0;
  // NotFound when there is no such key (in that workspace, when given); LastAdminKey (and
  // nothing revoked) when it is its workspace's last admin key not revoked.
  virtual Status RevokeKey(const std::string& id, const std::optional<std::string>& workspace, int64_t at) = 0;

  virtual Result<std::vector<std::string>> ListWorkspaces() = 0;

  // The delivery worker, across workspaces: claims up to `limit` due deliveries of one
  // destination (DeliveryDestination: a webhook or a connector), the one whose oldest due
  // delivery is oldest, leaving out the destinations in `busy`, those with a row leased
  // (being sent, by any node: kLeasedRowSql) and those held: a
  // destination with a pending row whose last attempt holds it (HoldsDestination: no answer,
  // 429 or 503) and whose retry is still ahead waits until that retry, its other rows with it.
  // Rows come in order, each leased for `lease_ms` (not handed out again until the lease
  // ends). Then records each attempt (given `leased_until`, only while the claim that leased
  // the row until then still holds it and the row is pending; otherwise only that lease
  // ends), or hands rows back untried: the lease of those the claim that leased them until
  // `leased_until` still holds ends (pending ones are due again, their attempts uncounted).
  virtual Result<std::vector<DeliveryRow>> ClaimDeliveries(int64_t now_ms, int64_t lease_ms, int limit,
                                                           const std::vector<std::string>& busy = {}) = 0;
  // (`claimed_due`: the row's next_attempt_at as claimed; a re-send asked meanwhile, which
  // makes it due again now, then keeps the row pending rather than take this attempt's end.)
  virtual Status FinishAttempt(const std::string& delivery_id, const AttemptResult& r,
                               std::optional<int64_t> leased_until = std::nullopt,
                               std::optional<int64_t> claimed_due = std::nullopt) = 0;
  virtual Status ReleaseDeliveries(const std::vector<std::string>& delivery_ids, int64_t leased_until) = 0;
  // Whether the claim that leased row `delivery_id` until `leased_until` still holds it and
  // the row is still to be sent (not superseded since, say).
  virtual Result<bool> StillClaimed(const std::string& delivery_id, int64_t leased_until) = 0;

  virtual Result<std::unique_ptr<Tx>> BeginWrite(const std::string& workspace) = 0;
  virtual Result<std::unique_ptr<Tx>> BeginRead(const std::string& workspace) = 0;
};

// Opens the store named by `url`: a postgres:// or postgresql:// URL (PostgreSQL, any
// libpq connection URL) or a file path (SQLite). Applies migrations.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url);
// Whether `url` names a PostgreSQL database (postgres:// or postgresql://).
bool IsPostgresUrl(const std::string& url);
// `url` fit to print: a PostgreSQL URL's password (user:PASSWORD@, ?password=…) as "***".
std::string PrintableUrl(const std::string& url);

}  // namespace rota::store
