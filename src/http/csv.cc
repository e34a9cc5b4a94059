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

namespace {

// One line of fields, comma-separated, CRLF-ended.
std::string Line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + CsvField(fields[i]);
  return out + "\r\n";
}

std::string Cell(const io::Json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

std::string HistoryCsv(const io::Json& history) {
  static const char* kColumns[] = {"decision_id", "at",       "event",   "object_type", "record_id",
                                   "rule",        "strategy", "outcome", "owner",       "reason"};
  std::string out = Line(std::vector<std::string>(std::begin(kColumns), std::end(kColumns)));
  for (const io::Json& d : history.value("items", io::Json::array())) {
    std::vector<std::string> fields;
    for (const char* column : kColumns) fields.push_back(Cell(d.value(column, io::Json())));
    out += Line(fields);
  }
  return out;
}

std::string ReportCsv(const io::Json& report) {
  std::string out = Line({"value", "owner", "count", "percent", "target_percent"});
  auto rows = [&](const std::string& value, const io::Json& list) {
    for (const io::Json& r : list) {
      out += Line({value, Cell(r.value("owner", io::Json())), Cell(r.value("count", io::Json())),
                   Cell(r.value("percent", io::Json())), Cell(r.value("target_percent", io::Json()))});
    }
  };
  rows("", report.value("rows", io::Json::array()));
  for (const io::Json& v : report.value("by_value", io::Json::array())) {
    rows(v.value("value", ""), v.value("rows", io::Json::array()));
  }
  return out;
}

}  // namespace rota::http
