// The error body every boundary answers with.
#include "io/json_util.h"

#include <gtest/gtest.h>

namespace rota::io {
namespace {

TEST(ErrorBodyTest, AFileRowIsAlsoGivenAsANumber) {
  Status s = Status::Invalid("row 12", "unknown user \"u-9\"");
  Json body = ErrorBody(s);
  ASSERT_EQ(body["error"]["details"].size(), 1u) << body;
  EXPECT_EQ(body["error"]["details"][0]["path"], "row 12");
  EXPECT_EQ(body["error"]["details"][0]["row"], 12);
  EXPECT_EQ(body["error"]["code"], "validation_failed");
}

// A body's own field can be named like a row; one too long for a number stays a path
// (it used to throw, and the 422 became a 500).
TEST(ErrorBodyTest, AFieldNamedLikeAHugeRowIsOnlyAPath) {
  Status s = Status::Invalid("row 99999999999999999999", "unknown field");
  Json body = ErrorBody(s);
  ASSERT_EQ(body["error"]["details"].size(), 1u) << body;
  EXPECT_EQ(body["error"]["details"][0]["path"], "row 99999999999999999999");
  EXPECT_FALSE(body["error"]["details"][0].contains("row")) << body;
}

}  // namespace
}  // namespace rota::io
