// PostgreSQL schema migrations, numbered; migration N is recorded as version N in
// rota_schema_migrations. Each runs in one transaction under an advisory lock, so that
// several nodes starting at once apply it once.
#pragma once

#include <vector>

namespace rota::store::postgres {

const std::vector<const char*>& Migrations();

}  // namespace rota::store::postgres
