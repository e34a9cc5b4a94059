// The Store contract, run against every backend: SQLite (a temp file) and PostgreSQL
// (a fresh database per test on the server of the rota_pg CTest fixture, or on
// ROTA_TEST_PG_URL).
#include "store/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "store/sqlite/migrations.h"

namespace rota::store {
namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const auto& _s = (expr);                             \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

bool PostgresBinariesPresent() {
  std::error_code ec;
  if (!fs::exists("/usr/lib/postgresql", ec)) return false;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(e.path() / "bin" / "initdb") && fs::exists(e.path() / "bin" / "pg_ctl")) return true;
  }
  return false;
}

std::string PgBaseUrl() {
  if (const char* env = std::getenv("ROTA_TEST_PG_URL"); env && *env) return env;
  std::ifstream in(ROTA_PG_URL_FILE);
  std::string url;
  std::getline(in, url);
  return url;
}

// `url` with its database name replaced by `db`.
std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?', scheme == std::string::npos ? 0 : scheme + 3);
  std::string head = url.substr(0, std::min(slash, query));
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + db + tail;
}

bool PgExec(const std::string& url, const std::string& sql, std::string* error) {
  PGconn* c = PQconnectdb(url.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) *error = PQresultErrorMessage(r);
    PQclear(r);
  } else {
    *error = PQerrorMessage(c);
  }
  PQfinish(c);
  return ok;
}

std::string Param(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = (fs::temp_directory_path() / ("rota_store_test_" + std::to_string(getpid()) + "_" +
                                           std::to_string(counter_++)));
      fs::create_directories(dir_);
      url_ = (dir_ / "rota.db").string();
    } else {
      base_ = PgBaseUrl();
      if (base_.empty()) {
        if (!PostgresBinariesPresent()) {
          GTEST_SKIP() << "PostgreSQL binaries are missing (install the postgresql package: scripts/install-deps)";
        }
        FAIL() << "no PostgreSQL server: run through ctest (fixture PostgresServerStart writes " << ROTA_PG_URL_FILE
               << ") or set ROTA_TEST_PG_URL";
      }
      db_ = "rota_store_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++);
      std::string err;
      ASSERT_TRUE(PgExec(base_, "CREATE DATABASE " + db_ + " TEMPLATE template0", &err)) << err;
      url_ = WithDatabase(base_, db_);
    }
    auto s = OpenStore(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_OK(store_->CreateWorkspace("ws1", "{}", 100));
    ASSERT_OK(store_->CreateWorkspace("ws2", "{}", 100));
  }

  void TearDown() override {
    store_.reset();
    if (!db_.empty()) {
      std::string err;
      EXPECT_TRUE(PgExec(base_, "DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)", &err)) << err;
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::unique_ptr<Tx> Write(const std::string& ws = "ws1") {
    auto tx = store_->BeginWrite(ws);
    EXPECT_TRUE(tx.ok()) << tx.status().ToString();
    return tx.ok() ? std::move(tx).value() : nullptr;
  }
  std::unique_ptr<Tx> Read(const std::string& ws = "ws1") {
    auto tx = store_->BeginRead(ws);
    EXPECT_TRUE(tx.ok()) << tx.status().ToString();
    return tx.ok() ? std::move(tx).value() : nullptr;
  }
  // Runs SQL on the database from outside the store (as another program, or an operator,
  // would): `sqlite_sql` or `pg_sql`, for the backend under test.
  void ExecOutside(const std::string& sqlite_sql, const std::string& pg_sql) {
    if (GetParam() == "sqlite") {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(url_.c_str(), &db), SQLITE_OK);
      EXPECT_EQ(sqlite3_exec(db, sqlite_sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
      sqlite3_close(db);
    } else {
      std::string err;
      ASSERT_TRUE(PgExec(url_, pg_sql, &err)) << err;
    }
  }

  static DecisionRow Decision(const std::string& id, int64_t at, std::optional<std::string> owner,
                              const std::string& outcome = "assigned") {
    DecisionRow d;
    d.id = id;
    d.at = at;
    d.event = "created";
    d.object_type = "lead";
    d.record_id = "r-" + id;
    d.rule = "r1";
    d.strategy = "round_robin";
    d.outcome = outcome;
    d.owner = std::move(owner);
    d.body = "{\"id\":\"" + id + "\"}";
    d.request_hash = "h";
    return d;
  }

  static core::Record Rec(const std::string& id, std::vector<std::string> owners, bool open = true,
                          core::ObjectType type = core::ObjectType::kLead) {
    core::Record r;
    r.object_type = type;
    r.id = id;
    r.owners = std::move(owners);
    r.open = open;
    return r;
  }

  static inline std::atomic<int> counter_{0};
  fs::path dir_;
  // Closes the store and undoes its last migration: runs `sql`, then marks the schema
  // as of SQLite's version `version` (PostgreSQL: forgets its last migration).
  void UndoLastMigration(const std::string& sql, int version) {
    store_.reset();
    if (GetParam() == "sqlite") {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(url_.c_str(), &db), SQLITE_OK);
      char* err = nullptr;
      int rc = sqlite3_exec(db, (sql + "PRAGMA user_version=" + std::to_string(version) + ";").c_str(), nullptr,
                            nullptr, &err);
      EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
      sqlite3_free(err);
      sqlite3_close(db);
    } else {
      std::string err;
      ASSERT_TRUE(PgExec(url_,
                         sql + "DELETE FROM rota_schema_migrations WHERE version="
                               "(SELECT MAX(version) FROM rota_schema_migrations)",
                         &err))
          << err;
    }
  }

  // Back to the schema before migration 5: record_owners (holding `owner_rows`, SQL
  // values (workspace, object_type, record_id, user, open)) instead of open_counts.
  void BeforeMigrationFive(const std::string& owner_rows) {
    BeforeMigrationSix();
    const std::string user = GetParam() == "sqlite" ? "user" : "user_id";
    std::string sql = "DROP TABLE open_counts; CREATE TABLE record_owners (workspace TEXT NOT NULL, "
                      "object_type TEXT NOT NULL, record_id TEXT NOT NULL, " + user + " TEXT NOT NULL, "
                      "open INTEGER NOT NULL, PRIMARY KEY (workspace, object_type, record_id, " + user + "));";
    if (!owner_rows.empty()) {
      sql += "INSERT INTO record_owners(workspace, object_type, record_id, " + user + ", open) VALUES " +
             owner_rows + ";";
    }
    UndoLastMigration(sql, 4);
  }

  // Back to the schema before migration 6: pool_state without left_member.
  void BeforeMigrationSix() {
    BeforeMigrationSeven();
    UndoLastMigration("ALTER TABLE pool_state DROP COLUMN left_member;", 5);
  }

  // Back to the schema before migration 7: no outbox_pending index.
  void BeforeMigrationSeven() {
    BeforeMigrationEight();
    UndoLastMigration("DROP INDEX outbox_pending; DROP INDEX outbox_holding;", 6);
  }

  // Back to the schema before migration 8: outbox rows without a subject.
  void BeforeMigrationEight() {
    BeforeMigrationNine();
    UndoLastMigration("DROP INDEX outbox_subject; ALTER TABLE outbox DROP COLUMN subject;", 7);
  }

  // Back to the schema before migration 9: no outbox_leased index, and outbox_holding as
  // migration 7 made it.
  void BeforeMigrationNine() {
    BeforeMigrationTen();
    UndoLastMigration(
        "DROP INDEX outbox_leased; DROP INDEX outbox_holding; CREATE INDEX outbox_holding ON outbox(workspace, "
        "webhook, (COALESCE(connector, '')), next_attempt_at) WHERE status='pending' AND attempts>0 AND "
        "(last_status IS NULL OR last_status IN (429, 503));",
        8);
  }

  // Back to the schema before migration 11: decisions_distribution over every decision.
  void BeforeMigrationEleven() {
    UndoLastMigration(
        "DROP INDEX decisions_distribution; CREATE INDEX decisions_distribution ON decisions(workspace, "
        "distribution, at);",
        10);
  }

  // Back to the schema before migration 10: outbox_holding as migration 9 made it.
  void BeforeMigrationTen() {
    BeforeMigrationEleven();
    UndoLastMigration(
        "DROP INDEX outbox_holding; CREATE INDEX outbox_holding ON outbox(workspace, webhook, (COALESCE(connector, "
        "'')), next_attempt_at) WHERE status IN ('pending', 'superseded') AND attempts>0 AND (last_status IS NULL "
        "OR last_status IN (429, 503));",
        9);
  }

  std::string base_, db_, url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, Workspaces) {
  EXPECT_TRUE(*store_->WorkspaceExists("ws1"));
  EXPECT_FALSE(*store_->WorkspaceExists("nope"));
  EXPECT_EQ(*store_->CountWorkspaces(), 2);
  EXPECT_EQ(store_->CreateWorkspace("ws1", "{}", 1).code(), Code::kConflict);
  ASSERT_OK(store_->CreateWorkspace("a-ws", "{}", 1));
  EXPECT_EQ(*store_->ListWorkspaces(), (std::vector<std::string>{"a-ws", "ws1", "ws2"}));
  auto tx = Read("nope");
  ASSERT_TRUE(tx);
  EXPECT_EQ(tx->LoadConfig().status().code(), Code::kNotFound);
  EXPECT_EQ(tx->ConfigVersion().status().code(), Code::kNotFound);
}

TEST_P(StoreTest, Keys) {
  KeyRow k{"k1", "ws1", "admin", true, "first", "hash1", 10, std::nullopt};
  ASSERT_OK(store_->CreateKey(k));
  ASSERT_OK(store_->CreateKey({"k2", "ws2", "member", false, "", "hash2", 11, std::nullopt}));
  ASSERT_OK(store_->CreateKey({"k0", "ws1", "integration", false, "z", "hash0", 10, std::nullopt}));
  EXPECT_EQ(store_->CreateKey({"k3", "ws1", "member", false, "", "hash1", 12, std::nullopt}).code(),
            Code::kConflict);
  auto found = store_->FindKeyByHash("hash1");
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->id, "k1");
  EXPECT_EQ((*found)->workspace, "ws1");
  EXPECT_EQ((*found)->role, "admin");
  EXPECT_TRUE((*found)->can_reassign);
  EXPECT_EQ((*found)->name, "first");
  EXPECT_EQ((*found)->created_at, 10);
  EXPECT_FALSE((*found)->revoked_at);
  EXPECT_FALSE(*store_->FindKeyByHash("nope"));

  auto all = store_->ListKeys(std::nullopt);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "k0");  // created_at, then id
  EXPECT_EQ((*all)[1].id, "k1");
  EXPECT_EQ((*all)[2].id, "k2");
  auto one = store_->ListKeys(std::string("ws2"));
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, "k2");

  EXPECT_EQ(store_->RevokeKey("k1", std::string("ws2"), 50).code(), Code::kNotFound);
  EXPECT_EQ(store_->RevokeKey("zz", std::nullopt, 50).code(), Code::kNotFound);
  // k1 is ws1's only admin key: it stays (another role's last key goes).
  Status last = store_->RevokeKey("k1", std::string("ws1"), 50);
  EXPECT_EQ(last.error_code(), "last_admin_key") << last.ToString();
  EXPECT_FALSE((*store_->FindKeyByHash("hash1"))->revoked_at);
  ASSERT_OK(store_->RevokeKey("k2", std::nullopt, 50));
  ASSERT_OK(store_->CreateKey({"k4", "ws1", "admin", false, "", "hash4", 13, std::nullopt}));
  ASSERT_OK(store_->RevokeKey("k1", std::string("ws1"), 50));
  ASSERT_OK(store_->RevokeKey("k1", std::nullopt, 60));  // keeps the first revocation time
  EXPECT_EQ((*store_->FindKeyByHash("hash1"))->revoked_at, 50);
  EXPECT_EQ(store_->RevokeKey("k4", std::nullopt, 70).error_code(), "last_admin_key");

  // A transaction sees the keys as it reads them, another workspace's too (a decision
  // confirms its key in its own transaction).
  {
    auto tx = store_->BeginWrite("ws2");
    ASSERT_TRUE(tx.ok());
    auto in_tx = (*tx)->FindKeyByHash("hash1");
    ASSERT_TRUE(in_tx.ok() && *in_tx);
    EXPECT_EQ((*in_tx)->id, "k1");
    EXPECT_EQ((*in_tx)->workspace, "ws1");
    EXPECT_EQ((*in_tx)->revoked_at, 50);
    auto live = (*tx)->FindKeyByHash("hash4");
    ASSERT_TRUE(live.ok() && *live);
    EXPECT_FALSE((*live)->revoked_at);
    EXPECT_FALSE(*(*tx)->FindKeyByHash("nope"));
  }
  auto read = store_->BeginRead("ws1");
  ASSERT_TRUE(read.ok());
  auto in_read = (*read)->FindKeyByHash("hash2");
  ASSERT_TRUE(in_read.ok() && *in_read);
  EXPECT_EQ((*in_read)->role, "member");
}

