// docs/openapi.yaml and the server's routing table name the same routes: every route
// the server installs is documented, and every documented route exists.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "http/server.h"
#include "http/service_fixture.h"

#ifndef ROTA_SOURCE_DIR
#error "ROTA_SOURCE_DIR must name the project's source directory"
#endif

namespace rota::http {
namespace {

using Route = std::pair<std::string, std::string>;  // {"POST", "/v1/pools/{id}/members"}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The routes under `paths:`: a path is a line of exactly two spaces, the path and ':';
// a method is a line of exactly four spaces, a lowercase HTTP method and ':'.
std::set<Route> FileRoutes(const std::string& text) {
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
  std::set<Route> out;
  std::istringstream in(text);
  std::string line, path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] != ' ' && line[0] != '#') {  // a top-level key
      in_paths = line == "paths:";
      path.clear();
      continue;
    }
    if (!in_paths) continue;
    if (line.size() > 3 && line.compare(0, 2, "  ") == 0 && line[2] == '/' && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      if (path.size() >= 2 && (path.front() == '"' || path.front() == '\'') && path.back() == path.front()) {
        path = path.substr(1, path.size() - 2);
      }
      continue;
    }
    if (!path.empty() && line.size() > 5 && line.compare(0, 4, "    ") == 0 && line[4] != ' ' &&
        line.back() == ':') {
      std::string word = line.substr(4, line.size() - 5);
      if (kMethods.count(word)) out.insert({ToUpper(word), path});
    }
  }
  return out;
}

std::string Join(const std::set<Route>& routes) {
  std::string s;
  for (const auto& [m, p] : routes) s += "  " + m + " " + p + "\n";
  return s;
}

class OpenApi : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    if (HasFatalFailure()) return;
    Options o;
    o.port = 0;
    o.log_requests = false;
    server_ = std::make_unique<Server>(*service_, o);
  }
  void TearDown() override {
    server_.reset();
    ServiceFixture::TearDown();
  }

  std::unique_ptr<Server> server_;
};

TEST_F(OpenApi, ParserReadsPathsAndMethodsOnly) {
  const std::string yaml =
      "openapi: 3.1.0\n"
      "info:\n"
      "  /not-a-path:\n"
      "    get:\n"
      "paths:\n"
      "  /v1/pools/{id}:\n"
      "    parameters:\n"
      "      - name: id\n"
      "    get:\n"
      "      summary: x\n"
      "      post:\n"
      "    delete:\n"
      "  /healthz:\n"
      "    get:\n"
      "components:\n"
      "  /v1/other:\n"
      "    put:\n";
  EXPECT_EQ(FileRoutes(yaml),
            (std::set<Route>{{"GET", "/v1/pools/{id}"}, {"DELETE", "/v1/pools/{id}"}, {"GET", "/healthz"}}));
}

TEST_F(OpenApi, FileAndServerNameTheSameRoutes) {
  const std::string file = std::string(ROTA_SOURCE_DIR) + "/docs/openapi.yaml";
  std::ifstream in(file);
  ASSERT_TRUE(in) << "cannot read " << file;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::set<Route> documented = FileRoutes(ss.str());

  std::set<Route> served;
  for (const RouteInfo& r : server_->routes()) served.insert({r.method, r.path});
  ASSERT_FALSE(served.empty());

  std::set<Route> undocumented, unserved;
  for (const Route& r : served) {
    if (!documented.count(r)) undocumented.insert(r);
  }
  for (const Route& r : documented) {
    if (!served.count(r)) unserved.insert(r);
  }
  EXPECT_TRUE(undocumented.empty()) << "routes the server installs but " << file << " does not document:\n"
                                    << Join(undocumented);
  EXPECT_TRUE(unserved.empty()) << "routes " << file << " documents but the server does not install:\n"
                                << Join(unserved);
}

}  // namespace
}  // namespace rota::http
