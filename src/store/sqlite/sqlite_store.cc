#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "io/config_json.h"
#include "store/decision_counts.h"
#include "store/open_counts.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"

namespace rota::store::sqlite {
namespace {

using core::ObjectType;

class SqliteStore;

// A pool of connections handed out one per transaction.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::string path) : path_(std::move(path)) {}
  Result<std::unique_ptr<Connection>> Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto c = std::move(free_.back());
        free_.pop_back();
        return c;
      }
    }
    return Connection::Open(path_);
  }
  void Give(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < 64) free_.push_back(std::move(c));
  }

 private:
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> free_;  // GUARDED_BY(mu_)
};

KeyRow ReadKey(const Stmt& q) {
  KeyRow k;
  k.id = q.Text(0);
  k.workspace = q.Text(1);
  k.role = q.Text(2);
  k.can_reassign = q.Int(3) != 0;
  k.name = q.Text(4);
  k.hash = q.Text(5);
  k.created_at = q.Int(6);
  k.revoked_at = q.OptInt(7);
  return k;
}

// The key with this hash on `c`, in a transaction or not.
Result<std::optional<KeyRow>> KeyByHash(Connection& c, const std::string& hash) {
  Stmt q = c.Prepare(
      "SELECT id, workspace, role, can_reassign, name, hash, created_at, revoked_at FROM api_keys WHERE hash=?");
  q.Bind(1, hash);
  Status err;
  if (q.Step(&err)) return std::optional<KeyRow>(ReadKey(q));
  if (!err.ok()) return err;
  return std::optional<KeyRow>();
}

class SqliteTx final : public Tx {
 public:
  using GiveBack = std::function<void(std::unique_ptr<Connection>)>;
  // A read transaction: `conn` goes back to the pool at the end. A write transaction:
  // `conn` is the store's writer, given back under `write_lock`.
  SqliteTx(GiveBack give_back, std::unique_ptr<Connection> conn, std::unique_lock<std::mutex> write_lock,
           std::string workspace)
      : give_back_(std::move(give_back)),
        c_(std::move(conn)),
        lock_(std::move(write_lock)),
        ws_(std::move(workspace)) {}

  ~SqliteTx() override {
    if (!done_) (void)c_->Prepare("ROLLBACK").Run();
    give_back_(std::move(c_));
  }

  Status Commit() override {
    Status s = read_error_.ok() ? FlushCounts() : read_error_;
    if (s.ok()) s = c_->Prepare("COMMIT").Run();
    if (!s.ok()) {
      (void)c_->Prepare("ROLLBACK").Run();
    }
    done_ = true;
    return s;
  }

  // Transaction control through cached statements too: sqlite3_exec parses its SQL on
  // every call, and a decision runs a unit of its own (issue 8).
  Status BeginUnit() override {
    pending_.BeginUnit();
    return c_->Prepare("SAVEPOINT unit").Run();
  }
  Status EndUnit() override {
    if (!read_error_.ok()) return read_error_;  // decided on a read that failed: not kept
    pending_.EndUnit();
    return c_->Prepare("RELEASE unit").Run();
  }
  Status RollbackUnit() override {
    pending_.RollbackUnit();
    known_.Forget();
    Status s = c_->Prepare("ROLLBACK TO unit").Run();
    return s.ok() ? c_->Prepare("RELEASE unit").Run() : s;
  }

  // ---- core::StateView
  // StateView's reads have no error to give: one that fails is kept, and fails the unit
  // (EndUnit) and the transaction (Commit), so that nothing decided on it is stored. A
  // record read as missing would otherwise be written over, its notes and links lost.
  template <typename T>
  T Failed(const Status& err, T fallback) const {
    if (!err.ok() && read_error_.ok()) read_error_ = err;
    return fallback;
  }

  int64_t PoolPointer(const std::string& pool) const override {
    Stmt q = c_->Prepare("SELECT pointer FROM pool_state WHERE workspace=? AND pool=?");
    q.Bind(1, ws_).Bind(2, pool);
    Status err;
    return q.Step(&err) ? q.Int(0) : Failed(err, 0);
  }

  std::vector<int64_t> KeyCredits(const std::string& distribution, const std::string& folded_value,
                                  const std::vector<std::string>& users) const override {
    std::vector<int64_t> credits(users.size(), 0);
    Stmt q = c_->Prepare("SELECT user, credit FROM key_state WHERE workspace=? AND distribution=? AND value=?");
    q.Bind(1, ws_).Bind(2, distribution).Bind(3, folded_value);
    Status err;
    while (q.Step(&err)) {
      auto it = std::find(users.begin(), users.end(), q.Text(0));
      if (it != users.end()) credits[static_cast<size_t>(it - users.begin())] = q.Int(1);
    }
    return Failed(err, std::move(credits));
  }

  int64_t AssignedSince(const std::string& user, core::Time since, core::Time until) const override {
    Stmt q = c_->Prepare("SELECT COUNT(*) FROM decisions WHERE workspace=? AND owner=? AND at>=? AND at<=?");
    q.Bind(1, ws_).Bind(2, user).Bind(3, static_cast<int64_t>(since.time_since_epoch().count()));
    q.Bind(4, static_cast<int64_t>(until.time_since_epoch().count()));
    Status err;
    return q.Step(&err) ? q.Int(0) : Failed(err, 0);
  }

  int64_t OpenRecords(const std::string& user, ObjectType type, const std::string& exclude_id) const override {
    const std::string t(core::ToString(type));
    Stmt q = c_->Prepare("SELECT n FROM open_counts WHERE workspace=? AND user=? AND object_type=?");
    q.Bind(1, ws_).Bind(2, user).Bind(3, t);
    Status err;
    int64_t n = q.Step(&err) ? q.Int(0) : Failed(err, 0);
    // The record being decided does not count itself.
    auto stored = Known(t, exclude_id);
    if (!stored.ok()) return Failed(stored.status(), n);
    if (*stored && (*stored)->Counts(user)) --n;
    return n;
  }

  std::optional<core::Record> FindRecord(ObjectType type, const std::string& id) const override {
    const std::string t(core::ToString(type));
    Stmt q = c_->Prepare("SELECT body FROM records WHERE workspace=? AND object_type=? AND id=?");
    q.Bind(1, ws_).Bind(2, t).Bind(3, id);
    Status err;
    if (!q.Step(&err)) {
      if (err.ok()) known_.Remember(t, id, std::nullopt);
      return Failed(err, std::nullopt);
    }
    io::Problems p;
    io::Json j = io::Json::parse(q.Text(0), nullptr, false);
    core::Record r = io::ReadStoredRecord(j, p);
    r.object_type = type;
    if (!j.is_discarded() && p.empty()) known_.Remember(t, id, open_counts::Of(r.open, r.owners));
    return r;
  }

  // ---- configuration
  Result<std::pair<int64_t, std::string>> LoadConfig() override {
    Stmt q = c_->Prepare("SELECT config_version, config FROM workspaces WHERE id=?");
    q.Bind(1, ws_);
    Status err;
    if (!q.Step(&err)) {
      if (!err.ok()) return err;
      return Status::NotFound("unknown workspace \"" + ws_ + "\"");
    }
    return std::make_pair(q.Int(0), q.Text(1));
  }

  Result<int64_t> ConfigVersion() override {
    Stmt q = c_->Prepare("SELECT config_version FROM workspaces WHERE id=?");
    q.Bind(1, ws_);
    Status err;
    if (q.Step(&err)) return q.Int(0);
    if (!err.ok()) return err;
    return Status::NotFound("unknown workspace \"" + ws_ + "\"");
  }

