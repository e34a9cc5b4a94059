// Configuration use cases: users, pools, rules, distributions, settings and the whole
// document. Every change runs through Mutate(): one write transaction, the core's
// validator, the state reconciliation, a new config version.
#include <algorithm>
#include <set>

#include "connectors/crypto.h"
#include "core/decide.h"
#include "core/text.h"
#include "core/validate.h"
#include "io/config_json.h"
#include "service/list_page.h"
#include "service/reconcile.h"
#include "service/service.h"

namespace rota::service {
namespace {

Json ChangesJson(const std::vector<Change>& changes) {
  Json list = Json::array();
  for (const Change& c : changes) list.push_back({{"kind", c.kind}, {"id", c.id}, {"change", c.change}});
  return list;
}

constexpr const char* kReservedRuleId = "priority";

// Is `path` one into the workspace's document (rather than one already relative to a body)?
bool InWorkspace(const std::string& path) {
  for (const char* top : {"users[", "pools[", "distributions[", "rules[", "records[", "settings."}) {
    if (path.rfind(top, 0) == 0) return true;
  }
  return path == "settings";
}

// Problems about the entity at `prefix` (e.g. "rules[3]") are reported relative to it,
// as the client sent only that entity; a problem elsewhere in the workspace that the
// change causes (a rule using a distribution whose type changed) is about the body as a
// whole (path ""), its message saying where.
Status Relative(const Status& s, const std::string& prefix) {
  if (prefix.empty() || s.details().empty()) return s;
  std::vector<Problem> out;
  for (Problem p : s.details()) {
    if (p.path == prefix) {
      p.path = "";
    } else if (p.path.rfind(prefix + ".", 0) == 0) {
      p.path = p.path.substr(prefix.size() + 1);
    } else if (InWorkspace(p.path)) {
      p.message = "in the workspace's " + p.path + ": " + p.message;
      p.path = "";
    }
    out.push_back(std::move(p));
  }
  return Status::Invalid(std::move(out));
}

// A body with shape problems (`shape`, relative to the entity at `prefix` in `c`, which
// holds the entity as read) is refused naming those and also what the core finds wrong
// with the entity where the shape left something to check: one 422 naming each problem.
Status WithMeaning(io::Problems& shape, const core::Config& c, const std::string& prefix) {
  std::vector<Problem> meaning;
  for (Problem sp : core::Validate(c)) {
    if (sp.path == prefix) {
      sp.path = "";
    } else if (sp.path.rfind(prefix + ".", 0) == 0) {
      sp.path = sp.path.substr(prefix.size() + 1);
    } else {
      continue;  // not about this entity
    }
    meaning.push_back(std::move(sp));
  }
  return Status::Invalid(io::WithMeaning(shape.list(), std::move(meaning)));
}

Status NotFound(const char* kind, const std::string& id) {
  return Status::NotFound(std::string("unknown ") + kind + " \"" + id + "\"");
}

template <typename T>
T* Find(std::vector<T>& list, const std::string& id) {
  auto it = std::find_if(list.begin(), list.end(), [&](const T& x) { return x.id == id; });
  return it == list.end() ? nullptr : &*it;
}
template <typename T>
const T* Find(const std::vector<T>& list, const std::string& id) {
  auto it = std::find_if(list.begin(), list.end(), [&](const T& x) { return x.id == id; });
  return it == list.end() ? nullptr : &*it;
}
template <typename T>
size_t IndexOf(const std::vector<T>& list, const std::string& id) {
  return static_cast<size_t>(std::find_if(list.begin(), list.end(), [&](const T& x) { return x.id == id; }) -
                             list.begin());
}

// An id for a created object that omitted one.
void EnsureId(std::string& id, const char* prefix) {
  if (id.empty()) id = NewId(prefix);
}

// A place in the configuration by the ids an admin knows: "rules[3].assign.distribution"
// is rule "r-county" (assign.distribution).
std::string UseName(const std::string& path, const core::Config& c) {
  auto named = [&](const char* list, const char* kind, auto& items) -> std::optional<std::string> {
    const std::string head = std::string(list) + "[";
    if (path.rfind(head, 0) != 0) return std::nullopt;
    const size_t close = path.find(']', head.size());
    if (close == std::string::npos) return std::nullopt;
    const std::string digits = path.substr(head.size(), close - head.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const size_t i = std::stoul(digits);
    if (i >= items.size()) return std::nullopt;
    const std::string rest = close + 2 <= path.size() ? path.substr(close + 2) : "";
    return std::string(kind) + " \"" + items[i].id + "\"" + (rest.empty() ? "" : " (" + rest + ")");
  };
  if (auto n = named("users", "user", c.users)) return *n;
  if (auto n = named("pools", "pool", c.pools)) return *n;
  if (auto n = named("rules", "rule", c.rules)) return *n;
  if (auto n = named("distributions", "distribution", c.distributions)) return *n;
  const std::string owners = "settings.default_owners.";
  if (path.rfind(owners, 0) == 0) return "the default owner of " + path.substr(owners.size()) + " records (settings)";
  return path;
}

// Deleting something still used elsewhere is a conflict naming each use: the places
// that the configuration without it (`without`) finds wanting (it was valid with it).
Status InUse(const core::Config& without, const std::string& what) {
  std::vector<Problem> uses;
  std::string where;
  for (const Problem& p : core::Validate(without)) {
    const std::string name = UseName(p.path, without);
    uses.push_back({p.path, name + " uses " + what});
    where += (where.empty() ? "" : ", ") + name;
  }
  if (uses.empty()) return Status::Ok();
  return {Code::kConflict, "in_use", what + " is still in use by " + where, uses};
}


// Merges `patch` (RFC 7396) into the entity `id` of `list` through its JSON form and reads
// it back; its id cannot change. Problems are reported with paths in `list_name[i]`.
template <typename T, typename Write, typename Read>
Status PatchIn(core::Config& c, std::vector<T>& list, const char* kind, const char* list_name, const std::string& id,
               const Json& patch, Write write, Read read, size_t* index) {
  T* entity = Find(list, id);
  if (entity == nullptr) return NotFound(kind, id);
  *index = IndexOf(list, id);
  Json merged = write(*entity);
  merged.merge_patch(patch);
  merged["id"] = id;
  io::Problems p;
  T updated = read(merged, "", p);
  if (patch.contains("id") && patch["id"] != id) p.Add("id", std::string("a ") + kind + "'s id cannot change");
  *entity = std::move(updated);
  if (!p.empty()) return WithMeaning(p, c, io::Index(list_name, *index));
  return Status::Ok();
}

// Removes the entity `id` from `list`.
template <typename T>
Status EraseFrom(std::vector<T>& list, const char* kind, const std::string& id) {
  if (!Find(list, id)) return NotFound(kind, id);
  list.erase(list.begin() + static_cast<long>(IndexOf(list, id)));
  return Status::Ok();
}

}  // namespace

Status CheckChange(const core::Config& before, const core::Config& after) {
  std::vector<Problem> problems;
  // PUT /v1/rules/priority orders the rules, so a new rule cannot take that id (one
  // stored before it was reserved keeps working).
  for (size_t i = 0; i < after.rules.size(); ++i) {
    if (after.rules[i].id == kReservedRuleId && !Find(before.rules, kReservedRuleId)) {
      problems.push_back({io::Index("rules", i) + ".id", "\"priority\" is reserved (PUT /v1/rules/priority sets the order)"});
    }
  }
  // A new object's id fits a list's cursor in a URL (one stored before keeps working).
  auto new_ids = [&](const auto& now, const auto& was, const char* list) {
    for (size_t i = 0; i < now.size(); ++i) {
      if (Find(was, now[i].id) != nullptr) continue;
      if (auto problem = io::NewIdProblem(now[i].id)) problems.push_back({io::Index(list, i) + ".id", *problem});
    }
  };
  new_ids(after.users, before.users, "users");
  new_ids(after.pools, before.pools, "pools");
  new_ids(after.distributions, before.distributions, "distributions");
  new_ids(after.rules, before.rules, "rules");
  // A `between` whose ends are the wrong way round never holds: refused in a rule whose
  // conditions this change sets (one stored before keeps working).
  for (size_t i = 0; i < after.rules.size(); ++i) {
    const core::Rule* was = Find(before.rules, after.rules[i].id);
    if (was != nullptr && was->conditions == after.rules[i].conditions) continue;
    for (Problem& p : core::ReversedRanges(after.rules[i], io::Index("rules", i))) problems.push_back(std::move(p));
  }
  if (!problems.empty()) return Status::Invalid(std::move(problems));
  return Status::Ok();
}

Result<core::Config> ReadChange(const core::Config& before, const Json& doc) {
  std::vector<Problem> read;
  core::Config after = io::ReadConfig(doc, &read);
  Status change = CheckChange(before, after);
  if (read.empty()) {
    if (!change.ok()) return change;
    return after;
  }
  // The change's problems beside the document's, except where the document's cover them.
  return Status::Invalid(io::WithMeaning(read, change.ok() ? std::vector<Problem>{} : change.details()));
}

template <typename F>
Result<std::shared_ptr<const core::Workspace>> Service::Mutate(const std::string& ws, F change, bool dry_run,
                                                               std::vector<Change>* changes) {
  // Run again from the start when the database gives the transaction up: `change`
  // works on a fresh copy of the stored document each time.
  return Retrying([&]() -> Result<std::shared_ptr<const core::Workspace>> {
    auto txr = store_.BeginWrite(ws);
    if (!txr.ok()) return txr.status();
    store::Tx& tx = **txr;
    auto loaded = tx.LoadConfig();
    if (!loaded.ok()) return loaded.status();
    auto before = ParseStoredConfig(loaded->second);
    if (!before.ok()) return before.status();
    core::Config after = *before;
    Status s = change(after, tx);
    if (!s.ok()) return s;
    if (s = CheckChange(*before, after); !s.ok()) return s;
    TxRotation rotation(tx);
    auto diff = Reconcile(*before, after, &rotation);
    if (!diff.ok()) return diff.status();
    if (changes != nullptr) *changes = std::move(diff).value();
    auto built = core::Workspace::Build(after);
    if (!built.ok()) return built.status();
    if (dry_run) return *built;  // the transaction rolls back
    int64_t version = loaded->first + 1;
    if (s = tx.SaveConfig(version, StoredConfig(after)); !s.ok()) return s;
    if (s = tx.Commit(); !s.ok()) return s;
    snapshots_.Put(ws, version, *built);
    return *built;
  });
}

Result<std::shared_ptr<const core::Workspace>> Service::Current(const std::string& ws) {
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  return snapshots_.Get(**tx, ws);
}

// ---- the whole document

Result<Json> Service::GetConfig(const std::string& ws) {
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  return io::WriteConfig((*w)->config());
}

Result<Json> Service::PutConfig(const std::string& ws, const Json& doc, bool dry_run) {
  auto current = Current(ws);
  if (!current.ok()) return current.status();
  auto incoming = ReadChange((*current)->config(), doc);  // Mutate checks the change again, in its transaction
  if (!incoming.ok()) return incoming.status();
  std::vector<core::Record> records = std::move(incoming->records);
  incoming->records.clear();
  std::vector<Change> changes;
  const int64_t now = clock_.Now().time_since_epoch().count();
  auto result = Mutate(
      ws,
      [&](core::Config& c, store::Tx& tx) -> Status {
        c = *incoming;
        for (const core::Record& r : records) {
          if (Status s = PutGivenRecord(tx, r, now); !s.ok()) return s;
        }
        return Status::Ok();
      },
      dry_run, &changes);
  if (!result.ok()) return result.status();
  if (!records.empty()) changes.push_back({"records", std::to_string(records.size()), "upserted"});
  return Json{{"applied", !dry_run}, {"changes", ChangesJson(changes)}};
}

// ---- users

Result<Json> Service::ListUsers(const std::string& ws, const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  Json items = Json::array();
  for (const core::User& u : (*w)->config().users) items.push_back(io::WriteUser(u));
  return PageOf(ById(std::move(items)), page, /*by_id=*/true);
}

Result<Json> Service::GetUser(const std::string& ws, const std::string& id) {
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  const core::User* u = Find((*w)->config().users, id);
  if (u == nullptr) return NotFound("user", id);
  return io::WriteUser(*u);
}

Result<Json> Service::CreateUser(const std::string& ws, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  core::User u = io::ReadUser(body, "", p);
  EnsureId(u.id, "u_");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    if (Find(c.users, u.id)) return Status::Conflict("user \"" + u.id + "\" already exists");
    index = c.users.size();
    c.users.push_back(u);
    if (!p.empty()) return WithMeaning(p, c, io::Index("users", index));
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), io::Index("users", index));
  return io::WriteUser(u);
}

