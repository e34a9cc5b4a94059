// The use cases of rota, called by http/ and cli/ alike: decisions (assign, batch,
// idempotency, dry runs), configuration changes validated by the core, records,
// history, the unassigned queue, workspaces and keys. Answers are JSON documents in
// API.md's shapes; failures are Status values with API.md's codes.
// Thread-safe: one Service serves every request.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "connectors/connector.h"
#include "connectors/secrets.h"
#include "io/assign_json.h"
#include "io/json_util.h"
#include "service/auth.h"
#include "service/clock.h"
#include "service/group_commit.h"
#include "service/metrics.h"
#include "service/reconcile.h"
#include "service/retry.h"
#include "service/snapshots.h"
#include "store/store.h"

namespace rota::service {

using io::Json;

inline constexpr size_t kMaxBatch = 1000;

// A page request: `limit` (1–1000, default 100) and an opaque `cursor`.
struct Page {
  int limit = 100;
  std::string cursor;
};

struct ReportQuery {
  std::optional<std::string> from, to, period, object_type, rule, distribution;
};

struct HistoryQuery {
  std::optional<std::string> from, to, period, object_type, event, rule, owner, outcome;
  Page page;
};

// Where a decision's owner is written back: a connector, for the rota object types it maps.
struct WriteBackTarget {
  std::string connector;
  std::vector<core::ObjectType> types;
  std::string crm_type;  // the CRM's type of the record the call named (several may map to one of rota's)
};

// What a CRM connector's call adds to a decision request; none of it is part of the request
// an idempotency key names.
struct FromCrm {
  std::optional<WriteBackTarget> write_back;  // where the owner goes back
  // The owner the CRM says the record has: the record's owner where rota knows none, and
  // no write-back of the owner the CRM has already.
  std::optional<std::string> crm_owner;
  // An update of a record that has an owner, which no rule takes, makes no decision; rota's
  // copy of the record is kept up to date (connector_ops.cc says why).
  bool untaken_changes_decide_nothing = false;
};
// What a connector answers for such an update.
inline constexpr const char* kUntakenChange = "no rule takes this change, and the record has an owner: no decision";

// In a stored decision's body: the trace kept for the history where the caller asked for
// none (assign.cc, StoredBody); the history shows it as `trace`, a replay leaves it out.
inline constexpr const char* kKeptTrace = "kept_trace";

// A call from a CRM to one of a connector's routes, as the HTTP layer received it.
struct ConnectorCall {
  std::string route;              // hubspot, pipedrive, generic: the route called
  std::string method;
  std::string target;             // path and query as received
  std::string host;               // the Host header
  std::string body;               // raw, as signed
  Json json;                      // parsed
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
};

// Stores a record as a caller gives it (PUT /v1/records, a config document's records):
// the notes rules wrote stay (they are rota's), and an owner takes it off the unassigned
// queue (assigned by hand).
Status PutGivenRecord(store::Tx& tx, core::Record record, int64_t at);

// What a configuration saved over `before` must meet beyond core::Validate: no new rule
// takes the id "priority", and no `between` it sets has its ends the wrong way round.
Status CheckChange(const core::Config& before, const core::Config& after);
// The document `doc` as a change from `before`: io::ReadConfig's problems and CheckChange's
// together, every one in one 422.
Result<core::Config> ReadChange(const core::Config& before, const Json& doc);
// One write-back of `owner` for a record, into the outbox of `tx`, when `wb` maps its type.
Status EmitWriteBack(store::Tx& tx, const WriteBackTarget& wb, core::ObjectType type, const std::string& id,
                     const std::string& owner, const std::string& decision_id, const std::string& crm_type,
                     int64_t now_ms);
// The last error of a write-back superseded by decision `decision_id` (empty: by hand).
std::string SupersededBy(const std::string& decision_id);
// A decision gave a record the owner its CRM has already: its write-backs still pending are
// superseded, and when there were any (an earlier owner would land after it) this owner is
// written back after them.
Status OwnerKnown(store::Tx& tx, const WriteBackTarget& wb, core::ObjectType type, const std::string& id,
                  const std::string& owner, const std::string& decision_id, const std::string& crm_type,
                  int64_t now_ms);

// A configuration change as Mutate() runs it, for use cases outside config_ops.cc.
using MutateFn = std::function<Status(core::Config&, store::Tx&)>;

class Service {
 public:
  // `group_commit_max`: most decisions committed in one transaction.
  // `retry`: how write transactions the database gave up are run again (retry.h).
  Service(store::Store& store, Clock& clock, size_t group_commit_max = 256, RetryPolicy retry = {})
      : store_(store),
        clock_(clock),
        retry_(retry),
        committer_(store, group_commit_max, retry, [this] { metrics_.TxRetried(); }) {}

