#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "io/config_json.h"
#include "store/decision_counts.h"
#include "store/open_counts.h"
#include "store/postgres/connection.h"
#include "store/postgres/migrations.h"

namespace rota::store::postgres {
namespace {

using core::ObjectType;

// The advisory lock key the migrations run under (any constant; "rota" in ASCII).
constexpr const char* kMigrationLock = "1919906913";

// A thread-safe pool of connections, one per transaction, at most `max` at once.
class ConnectionPool {
 public:
  ConnectionPool(std::string conninfo, size_t max, std::chrono::milliseconds timeout)
      : conninfo_(std::move(conninfo)), max_(max), timeout_(timeout) {}

  Result<std::unique_ptr<PgConnection>> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      while (!free_.empty()) {
        auto c = std::move(free_.back());
        free_.pop_back();
        if (c->Idle()) {
          ++in_use_;
          return c;
        }
      }
      if (in_use_ < max_) break;
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && free_.empty() && in_use_ >= max_) {
        return Status(Code::kUnavailable, "database_busy",
                      "all " + std::to_string(max_) + " PostgreSQL connections are busy");
      }
    }
    ++in_use_;
    lock.unlock();
    auto c = PgConnection::Open(conninfo_, timeout_);
    if (!c.ok()) {
      std::lock_guard<std::mutex> relock(mu_);
      --in_use_;
      cv_.notify_one();
    }
    return c;
  }

  void Give(std::unique_ptr<PgConnection> c) {
    std::unique_ptr<PgConnection> drop;  // closed outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      --in_use_;
      if (c && c->Idle() && free_.size() < max_) {
        free_.push_back(std::move(c));
      } else {
        drop = std::move(c);
      }
    }
    cv_.notify_one();
  }

 private:
  const std::string conninfo_;
  const size_t max_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> free_;  // GUARDED_BY(mu_)
  size_t in_use_ = 0;                                // GUARDED_BY(mu_)
};

constexpr const char* kDecisionColumns =
    "seq, id, workspace, at, event, object_type, record_id, rule, strategy, outcome, owner, reason, body, "
    "COALESCE(idempotency_key, ''), request_hash, distribution, key_value";

DecisionRow ReadDecision(const PgResult& q, int i) {
  DecisionRow d;
  d.seq = q.Int(i, 0);
  d.id = q.Text(i, 1);
  d.workspace = q.Text(i, 2);
  d.at = q.Int(i, 3);
  d.event = q.Text(i, 4);
  d.object_type = q.Text(i, 5);
  d.record_id = q.Text(i, 6);
  d.rule = q.OptText(i, 7);
  d.strategy = q.OptText(i, 8);
  d.outcome = q.Text(i, 9);
  d.owner = q.OptText(i, 10);
  d.reason = q.OptText(i, 11);
  d.body = q.Text(i, 12);
  d.idempotency_key = q.Text(i, 13);
  d.request_hash = q.Text(i, 14);
  d.distribution = q.OptText(i, 15);
  d.key_value = q.OptText(i, 16);
  return d;
}

constexpr const char* kDeliveryColumns =
    "o.seq, o.id, o.workspace, o.webhook, o.event, o.body, o.status, o.attempts, o.next_attempt_at, "
    "o.last_status, o.last_error, o.created_at, o.delivered_at, COALESCE(o.connector, '')";

DeliveryRow ReadDelivery(const PgResult& q, int i) {
  DeliveryRow d;
  d.seq = q.Int(i, 0);
  d.id = q.Text(i, 1);
  d.workspace = q.Text(i, 2);
  d.webhook = q.Text(i, 3);
  d.event = q.Text(i, 4);
  d.body = q.Text(i, 5);
  d.status = q.Text(i, 6);
  d.attempts = q.Int(i, 7);
  d.next_attempt_at = q.Int(i, 8);
  d.last_status = q.OptInt(i, 9);
  d.last_error = q.Text(i, 10);
  d.created_at = q.Int(i, 11);
  d.delivered_at = q.OptInt(i, 12);
  d.connector = q.Text(i, 13);
  return d;
}

ConnectorRow ReadConnector(const PgResult& q, int i, int first) {
  return ConnectorRow{q.Text(i, first),     q.Text(i, first + 1), q.Text(i, first + 2),
                      q.Text(i, first + 3), q.Int(i, first + 4),  q.Int(i, first + 5)};
}

// Takes the workspace's writer lock for the rest of `c`'s transaction: one writer per
// workspace across every node (BeginWrite), and a key's revocation ordered with the
// workspace's decisions (RevokeKey).
Status LockWorkspace(PgConnection& c, const std::string& workspace) {
  return c.Run("SELECT pg_advisory_xact_lock(hashtext($1))", {workspace});
}

KeyRow ReadKey(const PgResult& q, int i) {
  KeyRow k;
  k.id = q.Text(i, 0);
  k.workspace = q.Text(i, 1);
  k.role = q.Text(i, 2);
  k.can_reassign = q.Int(i, 3) != 0;
  k.name = q.Text(i, 4);
  k.hash = q.Text(i, 5);
  k.created_at = q.Int(i, 6);
  k.revoked_at = q.OptInt(i, 7);
  return k;
}

constexpr const char* kKeyColumns = "id, workspace, role, can_reassign, name, hash, created_at, revoked_at";