Result<Json> Service::PatchUser(const std::string& ws, const std::string& id, const Json& patch) {
  if (!patch.is_object()) return Status::Invalid("", "the body must be a JSON object");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    return PatchIn(c, c.users, "user", "users", id, patch, io::WriteUser, io::ReadUser, &index);
  });
  if (!r.ok()) return Relative(r.status(), io::Index("users", index));
  return GetUser(ws, id);
}

Status Service::DeleteUser(const std::string& ws, const std::string& id) {
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    if (Status s = EraseFrom(c.users, "user", id); !s.ok()) return s;
    return InUse(c, "user \"" + id + "\"");
  });
  return r.ok() ? Status::Ok() : r.status();
}

// ---- pools

Result<Json> Service::PoolJson(store::Tx& tx, const core::Workspace& ws, const core::Pool& pool) {
  Json j = io::WritePool(pool, /*with_positions=*/true);
  auto next = core::PeekNext(ws, tx, pool, clock_.Now());
  j["next"] = next ? Json(*next) : Json(nullptr);
  j["last_position"] = tx.PoolPointer(pool.id);
  return j;
}

Result<Json> Service::ListPools(const std::string& ws, const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto w = snapshots_.Get(**tx, ws);
  if (!w.ok()) return w.status();
  Json items = Json::array();
  for (const core::Pool& pool : (*w)->config().pools) {
    auto j = PoolJson(**tx, **w, pool);
    if (!j.ok()) return j.status();
    items.push_back(*j);
  }
  return PageOf(ById(std::move(items)), page, /*by_id=*/true);
}