  Status SaveConfig(int64_t version, const std::string& doc) override {
    return c_->Prepare("UPDATE workspaces SET config_version=?, config=? WHERE id=?")
        .Bind(1, version)
        .Bind(2, doc)
        .Bind(3, ws_)
        .Run();
  }

  // ---- rotation state
  Status SetPoolPointer(const std::string& pool, int64_t position) override {
    return c_->Prepare(
                 "INSERT INTO pool_state(workspace, pool, pointer) VALUES(?,?,?) "
                 "ON CONFLICT(workspace, pool) DO UPDATE SET pointer=excluded.pointer, left_member=NULL")
        .Bind(1, ws_)
        .Bind(2, pool)
        .Bind(3, position)
        .Run();
  }

  Status DeletePoolState(const std::string& pool) override {
    return c_->Prepare("DELETE FROM pool_state WHERE workspace=? AND pool=?").Bind(1, ws_).Bind(2, pool).Run();
  }

  Result<std::string> PoolLeftMember(const std::string& pool) override {
    Stmt q = c_->Prepare("SELECT left_member FROM pool_state WHERE workspace=? AND pool=?");
    q.Bind(1, ws_).Bind(2, pool);
    Status err;
    if (q.Step(&err)) return q.OptText(0).value_or("");
    if (!err.ok()) return err;
    return std::string();
  }

  Status SetPoolLeftMember(const std::string& pool, const std::string& user) override {
    return c_->Prepare("UPDATE pool_state SET left_member=? WHERE workspace=? AND pool=?")
        .Bind(1, user)
        .Bind(2, ws_)
        .Bind(3, pool)
        .Run();
  }

