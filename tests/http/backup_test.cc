// `rota backup --db PATH FILE` (issue 7, operations): a copy taken while the server
// decides is consistent (it opens with `rota serve`, its history is a prefix of the
// live one, and its pool pointer follows its own last decision), and every wrong use
// (no database, an existing or unwritable target, a PostgreSQL URL) is a clear error
// with exit code 2.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace rota::testing {
namespace {

const std::vector<std::string> kTeam = {"a", "b", "c"};

Json TeamConfig() {
  return {
      {"users", Json::array({{{"id", "a"}, {"name", "A"}}, {{"id", "b"}, {"name", "B"}}, {{"id", "c"}, {"name", "C"}}})},
      {"pools", Json::array({{{"id", "team"}, {"name", "Team"}, {"object_type", "lead"}, {"members", kTeam}}})},
      {"rules", Json::array({{{"id", "r-leads"},
                              {"name", "Leads"},
                              {"object_type", "lead"},
                              {"events", {"created"}},
                              {"conditions", {{"all", Json::array({{{"field", "source"}, {"op", "is_not_empty"}}})}}},
                              {"assign", {{"type", "pool"}, {"pool", "team"}}}}})},
  };
}

Json Lead(int i) {
  return {{"object_type", "lead"},
          {"event", "created"},
          {"record", {{"id", "L-" + std::to_string(i)}, {"properties", {{"source", "web"}}}}}};
}

// Decision ids, oldest first.
std::vector<std::string> History(const RotaServer& server, const std::string& key) {
  std::vector<std::string> out;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    Reply r = server.Call("GET", "/v1/history?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor), key);
    EXPECT_EQ(r.status, 200) << r.raw;
    if (r.status != 200) break;
    for (const Json& item : r.body["items"]) out.insert(out.begin(), item["decision_id"].get<std::string>());
    if (!r.body["next_cursor"].is_string() || r.body["items"].empty()) break;
    cursor = r.body["next_cursor"].get<std::string>();
  }
  return out;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Backup, CopiesALiveDatabaseConsistently) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  RotaServer server(db, {}, {"--quiet"});
  const std::string key = server.admin_key();
  ASSERT_FALSE(key.empty());
  ASSERT_EQ(server.Call("PUT", "/v1/config", key, TeamConfig()).status, 200);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(server.Call("POST", "/v1/assign", key, Lead(i)).status, 200);

  // Decisions keep coming while three backups are taken.
  std::atomic<bool> stop{false};
  std::atomic<int> acked{50}, failed{0};
  std::thread writer([&] {
    auto client = server.Client();
    httplib::Headers h = {{"Authorization", "Bearer " + key}};
    for (int i = 50; !stop; ++i) {
      auto r = client->Post("/v1/assign", h, Lead(i).dump(), "application/json");
      if (r && r->status == 200) {
        ++acked;
      } else {
        ++failed;
      }
    }
  });
  std::vector<std::string> backups;
  std::vector<int> acked_before;
  for (int n = 0; n < 3; ++n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const std::string file = dir.path() + "/backup-" + std::to_string(n) + ".db";
    acked_before.push_back(acked);
    auto [code, out] = RunRota({"backup", "--db", db, file});
    EXPECT_EQ(code, 0) << out;
    EXPECT_TRUE(Contains(out, "backed up")) << out;
    backups.push_back(file);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  writer.join();
  EXPECT_EQ(failed, 0);
  const std::vector<std::string> live = History(server, key);
  ASSERT_EQ(live.size(), static_cast<size_t>(acked.load()));
  server.Stop();

  size_t previous = 0;
  for (size_t n = 0; n < backups.size(); ++n) {
    EXPECT_FALSE(std::filesystem::exists(backups[n] + "-wal")) << "the backup is one file";
    RotaServer copy(backups[n], {}, {"--quiet"});
    EXPECT_TRUE(copy.admin_key().empty()) << "the backup has its workspace and keys";
    const std::vector<std::string> got = History(copy, key);  // the live key works on the copy
    // Everything acknowledged before the backup began, and a prefix of the live history.
    EXPECT_GE(got.size(), static_cast<size_t>(acked_before[n])) << "backup " << n;
    EXPECT_GE(got.size(), previous);
    ASSERT_LE(got.size(), live.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), live.begin())) << "backup " << n << " is not a prefix of the history";
    // The pool pointer follows the copy's own last decision: nothing half-copied.
    Reply pool = copy.Call("GET", "/v1/pools/team", key);
    ASSERT_EQ(pool.status, 200) << pool.raw;
    EXPECT_EQ(pool.body["next"], kTeam[got.size() % kTeam.size()]) << "backup " << n;
    previous = got.size();
    std::cout << "[backup] copy " << n << ": " << got.size() << " decisions (" << acked_before[n]
              << " acknowledged when it began, " << live.size() << " in the end)" << std::endl;
  }
}

