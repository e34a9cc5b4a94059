// The event-served connections (http/connections.h) over real sockets: idle and slow
// clients hold no thread and are closed after their timeouts; pipelined requests are
// answered in order; bodies the head cannot frame (chunked, `Expect: 100-continue`) are
// read by a thread; a slow reader gets all of a large answer; an answer given later is
// sent, also while the server stops; a connection closes after its last request. Then the
// same through rota's own server: decisions pipelined, and `Connection: close`.
#include "http/connections.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/listen.h"
#include "http/server.h"
#include "http/service_fixture.h"
#include "io/json_util.h"

namespace rota::http {
namespace {

using namespace std::chrono_literals;

// A raw client connection.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  void EndSending() { shutdown(fd_, SHUT_WR); }
  void Send(const std::string& s) { ASSERT_EQ(send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }
  // What arrives until `done(received)` holds, the connection ends, or `wait` passes.
  std::string Read(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds wait = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (!done(got_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) != 1) break;
      char buf[65536];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        ended_ = true;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  // `n` whole answers (heads and Content-Length bodies), or what came.
  std::string Answers(int n, std::chrono::milliseconds wait = 5000ms) {
    return Read([n](const std::string& s) { return Count(s) >= n; }, wait);
  }
  // True once the server has closed the connection (within `wait`).
  bool Ended(std::chrono::milliseconds wait = 5000ms) {
    Read([this](const std::string&) { return ended_; }, wait);
    return ended_;
  }
  static int Count(const std::string& s) {
    int n = 0;
    for (size_t at = 0;;) {
      const size_t head = s.find("\r\n\r\n", at);
      if (head == std::string::npos) return n;
      const size_t cl = s.find("Content-Length: ", at);
      const size_t length = cl != std::string::npos && cl < head ? std::stoul(s.substr(cl + 16)) : 0;
      if (s.size() < head + 4 + length) return n;
      ++n;
      at = head + 4 + length;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool ended_ = false;
  std::string got_;
};

class FrontendTest : public ::testing::Test {
 protected:
  void Start(ConnectionSettings s) {
    s.answers_later = [](std::string_view line) { return line.starts_with("GET /later") || line.starts_with("GET /now") ||
             line.starts_with("GET /never") ||
             line.starts_with("GET /throws"); };
    server_ = std::make_unique<Frontend>(std::move(s));
    server_->Get("/hello", [](const httplib::Request&, httplib::Response& res) { res.set_content("hi", "text/plain"); });
    server_->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("got " + std::to_string(req.body.size()), "text/plain");
    });
    server_->Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(4 << 20, 'x'), "text/plain");
    });
    // Answered 300 ms later from another thread, or at once from the handler.
    server_->Get("/later", [this](const httplib::Request&, httplib::Response&) {
      auto answer = AnswerLater();
      ASSERT_TRUE(answer);
      std::lock_guard<std::mutex> lock(late_mu_);
      late_.emplace_back([answer] {
        std::this_thread::sleep_for(300ms);
        answer([] { return std::pair<int, std::string>(200, "{\"late\":true}"); });
      });
    });
    // Never answered while the server runs: the test keeps the function.
    server_->Get("/never", [this](const httplib::Request&, httplib::Response&) {
      std::lock_guard<std::mutex> lock(late_mu_);
      never_ = AnswerLater();
    });
    server_->Get("/throws", [](const httplib::Request&, httplib::Response&) {
      auto answer = AnswerLater();
      ASSERT_TRUE(answer);
      throw std::runtime_error("after promising");
    });
    server_->Get("/now", [](const httplib::Request&, httplib::Response&) {
      auto answer = AnswerLater();
      ASSERT_TRUE(answer);
      answer([] { return std::pair<int, std::string>(409, "{\"now\":true}"); });
    });
    int fd = -1;
    UseListenOptions(*server_, &fd);  // as rota's server: a backlog for clients that connect together
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(WidenBacklog(fd));
    run_ = std::async(std::launch::async, [this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(1ms);
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      run_.wait();
    }
    for (std::thread& t : late_) t.join();
  }
  static ConnectionSettings Quick() {
    ConnectionSettings s;
    s.workers = 1;
    s.body_limit = 1024;
    s.keep_alive = 1s;
    s.read_timeout = 1s;
    s.write_timeout = 2s;
    return s;
  }

