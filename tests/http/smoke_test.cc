#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
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
  Reply ready = server.Call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.raw;
  EXPECT_EQ(ready.body["status"], "ready");
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
  EXPECT_NE(out.find("Address already in use"), std::string::npos) << out;
  EXPECT_EQ(out.find("admin key"), std::string::npos) << out;
  EXPECT_EQ(first.Call("GET", "/healthz", "").status, 200);
  // The start that failed made no key: the first one that succeeds prints it.
  RotaServer second(dir.path() + "/second.db");
  EXPECT_FALSE(second.admin_key().empty()) << second.Output();
  EXPECT_EQ(second.Call("GET", "/v1/users", second.admin_key()).status, 200);
}

// --listen is HOST:PORT with a port of digits only: "184x" is refused, not read as 184,
// and nothing is made (no database file, no key).
TEST(ServerSmoke, AListenAddressWithABadPortIsRefused) {
  TempDir dir;
  for (const char* listen : {"127.0.0.1:184x", "127.0.0.1:", ":8080", "127.0.0.1:65536", "127.0.0.1:-1", "localhost"}) {
    auto [code, out] = RunRota({"serve", "--db", dir.path() + "/r.db", "--listen", listen});
    EXPECT_EQ(code, 2) << listen << ": " << out;
    EXPECT_NE(out.find("--listen is HOST:PORT"), std::string::npos) << listen << ": " << out;
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/r.db")) << listen;
  }
  // A body limit that would refuse every body, or hold none, is refused too.
  for (const char* limit : {"0", "-1", "512", "2147483648"}) {
    auto [code, out] = RunRota({"serve", "--db", dir.path() + "/r.db", "--body-limit", limit});
    EXPECT_EQ(code, 2) << limit << ": " << out;
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/r.db")) << limit;
  }
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

// Clients that connect and send nothing, or half a request, hold no thread: with
// `--threads 2` and sixty of them open, a health check and a decision are answered at once
// (each such client once held one of the threads until it timed out).
TEST(ServerSmoke, IdleAndSlowClientsHoldNoThread) {
  RotaServer server("", {}, {"--threads", "2"});
  std::vector<int> idle;
  for (int i = 0; i < 60; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    if (i % 2 == 1) {
      const std::string half = "POST /v1/assign HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"object";
      ASSERT_EQ(send(fd, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
    }
    idle.push_back(fd);
  }
  const auto asked = std::chrono::steady_clock::now();
  auto c = server.Client();
  c->set_read_timeout(15, 0);
  auto health = c->Get("/healthz");
  Json body = {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", "L-idle"}}}};
  auto decided = c->Post("/v1/assign", {{"Authorization", "Bearer " + server.admin_key()}}, body.dump(),
                         "application/json");
  const auto waited = std::chrono::steady_clock::now() - asked;
  for (int fd : idle) close(fd);
  ASSERT_TRUE(health && decided) << server.Output();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(decided->status, 200) << decided->body;
  EXPECT_LT(waited, std::chrono::seconds(2));
}

// The server's resident memory, in KiB, from /proc.
long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Batches of 1 000 decisions, each on a connection of its own that then closes: the pool
// threads that serve them each keep a malloc arena, and the megabytes a batch's JSON took
// in it stay there unless handed back when the connection ends. Kept, 40 batches over 16
// threads grew the server by 30 MiB or more; handed back, it stays within a few.
TEST(ServerSmoke, MemoryOfLargeBatchesIsHandedBackWhenTheirConnectionsClose) {
  RotaServer server("", {}, {"--threads", "16"});
  const std::string key = server.admin_key();
  ASSERT_EQ(server.Call("PUT", "/v1/config", key,
                        Json::parse(R"({"users": [{"id": "a"}, {"id": "b"}],
                          "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b"]}],
                          "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
                                     "conditions": {"all": [{"field": "source", "op": "eq", "value": "web"}]},
                                     "assign": {"type": "pool", "pool": "p"}}]})"))
                .status,
            200);
  int made = 0;
  auto batch = [&] {
    Json items = Json::array();
    for (int i = 0; i < 1000; ++i, ++made) {
      items.push_back({{"object_type", "lead"}, {"event", "created"},
                       {"record", {{"id", "L-" + std::to_string(made)}, {"properties", {{"source", "web"}}}}}});
    }
    Reply r = server.Call("POST", "/v1/assign/batch", key, {{"items", items}});
    ASSERT_EQ(r.status, 200) << r.raw.substr(0, 300);
  };
  for (int i = 0; i < 4; ++i) batch();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the last connection's end
  const long before = RssKib(server.pid());
  for (int i = 0; i < 40; ++i) batch();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long after = RssKib(server.pid());
  ASSERT_GT(before, 0);
  EXPECT_LT(after - before, 12 * 1024) << "RSS " << before << " KiB, then " << after << " KiB";
}

}  // namespace rota::testing
