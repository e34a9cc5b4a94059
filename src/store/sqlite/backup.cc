#include "store/sqlite/backup.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>

namespace rota::store::sqlite {
namespace {

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, Closer>;

std::string Message(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

// One integer from a one-row query; nullopt-like -1 when the query fails.
int64_t Scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

// Removes what earlier backups into `target` left when they were killed (their
// `FILE.partial-PID` and its journal), for processes that no longer run.
void RemoveStalePartials(const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string prefix = target.filename().string() + ".partial-";
  for (const fs::directory_entry& e : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    if (rest.size() > 8 && rest.ends_with("-journal")) rest.resize(rest.size() - 8);
    if (rest.empty() || rest.size() > 9 || rest.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(rest));
    if (pid == getpid() || (kill(pid, 0) == -1 && errno == ESRCH)) fs::remove(e.path(), ec);
  }
}

}  // namespace

Result<BackupProgress> Backup(const std::string& source, const std::string& target, const BackupOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) return Status::NotFound("no database at " + source);
  if (fs::exists(target, ec) && !options.overwrite) {
    return Status::Conflict(target + " exists; choose a new name or pass --force to replace it");
  }
  if (fs::is_directory(target, ec)) return Status::Conflict(target + " is a directory");
  if (fs::exists(target, ec)) {
    // Replacing a database that is open (a server's, or the source itself) corrupts it or is
    // silently undone: SQLite's log beside it belongs to the file it replaces.
    if (fs::equivalent(source, target, ec)) return Status::Conflict(target + " is the database being backed up");
    for (const char* beside : {"-wal", "-shm"}) {
      if (fs::exists(target + beside, ec)) {
        return Status::Conflict(target + " is in use or was not closed (" + target + beside +
                                " is beside it): stop the server that uses it first; a server that stopped "
                                "without closing it leaves that file too, and is started and stopped once to tidy it");
      }
    }
  }

  sqlite3* raw = nullptr;
  // Read-write so that the WAL index can be used like the server does; nothing is written.
  int rc = sqlite3_open_v2(source.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  Db src(raw);
  if (rc != SQLITE_OK) return Status::Internal("cannot open " + source + ": " + Message(raw));
  sqlite3_busy_timeout(src.get(), 30000);
  const int64_t tables = Scalar(src.get(), "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='decisions'");
  if (tables < 0 && sqlite3_errcode(src.get()) != SQLITE_NOTADB) {  // a database that cannot be read here
    return Status::Internal("cannot read " + source + ": " + Message(src.get()));
  }
  if (tables != 1) return Status(Code::kInvalid, "not_a_rota_database", source + " is not a rota database");

  // Written beside the target, renamed into place once complete: a failed or interrupted
  // backup never leaves a half-written FILE.
  const fs::path final_path = fs::absolute(target, ec);
  RemoveStalePartials(final_path);
  const fs::path tmp = final_path.parent_path() / (final_path.filename().string() + ".partial-" + std::to_string(getpid()));
  raw = nullptr;
  rc = sqlite3_open_v2(tmp.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Db dst(raw);
  auto fail = [&](const std::string& why) -> Status {
    dst.reset();
    fs::remove(tmp, ec);
    return Status::Internal("cannot write " + target + ": " + why);
  };
  if (rc != SQLITE_OK) return fail(Message(raw));
  // Fail early on an unwritable place (the open above is lazy).
  if (sqlite3_exec(dst.get(), "PRAGMA user_version=0", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(Message(dst.get()));
  }

  // One read snapshot for the whole copy: the backup reads through the source
  // connection's open transaction, so writes the server commits meanwhile are not
  // mixed in, and the copy does not restart.
  if (sqlite3_exec(src.get(), "BEGIN; SELECT COUNT(*) FROM sqlite_master;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status::Internal("cannot read " + source + ": " + Message(src.get()));
  }
  sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (b == nullptr) return fail(Message(dst.get()));
  BackupProgress p;
  p.page_size = Scalar(src.get(), "PRAGMA page_size");
  for (;;) {
    rc = sqlite3_backup_step(b, options.pages_per_step);
    p.pages_total = sqlite3_backup_pagecount(b);
    p.pages_done = p.pages_total - sqlite3_backup_remaining(b);
    if (options.progress) options.progress(p);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (rc != SQLITE_OK) break;
  }
  rc = sqlite3_backup_finish(b);
  (void)sqlite3_exec(src.get(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail(Message(dst.get()));
  // The copy as one file (no WAL beside it) that any SQLite tool opens.
  if (sqlite3_exec(dst.get(), "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(Message(dst.get()));
  }
  dst.reset();
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Internal("cannot write " + target + ": " + ec.message());
  }
  return p;
}

}  // namespace rota::store::sqlite
