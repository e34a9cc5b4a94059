// The distribution keys import as CSV (SPEC §8, POST /v1/distributions/{id}/import):
// io::ReadKeysCsv (BOM, separators, RFC 4180 quoting, UTF-8 check, row problems) and
// the percentage parser. Input: the file; its first byte's low bit says whether the
// file has a header row, so one corpus covers both.
// Checked: a row is marked bad exactly when a problem names it; rows are in order.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "io/keys_file.h"

using namespace rota;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_csv: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool header = data[0] & 1;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto file = io::ReadKeysCsv(bytes, header);
  if (!file.ok()) return 0;
  std::set<std::string> bad;
  for (const Problem& p : file->problems) bad.insert(p.path);
  int last = 0;
  for (const io::KeyRow& r : file->rows) {
    Check(r.row > last, "rows out of order");
    last = r.row;
    Check(r.ok != (bad.count(io::RowPath(r.row)) > 0), "a row's ok flag disagrees with the problems");
  }
  // Each line as a percentage, too (the cell text of column C).
  size_t start = 0;
  while (start <= bytes.size()) {
    size_t eol = bytes.find('\n', start);
    if (eol == std::string_view::npos) eol = bytes.size();
    (void)io::ParsePercentText(bytes.substr(start, eol - start));
    start = eol + 1;
  }
  return 0;
}
