#include "service/auth.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

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

}  // namespace
}  // namespace rota::service
