// For the service's tests: a new SQLite store in a directory of its own, named for the
// running test, which the fixture removes in its TearDown (after everything that uses it).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/store.h"

namespace rota::service::testing {

// Makes `<temp>/rota-<what>-<pid>-<test>` afresh and opens `rota.db` in it; call under
// ASSERT_NO_FATAL_FAILURE.
inline void OpenTestStore(const std::string& what, std::filesystem::path* dir, std::unique_ptr<store::Store>* out) {
  *dir = std::filesystem::temp_directory_path() /
         ("rota-" + what + "-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(*dir);
  std::filesystem::create_directories(*dir);
  auto s = store::OpenStore((*dir / "rota.db").string());
  ASSERT_TRUE(s.ok()) << s.status().message();
  *out = std::move(s).value();
}

}  // namespace rota::service::testing