// Two revocations at once of a workspace's last two admin keys: one goes, one stays.
TEST_P(StoreTest, RevokingTheLastTwoAdminKeysAtOnceKeepsOne) {
  for (int round = 0; round < 20; ++round) {
    const std::string a = "ka" + std::to_string(round), b = "kb" + std::to_string(round);
    const std::string ws = "wr" + std::to_string(round);
    ASSERT_OK(store_->CreateWorkspace(ws, "{}", 1));
    ASSERT_OK(store_->CreateKey({a, ws, "admin", false, "", "h" + a, 1, std::nullopt}));
    ASSERT_OK(store_->CreateKey({b, ws, "admin", false, "", "h" + b, 1, std::nullopt}));
    Status sa, sb;
    std::thread ta([&] { sa = store_->RevokeKey(a, ws, 5); });
    std::thread tb([&] { sb = store_->RevokeKey(b, ws, 5); });
    ta.join();
    tb.join();
    EXPECT_NE(sa.ok(), sb.ok()) << sa.ToString() << " / " << sb.ToString();
    EXPECT_EQ((sa.ok() ? sb : sa).error_code(), "last_admin_key") << sa.ToString() << " / " << sb.ToString();
    auto keys = store_->ListKeys(ws);
    ASSERT_OK(keys.status());
    EXPECT_EQ(std::count_if(keys->begin(), keys->end(), [](const KeyRow& k) { return !k.revoked_at; }), 1);
  }
}

TEST_P(StoreTest, ConfigVersion) {
  {
    auto tx = Read();
    auto c = tx->LoadConfig();
    ASSERT_OK(c.status());
    EXPECT_EQ(c->first, 1);
    EXPECT_EQ(c->second, "{}");
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->SaveConfig(2, "{\"users\":[]}"));
    EXPECT_EQ(*tx->ConfigVersion(), 2);
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->SaveConfig(3, "{\"x\":1}"));
  }  // rolled back
  auto tx = Read();
  EXPECT_EQ(*tx->ConfigVersion(), 2);
  EXPECT_EQ(tx->LoadConfig()->second, "{\"users\":[]}");
  EXPECT_EQ(*Read("ws2")->ConfigVersion(), 1);
}

TEST_P(StoreTest, PoolPointer) {
  {
    auto tx = Write();
    EXPECT_EQ(tx->PoolPointer("p"), 0);
    ASSERT_OK(tx->SetPoolPointer("p", 3));
    ASSERT_OK(tx->SetPoolPointer("p", 4));
    ASSERT_OK(tx->SetPoolPointer("q", 1));
    EXPECT_EQ(tx->PoolPointer("p"), 4);
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(Read()->PoolPointer("p"), 4);
  EXPECT_EQ(Read("ws2")->PoolPointer("p"), 0);
  {
    auto tx = Write();
    ASSERT_OK(tx->DeletePoolState("p"));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(Read()->PoolPointer("p"), 0);
  EXPECT_EQ(Read()->PoolPointer("q"), 1);
}

TEST_P(StoreTest, PoolLeftMemberLastsUntilThePointerMoves) {
  {
    auto tx = Write();
    EXPECT_EQ(*tx->PoolLeftMember("p"), "");
    ASSERT_OK(tx->SetPoolLeftMember("p", "C"));  // a pool never served keeps none
    EXPECT_EQ(*tx->PoolLeftMember("p"), "");
    ASSERT_OK(tx->SetPoolPointer("p", 3));
    ASSERT_OK(tx->SetPoolLeftMember("p", "C"));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(*Read()->PoolLeftMember("p"), "C");
  EXPECT_EQ(Read()->PoolPointer("p"), 3);
  EXPECT_EQ(*Read("ws2")->PoolLeftMember("p"), "");
  {
    auto tx = Write();
    ASSERT_OK(tx->SetPoolPointer("p", 1));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(*Read()->PoolLeftMember("p"), "");
}

TEST_P(StoreTest, KeyPicksCreditsAssigned) {
  {
    auto tx = Write();
    ASSERT_OK(tx->SaveKeyPick({"d", "paris", {"ann", "bob"}, {-500000, 500000}, "ann"}));
    ASSERT_OK(tx->SaveKeyPick({"d", "paris", {"ann", "bob"}, {0, 0}, "bob"}));
    ASSERT_OK(tx->SaveKeyPick({"d", "paris", {"ann", "bob"}, {-500000, 500000}, "ann"}));
    ASSERT_OK(tx->SaveKeyPick({"d", "rome", {"cid"}, {0}, "cid"}));
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  EXPECT_EQ(tx->KeyCredits("d", "paris", {"bob", "zed", "ann"}), (std::vector<int64_t>{500000, 0, -500000}));
  EXPECT_EQ(tx->KeyCredits("d", "nowhere", {"ann"}), (std::vector<int64_t>{0}));
  EXPECT_EQ(Read("ws2")->KeyCredits("d", "paris", {"ann"}), (std::vector<int64_t>{0}));
  auto rows = tx->KeyState("d");
  ASSERT_OK(rows.status());
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> got;
  for (const auto& r : *rows) got[{r.value, r.user}] = {r.credit, r.assigned};
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got[std::make_pair(std::string("paris"), std::string("ann"))], std::make_pair(int64_t{-500000}, int64_t{2}));
  EXPECT_EQ(got[std::make_pair(std::string("paris"), std::string("bob"))], std::make_pair(int64_t{500000}, int64_t{1}));
  EXPECT_EQ(got[std::make_pair(std::string("rome"), std::string("cid"))], std::make_pair(int64_t{0}, int64_t{1}));
  tx.reset();
  {
    auto w = Write();
    ASSERT_OK(w->ResetKeyState("d", std::string("paris")));
    ASSERT_OK(w->Commit());
  }
  EXPECT_EQ(Read()->KeyState("d")->size(), 1u);
  {
    auto w = Write();
    ASSERT_OK(w->ResetKeyState("d", std::nullopt));
    ASSERT_OK(w->Commit());
  }
  EXPECT_TRUE(Read()->KeyState("d")->empty());
}

TEST_P(StoreTest, Unkeyed) {
  {
    auto tx = Write();
    ASSERT_OK(tx->AddUnkeyed("d", "lyon", "Lyon"));
    ASSERT_OK(tx->AddUnkeyed("d", "lyon", "LYON"));
    ASSERT_OK(tx->AddUnkeyed("d", "berlin", "Berlin"));
    ASSERT_OK(tx->AddUnkeyed("e", "oslo", "Oslo"));
    ASSERT_OK(tx->Commit());
  }
  auto rows = Read()->Unkeyed("d");
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].value, "Berlin");
  EXPECT_EQ((*rows)[0].seen, 1);
  EXPECT_EQ((*rows)[1].value, "Lyon");  // the first spelling is kept
  EXPECT_EQ((*rows)[1].seen, 2);
  EXPECT_TRUE(Read("ws2")->Unkeyed("d")->empty());
  {
    auto tx = Write();
    ASSERT_OK(tx->RemoveUnkeyed("d", std::string("lyon")));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(Read()->Unkeyed("d")->size(), 1u);
  {
    auto tx = Write();
    ASSERT_OK(tx->RemoveUnkeyed("d", std::nullopt));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_TRUE(Read()->Unkeyed("d")->empty());
  EXPECT_EQ(Read()->Unkeyed("e")->size(), 1u);
}

TEST_P(StoreTest, RecordsAndOpenCounts) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutRecord(Rec("1", {"ann"}), 10));
    ASSERT_OK(tx->PutRecord(Rec("2", {"ann", "bob", "ann"}), 10));
    ASSERT_OK(tx->PutRecord(Rec("3", {"ann"}, false), 10));
    ASSERT_OK(tx->PutRecord(Rec("4", {"ann"}, true, core::ObjectType::kDeal), 10));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Read();
    EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kLead, ""), 2);
    EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kLead, "1"), 1);
    EXPECT_EQ(tx->OpenRecords("bob", core::ObjectType::kLead, ""), 1);
    EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kDeal, ""), 1);
    auto r = tx->FindRecord(core::ObjectType::kLead, "2");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, "2");
    EXPECT_EQ(r->object_type, core::ObjectType::kLead);
    EXPECT_EQ(r->owners, (std::vector<std::string>{"ann", "bob", "ann"}));
    EXPECT_TRUE(r->open);
    EXPECT_FALSE(tx->FindRecord(core::ObjectType::kDeal, "2"));
    EXPECT_FALSE(Read("ws2")->FindRecord(core::ObjectType::kLead, "2"));
    EXPECT_EQ(Read("ws2")->OpenRecords("ann", core::ObjectType::kLead, ""), 0);
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->PutRecord(Rec("2", {"bob"}, false), 20));  // closed, owner changed
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kLead, ""), 1);
  EXPECT_EQ(tx->OpenRecords("bob", core::ObjectType::kLead, ""), 0);
  EXPECT_FALSE(tx->FindRecord(core::ObjectType::kLead, "2")->open);
}

// The open counts follow every change of a record's owners and open flag, whatever was
// written before (owners listed twice, records closed and opened again, units undone),
// and a record excluded from its own count is excluded only where it counts.
TEST_P(StoreTest, OpenCountsFollowEveryChange) {
  std::mt19937 rng(7);
  const std::vector<std::string> users = {"ann", "bob", "cid"};
  struct Stored {
    std::vector<std::string> owners;
    bool open;
  };
  std::map<std::string, Stored> model;  // record id -> as stored
  auto owns = [](const Stored& r, const std::string& u) {
    return r.open && std::count(r.owners.begin(), r.owners.end(), u) > 0;
  };
  auto tx = Write();
  for (int step = 0; step < 300; ++step) {
    const std::string id = std::to_string(rng() % 6);
    std::vector<std::string> owners;
    for (const std::string& u : users) {
      if (rng() % 3 == 0) owners.push_back(u);
      if (rng() % 8 == 0) owners.push_back(u);  // twice: counts once
    }
    const bool open = rng() % 4 != 0;
    const bool undo = rng() % 5 == 0;
    // Reads of the record before and after its write, as a decision makes them, are
    // remembered by the store until a unit is undone.
    if (rng() % 2) (void)tx->FindRecord(core::ObjectType::kLead, id);
    ASSERT_OK(tx->BeginUnit());
    if (rng() % 2) ASSERT_OK(tx->InsertDecision(Decision("dec_" + std::to_string(step), step, "ann")));
    ASSERT_OK(tx->PutRecord(Rec(id, owners, open), step));
    if (rng() % 2) (void)tx->OpenRecords(users[rng() % users.size()], core::ObjectType::kLead, id);
    if (rng() % 2) (void)tx->FindRecord(core::ObjectType::kLead, id);
    if (undo) {
      ASSERT_OK(tx->RollbackUnit());
    } else {
      ASSERT_OK(tx->EndUnit());
      model[id] = {owners, open};
    }
    // Mostly the record just written or undone (what the store may remember), "6" never stored.
    const std::string excluded = rng() % 2 ? id : std::to_string(rng() % 7);
    for (const std::string& u : users) {
      int64_t all = 0, others = 0;
      for (const auto& [rid, r] : model) {
        all += owns(r, u) ? 1 : 0;
        others += owns(r, u) && rid != excluded ? 1 : 0;
      }
      ASSERT_EQ(tx->OpenRecords(u, core::ObjectType::kLead, excluded), others)
          << "step " << step << ", " << u << " without " << excluded;
      ASSERT_EQ(tx->OpenRecords(u, core::ObjectType::kLead, ""), all) << "step " << step << ", " << u;
      ASSERT_EQ(tx->OpenRecords(u, core::ObjectType::kDeal, ""), 0);
    }
  }
  ASSERT_OK(tx->Commit());
  auto read = Read();
  for (const std::string& u : users) {
    int64_t all = 0;
    for (const auto& [rid, r] : model) all += owns(r, u) ? 1 : 0;
    EXPECT_EQ(read->OpenRecords(u, core::ObjectType::kLead, ""), all) << u;
  }
}

// A stored record whose owners cannot be read fails the write that would replace it:
// its counts are neither lost nor counted twice.
// A record's notes (rota's own) are kept with it.
TEST_P(StoreTest, RecordsKeepTheirNotes) {
  core::Record r = Rec("N-1", {"ann"});
  r.notes = {{100, "first", "dec_1"}, {200, "second, \"quoted\"", "dec_2"}};
  {
    auto tx = Write();
    ASSERT_OK(tx->PutRecord(r, 10));
    ASSERT_OK(tx->Commit());
  }
  auto got = Read()->FindRecord(core::ObjectType::kLead, "N-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->notes, r.notes);
  EXPECT_EQ(*got, r);
}

TEST_P(StoreTest, AnUnreadableStoredRecordFailsItsWrite) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutRecord(Rec("1", {"ann"}), 10));
    ASSERT_OK(tx->Commit());
  }
  const std::string corrupt = "UPDATE records SET body='not json' WHERE id='1'";
  ExecOutside(corrupt, corrupt);
  {
    auto tx = Write();
    EXPECT_FALSE(tx->PutRecord(Rec("1", {"bob"}), 20).ok());
  }
  auto tx = Read();
  EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kLead, ""), 1);
  EXPECT_EQ(tx->OpenRecords("bob", core::ObjectType::kLead, ""), 0);
}