// The key with this hash on `c`, in a transaction or not.
Result<std::optional<KeyRow>> KeyByHash(PgConnection& c, const std::string& hash) {
  auto q = c.Query(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE hash=$1", {hash});
  if (!q.ok()) return q.status();
  if (q->rows() == 0) return std::optional<KeyRow>();
  return std::optional<KeyRow>(ReadKey(*q, 0));
}

class PostgresTx final : public Tx {
 public:
  PostgresTx(ConnectionPool& pool, std::unique_ptr<PgConnection> conn, std::string workspace)
      : pool_(pool), c_(std::move(conn)), ws_(std::move(workspace)) {}

  ~PostgresTx() override {
    if (!done_) (void)c_->Exec("ROLLBACK");
    pool_.Give(std::move(c_));
  }

  Status Commit() override {
    done_ = true;
    if (c_->InFailedTransaction()) {
      // A statement failed and was not undone by RollbackUnit: COMMIT would only roll
      // back, silently. Say so.
      Status cause = !c_->last_error().ok() ? c_->last_error() : Status::Internal("database: transaction aborted");
      (void)c_->Exec("ROLLBACK");
      return cause;
    }
    Status s = FlushCounts();
    if (s.ok()) s = c_->Exec("COMMIT");
    if (!s.ok() && !c_->Idle()) (void)c_->Exec("ROLLBACK");
    return s;
  }

  Status BeginUnit() override {
    pending_.BeginUnit();
    return c_->Exec("SAVEPOINT unit");
  }
  Status EndUnit() override {
    pending_.EndUnit();
    return c_->Exec("RELEASE SAVEPOINT unit");
  }
  Status RollbackUnit() override {
    pending_.RollbackUnit();
    known_.Forget();
    Status s = c_->Exec("ROLLBACK TO SAVEPOINT unit");
    return s.ok() ? c_->Exec("RELEASE SAVEPOINT unit") : s;
  }

  // ---- core::StateView (errors leave the transaction aborted; Commit reports them)
  int64_t PoolPointer(const std::string& pool) const override {
    auto q = c_->Query("SELECT pointer FROM pool_state WHERE workspace=$1 AND pool=$2", {ws_, pool});
    return q.ok() && q->rows() > 0 ? q->Int(0, 0) : 0;
  }

  std::vector<int64_t> KeyCredits(const std::string& distribution, const std::string& folded_value,
                                  const std::vector<std::string>& users) const override {
    std::vector<int64_t> credits(users.size(), 0);
    auto q = c_->Query("SELECT user_id, credit FROM key_state WHERE workspace=$1 AND distribution=$2 AND value=$3",
                       {ws_, distribution, folded_value});
    if (!q.ok()) return credits;
    for (int i = 0; i < q->rows(); ++i) {
      auto it = std::find(users.begin(), users.end(), q->Text(i, 0));
      if (it != users.end()) credits[static_cast<size_t>(it - users.begin())] = q->Int(i, 1);
    }
    return credits;
  }

  int64_t AssignedSince(const std::string& user, core::Time since, core::Time until) const override {
    auto q = c_->Query("SELECT COUNT(*) FROM decisions WHERE workspace=$1 AND owner=$2 AND at>=$3 AND at<=$4",
                       {ws_, user, static_cast<int64_t>(since.time_since_epoch().count()),
                        static_cast<int64_t>(until.time_since_epoch().count())});
    return q.ok() && q->rows() > 0 ? q->Int(0, 0) : 0;
  }

  int64_t OpenRecords(const std::string& user, ObjectType type, const std::string& exclude_id) const override {
    const std::string t(core::ToString(type));
    auto q = c_->Query("SELECT n FROM open_counts WHERE workspace=$1 AND user_id=$2 AND object_type=$3", {ws_, user, t});
    int64_t n = q.ok() && q->rows() > 0 ? q->Int(0, 0) : 0;
    // The record being decided does not count itself. (A failed read counts it, as a
    // failed count reads 0: StateView has no error to give, and the decision's write
    // fails the same way.)
    auto stored = Known(t, exclude_id);
    if (stored.ok() && *stored && (*stored)->Counts(user)) --n;
    return n;
  }

  std::optional<core::Record> FindRecord(ObjectType type, const std::string& id) const override {
    const std::string t(core::ToString(type));
    auto q = c_->Query("SELECT body FROM records WHERE workspace=$1 AND object_type=$2 AND id=$3", {ws_, t, id});
    if (!q.ok()) return std::nullopt;
    if (q->rows() == 0) {
      known_.Remember(t, id, std::nullopt);
      return std::nullopt;
    }
    io::Problems p;
    io::Json j = io::Json::parse(q->Text(0, 0), nullptr, false);
    core::Record r = io::ReadStoredRecord(j, p);
    r.object_type = type;
    if (!j.is_discarded() && p.empty()) known_.Remember(t, id, open_counts::Of(r.open, r.owners));
    return r;
  }

  // ---- configuration
  Result<std::pair<int64_t, std::string>> LoadConfig() override {
    auto q = c_->Query("SELECT config_version, config FROM workspaces WHERE id=$1", {ws_});
    if (!q.ok()) return q.status();
    if (q->rows() == 0) return Status::NotFound("unknown workspace \"" + ws_ + "\"");
    return std::make_pair(q->Int(0, 0), q->Text(0, 1));
  }

  Result<int64_t> ConfigVersion() override {
    auto q = c_->Query("SELECT config_version FROM workspaces WHERE id=$1", {ws_});
    if (!q.ok()) return q.status();
    if (q->rows() == 0) return Status::NotFound("unknown workspace \"" + ws_ + "\"");
    return q->Int(0, 0);
  }

  Status SaveConfig(int64_t version, const std::string& doc) override {
    return c_->Run("UPDATE workspaces SET config_version=$1, config=$2 WHERE id=$3", {version, doc, ws_});
  }

  // ---- rotation state
  Status SetPoolPointer(const std::string& pool, int64_t position) override {
    return c_->Run(
        "INSERT INTO pool_state(workspace, pool, pointer) VALUES($1,$2,$3) "
        "ON CONFLICT(workspace, pool) DO UPDATE SET pointer=excluded.pointer, left_member=NULL",
        {ws_, pool, position});
  }

  Status DeletePoolState(const std::string& pool) override {
    return c_->Run("DELETE FROM pool_state WHERE workspace=$1 AND pool=$2", {ws_, pool});
  }

  Result<std::string> PoolLeftMember(const std::string& pool) override {
    auto q = c_->Query("SELECT left_member FROM pool_state WHERE workspace=$1 AND pool=$2", {ws_, pool});
    if (!q.ok()) return q.status();
    return q->rows() == 0 ? std::string() : q->OptText(0, 0).value_or("");
  }

  Status SetPoolLeftMember(const std::string& pool, const std::string& user) override {
    return c_->Run("UPDATE pool_state SET left_member=$1 WHERE workspace=$2 AND pool=$3", {user, ws_, pool});
  }

  Status SaveKeyPick(const core::KeyPick& pick) override {
    for (size_t i = 0; i < pick.users.size(); ++i) {
      Status s = c_->Run(
          "INSERT INTO key_state(workspace, distribution, value, user_id, credit, assigned) "
          "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(workspace, distribution, value, user_id) DO UPDATE SET "
          "credit=excluded.credit, assigned=key_state.assigned+excluded.assigned",
          {ws_, pick.distribution, pick.value, pick.users[i], static_cast<int64_t>(pick.credits[i]),
           static_cast<int64_t>(pick.users[i] == pick.winner ? 1 : 0)});
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status ResetKeyState(const std::string& distribution, const std::optional<std::string>& folded) override {
    if (folded) {
      return c_->Run("DELETE FROM key_state WHERE workspace=$1 AND distribution=$2 AND value=$3",
                     {ws_, distribution, *folded});
    }
    return c_->Run("DELETE FROM key_state WHERE workspace=$1 AND distribution=$2", {ws_, distribution});
  }

  Result<std::vector<KeyStateRow>> KeyState(const std::string& distribution) override {
    auto q = c_->Query(
        "SELECT value, user_id, credit, assigned FROM key_state WHERE workspace=$1 AND distribution=$2",
        {ws_, distribution});
    if (!q.ok()) return q.status();
    std::vector<KeyStateRow> rows;
    for (int i = 0; i < q->rows(); ++i) rows.push_back({q->Text(i, 0), q->Text(i, 1), q->Int(i, 2), q->Int(i, 3)});
    return rows;
  }

  Status AddUnkeyed(const std::string& distribution, const std::string& folded, const std::string& value) override {
    return c_->Run(
        "INSERT INTO unkeyed_values(workspace, distribution, folded, value) VALUES($1,$2,$3,$4) "
        "ON CONFLICT(workspace, distribution, folded) DO UPDATE SET seen=unkeyed_values.seen+1",
        {ws_, distribution, folded, value});
  }

  Status RemoveUnkeyed(const std::string& distribution, const std::optional<std::string>& folded) override {
    if (folded) {
      return c_->Run("DELETE FROM unkeyed_values WHERE workspace=$1 AND distribution=$2 AND folded=$3",
                     {ws_, distribution, *folded});
    }
    return c_->Run("DELETE FROM unkeyed_values WHERE workspace=$1 AND distribution=$2", {ws_, distribution});
  }

  Result<std::vector<UnkeyedRow>> Unkeyed(const std::string& distribution) override {
    auto q = c_->Query(
        "SELECT value, seen FROM unkeyed_values WHERE workspace=$1 AND distribution=$2 ORDER BY value",
        {ws_, distribution});
    if (!q.ok()) return q.status();
    std::vector<UnkeyedRow> rows;
    for (int i = 0; i < q->rows(); ++i) rows.push_back({q->Text(i, 0), q->Int(i, 1)});
    return rows;
  }

  // ---- records
  Status PutRecord(const core::Record& r, int64_t at) override {
    std::string type(core::ToString(r.object_type));
    // What the record counted for before this write: read first, as the upsert replaces it.
    auto before = Known(type, r.id);
    if (!before.ok()) return before.status();
    const open_counts::Ownership after = open_counts::Of(r.open, r.owners);
    known_.Forget();
    Status s = c_->Run(
        "INSERT INTO records(workspace, object_type, id, body, open, updated_at) VALUES($1,$2,$3,$4,$5,$6) "
        "ON CONFLICT(workspace, object_type, id) DO UPDATE SET body=excluded.body, open=excluded.open, "
        "updated_at=excluded.updated_at",
        {ws_, type, r.id, io::WriteStoredRecord(r).dump(), static_cast<bool>(r.open), at});
    if (!s.ok()) return s;
    for (const auto& [user, delta] : open_counts::Delta(*before, after)) {
      s = c_->Run(
          "INSERT INTO open_counts(workspace, user_id, object_type, n) VALUES($1,$2,$3,$4) "
          "ON CONFLICT(workspace, user_id, object_type) DO UPDATE SET n=open_counts.n+excluded.n",
          {ws_, user, type, delta});
      if (!s.ok()) return s;
    }
    known_.Remember(type, r.id, after);
    return Status::Ok();
  }

  // ---- decisions
  // Inserts answer Conflict without aborting the transaction (ON CONFLICT DO NOTHING),
  // as SQLite does: a failed statement there leaves the transaction usable.
  // The decision now, its count in decision_counts at the end of the transaction
  // (PendingCounts: one upsert per row of the table, not per decision), both undone
  // with the unit when it rolls back.
  Status InsertDecision(const DecisionRow& d) override {
    Status s = Insert(
        "decision \"" + d.id + "\"",
        "INSERT INTO decisions(id, workspace, at, event, object_type, record_id, rule, strategy, outcome, "
        "owner, reason, body, idempotency_key, request_hash, distribution, key_value) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) ON CONFLICT DO NOTHING",
        {d.id, ws_, d.at, d.event, d.object_type, d.record_id, d.rule, d.strategy, d.outcome, d.owner, d.reason,
         d.body, d.idempotency_key.empty() ? std::nullopt : std::optional<std::string>(d.idempotency_key),
         d.request_hash, d.distribution, d.key_value});
    if (s.ok()) pending_.Add(d);
    return s;
  }

  // The counts owed by this transaction, into decision_counts.
  Status FlushCounts() {
    for (const auto& [k, n] : pending_.Take()) {
      Status s = c_->Run(
          "INSERT INTO decision_counts(workspace, bucket, object_type, rule, distribution, key_value, owner, "
          "outcome, null_mask, n) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT(workspace, bucket, "
          "object_type, rule, distribution, key_value, owner, outcome, null_mask) DO UPDATE SET "
          "n=decision_counts.n+excluded.n",
          {ws_, k.bucket, k.object_type, k.rule, k.distribution, k.key_value, k.owner, k.outcome, k.null_mask, n});
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) override { return KeyByHash(*c_, hash); }

  Result<std::optional<DecisionRow>> FindDecisionByKey(const std::string& key) override {
    auto q = c_->Query(std::string("SELECT ") + kDecisionColumns +
                           " FROM decisions WHERE workspace=$1 AND idempotency_key=$2",
                       {ws_, key});
    if (!q.ok()) return q.status();
    if (q->rows() == 0) return std::optional<DecisionRow>();
    return std::optional<DecisionRow>(ReadDecision(*q, 0));
  }

  Result<std::vector<DecisionRow>> History(const HistoryFilter& f) override {
    std::string sql = std::string("SELECT ") + kDecisionColumns + " FROM decisions WHERE workspace=$1";
    std::vector<Param> params{ws_};
    auto add = [&](const char* cond, Param p) {
      params.push_back(std::move(p));
      sql += std::string(" AND ") + cond + "$" + std::to_string(params.size());
    };
    if (f.from) add("at>=", *f.from);
    if (f.to) add("at<", *f.to);
    if (f.before_seq) {
      // Newest first is (at, seq) descending (as in the SQLite store): the cursor row's
      // time, then its seq; a cursor whose row was purged since falls back to seq alone.
      auto at = c_->Query("SELECT at FROM decisions WHERE seq=$1 AND workspace=$2", {*f.before_seq, ws_});
      if (!at.ok()) return at.status();
      if (at->rows() > 0) {
        params.push_back(at->Int(0, 0));
        params.push_back(*f.before_seq);
        sql += " AND (at, seq) < ($" + std::to_string(params.size() - 1) + ", $" + std::to_string(params.size()) + ")";
      } else {
        add("seq<", *f.before_seq);
      }
    }
    if (f.object_type) add("object_type=", *f.object_type);
    if (f.event) add("event=", *f.event);
    if (f.rule) add("rule=", *f.rule);
    if (f.owner) add("owner=", *f.owner);
    if (f.outcome) add("outcome=", *f.outcome);
    sql += " ORDER BY at DESC, seq DESC LIMIT " + std::to_string(std::max(1, f.limit));
    auto q = c_->Query(sql, params);
    if (!q.ok()) return q.status();
    std::vector<DecisionRow> rows;
    for (int i = 0; i < q->rows(); ++i) rows.push_back(ReadDecision(*q, i));
    return rows;
  }

  Result<std::vector<DecisionRow>> RecordDecisions(const std::string& object_type, const std::string& id,
                                                   int limit) override {
    auto q = c_->Query(std::string("SELECT ") + kDecisionColumns +
                           " FROM decisions WHERE workspace=$1 AND object_type=$2 AND record_id=$3 "
                           "ORDER BY seq DESC LIMIT $4",
                       {ws_, object_type, id, static_cast<int64_t>(limit)});
    if (!q.ok()) return q.status();
    std::vector<DecisionRow> rows;
    for (int i = 0; i < q->rows(); ++i) rows.push_back(ReadDecision(*q, i));
    return rows;
  }

  Status PutUnassigned(const UnassignedRow& u) override {
    return c_->Run(
        "INSERT INTO unassigned(workspace, object_type, record_id, reason, decision_id, at) "
        "VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT(workspace, object_type, record_id) DO UPDATE SET "
        "reason=excluded.reason, decision_id=excluded.decision_id, at=excluded.at",
        {ws_, u.object_type, u.record_id, u.reason, u.decision_id, u.at});
  }

  Status RemoveUnassigned(const std::string& object_type, const std::string& record_id) override {
    return c_->Run("DELETE FROM unassigned WHERE workspace=$1 AND object_type=$2 AND record_id=$3",
                   {ws_, object_type, record_id});
  }

  Result<std::vector<UnassignedRow>> ListUnassigned(const std::optional<std::string>& object_type,
                                                    const std::optional<std::string>& after, int limit) override {
    auto q = c_->Query(
        "SELECT object_type, record_id, reason, decision_id, at FROM unassigned WHERE workspace=$1 "
        "AND ($2::text IS NULL OR object_type=$2::text) AND ($3::text IS NULL OR decision_id<$3::text) "
        "ORDER BY decision_id DESC LIMIT $4",
        {ws_, object_type, after, static_cast<int64_t>(limit)});
    if (!q.ok()) return q.status();
    std::vector<UnassignedRow> rows;
    for (int i = 0; i < q->rows(); ++i) {
      rows.push_back({q->Text(i, 0), q->Text(i, 1), q->Text(i, 2), q->Text(i, 3), q->Int(i, 4)});
    }
    return rows;
  }

  Result<int64_t> CountDecisions() override { return Count("SELECT COUNT(*) FROM decisions WHERE workspace=$1"); }
  Result<int64_t> LastDecisionAt() override {
    return Count("SELECT COALESCE(MAX(at), 0) FROM decisions WHERE workspace=$1");
  }

  Result<int64_t> PurgeDecisions(int64_t before, int64_t counts_before, int64_t keep_from, int64_t keep_to,
                                 int64_t limit) override {
    auto q = c_->Query(
        "DELETE FROM decisions WHERE seq IN (SELECT seq FROM decisions WHERE workspace=$1 AND at<$2 "
        "AND NOT (at>=$3 AND at<$4) ORDER BY at LIMIT $5)",
        {ws_, before, keep_from, keep_to, limit});
    if (!q.ok()) return q.status();
    if (q->Affected() == limit) return q->Affected();  // more to come: the counts go with the last chunk
    if (Status s = FlushCounts(); !s.ok()) return s;
    if (Status s = PurgeCounts(std::min(before, counts_before)); !s.ok()) return s;
    return q->Affected();
  }

  // decision_counts after a purge: buckets wholly before `before` go; the bucket that holds
  // it is counted again from the decisions left in it (a time beyond the buckets' range:
  // all of the workspace's counts are made again).
  Status PurgeCounts(int64_t before) {
    if (before < -counts::kTimeLimit || before > counts::kTimeLimit) return Recount(INT64_MIN, INT64_MAX);
    const int64_t bucket = counts::BucketOf(before);
    Status s = c_->Run("DELETE FROM decision_counts WHERE workspace=$1 AND bucket<$2", {ws_, bucket});
    if (!s.ok() || bucket == before) return s;
    return Recount(bucket, bucket + counts::kBucketSeconds - 1);
  }

  // The counts of the buckets of [from, to] (inclusive) made again from `decisions`.
  Status Recount(int64_t from, int64_t to) {
    Status s = c_->Run("DELETE FROM decision_counts WHERE workspace=$1 AND bucket>=$2 AND bucket<=$3", {ws_, from, to});
    if (!s.ok()) return s;
    return c_->Run(counts::RecountSql("$1", "$2", "$3"), {ws_, from, to});
  }

  // ---- reports
  // Whole hours of the window from decision_counts, the partial hours at its edges from
  // decisions (store/decision_counts.h), added up.
  Result<std::vector<OwnerCount>> Report(const counts::Shape& shape, const ReportFilter& f) {
    if (Status s = FlushCounts(); !s.ok()) return s;
    return counts::CountReport(
        f, [&](const counts::Span& buckets, counts::Tally& t) { return AddCounted(shape, buckets, f, t); },
        [&](const ReportFilter& edge, counts::Tally& t) { return AddDecisions(shape, edge, t); });
  }

  // The n-th parameter's placeholder (built by appending: GCC 12 warns about "x" + string).
  static std::string Placeholder(int n) {
    std::string p = "$";
    p += std::to_string(n);
    return p;
  }

  static std::vector<Param> FilterParams(const ReportFilter& f) {
    std::vector<Param> params;
    if (f.object_type) params.emplace_back(*f.object_type);
    if (f.rule) params.emplace_back(*f.rule);
    if (f.distribution) params.emplace_back(*f.distribution);
    return params;
  }

  // The whole buckets [buckets.from, buckets.to) from decision_counts.
  Status AddCounted(const counts::Shape& shape, const counts::Span& buckets, const ReportFilter& f,
                    counts::Tally& tally) {
    std::string sql = std::string("SELECT ") + shape.counts_columns +
                      ", SUM(n) FROM decision_counts WHERE workspace=$1" + shape.counts_where;
    std::vector<Param> params{ws_};
    if (buckets.from) {
      params.emplace_back(*buckets.from);
      sql += " AND bucket>=" + Placeholder(static_cast<int>(params.size()));
    }
    if (buckets.to) {
      params.emplace_back(*buckets.to);
      sql += " AND bucket<" + Placeholder(static_cast<int>(params.size()));
    }
    int n = static_cast<int>(params.size());
    sql += counts::CountsFilterSql(f, n, Placeholder) + " GROUP BY 1, 2";
    for (auto& p : FilterParams(f)) params.push_back(std::move(p));
    return AddRows(sql, params, tally);
  }

  // Counted from decisions. Only the filters given are in the SQL, so a time window or a
  // distribution is an index range (as in the SQLite store); "$2 IS NULL OR …" hid them
  // from the planner.
  Status AddDecisions(const counts::Shape& shape, const ReportFilter& f, counts::Tally& tally) {
    std::string sql = std::string("SELECT ") + shape.decisions_columns +
                      ", COUNT(*) FROM decisions WHERE workspace=$1" + shape.decisions_where;
    std::vector<Param> params{ws_};
    auto add = [&](const char* cond, Param p) {
      params.push_back(std::move(p));
      sql += std::string(" AND ") + cond + "$" + std::to_string(params.size());
    };
    if (f.from) add("at>=", *f.from);
    if (f.to) add("at<", *f.to);
    if (f.object_type) add("object_type=", *f.object_type);
    if (f.rule) add("rule=", *f.rule);
    if (f.distribution) add("distribution=", *f.distribution);
    sql += std::string(" GROUP BY ") + shape.decisions_group;
    return AddRows(sql, params, tally);
  }

  Status AddRows(const std::string& sql, const std::vector<Param>& params, counts::Tally& tally) {
    auto q = c_->Query(sql, params);
    if (!q.ok()) return q.status();
    for (int i = 0; i < q->rows(); ++i) tally.Add(q->Text(i, 0), q->OptText(i, 1), q->Int(i, 2));
    return Status::Ok();
  }

  Result<std::vector<OwnerCount>> CountByOwner(const ReportFilter& f) override {
    return Report(counts::kByOwner, f);
  }
  Result<std::vector<OwnerCount>> CountByKey(const ReportFilter& f) override { return Report(counts::kByKey, f); }
  Result<std::vector<OwnerCount>> CountByOutcome(const ReportFilter& f) override {
    return Report(counts::kByOutcome, f);
  }
  Result<int64_t> CountUnassigned() override { return Count("SELECT COUNT(*) FROM unassigned WHERE workspace=$1"); }

  // ---- webhooks and the outbox
  Result<std::vector<WebhookRow>> Webhooks() override {
    auto q = c_->Query("SELECT id, url, events, secret, created_at FROM webhooks WHERE workspace=$1 ORDER BY id",
                       {ws_});
    if (!q.ok()) return q.status();
    std::vector<WebhookRow> rows;
    for (int i = 0; i < q->rows(); ++i) {
      WebhookRow w{q->Text(i, 0), q->Text(i, 1), {}, q->Text(i, 3), q->Int(i, 4)};
      io::Json events = io::Json::parse(q->Text(i, 2), nullptr, false);
      if (events.is_array()) {
        for (const auto& e : events) {
          if (e.is_string()) w.events.push_back(e.get<std::string>());
        }
      }
      rows.push_back(std::move(w));
    }
    return rows;
  }

  Status PutWebhook(const WebhookRow& w) override {
    Status s = Insert(
        "webhook",
        "INSERT INTO webhooks(workspace, id, url, events, secret, created_at) VALUES($1,$2,$3,$4,$5,$6) "
        "ON CONFLICT DO NOTHING",
        {ws_, w.id, w.url, io::Json(w.events).dump(), w.secret, w.created_at});
    if (s.code() == Code::kConflict) return Status::Conflict("webhook \"" + w.id + "\" already exists");
    if (!s.ok()) return s;
    // A new webhook with a deleted one's id starts with no deliveries: the old ones were for
    // another receiver (and a retry would send an old event to this one).
    auto q = c_->Query("DELETE FROM outbox WHERE workspace=$1 AND webhook=$2 AND COALESCE(connector, '')=''", {ws_, w.id});
    return q.ok() ? Status::Ok() : q.status();
  }

  Status DeleteWebhook(const std::string& id) override {
    auto q = c_->Query("DELETE FROM webhooks WHERE workspace=$1 AND id=$2", {ws_, id});
    if (!q.ok()) return q.status();
    if (q->Affected() == 0) return Status::NotFound("unknown webhook \"" + id + "\"");
    // Pending deliveries of a deleted webhook are dropped with it.
    return c_->Run(
        "UPDATE outbox SET status='failed', last_error='webhook deleted' WHERE workspace=$1 AND webhook=$2 AND "
        "status='pending'",
        {ws_, id});
  }

  Status InsertDelivery(const DeliveryRow& d) override {
    return Insert(
        "delivery \"" + d.id + "\"",
        "INSERT INTO outbox(id, workspace, webhook, event, body, next_attempt_at, created_at, connector, subject) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
        {d.id, ws_, d.webhook, d.event, d.body, d.next_attempt_at, d.created_at,
         d.connector.empty() ? std::optional<std::string>() : std::optional<std::string>(d.connector),
         d.subject.empty() ? std::optional<std::string>() : std::optional<std::string>(d.subject)});
  }

  Result<int64_t> SupersedeWriteBacks(const std::string& connector, const std::string& subject,
                                      const std::string& why) override {
    auto q = c_->Query(
        "UPDATE outbox SET status='superseded', last_error=$4 WHERE workspace=$1 AND connector=$2 AND subject=$3 "
        "AND status='pending'",
        {ws_, connector, subject, why});
    if (!q.ok()) return q.status();
    return static_cast<int64_t>(q->Affected());
  }

  Result<std::vector<DeliveryRow>> Deliveries(const std::string& webhook, std::optional<int64_t> before_seq,
                                              int limit) override {
    return OutboxPage("webhook", webhook, before_seq, limit);
  }

  // A page of the outbox rows of one webhook or connector (`column`, one of the two),
  // newest first, before `before_seq` when given.
  Result<std::vector<DeliveryRow>> OutboxPage(const char* column, const std::string& id,
                                              std::optional<int64_t> before_seq, int limit) {
    auto q = c_->Query(std::string("SELECT ") + kDeliveryColumns + " FROM outbox o WHERE o.workspace=$1 AND o." +
                           column + "=$2 AND ($3::bigint IS NULL OR o.seq<$3::bigint) ORDER BY o.seq DESC LIMIT $4",
                       {ws_, id, before_seq, static_cast<int64_t>(limit)});
    if (!q.ok()) return q.status();
    std::vector<DeliveryRow> rows;
    for (int i = 0; i < q->rows(); ++i) rows.push_back(ReadDelivery(*q, i));
    return rows;
  }

  Result<std::optional<DeliveryRow>> FindWriteBack(const std::string& connector, const std::string& id) override {
    auto q = c_->Query(std::string("SELECT ") + kDeliveryColumns +
                           " FROM outbox o WHERE o.workspace=$1 AND o.connector=$2 AND o.id=$3",
                       {ws_, connector, id});
    if (!q.ok()) return q.status();
    if (q->rows() == 0) return std::optional<DeliveryRow>();
    return std::optional<DeliveryRow>(ReadDelivery(*q, 0));
  }

  Status RetryDelivery(const std::string& webhook, const std::string& id, int64_t now_ms) override {
    return Requeue("webhook", webhook, id, now_ms, "delivery");
  }

  Status RetryWriteBack(const std::string& connector, const std::string& id, int64_t now_ms) override {
    auto row = c_->Query(
        "SELECT o.status, o.last_error, COALESCE((SELECT n.id FROM outbox n WHERE n.workspace=o.workspace "
        "AND n.connector=o.connector AND n.subject=o.subject AND n.seq>o.seq ORDER BY n.seq DESC LIMIT 1), '') "
        "FROM outbox o WHERE o.workspace=$1 AND o.connector=$2 AND o.id=$3",
        {ws_, connector, id});
    if (!row.ok()) return row.status();
    if (row->rows() > 0) {
      if (auto refused = RefusedRetry(id, row->Text(0, 0), row->Text(0, 1), row->Text(0, 2))) return *refused;
    }
    return Requeue("connector", connector, id, now_ms, "write-back");
  }

  // An outbox row of `owner` (its `column`: webhook or connector) pending again now. A row
  // being sent keeps its lease: its receiver still gets one delivery at a time.
  Status Requeue(const char* column, const std::string& owner, const std::string& id, int64_t now_ms, const char* what) {
    auto q = c_->Query(std::string("UPDATE outbox SET status='pending', next_attempt_at=$1 WHERE "
                                   "workspace=$2 AND ") + column + "=$3 AND id=$4",
                       {now_ms, ws_, owner, id});
    if (!q.ok()) return q.status();
    if (q->Affected() == 0) return Status::NotFound(std::string("unknown ") + what + " \"" + id + "\"");
    return Status::Ok();
  }

  // ---- connectors
  Result<std::vector<ConnectorRow>> Connectors() override {
    auto q = c_->Query(
        "SELECT id, kind, doc, secrets, created_at, updated_at FROM connectors WHERE workspace=$1 ORDER BY id", {ws_});
    if (!q.ok()) return q.status();
    std::vector<ConnectorRow> rows;
    for (int i = 0; i < q->rows(); ++i) rows.push_back(ReadConnector(*q, i, 0));
    return rows;
  }

  Result<std::optional<ConnectorRow>> FindConnector(const std::string& id) override {
    auto q = c_->Query(
        "SELECT id, kind, doc, secrets, created_at, updated_at FROM connectors WHERE workspace=$1 AND id=$2",
        {ws_, id});
    if (!q.ok()) return q.status();
    if (q->rows() == 0) return std::optional<ConnectorRow>();
    return std::optional<ConnectorRow>(ReadConnector(*q, 0, 0));
  }

  Status InsertConnector(const ConnectorRow& c) override {
    Status s = Insert("connector",
                      "INSERT INTO connectors(workspace, id, kind, doc, secrets, created_at, updated_at) "
                      "VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
                      {ws_, c.id, c.kind, c.doc, c.secrets, c.created_at, c.updated_at});
    if (s.code() == Code::kConflict) return Status::Conflict("connector \"" + c.id + "\" already exists");
    if (!s.ok()) return s;
    // Nor does a new connector with a deleted one's id (its write-backs would hold this one's).
    auto q = c_->Query("DELETE FROM outbox WHERE workspace=$1 AND connector=$2", {ws_, c.id});
    return q.ok() ? Status::Ok() : q.status();
  }

  Status UpdateConnector(const ConnectorRow& c) override {
    auto q = c_->Query("UPDATE connectors SET kind=$1, doc=$2, secrets=$3, updated_at=$4 WHERE workspace=$5 AND id=$6",
                       {c.kind, c.doc, c.secrets, c.updated_at, ws_, c.id});
    if (!q.ok()) return q.status();
    if (q->Affected() == 0) return Status::NotFound("unknown connector \"" + c.id + "\"");
    return c_->Run(
        "UPDATE outbox SET next_attempt_at=0 WHERE workspace=$1 AND connector=$2 AND status IN ('pending', "
        "'superseded') AND last_status=401",
        {ws_, c.id});
  }

  Status DeleteConnector(const std::string& id) override {
    auto q = c_->Query("DELETE FROM connectors WHERE workspace=$1 AND id=$2", {ws_, id});
    if (!q.ok()) return q.status();
    if (q->Affected() == 0) return Status::NotFound("unknown connector \"" + id + "\"");
    return c_->Run(
        "UPDATE outbox SET status='failed', last_error='connector deleted' WHERE workspace=$1 AND connector=$2 AND "
        "status='pending'",
        {ws_, id});
  }

  Result<std::vector<DeliveryRow>> ConnectorDeliveries(const std::string& connector, std::optional<int64_t> before_seq,
                                                       int limit) override {
    return OutboxPage("connector", connector, before_seq, limit);
  }

 private:
  // The stored record's open flag and owners; nullopt when it is not stored.
  Result<std::optional<open_counts::Ownership>> StoredOwnership(const std::string& type, const std::string& id) const {
    auto q = c_->Query(
        "SELECT open, (body::json->'owners')::text FROM records WHERE workspace=$1 AND object_type=$2 AND id=$3",
        {ws_, type, id});
    if (!q.ok()) return q.status();
    if (q->rows() == 0) return std::optional<open_counts::Ownership>();
    return std::optional<open_counts::Ownership>(open_counts::Parse(q->Int(0, 0) != 0, q->Text(0, 1)));
  }

  // StoredOwnership, remembered in known_.
  Result<std::optional<open_counts::Ownership>> Known(const std::string& type, const std::string& id) const {
    return known_.Get(type, id, [&] { return StoredOwnership(type, id); });
  }

  Status Insert(const std::string& what, const std::string& sql, const std::vector<Param>& params) {
    auto q = c_->Query(sql, params);
    if (!q.ok()) return q.status();
    if (q->Affected() == 0) return Status::Conflict("already exists: " + what);
    return Status::Ok();
  }

  Result<int64_t> Count(const char* sql) {
    auto q = c_->Query(sql, {ws_});
    if (!q.ok()) return q.status();
    return q->rows() > 0 ? q->Int(0, 0) : 0;
  }

  ConnectionPool& pool_;
  std::unique_ptr<PgConnection> c_;
  const std::string ws_;
  bool done_ = false;
  counts::PendingCounts pending_;
  mutable open_counts::Memory known_;  // the record last read or written
};

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string conninfo, size_t max_connections, std::chrono::milliseconds timeout)
      : pool_(std::move(conninfo), max_connections, timeout) {}

  Status Migrate() {
    auto c = pool_.Take();
    if (!c.ok()) return c.status();
    PgConnection& conn = **c;
    // A migration may rebuild a large table: no statement timeout for it.
    const auto timeout = conn.timeout();
    conn.set_timeout(std::chrono::milliseconds(0));
    Status s = conn.ServerTimeout();
    if (s.ok()) s = MigrateOn(conn);
    if (!s.ok() && !conn.Idle()) (void)conn.Exec("ROLLBACK");
    conn.set_timeout(timeout);
    if (Status back = conn.ServerTimeout(); s.ok()) s = back;
    pool_.Give(std::move(c).value());
    return s;
  }

  template <typename F>
  auto WithConnection(F f) -> decltype(f(std::declval<PgConnection&>())) {
    auto c = pool_.Take();
    if (!c.ok()) return c.status();
    auto result = f(**c);
    pool_.Give(std::move(c).value());
    return result;
  }

  Result<bool> WorkspaceExists(const std::string& id) override {
    return WithConnection([&](PgConnection& c) -> Result<bool> {
      auto q = c.Query("SELECT 1 FROM workspaces WHERE id=$1", {id});
      if (!q.ok()) return q.status();
      return q->rows() > 0;
    });
  }

  Result<int64_t> CountWorkspaces() override {
    return WithConnection([&](PgConnection& c) -> Result<int64_t> {
      auto q = c.Query("SELECT COUNT(*) FROM workspaces");
      if (!q.ok()) return q.status();
      return q->Int(0, 0);
    });
  }

  Status CreateWorkspace(const std::string& id, const std::string& empty_doc, int64_t at) override {
    return WithConnection([&](PgConnection& c) -> Status {
      Status s = c.Run("INSERT INTO workspaces(id, created_at, config_version, config) VALUES($1,$2,1,$3)",
                       {id, at, empty_doc});
      if (s.code() == Code::kConflict) return Status::Conflict("workspace \"" + id + "\" already exists");
      return s;
    });
  }

  Status CreateKey(const KeyRow& k) override {
    return WithConnection([&](PgConnection& c) -> Status {
      return c.Run(
          "INSERT INTO api_keys(id, workspace, role, can_reassign, name, hash, created_at) "
          "VALUES($1,$2,$3,$4,$5,$6,$7)",
          {k.id, k.workspace, k.role, k.can_reassign, k.name, k.hash, k.created_at});
    });
  }

  Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) override {
    return WithConnection([&](PgConnection& c) { return KeyByHash(c, hash); });
  }

  Result<std::vector<KeyRow>> ListKeys(const std::optional<std::string>& workspace) override {
    return WithConnection([&](PgConnection& c) -> Result<std::vector<KeyRow>> {
      auto q = c.Query(std::string("SELECT ") + kKeyColumns +
                           " FROM api_keys WHERE ($1::text IS NULL OR workspace=$1::text) ORDER BY created_at, id",
                       {workspace});
      if (!q.ok()) return q.status();
      std::vector<KeyRow> rows;
      for (int i = 0; i < q->rows(); ++i) rows.push_back(ReadKey(*q, i));
      return rows;
    });
  }

  Status RevokeKey(const std::string& id, const std::optional<std::string>& workspace, int64_t at) override {
    return WithConnection([&](PgConnection& c) -> Status {
      Status s = c.Exec("BEGIN ISOLATION LEVEL READ COMMITTED");  // whatever the server's default
      if (!s.ok()) return s;
      s = RevokeKeyIn(c, id, workspace, at);
      if (!s.ok()) {
        (void)c.Exec("ROLLBACK");
        return s;
      }
      return c.Exec("COMMIT");
    });
  }

  // RevokeKey in `c`'s transaction.
  static Status RevokeKeyIn(PgConnection& c, const std::string& id, const std::optional<std::string>& workspace,
                            int64_t at) {
    auto ws = c.Query("SELECT workspace FROM api_keys WHERE id=$1 AND ($2::text IS NULL OR workspace=$2::text)",
                      {id, workspace});
    if (!ws.ok()) return ws.status();
    if (ws->rows() == 0) return Status::NotFound("unknown key \"" + id + "\"");
    // After the workspace's decisions under way, whose lock (BeginWrite) this waits for: a
    // decision that confirmed the key (service::ConfirmKey) commits before the revocation,
    // and none after it, as SQLite's single writer orders them.
    if (Status s = LockWorkspace(c, ws->Text(0, 0)); !s.ok()) return s;
    // The workspace's admin keys locked in the order of their ids: of two revocations at
    // once of its last two, the second counts one left.
    auto q = c.Query(
        "WITH target AS (SELECT workspace FROM api_keys WHERE id=$2 AND ($3::text IS NULL OR workspace=$3::text)), "
        "admins AS (SELECT id FROM api_keys WHERE workspace IN (SELECT workspace FROM target) AND role='admin' "
        "AND revoked_at IS NULL ORDER BY id FOR UPDATE) "
        "UPDATE api_keys SET revoked_at=COALESCE(revoked_at, $1::bigint) WHERE id=$2 AND "
        "($3::text IS NULL OR workspace=$3::text) AND (role <> 'admin' OR revoked_at IS NOT NULL OR "
        "(SELECT COUNT(*) FROM admins) > 1)",
        {at, id, workspace});
    if (!q.ok()) return q.status();
    if (q->Affected() > 0) return Status::Ok();
    return LastAdminKey(id);
  }

  Result<std::vector<std::string>> ListWorkspaces() override {
    return WithConnection([&](PgConnection& c) -> Result<std::vector<std::string>> {
      auto q = c.Query("SELECT id FROM workspaces ORDER BY id");
      if (!q.ok()) return q.status();
      std::vector<std::string> ids;
      for (int i = 0; i < q->rows(); ++i) ids.push_back(q->Text(i, 0));
      return ids;
    });
  }

  // One statement, under the claims' lock: the due rows no other node holds are locked
  // (SKIP LOCKED), leased and returned; a leased row, and the rest of its destination, is
  // not handed out again until its lease ends (or its attempt is recorded), so a node that
  // dies mid-delivery leaves it to another after the lease.
  Result<std::vector<DeliveryRow>> ClaimDeliveries(int64_t now_ms, int64_t lease_ms, int limit,
                                                   const std::vector<std::string>& busy) override {
    // Of every destination (a webhook, or a connector's CRM: webhook ''), the one whose
    // oldest due delivery is oldest, of those not busy and not held until a retry
    // (HoldsDestination), then its due rows (those no other node holds). Each destination's
    // rows are read through its pending ones in order (outbox_pending), not every due row.
    static constexpr const char* kDueOf =
        "o.status='pending' AND o.workspace=d.workspace AND o.webhook=d.webhook "
        "AND COALESCE(o.connector, '')=d.connector AND o.next_attempt_at<=$1::bigint AND o.lease_until<=$1::bigint ";
    return WithConnection([&](PgConnection& c) -> Result<std::vector<DeliveryRow>> {
      // One claim at a time across nodes (a lock of its own, apart from the workspaces'
      // one-key locks), each seeing the leases of those before it: a destination whose row
      // another node is sending is passed over (kLeasedRowSql), not sent to at once.
      // A claim stuck mid-way (its node cut off) holds the lock until PostgreSQL ends its
      // session: the others give up after 2 s and try again at their next poll.
      Status s = c.Exec("BEGIN ISOLATION LEVEL READ COMMITTED");
      if (s.ok()) s = c.Exec("SET LOCAL lock_timeout = '2s'; SET LOCAL idle_in_transaction_session_timeout = '10s'");
      if (s.ok()) s = c.Run("SELECT pg_advisory_xact_lock(1919906913, 1)");
      if (!s.ok()) {
        (void)c.Exec("ROLLBACK");
        return s;
      }
      auto q = c.Query(
          std::string("WITH d AS (SELECT workspace, id AS webhook, ''::text AS connector FROM webhooks "
                      "UNION ALL SELECT workspace, '', id FROM connectors), "
                      "dest AS (SELECT d.workspace, d.webhook, d.connector FROM d "
                      "CROSS JOIN LATERAL (SELECT o.seq FROM outbox o WHERE ") +
              kDueOf +
              "ORDER BY o.seq LIMIT 1) f "
              "WHERE d.workspace || chr(31) || d.webhook || chr(31) || d.connector "
              "NOT IN (SELECT jsonb_array_elements_text($4::jsonb)) "
              "AND NOT EXISTS (SELECT 1 FROM outbox h WHERE h.next_attempt_at>$1::bigint AND " + kHoldingRowSql +
              " AND h.workspace=d.workspace AND h.webhook=d.webhook AND COALESCE(h.connector, '')=d.connector) "
              "AND NOT EXISTS (SELECT 1 FROM outbox l WHERE " + kLeasedRowSql + "$1::bigint) "
              "ORDER BY f.seq LIMIT 1), "
              "due AS (SELECT o.seq FROM dest d JOIN outbox o ON " + kDueOf +
              "ORDER BY o.seq LIMIT $2 FOR UPDATE OF o SKIP LOCKED), "
              "claimed AS (UPDATE outbox o SET lease_until=$3::bigint FROM due WHERE o.seq=due.seq RETURNING o.*) "
              "SELECT " +
              kDeliveryColumns +
              ", COALESCE(w.url, ''), COALESCE(w.secret, ''), c.id, c.kind, c.doc, c.secrets, c.created_at, "
              "c.updated_at FROM claimed o "
              "LEFT JOIN webhooks w ON w.workspace=o.workspace AND w.id=o.webhook "
              "LEFT JOIN connectors c ON c.workspace=o.workspace AND c.id=o.connector",
          {now_ms, static_cast<int64_t>(limit), now_ms + lease_ms, io::Json(busy).dump()});
      if (q.ok()) s = c.Exec("COMMIT");
      if (!q.ok() || !s.ok()) {
        (void)c.Exec("ROLLBACK");
        return q.ok() ? s : q.status();
      }
      std::vector<DeliveryRow> rows;
      for (int i = 0; i < q->rows(); ++i) {
        DeliveryRow d = ReadDelivery(*q, i);
        d.url = q->Text(i, 14);
        d.secret = q->Text(i, 15);
        if (!q->IsNull(i, 16)) d.target = ReadConnector(*q, i, 16);
        rows.push_back(std::move(d));
      }
      std::sort(rows.begin(), rows.end(), [](const DeliveryRow& a, const DeliveryRow& b) { return a.seq < b.seq; });
      return rows;
    });
  }

  Result<bool> StillClaimed(const std::string& id, int64_t leased_until) override {
    return WithConnection([&](PgConnection& c) -> Result<bool> {
      auto q = c.Query("SELECT 1 FROM outbox WHERE id=$1 AND status='pending' AND lease_until=$2::bigint",
                       {id, leased_until});
      if (!q.ok()) return q.status();
      return q->rows() > 0;
    });
  }

  Status ReleaseDeliveries(const std::vector<std::string>& ids, int64_t leased_until) override {
    if (ids.empty()) return Status::Ok();
    return WithConnection([&](PgConnection& c) -> Status {
      return c.Run(
          "UPDATE outbox SET lease_until=0 WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
          "AND lease_until=$2::bigint",
          {io::Json(ids).dump(), leased_until});
    });
  }

  Status FinishAttempt(const std::string& id, const AttemptResult& r, std::optional<int64_t> leased_until,
                       std::optional<int64_t> claimed_due) override {
    return WithConnection([&](PgConnection& c) -> Status {
      const char* status = r.state == AttemptResult::State::kDelivered ? "delivered"
                           : r.state == AttemptResult::State::kFailed  ? "failed"
                                                                        : "pending";
      auto q = c.Query(
          "UPDATE outbox SET status=$1, attempts=attempts+1, next_attempt_at=$2, lease_until=0, "
          "last_status=$3, last_error=$4, delivered_at=$5 WHERE id=$6 "
          "AND ($7::bigint IS NULL OR (status='pending' AND lease_until=$7::bigint AND "
          "($8::bigint IS NULL OR next_attempt_at=$8::bigint)))",
          {status, r.next_attempt_at, r.http_status, r.error,
           r.state == AttemptResult::State::kDelivered ? std::optional<int64_t>(r.at) : std::nullopt, id, leased_until,
           claimed_due});
      if (!q.ok()) return q.status();
      if (!leased_until || q->Affected() > 0) return Status::Ok();
      // Not recorded (superseded meanwhile, or to be sent again): its lease ends now all the
      // same, so that its destination is not left waiting for it.
      return c.Run("UPDATE outbox SET lease_until=0 WHERE id=$1 AND lease_until=$2", {id, *leased_until});
    });
  }

  Result<std::unique_ptr<Tx>> BeginWrite(const std::string& workspace) override {
    // READ COMMITTED: every statement after the lock sees all that was committed
    // before it was granted, so the decision reads the latest state.
    return Begin(workspace, "BEGIN ISOLATION LEVEL READ COMMITTED", true);
  }

  Result<std::unique_ptr<Tx>> BeginRead(const std::string& workspace) override {
    return Begin(workspace, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false);
  }

 private:
  Result<std::unique_ptr<Tx>> Begin(const std::string& workspace, const char* begin, bool lock) {
    auto c = pool_.Take();
    if (!c.ok()) return c.status();
    std::unique_ptr<PgConnection> conn = std::move(c).value();
    Status s = conn->Exec(begin);
    if (s.ok() && lock) s = LockWorkspace(*conn, workspace);  // until commit or rollback
    if (!s.ok()) {
      if (!conn->Idle()) (void)conn->Exec("ROLLBACK");
      pool_.Give(std::move(conn));
      return s;
    }
    return std::unique_ptr<Tx>(new PostgresTx(pool_, std::move(conn), workspace));
  }

  static Status MigrateOn(PgConnection& conn) {
    Status s = conn.Exec("BEGIN");
    if (!s.ok()) return s;
    if (s = conn.Run(std::string("SELECT pg_advisory_xact_lock(") + kMigrationLock + ")"); !s.ok()) return s;
    // A database that holds another program's tables (and none of rota's) is refused and
    // left as it was, as SQLite's is: rota's tables go into an empty database or its own.
    auto foreign = conn.Query(
        "SELECT to_regclass('rota_schema_migrations') IS NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
        "WHERE schemaname = current_schema())");
    if (!foreign.ok()) return foreign.status();
    if (foreign->Text(0, 0) == "t") {
      return Status(Code::kInvalid, "not_a_rota_database",
                    "the database holds another program's tables and none of rota's: give rota a database of its own");
    }
    s = conn.Exec(
        "CREATE TABLE IF NOT EXISTS rota_schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    if (!s.ok()) return s;
    auto v = conn.Query("SELECT COALESCE(MAX(version), 0) FROM rota_schema_migrations");
    if (!v.ok()) return v.status();
    const int64_t version = v->Int(0, 0);
    const auto& migrations = Migrations();
    if (version > static_cast<int64_t>(migrations.size())) return NewerSchema(version, migrations.size());
    for (size_t i = static_cast<size_t>(version); i < migrations.size(); ++i) {
      s = conn.Exec(migrations[i]);
      if (s.ok()) {
        s = conn.Run("INSERT INTO rota_schema_migrations(version) VALUES($1)", {static_cast<int64_t>(i + 1)});
      }
      if (!s.ok()) return Status::Internal("migration " + std::to_string(i + 1) + " failed: " + s.message());
    }
    return conn.Exec("COMMIT");
  }

  ConnectionPool pool_;
};

}  // namespace

namespace {

// A whole number from the environment within [low, high], else `fallback` when unset.
Result<long> Setting(const char* name, long low, long high, long fallback) {
  const char* env = std::getenv(name);
  if (!env || !*env) return fallback;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(env, &end, 10);
  if (errno != 0 || *end != '\0' || n < low || n > high) {
    return Status(Code::kInvalid, "bad_setting",
                  std::string(name) + " is a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                      ", got \"" + env + "\"");
  }
  return n;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgres(const std::string& conninfo) {
  auto max = Setting("ROTA_PG_MAX_CONNECTIONS", 1, 1000, 32);
  if (!max.ok()) return max.status();
  auto timeout_ms = Setting("ROTA_PG_STATEMENT_TIMEOUT_MS", 100, 3'600'000, 30'000);
  if (!timeout_ms.ok()) return timeout_ms.status();
  auto store = std::make_unique<PostgresStore>(conninfo, static_cast<size_t>(*max),
                                               std::chrono::milliseconds(*timeout_ms));
  Status s = store->Migrate();
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rota::store::postgres
