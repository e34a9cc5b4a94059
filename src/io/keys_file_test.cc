#include "io/keys_file.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "io/xlsx_read.h"

namespace rota::io {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Data(const std::string& name) { return Slurp(std::string(ROTA_TEST_DATA) + "/" + name); }

// A workbook written by libxlsxwriter: `fill` writes into its first sheet.
std::string Workbook(const std::function<void(lxw_workbook*, lxw_worksheet*)>& fill, bool constant_memory = false) {
  std::string path = (std::filesystem::temp_directory_path() / "rota-test-XXXXXX").string();
  int fd = mkstemp(path.data());
  close(fd);
  lxw_workbook_options opts{};
  opts.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE;
  lxw_workbook* wb = workbook_new_opt(path.c_str(), &opts);
  lxw_worksheet* ws = workbook_add_worksheet(wb, nullptr);
  fill(wb, ws);
  EXPECT_EQ(workbook_close(wb), LXW_NO_ERROR);
  std::string bytes = Slurp(path);
  std::remove(path.c_str());
  return bytes;
}

std::string Rows(const KeysFile& f) {
  std::string out;
  for (const KeyRow& r : f.rows) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", r.percent);
    out += std::to_string(r.row) + ":" + r.value + "|" + r.user + "|" + buf + (r.ok ? "" : "!") + "\n";
  }
  return out;
}

std::string ProblemsText(const KeysFile& f) {
  std::string out;
  for (const Problem& p : f.problems) out += p.path + ": " + p.message + "\n";
  return out;
}

TEST(KeysFilePercent, ParsesTheWaysPeopleWriteThem) {
  EXPECT_EQ(ParsePercentText("50"), 50);
  EXPECT_EQ(ParsePercentText(" 50 "), 50);
  EXPECT_EQ(ParsePercentText("50%"), 50);
  EXPECT_EQ(ParsePercentText("50 %"), 50);
  EXPECT_EQ(ParsePercentText("50,5"), 50.5);
  EXPECT_EQ(ParsePercentText("50.5%"), 50.5);
  EXPECT_EQ(ParsePercentText("0.5"), 0.5);  // text is the percentage itself
  EXPECT_FALSE(ParsePercentText(""));
  EXPECT_FALSE(ParsePercentText("%"));
  EXPECT_FALSE(ParsePercentText("fifty"));
  EXPECT_FALSE(ParsePercentText("1,000.5"));
  EXPECT_FALSE(ParsePercentText("1,2,3"));
  EXPECT_FALSE(ParsePercentText("5e1"));
}

TEST(KeysFileCsv, ReadsRowsWithAndWithoutHeader) {
  auto f = ReadKeysCsv("value,user_id,percent\nAntwerp,u-1,50\nAntwerp,u-2,50%\r\nBrussels,u-1,\"100\"\n", true);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Rows(*f), "2:Antwerp|u-1|50\n3:Antwerp|u-2|50\n4:Brussels|u-1|100\n");
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);

  auto g = ReadKeysCsv("Antwerp,u-1,50\nAntwerp,u-2,50", false);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(Rows(*g), "1:Antwerp|u-1|50\n2:Antwerp|u-2|50\n");
}

TEST(KeysFileCsv, SemicolonsBomQuotesAndDecimalCommas) {
  auto f = ReadKeysCsv("\xEF\xBB\xBFvalue;user;percent\r\n\"Li\xC3\xA8ge; centre\";u-1;\"50,5\"\r\n"
                       "\"say \"\"hi\"\"\nthere\";u-2;49,5%\r\n",
                       true);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Rows(*f), "2:Li\xC3\xA8ge; centre|u-1|50.5\n3:say \"hi\"\nthere|u-2|49.5\n");
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
}