TEST_P(StoreTest, DecisionsIdempotencyAndAssignedSince) {
  {
    auto tx = Write();
    DecisionRow d = Decision("dec_1", 100, "ann");
    d.idempotency_key = "key-1";
    d.request_hash = "abc";
    d.distribution = "dist";
    d.key_value = "paris";
    d.reason = std::nullopt;
    ASSERT_OK(tx->InsertDecision(d));
    ASSERT_OK(tx->InsertDecision(Decision("dec_2", 200, "ann")));
    ASSERT_OK(tx->InsertDecision(Decision("dec_3", 300, "bob")));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write();
    DecisionRow again = Decision("dec_4", 400, "ann");
    again.idempotency_key = "key-1";
    EXPECT_EQ(tx->InsertDecision(again).code(), Code::kConflict);
  }
  {
    auto tx = Write("ws2");  // keys are per workspace
    DecisionRow other = Decision("dec_5", 400, "ann");
    other.idempotency_key = "key-1";
    ASSERT_OK(tx->InsertDecision(other));
    EXPECT_EQ(tx->InsertDecision(Decision("dec_1", 1, "x")).code(), Code::kConflict);  // ids are global
  }
  auto tx = Read();
  auto f = tx->FindDecisionByKey("key-1");
  ASSERT_OK(f.status());
  ASSERT_TRUE(*f);
  const DecisionRow& d = **f;
  EXPECT_EQ(d.id, "dec_1");
  EXPECT_EQ(d.workspace, "ws1");
  EXPECT_EQ(d.at, 100);
  EXPECT_EQ(d.event, "created");
  EXPECT_EQ(d.object_type, "lead");
  EXPECT_EQ(d.record_id, "r-dec_1");
  EXPECT_EQ(d.rule, "r1");
  EXPECT_EQ(d.strategy, "round_robin");
  EXPECT_EQ(d.outcome, "assigned");
  EXPECT_EQ(d.owner, "ann");
  EXPECT_FALSE(d.reason);
  EXPECT_EQ(d.body, "{\"id\":\"dec_1\"}");
  EXPECT_EQ(d.idempotency_key, "key-1");
  EXPECT_EQ(d.request_hash, "abc");
  EXPECT_EQ(d.distribution, "dist");
  EXPECT_EQ(d.key_value, "paris");
  EXPECT_GT(d.seq, 0);
  EXPECT_FALSE(*tx->FindDecisionByKey("key-2"));
  const core::Time later(std::chrono::seconds(1000));
  EXPECT_EQ(tx->AssignedSince("ann", core::Time(std::chrono::seconds(150)), later), 1);
  EXPECT_EQ(tx->AssignedSince("ann", core::Time(std::chrono::seconds(0)), later), 2);
  EXPECT_EQ(tx->AssignedSince("bob", core::Time(std::chrono::seconds(301)), later), 0);
  // Not after `until`: the decision at 100 counts up to 100 included, not before.
  EXPECT_EQ(tx->AssignedSince("ann", core::Time(std::chrono::seconds(0)), core::Time(std::chrono::seconds(100))), 1);
  EXPECT_EQ(tx->AssignedSince("ann", core::Time(std::chrono::seconds(0)), core::Time(std::chrono::seconds(99))), 0);
  EXPECT_EQ(*tx->CountDecisions(), 3);
  EXPECT_EQ(*Read("ws2")->CountDecisions(), 0);
}

TEST_P(StoreTest, HistoryFiltersAndRecordDecisions) {
  {
    auto tx = Write();
    for (int i = 1; i <= 6; ++i) {
      DecisionRow d = Decision("dec_" + std::to_string(i), i * 100, i % 2 ? "ann" : "bob");
      if (i == 3) {
        d.owner = std::nullopt;
        d.outcome = "unassigned";
        d.reason = "no_eligible_user";
      }
      if (i >= 5) {
        d.event = "updated";
        d.object_type = "deal";
        d.rule = "r2";
        d.record_id = "same";
      }
      ASSERT_OK(tx->InsertDecision(d));
    }
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  auto ids = [](const Result<std::vector<DecisionRow>>& r) {
    std::vector<std::string> out;
    for (const auto& d : *r) out.push_back(d.id);
    return out;
  };
  using V = std::vector<std::string>;
  HistoryFilter f;
  EXPECT_EQ(ids(tx->History(f)), (V{"dec_6", "dec_5", "dec_4", "dec_3", "dec_2", "dec_1"}));
  f.limit = 2;
  auto page = tx->History(f);
  EXPECT_EQ(ids(page), (V{"dec_6", "dec_5"}));
  f.before_seq = page->back().seq;
  EXPECT_EQ(ids(tx->History(f)), (V{"dec_4", "dec_3"}));
  f = {};
  f.from = 200;
  f.to = 500;
  EXPECT_EQ(ids(tx->History(f)), (V{"dec_4", "dec_3", "dec_2"}));
  f = {};
  f.owner = "ann";
  EXPECT_EQ(ids(tx->History(f)), (V{"dec_5", "dec_1"}));
  f = {};
  f.outcome = "unassigned";
  EXPECT_EQ(ids(tx->History(f)), (V{"dec_3"}));
  f = {};
  f.event = "updated";
  f.object_type = "deal";
  f.rule = "r2";
  EXPECT_EQ(ids(tx->History(f)), (V{"dec_6", "dec_5"}));
  f.rule = "r1";
  EXPECT_TRUE(tx->History(f)->empty());
  f = {};
  f.object_type = "x' OR '1'='1";
  EXPECT_TRUE(tx->History(f)->empty());
  EXPECT_TRUE(Read("ws2")->History({})->empty());

  EXPECT_EQ(ids(tx->RecordDecisions("deal", "same", 10)), (V{"dec_6", "dec_5"}));
  EXPECT_EQ(ids(tx->RecordDecisions("deal", "same", 1)), (V{"dec_6"}));
  EXPECT_TRUE(tx->RecordDecisions("lead", "same", 10)->empty());
}

// Newest first is (at, seq) descending; a cursor pages through rows of the same second
// exactly once each, with an owner filter (read from decisions_owner) and without.
TEST_P(StoreTest, HistoryPagesThroughEqualTimesOnce) {
  {
    auto tx = Write();
    for (int i = 1; i <= 7; ++i) {
      ASSERT_OK(tx->InsertDecision(Decision("dec_" + std::to_string(i), i <= 5 ? 100 : 200, "ann")));
    }
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  for (bool by_owner : {false, true}) {
    HistoryFilter f;
    if (by_owner) f.owner = "ann";
    f.limit = 2;
    std::vector<std::string> seen;
    for (int page = 0; page < 10; ++page) {
      auto rows = tx->History(f);
      ASSERT_TRUE(rows.ok());
      for (const auto& d : *rows) seen.push_back(d.id);
      if (rows->size() < 2) break;
      f.before_seq = rows->back().seq;
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"dec_7", "dec_6", "dec_5", "dec_4", "dec_3", "dec_2", "dec_1"}));
  }
}

TEST_P(StoreTest, UnassignedQueue) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutUnassigned({"lead", "1", "no_rule", "dec_a", 10}));
    ASSERT_OK(tx->PutUnassigned({"lead", "2", "no_rule", "dec_b", 20}));
    ASSERT_OK(tx->PutUnassigned({"deal", "3", "capped", "dec_c", 30}));
    ASSERT_OK(tx->PutUnassigned({"lead", "1", "capped", "dec_d", 40}));  // replaces
    ASSERT_OK(tx->Commit());
  }
  auto ids = [](const Result<std::vector<UnassignedRow>>& r) {
    std::vector<std::string> out;
    for (const auto& u : *r) out.push_back(u.decision_id);
    return out;
  };
  using V = std::vector<std::string>;
  {
    auto tx = Read();
    auto all = tx->ListUnassigned(std::nullopt, std::nullopt, 10);
    EXPECT_EQ(ids(all), (V{"dec_d", "dec_c", "dec_b"}));
    EXPECT_EQ((*all)[0].reason, "capped");
    EXPECT_EQ((*all)[0].record_id, "1");
    EXPECT_EQ((*all)[0].object_type, "lead");
    EXPECT_EQ((*all)[0].at, 40);
    EXPECT_EQ(ids(tx->ListUnassigned(std::string("lead"), std::nullopt, 10)), (V{"dec_d", "dec_b"}));
    EXPECT_EQ(ids(tx->ListUnassigned(std::nullopt, std::string("dec_d"), 1)), (V{"dec_c"}));
    EXPECT_EQ(*tx->CountUnassigned(), 3);
    EXPECT_EQ(*Read("ws2")->CountUnassigned(), 0);
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->RemoveUnassigned("lead", "1"));
    ASSERT_OK(tx->RemoveUnassigned("lead", "404"));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(*Read()->CountUnassigned(), 2);
}

TEST_P(StoreTest, PurgeKeepsRotationState) {
  {
    auto tx = Write();
    for (int i = 1; i <= 5; ++i) ASSERT_OK(tx->InsertDecision(Decision("dec_" + std::to_string(i), i * 10, "ann")));
    ASSERT_OK(tx->SetPoolPointer("p", 2));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write("ws2");
    ASSERT_OK(tx->InsertDecision(Decision("dec_x", 10, "ann")));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write();
    auto n = tx->PurgeDecisions(30, 30, 0, 0, 100);
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 2);
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(*Read()->CountDecisions(), 3);
  EXPECT_EQ(*Read("ws2")->CountDecisions(), 1);
  EXPECT_EQ(Read()->PoolPointer("p"), 2);
  // A kept range [40, 50) survives a purge before 60: the decision at 40 stays, 30 and 50 go.
  {
    auto tx = Write();
    auto n = tx->PurgeDecisions(60, 30, 40, 50, 100);
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 2);
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(*Read()->CountDecisions(), 1);
}

