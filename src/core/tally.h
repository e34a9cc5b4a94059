// Counts of a run of decisions: records per owner, and per distribution key the share
// each user got beside its target. Used by `rota simulate` and the simulate endpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/decision.h"
#include "core/workspace.h"

namespace rota::core {

class Tally {
 public:
  void Add(const Decision& d);

  struct OwnerRow {
    std::string owner;  // empty: unassigned
    int64_t count = 0;
    double percent = 0;  // of all decisions
  };
  struct KeyRow {
    std::string distribution;
    std::string value;
    std::string user;
    int64_t count = 0;
    double percent = 0;         // of the key's picks
    double target_percent = 0;  // the key's percentage for the user
  };

  int64_t total() const { return total_; }
  std::vector<OwnerRow> Owners() const;  // most records first; unassigned last
  std::vector<KeyRow> Keys(const Workspace& ws) const;
  const std::map<std::string, int64_t>& unassigned_by_reason() const { return unassigned_; }

 private:
  int64_t total_ = 0;
  std::map<std::string, int64_t> owners_;
  std::map<std::string, int64_t> unassigned_;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> key_picks_;
};

}  // namespace rota::core
