// Group commit on a real SQLite store: every caller is answered with its own results,
// in order; a caller with more work than one batch holds is served over several; what
// the works of one transaction share (BatchState) is forgotten when a unit rolls back,
// as the unit's writes are; the committer thread stops when idle and starts again with
// new work, and a work that throws fails its batch without stopping the committer.
#include "service/group_commit.h"
#include "service/test_store.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace rota::service {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore("group-commit", &dir_, &store_));
    ASSERT_TRUE(store_->CreateWorkspace("w", "{}", 0).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A work that answers its number, or fails when `fail`.
  static GroupCommit::Work Numbered(int n, bool fail = false) {
    return [n, fail](store::Tx&, BatchState&) -> Result<io::Json> {
      if (fail) return Status::Invalid("", "work " + std::to_string(n) + " fails");
      return io::Json(n);
    };
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(GroupCommitTest, EveryCallerGetsItsOwnResultsInOrder) {
  GroupCommit gc(*store_, 8);
  constexpr int kThreads = 16, kEach = 5;
  std::vector<std::vector<Result<io::Json>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<GroupCommit::Work> works;
      for (int i = 0; i < kEach; ++i) works.push_back(Numbered(t * 100 + i, /*fail=*/i == 2));
      got[t] = gc.Run("w", std::move(works));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), static_cast<size_t>(kEach));
    for (int i = 0; i < kEach; ++i) {
      if (i == 2) {
        EXPECT_FALSE(got[t][i].ok());
      } else {
        ASSERT_TRUE(got[t][i].ok()) << got[t][i].status().message();
        EXPECT_EQ(*got[t][i], t * 100 + i);
      }
    }
  }
  EXPECT_EQ(gc.items(), static_cast<size_t>(kThreads * kEach));
  EXPECT_GE(gc.batches(), static_cast<size_t>(kThreads * kEach / 8));  // at most 8 per batch
}

TEST_F(GroupCommitTest, MoreWorkThanOneBatchIsServedOverSeveral) {
  GroupCommit gc(*store_, 4);
  std::vector<GroupCommit::Work> works;
  for (int i = 0; i < 10; ++i) works.push_back(Numbered(i));
  auto got = gc.Run("w", std::move(works));
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*got[i], i);
  EXPECT_EQ(gc.batches(), 3u);
}

TEST_F(GroupCommitTest, BatchStateIsForgottenWhenAUnitRollsBack) {
  GroupCommit gc(*store_, 16);
  std::vector<std::optional<int64_t>> seen;
  auto work = [&](std::optional<int64_t> set, bool fail) -> GroupCommit::Work {
    return [&seen, set, fail](store::Tx&, BatchState& state) -> Result<io::Json> {
      seen.push_back(state.last_decision_at);
      if (set) state.last_decision_at = *set;
      if (fail) return Status::Invalid("", "fails after changing the batch's state");
      return io::Json(true);
    };
  };
  auto got = gc.Run("w", {work(7, false), work(99, true), work(std::nullopt, false), work(8, false),
                          work(std::nullopt, false)});
  ASSERT_EQ(got.size(), 5u);
  EXPECT_FALSE(got[1].ok());
  EXPECT_EQ(gc.batches(), 1u);
  // The first work's state reaches the second; the failed second's does not reach the
  // third (nor does the first's: the state is read again after a rollback).
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], std::nullopt);
  EXPECT_EQ(seen[1], 7);
  EXPECT_EQ(seen[2], std::nullopt);
  EXPECT_EQ(seen[3], std::nullopt);
  EXPECT_EQ(seen[4], 8);
}