TEST_P(StoreTest, ReportCounts) {
  {
    auto tx = Write();
    auto add = [&](const std::string& id, int64_t at, std::optional<std::string> owner, const std::string& outcome,
                   std::optional<std::string> dist, std::optional<std::string> value, const std::string& rule) {
      DecisionRow d = Decision(id, at, std::move(owner), outcome);
      d.distribution = std::move(dist);
      d.key_value = std::move(value);
      d.rule = rule;
      ASSERT_OK(tx->InsertDecision(d));
    };
    add("d1", 10, "ann", "assigned", "dist", "paris", "r1");
    add("d2", 20, "bob", "assigned", "dist", "paris", "r1");
    add("d3", 30, "ann", "assigned", "dist", "lyon", "r1");
    add("d4", 40, "ann", "assigned", std::nullopt, std::nullopt, "r2");
    add("d5", 50, std::nullopt, "unassigned", std::nullopt, std::nullopt, "r2");
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  auto flat = [](const Result<std::vector<OwnerCount>>& r) {
    std::vector<std::string> out;
    for (const auto& c : *r) out.push_back(c.owner + "/" + c.value + "/" + std::to_string(c.count));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(flat(tx->CountByOwner({})), (V{"ann//3", "bob//1"}));
  ReportFilter f;
  f.from = 20;
  f.to = 50;
  EXPECT_EQ(flat(tx->CountByOwner(f)), (V{"ann//2", "bob//1"}));
  f.from = 35;  // an owner with nothing in the window is left out
  EXPECT_EQ(flat(tx->CountByOwner(f)), (V{"ann//1"}));
  f = {};
  f.to = 25;
  EXPECT_EQ(flat(tx->CountByOwner(f)), (V{"ann//1", "bob//1"}));
  f.from = 60;
  EXPECT_TRUE(tx->CountByOwner(f)->empty());
  f = {};
  f.rule = "r2";
  EXPECT_EQ(flat(tx->CountByOwner(f)), (V{"ann//1"}));
  f = {};
  f.object_type = "deal";
  EXPECT_TRUE(tx->CountByOwner(f)->empty());
  EXPECT_EQ(flat(tx->CountByKey({})), (V{"ann//1", "ann/lyon/1", "ann/paris/1", "bob/paris/1"}));
  f = {};
  f.distribution = "dist";
  EXPECT_EQ(flat(tx->CountByKey(f)), (V{"ann/lyon/1", "ann/paris/1", "bob/paris/1"}));
  EXPECT_EQ(flat(tx->CountByOutcome({})), (V{"assigned//4", "unassigned//1"}));
  EXPECT_TRUE(Read("ws2")->CountByOutcome({})->empty());
}

TEST_P(StoreTest, WebhooksAndDeliveries) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"wh_b", "http://b", {"decision.made", "record.assigned"}, "sb", 5}));
    ASSERT_OK(tx->PutWebhook({"wh_a", "http://a", {}, "sa", 6}));
    EXPECT_EQ(tx->PutWebhook({"wh_a", "http://x", {}, "s", 7}).code(), Code::kConflict);
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Read();
    auto w = tx->Webhooks();
    ASSERT_OK(w.status());
    ASSERT_EQ(w->size(), 2u);
    EXPECT_EQ((*w)[0].id, "wh_a");
    EXPECT_EQ((*w)[1].id, "wh_b");
    EXPECT_EQ((*w)[1].url, "http://b");
    EXPECT_EQ((*w)[1].events, (std::vector<std::string>{"decision.made", "record.assigned"}));
    EXPECT_EQ((*w)[1].secret, "sb");
    EXPECT_EQ((*w)[1].created_at, 5);
    EXPECT_TRUE(Read("ws2")->Webhooks()->empty());
  }
  {
    auto tx = Write();
    for (int i = 1; i <= 3; ++i) {
      DeliveryRow d;
      d.id = "del_" + std::to_string(i);
      d.webhook = "wh_b";
      d.event = "decision.made";
      d.body = "{\"n\":" + std::to_string(i) + "}";
      d.next_attempt_at = 1000;
      d.created_at = 900 + i;
      ASSERT_OK(tx->InsertDelivery(d));
    }
    ASSERT_OK(tx->Commit());
  }
  // Claims: due rows in order, leased; not handed out again until the lease ends.
  EXPECT_TRUE(store_->ClaimDeliveries(999, 5000, 10)->empty());
  auto first = store_->ClaimDeliveries(1000, 5000, 2);
  ASSERT_OK(first.status());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, "del_1");
  EXPECT_EQ((*first)[1].id, "del_2");
  EXPECT_EQ((*first)[0].url, "http://b");
  EXPECT_EQ((*first)[0].secret, "sb");
  EXPECT_EQ((*first)[0].workspace, "ws1");
  EXPECT_EQ((*first)[0].webhook, "wh_b");
  EXPECT_EQ((*first)[0].body, "{\"n\":1}");
  EXPECT_EQ((*first)[0].status, "pending");
  EXPECT_EQ((*first)[0].created_at, 901);
  // del_3 waits while del_1 and del_2 are being sent (one delivery at a time to a receiver).
  EXPECT_TRUE(store_->ClaimDeliveries(1001, 5000, 10)->empty());
  EXPECT_TRUE(store_->ClaimDeliveries(5999, 5000, 10)->empty());
  // A node that died: its lease ends and the rows are claimed again, with the one behind them.
  auto expired = store_->ClaimDeliveries(6000, 5000, 10);
  ASSERT_EQ(expired->size(), 3u);

  AttemptResult ok{AttemptResult::State::kDelivered, 200, "", 0, 6100};
  ASSERT_OK(store_->FinishAttempt("del_1", ok));
  AttemptResult retry{AttemptResult::State::kRetry, 503, "busy", 20000, 6100};
  ASSERT_OK(store_->FinishAttempt("del_2", retry));
  AttemptResult failed{AttemptResult::State::kFailed, std::nullopt, "refused", 0, 6100};
  ASSERT_OK(store_->FinishAttempt("del_3", failed));
  EXPECT_TRUE(store_->ClaimDeliveries(19999, 5000, 10)->empty());
  auto due = store_->ClaimDeliveries(20000, 5000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, "del_2");
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_status, 503);
  EXPECT_EQ((*due)[0].last_error, "busy");

  {
    auto tx = Read();
    auto list = tx->Deliveries("wh_b", std::nullopt, 10);
    ASSERT_OK(list.status());
    ASSERT_EQ(list->size(), 3u);
    EXPECT_EQ((*list)[0].id, "del_3");
    EXPECT_EQ((*list)[0].status, "failed");
    EXPECT_FALSE((*list)[0].last_status);
    EXPECT_EQ((*list)[2].id, "del_1");
    EXPECT_EQ((*list)[2].status, "delivered");
    EXPECT_EQ((*list)[2].delivered_at, 6100);
    EXPECT_EQ((*list)[2].last_status, 200);
    auto page = tx->Deliveries("wh_b", (*list)[1].seq, 10);
    ASSERT_EQ(page->size(), 1u);
    EXPECT_EQ((*page)[0].id, "del_1");
    EXPECT_TRUE(tx->Deliveries("wh_a", std::nullopt, 10)->empty());
    EXPECT_TRUE(Read("ws2")->Deliveries("wh_b", std::nullopt, 10)->empty());
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->RetryDelivery("wh_b", "del_3", 30000));
    EXPECT_EQ(tx->RetryDelivery("wh_b", "nope", 30000).code(), Code::kNotFound);
    EXPECT_EQ(tx->RetryDelivery("wh_a", "del_3", 30000).code(), Code::kNotFound);
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write("ws2");
    EXPECT_EQ(tx->RetryDelivery("wh_b", "del_3", 30000).code(), Code::kNotFound);
  }
  auto resent = store_->ClaimDeliveries(30000, 5000, 10);
  ASSERT_EQ(resent->size(), 2u);  // del_2 (lease ended at 25000) and del_3 again
  EXPECT_EQ((*resent)[0].id, "del_2");
  EXPECT_EQ((*resent)[1].id, "del_3");
  {
    auto tx = Write();
    EXPECT_EQ(tx->DeleteWebhook("nope").code(), Code::kNotFound);
    ASSERT_OK(tx->DeleteWebhook("wh_b"));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_TRUE(store_->ClaimDeliveries(100000, 5000, 10)->empty());
  auto after = Read()->Deliveries("wh_b", std::nullopt, 10);
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].status, "failed");
  EXPECT_EQ((*after)[0].last_error, "webhook deleted");
  EXPECT_EQ(Read()->Webhooks()->size(), 1u);
}

TEST_P(StoreTest, ConnectorsAndTheirWriteBacks) {
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 5, 5}));
    ASSERT_OK(tx->InsertConnector({"hs", "hubspot", R"({"id":"hs"})", "v1:other", 6, 6}));
    EXPECT_EQ(tx->InsertConnector({"pd", "generic", "{}", "x", 7, 7}).code(), Code::kConflict);
    ASSERT_OK(tx->PutWebhook({"wh", "http://w", {"decision.assigned"}, "sw", 5}));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write();
    EXPECT_EQ(tx->UpdateConnector({"nope", "generic", "{}", "x", 1, 1}).code(), Code::kNotFound);
    ASSERT_OK(tx->UpdateConnector({"pd", "pipedrive", R"({"id":"pd","v":2})", "v1:resealed", 5, 9}));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Read();
    auto all = tx->Connectors();
    ASSERT_OK(all.status());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].id, "hs");
    auto pd = tx->FindConnector("pd");
    ASSERT_OK(pd.status());
    ASSERT_TRUE(pd->has_value());
    EXPECT_EQ((*pd)->doc, R"({"id":"pd","v":2})");
    EXPECT_EQ((*pd)->secrets, "v1:resealed");
    EXPECT_EQ((*pd)->created_at, 5);
    EXPECT_EQ((*pd)->updated_at, 9);
    EXPECT_FALSE(tx->FindConnector("nope")->has_value());
    EXPECT_FALSE(Read("ws2")->FindConnector("pd")->has_value());  // workspaces apart
  }
  {
    auto tx = Write();
    for (int i = 1; i <= 2; ++i) {
      DeliveryRow d;
      d.id = "wb_" + std::to_string(i);
      d.connector = "pd";
      d.event = "owner.write_back";
      d.body = "{}";
      d.next_attempt_at = 1000;
      d.created_at = 900;
      ASSERT_OK(tx->InsertDelivery(d));
    }
    DeliveryRow w;
    w.id = "del_w";
    w.webhook = "wh";
    w.event = "decision.assigned";
    w.body = "{}";
    w.next_attempt_at = 1000;
    w.created_at = 900;
    ASSERT_OK(tx->InsertDelivery(w));
    ASSERT_OK(tx->Commit());
  }
  // Claims hand out write-backs and webhook rows alike, each with its target, a
  // destination a claim: the connector's rows, then the webhook's.
  auto claimed = store_->ClaimDeliveries(1000, 5000, 10);
  ASSERT_OK(claimed.status());
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].connector, "pd");
  ASSERT_TRUE((*claimed)[0].target.has_value());
  EXPECT_EQ((*claimed)[0].target->kind, "pipedrive");
  EXPECT_EQ((*claimed)[0].target->secrets, "v1:resealed");
  EXPECT_EQ((*claimed)[1].id, "wb_2");
  auto hook = store_->ClaimDeliveries(1000, 5000, 10);
  ASSERT_OK(hook.status());
  ASSERT_EQ(hook->size(), 1u);
  EXPECT_EQ((*hook)[0].webhook, "wh");
  EXPECT_EQ((*hook)[0].url, "http://w");
  EXPECT_FALSE((*hook)[0].target.has_value());
  {
    auto tx = Read();
    auto list = tx->ConnectorDeliveries("pd", std::nullopt, 10);
    ASSERT_OK(list.status());
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].id, "wb_2");  // newest first
    EXPECT_EQ(tx->ConnectorDeliveries("pd", (*list)[0].seq, 10)->size(), 1u);
    EXPECT_TRUE(tx->ConnectorDeliveries("hs", std::nullopt, 10)->empty());
    EXPECT_TRUE(tx->Deliveries("pd", std::nullopt, 10)->empty());  // not a webhook's
  }
  {
    auto tx = Write();
    EXPECT_EQ(tx->DeleteConnector("nope").code(), Code::kNotFound);
    ASSERT_OK(tx->DeleteConnector("pd"));
    ASSERT_OK(tx->Commit());
  }
  // Its pending write-backs fail with it; the webhook's row is still due.
  auto after = store_->ClaimDeliveries(7000, 5000, 10);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, "del_w");
  auto gone = Read()->ConnectorDeliveries("pd", std::nullopt, 10);
  for (const DeliveryRow& d : *gone) EXPECT_EQ(d.status, "failed");
}

// A due delivery to webhook `webhook` (or, with `connector`, a write-back), made at `at`.
DeliveryRow Due(const std::string& id, const std::string& webhook, const std::string& connector, int64_t at) {
  DeliveryRow d;
  d.id = id;
  d.webhook = webhook;
  d.connector = connector;
  d.event = "e";
  d.body = "{}";
  d.next_attempt_at = at;
  d.created_at = at;
  return d;
}

// The ids of a claim's rows, in order (none when it failed).
std::vector<std::string> ids(const Result<std::vector<DeliveryRow>>& r) {
  std::vector<std::string> out;
  if (r.ok()) {
    for (const DeliveryRow& d : *r) out.push_back(d.id);
  }
  return out;
}