  // The key's principal (401 unauthenticated for an unknown or revoked key).
  Result<Principal> Authenticate(const std::string& secret) { return service::Authenticate(store_, secret); }
  // The same for Assign and AssignThen alone, from memory for a key seen before: the
  // decision's own transaction then confirms the key (KnownKeys, ConfirmKey).
  Result<Principal> AuthenticateForDecision(const std::string& secret) {
    return known_keys_.Authenticate(store_, secret);
  }
  // `error`, or the 401 of a key taken from memory that is no longer valid: what a request
  // refused before its decision's transaction answers.
  Status KeyFirst(const Principal& p, const Status& error);
  Clock& clock() { return clock_; }
  Metrics& metrics() { return metrics_; }
  std::string RenderMetrics() const { return metrics_.Render(committer_.batches(), committer_.items()); }

  // ---- workspaces and keys
  // On an empty database: creates workspace "default" and its admin key (`secret`, or
  // a random one). Answers the secret when it made one, nothing otherwise.
  Result<std::optional<std::string>> Bootstrap(const std::string& secret);
  // Whether the database answers a read now (GET /readyz): Ok, or why not (503).
  Status Ready();
  // A new workspace and its first admin key (`first_secret`, or a random one).
  Result<NewKey> CreateWorkspace(const std::string& id, const std::string& first_secret = "");
  Result<Json> CreateKey(const Principal& p, const Json& body);
  Result<Json> ListKeys(const Principal& p, const Page& page);
  Status RevokeKey(const Principal& p, const std::string& id);

  // ---- decisions
  // `crm`: what a connector's call adds (FromCrm).
  Result<Json> Assign(const Principal& p, const Json& body, const std::string& idempotency_header,
                      const FromCrm& crm = {});
  // The same decision, answered through `done` rather than by a waiting caller: at once when
  // the request is refused or a dry run, else on the group commit's thread once its batch
  // committed (GroupCommit::Submit). `done` must not block or throw.
  void AssignThen(const Principal& p, const Json& body, const std::string& idempotency_header,
                  std::function<void(Result<Json>)> done);
  Result<Json> AssignBatch(const Principal& p, const Json& body);

  // Runs `records` (assign bodies) through the current or a draft configuration from
  // the workspace's current state, in memory; stores nothing.
  Result<Json> Simulate(const std::string& ws, const Json& body);

  // ---- configuration
  Result<Json> GetConfig(const std::string& ws);
  // Applies a whole document atomically; answers {"applied", "changes": [...]}.
  Result<Json> PutConfig(const std::string& ws, const Json& doc, bool dry_run);

  Result<Json> ListUsers(const std::string& ws, const Page& page);
  Result<Json> GetUser(const std::string& ws, const std::string& id);
  Result<Json> CreateUser(const std::string& ws, const Json& body);
  Result<Json> PatchUser(const std::string& ws, const std::string& id, const Json& patch);
  Status DeleteUser(const std::string& ws, const std::string& id);

  Result<Json> ListPools(const std::string& ws, const Page& page);
  Result<Json> GetPool(const std::string& ws, const std::string& id);
  Result<Json> CreatePool(const std::string& ws, const Json& body);
  Result<Json> PatchPool(const std::string& ws, const std::string& id, const Json& patch);
  Status DeletePool(const std::string& ws, const std::string& id);
  Result<Json> AddPoolMember(const std::string& ws, const std::string& pool, const Json& body);
  Result<Json> RemovePoolMember(const std::string& ws, const std::string& pool, const std::string& user);

  Result<Json> ListRules(const std::string& ws, const std::optional<std::string>& object_type, const Page& page);
  Result<Json> GetRule(const std::string& ws, const std::string& id);
  Result<Json> CreateRule(const std::string& ws, const Json& body);
  Result<Json> PutRule(const std::string& ws, const std::string& id, const Json& body);
  Status DeleteRule(const std::string& ws, const std::string& id);
  Result<Json> SetRulePriority(const std::string& ws, const Json& body);

