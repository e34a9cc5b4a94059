// Pages of the lists rota keeps in memory (configuration, webhooks, connectors): a cursor
// that names the page's last item, so that a walk gives each item once however items are
// created or deleted between pages.
#pragma once

#include "core/status.h"
#include "io/json_util.h"
#include "service/service.h"

namespace rota::service {

// Refuses a limit outside 1..1000 and a cursor no list gave (422).
Status CheckPage(const Page& page);

// A page of `items` (each with an "id"; sorted by it when `by_id`) after `page.cursor`
// (checked by CheckPage): {"items", "next_cursor"}.
io::Json PageOf(const io::Json& items, const Page& page, bool by_id);

// `items` sorted by their ids.
io::Json ById(io::Json items);

}  // namespace rota::service
