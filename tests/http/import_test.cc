// The distribution keys import over HTTP and from the shell (SPEC §8, API.md):
// POST /v1/distributions/{id}/import with a CSV or XLSX body, its templates, and
// `rota distributions import`.
#include <gtest/gtest.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "api_util.h"

namespace rota::testing {
namespace {

const char* kCsv = "text/csv";
const char* kXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Data(const std::string& name) { return Slurp(std::string(ROTA_TEST_DATA) + "/" + name); }

std::string Workbook(const std::function<void(lxw_workbook*, lxw_worksheet*)>& fill) {
  std::string path = (std::filesystem::temp_directory_path() / "rota-import-XXXXXX").string();
  int fd = mkstemp(path.data());
  close(fd);
  lxw_workbook* wb = workbook_new(path.c_str());
  fill(wb, workbook_add_worksheet(wb, nullptr));
  EXPECT_EQ(workbook_close(wb), LXW_NO_ERROR);
  std::string bytes = Slurp(path);
  std::remove(path.c_str());
  return bytes;
}

Reply PostFile(const RotaServer& s, const std::string& key, const std::string& path, const std::string& body,
               const std::string& content_type) {
  auto c = s.Client();
  httplib::Headers h{{"Authorization", "Bearer " + key}};
  auto r = c->Post(path, h, body, content_type.c_str());
  Reply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.raw = r->body;
  reply.headers = r->headers;
  reply.body = Json::parse(r->body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

// Users u-1…u-3, distribution "d" on deals' "city", a rule sending created deals to it.
void Seed(const As& a) {
  SeedUsers(a, {"u-1", "u-2", "u-3"});
  ASSERT_EQ(a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "city"}}).status, 201);
  ASSERT_EQ(a.Post("/v1/rules", Rule("r-d", {{"type", "distribution"}, {"distribution", "d"}})).status, 201);
}

// The keys of "d" as "value: user percent assigned, …; value: …".
std::string Keys(const As& a) {
  Reply r = a.Get("/v1/distributions/d");
  EXPECT_EQ(r.status, 200) << r.raw;
  std::string out;
  for (const Json& k : r.body["keys"]) {
    if (!out.empty()) out += "; ";
    out += k["value"].get<std::string>() + ":";
    for (const Json& o : k["owners"]) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", o["percent"].get<double>());
      out += " " + o["user"].get<std::string>() + " " + buf + " " + std::to_string(o.value("assigned", 0));
    }
  }
  return out;
}

// "row: message" of each detail, checking each has a row number and the path "row N".
std::vector<std::string> RowErrors(const Reply& r) {
  std::vector<std::string> out;
  for (const Json& d : r.body["error"]["details"]) {
    EXPECT_TRUE(d.contains("row") && d["row"].is_number_integer()) << d.dump();
    if (!d.contains("row")) continue;
    EXPECT_EQ(d["path"], "row " + std::to_string(d["row"].get<int>()));
    out.push_back(std::to_string(d["row"].get<int>()) + ": " + d["message"].get<std::string>());
  }
  return out;
}

Json Deal(const std::string& id, const std::string& city) { return AssignBody(id, "created", {{"city", city}}); }

TEST(ImportApi, GoodCsvReplacesTheKeysItNames) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  ASSERT_EQ(a.Put("/v1/distributions/d/keys/Ghent", {{"owners", {{{"user", "u-3"}, {"percent", 100}}}}}).status, 200);
  Reply r = PostFile(s, a.key, "/v1/distributions/d/import?header=true",
                     "value,user,percent\nAntwerp,u-1,50\nAntwerp,u-2,50%\nBrussels,u-1,\"33,5\"\nBrussels,u-2,66.5\n",
                     kCsv);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, Json({{"imported", 4}, {"values", 2}}));
  EXPECT_EQ(Keys(a), "Ghent: u-3 100 0; Antwerp: u-1 50 0 u-2 50 0; Brussels: u-1 33.5 0 u-2 66.5 0");

  // Semicolons, no header; a value named in another case replaces its key.
  r = PostFile(s, a.key, "/v1/distributions/d/import?header=false", "GHENT;u-1;100\r\n", "text/csv; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["imported"], 1);
  // (the key takes the file's spelling, as PUT …/keys/{value} does)
  EXPECT_EQ(Keys(a), "GHENT: u-1 100 0; Antwerp: u-1 50 0 u-2 50 0; Brussels: u-1 33.5 0 u-2 66.5 0");
  EXPECT_EQ(AssignOwner(a, "x"), "");  // no city: no key, no default owner
  Reply d = a.Post("/v1/assign", Deal("g1", "ghent"));
  EXPECT_EQ(d.body["owner"], "u-1") << d.raw;
}

