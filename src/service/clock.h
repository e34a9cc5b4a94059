// Time for the service layer. Only cli/ and http/ construct a SystemClock; tests pass
// a fixed or stepped clock.
#pragma once

#include <atomic>
#include <chrono>

#include "core/model.h"

namespace rota::service {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual core::Time Now() = 0;
};

class SystemClock final : public Clock {
 public:
  core::Time Now() override {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }
};

// A clock tests set by hand.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(core::Time t) : t_(t.time_since_epoch().count()) {}
  core::Time Now() override { return core::Time(std::chrono::seconds(t_.load())); }
  void Set(core::Time t) { t_ = t.time_since_epoch().count(); }

 private:
  std::atomic<int64_t> t_;
};

}  // namespace rota::service
