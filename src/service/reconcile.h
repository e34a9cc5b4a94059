// Keeps rotation state consistent when the configuration changes: pools keep their
// join positions and pointer where their members did not change order (new members
// join at the end), distribution keys keep their credits and counters unless the key
// changed ("redistribution" resets that value, SPEC §5.2), removed pools and
// distributions lose their state.
#pragma once

#include <string>
#include <vector>

#include "core/model.h"
#include "store/store.h"

namespace rota::service {

// One line of "what changed": {kind, id, change: added|changed|removed}.
struct Change {
  std::string kind;
  std::string id;
  std::string change;
};

// Fixes `after`'s pool positions against `before` and, unless `tx` is null, writes the
// state changes. Returns what changed.
Result<std::vector<Change>> Reconcile(const core::Config& before, core::Config& after, store::Tx* tx);

}  // namespace rota::service
