// Outbox rows as the API lists them (webhook deliveries and connector write-backs).
#pragma once

#include <optional>
#include <vector>

#include "service/service.h"

namespace rota::service {

Json DeliveryJson(const store::DeliveryRow& d);
// The `before` sequence number of a page's cursor; 422 for a bad limit or cursor.
Result<std::optional<int64_t>> SeqCursor(const Page& page);
// {"items", "next_cursor"} of one page of rows, newest first, from rows read with a limit
// of page.limit + 1 (the extra row only says that another page follows).
Json DeliveryPage(std::vector<store::DeliveryRow> rows, const Page& page);

}  // namespace rota::service