// A claim takes one destination's due rows: the one whose oldest due row is oldest, of
// those not busy; rows handed back untried are due again at once, their attempts uncounted.
TEST_P(StoreTest, ClaimsTakeOneDestinationAtATime) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"a", "http://a", {}, "sa", 1}));
    ASSERT_OK(tx->PutWebhook({"b", "http://b", {}, "sb", 1}));
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    int n = 0;
    for (const std::string to : {"a", "b", "a", "pd", "b", "a"}) {
      const std::string id = "d" + std::to_string(++n);
      ASSERT_OK(tx->InsertDelivery(to == "pd" ? Due(id, "", "pd", 100) : Due(id, to, "", 100)));
    }
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write("ws2");  // another workspace's webhook of the same id is another destination
    ASSERT_OK(tx->PutWebhook({"a", "http://a2", {}, "s", 1}));
    ASSERT_OK(tx->InsertDelivery(Due("w2", "a", "", 100)));
    ASSERT_OK(tx->Commit());
  }
  using V = std::vector<std::string>;
  auto a = store_->ClaimDeliveries(100, 5000, 2);
  ASSERT_OK(a.status());
  EXPECT_EQ(ids(a), (V{"d1", "d3"}));
  const std::string dest_a = DeliveryDestination((*a)[0]);
  EXPECT_EQ(dest_a, std::string("ws1\x1f" "a\x1f"));
  // "a" is busy in this process: the next destination is "b", though "a" has a row due.
  auto b = store_->ClaimDeliveries(100, 5000, 10, {dest_a});
  EXPECT_EQ(ids(b), (V{"d2", "d5"}));
  auto pd = store_->ClaimDeliveries(100, 5000, 10, {dest_a, DeliveryDestination((*b)[0])});
  EXPECT_EQ(ids(pd), (V{"d4"}));
  EXPECT_EQ(DeliveryDestination((*pd)[0]), std::string("ws1\x1f\x1fpd"));
  auto other = store_->ClaimDeliveries(100, 5000, 10, {dest_a});
  EXPECT_EQ(ids(other), (V{"w2"}));
  EXPECT_EQ((*other)[0].url, "http://a2");
  // "a"'s last row waits while d1 and d3 are being sent, in this process or any other.
  EXPECT_TRUE(store_->ClaimDeliveries(100, 5000, 10)->empty());
  // Handed back untried by the claim that holds them (leased until 5100): due again at
  // once, attempts unchanged; finished rows stay so, and another claim's lease stays.
  ASSERT_OK(store_->FinishAttempt("d1", {AttemptResult::State::kDelivered, 200, "", 100, 150}));
  ASSERT_OK(store_->ReleaseDeliveries({"d3", "d5"}, 4000));  // not the lease they hold
  EXPECT_TRUE(store_->ClaimDeliveries(200, 5000, 10)->empty());
  ASSERT_OK(store_->ReleaseDeliveries({"d1", "d3", "d5"}, 5100));
  ASSERT_OK(store_->ReleaseDeliveries({}, 5100));
  auto again = store_->ClaimDeliveries(200, 5000, 10);
  EXPECT_EQ(ids(again), (V{"d3", "d6"}));
  EXPECT_EQ((*again)[0].attempts, 0);
  EXPECT_TRUE(store_->ClaimDeliveries(200, 5000, 10)->empty());  // "b" waits for d2, still being sent

  // "a" did not answer d3 (leased until 5200): "a" is held until d3's retry at 9000, its
  // other rows (d6, and d7 made since) with it; another workspace's "a" is not.
  for (const char* id : {"d2", "d4", "w2"}) {
    ASSERT_OK(store_->FinishAttempt(id, {AttemptResult::State::kDelivered, 200, "", 100, 250}));
  }
  ASSERT_OK(store_->FinishAttempt("d3", {AttemptResult::State::kRetry, std::nullopt, "timeout", 9000, 300}, 5200));
  for (const auto& [ws, id] : {std::pair<std::string, std::string>{"ws1", "d7"}, {"ws2", "w3"}}) {
    auto tx = Write(ws);
    ASSERT_OK(tx->InsertDelivery(Due(id, "a", "", 300)));
    ASSERT_OK(tx->Commit());
  }
  auto b_again = store_->ClaimDeliveries(5200, 5000, 10);  // d2 is done, d5 handed back
  EXPECT_EQ(ids(b_again), (V{"d5"}));
  EXPECT_EQ(ids(store_->ClaimDeliveries(5200, 5000, 10)), (V{"w3"}));
  EXPECT_TRUE(store_->ClaimDeliveries(8999, 5000, 10)->empty());
  // An attempt is recorded only under the lease of the claim that made it: a claim until
  // 5200 does not hold d5, its second claim (until 10200) does.
  ASSERT_OK(store_->FinishAttempt("d5", {AttemptResult::State::kDelivered, 200, "", 0, 5300}, 5200));
  EXPECT_EQ(Read()->Deliveries("b", std::nullopt, 10)->front().status, "pending");
  ASSERT_OK(store_->FinishAttempt("d5", {AttemptResult::State::kDelivered, 200, "", 0, 5300}, 10200));
  EXPECT_EQ(Read()->Deliveries("b", std::nullopt, 10)->front().status, "delivered");
  // At d3's retry "a" is served again, oldest first; a retry that got an answer holds nothing.
  auto a_again = store_->ClaimDeliveries(9000, 5000, 10);
  EXPECT_EQ(ids(a_again), (V{"d3", "d6", "d7"}));
  EXPECT_EQ((*a_again)[0].attempts, 1);
  const AttemptResult failed{AttemptResult::State::kRetry, 500, "HTTP 500", 20000, 9100};
  EXPECT_FALSE(HoldsDestination(failed, false));
  ASSERT_OK(store_->FinishAttempt("d3", failed, 14000));
  ASSERT_OK(store_->ReleaseDeliveries({"d6", "d7"}, 14000));
  EXPECT_EQ(ids(store_->ClaimDeliveries(9200, 5000, 10)), (V{"d6", "d7"}));  // leased until 14200
  // Unless it asked for a pause: a 429, then a 503, hold "a" until their retry.
  ASSERT_OK(store_->FinishAttempt("w3", {AttemptResult::State::kDelivered, 200, "", 0, 9300}));  // ws2's, done
  for (const auto& [status, retry, lease] : {std::tuple<int, int64_t, int64_t>{429, 12000, 14200}, {503, 15000, 17000}}) {
    const AttemptResult pause{AttemptResult::State::kRetry, status, "HTTP " + std::to_string(status), retry, retry - 2000};
    EXPECT_TRUE(HoldsDestination(pause, false));
    ASSERT_OK(store_->FinishAttempt("d6", pause, lease));
    ASSERT_OK(store_->ReleaseDeliveries({"d7"}, lease));
    EXPECT_TRUE(store_->ClaimDeliveries(retry - 1, 5000, 10)->empty()) << status;
    EXPECT_EQ(ids(store_->ClaimDeliveries(retry, 5000, 10)), (V{"d6", "d7"})) << status;  // leased until retry + 5000
  }
  EXPECT_FALSE(HoldsDestination({AttemptResult::State::kFailed, std::nullopt, "gone", 0, 0}, false));
}

// A CRM that refuses a connector's credentials (401) holds the connector's write-backs
// until its retry; new credentials make the refused write-back due at once, and the others
// follow it in order.
TEST_P(StoreTest, ARefusedCredentialHoldsItsConnectorUntilItChanges) {
  const ConnectorRow pd{"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1};
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertConnector(pd));
    ASSERT_OK(tx->InsertDelivery(Due("wb_1", "", "pd", 100)));
    ASSERT_OK(tx->InsertDelivery(Due("wb_2", "", "pd", 100)));
    ASSERT_OK(tx->Commit());
  }
  auto first = store_->ClaimDeliveries(100, 5000, 1);
  ASSERT_OK(first.status());
  EXPECT_EQ(ids(first), std::vector<std::string>{"wb_1"});
  const AttemptResult refused{AttemptResult::State::kRetry, 401, "HTTP 401", 600100, 200};
  EXPECT_TRUE(HoldsDestination(refused, true));
  ASSERT_OK(store_->FinishAttempt("wb_1", refused, 5100));
  EXPECT_TRUE(store_->ClaimDeliveries(300, 5000, 10)->empty());  // wb_2 is due, but held
  // A webhook's 401 is its receiver's answer to that delivery: it holds nothing.
  EXPECT_FALSE(HoldsDestination(refused, false));
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"wh", "http://w", {}, "s", 1}));
    ASSERT_OK(tx->InsertDelivery(Due("wh_1", "wh", "", 100)));
    ASSERT_OK(tx->InsertDelivery(Due("wh_2", "wh", "", 100)));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(ids(store_->ClaimDeliveries(300, 5000, 1)), std::vector<std::string>{"wh_1"});
  ASSERT_OK(store_->FinishAttempt("wh_1", refused, 5300));
  EXPECT_EQ(ids(store_->ClaimDeliveries(301, 5000, 10)), std::vector<std::string>{"wh_2"});
  {
    auto tx = Write();
    ConnectorRow updated = pd;
    updated.secrets = "v1:sealed-again";
    updated.updated_at = 2;
    ASSERT_OK(tx->UpdateConnector(updated));
    ASSERT_OK(tx->Commit());
  }
  auto resumed = store_->ClaimDeliveries(400, 5000, 10);
  ASSERT_OK(resumed.status());
  EXPECT_EQ(ids(resumed), (std::vector<std::string>{"wb_1", "wb_2"}));
  EXPECT_EQ((*resumed)[0].attempts, 1);
}

// Callers claiming at once (on PostgreSQL, each on its own connection, as nodes are): each
// row goes to one of them, and no two of them ever hold rows of one destination.
TEST_P(StoreTest, ConcurrentClaimsHandEachRowToOneCaller) {
  {
    auto tx = Write();
    // Fewer receivers than callers: some callers find every receiver busy.
    for (int w = 0; w < 2; ++w) ASSERT_OK(tx->PutWebhook({"wh" + std::to_string(w), "http://w", {}, "s", 1}));
    for (int i = 0; i < 200; ++i) {
      DeliveryRow d;
      d.id = "del_" + std::to_string(i);
      d.webhook = "wh" + std::to_string(i % 2);
      d.event = "e";
      d.body = "{}";
      d.next_attempt_at = 0;
      d.created_at = 0;
      ASSERT_OK(tx->InsertDelivery(d));
    }
    ASSERT_OK(tx->Commit());
  }
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::set<std::string> sending;  // destinations some caller holds now
  int overlaps = 0;
  std::atomic<int64_t> clock{10};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 2000; ++round) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (claimed.size() >= 200) break;
        }
        const int64_t now = clock++;
        auto r = store_->ClaimDeliveries(now, 60000, 7);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (r->empty()) continue;
        const std::string dest = DeliveryDestination(r->front());
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!sending.insert(dest).second) ++overlaps;
          for (const auto& d : *r) claimed.insert(d.id);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // an attempt's time
        {
          std::lock_guard<std::mutex> lock(mu);
          sending.erase(dest);
        }
        for (const auto& d : *r) {
          ASSERT_OK(store_->FinishAttempt(d.id, {AttemptResult::State::kDelivered, 200, "", 0, now}, now + 60000));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(claimed.size(), 200u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 200u);
}

TEST_P(StoreTest, UnitsRollBackAlone) {
  {
    auto tx = Write();
    ASSERT_OK(tx->BeginUnit());
    ASSERT_OK(tx->InsertDecision(Decision("dec_1", 1, "ann")));
    ASSERT_OK(tx->SetPoolPointer("p", 1));
    ASSERT_OK(tx->EndUnit());

    ASSERT_OK(tx->BeginUnit());
    ASSERT_OK(tx->SetPoolPointer("p", 2));
    ASSERT_OK(tx->InsertDecision(Decision("dec_2", 2, "bob")));
    ASSERT_OK(tx->RollbackUnit());

    // A unit whose statement failed (a conflict) is undone and the transaction goes on.
    ASSERT_OK(tx->BeginUnit());
    ASSERT_OK(tx->SetPoolPointer("p", 3));
    EXPECT_EQ(tx->InsertDecision(Decision("dec_1", 3, "cid")).code(), Code::kConflict);
    ASSERT_OK(tx->RollbackUnit());

    ASSERT_OK(tx->BeginUnit());
    ASSERT_OK(tx->InsertDecision(Decision("dec_4", 4, "dan")));
    ASSERT_OK(tx->EndUnit());
    EXPECT_EQ(tx->PoolPointer("p"), 1);
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  EXPECT_EQ(tx->PoolPointer("p"), 1);
  EXPECT_EQ(*tx->CountDecisions(), 2);
  // The pre-counted reports lost the rolled-back units too (decision_counts).
  auto owners = tx->CountByOwner({});
  ASSERT_OK(owners.status());
  ASSERT_EQ(owners->size(), 2u);
  EXPECT_EQ((*owners)[0].owner + "=" + std::to_string((*owners)[0].count), "ann=1");
  EXPECT_EQ((*owners)[1].owner + "=" + std::to_string((*owners)[1].count), "dan=1");
  HistoryFilter f;
  auto h = tx->History(f);
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].id, "dec_4");
  EXPECT_EQ((*h)[1].id, "dec_1");
}