Result<Json> Service::GetPool(const std::string& ws, const std::string& id) {
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto w = snapshots_.Get(**tx, ws);
  if (!w.ok()) return w.status();
  const core::Pool* pool = (*w)->FindPool(id);
  if (pool == nullptr) return NotFound("pool", id);
  return PoolJson(**tx, **w, *pool);
}

Result<Json> Service::CreatePool(const std::string& ws, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  core::Pool pool = io::ReadPool(body, "", p);
  EnsureId(pool.id, "p_");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx& tx) -> Status {
    if (Find(c.pools, pool.id)) return Status::Conflict("pool \"" + pool.id + "\" already exists");
    Status s = tx.DeletePoolState(pool.id);  // a pool of the same id deleted earlier
    if (!s.ok()) return s;
    index = c.pools.size();
    c.pools.push_back(pool);
    if (!p.empty()) return WithMeaning(p, c, io::Index("pools", index));
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), io::Index("pools", index));
  return GetPool(ws, pool.id);
}

Result<Json> Service::PatchPool(const std::string& ws, const std::string& id, const Json& patch) {
  if (!patch.is_object()) return Status::Invalid("", "the body must be a JSON object");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    // Reconcile keeps join positions where the members' order held.
    return PatchIn(c, c.pools, "pool", "pools", id, patch, [](const core::Pool& x) { return io::WritePool(x); },
                   io::ReadPool, &index);
  });
  if (!r.ok()) return Relative(r.status(), io::Index("pools", index));
  return GetPool(ws, id);
}

