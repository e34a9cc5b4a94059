#include "store/postgres/connection.h"

#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
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

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& conninfo,
                                                         std::chrono::milliseconds timeout) {
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
  conn->set_timeout(timeout);
  // Statements are sent without blocking and their answers waited for within the timeout.
  if (PQsetnonblocking(c, 1) != 0) return ErrorStatus(c, nullptr);
  // Quiet notices; UTC; the text forms rota reads.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  Status s = conn->Exec("SET client_encoding='UTF8'; SET TIME ZONE 'UTC'; SET client_min_messages=warning;");
  if (!s.ok()) return s;
  if (s = conn->ServerTimeout(); !s.ok()) return s;
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

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Waits until the socket is ready for `events`; false once `deadline` has passed first.
// Over TLS, bytes OpenSSL has read and not yet handed to libpq count as readable (the
// socket has nothing more to say about them), as libpq's own waits count them.
bool WaitFor(PGconn* c, short events, SteadyTime deadline) {
  if ((events & POLLIN) && PQsslInUse(c)) {
    if (auto* ssl = static_cast<SSL*>(PQsslStruct(c, "OpenSSL")); ssl != nullptr && SSL_pending(ssl) > 0) return true;
  }
  for (;;) {
    int ms = -1;
    if (deadline != SteadyTime::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      ms = static_cast<int>(std::min<int64_t>(left.count(), 60'000));
    }
    pollfd p{PQsocket(c), events, 0};
    const int n = poll(&p, 1, ms);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // libpq's next read or write reports it
  }
}

bool Failed(const PGresult* r) {
  const ExecStatusType st = PQresultStatus(r);
  return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY;
}

}  // namespace

Result<PgResult> PgConnection::Await(int sent) {
  if (!sent) return Check(nullptr);
  const SteadyTime deadline =
      timeout_.count() > 0 ? std::chrono::steady_clock::now() + timeout_ : SteadyTime::max();
  const auto timed_out = [&]() -> Result<PgResult> {
    spent_ = true;
    last_error_ = Status(Code::kUnavailable, "database_unavailable",
                         "database: PostgreSQL did not answer within " + std::to_string(timeout_.count()) + " ms");
    return last_error_;
  };
  for (int left = PQflush(c_); left != 0; left = PQflush(c_)) {
    if (left < 0) return Check(nullptr);
    if (!WaitFor(c_, POLLIN | POLLOUT, deadline)) return timed_out();
    if (PQconsumeInput(c_) == 0) return Check(nullptr);
  }
  PGresult* kept = nullptr;
  for (;;) {
    while (PQisBusy(c_)) {
      if (!WaitFor(c_, POLLIN, deadline)) {
        if (kept) PQclear(kept);
        return timed_out();
      }
      if (PQconsumeInput(c_) == 0) break;  // PQgetResult then answers the failure
    }
    PGresult* r = PQgetResult(c_);
    if (!r) break;
    if (kept && Failed(kept)) {
      PQclear(r);
    } else {
      if (kept) PQclear(kept);
      kept = r;
    }
  }
  return Check(kept);
}

Result<PgResult> PgConnection::Query(const std::string& sql, const std::vector<Param>& params) {
  if (spent_) return last_error_;
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const std::optional<std::string>& v = params[i].value();
    // libpq ends a text parameter at its first NUL: "k\0x" would be sent, matched and
    // stored as "k". Refused instead (the API refuses NUL in ids, keys and filters before).
    if (v && v->find('\0') != std::string::npos) {
      return Status(Code::kInvalid, "nul_in_text", "a value holds NUL (U+0000), which PostgreSQL's text cannot hold");
    }
    values[i] = v ? v->c_str() : nullptr;
  }
  return Await(PQsendQueryParams(c_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                 values.empty() ? nullptr : values.data(), nullptr, nullptr, 0));
}

Status PgConnection::Run(const std::string& sql, const std::vector<Param>& params) {
  auto r = Query(sql, params);
  return r.ok() ? Status::Ok() : r.status();
}

Status PgConnection::Exec(const std::string& sql) {
  if (spent_) return last_error_;
  auto r = Await(PQsendQuery(c_, sql.c_str()));
  return r.ok() ? Status::Ok() : r.status();
}

Status PgConnection::ServerTimeout() {
  // A statement given up on here would otherwise run on in its backend, with its locks: the
  // server ends it a second after rota stops waiting (when it is alive to).
  return Exec("SET statement_timeout=" + std::to_string(timeout_.count() > 0 ? timeout_.count() + 1000 : 0));
}

bool PgConnection::Idle() const {
  return !spent_ && PQstatus(c_) == CONNECTION_OK && PQtransactionStatus(c_) == PQTRANS_IDLE;
}

}  // namespace rota::store::postgres
