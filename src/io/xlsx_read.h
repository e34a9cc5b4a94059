// A small reader of XLSX workbooks (Office Open XML spreadsheets): the first sheet's
// cells as text or numbers, with whether a number is shown as a percentage. Enough for
// imports; formulas answer their cached value, dates stay numbers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rota::io {

struct XlsxCell {
  enum class Kind { kEmpty, kText, kNumber, kBool, kError };
  Kind kind = Kind::kEmpty;
  std::string text;     // kText, kError (the error text, e.g. "#N/A"), kBool ("TRUE"/"FALSE")
  double number = 0;    // kNumber
  bool percent = false; // kNumber with a percent number format (built-in 9, 10 or a custom "…%")
};

struct XlsxRow {
  int number = 0;                // 1-based, as the spreadsheet shows it
  std::vector<XlsxCell> cells;   // column A first; missing cells are kEmpty
};

// True when `bytes` starts with a zip signature (PK\x03\x04), as XLSX files do.
bool LooksLikeZip(std::string_view bytes);

// The first sheet (by workbook.xml order) of the workbook in `bytes`, rows in order.
// A file that is not a readable workbook is an Invalid status with path "file".
Result<std::vector<XlsxRow>> ReadXlsxFirstSheet(std::string_view bytes);

// A number as the shortest text that reads back to it ("50", "0.5", "1000").
std::string NumberText(double v);

}  // namespace rota::io
