#include "store/sqlite/connection.h"

#include "store/sqlite/wal_buffer_vfs.h"

#include <cstdio>
#include <cstdlib>

namespace rota::store::sqlite {
namespace {

// Set when the program loads, before anything can initialize SQLite: no process-wide
// memory statistics. With them, every allocation and free of every connection takes one
// global mutex, and under load the writer waited for it on readers that were checking
// API keys (perf: a quarter of the server's futex calls; docs/performance.md, "Fifth
// pass"). rota reads no SQLite memory figures.
const bool kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;

}  // namespace

bool Stmt::Step(Status* error) {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    sqlite3* db = sqlite3_db_handle(s_);
    int ext = sqlite3_extended_errcode(db);
    std::string msg = sqlite3_errmsg(db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
      *error = Status::Conflict("already exists: " + msg);
    } else {
      *error = Status::Internal("database: " + msg);
    }
  }
  return false;
}

Status Stmt::Run() {
  Status error;
  while (Step(&error)) {
  }
  return error;
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           WalBufferVfs());
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (db) sqlite3_close(db);
    return Status::Internal("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Connection> c(new Connection(db));
  sqlite3_busy_timeout(db, 30000);
  // WAL for concurrent readers; synchronous=FULL so that a committed decision
  // survives a power loss, not only a process crash (and the WAL buffer VFS needs it).
  // Pages of 2 KiB for a new database (an existing one keeps its own): a group commit of
  // 8 decisions changed some 55 pages at scattered places in the indexes of records and
  // decisions (and the owner rows then), each written to the log whole; half the bytes gave
  // 11 % more decisions per second in 8 paired runs of 8 (docs/performance.md).
  Status s = c->Exec("PRAGMA page_size=2048; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  if (!s.ok()) return s;
  return c;
}

Result<std::unique_ptr<Connection>> Connection::OpenWriter(const std::string& path) {
  auto c = Open(path);
  if (!c.ok()) return c;
  // temp_store=MEMORY: each decision of a batch runs in its own savepoint, and SQLite
  // copies every page a savepoint changes into a statement journal, a temporary file
  // once it passes 64 KiB: about 11 page writes per decision. In memory, that journal
  // costs a copy (it is emptied at each RELEASE, so it holds one decision's pages).
  // wal_autocheckpoint: the log is copied back into the database inside the commit
  // that crosses this many pages. SQLite's default of 1 000 did it every 18th group
  // commit; 10 000 pages (a log of about 40 MiB, rewritten in place once it has grown)
  // copy each hot page once for more commits: 15-20 % more decisions per second.
  Status s = (*c)->Exec("PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000");
  if (!s.ok()) return s;
  return c;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Stmt Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    // A bug in rota's own SQL; fail loudly in tests.
    fprintf(stderr, "rota: bad SQL (%s): %s\n", sqlite3_errmsg(db_), sql.c_str());
    abort();
  }
  cache_.emplace(sql, stmt);
  return Stmt(stmt);
}

Status Connection::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Internal("database: " + msg);
  }
  return Status::Ok();
}

}  // namespace rota::store::sqlite