// Excel in Poland, Italy or Czechia: `;` between columns and a decimal comma, from the
// first row on, with or without a header that holds a comma.
TEST(KeysFileCsv, SemicolonsAreFoundWhenTheFirstRowHasADecimalComma) {
  auto f = ReadKeysCsv("Kent;u-1;50,5\r\nKent;u-2;49,5\r\n", false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Rows(*f), "1:Kent|u-1|50.5\n2:Kent|u-2|49.5\n");
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
  f = ReadKeysCsv("\"Krak\xC3\xB3w, centrum\";u-1;33,33\nKrak\xC3\xB3w, centrum;u-2;66,67\n", false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "1:Krak\xC3\xB3w, centrum|u-1|33.33\n2:Krak\xC3\xB3w, centrum|u-2|66.67\n");
  f = ReadKeysCsv("Hodnota, kraj;U\xC5\xBEivatel;Procento\nPlze\xC5\x88;u-1;100\n", true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "2:Plze\xC5\x88|u-1|100\n");
  // Both give three columns: the one whose column C is a percentage.
  f = ReadKeysCsv("Krak\xC3\xB3w, centrum;u-1;33,33\nKrak\xC3\xB3w, centrum;u-2;66,67\n", false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "1:Krak\xC3\xB3w, centrum|u-1|33.33\n2:Krak\xC3\xB3w, centrum|u-2|66.67\n");
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
  // A header that fits both: the row after it decides.
  f = ReadKeysCsv("Warto\xC5\x9B\xC4\x87, region;U\xC5\xBCytkownik, id;Procent\nKent;u-1;100\n", true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "2:Kent|u-1|100\n");
  // Commas with a `;` in a value stay commas.
  f = ReadKeysCsv("A;B,u-1,50\nA;B,u-2,50\n", false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "1:A;B|u-1|50\n2:A;B|u-2|50\n");
  f = ReadKeysCsv("\n\nKent,u-1,\"50,5\"\n", false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "3:Kent|u-1|50.5\n");
}

TEST(KeysFileCsv, BlankRowsAreSkippedButKeepTheirNumbers) {
  auto f = ReadKeysCsv("\nA,u-1,100\n,,\n\nB,u-2,100\n", false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Rows(*f), "2:A|u-1|100\n5:B|u-2|100\n");
}

TEST(KeysFileCsv, ListsEveryRowsProblem) {
  auto f = ReadKeysCsv("value,user,percent\n"
                       ",u-1,50\n"           // 2: empty value
                       "A,,50\n"             // 3: no user
                       "A,u-2\n"             // 4: missing column
                       "A,u-3,lots\n"        // 5: bad percent
                       "B,u-1,\n"            // 6: missing percent
                       "C,u-1,100\n"         // 7: fine
                       "K\x01nt,u-1,100\n",  // 8: a control character
                       true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(ProblemsText(*f),
            "row 2: empty value (column A)\n"
            "row 3: missing user id (column B)\n"
            "row 4: missing columns: a row has the value, the user id and the percentage (columns A–C); this one "
            "has 2 columns\n"
            "row 5: \"lots\" is not a percentage (column C; write 50, 50% or 50,5)\n"
            "row 6: missing percentage (column C)\n"
            "row 8: the value (column A) holds a control character (NUL, say)\n");
  ASSERT_EQ(f->rows.size(), 7u);
  EXPECT_TRUE(f->rows[5].ok);
  EXPECT_FALSE(f->rows.back().ok);
  EXPECT_FALSE(f->rows[0].ok);
}

TEST(KeysFileCsv, AHeaderReadAsDataGetsAHint) {
  auto f = ReadKeysCsv("value,user,percent\nA,u-1,100\n", false);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->problems.size(), 1u);
  EXPECT_EQ(f->problems[0].path, "row 1");
  EXPECT_NE(f->problems[0].message.find("header"), std::string::npos);
}

TEST(KeysFileCsv, BrokenQuotesAndNonUtf8) {
  auto f = ReadKeysCsv("A,u-1,100\n\"B,u-2,100\n", false);
  ASSERT_TRUE(f.ok());
  EXPECT_NE(ProblemsText(*f).find("row 2: a quoted field is not closed"), std::string::npos) << ProblemsText(*f);

  auto latin1 = ReadKeysCsv("Li\xE8ge,u-1,100\n", false);
  ASSERT_FALSE(latin1.ok());
  EXPECT_EQ(latin1.status().code(), Code::kInvalid);
  EXPECT_EQ(latin1.status().details().at(0).path, "file");
}

TEST(KeysFileCsv, TemplateReadsBack) {
  for (bool header : {true, false}) {
    auto f = ReadKeysCsv(WriteKeysTemplateCsv(header), header);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
    EXPECT_EQ(f->rows.size(), 6u);
    EXPECT_EQ(f->rows.front().row, header ? 2 : 1);
  }
}

