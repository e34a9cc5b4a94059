// Shared helpers for the HTTP API tests (api_*_test.cc): a caller bound to one key,
// checks of API.md's error body, seeding of users, pools and rules, and the CLI's
// printed keys.
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "harness.h"

namespace rota::testing {

// Calls the server with one key.
struct As {
  const RotaServer& s;
  std::string key;

  Reply Get(const std::string& path, const httplib::Headers& h = {}) const { return s.Call("GET", path, key, nullptr, h); }
  Reply Post(const std::string& path, const Json& body, const httplib::Headers& h = {}) const {
    return s.Call("POST", path, key, body, h);
  }
  Reply Put(const std::string& path, const Json& body, const httplib::Headers& h = {}) const {
    return s.Call("PUT", path, key, body, h);
  }
  Reply Patch(const std::string& path, const Json& body) const { return s.Call("PATCH", path, key, body); }
  Reply Delete(const std::string& path) const { return s.Call("DELETE", path, key); }
};

// The body is API.md's error: {"error": {"code", "message", "details": [{"path", "message"}]}}
// with `status` (and `code` when given).
inline ::testing::AssertionResult IsError(const Reply& r, int status, const std::string& code = "") {
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << " (status " << r.status << ", body " << r.raw << ")";
  };
  if (r.status != status) return fail("expected status " + std::to_string(status));
  if (!r.body.is_object() || !r.body.contains("error") || !r.body["error"].is_object()) return fail("no error object");
  const Json& e = r.body["error"];
  if (!e.contains("code") || !e["code"].is_string() || e["code"].get<std::string>().empty()) return fail("no code");
  if (!std::regex_match(e["code"].get<std::string>(), std::regex("[a-z][a-z0-9_]*"))) return fail("code not snake_case");
  if (!e.contains("message") || !e["message"].is_string() || e["message"].get<std::string>().empty()) {
    return fail("no message");
  }
  if (!e.contains("details") || !e["details"].is_array()) return fail("no details list");
  for (const Json& d : e["details"]) {
    if (!d.is_object() || !d.contains("message") || !d["message"].is_string()) return fail("a detail lacks a message");
    if (!(d.contains("path") && d["path"].is_string()) && !d.contains("row")) return fail("a detail lacks a path");
  }
  if (!code.empty() && e["code"] != code) return fail("expected code " + code);
  return ::testing::AssertionSuccess();
}

inline std::vector<std::string> DetailPaths(const Reply& r) {
  std::vector<std::string> out;
  if (!r.body.is_object() || !r.body.contains("error")) return out;
  for (const Json& d : r.body["error"].value("details", Json::array())) {
    if (d.contains("path") && d["path"].is_string()) out.push_back(d["path"].get<std::string>());
  }
  return out;
}

// Some detail's path is `path` exactly.
inline ::testing::AssertionResult HasDetail(const Reply& r, const std::string& path) {
  for (const std::string& p : DetailPaths(r)) {
    if (p == path) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no detail with path \"" << path << "\" in " << r.raw;
}

// Some detail's path ends with `suffix` (for paths whose prefix is a matter of taste).
inline ::testing::AssertionResult HasDetailEnding(const Reply& r, const std::string& suffix) {
  for (const std::string& p : DetailPaths(r)) {
    if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no detail whose path ends with \"" << suffix << "\" in " << r.raw;
}

inline Json User(const std::string& id) { return {{"id", id}, {"name", "User " + id}, {"email", id + "@example.com"}}; }

inline void SeedUsers(const As& a, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    Reply r = a.Post("/v1/users", User(id));
    ASSERT_EQ(r.status, 201) << r.raw;
  }
}

inline Json Pool(const std::string& id, const std::vector<std::string>& members, const std::string& type = "deal") {
  return {{"id", id}, {"name", "Pool " + id}, {"object_type", type}, {"members", members}};
}

// A condition every record meets (no such property).
inline Json Always() { return {{"field", "never_set"}, {"op", "is_empty"}}; }

inline Json Rule(const std::string& id, const Json& assign, const std::string& type = "deal",
                 const Json& events = Json::array({"created"}), const Json& all = Json::array({Always()})) {
  return {{"id", id},
          {"name", "Rule " + id},
          {"object_type", type},
          {"events", events},
          {"active", true},
          {"conditions", {{"all", all}, {"any", Json::array()}}},
          {"assign", assign}};
}

inline Json ToPool(const std::string& pool) { return {{"type", "pool"}, {"pool", pool}}; }

inline Json AssignBody(const std::string& record_id, const std::string& event = "created",
                       const Json& properties = Json::object(), const std::string& type = "deal") {
  return {{"object_type", type},
          {"event", event},
          {"record", {{"id", record_id}, {"properties", properties}, {"owners", Json::array()}, {"open", true}}}};
}

// A request to send a record to a pool or rule, as the console makes it: the record's id
// alone (a member key may send no more).
inline Json Requested(const std::string& record_id, const Json& target, const std::string& type = "deal") {
  return {{"object_type", type}, {"event", "assign_requested"}, {"record", {{"id", record_id}}}, {"target", target}};
}

// Users A, B, C; pool "p" (deal) of A, B, C; rule "r-pool" sends created deals to it.
inline void SeedRoundRobin(const As& a) {
  SeedUsers(a, {"A", "B", "C"});
  Reply r = a.Post("/v1/pools", Pool("p", {"A", "B", "C"}));
  ASSERT_EQ(r.status, 201) << r.raw;
  r = a.Post("/v1/rules", Rule("r-pool", ToPool("p")));
  ASSERT_EQ(r.status, 201) << r.raw;
}

// The owner of a fresh created deal.
inline std::string AssignOwner(const As& a, const std::string& record_id) {
  Reply r = a.Post("/v1/assign", AssignBody(record_id));
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body.is_object() && r.body["owner"].is_string() ? r.body["owner"].get<std::string>() : "";
}

inline size_t HistoryCount(const As& admin) {
  Reply r = admin.Get("/v1/history?limit=1000");
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body.is_object() ? r.body["items"].size() : 0;
}

// "key (shown once, keep it): rota_…" as `rota keys create` and `rota workspaces create` print.
inline std::string PrintedKey(const std::string& out) {
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(\(shown once, keep it\): (rota_[0-9a-f]+))"))) return m[1];
  return "";
}

inline std::string PrintedKeyId(const std::string& out) {
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(key id: (\S+))"))) return m[1];
  return "";
}

// A key made by `rota keys create` on the server's database while it runs.
inline std::string CliKey(const RotaServer& s, const std::string& role, bool can_reassign,
                          const std::string& workspace = "default") {
  std::vector<std::string> args = {"keys", "create", "--db", s.db(), "--workspace", workspace, "--role", role};
  if (can_reassign) args.push_back("--can-reassign");
  auto [code, out] = RunRota(args);
  EXPECT_EQ(code, 0) << out;
  std::string key = PrintedKey(out);
  EXPECT_FALSE(key.empty()) << out;
  return key;
}

}  // namespace rota::testing
