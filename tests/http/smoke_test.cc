#include <gtest/gtest.h>

#include "harness.h"

namespace rota::testing {

TEST(ServerSmoke, StartsPrintsAKeyAndAnswersHealthz) {
  RotaServer server;
  ASSERT_FALSE(server.admin_key().empty());
  Reply r = server.Call("GET", "/healthz", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "ok");
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
  EXPECT_NE(out.find("address in use"), std::string::npos) << out;
  EXPECT_EQ(out.find("admin key"), std::string::npos) << out;
  EXPECT_EQ(first.Call("GET", "/healthz", "").status, 200);
  // The start that failed made no key: the first one that succeeds prints it.
  RotaServer second(dir.path() + "/second.db");
  EXPECT_FALSE(second.admin_key().empty()) << second.Output();
  EXPECT_EQ(second.Call("GET", "/v1/users", second.admin_key()).status, 200);
}

}  // namespace rota::testing
