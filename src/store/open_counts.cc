#include "store/open_counts.h"

#include <algorithm>

#include "io/json_util.h"

namespace rota::store::open_counts {
namespace {

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

bool Ownership::Counts(const std::string& user) const {
  return open && std::binary_search(owners.begin(), owners.end(), user);
}

Ownership Of(bool open, const std::vector<std::string>& owners) {
  Ownership o{open, owners};
  SortUnique(o.owners);
  return o;
}

Ownership Parse(bool open, const std::string& owners_json) {
  Ownership o{open, {}};
  io::Json j = io::Json::parse(owners_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_array()) {
    for (const io::Json& u : j) {
      if (u.is_string()) o.owners.push_back(u.get<std::string>());
    }
  }
  SortUnique(o.owners);
  return o;
}

std::map<std::string, int64_t> Delta(const std::optional<Ownership>& before, const Ownership& after) {
  std::map<std::string, int64_t> d;
  if (before && before->open) {
    for (const std::string& u : before->owners) --d[u];
  }
  if (after.open) {
    for (const std::string& u : after.owners) ++d[u];
  }
  std::erase_if(d, [](const auto& kv) { return kv.second == 0; });
  return d;
}

}  // namespace rota::store::open_counts
