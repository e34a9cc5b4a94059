#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "harness.h"

namespace rota::testing {

TEST(ServerSmoke, StartsPrintsAKeyAndAnswersHealthz) {
  RotaServer server;
  ASSERT_FALSE(server.admin_key().empty());
  Reply r = server.Call("GET", "/healthz", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "ok");
  EXPECT_EQ(server.Call("GET", "/v1/users", "").status, 401);
  EXPECT_EQ(server.Call("GET", "/v1/users", server.admin_key()).status, 200);
}

// A second server on the port of a running one fails to start, with a message, and the
// first keeps answering: they do not share the port (and its connections).
TEST(ServerSmoke, ASecondServerOnAPortInUseFailsToStart) {
  RotaServer first;
  TempDir dir;
  auto [code, out] = RunRota({"serve", "--db", dir.path() + "/second.db", "--listen",
                              "127.0.0.1:" + std::to_string(first.port())});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("address in use"), std::string::npos) << out;
  EXPECT_EQ(out.find("admin key"), std::string::npos) << out;
  EXPECT_EQ(first.Call("GET", "/healthz", "").status, 200);
  // The start that failed made no key: the first one that succeeds prints it.
  RotaServer second(dir.path() + "/second.db");
  EXPECT_FALSE(second.admin_key().empty()) << second.Output();
  EXPECT_EQ(second.Call("GET", "/v1/users", second.admin_key()).status, 200);
}

// More busy keep-alive clients than threads: a connection serves a bounded number of
// requests before the server closes it, so a client waiting for a thread gets one within
// moments, not once another client stops (a CRM's many senders, or a bulk import).
TEST(ServerSmoke, AClientBeyondTheThreadsIsServedWhileOthersKeepSending) {
  RotaServer server("", {}, {"--threads", "2"});
  const std::string key = server.admin_key();
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&, i] {
      auto c = server.Client();
      c->set_keep_alive(true);
      httplib::Headers auth = {{"Authorization", "Bearer " + key}};
      // Decisions (a commit each, a millisecond or more): 10 000 of them take a while.
      for (int n = 0; !stop; ++n) {
        Json body = {{"object_type", "task"}, {"event", "created"},
                     {"record", {{"id", "T-" + std::to_string(i) + "-" + std::to_string(n)}}}};
        (void)c->Post("/v1/assign", auth, body.dump(), "application/json");
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both threads are held now
  auto late = server.Client();
  late->set_read_timeout(15, 0);
  const auto asked = std::chrono::steady_clock::now();
  auto r = late->Get("/healthz");
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - asked);
  stop = true;
  for (auto& t : busy) t.join();
  ASSERT_TRUE(r) << server.Output();
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(waited.count(), 3000);
}

}  // namespace rota::testing
