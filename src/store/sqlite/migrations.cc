#include "store/sqlite/migrations.h"

namespace rota::store::sqlite {

const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: the first schema.
      R"sql(
CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  config_version INTEGER NOT NULL,
  config TEXT NOT NULL
);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  workspace TEXT NOT NULL REFERENCES workspaces(id),
  role TEXT NOT NULL,
  can_reassign INTEGER NOT NULL DEFAULT 0,
  name TEXT NOT NULL DEFAULT '',
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys(workspace);
CREATE TABLE pool_state (
  workspace TEXT NOT NULL,
  pool TEXT NOT NULL,
  pointer INTEGER NOT NULL,
  PRIMARY KEY (workspace, pool)
);
CREATE TABLE key_state (
  workspace TEXT NOT NULL,
  distribution TEXT NOT NULL,
  value TEXT NOT NULL,
  user TEXT NOT NULL,
  credit INTEGER NOT NULL DEFAULT 0,
  assigned INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace, distribution, value, user)
);
CREATE TABLE unkeyed_values (
  workspace TEXT NOT NULL,
  distribution TEXT NOT NULL,
  folded TEXT NOT NULL,
  value TEXT NOT NULL,
  seen INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (workspace, distribution, folded)
);
CREATE TABLE records (
  workspace TEXT NOT NULL,
  object_type TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  open INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, object_type, id)
);
CREATE TABLE record_owners (
  workspace TEXT NOT NULL,
  object_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  user TEXT NOT NULL,
  open INTEGER NOT NULL,
  PRIMARY KEY (workspace, object_type, record_id, user)
);
CREATE INDEX record_owners_user ON record_owners(workspace, user, object_type, open);
CREATE TABLE decisions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  workspace TEXT NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  object_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  rule TEXT,
  strategy TEXT,
  outcome TEXT NOT NULL,
  owner TEXT,
  reason TEXT,
  body TEXT NOT NULL,
  idempotency_key TEXT,
  request_hash TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_at ON decisions(workspace, at);
CREATE INDEX decisions_owner ON decisions(workspace, owner, at);
CREATE INDEX decisions_record ON decisions(workspace, object_type, record_id);
CREATE UNIQUE INDEX decisions_idempotency ON decisions(workspace, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE TABLE unassigned (
  workspace TEXT NOT NULL,
  object_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  decision_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (workspace, object_type, record_id)
);
)sql",
      // 2: reports by distribution, webhooks and their outbox.
      R"sql(
ALTER TABLE decisions ADD COLUMN distribution TEXT;
ALTER TABLE decisions ADD COLUMN key_value TEXT;
CREATE INDEX decisions_distribution ON decisions(workspace, distribution, at);
CREATE TABLE webhooks (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, id)
);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  workspace TEXT NOT NULL,
  webhook TEXT NOT NULL,
  event TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_webhook ON outbox(workspace, webhook, seq);
)sql",
      // 3: CRM connectors; the outbox also holds their write-backs.
      R"sql(
CREATE TABLE connectors (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  doc TEXT NOT NULL,
  secrets TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, id)
);
ALTER TABLE outbox ADD COLUMN connector TEXT;
CREATE INDEX outbox_connector ON outbox(workspace, connector, seq);
)sql",
      // 4: decisions pre-counted per workspace, UTC hour and kind, for reports
      // (store/decision_counts.h); NULL columns are '' with their bit in null_mask.
      R"sql(
CREATE TABLE decision_counts (
  workspace TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  object_type TEXT NOT NULL,
  rule TEXT NOT NULL,
  distribution TEXT NOT NULL,
  key_value TEXT NOT NULL,
  owner TEXT NOT NULL,
  outcome TEXT NOT NULL,
  null_mask INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (workspace, bucket, object_type, rule, distribution, key_value, owner, outcome, null_mask)
) WITHOUT ROWID;
INSERT INTO decision_counts(workspace, bucket, object_type, rule, distribution, key_value, owner, outcome,
                            null_mask, n)
SELECT workspace, at - ((at % 3600) + 3600) % 3600, object_type, COALESCE(rule, ''), COALESCE(distribution, ''),
       COALESCE(key_value, ''), COALESCE(owner, ''), outcome,
       (CASE WHEN rule IS NULL THEN 1 ELSE 0 END) + (CASE WHEN distribution IS NULL THEN 2 ELSE 0 END) +
       (CASE WHEN key_value IS NULL THEN 4 ELSE 0 END) + (CASE WHEN owner IS NULL THEN 8 ELSE 0 END),
       COUNT(*)
