#include "service/list_page.h"

#include <algorithm>
#include <optional>
#include <string>

#include "connectors/crypto.h"

namespace rota::service {
namespace {

// The configuration lists page by a cursor that names the page's last item (and the item
// after it, and the position): users, pools and distributions are listed by id, so the next
// page starts after that id, and a walk gives each item once however items are created or
// deleted between pages. Rules are listed in priority order: the next page starts after the
// last item where it now is, else at the item that followed it, else at the position (a
// reorder between pages can repeat or skip a rule). Written "POSITION.HEX(LAST).HEX(NEXT)";
// a bare position (the older form) is still read.
struct ListCursor {
  size_t position = 0;
  std::string last, next;
};

std::optional<ListCursor> ReadListCursor(const std::string& text) {
  const size_t dot = text.find('.');
  const std::string position = text.substr(0, dot);
  if (position.empty() || position.size() > 9 || position.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  ListCursor c{std::stoul(position), "", ""};
  if (dot == std::string::npos) return c;
  const size_t dot2 = text.find('.', dot + 1);
  if (dot2 == std::string::npos) return std::nullopt;
  auto last = connectors::FromHex(text.substr(dot + 1, dot2 - dot - 1));
  auto next = connectors::FromHex(text.substr(dot2 + 1));
  if (!last || !next || last->empty()) return std::nullopt;
  c.last = std::move(*last);
  c.next = std::move(*next);
  return c;
}

}  // namespace

io::Json PageOf(const io::Json& items, const Page& page, bool by_id) {
  auto index_of = [&](const std::string& id) -> std::optional<size_t> {
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].value("id", "") == id) return i;
    }
    return std::nullopt;
  };
  size_t start = 0;
  if (!page.cursor.empty()) {
    const ListCursor c = ReadListCursor(page.cursor).value_or(ListCursor{});
    if (by_id && !c.last.empty()) {
      while (start < items.size() && items[start].value("id", "") <= c.last) ++start;
    } else {
      std::optional<size_t> last = c.last.empty() ? std::nullopt : index_of(c.last);
      std::optional<size_t> next = c.next.empty() ? std::nullopt : index_of(c.next);
      start = last ? *last + 1 : next ? *next : std::min(c.position, items.size());
    }
  }
  io::Json out = io::Json::array();
  for (size_t i = start; i < items.size() && out.size() < static_cast<size_t>(page.limit); ++i) out.push_back(items[i]);
  const size_t end = start + out.size();
  io::Json next_cursor = nullptr;
  if (end < items.size()) {
    next_cursor = std::to_string(end) + "." + connectors::Hex(out.back().value("id", "")) + "." +
                  connectors::Hex(items[end].value("id", ""));
  }
  return {{"items", out}, {"next_cursor", next_cursor}};
}

io::Json ById(io::Json items) {
  std::sort(items.begin(), items.end(),
            [](const io::Json& a, const io::Json& b) { return a.value("id", "") < b.value("id", ""); });
  return items;
}

Status CheckPage(const Page& page) {
  if (page.limit < 1 || page.limit > 1000) return Status::Invalid("limit", "limit is from 1 to 1000");
  if (!page.cursor.empty() && !ReadListCursor(page.cursor)) {
    return Status::Invalid("cursor", "not a cursor this list gave");
  }
  return Status::Ok();
}

}  // namespace rota::service
