#include "http/csv.h"

#include <string_view>

#include "io/json_util.h"

namespace rota::http {

std::string CsvField(const std::string& text) {
  // A spreadsheet runs a cell that starts so as a formula (CSV injection): an apostrophe
  // first makes it text, and Excel, LibreOffice and Sheets do not show it.
  const std::string s = !text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos
                            ? "'" + text
                            : text;
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string HistoryCsv(const std::vector<store::DecisionRow>& rows) {
  std::string out = "decision_id,at,event,object_type,record_id,rule,strategy,outcome,owner,reason\r\n";
  for (const store::DecisionRow& d : rows) {
    const std::string fields[] = {d.id,
                                  io::FormatTime(core::Time(std::chrono::seconds(d.at))),
                                  d.event,
                                  d.object_type,
                                  d.record_id,
                                  d.rule.value_or(""),
                                  d.strategy.value_or(""),
                                  d.outcome,
                                  d.owner.value_or(""),
                                  d.reason.value_or("")};
    bool first = true;
    for (const std::string& f : fields) {
      if (!first) out += ',';
      out += CsvField(f);
      first = false;
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace rota::http
