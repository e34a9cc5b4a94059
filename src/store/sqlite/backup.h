// A consistent copy of a live SQLite database with SQLite's online backup API, for
// `rota backup`: the copy is taken from one read snapshot while servers go on writing
// (WAL readers do not block writers), written beside the target and renamed into place
// only when complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"

namespace rota::store::sqlite {

struct BackupProgress {
  int64_t pages_done = 0;
  int64_t pages_total = 0;
  int64_t page_size = 0;
};

struct BackupOptions {
  bool overwrite = false;  // replace an existing target
  int pages_per_step = 1024;
  // Called after each step (and once at the end).
  std::function<void(const BackupProgress&)> progress;
};

// Copies the rota database at `source` into the new file `target`. NotFound when there is
// no database at `source`, Invalid when it is not a rota database, Conflict when `target`
// exists (without overwrite) or is a directory, Internal when `target` cannot be written. Answers the final
// progress (pages copied and their size).
Result<BackupProgress> Backup(const std::string& source, const std::string& target, const BackupOptions& options);

}  // namespace rota::store::sqlite
