// Open records per owner (table open_counts, migration 5), shared by both stores.
//
// Each row holds how many open records of one object type a user owns in a workspace.
// Tx::PutRecord keeps it exact: it reads the stored record's open flag and owners, and
// adds the difference its new ones make. Tx::OpenRecords is then one row, less the
// record being decided if that one counts: the caps (max_open) and least-loaded read it
// for each candidate of each decision (SPEC §5), so it must not grow with the records.
// The owners themselves stay in the record's body; a record's row changes, not one row
// per owner in an index of its own (the pages written per decision, docs/performance.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace rota::store::open_counts {

// What of a stored record the counts follow: whether it is open, and its owners, each
// once.
struct Ownership {
  bool open = false;
  std::vector<std::string> owners;
  bool Counts(const std::string& user) const;  // open and owned by `user`
};

// A stored record's ownership from its open column and the owners of its body (the JSON
// array WriteRecord writes); an owner listed twice counts once.
Ownership Parse(bool open, const std::string& owners_json);

// How each user's count changes when a record goes from `before` (nullopt: a new
// record) to `after`. Users whose count does not change are left out.
std::map<std::string, int64_t> Delta(const std::optional<Ownership>& before, const Ownership& after);

// `after` as Delta wants it, from a record about to be stored.
Ownership Of(bool open, const std::vector<std::string>& owners);

// The ownership of the record a transaction last read or wrote, as stored: a decision
// reads its record, asks OpenRecords to exclude it for each candidate, then writes it,
// and each needs what the record counted for. Forgotten when a unit is undone.
class Memory {
 public:
  using Stored = std::optional<Ownership>;  // nullopt: not stored

  // (type, id)'s ownership, remembered or else read by `read` (a Result<Stored>) and
  // remembered when the read succeeds.
  template <typename Read>
  Result<Stored> Get(const std::string& type, const std::string& id, Read read) {
    if (known_ && known_->type == type && known_->id == id) return known_->stored;
    Result<Stored> stored = read();
    if (stored.ok()) known_ = Known{type, id, *stored};
    return stored;
  }
  void Remember(const std::string& type, const std::string& id, Stored stored) {
    known_ = Known{type, id, std::move(stored)};
  }
  void Forget() { known_.reset(); }

 private:
  struct Known {
    std::string type, id;
    Stored stored;
  };
  std::optional<Known> known_;
};

}  // namespace rota::store::open_counts
