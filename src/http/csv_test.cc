// History as CSV, RFC 4180: fields with commas, quotes or line breaks are quoted,
// quotes doubled, every line ends with CRLF.
#include "http/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rota::http {
namespace {

// An RFC 4180 reader: lines end with CRLF; quoted fields may hold anything.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text, std::string* error) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  auto fail = [&](const std::string& why) {
    *error = why + " at byte " + std::to_string(i);
    return rows;
  };
  while (i < text.size()) {
    if (text[i] == '"') {
      ++i;
      while (true) {
        if (i >= text.size()) return fail("unterminated quoted field");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += text[i++];
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\r') return fail("text after a closing quote");
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\r') {
        if (text[i] == '"' || text[i] == '\n') return fail("quote or bare LF in an unquoted field");
        field += text[i++];
      }
    }
    if (i >= text.size()) return fail("the last line does not end with CRLF");
    if (text[i] == ',') {
      row.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '\n') return fail("CR without LF");
    row.push_back(std::move(field));
    field.clear();
    rows.push_back(std::move(row));
    row.clear();
    i += 2;
  }
  return rows;
}

TEST(Csv, PlainFieldsStayAsTheyAre) {
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("dec_123"), "dec_123");
  EXPECT_EQ(CsvField("  spaced  "), "  spaced  ");
  EXPECT_EQ(CsvField("Kraków Plzeň"), "Kraków Plzeň");
  EXPECT_EQ(CsvField("it's; fine"), "it's; fine");
}

TEST(Csv, FieldsWithCommasQuotesOrLineBreaksAreQuoted) {
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField(","), "\",\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("\""), "\"\"\"\"");
  EXPECT_EQ(CsvField("\"\""), "\"\"\"\"\"\"");
  EXPECT_EQ(CsvField("one\ntwo"), "\"one\ntwo\"");
  EXPECT_EQ(CsvField("one\r\ntwo"), "\"one\r\ntwo\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
  EXPECT_EQ(CsvField("a,\"b\"\nc"), "\"a,\"\"b\"\"\nc\"");
}

// CSV injection: a record id a CRM user typed as "=HYPERLINK(…)" stays text in Excel.
TEST(Csv, FieldsAFormulaCouldStartWithGetAnApostrophe) {
  EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvField("+1"), "'+1");
  EXPECT_EQ(CsvField("-2"), "'-2");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tx"), "'\tx");
  EXPECT_EQ(CsvField("\rx"), "\"'\rx\"");
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField("'quoted"), "'quoted");
}

TEST(Csv, HistoryHasAHeaderAndCrlfLines) {
  EXPECT_EQ(HistoryCsv(io::Json{{"items", io::Json::array()}}),
            "decision_id,at,event,object_type,record_id,rule,strategy,outcome,owner,reason\r\n");
  const io::Json assigned = {{"decision_id", "dec_1"}, {"at", "2026-11-22T10:00:00Z"}, {"event", "created"},
                             {"object_type", "deal"},  {"record_id", "D-1"},          {"rule", "r-1"},
                             {"strategy", "pool"},     {"outcome", "assigned"},       {"owner", "u-2"},
                             {"reason", nullptr},      {"trace", io::Json::array()}};
  const io::Json unassigned = {{"decision_id", "dec_2"}, {"at", "1970-01-01T00:00:00Z"}, {"event", "updated"},
                               {"object_type", "lead"},  {"record_id", "L-1"},           {"rule", nullptr},
                               {"outcome", "unassigned"}, {"owner", nullptr},           {"reason", "no_rule_matched"}};
  EXPECT_EQ(HistoryCsv(io::Json{{"items", {assigned, unassigned}}, {"next_cursor", nullptr}}),
            "decision_id,at,event,object_type,record_id,rule,strategy,outcome,owner,reason\r\n"
            "dec_1,2026-11-22T10:00:00Z,created,deal,D-1,r-1,pool,assigned,u-2,\r\n"
            "dec_2,1970-01-01T00:00:00Z,updated,lead,L-1,,,unassigned,,no_rule_matched\r\n");
}

TEST(Csv, HistoryRoundTripsThroughAnRfc4180Reader) {
  const std::vector<std::string> expected = {"dec_x",        "2026-11-22T10:00:00Z", "created",    "deal",
                                             "ACME, \"Inc.\"\r\nsecond line", "rule,with,commas",
                                             "distribution", "default",              "\"quoted\"", "line\nbreak"};
  const char* columns[] = {"decision_id", "at",       "event",   "object_type", "record_id",
                           "rule",        "strategy", "outcome", "owner",       "reason"};
  io::Json d = io::Json::object();
  for (size_t i = 0; i < expected.size(); ++i) d[columns[i]] = expected[i];
  const std::string csv = HistoryCsv(io::Json{{"items", {d, d}}});
  std::string error;
  auto rows = ParseCsv(csv, &error);
  ASSERT_TRUE(error.empty()) << error << "\n" << csv;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].size(), expected.size());
  EXPECT_EQ(rows[1], expected);
  EXPECT_EQ(rows[2], expected);
}

}  // namespace
}  // namespace rota::http