  Status SaveKeyPick(const core::KeyPick& pick) override {
    for (size_t i = 0; i < pick.users.size(); ++i) {
      Status s = c_->Prepare(
                       "INSERT INTO key_state(workspace, distribution, value, user, credit, assigned) "
                       "VALUES(?,?,?,?,?,?) ON CONFLICT(workspace, distribution, value, user) DO UPDATE SET "
                       "credit=excluded.credit, assigned=key_state.assigned+excluded.assigned")
                     .Bind(1, ws_)
                     .Bind(2, pick.distribution)
                     .Bind(3, pick.value)
                     .Bind(4, pick.users[i])
                     .Bind(5, pick.credits[i])
                     .Bind(6, static_cast<int64_t>(pick.users[i] == pick.winner ? 1 : 0))
                     .Run();
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status ResetKeyState(const std::string& distribution, const std::optional<std::string>& folded) override {
    return c_->Prepare("DELETE FROM key_state WHERE workspace=?1 AND distribution=?2 AND (?3 IS NULL OR value=?3)")
        .Bind(1, ws_)
        .Bind(2, distribution)
        .Bind(3, folded)
        .Run();
  }

  Result<std::vector<KeyStateRow>> KeyState(const std::string& distribution) override {
    Stmt q = c_->Prepare("SELECT value, user, credit, assigned FROM key_state WHERE workspace=? AND distribution=?");
    q.Bind(1, ws_).Bind(2, distribution);
    std::vector<KeyStateRow> rows;
    Status err;
    while (q.Step(&err)) rows.push_back({q.Text(0), q.Text(1), q.Int(2), q.Int(3)});
    if (!err.ok()) return err;
    return rows;
  }

  Status AddUnkeyed(const std::string& distribution, const std::string& folded, const std::string& value) override {
    return c_->Prepare(
                 "INSERT INTO unkeyed_values(workspace, distribution, folded, value) VALUES(?,?,?,?) "
                 "ON CONFLICT(workspace, distribution, folded) DO UPDATE SET seen=seen+1")
        .Bind(1, ws_)
        .Bind(2, distribution)
        .Bind(3, folded)
        .Bind(4, value)
        .Run();
  }

  Status RemoveUnkeyed(const std::string& distribution, const std::optional<std::string>& folded) override {
    return c_->Prepare(
                 "DELETE FROM unkeyed_values WHERE workspace=?1 AND distribution=?2 AND (?3 IS NULL OR folded=?3)")
        .Bind(1, ws_)
        .Bind(2, distribution)
        .Bind(3, folded)
        .Run();
  }

  Result<std::vector<UnkeyedRow>> Unkeyed(const std::string& distribution) override {
    Stmt q = c_->Prepare("SELECT value, seen FROM unkeyed_values WHERE workspace=? AND distribution=? ORDER BY value");
    q.Bind(1, ws_).Bind(2, distribution);
    std::vector<UnkeyedRow> rows;
    Status err;
    while (q.Step(&err)) rows.push_back({q.Text(0), q.Int(1)});
    if (!err.ok()) return err;
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
    Status s = c_->Prepare(
                     "INSERT INTO records(workspace, object_type, id, body, open, updated_at) VALUES(?,?,?,?,?,?) "
                     "ON CONFLICT(workspace, object_type, id) DO UPDATE SET body=excluded.body, open=excluded.open, "
                     "updated_at=excluded.updated_at")
                   .Bind(1, ws_)
                   .Bind(2, type)
                   .Bind(3, r.id)
                   .Bind(4, io::WriteStoredRecord(r).dump())
                   .Bind(5, r.open)
                   .Bind(6, at)
                   .Run();
    if (!s.ok()) return s;
    for (const auto& [user, delta] : open_counts::Delta(*before, after)) {
      s = c_->Prepare(
                "INSERT INTO open_counts(workspace, user, object_type, n) VALUES(?,?,?,?) "
                "ON CONFLICT(workspace, user, object_type) DO UPDATE SET n=n+excluded.n")
              .Bind(1, ws_)
              .Bind(2, user)
              .Bind(3, type)
              .Bind(4, delta)
              .Run();
      if (!s.ok()) return s;
    }
    known_.Remember(type, r.id, after);
    return Status::Ok();
  }

  // ---- decisions
  // The decision now, its count in decision_counts at the end of the transaction
  // (PendingCounts: one upsert per row of the table, not per decision), both undone
  // with the unit when it rolls back.
  Status InsertDecision(const DecisionRow& d) override {
    Status s = InsertDecisionRow(d);
    if (s.ok()) pending_.Add(d);
    return s;
  }

  Status InsertDecisionRow(const DecisionRow& d) {
    return c_->Prepare(
                 "INSERT INTO decisions(id, workspace, at, event, object_type, record_id, rule, strategy, outcome, "
                 "owner, reason, body, idempotency_key, request_hash, distribution, key_value) "
                 "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        .Bind(1, d.id)
        .Bind(2, ws_)
        .Bind(3, d.at)
        .Bind(4, d.event)
        .Bind(5, d.object_type)
        .Bind(6, d.record_id)
        .Bind(7, d.rule)
        .Bind(8, d.strategy)
        .Bind(9, d.outcome)
        .Bind(10, d.owner)
        .Bind(11, d.reason)
        .Bind(12, d.body)
        .Bind(13, d.idempotency_key.empty() ? std::nullopt : std::optional<std::string>(d.idempotency_key))
        .Bind(14, d.request_hash)
        .Bind(15, d.distribution)
        .Bind(16, d.key_value)
        .Run();
  }

  // The counts owed by this transaction, into decision_counts.
  Status FlushCounts() {
    for (const auto& [k, n] : pending_.Take()) {
      Status s = c_->Prepare(
                       "INSERT INTO decision_counts(workspace, bucket, object_type, rule, distribution, key_value, "
                       "owner, outcome, null_mask, n) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(workspace, bucket, "
                       "object_type, rule, distribution, key_value, owner, outcome, null_mask) DO UPDATE SET n=n+excluded.n")
                     .Bind(1, ws_)
                     .Bind(2, k.bucket)
                     .Bind(3, k.object_type)
                     .Bind(4, k.rule)
                     .Bind(5, k.distribution)
                     .Bind(6, k.key_value)
                     .Bind(7, k.owner)
                     .Bind(8, k.outcome)
                     .Bind(9, k.null_mask)
                     .Bind(10, n)
                     .Run();
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  static constexpr const char* kDecisionColumns =
      "seq, id, workspace, at, event, object_type, record_id, rule, strategy, outcome, owner, reason, body, "
      "COALESCE(idempotency_key, ''), request_hash, distribution, key_value";

  static DecisionRow ReadDecision(const Stmt& q) {
    DecisionRow d;
    d.seq = q.Int(0);
    d.id = q.Text(1);
    d.workspace = q.Text(2);
    d.at = q.Int(3);
    d.event = q.Text(4);
    d.object_type = q.Text(5);
    d.record_id = q.Text(6);
    d.rule = q.OptText(7);
    d.strategy = q.OptText(8);
    d.outcome = q.Text(9);
    d.owner = q.OptText(10);
    d.reason = q.OptText(11);
    d.body = q.Text(12);
    d.idempotency_key = q.Text(13);
    d.request_hash = q.Text(14);
    d.distribution = q.OptText(15);
    d.key_value = q.OptText(16);
    return d;
  }

  Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) override { return KeyByHash(*c_, hash); }

  Result<std::optional<DecisionRow>> FindDecisionByKey(const std::string& key) override {
    Stmt q = c_->Prepare(std::string("SELECT ") + kDecisionColumns +
                         " FROM decisions WHERE workspace=? AND idempotency_key=?");
    q.Bind(1, ws_).Bind(2, key);
    Status err;
    if (q.Step(&err)) return std::optional<DecisionRow>(ReadDecision(q));
    if (!err.ok()) return err;
    return std::optional<DecisionRow>();
  }

  Result<std::vector<DecisionRow>> History(const HistoryFilter& f) override {
    std::string sql = std::string("SELECT ") + kDecisionColumns + " FROM decisions WHERE workspace=?";
    std::vector<std::string> texts;
    std::vector<int64_t> ints;
    if (f.from) sql += " AND at>=" + std::to_string(*f.from);
    if (f.to) sql += " AND at<" + std::to_string(*f.to);
    if (f.before_seq) {
      // Newest first is (at, seq) descending: the cursor row's time, then its seq.
      Stmt at = c_->Prepare("SELECT at FROM decisions WHERE seq=? AND workspace=?");
      at.Bind(1, *f.before_seq).Bind(2, ws_);
      Status err;
      if (at.Step(&err)) {
        sql += " AND (at, seq) < (" + std::to_string(at.Int(0)) + ", " + std::to_string(*f.before_seq) + ")";
      } else {
        if (!err.ok()) return err;
        sql += " AND seq<" + std::to_string(*f.before_seq);  // the cursor's row was purged since
      }
    }
    auto add = [&](const std::optional<std::string>& v, const char* col) {
      if (!v) return;
      sql += std::string(" AND ") + col + "=?";
      texts.push_back(*v);
    };
    add(f.object_type, "object_type");
    add(f.event, "event");
    add(f.rule, "rule");
    add(f.owner, "owner");
    add(f.outcome, "outcome");
    // By time, then storage order (the same as storage order while the clock does not step
    // back): an owner's newest decisions are then the end of decisions_owner (workspace,
    // owner, at, seq), read in index order with no sort; other filters walk decisions_at
    // from the newest end. Ordering by seq alone sorted every matching row (issue 8:
    // seconds for one owner among 5 000 000 decisions).
    sql += " ORDER BY at DESC, seq DESC LIMIT " + std::to_string(std::max(1, f.limit));
    // Filters vary; prepare uncached.
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(c_->raw(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return Status::Internal("database: " + c_->Error());
    }
    std::vector<DecisionRow> rows;
    Status err;
    {
      Stmt q(raw);
      q.Bind(1, ws_);
      for (size_t i = 0; i < texts.size(); ++i) q.Bind(static_cast<int>(i + 2), texts[i]);
      while (q.Step(&err)) rows.push_back(ReadDecision(q));
    }
    sqlite3_finalize(raw);
    if (!err.ok()) return err;
    return rows;
  }

  Result<std::vector<DecisionRow>> RecordDecisions(const std::string& object_type, const std::string& id,
                                                   int limit) override {
    Stmt q = c_->Prepare(std::string("SELECT ") + kDecisionColumns +
                         " FROM decisions WHERE workspace=? AND object_type=? AND record_id=? ORDER BY seq DESC "
                         "LIMIT ?");
    q.Bind(1, ws_).Bind(2, object_type).Bind(3, id).Bind(4, static_cast<int64_t>(limit));
    std::vector<DecisionRow> rows;
    Status err;
    while (q.Step(&err)) rows.push_back(ReadDecision(q));
    if (!err.ok()) return err;
    return rows;
  }

  Status PutUnassigned(const UnassignedRow& u) override {
    return c_->Prepare(
                 "INSERT INTO unassigned(workspace, object_type, record_id, reason, decision_id, at) "
                 "VALUES(?,?,?,?,?,?) ON CONFLICT(workspace, object_type, record_id) DO UPDATE SET "
                 "reason=excluded.reason, decision_id=excluded.decision_id, at=excluded.at")
        .Bind(1, ws_)
        .Bind(2, u.object_type)
        .Bind(3, u.record_id)
        .Bind(4, u.reason)
        .Bind(5, u.decision_id)
        .Bind(6, u.at)
        .Run();
  }

  Status RemoveUnassigned(const std::string& object_type, const std::string& record_id) override {
    return c_->Prepare("DELETE FROM unassigned WHERE workspace=? AND object_type=? AND record_id=?")
        .Bind(1, ws_)
        .Bind(2, object_type)
        .Bind(3, record_id)
        .Run();
  }

  Result<std::vector<UnassignedRow>> ListUnassigned(const std::optional<std::string>& object_type,
                                                    const std::optional<std::string>& after, int limit) override {
    // Ordered by (at DESC, decision_id DESC); the cursor is a decision id.
    Stmt q = c_->Prepare(
        "SELECT object_type, record_id, reason, decision_id, at FROM unassigned WHERE workspace=? "
        "AND (?2 IS NULL OR object_type=?2) AND (?3 IS NULL OR decision_id<?3) "
        "ORDER BY decision_id DESC LIMIT ?4");
    q.Bind(1, ws_).Bind(2, object_type).Bind(3, after).Bind(4, static_cast<int64_t>(limit));
    std::vector<UnassignedRow> rows;
    Status err;
    while (q.Step(&err)) rows.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4)});
    if (!err.ok()) return err;
    return rows;
  }

  Result<int64_t> PurgeDecisions(int64_t before, int64_t counts_before, int64_t keep_from, int64_t keep_to,
                                 int64_t limit) override {
    Status s = c_->Prepare(
                     "DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions WHERE workspace=? AND at<? "
                     "AND NOT (at>=? AND at<?) ORDER BY at LIMIT ?)")
                   .Bind(1, ws_)
                   .Bind(2, before)
                   .Bind(3, keep_from)
                   .Bind(4, keep_to)
                   .Bind(5, limit)
                   .Run();
    if (!s.ok()) return s;
    const auto purged = static_cast<int64_t>(sqlite3_changes(c_->raw()));
    if (purged == limit) return purged;  // more to come: the counts go with the last chunk
    if (s = FlushCounts(); !s.ok()) return s;
    if (s = PurgeCounts(std::min(before, counts_before)); !s.ok()) return s;
    return purged;
  }

  // decision_counts after a purge: buckets wholly before `before` go; the bucket that holds
  // it is counted again from the decisions left in it (a time beyond the buckets' range:
  // all of the workspace's counts are made again).
  Status PurgeCounts(int64_t before) {
    if (before < -counts::kTimeLimit || before > counts::kTimeLimit) return Recount(INT64_MIN, INT64_MAX);
    const int64_t bucket = counts::BucketOf(before);
    Status s = c_->Prepare("DELETE FROM decision_counts WHERE workspace=? AND bucket<?").Bind(1, ws_).Bind(2, bucket).Run();
    if (!s.ok() || bucket == before) return s;
    return Recount(bucket, bucket + counts::kBucketSeconds - 1);
  }

  // The counts of the buckets of [from, to] (inclusive) made again from `decisions`.
  Status Recount(int64_t from, int64_t to) {
    Status s = c_->Prepare("DELETE FROM decision_counts WHERE workspace=? AND bucket>=? AND bucket<=?")
                   .Bind(1, ws_)
                   .Bind(2, from)
                   .Bind(3, to)
                   .Run();
    if (!s.ok()) return s;
    return c_->Prepare(counts::RecountSql("?1", "?2", "?3")).Bind(1, ws_).Bind(2, from).Bind(3, to).Run();
  }

  // ---- reports
  // A report sums the whole hours of its window from decision_counts and counts the
  // partial hours at its edges from decisions (store/decision_counts.h): 5 000 000
  // decisions over 28 days are about 700 hours, a few rows each.
  Result<std::vector<OwnerCount>> Report(const counts::Shape& shape, const ReportFilter& f) {
    if (Status s = FlushCounts(); !s.ok()) return s;
    // Owners alone: an edge is counted with the loose index scan.
    const bool owners_alone = shape.per_owner && !f.object_type && !f.rule && !f.distribution;
    return counts::CountReport(
        f, [&](const counts::Span& buckets, counts::Tally& t) { return AddCounted(shape, buckets, f, t); },
        [&](const ReportFilter& edge, counts::Tally& t) {
          return owners_alone ? AddOwnersInWindow(edge, t) : AddDecisions(shape, edge, t);
        });
  }

  // The n-th parameter's placeholder (built by appending: GCC 12 warns about "x" + string).
  static std::string Placeholder(int n) {
    std::string p = "?";
    p += std::to_string(n);
    return p;
  }

  // The whole buckets [buckets.from, buckets.to) from decision_counts.
  Status AddCounted(const counts::Shape& shape, const counts::Span& buckets, const ReportFilter& f,
                    counts::Tally& tally) {
    std::string sql = std::string("SELECT ") + shape.counts_columns +
                      ", SUM(n) FROM decision_counts WHERE workspace=?1" + shape.counts_where;
    int n = 1;
    if (buckets.from) sql += " AND bucket>=" + Placeholder(++n);
    if (buckets.to) sql += " AND bucket<" + Placeholder(++n);
    sql += counts::CountsFilterSql(f, n, Placeholder) + " GROUP BY 1, 2";
    Stmt q = c_->Prepare(sql);
    n = 1;
    q.Bind(1, ws_);
    if (buckets.from) q.Bind(++n, *buckets.from);
    if (buckets.to) q.Bind(++n, *buckets.to);
    BindFilters(q, f, n);
    return AddRows(q, tally);
  }

  // Counted from decisions: "SELECT a, b, COUNT(*) … WHERE workspace=?1 AND <filter> GROUP BY …".
  // Only the filters given are in the SQL (at most 2^5 shapes, each prepared once), so
  // the planner can use a range of at or the distribution's index; "?N IS NULL OR …"
  // hid them and every report scanned the whole workspace.
  Status AddDecisions(const counts::Shape& shape, const ReportFilter& f, counts::Tally& tally) {
    std::string sql = std::string("SELECT ") + shape.decisions_columns +
                      ", COUNT(*) FROM decisions WHERE workspace=?1" + shape.decisions_where;
    int n = 1;
    if (f.from) sql += " AND at>=" + Placeholder(++n);
    if (f.to) sql += " AND at<" + Placeholder(++n);
    if (f.object_type) sql += " AND object_type=" + Placeholder(++n);
    if (f.rule) sql += " AND rule=" + Placeholder(++n);
    if (f.distribution) sql += " AND distribution=" + Placeholder(++n);
    sql += std::string(" GROUP BY ") + shape.decisions_group;
    Stmt q = c_->Prepare(sql);
    BindReport(q, f);
    return AddRows(q, tally);
  }

  static Status AddRows(Stmt& q, counts::Tally& tally) {
    Status err;
    while (q.Step(&err)) tally.Add(q.Text(0), q.OptText(1), q.Int(2));
    return err;
  }

  void BindReport(Stmt& q, const ReportFilter& f) {
    int n = 1;
    q.Bind(1, ws_);
    if (f.from) q.Bind(++n, *f.from);
    if (f.to) q.Bind(++n, *f.to);
    BindFilters(q, f, n);
  }

  static void BindFilters(Stmt& q, const ReportFilter& f, int& n) {
    if (f.object_type) q.Bind(++n, *f.object_type);
    if (f.rule) q.Bind(++n, *f.rule);
    if (f.distribution) q.Bind(++n, *f.distribution);
  }

  // Owners in a time window, without other filters: a loose index scan of
  // decisions_owner (workspace, owner, at). Each owner is found by one seek past the
  // previous one, then counted over the window's range of the same index, so a window
  // costs its own rows, not the whole history's (GROUP BY read every index entry of the
  // workspace: 0.5 s at 5 000 000).
  Status AddOwnersInWindow(const ReportFilter& f, counts::Tally& tally) {
    std::string window;
    int n = 1;
    if (f.from) window += " AND d.at>=?" + std::to_string(++n);
    if (f.to) window += " AND d.at<?" + std::to_string(++n);
    Stmt q = c_->Prepare(
        "WITH RECURSIVE o(owner) AS ("
        " SELECT (SELECT MIN(owner) FROM decisions WHERE workspace=?1 AND owner IS NOT NULL)"
        " UNION ALL"
        " SELECT (SELECT MIN(owner) FROM decisions WHERE workspace=?1 AND owner>o.owner) FROM o"
        " WHERE o.owner IS NOT NULL)"
        " SELECT owner, (SELECT COUNT(*) FROM decisions d WHERE d.workspace=?1 AND d.owner=o.owner" +
        window + ") FROM o WHERE owner IS NOT NULL");
    BindReport(q, f);
    Status err;
    // Owners with no decision in the window are left out here (a WHERE on the count would
    // evaluate the counting subquery twice).
    while (q.Step(&err)) {
      if (q.Int(1) > 0) tally.Add(q.Text(0), std::nullopt, q.Int(1));
    }
    return err;
  }

  Result<std::vector<OwnerCount>> CountByOwner(const ReportFilter& f) override {
    return Report(counts::kByOwner, f);
  }
  Result<std::vector<OwnerCount>> CountByKey(const ReportFilter& f) override { return Report(counts::kByKey, f); }
  Result<std::vector<OwnerCount>> CountByOutcome(const ReportFilter& f) override {
    return Report(counts::kByOutcome, f);
  }
  Result<int64_t> CountUnassigned() override {
    Stmt q = c_->Prepare("SELECT COUNT(*) FROM unassigned WHERE workspace=?");
    q.Bind(1, ws_);
    Status err;
    if (q.Step(&err)) return q.Int(0);
    return err;
  }

  Result<std::vector<WebhookRow>> Webhooks() override {
    Stmt q = c_->Prepare("SELECT id, url, events, secret, created_at FROM webhooks WHERE workspace=? ORDER BY id");
    q.Bind(1, ws_);
    std::vector<WebhookRow> rows;
    Status err;
    while (q.Step(&err)) {
      WebhookRow w{q.Text(0), q.Text(1), {}, q.Text(3), q.Int(4)};
      io::Json events = io::Json::parse(q.Text(2), nullptr, false);
      if (events.is_array()) {
        for (const auto& e : events) w.events.push_back(e.get<std::string>());
      }
      rows.push_back(std::move(w));
    }
    if (!err.ok()) return err;
    return rows;
  }

  Status PutWebhook(const WebhookRow& w) override {
    Status s = c_->Prepare("INSERT INTO webhooks(workspace, id, url, events, secret, created_at) VALUES(?,?,?,?,?,?)")
                   .Bind(1, ws_)
                   .Bind(2, w.id)
                   .Bind(3, w.url)
                   .Bind(4, io::Json(w.events).dump())
                   .Bind(5, w.secret)
                   .Bind(6, w.created_at)
                   .Run();
    if (s.code() == Code::kConflict) return Status::Conflict("webhook \"" + w.id + "\" already exists");
    if (!s.ok()) return s;
    // A new webhook with a deleted one's id starts with no deliveries: the old ones were for
    // another receiver (and a retry would send an old event to this one).
    return c_->Prepare("DELETE FROM outbox WHERE workspace=? AND webhook=? AND COALESCE(connector, '')=''")
        .Bind(1, ws_)
        .Bind(2, w.id)
        .Run();
  }

  Status DeleteWebhook(const std::string& id) override {
    Status s = c_->Prepare("DELETE FROM webhooks WHERE workspace=? AND id=?").Bind(1, ws_).Bind(2, id).Run();
    if (!s.ok()) return s;
    if (sqlite3_changes(c_->raw()) == 0) return Status::NotFound("unknown webhook \"" + id + "\"");
    // Pending deliveries of a deleted webhook are dropped with it.
    return c_->Prepare("UPDATE outbox SET status='failed', last_error='webhook deleted' WHERE workspace=? AND "
                       "webhook=? AND status='pending'")
        .Bind(1, ws_)
        .Bind(2, id)
        .Run();
  }

  Status InsertDelivery(const DeliveryRow& d) override {
    return c_->Prepare(
                 "INSERT INTO outbox(id, workspace, webhook, event, body, next_attempt_at, created_at, connector, "
                 "subject) VALUES(?,?,?,?,?,?,?,?,?)")
        .Bind(1, d.id)
        .Bind(2, ws_)
        .Bind(3, d.webhook)
        .Bind(4, d.event)
        .Bind(5, d.body)
        .Bind(6, d.next_attempt_at)
        .Bind(7, d.created_at)
        .Bind(8, d.connector.empty() ? std::optional<std::string>() : std::optional<std::string>(d.connector))
        .Bind(9, d.subject.empty() ? std::optional<std::string>() : std::optional<std::string>(d.subject))
        .Run();
  }

  Result<int64_t> SupersedeWriteBacks(const std::string& connector, const std::string& subject,
                                      const std::string& why) override {
    Status s = c_->Prepare("UPDATE outbox INDEXED BY outbox_subject SET status='superseded', last_error=?4 "
                           "WHERE workspace=?1 AND connector=?2 AND subject=?3 AND status='pending'")
                   .Bind(1, ws_)
                   .Bind(2, connector)
                   .Bind(3, subject)
                   .Bind(4, why)
                   .Run();
    if (!s.ok()) return s;
    return static_cast<int64_t>(sqlite3_changes(c_->raw()));
  }

  static constexpr const char* kDeliveryColumns =
      "o.seq, o.id, o.workspace, o.webhook, o.event, o.body, o.status, o.attempts, o.next_attempt_at, "
      "o.last_status, o.last_error, o.created_at, o.delivered_at, COALESCE(o.connector, '')";

  static DeliveryRow ReadDelivery(const Stmt& q) {
    DeliveryRow d;
    d.seq = q.Int(0);
    d.id = q.Text(1);
    d.workspace = q.Text(2);
    d.webhook = q.Text(3);
    d.event = q.Text(4);
    d.body = q.Text(5);
    d.status = q.Text(6);
    d.attempts = q.Int(7);
    d.next_attempt_at = q.Int(8);
    d.last_status = q.OptInt(9);
    d.last_error = q.Text(10);
    d.created_at = q.Int(11);
    d.delivered_at = q.OptInt(12);
    d.connector = q.Text(13);
    return d;
  }

  Result<std::vector<DeliveryRow>> Deliveries(const std::string& webhook, std::optional<int64_t> before_seq,
                                              int limit) override {
    return OutboxPage("webhook", webhook, before_seq, limit);
  }

  // A page of the outbox rows of one webhook or connector (`column`, one of the two),
  // newest first, before `before_seq` when given.
  Result<std::vector<DeliveryRow>> OutboxPage(const char* column, const std::string& id,
                                              std::optional<int64_t> before_seq, int limit) {
    Stmt q = c_->Prepare(std::string("SELECT ") + kDeliveryColumns + " FROM outbox o WHERE o.workspace=?1 AND o." +
                         column + "=?2 AND (?3 IS NULL OR o.seq<?3) ORDER BY o.seq DESC LIMIT ?4");
    q.Bind(1, ws_).Bind(2, id).Bind(3, before_seq).Bind(4, static_cast<int64_t>(limit));
    std::vector<DeliveryRow> rows;
    Status err;
    while (q.Step(&err)) rows.push_back(ReadDelivery(q));
    if (!err.ok()) return err;
    return rows;
  }

  Result<std::optional<DeliveryRow>> FindWriteBack(const std::string& connector, const std::string& id) override {
    Stmt q = c_->Prepare(std::string("SELECT ") + kDeliveryColumns +
                         " FROM outbox o WHERE o.workspace=?1 AND o.connector=?2 AND o.id=?3");
    q.Bind(1, ws_).Bind(2, connector).Bind(3, id);
    Status err;
    if (q.Step(&err)) return std::optional<DeliveryRow>(ReadDelivery(q));
    if (!err.ok()) return err;
    return std::optional<DeliveryRow>();
  }

  Status RetryDelivery(const std::string& webhook, const std::string& id, int64_t now_ms) override {
    return Requeue("webhook", webhook, id, now_ms, "delivery");
  }

  Status RetryWriteBack(const std::string& connector, const std::string& id, int64_t now_ms) override {
    Stmt row = c_->Prepare(
        "SELECT o.status, o.last_error, COALESCE((SELECT n.id FROM outbox n INDEXED BY outbox_subject "
        "WHERE n.workspace=o.workspace AND n.connector=o.connector AND n.subject=o.subject AND n.seq>o.seq "
        "ORDER BY n.seq DESC LIMIT 1), '') FROM outbox o WHERE o.workspace=?1 AND o.connector=?2 AND o.id=?3");
    row.Bind(1, ws_).Bind(2, connector).Bind(3, id);
    Status err;
    if (row.Step(&err)) {
      if (auto refused = RefusedRetry(id, row.Text(0), row.Text(1), row.Text(2))) return *refused;
    }
    if (!err.ok()) return err;
    return Requeue("connector", connector, id, now_ms, "write-back");
  }

  // An outbox row of `owner` (its `column`: webhook or connector) pending again now. A row
  // being sent keeps its lease: its receiver still gets one delivery at a time.
  Status Requeue(const char* column, const std::string& owner, const std::string& id, int64_t now_ms, const char* what) {
    Status s = c_->Prepare(std::string("UPDATE outbox SET status='pending', next_attempt_at=? WHERE "
                                       "workspace=? AND ") + column + "=? AND id=?")
                   .Bind(1, now_ms)
                   .Bind(2, ws_)
                   .Bind(3, owner)
                   .Bind(4, id)
                   .Run();
    if (!s.ok()) return s;
    if (sqlite3_changes(c_->raw()) == 0) return Status::NotFound(std::string("unknown ") + what + " \"" + id + "\"");
    return Status::Ok();
  }

  static ConnectorRow ReadConnector(const Stmt& q, int first) {
    return ConnectorRow{q.Text(first), q.Text(first + 1), q.Text(first + 2),
                        q.Text(first + 3), q.Int(first + 4), q.Int(first + 5)};
  }

  Result<std::vector<ConnectorRow>> Connectors() override {
    Stmt q = c_->Prepare(
        "SELECT id, kind, doc, secrets, created_at, updated_at FROM connectors WHERE workspace=? ORDER BY id");
    q.Bind(1, ws_);
    std::vector<ConnectorRow> rows;
    Status err;
    while (q.Step(&err)) rows.push_back(ReadConnector(q, 0));
    if (!err.ok()) return err;
    return rows;
  }

  Result<std::optional<ConnectorRow>> FindConnector(const std::string& id) override {
    Stmt q = c_->Prepare(
        "SELECT id, kind, doc, secrets, created_at, updated_at FROM connectors WHERE workspace=? AND id=?");
    q.Bind(1, ws_).Bind(2, id);
    Status err;
    if (q.Step(&err)) return std::optional<ConnectorRow>(ReadConnector(q, 0));
    if (!err.ok()) return err;
    return std::optional<ConnectorRow>();
  }

  Status InsertConnector(const ConnectorRow& c) override {
    Status s = c_->Prepare(
                     "INSERT INTO connectors(workspace, id, kind, doc, secrets, created_at, updated_at) "
                     "VALUES(?,?,?,?,?,?,?)")
                   .Bind(1, ws_)
                   .Bind(2, c.id)
                   .Bind(3, c.kind)
                   .Bind(4, c.doc)
                   .Bind(5, c.secrets)
                   .Bind(6, c.created_at)
                   .Bind(7, c.updated_at)
                   .Run();
    if (s.code() == Code::kConflict) return Status::Conflict("connector \"" + c.id + "\" already exists");
    if (!s.ok()) return s;
    // Nor does a new connector with a deleted one's id (its write-backs would hold this one's).
    return c_->Prepare("DELETE FROM outbox WHERE workspace=? AND connector=?").Bind(1, ws_).Bind(2, c.id).Run();
  }

  Status UpdateConnector(const ConnectorRow& c) override {
    Status s = c_->Prepare("UPDATE connectors SET kind=?, doc=?, secrets=?, updated_at=? WHERE workspace=? AND id=?")
                   .Bind(1, c.kind)
                   .Bind(2, c.doc)
                   .Bind(3, c.secrets)
                   .Bind(4, c.updated_at)
                   .Bind(5, ws_)
                   .Bind(6, c.id)
                   .Run();
    if (!s.ok()) return s;
    if (sqlite3_changes(c_->raw()) == 0) return Status::NotFound("unknown connector \"" + c.id + "\"");
    return c_->Prepare("UPDATE outbox SET next_attempt_at=0 WHERE workspace=? AND connector=? AND status IN "
                       "('pending', 'superseded') AND last_status=401")
        .Bind(1, ws_)
        .Bind(2, c.id)
        .Run();
  }

  Status DeleteConnector(const std::string& id) override {
    Status s = c_->Prepare("DELETE FROM connectors WHERE workspace=? AND id=?").Bind(1, ws_).Bind(2, id).Run();
    if (!s.ok()) return s;
    if (sqlite3_changes(c_->raw()) == 0) return Status::NotFound("unknown connector \"" + id + "\"");
    return c_->Prepare("UPDATE outbox SET status='failed', last_error='connector deleted' WHERE workspace=? AND "
                       "connector=? AND status='pending'")
        .Bind(1, ws_)
        .Bind(2, id)
        .Run();
  }

  Result<std::vector<DeliveryRow>> ConnectorDeliveries(const std::string& connector, std::optional<int64_t> before_seq,
                                                       int limit) override {
    return OutboxPage("connector", connector, before_seq, limit);
  }

  Result<int64_t> CountDecisions() override {
    Stmt q = c_->Prepare("SELECT COUNT(*) FROM decisions WHERE workspace=?");
    q.Bind(1, ws_);
    Status err;
    if (q.Step(&err)) return q.Int(0);
    return err;
  }

  Result<int64_t> LastDecisionAt() override {
    Stmt q = c_->Prepare("SELECT COALESCE(MAX(at), 0) FROM decisions WHERE workspace=?");
    q.Bind(1, ws_);
    Status err;
    if (q.Step(&err)) return q.Int(0);
    return err;
  }

 private:
  // The stored record's open flag and owners; nullopt when it is not stored.
  Result<std::optional<open_counts::Ownership>> StoredOwnership(const std::string& type, const std::string& id) const {
    Stmt q = c_->Prepare(
        "SELECT open, json_extract(body, '$.owners') FROM records WHERE workspace=? AND object_type=? AND id=?");
    q.Bind(1, ws_).Bind(2, type).Bind(3, id);
    Status err;
    if (!q.Step(&err)) {
      if (!err.ok()) return err;
      return std::optional<open_counts::Ownership>();
    }
    return std::optional<open_counts::Ownership>(open_counts::Parse(q.Int(0) != 0, q.Text(1)));
  }

  // StoredOwnership, remembered in known_.
  Result<std::optional<open_counts::Ownership>> Known(const std::string& type, const std::string& id) const {
    return known_.Get(type, id, [&] { return StoredOwnership(type, id); });
  }

  const GiveBack give_back_;
  std::unique_ptr<Connection> c_;
  std::unique_lock<std::mutex> lock_;  // held by write transactions
  const std::string ws_;
  bool done_ = false;
  counts::PendingCounts pending_;
  mutable open_counts::Memory known_;  // the record last read or written
  mutable Status read_error_;          // the first StateView read that failed (Failed)
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : pool_(path), path_(path) {}

  Status Migrate() {
    auto c = pool_.Take();
    if (!c.ok()) return c.status();
    Connection& conn = **c;
    int64_t version = 0;
    {
      // Reset before the migrations run: a statement still reading blocks DROP TABLE.
      Stmt q = conn.Prepare("PRAGMA user_version");
      Status err;
      if (q.Step(&err)) version = q.Int(0);
    }
    const auto& migrations = Migrations();
    if (version > static_cast<int64_t>(migrations.size())) return NewerSchema(version, migrations.size());
    for (size_t i = static_cast<size_t>(version); i < migrations.size(); ++i) {
      Status s = conn.Exec(std::string("BEGIN IMMEDIATE;") + migrations[i] + "PRAGMA user_version=" +
                           std::to_string(i + 1) + "; COMMIT;");
      if (!s.ok()) {
        (void)conn.Exec("ROLLBACK");
        return Status::Internal("migration " + std::to_string(i + 1) + " failed: " + s.message());
      }
    }
    pool_.Give(std::move(c).value());
    return Status::Ok();
  }

  template <typename F>
  auto WithConnection(F f) -> decltype(f(std::declval<Connection&>())) {
    auto c = pool_.Take();
    if (!c.ok()) return c.status();
    auto result = f(**c);
    pool_.Give(std::move(c).value());
    return result;
  }

  // A write outside a Tx: on the writer connection, under the write lock.
  template <typename F>
  auto WithWriter(F f) -> decltype(f(std::declval<Connection&>())) {
    std::lock_guard<std::mutex> lock(write_mu_);
    auto c = TakeWriter();
    if (!c.ok()) return c.status();
    auto result = f(**c);
    writer_ = std::move(c).value();
    return result;
  }

  Result<bool> WorkspaceExists(const std::string& id) override {
    return WithConnection([&](Connection& c) -> Result<bool> {
      Stmt q = c.Prepare("SELECT 1 FROM workspaces WHERE id=?");
      q.Bind(1, id);
      Status err;
      bool found = q.Step(&err);
      if (!err.ok()) return err;
      return found;
    });
  }

  Result<int64_t> CountWorkspaces() override {
    return WithConnection([&](Connection& c) -> Result<int64_t> {
      Stmt q = c.Prepare("SELECT COUNT(*) FROM workspaces");
      Status err;
      if (q.Step(&err)) return q.Int(0);
      return err;
    });
  }

  Status CreateWorkspace(const std::string& id, const std::string& empty_doc, int64_t at) override {
    return WithWriter([&](Connection& c) -> Status {
      Status s = c.Prepare("INSERT INTO workspaces(id, created_at, config_version, config) VALUES(?,?,1,?)")
                     .Bind(1, id)
                     .Bind(2, at)
                     .Bind(3, empty_doc)
                     .Run();
      if (s.code() == Code::kConflict) return Status::Conflict("workspace \"" + id + "\" already exists");
      return s;
    });
  }

  Status CreateKey(const KeyRow& k) override {
    return WithWriter([&](Connection& c) -> Status {
      return c.Prepare(
                  "INSERT INTO api_keys(id, workspace, role, can_reassign, name, hash, created_at) "
                  "VALUES(?,?,?,?,?,?,?)")
          .Bind(1, k.id)
          .Bind(2, k.workspace)
          .Bind(3, k.role)
          .Bind(4, k.can_reassign)
          .Bind(5, k.name)
          .Bind(6, k.hash)
          .Bind(7, k.created_at)
          .Run();
    });
  }

  Result<std::optional<KeyRow>> FindKeyByHash(const std::string& hash) override {
    return WithConnection([&](Connection& c) { return KeyByHash(c, hash); });
  }

  Result<std::vector<KeyRow>> ListKeys(const std::optional<std::string>& workspace) override {
    return WithConnection([&](Connection& c) -> Result<std::vector<KeyRow>> {
      Stmt q = c.Prepare(
          "SELECT id, workspace, role, can_reassign, name, hash, created_at, revoked_at FROM api_keys "
          "WHERE (?1 IS NULL OR workspace=?1) ORDER BY created_at, id");
      q.Bind(1, workspace);
      std::vector<KeyRow> rows;
      Status err;
      while (q.Step(&err)) rows.push_back(ReadKey(q));
      if (!err.ok()) return err;
      return rows;
    });
  }

  Status RevokeKey(const std::string& id, const std::optional<std::string>& workspace, int64_t at) override {
    return WithWriter([&](Connection& c) -> Status {
      Status s = c.Prepare(
                      "UPDATE api_keys SET revoked_at=COALESCE(revoked_at, ?1) WHERE id=?2 AND (?3 IS NULL OR "
                      "workspace=?3) AND (role <> 'admin' OR revoked_at IS NOT NULL OR (SELECT COUNT(*) FROM api_keys k "
                      "WHERE k.workspace=api_keys.workspace AND k.role='admin' AND k.revoked_at IS NULL) > 1)")
                     .Bind(1, at)
                     .Bind(2, id)
                     .Bind(3, workspace)
                     .Run();
      if (!s.ok()) return s;
      if (sqlite3_changes(c.raw()) > 0) return Status::Ok();
      Stmt q = c.Prepare("SELECT 1 FROM api_keys WHERE id=?1 AND (?2 IS NULL OR workspace=?2)");
      q.Bind(1, id).Bind(2, workspace);
      Status err;
      if (q.Step(&err)) return LastAdminKey(id);
      if (!err.ok()) return err;
      return Status::NotFound("unknown key \"" + id + "\"");
    });
  }

  Result<std::vector<std::string>> ListWorkspaces() override {
    return WithConnection([&](Connection& c) -> Result<std::vector<std::string>> {
      Stmt q = c.Prepare("SELECT id FROM workspaces ORDER BY id");
      std::vector<std::string> ids;
      Status err;
      while (q.Step(&err)) ids.push_back(q.Text(0));
      if (!err.ok()) return err;
      return ids;
    });
  }

  Result<std::vector<DeliveryRow>> ClaimDeliveries(int64_t now_ms, int64_t lease_ms, int limit,
                                                   const std::vector<std::string>& busy) override {
    // A destination's due rows, through its pending rows in order (outbox_pending): those
    // not yet due or leased are passed over in the index, and no other destination's are read.
    auto due_of = [](const std::string& workspace, const std::string& webhook, const std::string& connector) {
      return "FROM outbox o INDEXED BY outbox_pending WHERE o.status='pending' AND o.workspace=" + workspace +
             " AND o.webhook=" + webhook + " AND COALESCE(o.connector, '')=" + connector +
             " AND o.next_attempt_at<=?1 AND o.lease_until<=?1 ORDER BY o.seq";
    };
    // Of every destination (a webhook, or a connector's CRM: webhook ''), those not busy, not
    // held until a retry (HoldsDestination, through outbox_holding) and with no row being
    // sent (kLeasedRowSql, through outbox_leased), then the one whose
    // oldest due row is oldest. Each step is materialized, so that the first due row is
    // looked for once and only where the destination may be served.
    static const std::string kPick =
        "WITH d(workspace, webhook, connector) AS (SELECT workspace, id, '' FROM webhooks "
        "UNION ALL SELECT workspace, '', id FROM connectors), "
        "candidates AS MATERIALIZED (SELECT * FROM d "
        "WHERE d.workspace || char(31) || d.webhook || char(31) || d.connector NOT IN (SELECT value FROM json_each(?2)) "
        "AND NOT EXISTS (SELECT 1 FROM outbox h INDEXED BY outbox_holding WHERE h.workspace=d.workspace "
        "AND h.webhook=d.webhook AND COALESCE(h.connector, '')=d.connector AND h.next_attempt_at>?1 AND " +
        std::string(kHoldingRowSql) +
        ") AND NOT EXISTS (SELECT 1 FROM outbox l INDEXED BY outbox_leased WHERE " + kLeasedRowSql + "?1)), "
        "firsts AS MATERIALIZED (SELECT d.workspace, d.webhook, d.connector, (SELECT o.seq " +
        due_of("d.workspace", "d.webhook", "d.connector") +
        " LIMIT 1) AS first FROM candidates d) "
        "SELECT workspace, webhook, connector FROM firsts WHERE first IS NOT NULL ORDER BY first LIMIT 1";
    static const std::string kRows =
        "WITH claim AS (SELECT o.* " + due_of("?3", "?4", "?5") + " LIMIT ?2) SELECT " +
        SqliteTx::kDeliveryColumns +
        ", COALESCE(w.url, ''), COALESCE(w.secret, ''), c.id, c.kind, c.doc, c.secrets, c.created_at, c.updated_at "
        "FROM claim o LEFT JOIN webhooks w ON w.workspace=o.workspace AND w.id=o.webhook "
        "LEFT JOIN connectors c ON c.workspace=o.workspace AND c.id=o.connector ORDER BY o.seq";
    return WithWriter([&](Connection& c) -> Result<std::vector<DeliveryRow>> {
      Status s = c.Exec("BEGIN IMMEDIATE");
      if (!s.ok()) return s;
      std::string workspace, webhook, connector;
      Status err;
      {
        Stmt pick = c.Prepare(kPick);
        pick.Bind(1, now_ms).Bind(2, io::Json(busy).dump());
        if (!pick.Step(&err)) {
          (void)c.Exec("ROLLBACK");
          if (!err.ok()) return err;
          return std::vector<DeliveryRow>{};
        }
        workspace = pick.Text(0);
        webhook = pick.Text(1);
        connector = pick.Text(2);
      }
      Stmt q = c.Prepare(kRows);
      q.Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit)).Bind(3, workspace).Bind(4, webhook).Bind(5, connector);
      std::vector<DeliveryRow> rows;
      while (q.Step(&err)) {
        DeliveryRow d = SqliteTx::ReadDelivery(q);
        d.url = q.Text(14);
        d.secret = q.Text(15);
        if (q.OptText(16)) d.target = SqliteTx::ReadConnector(q, 16);
        rows.push_back(std::move(d));
      }
      for (const DeliveryRow& d : rows) {
        if (err.ok()) {
          err = c.Prepare("UPDATE outbox SET lease_until=? WHERE id=?").Bind(1, now_ms + lease_ms).Bind(2, d.id).Run();
        }
      }
      if (!err.ok()) {
        (void)c.Exec("ROLLBACK");
        return err;
      }
      if (s = c.Exec("COMMIT"); !s.ok()) return s;
      return rows;
    });
  }

