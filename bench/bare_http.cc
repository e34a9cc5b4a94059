// The HTTP baseline for `make bench`: a bare cpp-httplib server with the same settings as
// rota's (thread pool, TCP_NODELAY, keep-alive, the listening socket's) answering every
// POST /v1/assign with a fixed 200-byte JSON body. No parsing, no decision, no storage:
// what the HTTP layer alone costs.
//
//   rota_bench_bare_http [PORT] [THREADS]   PORT 0 (default): a free port; prints
//                                           "listening on PORT" once bound. Stops on SIGTERM.
#include <httplib.h>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "http/listen.h"

int main(int argc, char** argv) {
  const int want_port = argc > 1 ? std::atoi(argv[1]) : 0;
  const size_t threads = argc > 2 ? static_cast<size_t>(std::atoi(argv[2])) : 32;  // rota serve's default

  // 200 bytes, shaped like a decision.
  std::string body =
      R"({"decision_id":"dec_0000000000000000000000","at":"2026-11-22T10:00:00Z","outcome":"assigned",)"
      R"("owner":"a","rule":"r","strategy":"pool","reason":null,"related":[],"pad":")";
  body += std::string(200 - body.size() - 2, 'x') + "\"}";
  if (body.size() != 200) {
    std::fprintf(stderr, "body is %zu bytes\n", body.size());
    return 1;
  }

  // SIGTERM/SIGINT are taken by one thread with sigwait (blocked everywhere else).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  httplib::Server s;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  int listen_fd = -1;
  rota::http::UseListenOptions(s, &listen_fd);
  s.Post("/v1/assign", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  int port = want_port == 0 ? s.bind_to_any_port("127.0.0.1") : (s.bind_to_port("127.0.0.1", want_port) ? want_port : -1);
  if (port <= 0 || !rota::http::WidenBacklog(listen_fd)) {
    std::fprintf(stderr, "bare_http: cannot bind\n");
    return 1;
  }
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    s.stop();
  });
  s.listen_after_bind();
  waiter.detach();
  return 0;
}