TEST_F(GroupCommitTest, AnIdleCommitterStopsAndNewWorkStartsAnother) {
  GroupCommit gc(*store_, 8, {}, {}, std::chrono::milliseconds(50));
  EXPECT_EQ(gc.committers(), 0u);
  auto got = gc.Run("w", {Numbered(1)});
  ASSERT_TRUE(got[0].ok());
  // Running until it has been idle for 50 ms.
  for (int i = 0; i < 200 && gc.committers() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(gc.committers(), 0u);
  got = gc.Run("w", {Numbered(2), Numbered(3)});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(*got[0], 2);
  EXPECT_EQ(*got[1], 3);
  EXPECT_EQ(gc.batches(), 2u);
}

TEST_F(GroupCommitTest, EachWorkspaceHasItsOwnCommitter) {
  ASSERT_TRUE(store_->CreateWorkspace("v", "{}", 0).ok());
  GroupCommit gc(*store_, 8);
  EXPECT_TRUE(gc.Run("w", {Numbered(1)})[0].ok());
  EXPECT_TRUE(gc.Run("v", {Numbered(2)})[0].ok());
  EXPECT_EQ(gc.committers(), 2u);  // each waits for more work until idle
}

TEST_F(GroupCommitTest, AWorkThatThrowsFailsItsBatchAndTheCommitterGoesOn) {
  GroupCommit gc(*store_, 8);
  // The first work writes a row; the second throws after it, in the same batch.
  auto writes = [](store::Tx& tx, BatchState&) -> Result<io::Json> {
    Status s = tx.PutUnassigned({"lead", "L-1", "no rule matched", "dec_1", 0});
    if (!s.ok()) return s;
    return io::Json(1);
  };
  auto got = gc.Run("w", {writes, [](store::Tx&, BatchState&) -> Result<io::Json> {
                            throw std::runtime_error("boom");
                          }});
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("boom"), std::string::npos) << r.status().message();
  }
  {
    // The batch's transaction rolled back: the first work's row was not committed.
    auto tx = store_->BeginRead("w");
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    auto n = (*tx)->CountUnassigned();
    ASSERT_TRUE(n.ok()) << n.status().message();
    EXPECT_EQ(*n, 0);
  }
  got = gc.Run("w", {Numbered(4)});
  ASSERT_TRUE(got[0].ok()) << got[0].status().message();
  EXPECT_EQ(*got[0], 4);
}

// When the committer's thread cannot be started (here: no address space left for its
// stack), the caller's work fails with the reason and is not left queued: once a thread
// can be started again, the next work runs alone. In a child process, whose limit the
// test lowers and raises again.
TEST_F(GroupCommitTest, ACommitterThatCannotStartFailsItsCallersWork) {
  GroupCommit gc(*store_, 8);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    long pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    rlimit was{};
    getrlimit(RLIMIT_AS, &was);
    rlimit low = was;
    low.rlim_cur = static_cast<rlim_t>(pages) * sysconf(_SC_PAGESIZE) + (4 << 20);  // under a thread's stack
    // Stacks larger than those glibc keeps from earlier tests' threads, so that it must map
    // a new one.
    pthread_attr_t attr, big;
    if (pthread_getattr_default_np(&attr) != 0 || pthread_getattr_default_np(&big) != 0) _exit(10);
    if (pthread_attr_setstacksize(&big, 64 << 20) != 0 || pthread_setattr_default_np(&big) != 0) _exit(10);
    if (pages == 0 || setrlimit(RLIMIT_AS, &low) != 0) _exit(10);
    auto failed = gc.Run("w", {Numbered(1), Numbered(2)});
    // Submit's work is answered at once, through its function, with the same reason.
    std::string submitted = "not answered";
    gc.Submit("w", Numbered(5), [&](Result<io::Json> r) { submitted = r.ok() ? "ran" : r.status().message(); });
    if (setrlimit(RLIMIT_AS, &was) != 0 || pthread_setattr_default_np(&attr) != 0) _exit(11);
    if (submitted.find("cannot start group commit") == std::string::npos) _exit(16);
    if (failed.size() != 2 || failed[0].ok() || failed[1].ok()) _exit(12);
    if (failed[0].status().message().find("cannot start group commit") == std::string::npos) _exit(13);
    auto got = gc.Run("w", {Numbered(3)});
    if (got.size() != 1 || !got[0].ok() || *got[0] != 3) _exit(14);
    if (gc.batches() != 1 || gc.items() != 1) _exit(15);  // 1 and 2 were not run
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: no limit set, 11: not raised, 12: not failed, 13: no reason, "
                                       "14: the next work did not run, 15: the failed work ran, "
                                       "16: a submitted work not failed with the reason";
}