  Result<bool> StillClaimed(const std::string& id, int64_t leased_until) override {
    return WithConnection([&](Connection& c) -> Result<bool> {
      Stmt q = c.Prepare("SELECT 1 FROM outbox WHERE id=? AND status='pending' AND lease_until=?");
      q.Bind(1, id).Bind(2, leased_until);
      Status err;
      const bool found = q.Step(&err);
      if (!err.ok()) return err;
      return found;
    });
  }

  Status ReleaseDeliveries(const std::vector<std::string>& ids, int64_t leased_until) override {
    if (ids.empty()) return Status::Ok();
    return WithWriter([&](Connection& c) -> Status {
      Status s = c.Exec("BEGIN IMMEDIATE");
      if (!s.ok()) return s;
      for (const std::string& id : ids) {  // by the id's own index, one row each
        s = c.Prepare("UPDATE outbox SET lease_until=0 WHERE id=? AND lease_until=?")
                .Bind(1, id)
                .Bind(2, leased_until)
                .Run();
        if (!s.ok()) {
          (void)c.Exec("ROLLBACK");
          return s;
        }
      }
      return c.Exec("COMMIT");
    });
  }

  Status FinishAttempt(const std::string& id, const AttemptResult& r, std::optional<int64_t> leased_until,
                       std::optional<int64_t> claimed_due) override {
    return WithWriter([&](Connection& c) -> Status {
      const char* status = r.state == AttemptResult::State::kDelivered ? "delivered"
                           : r.state == AttemptResult::State::kFailed  ? "failed"
                                                                        : "pending";
      Status s = c.Prepare(
                  "UPDATE outbox SET status=?, attempts=attempts+1, next_attempt_at=?, lease_until=0, "
                  "last_status=?, last_error=?, delivered_at=? WHERE id=?6 "
                  "AND (?7 IS NULL OR (status='pending' AND lease_until=?7 AND (?8 IS NULL OR next_attempt_at=?8)))")
          .Bind(1, status)
          .Bind(2, r.next_attempt_at)
          .Bind(3, r.http_status)
          .Bind(4, r.error)
          .Bind(5, r.state == AttemptResult::State::kDelivered ? std::optional<int64_t>(r.at) : std::nullopt)
          .Bind(6, id)
          .Bind(7, leased_until)
          .Bind(8, claimed_due)
          .Run();
      if (!s.ok() || !leased_until || sqlite3_changes(c.raw()) > 0) return s;
      // Not recorded (superseded meanwhile, or to be sent again): its lease ends now all the
      // same, so that its destination is not left waiting for it.
      return c.Prepare("UPDATE outbox SET lease_until=0 WHERE id=? AND lease_until=?").Bind(1, id).Bind(2, *leased_until).Run();
    });
  }

