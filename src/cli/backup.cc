// `rota backup --db PATH FILE`: a consistent copy of a SQLite database while servers
// keep writing to it (SQLite's online backup). PostgreSQL databases are backed up with
// pg_dump; docs/operations.md says how to restore either.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "store/sqlite/backup.h"

namespace rota::cli {
namespace {

// Databases above this size report their progress on stderr (every tenth).
constexpr int64_t kProgressBytes = 64LL << 20;

}  // namespace

void AddBackup(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string db = "rota.db";
    std::string file;
    bool force = false;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "backup", "Copy a SQLite database consistently while servers run (PostgreSQL: use pg_dump).");
  cmd->add_option("--db", o->db, "SQLite database file")->capture_default_str();
  cmd->add_option("FILE", o->file, "the backup file to write")->required();
  cmd->add_flag("--force", o->force, "replace FILE when it exists");
  cmd->add_flag("--quiet", o->quiet, "no progress on stderr");
  cmd->callback([o, exit_code] {
    if (store::IsPostgresUrl(o->db)) {
      std::cerr << "rota: backup: " << store::PrintableUrl(o->db)
                << " is a PostgreSQL database; back it up with pg_dump, e.g.\n"
                   "  pg_dump --format=custom --file=rota.dump '<url>'\n"
                   "and restore it with pg_restore (see docs/operations.md).\n";
      *exit_code = 2;
      return;
    }
    store::sqlite::BackupOptions opts;
    opts.overwrite = o->force;
    int last_tenth = -1;
    if (!o->quiet) {
      opts.progress = [&last_tenth](const store::sqlite::BackupProgress& p) {
        if (p.pages_total * p.page_size < kProgressBytes || p.pages_total == 0) return;
        const int tenth = static_cast<int>(p.pages_done * 10 / p.pages_total);
        if (tenth == last_tenth) return;
        last_tenth = tenth;
        std::cerr << "rota: backup: " << tenth * 10 << "% (" << (p.pages_done * p.page_size >> 20) << " of "
                  << (p.pages_total * p.page_size >> 20) << " MiB)\n";
      };
    }
    auto done = store::sqlite::Backup(o->db, o->file, opts);
    if (!done.ok()) {
      *exit_code = Fail("backup", done.status());
      return;
    }
    std::cout << "backed up " << o->db << " to " << o->file << " (" << done->pages_total << " pages, "
              << (done->pages_total * done->page_size + 1023) / 1024 << " KiB)\n";
  });
}

}  // namespace rota::cli