  Result<Json> ListDistributions(const std::string& ws, const Page& page);
  Result<Json> GetDistribution(const std::string& ws, const std::string& id);
  Result<Json> CreateDistribution(const std::string& ws, const Json& body);
  Result<Json> PatchDistribution(const std::string& ws, const std::string& id, const Json& patch);
  Status DeleteDistribution(const std::string& ws, const std::string& id);
  Result<Json> PutKey(const std::string& ws, const std::string& id, const std::string& value, const Json& body);
  Status DeleteKey(const std::string& ws, const std::string& id, const std::string& value);
  // Imports a keys file (SPEC §8): CSV, or XLSX when `xlsx`; `header` skips its first
  // row. All or nothing: every row's problem is listed with the path "row N"; a good
  // file replaces the keys of the values it names and resets their state. Answers
  // {"imported": rows, "values": keys}.
  Result<Json> ImportKeys(const std::string& ws, const std::string& id, const std::string& bytes, bool xlsx,
                          bool header);

  Result<Json> GetSettings(const std::string& ws);
  Result<Json> PutSettings(const std::string& ws, const Json& body);

  // ---- records, history, queue
  // `by_hand`: an admin setting the owner (the console's "assign by hand"), which goes back to
  // the CRM the record came from when the first owner changes to a user of the workspace.
  // A sync job's PUT (an integration key) only updates rota's copy.
  Result<Json> PutRecord(const std::string& ws, const std::string& type, const std::string& id, const Json& body,
                         bool by_hand = false);
  Result<Json> GetRecord(const std::string& ws, const std::string& type, const std::string& id);
  // A record the CRM deleted: rota's copy is no longer open, so it stops counting for
  // `max_open` and `least_loaded`, and it leaves the unassigned queue; its owners and
  // history stay. False when rota does not know the record or it was closed already.
  Result<bool> CloseRecord(const std::string& ws, core::ObjectType type, const std::string& id);
  Result<Json> History(const std::string& ws, const HistoryQuery& q);
  Result<Json> Unassigned(const std::string& ws, const std::optional<std::string>& object_type, const Page& page);

  // ---- reports and retention
  Result<Json> DistributionReport(const std::string& ws, const ReportQuery& q);
  Result<Json> Summary(const std::string& ws);
  // Removes the workspace's decisions older than its retention; answers how many. It
  // removes them `chunk` at a time, each in a transaction of its own, so that decisions
  // made meanwhile wait for one chunk at most (not for a purge of millions).
  Result<int64_t> PurgeHistory(const std::string& ws, int64_t chunk = kPurgeChunk);
  static constexpr int64_t kPurgeChunk = 5000;
  // The same for every workspace.
  Result<int64_t> PurgeAllHistory();

  // ---- webhooks
  Result<Json> CreateWebhook(const std::string& ws, const Json& body);
  Result<Json> ListWebhooks(const std::string& ws, const Page& page);
  Result<Json> GetWebhook(const std::string& ws, const std::string& id);
  Status DeleteWebhook(const std::string& ws, const std::string& id);
  Result<Json> ListDeliveries(const std::string& ws, const std::string& webhook, const Page& page);
  Result<Json> RetryDelivery(const std::string& ws, const std::string& webhook, const std::string& delivery);
  // A connector's failed write-back sent again (POST /v1/connectors/{id}/deliveries/{d}/retry).
  Result<Json> RetryWriteBack(const std::string& ws, const std::string& connector, const std::string& delivery);

  // ---- CRM connectors (connector_ops.cc)
  // The key that seals connector credentials (ROTA_SECRET_KEY); without one, connectors
  // with credentials cannot be created or used.
  void UseSecretBox(std::optional<connectors::SecretBox> box) { secrets_ = std::move(box); }
  const connectors::SecretBox* secrets() const { return secrets_ ? &*secrets_ : nullptr; }
  Result<Json> CreateConnector(const std::string& ws, const Json& body);
  Result<Json> ListConnectors(const std::string& ws, const Page& page);
  Result<Json> GetConnector(const std::string& ws, const std::string& id);
  // Merges `patch` into the settings; credentials named in it replace the stored ones.
  Result<Json> PatchConnector(const std::string& ws, const std::string& id, const Json& patch);
  Status DeleteConnector(const std::string& ws, const std::string& id);
  Result<Json> ConnectorDeliveries(const std::string& ws, const std::string& id, const Page& page);
  // Reads the CRM's users (every page) and creates or updates rota users from them in
  // one configuration change; archived or inactive CRM users become inactive.
  Result<Json> SyncUsers(const std::string& ws, const std::string& id);
  // A CRM's call in: authenticated by the connector's own scheme, read into an assign
  // request, decided, and answered in the CRM's terms.
  Result<Json> ConnectorCallIn(const std::string& ws, const std::string& id, const ConnectorCall& call);
  // The connector with its credentials opened (for the delivery worker and sync).
  Result<connectors::Connector> OpenConnector(const store::ConnectorRow& row) const;

