#include "store/store.h"

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace rota::store {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  if (IsPostgresUrl(url)) return postgres::OpenPostgres(url);
  return sqlite::OpenSqlite(url);
}

bool IsPostgresUrl(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

std::string PrintableUrl(const std::string& url) {
  if (!IsPostgresUrl(url)) return url;
  std::string out = url;
  const size_t start = out.find("://") + 3;
  const size_t end = out.find_first_of("/?", start);  // the authority: [user[:password]@]host…
  const size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
  if (at != std::string::npos && at >= start) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  for (size_t p = out.find('?'); p != std::string::npos; p = out.find('&', p + 1)) {
    if (out.compare(p + 1, 9, "password=") != 0) continue;
    const size_t value = p + 10;
    const size_t stop = out.find('&', value);
    out.replace(value, (stop == std::string::npos ? out.size() : stop) - value, "***");
  }
  return out;
}

}  // namespace rota::store
