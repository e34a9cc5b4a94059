// The PostgreSQL Store: several rota nodes on one database. Write transactions on a
// workspace are serialized by a transaction-level advisory lock on the workspace, so
// decisions from every node see one exact order (what SQLite's single writer gives);
// reads use REPEATABLE READ READ ONLY snapshots; connections are pooled.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace rota::store::postgres {

// `conninfo`: a postgres:// or postgresql:// URL or any libpq connection string.
// Applies the migrations. Env ROTA_PG_MAX_CONNECTIONS caps the connections one store
// holds at once (default 32).
Result<std::unique_ptr<Store>> OpenPostgres(const std::string& conninfo);

}  // namespace rota::store::postgres
