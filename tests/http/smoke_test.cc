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

}  // namespace rota::testing