Status Service::DeletePool(const std::string& ws, const std::string& id) {
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    if (Status s = EraseFrom(c.pools, "pool", id); !s.ok()) return s;
    return InUse(c, "pool \"" + id + "\"");
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<Json> Service::AddPoolMember(const std::string& ws, const std::string& pool_id, const Json& body) {
  io::Problems p;
  std::string user;
  if (!body.is_object() || !p.String(body, "user", "", user) || user.empty()) {
    return Status::Invalid("user", "the body is {\"user\": ID}");
  }
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    core::Pool* pool = Find(c.pools, pool_id);
    if (pool == nullptr) return NotFound("pool", pool_id);
    index = IndexOf(c.pools, pool_id);
    for (const auto& m : pool->members) {
      if (m.user == user) return Status::Conflict("user \"" + user + "\" is already in pool \"" + pool_id + "\"");
    }
    pool->members.push_back({user, 0});  // Reconcile gives it a position after everyone
    return Status::Ok();
  });
  if (!r.ok()) {
    // The body is {"user"}: a problem with the new member is about "user".
    Status rel = Relative(r.status(), io::Index("pools", index));
    if (rel.code() != Code::kInvalid) return rel;
    std::vector<Problem> out = rel.details();
    for (Problem& p : out) {
      if (p.path.rfind("members[", 0) == 0) p.path = "user";
    }
    return Status::Invalid(std::move(out));
  }
  return GetPool(ws, pool_id);
}