// Many callers a batch, many batches: every caller is woken (the committer wakes one
// caller a batch, who wakes the others), whatever order they come to wait in.
TEST_F(GroupCommitTest, EveryCallerOfABatchIsWoken) {
  GroupCommit gc(*store_, 64);
  constexpr int kThreads = 24, kRounds = 40;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        auto got = gc.Run("w", {Numbered(t * 1000 + r)});
        if (got.size() == 1 && got[0].ok() && *got[0] == t * 1000 + r) ++answered;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(answered.load(), kThreads * kRounds);
  EXPECT_LT(gc.batches(), static_cast<size_t>(kThreads * kRounds));  // some were grouped
}

// Submit: each work's result reaches its function, in the order submitted, on the
// committer's thread once its batch committed; work submitted and work run by waiting
// callers share batches.
TEST_F(GroupCommitTest, SubmittedWorkIsAnsweredThroughItsFunctionInOrder) {
  GroupCommit gc(*store_, 8);
  std::mutex mu;
  std::condition_variable all_in;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  constexpr int kWorks = 40;
  for (int i = 0; i < kWorks; ++i) {
    gc.Submit("w", Numbered(i, /*fail=*/i == 7), [&, i](Result<io::Json> r) {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(r.ok() ? r->get<int>() : -i);
      threads.push_back(std::this_thread::get_id());
      all_in.notify_all();
    });
  }
  auto waited = gc.Run("w", {Numbered(100)});
  ASSERT_TRUE(waited[0].ok());
  EXPECT_EQ(*waited[0], 100);
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(all_in.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() == kWorks; }));
  for (int i = 0; i < kWorks; ++i) EXPECT_EQ(order[i], i == 7 ? -7 : i);  // a failed work fails alone
  for (const std::thread::id& t : threads) EXPECT_NE(t, std::this_thread::get_id());
  EXPECT_EQ(gc.items(), static_cast<size_t>(kWorks + 1));
}

// Submitted work, its answer function and what both hold (a server's request, its
// connection) are released once answered, while the group commit goes on: a batch that
// owned them and was pointed back to by them was kept for ever (2 KiB a decision).
TEST_F(GroupCommitTest, SubmittedWorkIsReleasedOnceAnswered) {
  GroupCommit gc(*store_, 4);
  constexpr int kWorks = 10;
  std::vector<std::weak_ptr<int>> works, answers;
  std::atomic<int> answered{0};
  for (int i = 0; i < kWorks; ++i) {
    auto work_held = std::make_shared<int>(i);
    auto answer_held = std::make_shared<int>(i);
    works.push_back(work_held);
    answers.push_back(answer_held);
    gc.Submit(
        "w", [work_held](store::Tx&, BatchState&) -> Result<io::Json> { return io::Json(*work_held); },
        [answer_held, &answered](Result<io::Json> r) {
          if (r.ok()) ++answered;
        });
  }
  // Released by the committer after it answers; it keeps running (gc is alive).
  auto released = [&] {
    for (int i = 0; i < kWorks; ++i) {
      if (!works[i].expired() || !answers[i].expired()) return false;
    }
    return true;
  };
  for (int waited = 0; waited < 1000 && !released(); ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(answered.load(), kWorks);
  EXPECT_TRUE(released()) << "submitted work still held after it was answered";
  EXPECT_GT(gc.committers(), 0u) << "the committer should still be running (not idle long enough to stop)";
}

// Work submitted while the group commit stops is still answered: the committer finishes
// what is queued before it ends.
TEST_F(GroupCommitTest, SubmittedWorkIsAnsweredWhenTheGroupCommitStops) {
  std::atomic<int> answered{0};
  {
    GroupCommit gc(*store_, 4);
    for (int i = 0; i < 20; ++i) {
      gc.Submit("w", Numbered(i), [&](Result<io::Json> r) {
        if (r.ok()) ++answered;
      });
    }
  }
  EXPECT_EQ(answered.load(), 20);
}

}  // namespace
}  // namespace rota::service
