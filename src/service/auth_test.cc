#include "service/auth.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "service/test_store.h"
#include "store/store.h"

namespace rota::service {
namespace {

// The random part of an id: its last 12 hex digits.
std::string RandomPart(const std::string& id) { return id.substr(id.size() - 12); }

TEST(NewIdTest, IdsAreUniqueAndSortInTheOrderMadeAcrossThreads) {
  std::vector<std::vector<std::string>> made(4);
  std::vector<std::thread> threads;
  for (auto& ids : made) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 500; ++i) ids.push_back(NewId("dec_"));  // more than one draw of bytes
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> all, randoms;
  for (const auto& ids : made) {
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_EQ(ids[i].size(), 4u + 16 + 12) << ids[i];
      ASSERT_EQ(ids[i].find_first_not_of("0123456789abcdef", 4), std::string::npos) << ids[i];
      if (i > 0) {
        EXPECT_LT(ids[i - 1], ids[i]);
      }
      all.insert(ids[i]);
      randoms.insert(RandomPart(ids[i]));
    }
  }
  EXPECT_EQ(all.size(), 2000u);
  EXPECT_EQ(randoms.size(), 2000u);  // no random part handed out twice
}

TEST(NewIdTest, AForkedChildDoesNotRepeatItsParentsRandomParts) {
  (void)NewId("dec_");  // the parent has drawn bytes it has not handed out yet
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string random = RandomPart(NewId("dec_"));
    _exit(write(pipe_fds[1], random.data(), random.size()) == static_cast<ssize_t>(random.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  const std::string mine = RandomPart(NewId("dec_"));
  char buf[12];
  ASSERT_EQ(read(pipe_fds[0], buf, sizeof buf), static_cast<ssize_t>(sizeof buf));
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(std::string(buf, sizeof buf), mine);
}

// A SQLite store with workspace "w" and one integration key.
class KnownKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore("auth", &dir_, &store_));
    ASSERT_TRUE(store_->CreateWorkspace("w", "{}", 0).ok());
    auto k = CreateKey(*store_, "w", Role::kIntegration, false, "crm", 0);
    ASSERT_TRUE(k.ok()) << k.status().message();
    key_ = *k;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Status Confirm(const Principal& p) {
    auto tx = store_->BeginWrite("w");
    if (!tx.ok()) return tx.status();
    return ConfirmKey(**tx, p);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  NewKey key_;
};

TEST_F(KnownKeysTest, AKeySeenBeforeIsTakenFromMemoryAndConfirmedInTheTransaction) {
  KnownKeys known;
  auto first = known.Authenticate(*store_, key_.secret);
  ASSERT_TRUE(first.ok()) << first.status().message();
  // Read just now, and still to be confirmed: a revocation may commit before the decision.
  EXPECT_EQ(first->unconfirmed_key, key_.row.hash);
  EXPECT_EQ(known.size(), 1u);
  auto again = known.Authenticate(*store_, key_.secret);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unconfirmed_key, key_.row.hash);
  EXPECT_EQ(again->key_id, key_.row.id);
  EXPECT_EQ(again->workspace, "w");
  EXPECT_EQ(again->role, Role::kIntegration);
  EXPECT_TRUE(Confirm(*again).ok());
  EXPECT_TRUE(Confirm(*first).ok());
  Principal read = *first;
  read.unconfirmed_key.clear();  // Authenticate's: nothing to confirm
  EXPECT_TRUE(Confirm(read).ok());

  // Revoked: memory still answers, the transaction refuses with Authenticate's 401.
  ASSERT_TRUE(store_->RevokeKey(key_.row.id, "w", 5).ok());
  auto stale = known.Authenticate(*store_, key_.secret);
  ASSERT_TRUE(stale.ok());
  Status refused = Confirm(*stale);
  EXPECT_EQ(refused.code(), Code::kUnauthenticated);
  EXPECT_EQ(refused.message(), Authenticate(*store_, key_.secret).status().message());
}

TEST_F(KnownKeysTest, APrincipalThatIsNotTheKeysAsStoredIsRefused) {
  KnownKeys known;
  ASSERT_TRUE(known.Authenticate(*store_, key_.secret).ok());
  auto p = known.Authenticate(*store_, key_.secret);
  ASSERT_TRUE(p.ok());
  for (auto change : std::vector<void (*)(Principal&)>{
           [](Principal& q) { q.workspace = "other"; }, [](Principal& q) { q.role = Role::kAdmin; },
           [](Principal& q) { q.can_reassign = true; }, [](Principal& q) { q.key_id = "key_other"; },
           [](Principal& q) { q.unconfirmed_key = Sha256Hex("rota_not_a_key"); }}) {
    Principal q = *p;
    change(q);
    EXPECT_EQ(Confirm(q).code(), Code::kUnauthenticated);
  }
}

TEST_F(KnownKeysTest, UnknownKeysAreNotRememberedAndMemoryIsBounded) {
  KnownKeys known(2);
  EXPECT_EQ(known.Authenticate(*store_, "rota_unknown").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(known.Authenticate(*store_, "").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(known.size(), 0u);
  std::vector<std::string> secrets = {key_.secret};
  for (int i = 0; i < 2; ++i) {
    auto k = CreateKey(*store_, "w", Role::kAdmin, true, "more", 0);
    ASSERT_TRUE(k.ok());
    secrets.push_back(k->secret);
  }
  for (const std::string& secret : secrets) ASSERT_TRUE(known.Authenticate(*store_, secret).ok());
  EXPECT_LE(known.size(), 2u);
  const size_t before = known.size();
  known.Forget(Sha256Hex(secrets.back()));
  EXPECT_EQ(known.size(), before - 1);
  ASSERT_TRUE(known.Authenticate(*store_, secrets.back()).ok());  // read again, remembered again
  EXPECT_EQ(known.size(), before);
}

// A key that cannot be read (the database fails) is neither confirmed nor taken for a
// revoked one: the decision fails with the database's error, not a 401, and nothing about
// the key is remembered from a failed read.
TEST_F(KnownKeysTest, AKeyTheDatabaseCannotReadIsNeitherConfirmedNorRefusedAs401) {
  KnownKeys known;
  auto p = known.Authenticate(*store_, key_.secret);
  ASSERT_TRUE(p.ok());
  known.Forget(key_.row.hash);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "rota.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE api_keys RENAME TO api_keys_gone", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Status confirmed = Confirm(*p);
  EXPECT_FALSE(confirmed.ok());
  EXPECT_NE(confirmed.code(), Code::kUnauthenticated) << confirmed.ToString();
  auto again = known.Authenticate(*store_, key_.secret);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.status().code(), Code::kUnauthenticated) << again.status().ToString();
  EXPECT_EQ(known.size(), 0u);
}

}  // namespace
}  // namespace rota::service
