// For the server's tests: a service over a new SQLite store in a temporary directory,
// removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "service/clock.h"
#include "service/service.h"
#include "store/store.h"

namespace rota::http {

class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rota-http-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::OpenStore(dir_ + "/rota.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    service_ = std::make_unique<service::Service>(*store_, clock_);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  service::SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::Service> service_;
};

}  // namespace rota::http
