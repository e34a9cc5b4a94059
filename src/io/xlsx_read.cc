#include "io/xlsx_read.h"

#include <zip.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <pugixml.hpp>

#include "core/text.h"

namespace rota::io {
namespace {

Status Bad(const std::string& why) { return Status::Invalid("file", "not a readable XLSX workbook: " + why); }

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using Zip = std::unique_ptr<zip_t, ZipCloser>;

// One member of the archive, or nullopt when it is not there. A member that is there
// but cannot be read is an error.
// `budget`: what the workbook's parts may still unpack to, less this one.
Result<std::optional<std::string>> Member(zip_t* z, const std::string& name, size_t& budget) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(z, name.c_str(), 0, &st) != 0) return std::optional<std::string>();
  if (!(st.valid & ZIP_STAT_SIZE)) return Bad("no size for " + name);
  // A keys file is small: parts that unpack past kMaxXlsxXml together are refused before
  // they are read (a zip bomb in a 1 MiB upload cannot take the server's memory).
  if (st.size > budget) {
    return Bad("the workbook unpacks to more than " + std::to_string(kMaxXlsxXml >> 20) + " MiB of XML (at " + name +
               "): a keys file is smaller");
  }
  budget -= static_cast<size_t>(st.size);
  zip_file_t* f = zip_fopen(z, name.c_str(), 0);
  if (f == nullptr) return Bad("cannot open " + name + ": " + zip_strerror(z));
  std::string out(static_cast<size_t>(st.size), '\0');
  zip_int64_t got = out.empty() ? 0 : zip_fread(f, out.data(), out.size());
  zip_fclose(f);
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) return Bad("cannot read " + name);
  return std::optional<std::string>(std::move(out));
}

Result<pugi::xml_document*> Parse(pugi::xml_document& doc, const std::string& text, const std::string& name) {
  pugi::xml_parse_result r = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) return Bad(name + " is not XML (" + r.description() + ")");
  return &doc;
}

