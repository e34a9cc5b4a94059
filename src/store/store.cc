#include "store/store.h"

#include "store/sqlite/sqlite_store.h"

namespace rota::store {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return Status(Code::kInvalid, "unsupported_database",
                  "PostgreSQL is not supported by this build yet; use a SQLite file path");
  }
  return sqlite::OpenSqlite(url);
}

}  // namespace rota::store
