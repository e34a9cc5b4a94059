// History as CSV (RFC 4180: fields with commas, quotes or line breaks are quoted,
// quotes doubled; lines end with CRLF). A field starting with = + - @, a tab or a CR
// gets an apostrophe before it, so that a spreadsheet does not run it as a formula.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace rota::http {

std::string CsvField(const std::string& s);
std::string HistoryCsv(const std::vector<store::DecisionRow>& rows);

}  // namespace rota::http
