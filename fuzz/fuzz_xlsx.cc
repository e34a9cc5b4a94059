// The distribution keys import as XLSX (SPEC §8): io::ReadXlsxFirstSheet (libzip,
// pugixml: workbook, relationships, shared strings, styles, the sheet's rows and cells)
// and io::ReadKeysXlsx over it.
//
// Input, two forms so that the fuzzer can reach the XML as well as the zip:
//  - a workbook as it is (starts with "PK\3\4"): the bytes go in unchanged;
//  - otherwise the workbook's parts as text separated by lines "~~", in the order
//    xl/workbook.xml, xl/_rels/workbook.xml.rels, xl/sharedStrings.xml, xl/styles.xml,
//    xl/worksheets/sheet1.xml (an empty part is left out); the target zips them
//    (stored, no compression) and reads that.
// The header option is the input size's low bit.
#include <zip.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/keys_file.h"
#include "io/xlsx_read.h"

using namespace rota;

namespace {

constexpr const char* kParts[] = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
                                  "xl/styles.xml", "xl/worksheets/sheet1.xml"};

// The parts in a zip archive made in memory; empty when libzip fails.
std::string Zip(const std::vector<std::pair<std::string, std::string_view>>& parts) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* buf = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_error_fini(&err);
  if (buf == nullptr) return "";
  zip_source_keep(buf);
  zip_t* z = zip_open_from_source(buf, ZIP_TRUNCATE, nullptr);
  if (z == nullptr) {
    zip_source_free(buf);
    return "";
  }
  for (const auto& [name, text] : parts) {
    zip_source_t* s = zip_source_buffer(z, text.data(), text.size(), 0);
    if (s == nullptr) continue;
    zip_int64_t i = zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
    if (i < 0) {
      zip_source_free(s);
      continue;
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i), ZIP_CM_STORE, 0);
  }
  std::string out;
  if (zip_close(z) != 0) {
    zip_discard(z);
  } else if (zip_source_open(buf) == 0) {
    zip_source_seek(buf, 0, SEEK_END);
    zip_int64_t n = zip_source_tell(buf);
    zip_source_seek(buf, 0, SEEK_SET);
    if (n > 0) {
      out.resize(static_cast<size_t>(n));
      if (zip_source_read(buf, out.data(), out.size()) != n) out.clear();
    }
    zip_source_close(buf);
  }
  zip_source_free(buf);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool header = size & 1;
  std::string workbook;
  if (io::LooksLikeZip(in)) {
    workbook = std::string(in);
  } else {
    std::vector<std::pair<std::string, std::string_view>> parts;
    size_t start = 0;
    for (const char* name : kParts) {
      if (start > in.size()) break;
      size_t end = in.find("\n~~\n", start);
      if (end == std::string_view::npos) end = in.size();
      if (end > start) parts.emplace_back(name, in.substr(start, end - start));
      start = end + 4;
    }
    workbook = Zip(parts);
    if (workbook.empty()) return 0;
  }
  (void)io::ReadXlsxFirstSheet(workbook, 3);
  (void)io::ReadKeysXlsx(workbook, header);
  return 0;
}
