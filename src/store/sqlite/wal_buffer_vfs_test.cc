#include "store/sqlite/wal_buffer_vfs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

namespace rota::store::sqlite {
namespace {

namespace fs = std::filesystem;

// A VFS beneath the buffer that counts the writes reaching the log and can fail them.
std::atomic<int> log_writes{0};
std::atomic<bool> fail_log_writes{false};

struct CountedFile {
  sqlite3_file base;
  sqlite3_file* real;
};
constexpr size_t kRealOffset = (sizeof(CountedFile) + 15) & ~size_t{15};
CountedFile* Counted(sqlite3_file* f) { return reinterpret_cast<CountedFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Counted(f)->real; }

int CClose(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int CRead(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return Real(f)->pMethods->xRead(Real(f), p, n, o); }
int CWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  ++log_writes;
  if (fail_log_writes) return SQLITE_IOERR_WRITE;
  return Real(f)->pMethods->xWrite(Real(f), p, n, o);
}
int CTruncate(sqlite3_file* f, sqlite3_int64 n) { return Real(f)->pMethods->xTruncate(Real(f), n); }
int CSync(sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); }
int CFileSize(sqlite3_file* f, sqlite3_int64* n) { return Real(f)->pMethods->xFileSize(Real(f), n); }
int CLock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int CUnlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int CCheck(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int CControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int CSector(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int CDevice(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
const sqlite3_io_methods kCounted = {1,      CClose,   CRead,   CWrite,   CTruncate, CSync,   CFileSize,
                                     CLock,  CUnlock,  CCheck,  CControl, CSector,   CDevice, nullptr,
                                     nullptr, nullptr, nullptr, nullptr,  nullptr};

sqlite3_vfs counting_vfs;
int COpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out) {
  auto* def = static_cast<sqlite3_vfs*>(vfs->pAppData);
  if ((flags & SQLITE_OPEN_WAL) == 0) return def->xOpen(def, name, f, flags, out);
  CountedFile* c = Counted(f);
  c->base.pMethods = nullptr;
  c->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  int rc = def->xOpen(def, name, c->real, flags, out);
  if (rc == SQLITE_OK) c->base.pMethods = &kCounted;
  return rc;
}

// "counting" (the default VFS, counting log writes) and "buffered" (rota's VFS over it).
void RegisterOnce() {
  static const bool done = [] {
    sqlite3_vfs* def = sqlite3_vfs_find(nullptr);
    counting_vfs = *def;
    counting_vfs.zName = "counting";
    counting_vfs.szOsFile = static_cast<int>(kRealOffset) + def->szOsFile;
    counting_vfs.pAppData = def;
    counting_vfs.xOpen = COpen;
    counting_vfs.pNext = nullptr;
    sqlite3_vfs_register(&counting_vfs, 0);
    return RegisterWalBufferVfs("buffered", "counting").ok();
  }();
  ASSERT_TRUE(done);
}

class WalBufferVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterOnce();
    dir_ = fs::temp_directory_path() / ("rota_wal_vfs_test_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
    fail_log_writes = false;
  }
  void TearDown() override {
    fail_log_writes = false;
    fs::remove_all(dir_);
  }

  sqlite3* Open(const char* vfs) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
    EXPECT_EQ(Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"), SQLITE_OK);
    return db;
  }
  static int Exec(sqlite3* db, const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
  static std::string Text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(WalBufferVfsTest, RegisteringOverAnUnknownVfsFails) {
  Status s = RegisterWalBufferVfs("buffered-over-nothing", "no-such-vfs");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-vfs"), std::string::npos) << s.message();
  EXPECT_EQ(sqlite3_vfs_find("buffered-over-nothing"), nullptr);
  EXPECT_TRUE(RegisterWalBufferVfs("buffered", "counting").ok());  // again: a no-op
}

// What the buffer is for: one transaction of about 60 pages reaches the log in a few
// writes, where SQLite alone makes two per page.
TEST_F(WalBufferVfsTest, ACommitReachesTheLogInAFewWrites) {
  for (const char* vfs : {"counting", "buffered"}) {
    SCOPED_TRACE(vfs);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sqlite3* db = Open(vfs);
    ASSERT_EQ(Exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)"), SQLITE_OK);
    log_writes = 0;
    ASSERT_EQ(Exec(db, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<60) "
                       "INSERT INTO t(b) SELECT randomblob(3000) FROM n; COMMIT;"),
              SQLITE_OK);
    if (std::string(vfs) == "counting") {
      EXPECT_GE(log_writes.load(), 120);
    } else {
      EXPECT_LE(log_writes.load(), 3);  // 61 frames of 4 120 bytes: two writes below 128 KiB
    }
    EXPECT_EQ(Text(db, "SELECT COUNT(*) FROM t"), "60");
    sqlite3_close(db);
  }
}

// Another connection sees every commit at once, whatever its size: small ones, ones
// larger than the buffer, ones that spill pages to the log before they commit (a tiny
// page cache, so SQLite rewrites frames and reads them back), savepoints rolled back and
// whole transactions rolled back.
TEST_F(WalBufferVfsTest, OtherConnectionsSeeEveryCommit) {
  sqlite3* w = Open("buffered");
  sqlite3* r = Open("buffered");
  ASSERT_EQ(Exec(w, "PRAGMA cache_size=8; CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, b BLOB)"), SQLITE_OK);
  std::mt19937 rng(7);
  int64_t expected_rows = 0;
  int64_t expected_sum = 0;
  for (int round = 0; round < 60; ++round) {
    const int rows = std::uniform_int_distribution<int>(1, round % 10 == 0 ? 600 : 40)(rng);
    const bool rollback = round % 7 == 3;
    ASSERT_EQ(Exec(w, "BEGIN"), SQLITE_OK);
    ASSERT_EQ(Exec(w, "SAVEPOINT a; INSERT INTO t(k, b) VALUES(1000000, randomblob(2000)); ROLLBACK TO a; RELEASE a"),
              SQLITE_OK);
    ASSERT_EQ(Exec(w, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<" + std::to_string(rows) +
                          ") INSERT INTO t(k, b) SELECT " + std::to_string(round) + ", randomblob(2500) FROM n"),
              SQLITE_OK);
    // Rewrite what this transaction wrote, so that spilled pages change again.
    ASSERT_EQ(Exec(w, "UPDATE t SET b=randomblob(2600) WHERE k=" + std::to_string(round)), SQLITE_OK);
    ASSERT_EQ(Exec(w, rollback ? "ROLLBACK" : "COMMIT"), SQLITE_OK);
    if (!rollback) {
      expected_rows += rows;
      expected_sum += static_cast<int64_t>(rows) * round;
    }
    EXPECT_EQ(Text(r, "SELECT COUNT(*) || ' ' || TOTAL(k) FROM t"),
              std::to_string(expected_rows) + " " + std::to_string(expected_sum) + ".0")
        << "round " << round;
    if (round % 20 == 19) {
      ASSERT_EQ(Exec(w, "PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
    }
  }
  EXPECT_EQ(Text(r, "PRAGMA integrity_check"), "ok");
  sqlite3_close(r);
  sqlite3_close(w);
}

// A failed write to the log fails the commit; nothing of it is visible, and the next
// transaction works.
TEST_F(WalBufferVfsTest, AFailedLogWriteFailsTheCommit) {
  sqlite3* w = Open("buffered");
  sqlite3* r = Open("buffered");
  ASSERT_EQ(Exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) VALUES('first')"), SQLITE_OK);
  ASSERT_EQ(Exec(w, "BEGIN; INSERT INTO t(b) SELECT randomblob(3000) FROM t"), SQLITE_OK);
  fail_log_writes = true;
  EXPECT_NE(Exec(w, "COMMIT"), SQLITE_OK);
  fail_log_writes = false;
  if (!sqlite3_get_autocommit(w)) (void)Exec(w, "ROLLBACK");
  EXPECT_EQ(Text(r, "SELECT COUNT(*) FROM t"), "1");
  ASSERT_EQ(Exec(w, "INSERT INTO t(b) VALUES('after')"), SQLITE_OK);
  EXPECT_EQ(Text(r, "SELECT group_concat(b, ',') FROM (SELECT b FROM t ORDER BY id)"), "first,after");
  EXPECT_EQ(Text(r, "PRAGMA integrity_check"), "ok");
  sqlite3_close(r);
  sqlite3_close(w);
}

// kill -9 in the middle of commits: every commit acknowledged before the kill is there
// after it, and the database is whole.
TEST_F(WalBufferVfsTest, AcknowledgedCommitsSurviveAKill) {
  {
    sqlite3* db = Open("buffered");
    ASSERT_EQ(Exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)"), SQLITE_OK);
    sqlite3_close(db);
  }
  for (int trial = 0; trial < 3; ++trial) {
    int ack[2];
    ASSERT_EQ(pipe(ack), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(ack[0]);
      sqlite3* db = nullptr;
      sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, "buffered");
      sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
      for (int i = 0;; ++i) {
        const std::string n = std::to_string(1 + i % 50);
        if (sqlite3_exec(db,
                         ("BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<" + n +
                          ") INSERT INTO t(b) SELECT randomblob(1500) FROM n; COMMIT;")
                             .c_str(),
                         nullptr, nullptr, nullptr) != SQLITE_OK) {
          _exit(2);
        }
        int64_t rows = 0;
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM t", -1, &s, nullptr);
        if (sqlite3_step(s) == SQLITE_ROW) rows = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (write(ack[1], &rows, sizeof rows) != sizeof rows) _exit(3);
      }
    }
    close(ack[1]);
    int64_t acknowledged = 0;
    int64_t rows = 0;
    for (int i = 0; i < 40 + 37 * trial && read(ack[0], &rows, sizeof rows) == sizeof rows; ++i) acknowledged = rows;
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(ack[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;
    ASSERT_GT(acknowledged, 0);
    sqlite3* db = Open("buffered");
    EXPECT_GE(std::stoll(Text(db, "SELECT COUNT(*) FROM t")), acknowledged) << "trial " << trial;
    EXPECT_EQ(Text(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
  }
}

}  // namespace
}  // namespace rota::store::sqlite
