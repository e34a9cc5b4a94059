// The listening socket: room for clients that connect together, and one server per port.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <vector>

#include "http/service_fixture.h"

namespace rota::http {
namespace {

class ListenTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    if (HasFatalFailure()) return;
    options_.port = 0;
    options_.log_requests = false;
  }
  void TearDown() override {
    for (int fd : clients_) close(fd);
    ServiceFixture::TearDown();
  }

  // Starts a connection to `port` without waiting for it.
  void Connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    clients_.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }

  // How many of the connections are established within `wait`.
  int Established(std::chrono::milliseconds wait) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    int n = 0;
    for (int fd : clients_) {
      pollfd p{fd, POLLOUT, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) != 1) continue;
      int error = 0;
      socklen_t len = sizeof error;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) ++n;
    }
    return n;
  }

  Options options_;
  std::vector<int> clients_;
};

// Bound but not serving, nothing accepts: every connection waits in the backlog. With
// httplib's backlog of 5, the kernel dropped the handshakes after the sixth, and each of
// those clients waited a second or more for a retry.
TEST_F(ListenTest, ClientsThatConnectTogetherAreAllHeard) {
  Server server(*service_, options_);
  ASSERT_TRUE(server.Bind().ok());
  constexpr int kClients = 64;
  for (int i = 0; i < kClients; ++i) Connect(server.port());
  EXPECT_EQ(Established(std::chrono::milliseconds(500)), kClients);
}

// A second server on a port that is taken fails to start; it does not share the port.
TEST_F(ListenTest, ASecondServerCannotTakeAPortInUse) {
  Server first(*service_, options_);
  ASSERT_TRUE(first.Bind().ok());
  Options same = options_;
  same.port = first.port();
  Server second(*service_, same);
  Status s = second.Bind();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Address already in use"), std::string::npos) << s.message();
}

// A host that does not resolve, or is not this machine's, is named as such (it used to be
// "address in use?" whatever the cause).
TEST_F(ListenTest, WhyAnAddressCannotBeListenedOnIsSaid) {
  Options unknown = options_;
  unknown.host = "nosuchhost.invalid";
  unknown.port = 1;
  Status s = Server(*service_, unknown).Bind();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot resolve \"nosuchhost.invalid\""), std::string::npos) << s.message();
  Options foreign = options_;
  foreign.host = "192.0.2.1";  // TEST-NET-1: never this machine's
  foreign.port = 18999;
  s = Server(*service_, foreign).Bind();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Cannot assign requested address"), std::string::npos) << s.message();
}

// Run() on another thread; true when it has returned within `wait`. A Run() that
// does not return is stopped again (httplib listens by then) so the test can end.
bool RunEnds(Server& server, const std::function<void()>& meanwhile, std::chrono::seconds wait) {
  auto run = std::async(std::launch::async, [&] { server.Run(); });
  meanwhile();
  if (run.wait_for(wait) == std::future_status::ready) return true;
  server.Stop();
  run.wait();
  return false;
}

// `rota serve` stops on a signal taken right after it prints where it listens. httplib
// ignored a stop that came before its accept loop began, and the server ran on.
TEST_F(ListenTest, AStopBeforeRunBeginsEndsIt) {
  Server server(*service_, options_);
  ASSERT_TRUE(server.Bind().ok());
  server.Stop();
  EXPECT_TRUE(RunEnds(server, [] {}, std::chrono::seconds(5)));
}

TEST_F(ListenTest, AStopWhileRunBeginsEndsIt) {
  for (int i = 0; i < 50; ++i) {
    Server server(*service_, options_);
    ASSERT_TRUE(server.Bind().ok());
    ASSERT_TRUE(RunEnds(server, [&] { server.Stop(); }, std::chrono::seconds(5))) << "round " << i;
  }
}

}  // namespace
}  // namespace rota::http