 private:
  // Runs `change` on the workspace's configuration in one write transaction, validates
  // the result with the core and stores it, or stores nothing. `change` may also
  // adjust rotation state through the transaction.
  // `dry_run` validates and reports `changes` but stores nothing.
  template <typename F>
  Result<std::shared_ptr<const core::Workspace>> Mutate(const std::string& ws, F change, bool dry_run = false,
                                                        std::vector<Change>* changes = nullptr);
  Result<std::shared_ptr<const core::Workspace>> Current(const std::string& ws);
  Result<Json> PatchConnectorOnce(const std::string& ws, const std::string& id, const Json& patch);
  // Where the owner of a record that came in through a connector goes when rota decides it,
  // or an admin sets it, outside that connector's calls: the connector's write-back, while
  // the connector is there with write-back on (and ROTA_SECRET_KEY opens it); else none.
  Result<std::optional<WriteBackTarget>> SourceWriteBack(store::Tx& tx, const core::Record& r) const;
  // An outbox row pending again now (`requeue` does it in the write transaction).
  Result<Json> Requeue(const std::string& ws, const std::string& delivery,
                       const std::function<Status(store::Tx&, int64_t)>& requeue);
  // Runs `attempt` (one write transaction, begun and committed inside) again while the
  // database gives it up, as retry_ says.
  template <typename F>
  auto Retrying(F&& attempt) -> decltype(attempt()) {
    return WithRetry(retry_, [this] { metrics_.TxRetried(); }, std::forward<F>(attempt));
  }
  // An assign request checked and ready to decide.
  struct PreparedAssign {
    io::AssignBody body;
    std::string hash;  // of the body without its idempotency key
    core::Time now;
    FromCrm crm;
    // The decision's id (none for a dry run), made here rather than in the write
    // transaction: its random part (OpenSSL's generator) then stays off the serial path.
    std::string id;
    Principal who;  // whose key the decision's transaction confirms (ConfirmKey)
  };
  Result<PreparedAssign> Prepare(const Principal& p, const Json& body, const std::string& idempotency_header);
  Result<Json> DryRun(const std::string& workspace, const PreparedAssign& pa);
  // The batch's configuration snapshot, read from `tx` once per transaction.
  Status LoadBatchWorkspace(store::Tx& tx, BatchState& batch, const std::string& workspace);
  // A dry run's decision on `tx`'s state (a batch's dry run among stored items); the
  // caller has confirmed pa.who's key in `tx` (ConfirmKeyOnce).
  Result<Json> DecideDry(store::Tx& tx, const core::Workspace& ws, const PreparedAssign& pa);
  // Decides and writes everything of one decision in `tx`; the caller commits.
  Result<Json> DecideAndStore(store::Tx& tx, BatchState& batch, const std::string& workspace,
                              const PreparedAssign& pa);
  // ConfirmKey in `tx`, once a batch where there is one; a key that fails it is forgotten.
  Status ConfirmKeyOnce(store::Tx& tx, BatchState* batch, const Principal& p);
  void RecordMetrics(const Json& decision, std::chrono::steady_clock::time_point start);
  Result<Json> Decided(Result<Json> r, std::chrono::steady_clock::time_point start);
  Result<Json> DistributionJson(store::Tx& tx, const core::Distribution& d);
  Result<Json> PoolJson(store::Tx& tx, const core::Workspace& ws, const core::Pool& pool);

  store::Store& store_;
  Clock& clock_;
  const RetryPolicy retry_;
  Snapshots snapshots_;
  Metrics metrics_;
  // Before the committer, which finishes its queued work when destroyed and uses them.
  KnownKeys known_keys_;
  std::optional<connectors::SecretBox> secrets_;
  GroupCommit committer_;
};

}  // namespace rota::service