TEST(XlsxRead, SharedStringsNumbersAndPercentFormats) {
  std::string bytes = Workbook([](lxw_workbook* wb, lxw_worksheet* ws) {
    lxw_format* builtin9 = workbook_add_format(wb);
    format_set_num_format_index(builtin9, 9);  // 0%
    lxw_format* builtin10 = workbook_add_format(wb);
    format_set_num_format_index(builtin10, 10);  // 0.00%
    lxw_format* custom = workbook_add_format(wb);
    format_set_num_format(custom, "0.0\"%\"");  // a quoted % is text, not a percent format
    lxw_format* custom_pct = workbook_add_format(wb);
    format_set_num_format(custom_pct, "#,##0.0%");
    worksheet_write_string(ws, 0, 0, "value", nullptr);
    worksheet_write_string(ws, 0, 1, "user", nullptr);
    worksheet_write_string(ws, 0, 2, "percent", nullptr);
    worksheet_write_string(ws, 1, 0, "Antwerp", nullptr);
    worksheet_write_string(ws, 1, 1, "u-1", nullptr);
    worksheet_write_number(ws, 1, 2, 0.25, builtin9);
    worksheet_write_string(ws, 2, 0, "Antwerp", nullptr);
    worksheet_write_number(ws, 2, 1, 123, nullptr);  // a user id typed as a number
    worksheet_write_number(ws, 2, 2, 0.255, builtin10);
    worksheet_write_number(ws, 3, 0, 1000, nullptr);  // a value typed as a number
    worksheet_write_string(ws, 3, 1, "u-2", nullptr);
    worksheet_write_number(ws, 3, 2, 49.5, custom);
    worksheet_write_string(ws, 4, 0, "Ghent", nullptr);
    worksheet_write_string(ws, 4, 1, "u-3", nullptr);
    worksheet_write_number(ws, 4, 2, 0.335, custom_pct);
    worksheet_write_string(ws, 6, 0, "Liège", nullptr);  // after a blank row
    worksheet_write_string(ws, 6, 1, "u-3", nullptr);
    worksheet_write_string(ws, 6, 2, "50,5%", nullptr);
    worksheet_write_string(ws, 7, 0, "Mons", nullptr);
    worksheet_write_string(ws, 7, 1, "u-3", nullptr);
    worksheet_write_number(ws, 7, 2, 0.5, nullptr);  // no percent format: 0.5 %
  });
  auto f = ReadKeysXlsx(bytes, true);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
  EXPECT_EQ(Rows(*f),
            "2:Antwerp|u-1|25\n3:Antwerp|123|25.5\n4:1000|u-2|49.5\n5:Ghent|u-3|33.5\n7:Liège|u-3|50.5\n"
            "8:Mons|u-3|0.5\n");
}

TEST(XlsxRead, InlineStringsFromConstantMemoryMode) {
  std::string bytes = Workbook(
      [](lxw_workbook*, lxw_worksheet* ws) {
        worksheet_write_string(ws, 0, 0, "Antwerp", nullptr);
        worksheet_write_string(ws, 0, 1, "u-1", nullptr);
        worksheet_write_string(ws, 0, 2, "100%", nullptr);
      },
      true);
  ASSERT_NE(bytes.find("sheet1.xml"), std::string::npos);
  auto f = ReadKeysXlsx(bytes, false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Rows(*f), "1:Antwerp|u-1|100\n");
}

// A workbook's text that is not UTF-8 is refused as a CSV's is: nothing further stores it.
TEST(XlsxRead, TextThatIsNotUtf8IsRefused) {
  for (bool constant_memory : {false, true}) {
    std::string bytes = Workbook(
        [](lxw_workbook*, lxw_worksheet* ws) {
          worksheet_write_string(ws, 0, 0, "Krak\xC3", nullptr);
          worksheet_write_string(ws, 0, 1, "u-1", nullptr);
          worksheet_write_string(ws, 0, 2, "100%", nullptr);
        },
        constant_memory);
    auto f = ReadKeysXlsx(bytes, false);
    ASSERT_FALSE(f.ok()) << Rows(*f);
    EXPECT_NE(f.status().message().find("not UTF-8"), std::string::npos) << f.status().ToString();
  }
}

