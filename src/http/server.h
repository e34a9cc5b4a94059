// rota's HTTP API (API.md) over cpp-httplib, its connections served by events
// (http/connections.h): routing, authentication by workspace key
// and role, JSON in and out, error bodies, request limits, logging, /metrics, the
// OpenAPI file and the static console.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "service/service.h"

namespace httplib {
class Server;
}

namespace rota::http {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  size_t body_limit = 1 << 20;  // 1 MiB
  size_t threads = 32;          // workers for requests that may wait (http/connections.h)
  bool log_requests = true;
  // Decisions taken by the loop threads that read them (true: SQLite, whose reads before a
  // decision are local), or handed to a worker (PostgreSQL, across a network): see
  // ConnectionSettings::later_on_loops.
  bool decisions_on_loops = true;
};

// One route as the OpenAPI file names it, e.g. {"POST", "/v1/pools/{id}/members"}.
struct RouteInfo {
  std::string method;
  std::string path;
};

class Server {
 public:
  Server(service::Service& service, Options options);
  // The same routes on a server made by the caller: fuzz/fuzz_http.cc passes a
  // subclass that feeds requests from memory (no socket; Bind() and Run() unused).
  Server(service::Service& service, Options options, std::unique_ptr<httplib::Server> impl);
  ~Server();

  // Binds the listening socket; fails when the address is taken.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop(); requests under way finish first. Stop() may come from
  // another thread at any moment, even before Run() has begun listening.
  void Run();
  void Stop();
  const std::vector<RouteInfo>& routes() const { return routes_; }

 private:
  void Install();

  service::Service& service_;
  const Options options_;
  std::unique_ptr<httplib::Server> server_;
  std::vector<RouteInfo> routes_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket, once httplib has made it
  std::atomic<bool> run_started_{false};
  std::atomic<bool> run_returned_{false};
  std::atomic<bool> stop_requested_{false};
};

}  // namespace rota::http
