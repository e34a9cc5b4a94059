// History and reports as CSV (RFC 4180: fields with commas, quotes or line breaks are quoted,
// quotes doubled; lines end with CRLF). A field starting with = + - @, a tab or a CR
// gets an apostrophe before it, so that a spreadsheet does not run it as a formula.
#pragma once

#include <string>
#include <vector>

#include "io/json_util.h"

namespace rota::http {

std::string CsvField(const std::string& s);
// The history's answer (`{"items": [...]}`, as GET /v1/history gives it in JSON), a line a
// decision.
std::string HistoryCsv(const io::Json& history);
// The distribution report's rows: each owner's over everything (value empty), then each
// key value's (`by_value`), as value,owner,count,percent,target_percent.
std::string ReportCsv(const io::Json& report);

}  // namespace rota::http
