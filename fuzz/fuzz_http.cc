// The HTTP API in process, without sockets: the input is raw HTTP/1.1 request bytes (one
// or more requests, keep-alive) fed through cpp-httplib's request parser and routing
// into rota's handlers (http::Server: authentication, roles, path parameters, JSON
// bodies, CSV/XLSX imports, queries) and the service over a real SQLite store.
//
// Each input starts on a fresh workspace of its own whose admin key is sent for
// requests without an Authorization header; a request with "X-Fuzz-Role: member" (or
// "integration") gets a key of that role in the same workspace instead. A 500 answer (an exception escaped to
// httplib's handler, or an internal error) is a finding: the target aborts.
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "http/server.h"
#include "io/json_util.h"
#include "service/service.h"
#include "store/store.h"

using namespace rota;

namespace {

// Requests read from the input, answers written nowhere.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ >= in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// httplib's server with its (protected) one-request entry point opened up.
class MemoryServer final : public httplib::Server {
 public:
  bool Feed(httplib::Stream& s, const std::function<void(httplib::Request&)>& setup) {
    bool closed = false;
    return process_request(s, /*close_connection=*/false, closed, setup) && !closed;
  }
};

// One SQLite file under /dev/shm (or $TMPDIR), remade every kInputsPerStore inputs so
// it stays small; each input gets a new workspace in it.
constexpr int kInputsPerStore = 500;

struct Env {
  std::filesystem::path dir;
  service::FixedClock clock{*io::ParseTime("2026-11-23T10:00:00Z")};
  std::unique_ptr<store::Store> store;
  std::unique_ptr<service::Service> svc;
  MemoryServer* raw = nullptr;  // owned by `server`
  std::unique_ptr<http::Server> server;
  int inputs = 0;
  int workspaces = 0;
  int last_status = 0;

  Env() {
    spdlog::set_level(spdlog::level::err);
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                           : std::filesystem::temp_directory_path();
    dir = base / ("rota-fuzz-http-" + std::to_string(getpid()));
    Open();
  }
  ~Env() {
    Close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void Close() {
    server.reset();
    svc.reset();
    store.reset();
  }
  void Open() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir);
    auto s = store::OpenStore((dir / "rota.db").string());
    if (!s.ok()) {
      std::fprintf(stderr, "fuzz_http: cannot open the store: %s\n", s.status().message().c_str());
      std::abort();
    }
    store = std::move(s).value();
    svc = std::make_unique<service::Service>(*store, clock);
    auto impl = std::make_unique<MemoryServer>();
    raw = impl.get();
    http::Options options;
    options.log_requests = false;
    server = std::make_unique<http::Server>(*svc, options, std::move(impl));
    raw->set_logger([this](const httplib::Request&, const httplib::Response& res) { last_status = res.status; });
  }
  // A key of `role` in the current workspace.
  std::string Key(service::Role role) {
    auto key = service::CreateKey(*store, "fuzz-" + std::to_string(workspaces), role, role == service::Role::kMember,
                                  "fuzz", 1795000000000);
    return key.ok() ? key->secret : "";
  }
  // The admin key of a new, empty workspace.
  std::string NewWorkspace() {
    if (++inputs % kInputsPerStore == 0) {
      Close();
      Open();
    }
    auto key = svc->CreateWorkspace("fuzz-" + std::to_string(++workspaces));
    if (!key.ok()) {
      std::fprintf(stderr, "fuzz_http: cannot create a workspace: %s\n", key.status().message().c_str());
      std::abort();
    }
    return key->secret;
  }
};

Env& env() {
  static Env e;
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& e = env();
  const std::string admin = "Bearer " + e.NewWorkspace();
  std::map<service::Role, std::string> others;
  auto setup = [&](httplib::Request& req) {
    if (req.has_header("Authorization")) return;
    auto role = service::ParseRole(req.get_header_value("X-Fuzz-Role"));
    if (!role || *role == service::Role::kAdmin) {
      req.set_header("Authorization", admin);
      return;
    }
    std::string& key = others[*role];
    if (key.empty()) key = "Bearer " + e.Key(*role);
    req.set_header("Authorization", key);
  };
  MemoryStream in(std::string_view(reinterpret_cast<const char*>(data), size));
  for (int i = 0; i < 16 && !in.done(); ++i) {
    size_t before = in.pos();
    e.last_status = 0;
    bool more = e.raw->Feed(in, setup);
    if (e.last_status >= 500) {
      std::fprintf(stderr, "fuzz_http: request %d answered %d\n", i + 1, e.last_status);
      std::abort();
    }
    if (!more || in.pos() == before) break;
  }
  return 0;
}