// Element names without their namespace prefix ("x:row" → "row").
std::string_view Local(const char* name) {
  std::string_view n(name);
  size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node Child(pugi::xml_node n, std::string_view name) {
  for (pugi::xml_node c : n.children()) {
    if (c.type() == pugi::node_element && Local(c.name()) == name) return c;
  }
  return {};
}

template <typename F>
void Children(pugi::xml_node n, std::string_view name, F f) {
  for (pugi::xml_node c : n.children()) {
    if (c.type() == pugi::node_element && Local(c.name()) == name) f(c);
  }
}

// An attribute by local name ("r:id" matches "id" only when asked with the prefix-less
// name and no plain attribute of that name exists).
pugi::xml_attribute Attr(pugi::xml_node n, std::string_view name, bool any_prefix = false) {
  for (pugi::xml_attribute a : n.attributes()) {
    if (std::string_view(a.name()) == name) return a;
  }
  if (any_prefix) {
    for (pugi::xml_attribute a : n.attributes()) {
      if (Local(a.name()) == name) return a;
    }
  }
  return {};
}

// The text of a string item (<si> or <is>): its <t>, or its rich-text runs' <t>s;
// phonetic runs (<rPh>) are not part of the text.
std::string ItemText(pugi::xml_node si) {
  std::string out;
  for (pugi::xml_node c : si.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view n = Local(c.name());
    if (n == "t") {
      out += c.text().get();
    } else if (n == "r") {
      if (pugi::xml_node t = Child(c, "t")) out += t.text().get();
    }
  }
  return out;
}

// A number format shows a percentage when its code has a % outside quotes and escapes.
bool PercentCode(std::string_view code) {
  bool quoted = false;
  for (size_t i = 0; i < code.size(); ++i) {
    char ch = code[i];
    if (quoted) {
      if (ch == '"') quoted = false;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == '\\' || ch == '_' || ch == '*') {
      ++i;  // the next character is literal (or padding)
    } else if (ch == '%') {
      return true;
    }
  }
  return false;
}

// "AB12" → column index 27 (0-based), row 12. Either may be missing (-1 / 0).
void SplitRef(std::string_view ref, int& col, int& row) {
  col = -1;
  row = 0;
  size_t i = 0;
  int c = 0;
  while (i < ref.size() && std::isalpha(static_cast<unsigned char>(ref[i]))) {
    c = c * 26 + (std::toupper(static_cast<unsigned char>(ref[i])) - 'A' + 1);
    if (c > 16384) return;
    ++i;
  }
  if (i > 0) col = c - 1;
  int r = 0;
  auto [p, ec] = std::from_chars(ref.data() + i, ref.data() + ref.size(), r);
  if (ec == std::errc() && p == ref.data() + ref.size()) row = r;
}

std::optional<double> ToNumber(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The archive path a relationship target names, relative to the part in `base_dir`.
std::string ResolveTarget(const std::string& base_dir, std::string target) {
  if (!target.empty() && target[0] == '/') return target.substr(1);
  std::string path = base_dir;
  while (target.rfind("../", 0) == 0) {
    target = target.substr(3);
    if (!path.empty()) path.pop_back();
    size_t slash = path.rfind('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  }
  if (target.rfind("./", 0) == 0) target = target.substr(2);
  return path + target;
}

}  // namespace

bool LooksLikeZip(std::string_view bytes) { return bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4); }

std::string NumberText(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, p);
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

Result<std::vector<XlsxRow>> ReadXlsxFirstSheet(std::string_view bytes, size_t columns) {
  if (!LooksLikeZip(bytes)) return Bad("it is not a zip archive");
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  if (src == nullptr) {
    zip_error_fini(&err);
    return Bad("cannot read the archive");
  }
  Zip z(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) {
    std::string why = zip_error_strerror(&err);
    zip_source_free(src);
    zip_error_fini(&err);
    return Bad("broken zip archive (" + why + ")");
  }
  zip_error_fini(&err);

  size_t budget = kMaxXlsxXml;
  // The first sheet: workbook.xml's first <sheet>, through the workbook's relationships.
  std::string sheet_path = "xl/worksheets/sheet1.xml";
  std::string rid;
  {
    auto wb_text = Member(z.get(), "xl/workbook.xml", budget);
    if (!wb_text.ok()) return wb_text.status();
    if (!*wb_text) return Bad("no xl/workbook.xml");
    pugi::xml_document wb;  // freed before the sheet is read
    if (auto p = Parse(wb, **wb_text, "xl/workbook.xml"); !p.ok()) return p.status();
    pugi::xml_node first_sheet = Child(Child(Child(wb, "workbook"), "sheets"), "sheet");
    if (!first_sheet) return Bad("the workbook has no sheet");
    rid = Attr(first_sheet, "id", true).value();
  }
  if (!rid.empty()) {
    auto rels_text = Member(z.get(), "xl/_rels/workbook.xml.rels", budget);
    if (!rels_text.ok()) return rels_text.status();
    if (*rels_text) {
      pugi::xml_document rels;
      if (auto p = Parse(rels, **rels_text, "xl/_rels/workbook.xml.rels"); !p.ok()) return p.status();
      Children(Child(rels, "Relationships"), "Relationship", [&](pugi::xml_node r) {
        if (rid == r.attribute("Id").value()) sheet_path = ResolveTarget("xl/", r.attribute("Target").value());
      });
    }
  }

  // Shared strings.
  std::vector<std::string> shared;
  auto ss_text = Member(z.get(), "xl/sharedStrings.xml", budget);
  if (!ss_text.ok()) return ss_text.status();
  if (*ss_text) {
    pugi::xml_document ss;
    if (auto p = Parse(ss, **ss_text, "xl/sharedStrings.xml"); !p.ok()) return p.status();
    Children(Child(ss, "sst"), "si", [&](pugi::xml_node si) { shared.push_back(ItemText(si)); });
  }

  // Styles: which cell formats (cellXfs indexes) show a percentage.
  std::vector<bool> percent_xf;
  auto st_text = Member(z.get(), "xl/styles.xml", budget);
  if (!st_text.ok()) return st_text.status();
  if (*st_text) {
    pugi::xml_document st;
    if (auto p = Parse(st, **st_text, "xl/styles.xml"); !p.ok()) return p.status();
    pugi::xml_node sheet = Child(st, "styleSheet");
    std::map<int, bool> fmt_percent{{9, true}, {10, true}};  // built-in "0%" and "0.00%"
    Children(Child(sheet, "numFmts"), "numFmt", [&](pugi::xml_node f) {
      fmt_percent[f.attribute("numFmtId").as_int(-1)] = PercentCode(f.attribute("formatCode").value());
    });
    Children(Child(sheet, "cellXfs"), "xf", [&](pugi::xml_node xf) {
      auto it = fmt_percent.find(xf.attribute("numFmtId").as_int(0));
      percent_xf.push_back(it != fmt_percent.end() && it->second);
    });
  }

  auto sh_text = Member(z.get(), sheet_path, budget);
  if (!sh_text.ok()) return sh_text.status();
  if (!*sh_text) return Bad("no " + sheet_path);
  pugi::xml_document sh;
  if (auto p = Parse(sh, **sh_text, sheet_path); !p.ok()) return p.status();
  pugi::xml_node data = Child(Child(sh, "worksheet"), "sheetData");

  std::vector<XlsxRow> rows;
  int next_row = 1;
  size_t text = 0;  // the cells' text so far
  Status problem;
  Children(data, "row", [&](pugi::xml_node rn) {
    if (!problem.ok()) return;
    XlsxRow row;
    row.number = rn.attribute("r").as_int(next_row);
    if (row.number < next_row || row.number > 1048576) {
      problem = Bad("rows out of order");
      return;
    }
    next_row = row.number + 1;
    int next_col = 0;
    Children(rn, "c", [&](pugi::xml_node cn) {
      if (!problem.ok()) return;
      int col = next_col, r = 0;
      if (const char* ref = cn.attribute("r").value(); *ref) SplitRef(ref, col, r);
      if (col < 0 || col < next_col || col >= 16384) {
        problem = Bad("cells out of order in row " + std::to_string(row.number));
        return;
      }
      next_col = col + 1;
      if (static_cast<size_t>(col) >= columns) return;  // not read (nor its shared string copied)
      XlsxCell cell;
      std::string_view t = cn.attribute("t").value();
      pugi::xml_node v = Child(cn, "v");
      std::string vt = v ? v.text().get() : "";
      if (t == "s") {
        if (v) {
          char* end = nullptr;
          unsigned long i = std::strtoul(vt.c_str(), &end, 10);
          if (vt.empty() || *end != '\0' || i >= shared.size()) {
            problem = Bad("a cell names a shared string that does not exist");
            return;
          }
          cell.kind = XlsxCell::Kind::kText;
          cell.text = shared[i];
        }
      } else if (t == "inlineStr") {
        cell.kind = XlsxCell::Kind::kText;
        cell.text = ItemText(Child(cn, "is"));
      } else if (t == "str") {
        cell.kind = XlsxCell::Kind::kText;
        cell.text = vt;
      } else if (t == "b") {
        cell.kind = XlsxCell::Kind::kBool;
        cell.text = vt == "1" ? "TRUE" : "FALSE";
      } else if (t == "e") {
        cell.kind = XlsxCell::Kind::kError;
        cell.text = vt;
      } else if (v) {  // "n" (the default) or "d"
        if (t == "d") {
          cell.kind = XlsxCell::Kind::kText;
          cell.text = vt;
        } else if (auto num = ToNumber(vt)) {
          cell.kind = XlsxCell::Kind::kNumber;
          cell.number = *num;
          int s = cn.attribute("s").as_int(0);
          cell.percent = s >= 0 && static_cast<size_t>(s) < percent_xf.size() && percent_xf[s];
        } else {
          cell.kind = XlsxCell::Kind::kError;
          cell.text = vt;
        }
      }
      if (cell.kind == XlsxCell::Kind::kEmpty) return;
      text += cell.text.size();
      if (text > kMaxXlsxText) {
        problem = Bad("the sheet's cells hold more than " + std::to_string(kMaxXlsxText >> 20) +
                      " MiB of text: a keys file is smaller");
        return;
      }
      // The XML parser passes bytes through; a workbook's text must be UTF-8 as a CSV's is.
      if (!core::ValidUtf8(cell.text)) {
        problem = Bad("a cell's text is not UTF-8");
        return;
      }
      if (row.cells.size() <= static_cast<size_t>(col)) row.cells.resize(col + 1);
      row.cells[col] = std::move(cell);
    });
    if (!row.cells.empty()) rows.push_back(std::move(row));
  });
  if (!problem.ok()) return problem;
  return rows;
}

}  // namespace rota::io