Result<Json> Service::RemovePoolMember(const std::string& ws, const std::string& pool_id, const std::string& user) {
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    core::Pool* pool = Find(c.pools, pool_id);
    if (pool == nullptr) return NotFound("pool", pool_id);
    auto it = std::find_if(pool->members.begin(), pool->members.end(),
                           [&](const core::PoolMember& m) { return m.user == user; });
    if (it == pool->members.end()) return Status::NotFound("user \"" + user + "\" is not in pool \"" + pool_id + "\"");
    pool->members.erase(it);
    return Status::Ok();
  });
  if (!r.ok()) return r.status();
  return GetPool(ws, pool_id);
}

// ---- rules

namespace {

Json RuleJson(const core::Config& c, const core::Rule& r) {
  Json j = io::WriteRule(r);
  int priority = 0;
  for (const core::Rule& x : c.rules) {
    if (x.object_type != r.object_type) continue;
    ++priority;
    if (x.id == r.id) break;
  }
  j["priority"] = priority;
  return j;
}

}  // namespace

Result<Json> Service::ListRules(const std::string& ws, const std::optional<std::string>& object_type,
                                const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  std::optional<core::ObjectType> type;
  if (object_type) {
    type = core::ParseObjectType(*object_type);
    if (!type) return Status::Invalid("object_type", "unknown object type \"" + *object_type + "\"");
  }
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  const core::Config& c = (*w)->config();
  Json items = Json::array();
  for (int t = 0; t < core::kObjectTypeCount; ++t) {  // grouped by type, in priority order
    for (const core::Rule& r : c.rules) {
      if (static_cast<int>(r.object_type) != t || (type && r.object_type != *type)) continue;
      items.push_back(RuleJson(c, r));
    }
  }
  return PageOf(items, page, /*by_id=*/false);
}

Result<Json> Service::GetRule(const std::string& ws, const std::string& id) {
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  const core::Rule* r = Find((*w)->config().rules, id);
  if (r == nullptr) return NotFound("rule", id);
  return RuleJson((*w)->config(), *r);
}

Result<Json> Service::CreateRule(const std::string& ws, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  core::Rule rule = io::ReadRule(body, "", p);
  EnsureId(rule.id, "r_");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    if (Find(c.rules, rule.id)) return Status::Conflict("rule \"" + rule.id + "\" already exists");
    index = c.rules.size();
    c.rules.push_back(rule);  // a new rule goes last
    if (!p.empty()) return WithMeaning(p, c, io::Index("rules", index));
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), io::Index("rules", index));
  return RuleJson((*r)->config(), rule);
}

Result<Json> Service::PutRule(const std::string& ws, const std::string& id, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  Json copy = body;
  if (copy.contains("id") && copy["id"] != id) p.Add("id", "the body's id differs from the URL's");
  copy["id"] = id;
  core::Rule rule = io::ReadRule(copy, "", p);
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    core::Rule* existing = Find(c.rules, id);
    if (existing == nullptr) return NotFound("rule", id);
    index = IndexOf(c.rules, id);
    if (existing->object_type == rule.object_type) {
      *existing = rule;
    } else {  // a rule moved to another object type goes last there, as a new rule does
      c.rules.erase(c.rules.begin() + static_cast<std::ptrdiff_t>(index));
      c.rules.push_back(rule);
      index = c.rules.size() - 1;
    }
    if (!p.empty()) return WithMeaning(p, c, io::Index("rules", index));
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), io::Index("rules", index));
  return RuleJson((*r)->config(), rule);
}

Status Service::DeleteRule(const std::string& ws, const std::string& id) {
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    return EraseFrom(c.rules, "rule", id);
  });
  return r.status();
}