TEST(ImportApi, GoodXlsxBuiltWithLibxlsxwriter) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  std::string book = Workbook([](lxw_workbook* wb, lxw_worksheet* ws) {
    lxw_format* pct = workbook_add_format(wb);
    format_set_num_format_index(pct, 9);
    worksheet_write_string(ws, 0, 0, "Antwerp", nullptr);
    worksheet_write_string(ws, 0, 1, "u-1", nullptr);
    worksheet_write_number(ws, 0, 2, 0.25, pct);
    worksheet_write_string(ws, 1, 0, "Antwerp", nullptr);
    worksheet_write_string(ws, 1, 1, "u-2", nullptr);
    worksheet_write_number(ws, 1, 2, 75, nullptr);
    worksheet_write_number(ws, 2, 0, 1000, nullptr);
    worksheet_write_string(ws, 2, 1, "u-3", nullptr);
    worksheet_write_string(ws, 2, 2, "100%", nullptr);
  });
  Reply r = PostFile(s, a.key, "/v1/distributions/d/import", book, kXlsx);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, Json({{"imported", 3}, {"values", 2}}));
  EXPECT_EQ(Keys(a), "Antwerp: u-1 25 0 u-2 75 0; 1000: u-3 100 0");
  // Sent as application/octet-stream, the zip signature says it is a workbook.
  r = PostFile(s, a.key, "/v1/distributions/d/import?header=false", book, "application/octet-stream");
  EXPECT_EQ(r.status, 200) << r.raw;
}

TEST(ImportApi, FilesSavedByLibreOffice) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  Reply r = PostFile(s, a.key, "/v1/distributions/d/import?header=true", Data("keys_header_libreoffice.xlsx"), kXlsx);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, Json({{"imported", 6}, {"values", 3}}));
  EXPECT_EQ(Keys(a), "Antwerp: u-1 50 0 u-2 50 0; Liège: u-1 34 0 u-2 33 0 u-3 33 0; 1000: u-3 100 0");

  r = PostFile(s, a.key, "/v1/distributions/d/import?header=false", Data("keys_percent_libreoffice.xlsx"), kXlsx);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, Json({{"imported", 5}, {"values", 2}}));
  EXPECT_EQ(Keys(a),
            "Antwerp: u-1 50 0 u-2 50 0; Liège: u-1 34 0 u-2 33 0 u-3 33 0; 1000: u-3 100 0; "
            "Brussels: u-1 33.33 0 u-2 33.33 0 u-3 33.34 0");
}

TEST(ImportApi, CorruptFileChangesNothing) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  ASSERT_EQ(a.Put("/v1/distributions/d/keys/Ghent", {{"owners", {{{"user", "u-3"}, {"percent", 100}}}}}).status, 200);
  const std::string before = Keys(a);
  for (const std::string& body : {Data("keys_corrupt.xlsx"), std::string("PK\x03\x04 nothing else", 17)}) {
    Reply r = PostFile(s, a.key, "/v1/distributions/d/import", body, kXlsx);
    EXPECT_TRUE(IsError(r, 422)) << r.raw;
    EXPECT_TRUE(HasDetail(r, "file"));
  }
  // Not UTF-8 (a "CSV" saved as Windows-1252), and a file with nothing in it.
  EXPECT_TRUE(IsError(PostFile(s, a.key, "/v1/distributions/d/import", "Li\xE8ge,u-1,100\n", kCsv), 422));
  EXPECT_TRUE(IsError(PostFile(s, a.key, "/v1/distributions/d/import?header=true", "value,user,percent\n", kCsv), 422));
  EXPECT_TRUE(IsError(PostFile(s, a.key, "/v1/distributions/d/import", "", kCsv), 422));
  EXPECT_EQ(Keys(a), before);
}

