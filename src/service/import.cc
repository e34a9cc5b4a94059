// The distribution keys import (SPEC §8): a CSV or XLSX file of (value, user,
// percentage) rows becomes the keys of the values it names, all or nothing. The file's
// rows are read by io/keys_file; whether users exist and percentages add up is the
// core's validation, run through Mutate(), whose problems are turned back into the
// file's row numbers.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "core/text.h"
#include "io/keys_file.h"
#include "service/service.h"

namespace rota::service {
namespace {

// The rows of one value, in file order.
struct Group {
  std::string value;                      // as its first row wrote it
  std::string folded;                     // core::Fold(value): what keys match on
  std::vector<const io::KeyRow*> rows;    // the rows without problems of their own
  std::vector<int> all_rows;              // every row naming the value
  bool complete = true;                   // no row of the value had a problem of its own
};

// "rows 2, 3, 4": the first ten, then how many more. Each of a value's rows names the
// value's rows: in full, a value on 5 000 rows made a 145 MB answer.
std::string RowList(const std::vector<int>& rows) {
  constexpr size_t kShown = 10;
  std::string out = rows.size() == 1 ? "row " : "rows ";
  for (size_t i = 0; i < rows.size() && i < kShown; ++i) out += (i ? ", " : "") + std::to_string(rows[i]);
  if (rows.size() > kShown) out += " and " + std::to_string(rows.size() - kShown) + " more";
  return out;
}

// The number of a "row N" path, or 0.
int RowOf(const std::string& path) { return path.rfind("row ", 0) == 0 ? std::atoi(path.c_str() + 4) : 0; }

// "owners[3]…" → 3, or -1.
int OwnerIndex(std::string_view rest) {
  const std::string_view prefix = ".owners[";
  if (rest.substr(0, prefix.size()) != prefix) return -1;
  return std::atoi(std::string(rest.substr(prefix.size())).c_str());
}

}  // namespace

Result<Json> Service::ImportKeys(const std::string& ws, const std::string& id, const std::string& bytes, bool xlsx,
                                 bool header) {
  auto file = xlsx ? io::ReadKeysXlsx(bytes, header) : io::ReadKeysCsv(bytes, header);
  if (!file.ok()) return file.status();
  if (file->rows.empty() && file->problems.empty()) {
    return Status::Invalid("file", header ? "the file holds no rows below its header" : "the file holds no rows");
  }

  std::vector<Group> groups;
  std::map<std::string, size_t> by_folded;
  for (const io::KeyRow& row : file->rows) {
    std::string folded = core::Fold(row.value);
    if (folded.empty()) continue;  // an empty value: its row has the problem already
    auto [it, fresh] = by_folded.emplace(folded, groups.size());
    if (fresh) groups.push_back({row.value, folded, {}, {}, true});
    Group& g = groups[it->second];
    g.all_rows.push_back(row.row);
    if (row.ok) {
      g.rows.push_back(&row);
    } else {
      g.complete = false;
    }
  }

  // With problems in the file already, the core still checks the good rows (so that
  // every row's problem is listed), but nothing is stored.
  const bool dry_run = !file->problems.empty();
  std::string prefix;                    // "distributions[i].keys"
  std::map<size_t, const Group*> by_key;  // key index → its group
  std::vector<Problem> unknown_users;     // of the rows with a problem of their own
  auto result = Mutate(
      ws,
      MutateFn([&](core::Config& c, store::Tx& tx) -> Status {
        auto d = std::find_if(c.distributions.begin(), c.distributions.end(),
                              [&](const core::Distribution& x) { return x.id == id; });
        if (d == c.distributions.end()) return Status::NotFound("unknown distribution \"" + id + "\"");
        // The core checks the rows it is given; a row with a problem of its own is not
        // given, so its user is checked here (SPEC §8: every row's error listed).
        unknown_users.clear();
        std::set<std::string> users;
        for (const core::User& u : c.users) users.insert(u.id);
        for (const io::KeyRow& row : file->rows) {
          if (row.ok || row.user.empty()) continue;
          if (!users.count(row.user)) unknown_users.push_back({io::RowPath(row.row), "unknown user \"" + row.user + "\""});
        }
        prefix = io::Index("distributions", static_cast<size_t>(d - c.distributions.begin())) + ".keys";
        // The distribution's keys by folded value, once: a file of many values against a
        // distribution of many keys stays linear (the write lock is held meanwhile).
        std::map<std::string, size_t> key_at;
        for (size_t i = 0; i < d->keys.size(); ++i) key_at.emplace(core::Fold(d->keys[i].value), i);
        for (const Group& g : groups) {  // in the file's order
          if (g.rows.empty()) continue;
          core::DistributionKey key{g.value, {}};
          for (const io::KeyRow* r : g.rows) key.owners.push_back({r->user, r->percent});
          auto [at, fresh] = key_at.emplace(g.folded, d->keys.size());
          if (fresh) {
            d->keys.push_back(std::move(key));
          } else {
            d->keys[at->second] = std::move(key);
          }
          by_key[at->second] = &g;
          // An import is a redistribution: the value starts afresh even when its owners
          // and percentages did not change.
          if (Status s = tx.ResetKeyState(id, g.folded); !s.ok()) return s;
        }
        return Status::Ok();
      }),
      dry_run);

  if (result.ok() && !dry_run) {
    return Json{{"imported", file->rows.size()}, {"values", groups.size()}};
  }
  if (!result.ok() && result.status().code() != Code::kInvalid) return result.status();

  // Every problem, by row: the file's own, then the core's, turned back into rows.
  std::vector<Problem> problems = file->problems;
  problems.insert(problems.end(), unknown_users.begin(), unknown_users.end());
  if (!result.ok()) {
    for (const Problem& p : result.status().details()) {
      const std::string& path = p.path;
      if (prefix.empty() || path.rfind(prefix + "[", 0) != 0) {
        problems.push_back(p);
        continue;
      }
      size_t close = path.find(']', prefix.size());
      size_t k = std::strtoul(path.c_str() + prefix.size() + 1, nullptr, 10);
      auto g = by_key.find(k);
      if (close == std::string::npos || g == by_key.end()) {
        problems.push_back(p);  // a key the file did not name
        continue;
      }
      const Group& group = *g->second;
      std::string_view rest = std::string_view(path).substr(close + 1);
      int j = OwnerIndex(rest);
      if (j >= 0 && static_cast<size_t>(j) < group.rows.size()) {
        problems.push_back({io::RowPath(group.rows[j]->row), p.message});
      } else if (rest == ".owners") {
        // The sum of a value with a bad row is not known: that row's problem says why.
        if (!group.complete) continue;
        // Each of the value's rows is bad (SPEC §8: every row's error listed).
        for (int row : group.all_rows) {
          problems.push_back({io::RowPath(row), p.message + " for the value \"" + group.value + "\" (" +
                                                    RowList(group.all_rows) + ")"});
        }
      } else {
        problems.push_back({io::RowPath(group.all_rows.front()), p.message});
      }
    }
  }
  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& a, const Problem& b) { return RowOf(a.path) < RowOf(b.path); });
  if (problems.empty()) problems.push_back({"file", "the file was not imported"});
  return Status::Invalid(std::move(problems));
}

}  // namespace rota::service
