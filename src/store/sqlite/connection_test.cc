#include "store/sqlite/connection.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace rota::store::sqlite {
namespace {

namespace fs = std::filesystem;

std::string Text(Connection& c, const char* sql) {
  Stmt q = c.Prepare(sql);
  Status err;
  return q.Step(&err) ? q.Text(0) : "error: " + err.message();
}

// The settings durability and speed rely on (docs/operations.md, "Durability"): WAL,
// synchronous=FULL (2), the log-gathering VFS, and 2 KiB pages for a new database, while
// an existing database keeps the page size it was made with; the writer's own; and no
// memory statistics.
TEST(ConnectionTest, OpensWithRotasSettings) {
  fs::path dir = fs::temp_directory_path() / ("rota_connection_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto c = Connection::Open((dir / "new.db").string());
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(Text(**c, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(Text(**c, "PRAGMA synchronous"), "2");
    EXPECT_EQ(Text(**c, "PRAGMA page_size"), "2048");
    sqlite3_vfs* vfs = nullptr;
    ASSERT_EQ(sqlite3_file_control((*c)->raw(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs), SQLITE_OK);
    EXPECT_STREQ(vfs->zName, "rota-wal");
    // No process-wide memory statistics (one global mutex per allocation otherwise):
    // SQLite has allocated plenty by now and counted none of it.
    EXPECT_EQ(sqlite3_memory_used(), 0);
  }
  {
    // The writer: savepoint journals in memory (temp_store 2) and a checkpoint at
    // 10 000 log pages; a reader keeps SQLite's defaults (0 and 1 000).
    auto writer = Connection::OpenWriter((dir / "new.db").string());
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    EXPECT_EQ(Text(**writer, "PRAGMA temp_store"), "2");
    EXPECT_EQ(Text(**writer, "PRAGMA wal_autocheckpoint"), "10000");
    EXPECT_EQ(Text(**writer, "PRAGMA synchronous"), "2");
    auto reader = Connection::Open((dir / "new.db").string());
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    EXPECT_EQ(Text(**reader, "PRAGMA temp_store"), "0");
    EXPECT_EQ(Text(**reader, "PRAGMA wal_autocheckpoint"), "1000");
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "old.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA page_size=4096; CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto c = Connection::Open((dir / "old.db").string());
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(Text(**c, "PRAGMA page_size"), "4096");
    EXPECT_EQ(Text(**c, "PRAGMA journal_mode"), "wal");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rota::store::sqlite
