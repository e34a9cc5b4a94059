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

// What a workbook may unpack to (its XML parts together) and what its cells may hold (their
// text together, a shared string counted once per cell that names it): a few kilobytes of
// zip can unpack to gigabytes, and one shared string be named by a million cells.
inline constexpr size_t kMaxXlsxXml = 16u << 20;
inline constexpr size_t kMaxXlsxText = 16u << 20;

// The first sheet (by workbook.xml order) of the workbook in `bytes`, rows in order, and of
// each row its first `columns` columns (cells further right are not read). A file that is
// not a readable workbook, or is over the limits above, is an Invalid status with path "file".
Result<std::vector<XlsxRow>> ReadXlsxFirstSheet(std::string_view bytes, size_t columns);

// A number as the shortest text that reads back to it ("50", "0.5", "1000").
std::string NumberText(double v);

}  // namespace rota::io