  Result<std::unique_ptr<Tx>> BeginWrite(const std::string& workspace) override {
    std::unique_lock<std::mutex> lock(write_mu_);
    auto c = TakeWriter();
    if (!c.ok()) return c.status();
    Status s = (*c)->Prepare("BEGIN IMMEDIATE").Run();
    if (!s.ok()) {
      writer_ = std::move(c).value();
      return s;
    }
    auto give_back = [this](std::unique_ptr<Connection> conn) { writer_ = std::move(conn); };
    return std::unique_ptr<Tx>(new SqliteTx(give_back, std::move(c).value(), std::move(lock), workspace));
  }

  Result<std::unique_ptr<Tx>> BeginRead(const std::string& workspace) override {
    auto c = pool_.Take();
    if (!c.ok()) return c.status();
    Status s = (*c)->Prepare("BEGIN").Run();
    if (!s.ok()) return s;
    auto give_back = [this](std::unique_ptr<Connection> conn) { pool_.Give(std::move(conn)); };
    return std::unique_ptr<Tx>(new SqliteTx(give_back, std::move(c).value(), {}, workspace));
  }

 private:
  // The one connection every write of this process goes through, so that its page
  // cache stays valid from one write transaction to the next (SQLite drops a
  // connection's cache when another connection has written). REQUIRES: write_mu_.
  Result<std::unique_ptr<Connection>> TakeWriter() {
    if (writer_) return std::move(writer_);
    return Connection::OpenWriter(path_);
  }

