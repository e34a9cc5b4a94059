// PgConnection's error mapping on a real server: a serialization failure is
// Status::Retry(), and statements after it in the aborted transaction answer that
// cause (so a read that could not report it still reaches the service as retryable).
#include "store/postgres/connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

namespace rota::store::postgres {
namespace {

std::string BaseUrl() {
  if (const char* env = std::getenv("ROTA_TEST_PG_URL"); env && *env) return env;
  std::ifstream in(ROTA_PG_URL_FILE);
  std::string url;
  std::getline(in, url);
  return url;
}

TEST(PgConnection, postgres_SerializationFailureIsRetryableAndStaysTheCause) {
  const std::string url = BaseUrl();
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL server: run through ctest (fixture PostgresServerStart)";
  auto a = PgConnection::Open(url);
  auto b = PgConnection::Open(url);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const std::string table = "rota_conn_test_" + std::to_string(getpid());
  ASSERT_TRUE((*a)->Exec("CREATE TABLE " + table + " (id INT PRIMARY KEY, n INT); INSERT INTO " + table +
                         " VALUES (1, 0)").ok());

  ASSERT_TRUE((*a)->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ").ok());
  ASSERT_TRUE((*a)->Query("SELECT n FROM " + table + " WHERE id=1").ok());  // takes the snapshot
  ASSERT_TRUE((*b)->Run("UPDATE " + table + " SET n=n+1 WHERE id=1").ok());
  Status failed = (*a)->Run("UPDATE " + table + " SET n=n+1 WHERE id=1");
  EXPECT_TRUE(failed.retryable()) << failed.ToString();
  EXPECT_EQ(failed.code(), Code::kUnavailable);
  EXPECT_EQ(failed.error_code(), "retry");
  // The transaction is aborted: the next statement answers the cause, not 25P02.
  auto after = (*a)->Query("SELECT 1");
  ASSERT_FALSE(after.ok());
  EXPECT_TRUE(after.status().retryable()) << after.status().ToString();
  EXPECT_TRUE((*a)->InFailedTransaction());
  EXPECT_TRUE((*a)->last_error().retryable());
  ASSERT_TRUE((*a)->Exec("ROLLBACK").ok());
  EXPECT_TRUE((*a)->last_error().ok());

  // Another failure is not retryable, and a later 25P02 names it.
  ASSERT_TRUE((*a)->Exec("BEGIN").ok());
  Status dup = (*a)->Run("INSERT INTO " + table + " VALUES (1, 0)");
  EXPECT_EQ(dup.code(), Code::kConflict);
  EXPECT_FALSE(dup.retryable());
  auto next = (*a)->Query("SELECT 1");
  EXPECT_EQ(next.status().code(), Code::kConflict);
  ASSERT_TRUE((*a)->Exec("ROLLBACK").ok());
  EXPECT_TRUE((*a)->Exec("DROP TABLE " + table).ok());
}

}  // namespace
}  // namespace rota::store::postgres

namespace rota::store::postgres {
namespace {

// A listener that takes connections and never answers, as a wrong host or a stuck proxy.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);  // the kernel completes the handshakes; nobody reads
    socklen_t n = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Opening a connection to a server that never answers gives up with a clear error (10 s
// by default, or the URL's connect_timeout), instead of waiting for ever.
TEST(PgConnection, AServerThatNeverAnswersTimesOut) {
  SilentListener silent;
  const std::string url = "postgresql://rota@127.0.0.1:" + std::to_string(silent.port()) + "/rota";
  unsetenv("PGCONNECT_TIMEOUT");
  auto started = std::chrono::steady_clock::now();
  auto c = PgConnection::Open(url + "?connect_timeout=2");
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_NE(c.status().message().find("cannot connect to PostgreSQL"), std::string::npos) << c.status().message();
  EXPECT_LT(took, std::chrono::seconds(6));
  started = std::chrono::steady_clock::now();
  c = PgConnection::Open(url);
  took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(c.ok());
  EXPECT_GE(took, std::chrono::seconds(8));
  EXPECT_LT(took, std::chrono::seconds(15));
}

}  // namespace
}  // namespace rota::store::postgres