FROM decisions GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
)sql",
      // 5: open records counted per owner (store/open_counts.h) instead of a row per
      // owner and record; the owners stay in each record's body.
      R"sql(
CREATE TABLE open_counts (
  workspace TEXT NOT NULL,
  user TEXT NOT NULL,
  object_type TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (workspace, user, object_type)
) WITHOUT ROWID;
INSERT INTO open_counts(workspace, user, object_type, n)
SELECT workspace, user, object_type, COUNT(*) FROM record_owners WHERE open=1 GROUP BY 1, 2, 3;
DROP TABLE record_owners;
)sql",
      // 6: the member a pool served last, kept when it leaves the pool, so that it is
      // not served again at once should it rejoin before anyone else is served (SPEC
      // §5.1, service/reconcile.cc). Cleared whenever the pointer moves.
      R"sql(
ALTER TABLE pool_state ADD COLUMN left_member TEXT;
)sql",
      // 7: each destination's pending deliveries in order (with what tells whether one is
      // due), so that a claim finds the first due one of each destination without reading
      // every due row (a held receiver's backlog of 20 000 cost each claim 28-40 ms under
      // the write lock); and the rows that hold a destination (kHoldingRowSql, term for
      // term), found by destination.
      R"sql(
CREATE INDEX outbox_pending ON outbox(workspace, webhook, COALESCE(connector, ''), seq, next_attempt_at, lease_until,
                                      status) WHERE status='pending';
CREATE INDEX outbox_holding ON outbox(workspace, webhook, COALESCE(connector, ''), next_attempt_at)
  WHERE status='pending' AND attempts>0 AND (last_status IS NULL OR last_status IN (429, 503));
)sql",
      // 8: the record each write-back sets the owner of (WriteBackSubject), so that a later
      // write-back of the same record supersedes the earlier ones still pending, and a retry
      // of an earlier one is refused (an older owner written over a newer one).
      R"sql(
ALTER TABLE outbox ADD COLUMN subject TEXT;
UPDATE outbox SET subject=json_extract(body, '$.object_type') || char(31) || json_extract(body, '$.record_id')
  WHERE connector IS NOT NULL AND event='owner.write_back' AND json_valid(body);
CREATE INDEX outbox_subject ON outbox(workspace, connector, subject, seq) WHERE subject IS NOT NULL;
)sql",
      // 9: the rows leased (being sent), by destination (kLeasedRowSql), so that no claim, of
      // any node, takes a destination while one of its rows is being sent; and the rows that
      // hold a destination include those superseded while they held it (kHoldingRowSql).
      R"sql(
CREATE INDEX outbox_leased ON outbox(workspace, webhook, COALESCE(connector, ''), lease_until) WHERE lease_until>0;
DROP INDEX outbox_holding;
CREATE INDEX outbox_holding ON outbox(workspace, webhook, COALESCE(connector, ''), next_attempt_at)
  WHERE status IN ('pending', 'superseded') AND attempts>0 AND (last_status IS NULL OR last_status IN (429, 503));
)sql",
      // 10: a CRM's refusal of a connector's credentials (401) holds the connector's other
      // write-backs too (kHoldingRowSql; a connector's rows have no webhook).
      R"sql(
DROP INDEX outbox_holding;
CREATE INDEX outbox_holding ON outbox(workspace, webhook, COALESCE(connector, ''), next_attempt_at)
  WHERE status IN ('pending', 'superseded') AND attempts>0 AND (last_status IS NULL OR last_status IN (429, 503)
    OR (last_status=401 AND webhook=''));
)sql",
      // 11: a decision of no distribution (its column NULL, as every pool's, condition's
      // and least-loaded rule's is) has no entry in decisions_distribution, which only
      // `distribution=?` reads: two index pages fewer in each commit of such decisions
      // (issue 8, docs/performance.md "Thirteenth pass").
      R"sql(
DROP INDEX decisions_distribution;
CREATE INDEX decisions_distribution ON decisions(workspace, distribution, at) WHERE distribution IS NOT NULL;
)sql",
  };
  return kMigrations;
}

}  // namespace rota::store::sqlite
