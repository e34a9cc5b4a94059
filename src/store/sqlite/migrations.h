// SQLite schema migrations, numbered; migration N brings PRAGMA user_version to N.
#pragma once

#include <vector>

namespace rota::store::sqlite {

const std::vector<const char*>& Migrations();

}  // namespace rota::store::sqlite