Result<Json> Service::SetRulePriority(const std::string& ws, const Json& body) {
  io::Problems p;
  if (!body.is_object()) return Status::Invalid("", "the body is {\"object_type\", \"order\": [rule ids]}");
  auto type = io::ReadObjectType(body, "object_type", "", p);
  std::vector<std::string> order;
  if (p.Array(body, "order", "")) {
    const Json& list = body["order"];
    for (size_t i = 0; i < list.size(); ++i) {
      auto id = io::IdText(list[i]);
      if (!id) {
        p.Add(io::Index("order", i), "a rule id");
        continue;
      }
      order.push_back(std::move(*id));
    }
  } else {
    p.Add("order", "order is a list of rule ids, highest priority first");
  }
  if (!p.empty()) return p.ToStatus();
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    std::vector<core::Rule> of_type, others;
    for (const core::Rule& x : c.rules) (x.object_type == *type ? of_type : others).push_back(x);
    // Every rule of the type exactly once: each id named that is not one, and each one
    // left out, is listed.
    std::vector<Problem> problems;
    std::set<std::string> seen;
    for (size_t i = 0; i < order.size(); ++i) {
      if (!Find(of_type, order[i])) {
        const core::Rule* other = Find(others, order[i]);
        problems.push_back({io::Index("order", i),
                            other ? "rule \"" + order[i] + "\" is for " + std::string(core::ToString(other->object_type)) +
                                        " records"
                                  : "unknown rule \"" + order[i] + "\""});
      } else if (!seen.insert(order[i]).second) {
        problems.push_back({io::Index("order", i), "rule \"" + order[i] + "\" is named twice"});
      }
    }
    for (const core::Rule& x : of_type) {
      if (!seen.count(x.id)) {
        problems.push_back({"order", "rule \"" + x.id + "\" is left out: order names every " +
                                         std::string(core::ToString(*type)) + " rule exactly once"});
      }
    }
    if (!problems.empty()) return Status::Invalid(std::move(problems));
    c.rules = others;
    for (const std::string& id : order) c.rules.push_back(*Find(of_type, id));
    return Status::Ok();
  });
  if (!r.ok()) return r.status();
  return ListRules(ws, std::string(core::ToString(*type)), Page{1000, ""});
}

// ---- distributions

Result<Json> Service::DistributionJson(store::Tx& tx, const core::Distribution& d) {
  Json j = io::WriteDistribution(d);
  auto state = tx.KeyState(d.id);
  if (!state.ok()) return state.status();
  for (Json& key : j["keys"]) {
    std::string folded = core::Fold(key["value"].get<std::string>());
    for (Json& owner : key["owners"]) {
      int64_t assigned = 0;
      for (const store::KeyStateRow& row : *state) {
        if (row.value == folded && row.user == owner["user"]) assigned = row.assigned;
      }
      owner["assigned"] = assigned;
    }
  }
  auto unkeyed = tx.Unkeyed(d.id);
  if (!unkeyed.ok()) return unkeyed.status();
  Json values = Json::array();
  for (const store::UnkeyedRow& u : *unkeyed) values.push_back(u.value);
  j["unkeyed_values"] = values;
  return j;
}

Result<Json> Service::ListDistributions(const std::string& ws, const Page& page) {
  if (Status s = CheckPage(page); !s.ok()) return s;
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto w = snapshots_.Get(**tx, ws);
  if (!w.ok()) return w.status();
  Json items = Json::array();
  for (const core::Distribution& d : (*w)->config().distributions) {
    auto j = DistributionJson(**tx, d);
    if (!j.ok()) return j.status();
    items.push_back(*j);
  }
  return PageOf(ById(std::move(items)), page, /*by_id=*/true);
}

Result<Json> Service::GetDistribution(const std::string& ws, const std::string& id) {
  auto tx = store_.BeginRead(ws);
  if (!tx.ok()) return tx.status();
  auto w = snapshots_.Get(**tx, ws);
  if (!w.ok()) return w.status();
  const core::Distribution* d = Find((*w)->config().distributions, id);
  if (d == nullptr) return NotFound("distribution", id);
  return DistributionJson(**tx, *d);
}

Result<Json> Service::CreateDistribution(const std::string& ws, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  io::Problems p;
  core::Distribution d = io::ReadDistribution(body, "", p);
  EnsureId(d.id, "d_");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx& tx) -> Status {
    if (Find(c.distributions, d.id)) return Status::Conflict("distribution \"" + d.id + "\" already exists");
    Status s = tx.ResetKeyState(d.id, std::nullopt);  // one of the same id deleted earlier
    if (s.ok()) s = tx.RemoveUnkeyed(d.id, std::nullopt);
    if (!s.ok()) return s;
    index = c.distributions.size();
    c.distributions.push_back(d);
    if (!p.empty()) return WithMeaning(p, c, io::Index("distributions", index));
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), io::Index("distributions", index));
  return GetDistribution(ws, d.id);
}

