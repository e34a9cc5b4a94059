#include "harness.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef ROTA_BIN
#error "ROTA_BIN must name the rota binary"
#endif

namespace rota::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rota-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

static std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RotaServer::RotaServer(std::string db, std::map<std::string, std::string> env, std::vector<std::string> extra) {
  dir_ = std::make_unique<TempDir>();
  db_ = db.empty() ? dir_->path() + "/rota.db" : db;
  log_ = dir_->path() + "/server.log";
  std::vector<std::string> args = {ROTA_BIN, "serve", "--db", db_, "--listen", "127.0.0.1:0"};
  if (std::find(extra.begin(), extra.end(), "--threads") == extra.end()) {
    args.insert(args.end(), {"--threads", "40"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const std::regex listening(R"(rota listening on http://127\.0\.0\.1:(\d+))");
  const std::regex key(R"(\(shown once, keep it\): (rota_[0-9a-f]+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = Slurp(log_);
    std::smatch m;
    if (std::regex_search(out, m, listening)) {
      port_ = std::stoi(m[1]);
      if (std::regex_search(out, m, key)) admin_key_ = m[1];
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("rota serve exited early: " + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("rota serve did not start: " + Slurp(log_));
}

RotaServer::~RotaServer() { Stop(SIGTERM); }

std::string RotaServer::Output() const { return Slurp(log_); }

int RotaServer::Stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  // A server that has not stopped within a minute is killed, so that the test fails
  // with what it logged rather than hanging until CTest's limit.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "rota serve did not stop on signal " << sig << "; killed. Its log:\n" << Slurp(log_) << std::endl;
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::unique_ptr<httplib::Client> RotaServer::Client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_tcp_nodelay(true);
  c->set_read_timeout(30, 0);
  c->set_keep_alive(true);
  return c;
}

Reply RotaServer::Call(const std::string& method, const std::string& path, const std::string& key,
                       const Json& body, const httplib::Headers& extra) const {
  auto c = Client();
  httplib::Headers h = extra;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  std::string payload = body.is_null() ? "" : body.dump();
  httplib::Result r(nullptr, httplib::Error::Unknown);
  if (method == "GET") {
    r = c->Get(path, h);
  } else if (method == "DELETE") {
    r = c->Delete(path, h);
  } else if (method == "POST") {
    r = c->Post(path, h, payload, "application/json");
  } else if (method == "PUT") {
    r = c->Put(path, h, payload, "application/json");
  } else if (method == "PATCH") {
    r = c->Patch(path, h, payload, "application/json");
  }
  Reply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.raw = r->body;
  reply.headers = r->headers;
  reply.body = Json::parse(r->body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("UnusedPort: no socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);  // bound, never listened: closing frees the port at once
  if (!ok) throw std::runtime_error("UnusedPort: cannot bind a loopback port");
  return ntohs(addr.sin_port);
}

std::pair<int, std::string> RunRota(const std::vector<std::string>& args) {
  std::string cmd = std::string("timeout 120 ") + ROTA_BIN;
  for (const auto& a : args) {
    std::string q = "'";
    for (char ch : a) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    cmd += " " + q + "'";
  }
  cmd += " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace rota::testing
