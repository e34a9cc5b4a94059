#include "core/tally.h"

#include <algorithm>

namespace rota::core {

void Tally::Add(const Decision& d) {
  ++total_;
  if (d.owner) {
    ++owners_[*d.owner];
  } else {
    ++unassigned_[d.reason ? std::string(ToString(*d.reason)) : "unknown"];
  }
  for (const KeyPick& k : d.changes.keys) ++key_picks_[{k.distribution, k.value, k.winner}];
}

std::vector<Tally::OwnerRow> Tally::Owners() const {
  std::vector<OwnerRow> rows;
  int64_t unassigned = 0;
  for (const auto& [reason, n] : unassigned_) unassigned += n;
  for (const auto& [owner, n] : owners_) rows.push_back({owner, n, 0});
  std::stable_sort(rows.begin(), rows.end(), [](const OwnerRow& a, const OwnerRow& b) { return a.count > b.count; });
  if (unassigned > 0) rows.push_back({"", unassigned, 0});
  for (OwnerRow& r : rows) r.percent = total_ ? 100.0 * static_cast<double>(r.count) / static_cast<double>(total_) : 0;
  return rows;
}

std::vector<Tally::KeyRow> Tally::Keys(const Workspace& ws) const {
  std::vector<KeyRow> rows;
  for (const Distribution& d : ws.config().distributions) {
    const CompiledDistribution* cd = ws.FindDistribution(d.id);
    for (const DistributionKey& k : d.keys) {
      const CompiledKey& ck = cd->keys.at(Fold(k.value));
      int64_t picks = 0;
      for (const std::string& u : ck.users) {
        auto it = key_picks_.find({d.id, ck.folded_value, u});
        if (it != key_picks_.end()) picks += it->second;
      }
      if (picks == 0) continue;
      for (const KeyOwner& o : k.owners) {
        auto it = key_picks_.find({d.id, ck.folded_value, o.user});
        int64_t n = it == key_picks_.end() ? 0 : it->second;
        rows.push_back({d.id, k.value, o.user, n, 100.0 * static_cast<double>(n) / static_cast<double>(picks),
                        o.percent});
      }
    }
  }
  return rows;
}

}  // namespace rota::core