TEST(ImportApi, BadFileListsEveryRowAndChangesNothing) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  ASSERT_EQ(a.Put("/v1/distributions/d/keys/Antwerp", {{"owners", {{{"user", "u-3"}, {"percent", 100}}}}}).status,
            200);
  const std::string before = Keys(a);
  Reply r = PostFile(s, a.key, "/v1/distributions/d/import?header=true",
                     "value,user,percent\n"
                     "Antwerp,u-1,50\n"     // 2
                     "Antwerp,u-9,50\n"     // 3: unknown user
                     "Brussels,u-1,60\n"    // 4: Brussels adds up to 90
                     "Brussels,u-2,30\n"    // 5
                     ",u-1,100\n"           // 6: empty value
                     "Ghent,u-1,half\n"     // 7: bad percent
                     "Ghent,u-2,50\n"       // 8: (Ghent's sum is not known)
                     "Liège,u-1\n"          // 9: missing column
                     "Mons,u-1,0.5\n"       // 10: 0.5 % — Mons adds up to 0.5
                     "Namur,u-1,50\n"       // 11
                     "Namur,u-1,50\n"       // 12: twice in one key
                     "Ostend,u-77,abc\n"    // 13: bad percent and unknown user
                     ",u-88,50\n",          // 14: empty value and unknown user
                     kCsv);
  ASSERT_TRUE(IsError(r, 422, "validation_failed")) << r.raw;
  std::vector<std::string> rows = RowErrors(r);
  std::vector<std::string> expected = {
      "3: unknown user \"u-9\"",
      "4: percentages add up to 90, not 100 for the value \"Brussels\" (rows 4, 5)",
      "5: percentages add up to 90, not 100 for the value \"Brussels\" (rows 4, 5)",
      "6: empty value (column A)",
      "7: \"half\" is not a percentage (column C; write 50, 50% or 50,5)",
      "9: missing columns: a row has the value, the user id and the percentage (columns A–C); this one has 2 columns",
      "10: percentages add up to 0.5, not 100 for the value \"Mons\" (row 10)",
      "12: user \"u-1\" is in the key twice",
      "13: \"abc\" is not a percentage (column C; write 50, 50% or 50,5)",
      "13: unknown user \"u-77\"",
      "14: empty value (column A)",
      "14: unknown user \"u-88\"",
  };
  EXPECT_EQ(rows, expected) << r.raw;
  EXPECT_EQ(Keys(a), before);

  // Only core problems (no row problem of its own): still nothing stored.
  r = PostFile(s, a.key, "/v1/distributions/d/import", "Antwerp,u-1,40\nAntwerp,u-2,40\n", kCsv);
  ASSERT_TRUE(IsError(r, 422)) << r.raw;
  EXPECT_EQ(RowErrors(r), (std::vector<std::string>{"1: percentages add up to 80, not 100 for the value \"Antwerp\" "
                                                    "(rows 1, 2)",
                                                    "2: percentages add up to 80, not 100 for the value \"Antwerp\" "
                                                    "(rows 1, 2)"}));
  EXPECT_EQ(Keys(a), before);

  // A value on many rows: each row is listed, each naming the first ten of them and how many
  // more (in full, 5 000 rows of one value made a 145 MB answer).
  std::string many;
  for (int i = 0; i < 30; ++i) many += "Ghent,u-1,1\n";
  r = PostFile(s, a.key, "/v1/distributions/d/import", many, kCsv);
  ASSERT_TRUE(IsError(r, 422)) << r.raw;
  std::vector<std::string> errors = RowErrors(r);
  const std::string sum = " percentages add up to 30, not 100 for the value \"Ghent\" (rows 1, 2, 3, 4, 5, 6, 7, 8, 9, "
                          "10 and 20 more)";
  for (int row : {1, 30}) {
    EXPECT_NE(std::find(errors.begin(), errors.end(), std::to_string(row) + ":" + sum), errors.end()) << row << r.raw;
  }
  EXPECT_EQ(std::count_if(errors.begin(), errors.end(), [](const std::string& e) { return e.find("add up") != std::string::npos; }),
            30);
  // Text after a closing quote on every row: each row named once.
  std::string quoted;
  for (int i = 0; i < 2000; ++i) quoted += "\"Ghent\"x,u-1,100\n";
  r = PostFile(s, a.key, "/v1/distributions/d/import", quoted, kCsv);
  ASSERT_TRUE(IsError(r, 422)) << r.raw;
  errors = RowErrors(r);
  EXPECT_EQ(std::count_if(errors.begin(), errors.end(),
                          [](const std::string& e) { return e.find("text after a closing quote") != std::string::npos; }),
            2000)
      << r.raw.substr(0, 2000);
  EXPECT_EQ(Keys(a), before);
}

