// Distribution keys as a file (SPEC §8, PocketKnife's "bulk import"): CSV or XLSX,
// with or without a header row; column A the value, B the user id, C the percentage.
//
// Percentages: text "50", "50%", "50,5" (decimal comma) or "50.5"; a numeric cell
// with a percent number format holds a fraction (0.5 → 50); any other numeric cell is
// the percentage itself (50 → 50, and an unformatted 0.5 stays 0.5 %, so that the
// value's percentages then fail to add up to 100 and the row's error says so).
//
// Reading finds the problems of each row on its own (empty value, missing user,
// missing or unreadable percentage); whether users exist and percentages add up is
// the core's validation, run by the service. Row numbers are the file's (the header,
// when there is one, is row 1), and problems have the path "row N".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rota::io {

struct KeyRow {
  int row = 0;           // the file's row number
  std::string value;     // column A, trimmed
  std::string user;      // column B, trimmed
  double percent = 0;    // column C as a percentage
  bool ok = true;        // false when the row has a problem in `KeysFile::problems`
};

struct KeysFile {
  std::vector<KeyRow> rows;        // every non-blank data row, in file order
  std::vector<Problem> problems;   // path "row N", in row order
};

// "row N", the problem path of a file row.
std::string RowPath(int row);

// Text as a percentage: "50", " 50 % ", "50,5", "50.5"; nullopt when it is not one.
std::optional<double> ParsePercentText(std::string_view text);

// RFC 4180 CSV, UTF-8 with an optional BOM; the separator is "," or, when the first
// line has no comma but a semicolon, ";". A file that cannot be read as a whole (not
// UTF-8, no rows) is an Invalid status; row problems are in the answer.
Result<KeysFile> ReadKeysCsv(std::string_view bytes, bool header);

// The first sheet of an XLSX workbook. A corrupt workbook is an Invalid status with
// path "file".
Result<KeysFile> ReadKeysXlsx(std::string_view bytes, bool header);

// Sample files to fill in, with a header row unless `header` is false.
std::string WriteKeysTemplateCsv(bool header = true);
Result<std::string> WriteKeysTemplateXlsx(bool header = true);

inline constexpr const char* kXlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

}  // namespace rota::io