TEST_P(StoreTest, ReadSeesASnapshotAndWritesAreSerialized) {
  auto reader = Read();
  EXPECT_EQ(reader->PoolPointer("p"), 0);
  {
    auto tx = Write();
    ASSERT_OK(tx->SetPoolPointer("p", 5));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(reader->PoolPointer("p"), 0);  // its snapshot
  reader.reset();
  EXPECT_EQ(Read()->PoolPointer("p"), 5);

  // Read-modify-write from many threads: no increment is lost.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto tx = store_->BeginWrite("ws1");
        if (!tx.ok()) {
          ++failures;
          continue;
        }
        int64_t p = (*tx)->PoolPointer("p");
        if (!(*tx)->SetPoolPointer("p", p + 1).ok() || !(*tx)->Commit().ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Read()->PoolPointer("p"), 105);
}

TEST_P(StoreTest, ReopenKeepsDataAndMigrationsAreIdempotent) {
  {
    auto tx = Write();
    ASSERT_OK(tx->SetPoolPointer("p", 7));
    ASSERT_OK(tx->Commit());
  }
  store_.reset();
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  EXPECT_EQ(Read()->PoolPointer("p"), 7);
  EXPECT_EQ(*store_->CountWorkspaces(), 2);
}

// ---- reports from pre-counted hours (decision_counts) against counting the decisions

// What the reports must give, counted the slow way from the decisions kept.
enum class ReportKind { kOwner, kKey, kOutcome };

std::vector<std::string> BruteReport(const std::vector<DecisionRow>& kept, const ReportFilter& f, ReportKind kind) {
  std::map<std::pair<std::optional<std::string>, std::string>, int64_t> sums;
  for (const auto& d : kept) {
    if ((f.from && d.at < *f.from) || (f.to && d.at >= *f.to)) continue;
    if (f.object_type && d.object_type != *f.object_type) continue;
    if (f.rule && d.rule != f.rule) continue;
    if (f.distribution && d.distribution != f.distribution) continue;
    if (kind == ReportKind::kOutcome) {
      ++sums[{std::nullopt, d.outcome}];
    } else if (d.owner) {
      ++sums[{kind == ReportKind::kKey ? d.key_value : std::nullopt, *d.owner}];
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, n] : sums) out.push_back(k.second + "/" + k.first.value_or("") + "/" + std::to_string(n));
  return out;
}

std::vector<std::string> StoreReport(Tx& tx, const ReportFilter& f, ReportKind kind) {
  auto r = kind == ReportKind::kOwner ? tx.CountByOwner(f) : kind == ReportKind::kKey ? tx.CountByKey(f)
                                                                                      : tx.CountByOutcome(f);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> out;
  if (!r.ok()) return out;
  for (const auto& c : *r) out.push_back(c.owner + "/" + c.value + "/" + std::to_string(c.count));
  return out;
}

std::string Describe(const ReportFilter& f) {
  auto opt = [](const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : std::string("-"); };
  return "from=" + (f.from ? std::to_string(*f.from) : "-") + " to=" + (f.to ? std::to_string(*f.to) : "-") +
         " object_type=" + opt(f.object_type) + " rule=" + opt(f.rule) + " distribution=" + opt(f.distribution);
}

// Random decisions over three days from t0 (an hour's start): times often on or next
// to an hour's edge, NULLs and empty strings among the values (they are kept apart).
class RandomDecisions {
 public:
  static constexpr int64_t kT0 = 1'790'000'000 - 1'790'000'000 % 3600;
  static constexpr int64_t kSpan = 3 * 86400;

  explicit RandomDecisions(uint64_t seed) : rng_(seed) {}

  int64_t Time() {
    const int64_t hour = kT0 + Pick(int64_t{72}) * 3600;
    switch (Pick(4)) {
      case 0: return hour;
      case 1: return hour + 1;
      case 2: return hour + 3599;
      default: return hour + Pick(int64_t{3600});
    }
  }
  // A window edge: absent, on an hour, or anywhere (a little outside the decisions too).
  std::optional<int64_t> Edge() {
    switch (Pick(5)) {
      case 0: return std::nullopt;
      case 1: return kT0 + (Pick(int64_t{76}) - 2) * 3600;
      default: return kT0 - 7200 + Pick(kSpan + 4 * 3600);
    }
  }
  DecisionRow Decision(const std::string& id) {
    static const std::vector<std::optional<std::string>> kOwners{std::nullopt, "ann", "bob", "cid", ""};
    static const std::vector<std::optional<std::string>> kRules{std::nullopt, "r1", "r2", ""};
    static const std::vector<std::optional<std::string>> kDists{std::nullopt, "d1", "d2", ""};
    static const std::vector<std::optional<std::string>> kValues{std::nullopt, "paris", "lyon", ""};
    static const std::vector<std::string> kOutcomes{"assigned", "default", "unassigned"};
    DecisionRow d;
    d.id = id;
    d.at = Time();
    d.event = "created";
    d.object_type = Pick(3) == 0 ? "deal" : "lead";
    d.record_id = "r-" + id;
    d.rule = Of(kRules);
    d.strategy = "round_robin";
    d.outcome = kOutcomes[Pick(kOutcomes.size())];
    d.owner = d.outcome == "unassigned" ? std::nullopt : Of(kOwners);
    d.distribution = Of(kDists);
    d.key_value = Of(kValues);
    d.body = "{}";
    d.request_hash = "h";
    return d;
  }
  ReportFilter Filter() {
    static const std::vector<std::optional<std::string>> kTypes{std::nullopt, "lead", "deal", "contact"};
    static const std::vector<std::optional<std::string>> kRules{std::nullopt, std::nullopt, "r1", "r2", "", "zz"};
    static const std::vector<std::optional<std::string>> kDists{std::nullopt, std::nullopt, "d1", "d2", ""};
    ReportFilter f;
    f.from = Edge();
    f.to = Edge();
    if (Pick(3) == 0) {
      f.object_type = Of(kTypes);
      f.rule = Of(kRules);
      f.distribution = Of(kDists);
    }
    return f;
  }
  template <typename N>
  N Pick(N n) {
    return static_cast<N>(rng_() % static_cast<uint64_t>(n));
  }

 private:
  std::optional<std::string> Of(const std::vector<std::optional<std::string>>& v) { return v[Pick(v.size())]; }
  std::mt19937_64 rng_;
};

// Every report, for `windows` random windows and filters, equals counting `kept`.
void ExpectReportsMatch(Store& store, const std::vector<DecisionRow>& kept, RandomDecisions& r, int windows,
                        const std::string& when) {
  auto tx = store.BeginRead("ws1");
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  std::vector<ReportFilter> filters(1);  // all time, no filter
  for (int i = 0; i < windows; ++i) filters.push_back(r.Filter());
  int failures = 0;
  for (const auto& f : filters) {
    for (ReportKind kind : {ReportKind::kOwner, ReportKind::kKey, ReportKind::kOutcome}) {
      auto want = BruteReport(kept, f, kind);
      auto got = StoreReport(**tx, f, kind);
      if (got != want && ++failures <= 5) {
        ADD_FAILURE() << when << ": report " << static_cast<int>(kind) << " for " << Describe(f)
                      << " differs from counting the decisions";
        EXPECT_EQ(got, want);
      }
    }
  }
  EXPECT_EQ(failures, 0) << when;
}

TEST_P(StoreTest, ReportCountsMatchDecisionsOverRandomWindows) {
  // A new seed each run (ROTA_TEST_SEED repeats one): it is printed with any failure.
  const char* env_seed = std::getenv("ROTA_TEST_SEED");
  const uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  RandomDecisions r(seed);
  std::vector<DecisionRow> kept;  // ws1's decisions that were committed
  int next = 0;
  auto write = [&](int transactions) {
    for (int t = 0; t < transactions; ++t) {
      auto tx = Write();
      ASSERT_NE(tx, nullptr);
      std::vector<DecisionRow> pending;
      for (int u = 0; u < 8; ++u) {
        // A unit of one to three decisions, kept or rolled back as group commit does.
        ASSERT_OK(tx->BeginUnit());
        std::vector<DecisionRow> unit;
        for (int k = 0, n = 1 + r.Pick(3); k < n; ++k) {
          unit.push_back(r.Decision("dec_" + std::to_string(next++)));
          ASSERT_OK(tx->InsertDecision(unit.back()));
        }
        if (r.Pick(4) == 0 && !kept.empty()) {
          // A repeated id is refused and counts nothing; the unit is then undone.
          DecisionRow again = kept[r.Pick(kept.size())];
          EXPECT_EQ(tx->InsertDecision(again).code(), Code::kConflict);
          ASSERT_OK(tx->RollbackUnit());
        } else if (r.Pick(4) == 0) {
          ASSERT_OK(tx->RollbackUnit());
        } else {
          ASSERT_OK(tx->EndUnit());
          pending.insert(pending.end(), unit.begin(), unit.end());
        }
      }
      DecisionRow outside = r.Decision("dec_" + std::to_string(next++));  // outside any unit
      ASSERT_OK(tx->InsertDecision(outside));
      if (r.Pick(5) == 0) continue;  // never committed: rolled back whole
      pending.push_back(outside);
      ASSERT_OK(tx->Commit());
      kept.insert(kept.end(), pending.begin(), pending.end());
    }
  };
  write(40);
  {
    // Another workspace's decisions in the same hours count only there.
    auto tx = Write("ws2");
    for (int i = 0; i < 20; ++i) ASSERT_OK(tx->InsertDecision(r.Decision("other_" + std::to_string(i))));
    ASSERT_OK(tx->Commit());
  }
  ASSERT_GT(kept.size(), 100u);
  ExpectReportsMatch(*store_, kept, r, 150, "after inserts");

  // A purge at a time inside an hour: the hours before it go, that hour is recounted.
  int64_t before = RandomDecisions::kT0 + 3600 * (24 + r.Pick(int64_t{24})) + 1 + r.Pick(int64_t{3598});
  {
    // In chunks of 7, oldest first, each its own transaction, as the service purges.
    auto gone = std::erase_if(kept, [&](const DecisionRow& d) { return d.at < before; });
    int64_t purged = 0;
    for (int64_t n = 7; n == 7;) {
      auto tx = Write();
      auto chunk = tx->PurgeDecisions(before, before, 0, 0, 7);
      ASSERT_OK(chunk.status());
      ASSERT_OK(tx->Commit());
      n = *chunk;
      purged += n;
    }
    EXPECT_EQ(purged, static_cast<int64_t>(gone));
  }
  ExpectReportsMatch(*store_, kept, r, 150, "after a purge before " + std::to_string(before));
  EXPECT_EQ(*Read("ws2")->CountDecisions(), 20);
  // New decisions land in the recounted hour as in any other.
  write(10);
  ExpectReportsMatch(*store_, kept, r, 100, "after more inserts");
  // A purge on an hour's edge, and one of everything.
  {
    auto tx = Write();
    before = RandomDecisions::kT0 + 3600 * 60;
    ASSERT_OK(tx->PurgeDecisions(before, before, 0, 0, INT64_MAX).status());
    ASSERT_OK(tx->Commit());
    std::erase_if(kept, [&](const DecisionRow& d) { return d.at < before; });
  }
  ExpectReportsMatch(*store_, kept, r, 50, "after a purge on an hour");
  {
    auto tx = Write();
    ASSERT_OK(tx->PurgeDecisions(INT64_MAX, INT64_MAX, 0, 0, INT64_MAX).status());
    ASSERT_OK(tx->Commit());
    kept.clear();
  }
  ExpectReportsMatch(*store_, kept, r, 10, "after purging all");
  EXPECT_FALSE(StoreReport(*Read("ws2"), {}, ReportKind::kOutcome).empty());
}

// A database whose decisions were stored before migration 4 gets them counted by it.
TEST_P(StoreTest, MigrationFourCountsEarlierDecisions) {
  RandomDecisions r(7);
  std::vector<DecisionRow> kept;
  {
    auto tx = Write();
    for (int i = 0; i < 300; ++i) {
      kept.push_back(r.Decision("dec_" + std::to_string(i)));
      ASSERT_OK(tx->InsertDecision(kept.back()));
    }
    ASSERT_OK(tx->Commit());
  }
  // Back to the schema of migration 3: no decision_counts, version 3. (PostgreSQL's first
  // migration holds SQLite's 1 and 2: the counts are its last one but one.)
  BeforeMigrationFive("");
  UndoLastMigration("DROP TABLE decision_counts;", 3);
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  ExpectReportsMatch(*store_, kept, r, 100, "after migration 4");
  // And the table goes on from there.
  {
    auto tx = Write();
    for (int i = 0; i < 50; ++i) {
      kept.push_back(r.Decision("new_" + std::to_string(i)));
      ASSERT_OK(tx->InsertDecision(kept.back()));
    }
    ASSERT_OK(tx->Commit());
  }
  ExpectReportsMatch(*store_, kept, r, 50, "after more decisions");
}

// A write-back of a record marks the record's earlier ones to the same connector, still
// pending, superseded (never sent); a retry of an earlier one is refused.
TEST_P(StoreTest, ALaterWriteBackOfARecordSupersedesTheEarlierOnes) {
  auto write_back = [](const std::string& id, const std::string& connector, const std::string& record) {
    DeliveryRow d = Due(id, "", connector, 100);
    d.event = "owner.write_back";
    d.subject = WriteBackSubject("deal", record);
    return d;
  };
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    ASSERT_OK(tx->InsertConnector({"hs", "hubspot", R"({"id":"hs"})", "v1:sealed", 1, 1}));
    ASSERT_OK(tx->InsertDelivery(write_back("wb_1", "pd", "7")));
    ASSERT_OK(tx->InsertDelivery(write_back("wb_2", "pd", "7")));
    ASSERT_OK(tx->InsertDelivery(write_back("wb_other", "pd", "8")));   // another record
    ASSERT_OK(tx->InsertDelivery(write_back("wb_hs", "hs", "7")));      // another CRM
    DeliveryRow lead = write_back("wb_lead", "pd", "7");
    lead.subject = WriteBackSubject("lead", "7");                        // another type
    ASSERT_OK(tx->InsertDelivery(lead));
    ASSERT_OK(tx->Commit());
  }
  // wb_1 fails; wb_2 was delivered; then a third write-back of deal 7 comes.
  ASSERT_OK(store_->FinishAttempt("wb_1", {AttemptResult::State::kFailed, 500, "HTTP 500", 100, 100}));
  ASSERT_OK(store_->FinishAttempt("wb_2", {AttemptResult::State::kDelivered, 200, "", 100, 100}));
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertDelivery(write_back("wb_3", "pd", "7")));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write();
    auto n = tx->SupersedeWriteBacks("pd", WriteBackSubject("deal", "7"), "superseded by decision d_4");
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 1);  // wb_3: wb_1 failed, wb_2 delivered
    ASSERT_OK(tx->InsertDelivery(write_back("wb_4", "pd", "7")));
    ASSERT_OK(tx->Commit());
  }
  std::map<std::string, DeliveryRow> rows;
  for (const std::string c : {"pd", "hs"}) {
    auto list = Read()->ConnectorDeliveries(c, std::nullopt, 10);
    ASSERT_OK(list.status());
    for (const DeliveryRow& d : *list) rows[d.id] = d;
  }
  EXPECT_EQ(rows["wb_1"].status, "failed");     // only pending rows are superseded
  EXPECT_EQ(rows["wb_2"].status, "delivered");
  EXPECT_EQ(rows["wb_3"].status, "superseded");
  EXPECT_EQ(rows["wb_3"].last_error, "superseded by decision d_4");
  EXPECT_EQ(rows["wb_4"].status, "pending");
  EXPECT_EQ(rows["wb_other"].status, "pending");
  EXPECT_EQ(rows["wb_hs"].status, "pending");
  EXPECT_EQ(rows["wb_lead"].status, "pending");
  // A superseded row is never claimed, and a retry of an earlier write-back is refused,
  // naming the latest one; the latest itself, and another record's, may be retried.
  {
    auto tx = Write();
    for (const char* id : {"wb_1", "wb_2", "wb_3"}) {
      Status st = tx->RetryWriteBack("pd", id, 200);
      EXPECT_EQ(st.code(), Code::kConflict) << id;
      EXPECT_EQ(st.error_code(), "superseded") << id;
      EXPECT_NE(st.message().find("\"wb_4\""), std::string::npos) << st.message();
    }
    // With no later row, a superseded one is refused too, naming what superseded it.
    ASSERT_OK(tx->SupersedeWriteBacks("pd", WriteBackSubject("deal", "8"), "superseded by decision d_5").status());
    Status st = tx->RetryWriteBack("pd", "wb_other", 200);
    EXPECT_EQ(st.error_code(), "superseded");
    EXPECT_NE(st.message().find("d_5"), std::string::npos) << st.message();
    ASSERT_OK(tx->RetryWriteBack("pd", "wb_4", 200));
    EXPECT_EQ(tx->RetryWriteBack("pd", "nope", 200).code(), Code::kNotFound);
    ASSERT_OK(tx->Commit());
  }
  std::set<std::string> claimed;
  for (int i = 0; i < 5; ++i) {
    auto c = store_->ClaimDeliveries(1000, 5000, 10);
    ASSERT_OK(c.status());
    for (const DeliveryRow& d : *c) claimed.insert(d.id);
  }
  EXPECT_EQ(claimed, (std::set<std::string>{"wb_4", "wb_hs", "wb_lead"}));
  EXPECT_EQ(Read()->ConnectorDeliveries("pd", std::nullopt, 10)->size(), 6u);
}