TEST(ImportApi, AnImportIsARedistribution) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  const std::string file = "Antwerp,u-1,50\nAntwerp,u-2,50\nBrussels,u-3,100\n";
  ASSERT_EQ(PostFile(s, a.key, "/v1/distributions/d/import", file, kCsv).status, 200);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(a.Post("/v1/assign", Deal("a" + std::to_string(i), "Antwerp")).status, 200);
  ASSERT_EQ(a.Post("/v1/assign", Deal("b", "Brussels")).status, 200);
  ASSERT_EQ(a.Post("/v1/assign", Deal("a-odd", "Antwerp")).status, 200);
  EXPECT_EQ(Keys(a), "Antwerp: u-1 50 3 u-2 50 2; Brussels: u-3 100 1");
  // The same keys again, for Antwerp only: its counters start afresh, Brussels keeps its.
  ASSERT_EQ(PostFile(s, a.key, "/v1/distributions/d/import", "antwerp,u-1,50\nantwerp,u-2,50\n", kCsv).status, 200);
  EXPECT_EQ(Keys(a), "antwerp: u-1 50 0 u-2 50 0; Brussels: u-3 100 1");
  Reply d = a.Post("/v1/assign", Deal("after", "ANTWERP"));
  EXPECT_EQ(d.body["owner"], "u-1") << d.raw;  // credits reset too: the first owner wins again
}

TEST(ImportApi, TemplatesDownloadAndImportCleanly) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  std::string member = CliKey(s, "member", false);
  As m{s, member};
  Reply x = m.Get("/v1/distributions/d/import/template.xlsx");
  ASSERT_EQ(x.status, 200);
  EXPECT_EQ(x.headers.find("Content-Type")->second, kXlsx);
  EXPECT_EQ(x.raw.substr(0, 4), std::string("PK\x03\x04", 4));
  Reply c = m.Get("/v1/distributions/d/import/template.csv");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.raw.rfind("value,user_id,percent\r\n", 0), 0u) << c.raw;
  Reply bare = m.Get("/v1/distributions/d/import/template.csv?header=false");
  EXPECT_EQ(bare.raw.find("value"), std::string::npos);
  EXPECT_TRUE(IsError(m.Get("/v1/distributions/nope/import/template.csv"), 404));

  // A member may download them, not import.
  EXPECT_TRUE(IsError(PostFile(s, member, "/v1/distributions/d/import?header=true", c.raw, kCsv), 403));

  Reply r = PostFile(s, a.key, "/v1/distributions/d/import?header=true", x.raw, kXlsx);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, Json({{"imported", 6}, {"values", 3}}));
  const std::string from_xlsx = Keys(a);
  r = PostFile(s, a.key, "/v1/distributions/d/import?header=true", c.raw, kCsv);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(Keys(a), from_xlsx);
  EXPECT_EQ(from_xlsx, "Antwerp: u-1 50 0 u-2 50 0; Brussels: u-1 34 0 u-2 33 0 u-3 33 0; Ghent: u-3 100 0");
  EXPECT_EQ(PostFile(s, a.key, "/v1/distributions/d/import?header=false", bare.raw, kCsv).status, 200);
}

TEST(ImportApi, RequestErrors) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  EXPECT_TRUE(IsError(PostFile(s, a.key, "/v1/distributions/nope/import", "A,u-1,100\n", kCsv), 404));
  EXPECT_TRUE(IsError(PostFile(s, a.key, "/v1/distributions/d/import?header=maybe", "A,u-1,100\n", kCsv), 422));
  EXPECT_TRUE(IsError(a.Post("/v1/distributions/d/import", {{"rows", Json::array()}}), 400));
}

