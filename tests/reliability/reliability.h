// Shared pieces of the reliability suite: the storage backends it runs on, the short
// and full forms, raw HTTP calls, a webhook receiver, and the figures each run prints.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_util.h"
#include "harness.h"

namespace rota::testing::reliability {

// ROTA_RELIABILITY_FULL=1 (`make reliability`): the long form; unset: the short form
// that `make test` runs.
inline bool Full() {
  const char* v = std::getenv("ROTA_RELIABILITY_FULL");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

inline unsigned Seed() {
  const char* v = std::getenv("ROTA_RELIABILITY_SEED");
  return v != nullptr && *v != '\0' ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 20261122u;
}

// ---- Backends: the seam for PostgreSQL.
//
// Each case is a TEST_P over backend names. "sqlite" always runs, on a file in a temp
// dir. "postgres" runs when ROTA_TEST_PG_URL names a libpq connection string of an empty
// database that the test may use (and skips otherwise); when the PostgreSQL store and
// its test server helper land (issue 7), replace the body of the "postgres" branch
// with a call that starts/creates a fresh database and answers its URL.
struct Backend {
  std::string db;           // the --db argument
  std::string skip_reason;  // non-empty: this backend is not available here
};

// A fresh database on the throwaway PostgreSQL server of the `rota_pg` CTest fixture
// (scripts/pg-test-server), or ROTA_TEST_PG_URL when set.
inline Backend FreshPostgres() {
  std::string base;
  if (const char* url = std::getenv("ROTA_TEST_PG_URL"); url != nullptr && *url != '\0') return {url, ""};
  std::ifstream in(ROTA_PG_URL_FILE);
  std::getline(in, base);
  if (base.empty()) return {"", "PostgreSQL not available (run through ctest: fixture PostgresServerStart)"};
  PGconn* c = PQconnectdb(base.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string err = PQerrorMessage(c);
    PQfinish(c);
    return {"", "cannot reach the test PostgreSQL server: " + err};
  }
  static int n = 0;
  const std::string db = "rel_" + std::to_string(getpid()) + "_" + std::to_string(++n);
  PGresult* r = PQexec(c, ("CREATE DATABASE " + db + " TEMPLATE template0").c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) return {"", "cannot create a test database"};
  return {base.substr(0, base.rfind('/') + 1) + db, ""};
}

inline Backend MakeBackend(const std::string& name, const TempDir& dir) {
  if (name == "sqlite") return {dir.path() + "/rota.db", ""};
  if (name == "postgres") return FreshPostgres();
  return {"", "unknown backend " + name};
}

inline const std::vector<std::string>& BackendNames() {
  static const std::vector<std::string> names = {"sqlite", "postgres"};
  return names;
}

// ---- Raw calls: exact bytes, exact path (no client-side URL encoding).
struct Raw {
  int status = 0;  // 0: no answer (transport error)
  std::string error;
  std::string body;
  Json json;  // parsed, or null
};

inline Reply ToReply(const Raw& r) {
  Reply out;
  out.status = r.status;
  out.raw = r.body;
  out.body = r.json;
  return out;
}

inline Raw Send(httplib::Client& c, const std::string& method, const std::string& path, const std::string& key,
                const std::string& body = "", const std::string& content_type = "application/json",
                const httplib::Headers& extra = {}) {
  httplib::Headers h = extra;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  httplib::Result r(nullptr, httplib::Error::Unknown);
  if (method == "GET") {
    r = c.Get(path, h);
  } else if (method == "DELETE") {
    r = body.empty() ? c.Delete(path, h) : c.Delete(path, h, body, content_type);
  } else if (method == "POST") {
    r = c.Post(path, h, body, content_type);
  } else if (method == "PUT") {
    r = c.Put(path, h, body, content_type);
  } else if (method == "PATCH") {
    r = c.Patch(path, h, body, content_type);
  }
  Raw out;
  if (!r) {
    out.error = httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  out.json = Json::parse(r->body, nullptr, false);
  if (out.json.is_discarded()) out.json = nullptr;
  return out;
}

inline std::unique_ptr<httplib::Client> RawClient(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_url_encode(false);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(2, 0);
  c->set_read_timeout(30, 0);
  c->set_write_timeout(30, 0);
  return c;
}

// Percent-encodes every byte but unreserved ones.
inline std::string Encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

// Every item of a list endpoint (`items` + `next_cursor`), in the order given.
inline std::vector<Json> AllItems(const RotaServer& s, const std::string& key, const std::string& path) {
  std::vector<Json> out;
  std::string cursor;
  const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
  for (int page = 0; page < 10000; ++page) {
    Reply r = s.Call("GET", path + sep + "limit=1000" + (cursor.empty() ? "" : "&cursor=" + Encode(cursor)), key);
    EXPECT_EQ(r.status, 200) << path << ": " << r.raw;
    if (r.status != 200) break;
    for (const Json& item : r.body["items"]) out.push_back(item);
    if (!r.body["next_cursor"].is_string() || r.body["items"].empty()) break;
    cursor = r.body["next_cursor"].get<std::string>();
  }
  return out;
}

// A 4xx with API.md's error body.
inline ::testing::AssertionResult IsClientError(const Reply& r) {
  if (r.status < 400 || r.status > 499) {
    return ::testing::AssertionFailure() << "expected a 4xx, got " << r.status << " " << r.raw.substr(0, 300);
  }
  return IsError(r, r.status);
}

// ---- A webhook receiver on loopback: every attempt, deduplicated by Rota-Delivery.
class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Json body = Json::parse(req.body, nullptr, false);
      std::lock_guard<std::mutex> lock(mu_);
      ++attempts_;
      const std::string delivery = req.get_header_value("Rota-Delivery");
      if (!deliveries_.insert(delivery).second) ++duplicates_;
      if (body.is_object() && body.contains("data") && body["data"].contains("decision_id") &&
          body["data"]["decision_id"].is_string()) {
        events_[body["data"]["decision_id"].get<std::string>()].insert(req.get_header_value("Rota-Event"));
      }
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  // Decision id → events received for it.
  std::map<std::string, std::set<std::string>> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  int attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }
  int duplicates() {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicates_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  int attempts_ = 0, duplicates_ = 0;
  std::set<std::string> deliveries_;
  std::map<std::string, std::set<std::string>> events_;
};

// ---- Figures printed at the end of a run.
class Figures {
 public:
  explicit Figures(std::string name) : name_(std::move(name)) {}
  void Set(const std::string& k, long long v) {
    if (!index_.count(k)) order_.push_back(k);
    index_[k] = v;
  }
  void Add(const std::string& k, long long v = 1) { Set(k, Get(k) + v); }
  long long Get(const std::string& k) const {
    auto it = index_.find(k);
    return it == index_.end() ? 0 : it->second;
  }
  ~Figures() {
    std::ostringstream out;
    out << "[reliability] " << name_ << (Full() ? " (full)" : " (short)") << ":";
    for (const std::string& k : order_) out << " " << k << "=" << index_.at(k);
    std::cout << out.str() << std::endl;
    ::testing::Test::RecordProperty("figures", out.str());
  }

 private:
  std::string name_;
  std::vector<std::string> order_;
  std::map<std::string, long long> index_;
};

}  // namespace rota::testing::reliability