TEST(Backup, WrongUsesAreClearErrors) {
  TempDir dir;
  const std::string db = dir.path() + "/rota.db";
  {
    RotaServer server(db, {}, {"--quiet"});
    ASSERT_FALSE(server.admin_key().empty());
  }
  const std::string target = dir.path() + "/copy.db";

  auto [missing_code, missing] = RunRota({"backup", "--db", dir.path() + "/nope.db", target});
  EXPECT_EQ(missing_code, 2) << missing;
  EXPECT_TRUE(Contains(missing, "no database at")) << missing;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/nope.db")) << "a missing database must not be created";

  auto [unwritable_code, unwritable] = RunRota({"backup", "--db", db, dir.path() + "/no/such/dir/copy.db"});
  EXPECT_EQ(unwritable_code, 2) << unwritable;
  EXPECT_TRUE(Contains(unwritable, "cannot write")) << unwritable;

  auto [pg_code, pg] = RunRota({"backup", "--db", "postgresql://rota@127.0.0.1:1/rota", target});
  EXPECT_EQ(pg_code, 2) << pg;
  EXPECT_TRUE(Contains(pg, "pg_dump")) << pg;

  const std::string other = dir.path() + "/other.txt";
  std::ofstream(other) << "not a database";
  auto [other_code, other_out] = RunRota({"backup", "--db", other, target});
  EXPECT_EQ(other_code, 2) << other_out;
  EXPECT_TRUE(Contains(other_out, "not a rota database") || Contains(other_out, "cannot open")) << other_out;

  auto [ok_code, ok] = RunRota({"backup", "--db", db, target});
  ASSERT_EQ(ok_code, 0) << ok;
  auto [exists_code, exists] = RunRota({"backup", "--db", db, target});
  EXPECT_EQ(exists_code, 2) << exists;
  EXPECT_TRUE(Contains(exists, "exists")) << exists;
  auto [force_code, forced] = RunRota({"backup", "--db", db, target, "--force"});
  EXPECT_EQ(force_code, 0) << forced;
  auto [self_code, self] = RunRota({"backup", "--db", db, db, "--force"});
  EXPECT_EQ(self_code, 2) << self;
  EXPECT_TRUE(Contains(self, "is the database being backed up")) << self;

  // What a killed backup left is tidied by the next one into the same FILE; another
  // process's partial file is left alone.
  const std::string stale = target + ".partial-999999999";
  std::ofstream(stale) << "half";
  std::ofstream(stale + "-journal") << "half";
  const std::string running = target + ".partial-1";  // init never ends
  std::ofstream(running) << "half";
  auto [tidy_code, tidy] = RunRota({"backup", "--db", db, target, "--force"});
  EXPECT_EQ(tidy_code, 0) << tidy;
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_FALSE(std::filesystem::exists(stale + "-journal"));
  EXPECT_TRUE(std::filesystem::exists(running));

  // A database a server has open is not replaced, not even with --force: the server would
  // go on with the file it opened (or the database would be corrupted).
  {
    RotaServer live(db, {}, {"--quiet"});
    auto [busy_code, busy] = RunRota({"backup", "--db", target, db, "--force"});
    EXPECT_EQ(busy_code, 2) << busy;
    EXPECT_TRUE(Contains(busy, "in use")) << busy;
    EXPECT_EQ(live.Call("GET", "/healthz", "").status, 200);
  }
  // Stopped (closed): the restore goes ahead.
  auto [restore_code, restored] = RunRota({"backup", "--db", target, db, "--force"});
  EXPECT_EQ(restore_code, 0) << restored;

  auto [help_code, help] = RunRota({"--help"});
  EXPECT_EQ(help_code, 0);
  EXPECT_TRUE(Contains(help, "backup")) << help;
}

}  // namespace
}  // namespace rota::testing