// The file is what counts, not the type it was sent as: a workbook by its zip signature
// (browsers send application/vnd.ms-excel, curl a form type), anything else as CSV; media
// types ignore case.
TEST(ImportApi, AFileIsReadWhateverTypeItWasSentAs) {
  RotaServer s;
  As a{s, s.admin_key()};
  Seed(a);
  const std::string book = Data("keys_percent_libreoffice.xlsx");
  for (const char* type : {"application/zip", "application/vnd.ms-excel", "application/x-www-form-urlencoded",
                           "APPLICATION/VND.OPENXMLFORMATS-OFFICEDOCUMENT.SPREADSHEETML.SHEET"}) {
    Reply r = PostFile(s, a.key, "/v1/distributions/d/import", book, type);
    EXPECT_EQ(r.status, 200) << type << ": " << r.raw;
  }
  for (const char* type : {"TEXT/CSV", "application/x-www-form-urlencoded", "text/plain"}) {
    Reply r = PostFile(s, a.key, "/v1/distributions/d/import", "Ghent,u-3,100\n", type);
    EXPECT_EQ(r.status, 200) << type << ": " << r.raw;
    EXPECT_EQ(r.body["imported"], 1) << type << ": " << r.raw;
  }
  Reply as_json = PostFile(s, a.key, "/v1/distributions/d/import", R"({"rows": []})", "Application/JSON");
  EXPECT_TRUE(IsError(as_json, 400)) << as_json.raw;
  EXPECT_NE(as_json.raw.find("send the file itself"), std::string::npos) << as_json.raw;
}

TEST(ImportCli, ImportsCsvAndXlsxFiles) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  {
    RotaServer s(db);
    As a{s, s.admin_key()};
    Seed(a);
  }
  const std::string csv = dir.path() + "/keys.csv";
  std::ofstream(csv) << "value;user;percent\nAntwerp;u-1;50%\nAntwerp;u-2;50,0\n";
  auto [code, out] = RunRota({"distributions", "import", "--db", db, "--distribution", "d", csv, "--header"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("imported 2 rows, 1 values"), std::string::npos) << out;

  // A workbook without the .xlsx extension: found by its zip signature.
  const std::string book = dir.path() + "/keys.bin";
  std::ofstream(book, std::ios::binary) << Data("keys_percent_libreoffice.xlsx");
  std::tie(code, out) = RunRota({"distributions", "import", "--db", db, "--distribution", "d", book});
  EXPECT_EQ(code, 0) << out;

  // `rota import` is the same command.
  std::ofstream(csv, std::ios::trunc) << "Antwerp,u-1,50\nAntwerp,u-2,50\n";
  std::tie(code, out) = RunRota({"import", "--db", db, "--distribution", "d", csv});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("imported 2 rows, 1 values"), std::string::npos) << out;

  const std::string bad = dir.path() + "/bad.csv";
  std::ofstream(bad) << "Ghent,u-9,100\nGhent,u-1,\n";
  std::tie(code, out) = RunRota({"distributions", "import", "--db", db, "--distribution", "d", bad});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("row 1: unknown user \"u-9\""), std::string::npos) << out;
  EXPECT_NE(out.find("row 2: missing percentage (column C)"), std::string::npos) << out;

  const std::string tpl = dir.path() + "/template.xlsx";
  std::tie(code, out) = RunRota({"distributions", "template", tpl});
  EXPECT_EQ(code, 0) << out;
  std::tie(code, out) = RunRota({"distributions", "import", "--db", db, "--distribution", "d", tpl, "--header"});
  EXPECT_EQ(code, 0) << out;

  RotaServer s(db);
  As a{s, CliKey(s, "admin", false)};
  EXPECT_EQ(Keys(a), "Antwerp: u-1 50 0 u-2 50 0; Brussels: u-1 34 0 u-2 33 0 u-3 33 0; Ghent: u-3 100 0");
}

}  // namespace
}  // namespace rota::testing
