#include "store/postgres/connection.h"

#include <cstdlib>
#include <cstring>

namespace rota::store::postgres {

Status ErrorStatus(PGconn* c, const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = r ? PQresultErrorMessage(r) : "";
  if (msg.empty() && c) msg = PQerrorMessage(c);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (state) {
    if (std::strcmp(state, "23505") == 0) return Status::Conflict("already exists: " + msg);
    if (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0) {
      return Status::Retry("database: transaction must be retried: " + msg);
    }
    // Class 08 (connection exception), 57P01..03 (shutdown, cannot connect now), 53 (resources).
    if (std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "57P", 3) == 0 || std::strncmp(state, "53", 2) == 0) {
      return Status(Code::kUnavailable, "database_unavailable", "database: " + msg);
    }
  }
  if (c && PQstatus(c) != CONNECTION_OK) {
    return Status(Code::kUnavailable, "database_unavailable", "database: connection lost: " + msg);
  }
  return Status::Internal("database: " + msg);
}

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& conninfo) {
  // A server that takes the connection and never answers would hold every command (and
  // rota serve, signals blocked) for ever: 10 s, unless the URL or PGCONNECT_TIMEOUT says.
  // Parameters before the expanded URL are overridden by the URL's own.
  const char* env_timeout = std::getenv("PGCONNECT_TIMEOUT");
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {env_timeout && *env_timeout ? env_timeout : "10", conninfo.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!c) return Status(Code::kUnavailable, "database_unavailable", "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    PQfinish(c);
    return Status(Code::kUnavailable, "database_unavailable", "cannot connect to PostgreSQL: " + msg);
  }
  std::unique_ptr<PgConnection> conn(new PgConnection(c));
  // Quiet notices; UTC; the text forms rota reads.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  Status s = conn->Exec("SET client_encoding='UTF8'; SET TIME ZONE 'UTC'; SET client_min_messages=warning;");
  if (!s.ok()) return s;
  return conn;
}

PgConnection::~PgConnection() { PQfinish(c_); }

Result<PgResult> PgConnection::Check(PGresult* r) {
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    last_error_ = Status::Ok();
    return PgResult(r);
  }
  Status s = ErrorStatus(c_, r);
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const bool aborted = state != nullptr && std::strcmp(state, "25P02") == 0;
  if (r) PQclear(r);
  // In a transaction that an earlier statement aborted, every statement fails with
  // 25P02; answer the cause instead, so that a serialization failure or deadlock seen
  // by a read that could not report it still reaches the caller as retryable.
  if (aborted && !last_error_.ok()) return last_error_;
  last_error_ = s;
  return s;
}

Result<PgResult> PgConnection::Query(const std::string& sql, const std::vector<Param>& params) {
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].value() ? params[i].value()->c_str() : nullptr;
  }
  PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                             values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
  return Check(r);
}

Status PgConnection::Run(const std::string& sql, const std::vector<Param>& params) {
  auto r = Query(sql, params);
  return r.ok() ? Status::Ok() : r.status();
}

Status PgConnection::Exec(const std::string& sql) {
  auto r = Check(PQexec(c_, sql.c_str()));
  return r.ok() ? Status::Ok() : r.status();
}

bool PgConnection::Idle() const {
  return PQstatus(c_) == CONNECTION_OK && PQtransactionStatus(c_) == PQTRANS_IDLE;
}

}  // namespace rota::store::postgres
