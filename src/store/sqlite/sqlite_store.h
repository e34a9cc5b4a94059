// The SQLite Store: one file, WAL, one writer at a time (BEGIN IMMEDIATE under a
// process-wide mutex), readers on their own pooled connections.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace rota::store::sqlite {

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path);

}  // namespace rota::store::sqlite
