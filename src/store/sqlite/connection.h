// A thin RAII layer over one sqlite3 connection: cached prepared statements with
// typed binding and reading. Errors become Status values; nothing throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace rota::store::sqlite {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(const Stmt&) = delete;
  ~Stmt() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string(v)); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, bool v) { return Bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  Stmt& Bind(int i, const std::optional<std::string>& v) {
    if (v) return Bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& Bind(int i, const std::optional<int64_t>& v) {
    if (v) return Bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }
  // SQLITE_ROW → true, SQLITE_DONE → false; anything else sets `error`.
  bool Step(Status* error);
  Status Run();  // executes to completion

  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::optional<std::string> OptText(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return Text(col);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  std::optional<int64_t> OptInt(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return Int(col);
  }

 private:
  sqlite3_stmt* s_;
};

class Connection {
 public:
  // A connection with rota's settings: WAL, synchronous=FULL, the WAL buffer VFS, 2 KiB
  // pages for a new file.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  // The same, tuned for the one connection a process writes through: savepoint journals
  // in memory and a larger automatic checkpoint (readers keep SQLite's defaults, so that
  // a large sort still spills to disk).
  static Result<std::unique_ptr<Connection>> OpenWriter(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;

  Stmt Prepare(const std::string& sql);  // cached; REQUIRES: valid SQL
  Status Exec(const std::string& sql);   // one or more statements, no results
  sqlite3* raw() { return db_; }
  std::string Error() const { return sqlite3_errmsg(db_); }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace rota::store::sqlite