  ConnectionPool pool_;  // readers
  const std::string path_;
  std::mutex write_mu_;                 // one writer at a time, in this process
  std::unique_ptr<Connection> writer_;  // GUARDED_BY(write_mu_); out while a write runs
};

}  // namespace

namespace {

// A file that is there and not empty is opened only if it is rota's (its schema version
// set) or holds no table yet: rota never adds its tables to another program's database,
// nor switches it to WAL. Read without changing anything.
Status CheckIsRotas(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || std::filesystem::is_directory(path, ec) ||
      std::filesystem::file_size(path, ec) == 0) {
    return Status::Ok();  // SQLite makes a new database, or says what is wrong
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> hold(db, sqlite3_close);
  if (rc != SQLITE_OK) return Status::Ok();  // the store's own open reports it
  sqlite3_busy_timeout(db, 30000);
  // SQLITE_OK with the value read, or what failed (a file that is not SQLite fails its
  // first step with SQLITE_NOTADB, not its prepare).
  auto scalar = [&](const char* sql, int64_t* out) {
    sqlite3_stmt* st = nullptr;
    int r = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    if (r == SQLITE_OK) {
      r = sqlite3_step(st);
      if (r == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        r = SQLITE_OK;
      }
    }
    sqlite3_finalize(st);
    return r;
  };
  int64_t version = 0, tables = 0, rotas = 0;
  int r = scalar("PRAGMA user_version", &version);
  if (r == SQLITE_OK) r = scalar("SELECT COUNT(*) FROM sqlite_master", &tables);
  if (r == SQLITE_OK) {
    r = scalar("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN ('workspaces','decisions')", &rotas);
  }
  if (r == SQLITE_NOTADB) return Status(Code::kInvalid, "not_a_rota_database", path + " is not a SQLite database");
  if (r != SQLITE_OK) return Status::Ok();  // busy, say: the store's own open reports it
  // rota's: its schema version set and its tables there. Empty: a new database.
  if (tables > 0 && (version == 0 || rotas != 2)) {
    return Status(Code::kInvalid, "not_a_rota_database",
                  path + " is not a rota database (it holds another program's tables); give a new file");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path) {
  if (Status s = CheckIsRotas(path); !s.ok()) return s;
  auto store = std::make_unique<SqliteStore>(path);
  Status s = store->Migrate();
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rota::store::sqlite