  std::unique_ptr<Frontend> server_;
  int port_ = 0;
  std::future<void> run_;
  std::mutex late_mu_;
  std::vector<std::thread> late_;  // GUARDED_BY(late_mu_)
  std::function<void(MakeAnswer)> never_;  // GUARDED_BY(late_mu_)
};

// Many connections that send nothing, or half a head, hold none of the one worker thread:
// another client is answered at once.
TEST_F(FrontendTest, IdleAndSlowClientsHoldNoThread) {
  ConnectionSettings s = Quick();
  s.keep_alive = 30s;
  s.read_timeout = 30s;
  Start(s);
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(idle.back()->connected());
    if (i % 2 == 1) idle.back()->Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  const auto asked = std::chrono::steady_clock::now();
  Client c(port_);
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = c.Answers(1, 3000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 1500ms);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\nhi")) << got;
}

TEST_F(FrontendTest, APartialRequestAndAnIdleConnectionAreClosedAfterTheirTimeouts) {
  Start(Quick());
  Client partial(port_), idle(port_);
  partial.Send("GET /hello HTTP/1.1\r\nHo");
  idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Client::Count(idle.Answers(1)), 1);
  const auto since = std::chrono::steady_clock::now();
  EXPECT_TRUE(partial.Ended(4000ms));
  EXPECT_TRUE(idle.Ended(4000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - since, 4000ms);
}

TEST_F(FrontendTest, PipelinedRequestsAreAnsweredInOrder) {
  Start(Quick());
  Client c(port_);
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
         "GET /now HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = c.Answers(4);
  ASSERT_EQ(Client::Count(got), 4) << got;
  const size_t hi = got.find("\r\n\r\nhi"), echo = got.find("got 5"), now = got.find("{\"now\":true}"),
               hi2 = got.rfind("\r\n\r\nhi");
  EXPECT_LT(hi, echo);
  EXPECT_LT(echo, now);
  EXPECT_LT(now, hi2);
  EXPECT_NE(got.find("HTTP/1.1 409 Conflict\r\n"), std::string::npos) << got;
}

TEST_F(FrontendTest, ChunkedAndExpectContinueBodiesAreRead) {
  Start(Quick());
  Client chunked(port_);
  chunked.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  EXPECT_NE(chunked.Answers(1).find("got 7"), std::string::npos);

  Client expect(port_);
  expect.Send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  const std::string cont = expect.Read([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  ASSERT_TRUE(cont.starts_with("HTTP/1.1 100 Continue\r\n")) << cont;
  expect.Send("wxyz");
  EXPECT_NE(expect.Read([](const std::string& s) { return s.find("got 4") != std::string::npos; }).find("got 4"),
            std::string::npos);
}

TEST_F(FrontendTest, ASlowReaderGetsAllOfALargeAnswer) {
  Start(Quick());
  Client c(port_);
  c.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(500ms);  // the answer waits in the server for the client
  const std::string got = c.Answers(1);
  ASSERT_EQ(Client::Count(got), 1);
  EXPECT_EQ(got.size() - (got.find("\r\n\r\n") + 4), static_cast<size_t>(4 << 20));
}

// An answer given later, from another thread, is sent; a server stopping meanwhile waits
// for it, and closes the connection after it.
TEST_F(FrontendTest, AnAnswerGivenLaterIsSentAlsoWhileTheServerStops) {
  Start(Quick());
  Client c(port_);
  c.Send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = c.Answers(1);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\n{\"late\":true}")) << got;
  EXPECT_NE(got.find("Keep-Alive: timeout=1, max=100\r\n"), std::string::npos) << got;

  Client stopping(port_);
  stopping.Send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // taken by the server
  auto stopped = std::async(std::launch::async, [this] { server_->stop(); });
  got = stopping.Answers(1);
  EXPECT_TRUE(got.ends_with("{\"late\":true}")) << got;
  EXPECT_TRUE(stopping.Ended());
  stopped.wait();
}

// A stop waits for an answer promised later however long it takes (a decision's commit),
// while idle connections end at once.
TEST_F(FrontendTest, AStopWaitsForAnAnswerPromisedLater) {
  Start(Quick());
  Client c(port_), idle(port_);
  c.Send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 200; ++i) {
    std::lock_guard<std::mutex> lock(late_mu_);
    if (never_) break;
    std::this_thread::sleep_for(10ms);
  }
  auto stopped = std::async(std::launch::async, [this] {
    server_->stop();
    run_.wait();
  });
  EXPECT_TRUE(idle.Ended(2000ms));
  EXPECT_EQ(stopped.wait_for(5500ms), std::future_status::timeout);  // past the 4 s it gives others
  {
    std::lock_guard<std::mutex> lock(late_mu_);
    ASSERT_TRUE(never_);
    never_([] { return std::pair<int, std::string>(200, "{\"at_last\":true}"); });
  }
  EXPECT_TRUE(c.Answers(1).ends_with("{\"at_last\":true}"));
  EXPECT_TRUE(c.Ended());
  EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
  server_.reset();
}

// A handler that throws after promising an answer later answers 500, not never.
TEST_F(FrontendTest, APromiseBrokenByAThrowAnswers500) {
  Start(Quick());
  Client c(port_);
  c.Send("GET /throws HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string got = c.Answers(2);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 500 Internal Server Error\r\n")) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\nhi")) << got;
}