// Two nodes on one database: while one sends a destination's row, the other's claims pass
// that destination over, even once the row is superseded; the attempt's end (recorded or
// not) frees it, and the rest goes out in order.
TEST_P(StoreTest, ADestinationBeingSentIsPassedOverByEveryNode) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"a", "http://a", {}, "sa", 1}));
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    for (const char* id : {"wb_1", "wb_2"}) {
      DeliveryRow d = Due(id, "", "pd", 100);
      d.subject = WriteBackSubject("deal", id);
      ASSERT_OK(tx->InsertDelivery(d));
    }
    ASSERT_OK(tx->InsertDelivery(Due("d_a", "a", "", 100)));
    ASSERT_OK(tx->Commit());
  }
  auto other = OpenStore(url_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  Store& b = **other;
  auto first = store_->ClaimDeliveries(1000, 5000, 1);
  ASSERT_OK(first.status());
  ASSERT_EQ(ids(first), std::vector<std::string>{"wb_1"});
  auto at_b = b.ClaimDeliveries(1000, 5000, 10);
  ASSERT_OK(at_b.status());
  EXPECT_EQ(ids(at_b), std::vector<std::string>{"d_a"});  // not wb_2: wb_1 is being sent
  EXPECT_TRUE(ids(b.ClaimDeliveries(1001, 5000, 10)).empty());
  // A later decision supersedes wb_1 while it is being sent.
  {
    auto tx = Write();
    ASSERT_OK(tx->SupersedeWriteBacks("pd", WriteBackSubject("deal", "wb_1"), "superseded by decision d_9").status());
    DeliveryRow d = Due("wb_3", "", "pd", 100);
    d.subject = WriteBackSubject("deal", "wb_1");
    ASSERT_OK(tx->InsertDelivery(d));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_TRUE(ids(b.ClaimDeliveries(1002, 5000, 10)).empty());
  // Its attempt ends: not recorded, but its destination is free.
  ASSERT_OK(store_->FinishAttempt("wb_1", {AttemptResult::State::kDelivered, 200, "", 0, 1003}, 6000));
  EXPECT_EQ(ids(b.ClaimDeliveries(1004, 5000, 10)), (std::vector<std::string>{"wb_2", "wb_3"}));
  auto list = Read()->ConnectorDeliveries("pd", std::nullopt, 10);
  ASSERT_OK(list.status());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[2].id, "wb_1");
  EXPECT_EQ((*list)[2].status, "superseded");
  EXPECT_EQ((*list)[2].attempts, 0);
  // A node that dies mid-delivery (b, say) holds its destinations until its leases end.
  EXPECT_TRUE(ids(store_->ClaimDeliveries(5000, 5000, 10)).empty());
  EXPECT_EQ(ids(store_->ClaimDeliveries(6005, 5000, 10)), (std::vector<std::string>{"wb_2", "wb_3"}));
  EXPECT_EQ(ids(store_->ClaimDeliveries(6006, 5000, 10)), std::vector<std::string>{"d_a"});
}

// A claimed row superseded before its turn: the lane sees it is no longer its to send
// (StillClaimed) and hands it back, which frees its receiver; a re-send asked while a row
// is being sent keeps the row's lease.
TEST_P(StoreTest, AClaimedRowSupersededMeanwhileIsHandedBackAndFreesItsReceiver) {
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    for (const char* id : {"wb_a", "wb_b"}) {
      DeliveryRow d = Due(id, "", "pd", 100);
      d.subject = WriteBackSubject("deal", id);
      ASSERT_OK(tx->InsertDelivery(d));
    }
    ASSERT_OK(tx->Commit());
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(store_->ClaimDeliveries(1000, 5000, 10)), (V{"wb_a", "wb_b"}));  // leased until 6000
  EXPECT_TRUE(*store_->StillClaimed("wb_b", 6000));
  EXPECT_FALSE(*store_->StillClaimed("wb_b", 5999));  // another claim's lease
  EXPECT_FALSE(*store_->StillClaimed("nope", 6000));
  {
    auto tx = Write();
    ASSERT_OK(tx->SupersedeWriteBacks("pd", WriteBackSubject("deal", "wb_b"), "superseded by decision d_2").status());
    DeliveryRow d = Due("wb_c", "", "pd", 100);
    d.subject = WriteBackSubject("deal", "wb_b");
    ASSERT_OK(tx->InsertDelivery(d));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_FALSE(*store_->StillClaimed("wb_b", 6000));
  EXPECT_TRUE(store_->ClaimDeliveries(1001, 5000, 10)->empty());
  ASSERT_OK(store_->FinishAttempt("wb_a", {AttemptResult::State::kDelivered, 200, "", 0, 1001}, 6000));
  EXPECT_TRUE(store_->ClaimDeliveries(1001, 5000, 10)->empty());  // wb_b still leased
  ASSERT_OK(store_->ReleaseDeliveries({"wb_b"}, 6000));
  EXPECT_EQ(ids(store_->ClaimDeliveries(1002, 5000, 10)), V{"wb_c"});  // leased until 6002
  {
    auto tx = Write();
    ASSERT_OK(tx->RetryWriteBack("pd", "wb_c", 1003));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_TRUE(store_->ClaimDeliveries(1003, 5000, 10)->empty());  // still being sent
  // That attempt ends (as claimed, due at 100): not recorded, and the row is due again.
  ASSERT_OK(store_->FinishAttempt("wb_c", {AttemptResult::State::kFailed, 404, "HTTP 404", 0, 1004}, 6002, 100));
  auto resent = store_->ClaimDeliveries(1005, 5000, 10);
  EXPECT_EQ(ids(resent), V{"wb_c"});
  ASSERT_EQ(resent->size(), 1u);
  EXPECT_EQ((*resent)[0].attempts, 0);
  ASSERT_OK(store_->FinishAttempt("wb_c", {AttemptResult::State::kDelivered, 200, "", 0, 1006}, 6005,
                                  (*resent)[0].next_attempt_at));
  EXPECT_TRUE(store_->ClaimDeliveries(1007, 5000, 10)->empty());
  auto list = Read()->ConnectorDeliveries("pd", std::nullopt, 10);
  ASSERT_OK(list.status());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].status, "delivered");
  EXPECT_EQ((*list)[1].status, "superseded");
  EXPECT_EQ((*list)[1].attempts, 0);
  EXPECT_EQ((*list)[2].status, "delivered");
}

// A receiver that asked for a pause (a 429) keeps it when the row it answered is superseded:
// the row that supersedes it waits for the pause's end.
TEST_P(StoreTest, ASupersededRowKeepsItsReceiversPause) {
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    DeliveryRow d = Due("wb_1", "", "pd", 100);
    d.subject = WriteBackSubject("deal", "1");
    ASSERT_OK(tx->InsertDelivery(d));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(ids(store_->ClaimDeliveries(1000, 5000, 10)), std::vector<std::string>{"wb_1"});
  ASSERT_OK(store_->FinishAttempt("wb_1", {AttemptResult::State::kRetry, 429, "HTTP 429", 12000, 1001}, 6000, 100));
  {
    auto tx = Write();
    auto n = tx->SupersedeWriteBacks("pd", WriteBackSubject("deal", "1"), "superseded by decision d_2");
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 1);
    DeliveryRow d = Due("wb_2", "", "pd", 2000);
    d.subject = WriteBackSubject("deal", "1");
    ASSERT_OK(tx->InsertDelivery(d));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_TRUE(store_->ClaimDeliveries(11999, 5000, 10)->empty());
  EXPECT_EQ(ids(store_->ClaimDeliveries(12000, 5000, 10)), std::vector<std::string>{"wb_2"});
}

// Write-backs queued before migration 8 are given their record from their body: a later
// write-back supersedes them as it would a newer one. A row whose body names no record is
// left without one (and sent as before).
TEST_P(StoreTest, MigrationEightGivesEarlierWriteBacksTheirRecord) {
  {
    auto tx = Write();
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    ASSERT_OK(tx->Commit());
  }
  BeforeMigrationEight();
  const std::string rows =
      "INSERT INTO outbox(id, workspace, webhook, event, body, next_attempt_at, created_at, connector) VALUES "
      "('wb_old', 'ws1', '', 'owner.write_back', "
      "'{\"object_type\":\"deal\",\"record_id\":\"7\",\"owner\":\"u1\",\"decision_id\":\"d_1\"}', 100, 100, 'pd'), "
      "('wb_odd', 'ws1', '', 'owner.write_back', '{}', 100, 100, 'pd'), "
      // A NUL escape, which PostgreSQL's jsonb refuses: the migration passes it by.
      "('wb_nul', 'ws1', '', 'owner.write_back', "
      "'{\"object_type\":\"deal\",\"record_id\":\"a\\u0000b\"}', 100, 100, 'pd')";
  ExecOutside(rows, rows);
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  {
    auto tx = Write();
    auto n = tx->SupersedeWriteBacks("pd", WriteBackSubject("deal", "7"), "superseded by decision d_2");
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 1);
    DeliveryRow d = Due("wb_new", "", "pd", 100);
    d.subject = WriteBackSubject("deal", "7");
    ASSERT_OK(tx->InsertDelivery(d));
    EXPECT_EQ(tx->RetryWriteBack("pd", "wb_old", 100).error_code(), "superseded");
    ASSERT_OK(tx->RetryWriteBack("pd", "wb_odd", 100));
    ASSERT_OK(tx->Commit());
  }
  EXPECT_EQ(ids(store_->ClaimDeliveries(1000, 5000, 10)), (std::vector<std::string>{"wb_odd", "wb_nul", "wb_new"}));
}

// Deliveries pending before migration 7 are claimed through the index it builds.
TEST_P(StoreTest, MigrationSevenIndexesPendingDeliveries) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"a", "http://a", {}, "sa", 1}));
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 1, 1}));
    ASSERT_OK(tx->InsertDelivery(Due("d1", "a", "", 100)));
    ASSERT_OK(tx->InsertDelivery(Due("d2", "", "pd", 100)));
    ASSERT_OK(tx->InsertDelivery(Due("d3", "a", "", 100)));
    ASSERT_OK(tx->Commit());
  }
  BeforeMigrationSeven();
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  auto a = store_->ClaimDeliveries(100, 5000, 10);
  ASSERT_OK(a.status());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].id, "d1");
  EXPECT_EQ((*a)[1].id, "d3");
  auto pd = store_->ClaimDeliveries(100, 5000, 10);
  ASSERT_OK(pd.status());
  ASSERT_EQ(pd->size(), 1u);
  EXPECT_EQ((*pd)[0].id, "d2");
  EXPECT_EQ((*pd)[0].target->id, "pd");
}

// A pool's pointer stored before migration 6 stays, with no left member.
TEST_P(StoreTest, MigrationSixKeepsPoolPointers) {
  {
    auto tx = Write();
    ASSERT_OK(tx->SetPoolPointer("p", 7));
    ASSERT_OK(tx->Commit());
  }
  BeforeMigrationSix();
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  EXPECT_EQ(Read()->PoolPointer("p"), 7);
  EXPECT_EQ(*Read()->PoolLeftMember("p"), "");
  auto tx = Write();
  ASSERT_OK(tx->SetPoolLeftMember("p", "C"));
  EXPECT_EQ(*tx->PoolLeftMember("p"), "C");
}