Result<Json> Service::PatchDistribution(const std::string& ws, const std::string& id, const Json& patch) {
  if (!patch.is_object()) return Status::Invalid("", "the body must be a JSON object");
  size_t index = 0;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    return PatchIn(c, c.distributions, "distribution", "distributions", id, patch, io::WriteDistribution,
                   io::ReadDistribution, &index);
  });
  if (!r.ok()) return Relative(r.status(), io::Index("distributions", index));
  return GetDistribution(ws, id);
}

Status Service::DeleteDistribution(const std::string& ws, const std::string& id) {
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    if (Status s = EraseFrom(c.distributions, "distribution", id); !s.ok()) return s;
    return InUse(c, "distribution \"" + id + "\"");
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<Json> Service::PutKey(const std::string& ws, const std::string& id, const std::string& value,
                             const Json& body) {
  if (!body.is_object() || !body.contains("owners")) {
    return Status::Invalid("owners", "the body is {\"owners\": [{\"user\", \"percent\"}]}");
  }
  if (core::Fold(value).empty()) return Status::Invalid("value", "a key needs a value");
  if (core::HasControlChar(value, /*text_spacing=*/true)) {
    return Status::Invalid("value", "a key's value holds no control characters (NUL, say)");
  }
  io::Problems p;
  p.Unknown(body, {"value", "owners"}, "");  // "value" as GET shows a key; the URL's is the one kept
  core::DistributionKey key{value, io::ReadKeyOwners(body["owners"], "owners", p)};
  std::string prefix;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    core::Distribution* d = Find(c.distributions, id);
    if (d == nullptr) return NotFound("distribution", id);
    const std::string folded = core::Fold(value);
    auto it = std::find_if(d->keys.begin(), d->keys.end(),
                           [&](const core::DistributionKey& k) { return core::Fold(k.value) == folded; });
    size_t k = static_cast<size_t>(it - d->keys.begin());
    if (it == d->keys.end()) {
      d->keys.push_back(key);
    } else {
      *it = key;
    }
    prefix = io::Index(io::Index("distributions", IndexOf(c.distributions, id)) + ".keys", k);
    if (!p.empty()) return WithMeaning(p, c, prefix);
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), prefix);
  return GetDistribution(ws, id);
}

Status Service::DeleteKey(const std::string& ws, const std::string& id, const std::string& value) {
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    core::Distribution* d = Find(c.distributions, id);
    if (d == nullptr) return NotFound("distribution", id);
    const std::string folded = core::Fold(value);
    auto it = std::find_if(d->keys.begin(), d->keys.end(),
                           [&](const core::DistributionKey& k) { return core::Fold(k.value) == folded; });
    if (it == d->keys.end()) return Status::NotFound("distribution \"" + id + "\" has no key \"" + value + "\"");
    d->keys.erase(it);
    return Status::Ok();
  });
  return r.status();
}

// ---- settings

Result<Json> Service::GetSettings(const std::string& ws) {
  auto w = Current(ws);
  if (!w.ok()) return w.status();
  return io::WriteSettings((*w)->config().settings);
}

Result<Json> Service::PutSettings(const std::string& ws, const Json& body) {
  if (!body.is_object()) return Status::Invalid("", "the body must be a JSON object");
  core::Settings updated;
  auto r = Mutate(ws, [&](core::Config& c, store::Tx&) -> Status {
    Json merged = io::WriteSettings(c.settings);
    for (auto it = body.begin(); it != body.end(); ++it) merged[it.key()] = it.value();
    io::Problems p;
    updated = io::ReadSettings(merged, "", p);
    c.settings = updated;
    if (!p.empty()) return WithMeaning(p, c, "settings");  // and an unknown zone or owner too
    return Status::Ok();
  });
  if (!r.ok()) return Relative(r.status(), "settings");
  return io::WriteSettings(updated);
}

// Mutate for use cases in other files (import.cc), with a type-erased change.
template Result<std::shared_ptr<const core::Workspace>> Service::Mutate<MutateFn>(const std::string&, MutateFn, bool,
                                                                                 std::vector<Change>*);

}  // namespace rota::service