// A request httplib could not read as its head framed it (a 414 before the body) closes the
// connection: its body is not served as the next request.
TEST_F(FrontendTest, ARequestReadOutOfStepClosesTheConnection) {
  Start(Quick());
  Client c(port_);
  const std::string hidden = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  c.Send("POST /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(hidden.size()) + "\r\n\r\n" + hidden);
  const std::string got = c.Answers(2, 2000ms);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 414 ")) << got;
  EXPECT_EQ(got.find("\r\n\r\nhi"), std::string::npos) << got;
  EXPECT_TRUE(c.Ended());
}

// A client that sends several requests and then ends its side gets every answer.
TEST_F(FrontendTest, AHalfClosedClientGetsEveryAnswer) {
  Start(Quick());
  Client c(port_);
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /now HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  c.EndSending();
  EXPECT_EQ(Client::Count(c.Answers(3)), 3);
  EXPECT_TRUE(c.Ended());
}

TEST_F(FrontendTest, AConnectionClosesAfterItsLastRequest) {
  ConnectionSettings s = Quick();
  s.keep_alive_max = 3;
  Start(s);
  Client c(port_);
  for (int i = 0; i < 3; ++i) {
    c.Send(i == 1 ? "GET /later HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(Client::Count(c.Answers(i + 1)), i + 1);
  }
  const std::string got = c.Answers(3);
  EXPECT_NE(got.rfind("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_TRUE(c.Ended());

  Client asked(port_);  // a client's own `Connection: close`, on an answer given later
  asked.Send("GET /later HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(asked.Answers(1).find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(asked.Ended());
}

// The same through rota's own server: decisions sent back to back on one connection are
// answered in order, each once its batch committed.
// With decisions taken by the loop threads (SQLite) and by workers (PostgreSQL).
class RotaConnectionsTest : public ServiceFixture, public ::testing::WithParamInterface<bool> {};

TEST_P(RotaConnectionsTest, DecisionsPipelinedAndOneClosingAreAnswered) {
  auto key = service_->CreateWorkspace("w");
  ASSERT_TRUE(key.ok());
  Options o;
  o.decisions_on_loops = GetParam();
  o.port = 0;
  o.log_requests = false;
  Server server(*service_, o);
  ASSERT_TRUE(server.Bind().ok());
  auto run = std::async(std::launch::async, [&] { server.Run(); });
  auto assign = [&](const std::string& id, const std::string& extra) {
    const std::string body = "{\"object_type\":\"lead\",\"event\":\"created\",\"record\":{\"id\":\"" + id + "\"}}";
    return "POST /v1/assign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key->secret + "\r\n" + extra +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  Client c(server.port());
  c.Send(assign("L-1", "") + assign("L-2", "Idempotency-Key: \x01\r\n") + assign("L-3", ""));
  const std::string got = c.Answers(3);
  ASSERT_EQ(Client::Count(got), 3) << got;
  const size_t first = got.find("HTTP/1.1 200 OK"), bad = got.find("HTTP/1.1 422 "),
               third = got.find("HTTP/1.1 200 OK", first + 1);
  EXPECT_LT(first, bad);
  EXPECT_LT(bad, third);
  EXPECT_NE(third, std::string::npos) << got;

  Client closing(server.port());
  closing.Send(assign("L-4", "Connection: close\r\n"));
  const std::string answer = closing.Answers(1);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"decision_id\""), std::string::npos) << answer;
  EXPECT_TRUE(closing.Ended());

  // A chunked body is read by a thread, and the decision is made there.
  Client chunked(server.port());
  const std::string body = "{\"object_type\":\"lead\",\"event\":\"created\",\"record\":{\"id\":\"L-5\"}}";
  char size[16];
  snprintf(size, sizeof size, "%zx", body.size());
  chunked.Send("POST /v1/assign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key->secret +
               "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + body + "\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.Answers(1).starts_with("HTTP/1.1 200 OK\r\n"));
  server.Stop();
  run.wait();
}

INSTANTIATE_TEST_SUITE_P(Where, RotaConnectionsTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "OnLoops" : "OnWorkers"; });

}  // namespace
}  // namespace rota::http