// A database whose decisions were stored before migration 11 reports them by distribution
// as before, on either backend, now through the index of the distributions' decisions.
TEST_P(StoreTest, MigrationElevenKeepsReportsByDistribution) {
  {
    auto tx = Write();
    for (int i = 0; i < 6; ++i) {
      DecisionRow d = Decision("m11-" + std::to_string(i), 100 + i, i % 2 ? "ann" : "bob");
      if (i < 4) d.distribution = "by_city";
      d.key_value = "lyon";
      ASSERT_OK(tx->InsertDecision(d));
    }
    ASSERT_OK(tx->Commit());
  }
  BeforeMigrationEleven();
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  // The index is the partial one again (a statement that fails otherwise).
  ExecOutside(
      "SELECT CASE WHEN (SELECT sql FROM sqlite_master WHERE name='decisions_distribution') LIKE "
      "'%WHERE distribution IS NOT NULL%' THEN 1 ELSE json('decisions_distribution is not partial') END;",
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname='decisions_distribution' AND "
      "indexdef LIKE '%WHERE (distribution IS NOT NULL)%') THEN RAISE EXCEPTION 'decisions_distribution is not "
      "partial'; END IF; END $$;");
  ReportFilter f;
  f.distribution = "by_city";
  f.from = 100;
  f.to = 200;
  auto by_owner = Read()->CountByOwner(f);
  ASSERT_TRUE(by_owner.ok()) << by_owner.status().ToString();
  int64_t total = 0;
  for (const OwnerCount& c : *by_owner) total += c.count;
  EXPECT_EQ(total, 4);
}

// A database whose records were stored before migration 5, with a row per owner and
// record, gets their open records counted by it.
TEST_P(StoreTest, MigrationFiveCountsOpenRecords) {
  {
    auto tx = Write();
    ASSERT_OK(tx->PutRecord(Rec("1", {"ann"}), 10));
    ASSERT_OK(tx->Commit());
  }
  // Owner rows as migration 4's schema held them: ann owns two open leads and a closed
  // one, bob one open lead and one open deal; another workspace's row stays its own.
  BeforeMigrationFive(
      "('ws1','lead','1','ann',1), ('ws1','lead','2','ann',1), ('ws1','lead','3','ann',0), "
      "('ws1','lead','2','bob',1), ('ws1','deal','9','bob',1), ('ws2','lead','1','ann',1)");
  auto again = OpenStore(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(again).value();
  auto tx = Read();
  EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kLead, ""), 2);
  EXPECT_EQ(tx->OpenRecords("ann", core::ObjectType::kLead, "1"), 1);  // lead 1 is stored: it counts
  EXPECT_EQ(tx->OpenRecords("bob", core::ObjectType::kLead, ""), 1);
  EXPECT_EQ(tx->OpenRecords("bob", core::ObjectType::kDeal, ""), 1);
  EXPECT_EQ(tx->OpenRecords("cid", core::ObjectType::kLead, ""), 0);
  EXPECT_EQ(Read("ws2")->OpenRecords("ann", core::ObjectType::kLead, ""), 1);
}

// A webhook or connector made with a deleted one's id starts with no deliveries: the old
// ones were another receiver's (a retry would send an old event to the new one), and a
// connector's old write-backs would hold the new one's.
TEST_P(StoreTest, ANewWebhookOrConnectorWithAnOldIdHasNoDeliveries) {
  auto delivery = [](const std::string& id, const std::string& webhook, const std::string& connector) {
    DeliveryRow d;
    d.id = id;
    d.webhook = webhook;
    d.connector = connector;
    d.event = connector.empty() ? "decision.assigned" : "owner.write_back";
    d.body = "{}";
    d.next_attempt_at = 1000;
    d.created_at = 900;
    return d;
  };
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"wh", "http://old", {}, "s", 5}));
    ASSERT_OK(tx->PutWebhook({"other", "http://other", {}, "s", 5}));
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 5, 5}));
    ASSERT_OK(tx->InsertDelivery(delivery("dlv_1", "wh", "")));
    ASSERT_OK(tx->InsertDelivery(delivery("dlv_2", "other", "")));
    ASSERT_OK(tx->InsertDelivery(delivery("wb_1", "", "pd")));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->DeleteWebhook("wh"));
    ASSERT_OK(tx->DeleteConnector("pd"));
    ASSERT_OK(tx->Commit());
  }
  {
    auto tx = Read();
    EXPECT_EQ(tx->Deliveries("wh", std::nullopt, 10)->size(), 1u);  // kept while the id is free
  }
  {
    auto tx = Write();
    ASSERT_OK(tx->PutWebhook({"wh", "http://new", {}, "s2", 6}));
    ASSERT_OK(tx->InsertConnector({"pd", "pipedrive", R"({"id":"pd"})", "v1:sealed", 6, 6}));
    ASSERT_OK(tx->Commit());
  }
  auto tx = Read();
  EXPECT_TRUE(tx->Deliveries("wh", std::nullopt, 10)->empty());
  EXPECT_TRUE(tx->ConnectorDeliveries("pd", std::nullopt, 10)->empty());
  EXPECT_EQ(tx->Deliveries("other", std::nullopt, 10)->size(), 1u);  // another webhook's are its own
}

// A database a newer rota migrated is refused with the versions named, on either backend,
// and left as it was; this rota's own version opens as before.
TEST_P(StoreTest, ADatabaseOfANewerRotaIsRefusedAndLeftAlone) {
  {
    auto tx = Write();
    ASSERT_OK(tx->SaveConfig(7, R"({"users":[]})"));
    ASSERT_OK(tx->Commit());
  }
  ExecOutside("PRAGMA user_version=999", "INSERT INTO rota_schema_migrations(version) VALUES (999)");
  auto s = OpenStore(url_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().error_code(), "newer_schema") << s.status().ToString();
  EXPECT_NE(s.status().message().find("version 999"), std::string::npos) << s.status().message();
  EXPECT_EQ(*Read()->ConfigVersion(), 7);  // the open store still reads what was there
  ExecOutside("PRAGMA user_version=" + std::to_string(sqlite::Migrations().size()),
              "DELETE FROM rota_schema_migrations WHERE version = 999");
  EXPECT_TRUE(OpenStore(url_).ok());
}

// Another program's database (tables of its own, none of rota's) is refused, on either
// backend, and rota makes none of its tables there; rota's own opens as before.
TEST_P(StoreTest, AnotherProgramsDatabaseIsRefusedAndGetsNoTables) {
  std::string err, other_url, other_db;
  if (GetParam() == "sqlite") {
    other_url = (dir_ / "other.db").string();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(other_url.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE customers(id INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  } else {
    other_db = db_ + "_other";
    ASSERT_TRUE(PgExec(base_, "CREATE DATABASE " + other_db + " TEMPLATE template0", &err)) << err;
    other_url = WithDatabase(base_, other_db);
    ASSERT_TRUE(PgExec(other_url, "CREATE TABLE customers (id INT)", &err)) << err;
  }
  auto s = OpenStore(other_url);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().error_code(), "not_a_rota_database") << s.status().ToString();
  if (!other_db.empty()) {
    EXPECT_TRUE(PgExec(other_url,
                       "DO $$ BEGIN IF to_regclass('rota_schema_migrations') IS NOT NULL OR to_regclass('decisions') "
                       "IS NOT NULL THEN RAISE EXCEPTION 'rota made its tables'; END IF; END $$",
                       &err))
        << err;
    EXPECT_TRUE(PgExec(base_, "DROP DATABASE IF EXISTS " + other_db + " WITH (FORCE)", &err)) << err;
  }
  auto again = OpenStore(url_);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"), Param);

// rota opens only its own SQLite databases (or a new or empty file): another program's
// database is refused and left exactly as it was, not given rota's tables and WAL.
TEST(OpenStoreTest, AnotherProgramsSqliteFileIsRefusedAndLeftAlone) {
  const fs::path dir = fs::temp_directory_path() / ("rota-foreign-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string foreign = (dir / "other.db").string();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes(text) VALUES('x')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const auto size = fs::file_size(foreign);
  auto s = OpenStore(foreign);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalid);
  EXPECT_EQ(s.status().error_code(), "not_a_rota_database");
  EXPECT_NE(s.status().message().find("not a rota database"), std::string::npos) << s.status().message();
  EXPECT_EQ(fs::file_size(foreign), size);
  EXPECT_FALSE(fs::exists(foreign + "-wal"));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM sqlite_master", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 1);  // its one table, nothing of rota's
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  // Another program's database with a schema version of its own: refused the same.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=12", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto versioned = OpenStore(foreign);
  ASSERT_FALSE(versioned.ok());
  EXPECT_EQ(versioned.status().error_code(), "not_a_rota_database");
  EXPECT_FALSE(fs::exists(foreign + "-wal"));
  // Not SQLite at all: said so.
  const std::string text = (dir / "notes.txt").string();
  std::ofstream(text) << "these are not the pages of a database, but words a person wrote down\n";
  auto t = OpenStore(text);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().error_code(), "not_a_rota_database");
  EXPECT_NE(t.status().message().find("is not a SQLite database"), std::string::npos) << t.status().message();
  // An empty file, and rota's own database again, open.
  const std::string empty = (dir / "empty.db").string();
  std::ofstream{empty};
  EXPECT_TRUE(OpenStore(empty).ok());
  EXPECT_TRUE(OpenStore(empty).ok());
  fs::remove_all(dir);
}

// What rota prints of a database URL (serve's first line, "cannot open" errors) has no password.
TEST(OpenStoreTest, APrintedUrlHidesThePassword) {
  EXPECT_EQ(PrintableUrl("postgresql://rota:s3cret@db:5432/rota"), "postgresql://rota:***@db:5432/rota");
  EXPECT_EQ(PrintableUrl("postgres://rota:p@ss:w@rd@db/rota?sslmode=require"), "postgres://rota:***@db/rota?sslmode=require");
  EXPECT_EQ(PrintableUrl("postgresql://rota@db/rota?sslmode=require&password=s3cret&connect_timeout=5"),
            "postgresql://rota@db/rota?sslmode=require&password=***&connect_timeout=5");
  EXPECT_EQ(PrintableUrl("postgresql://db/rota?password=s3cret"), "postgresql://db/rota?password=***");
  EXPECT_EQ(PrintableUrl("postgresql://rota@db:5432/rota"), "postgresql://rota@db:5432/rota");
  EXPECT_EQ(PrintableUrl("postgresql://[::1]:5432/rota"), "postgresql://[::1]:5432/rota");
  EXPECT_EQ(PrintableUrl("/var/lib/rota/rota:db@x.db"), "/var/lib/rota/rota:db@x.db");  // a file: as it is
}

TEST(OpenStoreTest, PostgresUrlThatCannotConnectIsAnError) {
  auto s = OpenStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
}

// A SQLite store of its own in a temporary directory, with the workspace "ws"; `path_`
// is its file, for the tests that reach into it as another program would.
class SqliteFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rota-sqlite-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "r.db").string();
    auto s = OpenStore(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->CreateWorkspace("ws", "{}", 1).ok());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

// A read of the decision's state that fails (here the table is gone) is not read as
// "nothing stored": the unit and the transaction fail, and nothing decided on it is kept.
TEST_F(SqliteFileTest, AFailedStateReadFailsTheUnitAndTheCommit) {
  {
    auto tx = store_->BeginWrite("ws");
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->BeginUnit().ok());
    EXPECT_EQ((*tx)->PoolPointer("p"), 0);
    EXPECT_TRUE((*tx)->EndUnit().ok()) << "a read that works keeps the unit";
    EXPECT_TRUE((*tx)->Commit().ok());
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE pool_state", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto tx = store_->BeginWrite("ws");
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->BeginUnit().ok());
  EXPECT_EQ((*tx)->PoolPointer("p"), 0);
  Status unit = (*tx)->EndUnit();
  EXPECT_FALSE(unit.ok());
  EXPECT_NE(unit.message().find("pool_state"), std::string::npos) << unit.ToString();
  EXPECT_FALSE((*tx)->Commit().ok());
}

// A decision of no distribution has no entry in decisions_distribution (migration 11):
// the index holds the distribution's decisions only, and a report filtered by a
// distribution still reads it rather than the whole workspace.
TEST_F(SqliteFileTest, DecisionsOfNoDistributionAreNotInTheDistributionIndex) {
  {
    auto tx = store_->BeginWrite("ws");
    ASSERT_TRUE(tx.ok());
    for (int i = 0; i < 30; ++i) {
      DecisionRow d;
      d.id = "d" + std::to_string(i);
      d.at = 100 + i;
      d.event = "created";
      d.object_type = "lead";
      d.record_id = "r" + std::to_string(i);
      d.outcome = "assigned";
      d.owner = "ann";
      d.body = "{}";
      if (i % 3 == 0) d.distribution = "by_country";  // 10 of the 30
      ASSERT_TRUE((*tx)->InsertDecision(d).ok());
    }
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto text = [&](const std::string& sql) {
    std::string out;
    sqlite3_stmt* q = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    while (q && sqlite3_step(q) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(q); ++c) {
        const unsigned char* v = sqlite3_column_text(q, c);
        out += (v ? reinterpret_cast<const char*>(v) : "NULL") + std::string("|");
      }
    }
    sqlite3_finalize(q);
    return out;
  };
  EXPECT_EQ(text("SELECT SUM(ncell) FROM dbstat WHERE name='decisions_distribution' AND pagetype='leaf'"), "10|");
  EXPECT_NE(text("EXPLAIN QUERY PLAN SELECT owner, COUNT(*) FROM decisions WHERE workspace='ws' AND at>=0 AND "
                 "distribution='by_country' GROUP BY owner")
                .find("decisions_distribution"),
            std::string::npos);
  EXPECT_EQ(text("SELECT COUNT(*) FROM decisions WHERE workspace='ws' AND distribution='by_country'"), "10|");
  sqlite3_close(db);
}

}  // namespace
}  // namespace rota::store
