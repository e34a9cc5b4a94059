// The write-back sender's paths that need no CRM: a deleted connector, a server
// without its secret key (kept until the key is back, then given up), a row that
// cannot be read.
#include <gtest/gtest.h>

#include "service/crm.h"

namespace rota::service {
namespace {

using State = store::AttemptResult::State;

store::DeliveryRow Row(int64_t attempts) {
  store::DeliveryRow d;
  d.id = "wb_1";
  d.connector = "pd";
  d.event = "owner.write_back";
  d.body = connectors::ToJson({"deal", "4002", "7", "dec_1"}).dump();
  d.attempts = attempts;
  d.next_attempt_at = 1000;
  return d;
}

TEST(SendWriteBack, ConnectorDeletedFailsAtOnce) {
  auto r = SendWriteBack(nullptr, Row(0), DeliveryOptions{}, 5000);
  EXPECT_EQ(r.state, State::kFailed);
  EXPECT_EQ(r.error, "connector deleted");
}

TEST(SendWriteBack, NoSecretKeyWaitsThenGivesUp) {
  auto box = connectors::SecretBox::FromText("0123456789abcdef-key");
  ASSERT_TRUE(box.ok());
  store::DeliveryRow d = Row(0);
  d.target = store::ConnectorRow{"pd", "pipedrive", R"({"id":"pd","kind":"pipedrive","api_base":"http://127.0.0.1:1"})",
                                 box->Seal(R"({"webhook_user":"u","webhook_password":"p","api_token":"t"})"), 1, 1};
  DeliveryOptions options;
  options.max_attempts = 3;
  auto early = SendWriteBack(nullptr, d, options, 5000);
  EXPECT_EQ(early.state, State::kRetry);
  EXPECT_GT(early.next_attempt_at, 5000);
  EXPECT_NE(early.error.find("ROTA_SECRET_KEY"), std::string::npos);
  d.attempts = 2;
  EXPECT_EQ(SendWriteBack(nullptr, d, options, 5000).state, State::kFailed);
  // Another key cannot open the credentials either.
  auto other = connectors::SecretBox::FromText("another-key-0123456789");
  d.attempts = 0;
  auto wrong = SendWriteBack(&*other, d, options, 5000);
  EXPECT_EQ(wrong.state, State::kRetry);
  EXPECT_NE(wrong.error.find("cannot be opened"), std::string::npos);
  // With the key, a row whose body is unreadable fails at once.
  d.body = "not json";
  EXPECT_EQ(SendWriteBack(&*box, d, options, 5000).state, State::kFailed);
}

}  // namespace
}  // namespace rota::service