// A few kilobytes of workbook cannot become gigabytes: one shared string named by many
// cells counts once per cell, its XML together has a limit, and cells right of column C
// (which a keys file does not have) are not read at all.
TEST(XlsxRead, AWorkbookPastItsLimitsIsRefusedSmall) {
  const std::string big(30000, 'x');
  std::string shared = Workbook([&](lxw_workbook*, lxw_worksheet* ws) {
    for (int r = 0; r < 600; ++r) worksheet_write_string(ws, r, 0, big.c_str(), nullptr);  // one shared string
  });
  ASSERT_LT(shared.size(), 100'000u);
  auto f = ReadKeysXlsx(shared, false);
  ASSERT_FALSE(f.ok()) << Rows(*f);
  EXPECT_NE(f.status().message().find("MiB of text"), std::string::npos) << f.status().ToString();

  std::string inline_xml = Workbook(
      [&](lxw_workbook*, lxw_worksheet* ws) {
        for (int r = 0; r < 600; ++r) worksheet_write_string(ws, r, 0, big.c_str(), nullptr);
      },
      true);  // inline strings: the sheet's XML itself is over the limit
  f = ReadKeysXlsx(inline_xml, false);
  ASSERT_FALSE(f.ok()) << Rows(*f);
  EXPECT_NE(f.status().message().find("unpacks to more than"), std::string::npos) << f.status().ToString();

  std::string wide = Workbook([&](lxw_workbook*, lxw_worksheet* ws) {
    worksheet_write_string(ws, 0, 0, "Antwerp", nullptr);
    worksheet_write_string(ws, 0, 1, "u-1", nullptr);
    worksheet_write_string(ws, 0, 2, "100%", nullptr);
    for (int r = 0; r < 600; ++r) worksheet_write_string(ws, r, 16000, big.c_str(), nullptr);  // column WQK
  });
  f = ReadKeysXlsx(wide, false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Rows(*f), "1:Antwerp|u-1|100\n");
}

TEST(XlsxRead, RowProblemsInAWorkbook) {
  std::string bytes = Workbook([](lxw_workbook*, lxw_worksheet* ws) {
    worksheet_write_string(ws, 0, 1, "u-1", nullptr);   // no value
    worksheet_write_number(ws, 0, 2, 100, nullptr);
    worksheet_write_string(ws, 1, 0, "A", nullptr);     // no user, no percent
    worksheet_write_string(ws, 2, 0, "B", nullptr);
    worksheet_write_string(ws, 2, 1, "u-1", nullptr);
    worksheet_write_boolean(ws, 2, 2, 1, nullptr);      // TRUE is no percentage
  });
  auto f = ReadKeysXlsx(bytes, false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(ProblemsText(*f),
            "row 1: empty value (column A)\n"
            "row 2: missing user id (column B)\n"
            "row 2: missing percentage (column C)\n"
            "row 3: \"TRUE\" is not a percentage (column C; write 50, 50% or 50,5)\n");
}

TEST(XlsxRead, LibreOfficeWithHeader) {
  auto f = ReadKeysXlsx(Data("keys_header_libreoffice.xlsx"), true);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
  EXPECT_EQ(Rows(*f),
            "2:Antwerp|u-1|50\n3:Antwerp|u-2|50\n4:Liège|u-1|34\n5:Liège|u-2|33\n6:Liège|u-3|33\n7:1000|u-3|100\n");
}

TEST(XlsxRead, LibreOfficePercentFormattedCells) {
  auto f = ReadKeysXlsx(Data("keys_percent_libreoffice.xlsx"), false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
  EXPECT_EQ(Rows(*f),
            "1:Antwerp|u-1|50\n2:Antwerp|u-2|50\n3:Brussels|u-1|33.33\n4:Brussels|u-2|33.33\n5:Brussels|u-3|33.34\n");
}

TEST(XlsxRead, CorruptAndNonWorkbookFilesAreRejected) {
  for (const std::string& bytes : {Data("keys_corrupt.xlsx"), std::string("PK\x03\x04garbage", 11),
                                   std::string("not a zip"), std::string()}) {
    auto f = ReadKeysXlsx(bytes, false);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), Code::kInvalid);
    ASSERT_EQ(f.status().details().size(), 1u);
    EXPECT_EQ(f.status().details()[0].path, "file");
  }
  EXPECT_TRUE(LooksLikeZip(Data("keys_corrupt.xlsx")));
}

TEST(XlsxRead, TemplateReadsBack) {
  for (bool header : {true, false}) {
    auto bytes = WriteKeysTemplateXlsx(header);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_TRUE(LooksLikeZip(*bytes));
    auto f = ReadKeysXlsx(*bytes, header);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE(f->problems.empty()) << ProblemsText(*f);
    ASSERT_EQ(f->rows.size(), 6u);
    EXPECT_EQ(f->rows[2].value, "Brussels");
    EXPECT_EQ(f->rows[2].percent, 34);
    EXPECT_EQ(Rows(*f), Rows(*ReadKeysCsv(WriteKeysTemplateCsv(header), header)));
  }
}

TEST(XlsxRead, NumberText) {
  EXPECT_EQ(NumberText(50), "50");
  EXPECT_EQ(NumberText(0.5), "0.5");
  EXPECT_EQ(NumberText(-3), "-3");
  EXPECT_EQ(NumberText(33.33), "33.33");
}

}  // namespace
}  // namespace rota::io
