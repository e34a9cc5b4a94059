#include "io/keys_file.h"

#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/text.h"
#include "io/xlsx_read.h"

namespace rota::io {
namespace {

// One cell of columns A–C as read from either format.
struct RawCell {
  bool present = false;  // the column exists in the row (CSV: enough fields)
  std::string text;      // text, or a number's text
  bool is_number = false;
  double number = 0;
  bool percent_format = false;
  bool error = false;    // an XLSX error cell (#N/A…)
  bool blank() const { return !is_number && !error && core::Trim(text).empty(); }
};

struct RawRow {
  int number = 0;
  RawCell cells[3];
  size_t columns = 0;  // CSV: how many fields the row has
};

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The rows of the file as key rows and row problems. `header`: the first non-blank row
// is a header and skipped. `count_columns`: a row with fewer than 3 fields lacks columns
// (CSV; in a workbook an empty cell is just empty).
KeysFile Interpret(const std::vector<RawRow>& raw, bool header, bool count_columns) {
  KeysFile out;
  bool skipped_header = !header;
  bool first = true;
  for (const RawRow& r : raw) {
    if (r.cells[0].blank() && r.cells[1].blank() && r.cells[2].blank()) continue;  // blank rows are no rows
    if (!skipped_header) {
      skipped_header = true;
      continue;
    }
    const bool first_data_row = first;
    first = false;
    KeyRow row;
    row.row = r.number;
    auto problem = [&](std::string message) {
      out.problems.push_back({RowPath(r.number), std::move(message)});
      row.ok = false;
    };
    if (count_columns && r.columns < 3) {
      problem("missing columns: a row has the value, the user id and the percentage (columns A–C); this one has " +
              std::to_string(r.columns) + (r.columns == 1 ? " column" : " columns"));
      out.rows.push_back(std::move(row));
      continue;
    }
    const RawCell& a = r.cells[0];
    const RawCell& b = r.cells[1];
    const RawCell& c = r.cells[2];
    if (a.error) {
      problem("the value (column A) is an error cell (" + a.text + ")");
    } else {
      row.value = std::string(core::Trim(a.text));
      if (core::Fold(row.value).empty()) {
        problem("empty value (column A)");
      } else if (core::HasControlChar(row.value, /*text_spacing=*/true)) {
        problem("the value (column A) holds a control character (NUL, say)");
      }
    }
    if (b.error) {
      problem("the user id (column B) is an error cell (" + b.text + ")");
    } else {
      row.user = std::string(core::Trim(b.text));
      if (row.user.empty()) problem("missing user id (column B)");
    }
    if (c.error) {
      problem("the percentage (column C) is an error cell (" + c.text + ")");
    } else if (c.is_number) {
      double p = c.percent_format ? c.number * 100 : c.number;
      // 0.335 * 100 is 33.500000000000004: keep what the cell shows.
      row.percent = std::round(p * 1e9) / 1e9;
    } else if (core::Trim(c.text).empty()) {
      problem("missing percentage (column C)");
    } else if (auto p = ParsePercentText(c.text)) {
      row.percent = *p;
    } else {
      std::string m = Quote(core::Trim(c.text)) + " is not a percentage (column C; write 50, 50% or 50,5)";
      if (first_data_row && !header) m += "; is this row a header? import with the header option";
      problem(std::move(m));
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}


}  // namespace

std::string RowPath(int row) { return "row " + std::to_string(row); }

std::optional<double> ParsePercentText(std::string_view text) {
  std::string t(core::Trim(text));
  if (!t.empty() && t.back() == '%') {
    t.pop_back();
    t = std::string(core::Trim(t));
  }
  size_t comma = t.find(',');
  if (comma != std::string::npos) {
    if (t.find('.') != std::string::npos || t.find(',', comma + 1) != std::string::npos) return std::nullopt;
    t[comma] = '.';
  }
  return core::ParseDecimal(t);
}

namespace {

// The line (record) from `start`, split on `sep` outside quotes (quotes dropped, roughly:
// for guessing only); `*end` is where it ends.
std::vector<std::string> LineFields(std::string_view bytes, size_t start, char sep, size_t* end) {
  std::vector<std::string> fields(1);
  bool in_quotes = false;
  size_t i = start;
  for (; i < bytes.size(); ++i) {
    char ch = bytes[i];
    if (ch == '"') {
      in_quotes = !in_quotes;  // a doubled quote toggles twice
    } else if (!in_quotes && (ch == '\n' || ch == '\r')) {
      break;
    } else if (!in_quotes && ch == sep) {
      fields.emplace_back();
    } else {
      fields.back() += ch;
    }
  }
  *end = i;
  return fields;
}

// Does a line split so read as a key row: a user id (no space, no `other` separator) in
// column B and a percentage in column C?
bool LooksLikeARow(const std::vector<std::string>& fields, char other) {
  if (fields.size() < 3) return false;
  std::string_view user = core::Trim(fields[1]);
  return !user.empty() && user.find_first_of(std::string(" \t") + other) == std::string_view::npos &&
         ParsePercentText(fields[2]).has_value();
}

// `;` or `,`: Excel in Poland, Italy or Czechia writes `Kent;u-1;50,5`, with the decimal
// comma. The first lines with text decide, in turn: a separator that gives a line its
// three columns (A–C) where the other does not wins; where both do (`Kraków,
// centrum;u-1;33,33`), the one under which it reads as a key row (LooksLikeARow), else the
// next line (a header) decides; then `,`.
char GuessSeparator(std::string_view bytes) {
  size_t start = 0;
  for (int line = 0; line < 5; ++line) {
    start = bytes.find_first_not_of("\r\n \t", start);
    if (start == std::string_view::npos) break;
    size_t end = start;
    const std::vector<std::string> by_comma = LineFields(bytes, start, ',', &end);
    const std::vector<std::string> by_semicolon = LineFields(bytes, start, ';', &end);
    start = end;
    const bool comma_fits = by_comma.size() >= 3, semicolon_fits = by_semicolon.size() >= 3;
    if (semicolon_fits != comma_fits) return semicolon_fits ? ';' : ',';
    if (!comma_fits) continue;
    const bool semicolon_row = LooksLikeARow(by_semicolon, ','), comma_row = LooksLikeARow(by_comma, ';');
    if (semicolon_row != comma_row) return semicolon_row ? ';' : ',';
  }
  return ',';
}

}  // namespace

Result<KeysFile> ReadKeysCsv(std::string_view bytes, bool header) {
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  if (!core::ValidUtf8(bytes)) {
    return Status::Invalid("file", "the file is not UTF-8 text (save it as \"CSV UTF-8\")");
  }
  const char sep = GuessSeparator(bytes);

  // RFC 4180: fields separated by `sep`, records by CRLF or LF; a quoted field may hold
  // separators, line breaks and doubled quotes.
  std::vector<RawRow> raw;
  std::vector<Problem> structural;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, in_quotes = false, any = false;
  int record = 1;
  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    quoted = false;
  };
  auto end_record = [&] {
    end_field();
    RawRow r;
    r.number = record;
    r.columns = fields.size();
    if (r.columns == 1 && core::Trim(fields[0]).empty()) r.columns = 0;
    for (size_t i = 0; i < 3 && i < fields.size(); ++i) {
      r.cells[i].present = true;
      r.cells[i].text = fields[i];
    }
    raw.push_back(std::move(r));
    fields.clear();
    ++record;
    any = false;
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    char ch = bytes[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < bytes.size() && bytes[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field += ch;
      }
      continue;
    }
    if (ch == '"' && !quoted && core::Trim(field).empty()) {
      field.clear();
      in_quotes = quoted = any = true;
    } else if (ch == sep) {
      end_field();
      any = true;
    } else if (ch == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') {
      // CRLF: the LF ends the record
    } else if (ch == '\n' || ch == '\r') {
      end_record();
    } else {
      if (quoted && ch != ' ' && ch != '\t') {
        structural.push_back({RowPath(record), "text after a closing quote"});
        quoted = false;
      }
      if (!quoted) field += ch;
      any = true;
    }
  }
  if (in_quotes) structural.push_back({RowPath(record), "a quoted field is not closed"});
  if (any || !field.empty() || !fields.empty()) end_record();

  KeysFile out = Interpret(raw, header, true);
  if (!structural.empty()) {
    std::set<std::string> bad;  // one pass each, not rows × problems (40 000 of each took 43 s)
    for (const Problem& p : structural) bad.insert(p.path);
    for (KeyRow& r : out.rows) {
      if (bad.count(RowPath(r.row))) r.ok = false;
    }
    out.problems.insert(out.problems.end(), structural.begin(), structural.end());
    std::stable_sort(out.problems.begin(), out.problems.end(), [](const Problem& x, const Problem& y) {
      return std::atoi(x.path.c_str() + 4) < std::atoi(y.path.c_str() + 4);
    });
  }
  return out;
}

Result<KeysFile> ReadKeysXlsx(std::string_view bytes, bool header) {
  auto sheet = ReadXlsxFirstSheet(bytes, 3);  // columns A–C
  if (!sheet.ok()) return sheet.status();
  std::vector<RawRow> raw;
  for (const XlsxRow& xr : *sheet) {
    RawRow r;
    r.number = xr.number;
    r.columns = xr.cells.size();
    for (size_t i = 0; i < 3 && i < xr.cells.size(); ++i) {
      const XlsxCell& c = xr.cells[i];
      RawCell& rc = r.cells[i];
      rc.present = c.kind != XlsxCell::Kind::kEmpty;
      switch (c.kind) {
        case XlsxCell::Kind::kEmpty: break;
        case XlsxCell::Kind::kText:
        case XlsxCell::Kind::kBool: rc.text = c.text; break;
        case XlsxCell::Kind::kError:
          rc.text = c.text;
          rc.error = true;
          break;
        case XlsxCell::Kind::kNumber:
          // Ids and values typed as numbers are their text; column C keeps the number.
          rc.text = NumberText(c.number);
          if (i == 2) {
            rc.is_number = true;
            rc.number = c.number;
            rc.percent_format = c.percent;
          }
          break;
      }
    }
    raw.push_back(std::move(r));
  }
  return Interpret(raw, header, false);
}

namespace {

struct Sample {
  const char* value;
  const char* user;
  double percent;
};
constexpr Sample kSamples[] = {
    {"Antwerp", "u-1", 50}, {"Antwerp", "u-2", 50},  {"Brussels", "u-1", 34},
    {"Brussels", "u-2", 33}, {"Brussels", "u-3", 33}, {"Ghent", "u-3", 100},
};
constexpr const char* kHeader[] = {"value", "user_id", "percent"};

}  // namespace

std::string WriteKeysTemplateCsv(bool header) {
  std::string out;
  if (header) out += std::string(kHeader[0]) + "," + kHeader[1] + "," + kHeader[2] + "\r\n";
  for (const Sample& s : kSamples) out += std::string(s.value) + "," + s.user + "," + NumberText(s.percent) + "\r\n";
  return out;
}

Result<std::string> WriteKeysTemplateXlsx(bool header) {
  // libxlsxwriter writes files: write one in the temp directory and read it back.
  std::string path = (std::filesystem::temp_directory_path() / "rota-keys-XXXXXX").string();
  int fd = mkstemp(path.data());
  if (fd < 0) return Status::Internal("cannot make a temporary file");
  close(fd);
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove{path};

  lxw_workbook* wb = workbook_new(path.c_str());
  if (wb == nullptr) return Status::Internal("cannot write a workbook");
  lxw_worksheet* ws = workbook_add_worksheet(wb, "keys");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  lxw_format* pct = workbook_add_format(wb);
  format_set_num_format(pct, "0%");
  worksheet_set_column(ws, 0, 0, 24, nullptr);
  worksheet_set_column(ws, 1, 1, 16, nullptr);
  worksheet_set_column(ws, 2, 2, 10, nullptr);
  lxw_row_t row = 0;
  if (header) {
    for (lxw_col_t c = 0; c < 3; ++c) worksheet_write_string(ws, 0, c, kHeader[c], bold);
    row = 1;
  }
  for (const Sample& s : kSamples) {
    worksheet_write_string(ws, row, 0, s.value, nullptr);
    worksheet_write_string(ws, row, 1, s.user, nullptr);
    worksheet_write_number(ws, row, 2, s.percent / 100, pct);
    ++row;
  }
  if (workbook_close(wb) != LXW_NO_ERROR) return Status::Internal("cannot write a workbook");
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return Status::Internal("cannot read back the workbook");
  return ss.str();
}

}  // namespace rota::io
