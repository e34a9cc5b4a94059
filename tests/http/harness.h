// Starts the real `rota serve` on a free loopback port with its own database, for
// tests that drive it over HTTP, and stops it afterwards.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>

namespace rota::testing {

using Json = nlohmann::json;

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Reply {
  int status = 0;
  Json body;         // parsed JSON, or null
  std::string raw;   // the body as sent
  httplib::Headers headers;
};

class RotaServer {
 public:
  // Starts `rota serve --db DB --listen 127.0.0.1:0`; `db` empty: a new file in a temp
  // dir. `env` adds environment variables (e.g. ROTA_BOOTSTRAP_KEY).
  explicit RotaServer(std::string db = "", std::map<std::string, std::string> env = {},
                      std::vector<std::string> extra_args = {});
  ~RotaServer();  // SIGTERM and wait

  int port() const { return port_; }
  const std::string& db() const { return db_; }
  // The bootstrap admin key printed on first start ("" when none was printed).
  const std::string& admin_key() const { return admin_key_; }
  pid_t pid() const { return pid_; }
  // Everything the server printed so far.
  std::string Output() const;

  // Sends a signal and waits for the process; answers its exit status (or -1).
  int Stop(int sig = 15);

  std::unique_ptr<httplib::Client> Client() const;
  Reply Call(const std::string& method, const std::string& path, const std::string& key,
             const Json& body = nullptr, const httplib::Headers& headers = {}) const;

 private:
  std::unique_ptr<TempDir> dir_;
  std::string db_;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string admin_key_;
};

// Polls `done` every 20 ms until it holds or `ms` have passed; answers its last value.
template <typename F>
bool WaitFor(F done, int ms = 10000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A loopback port nobody listens on when asked. (An httplib::Server that bound a port and
// never listened keeps its socket open, with SO_REUSEPORT, and a later server on that port
// shares its connections with that silent socket: attempts hang until their timeout.)
int UnusedPort();

// Runs `rota ARGS…` to completion; answers exit code and stdout+stderr. A command still
// running after two minutes is stopped (exit code 124), so that a test of a command that
// should end (a server that should refuse to start, say) fails instead of hanging.
std::pair<int, std::string> RunRota(const std::vector<std::string>& args);

}  // namespace rota::testing
