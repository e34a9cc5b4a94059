// A small RAII layer over libpq: one connection, text parameters through
// PQexecParams, results read by row and column. Errors become Status values (unique
// violations → Conflict, serialization failures and deadlocks → Status::Retry(), which
// the service runs again); nothing throws. In an aborted transaction a statement
// answers the status of the statement that aborted it.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace rota::store::postgres {

// One text parameter ($n); nullopt is SQL NULL.
class Param {
 public:
  Param(const std::string& v) : v_(v) {}  // NOLINT: implicit by design
  Param(std::string&& v) : v_(std::move(v)) {}  // NOLINT
  Param(const char* v) : v_(std::string(v)) {}  // NOLINT
  Param(int64_t v) : v_(std::to_string(v)) {}  // NOLINT
  Param(int v) : v_(std::to_string(v)) {}  // NOLINT
  Param(bool v) : v_(std::string(v ? "1" : "0")) {}  // NOLINT
  Param(const std::optional<std::string>& v) : v_(v) {}  // NOLINT
  Param(const std::optional<int64_t>& v) {  // NOLINT
    if (v) v_ = std::to_string(*v);
  }
  Param(std::nullopt_t) {}  // NOLINT
  const std::optional<std::string>& value() const { return v_; }

 private:
  std::optional<std::string> v_;
};

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  std::optional<std::string> OptText(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Text(row, col);
  }
  int64_t Int(int row, int col) const {
    if (IsNull(row, col)) return 0;
    return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
  }
  std::optional<int64_t> OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
  }
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t Affected() const {
    const char* n = r_ ? PQcmdTuples(r_.get()) : "";
    return *n ? std::strtoll(n, nullptr, 10) : 0;
  }

 private:
  std::shared_ptr<PGresult> r_;
};

class PgConnection {
 public:
  // `conninfo`: any libpq connection string or URL. `timeout`: the longest wait for one
  // statement's answer (zero: no limit), see set_timeout.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& conninfo,
                                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with $n text parameters.
  Result<PgResult> Query(const std::string& sql, const std::vector<Param>& params = {});
  Status Run(const std::string& sql, const std::vector<Param>& params = {});
  // One or more statements without parameters or results.
  Status Exec(const std::string& sql);

  // A statement not answered within `timeout` (zero: no limit) fails with
  // database_unavailable, and the connection is spent: its state is unknown (a COMMIT may
  // or may not have been applied), so every later statement fails alike and it is never
  // Idle() again. A PostgreSQL that stalls, or a network that drops every packet, would
  // otherwise hold the caller (and a server's shutdown) for ever.
  // The server's statement_timeout follows it (a second longer) from the next
  // ServerTimeout() on (Open calls it).
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  Status ServerTimeout();
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Healthy and outside any transaction: fit to go back to the pool.
  bool Idle() const;
  bool InFailedTransaction() const { return PQtransactionStatus(c_) == PQTRANS_INERROR; }
  // The status of the last failed statement of this connection (OK when none); in an
  // aborted transaction, of the statement that aborted it.
  const Status& last_error() const { return last_error_; }
  PGconn* raw() { return c_; }

 private:
  explicit PgConnection(PGconn* c) : c_(c) {}
  Result<PgResult> Check(PGresult* r);
  // The answer to the statement(s) just sent (`sent`: what PQsendQuery* returned), waited
  // for within the timeout: the first failed result, else the last one (as PQexec).
  // REQUIRES: not spent (Query and Exec send nothing on a spent connection).
  Result<PgResult> Await(int sent);
  PGconn* c_;
  Status last_error_;
  std::chrono::milliseconds timeout_{0};
  bool spent_ = false;  // a statement timed out
};

// The Status for a failed result (SQLSTATE mapped as the header says).
Status ErrorStatus(PGconn* c, const PGresult* r);

}  // namespace rota::store::postgres
