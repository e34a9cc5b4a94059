#include "core/decide.h"

#include <algorithm>

#include "core/conditions.h"
#include "core/eligibility.h"
#include "core/rotation.h"
#include "core/text.h"

namespace rota::core {
namespace {

// What a strategy found: an owner (assigned, or a distribution's default owner), or
// nobody and why.
struct Found {
  std::optional<std::string> owner;
  Outcome outcome = Outcome::kAssigned;
  std::optional<Reason> reason;
};

Found Nobody(Reason r) { return {std::nullopt, Outcome::kUnassigned, r}; }
Found Owner(std::string u, Outcome o = Outcome::kAssigned) { return {std::move(u), o, std::nullopt}; }

// A text as a trace quotes it: its first 200 bytes (whole characters), then "…".
std::string Cut(const std::string& t) {
  constexpr size_t kText = 200;
  return t.size() <= kText ? t : Utf8Prefix(t, kText) + "…";
}

// The condition as a trace names it: a list's first ten items and how many more, each text
// Cut. In full, one explained decision over 50 rules of long `in` lists answered 50 MB, and a
// batch of them took the server's memory.
std::string Describe(const Condition& c) {
  constexpr size_t kItems = 10;
  auto quote = [](const Value& v) { return v.kind == Value::Kind::kString ? "\"" + Cut(v.text) + "\"" : Cut(v.text); };
  std::string s = Cut(c.field) + " " + std::string(ToString(c.op));
  if (c.value.shape == ConditionValue::Shape::kScalar && !c.value.items.empty()) {
    s += " " + quote(c.value.items[0]);
  } else if (c.value.shape == ConditionValue::Shape::kList) {
    s += " [";
    for (size_t i = 0; i < c.value.items.size() && i < kItems; ++i) {
      if (i) s += ", ";
      s += quote(c.value.items[i]);
    }
    if (c.value.items.size() > kItems) s += " and " + std::to_string(c.value.items.size() - kItems) + " more";
    s += "]";
  }
  return s;
}

class Decider {
 public:
  Decider(const Workspace& ws, const StateView& state, const Request& req)
      : ws_(ws),
        state_(state),
        req_(req),
        rec_(*req.record),
        elig_{ws, state, rec_.object_type, rec_.id, req.now} {}

  Result<Decision> Run() {
    if (req_.event == Event::kAssignRequested && req_.target) return RunTarget(*req_.target);
    RecordOperands operands(ws_, rec_.properties, req_.previous);
    for (const CompiledRule* cr : ws_.RulesFor(rec_.object_type, req_.event)) {
      if (Matches(*cr, operands)) {
        RunRule(*cr, /*workspace_default=*/false);
        return std::move(d_);
      }
    }
    Trace({TraceEntry::Kind::kNoRule, "", false, "no rule matched", {}, Reason::kNoRuleMatched});
    bool unable = false;
    if (TryDefault(std::nullopt, &unable)) {
      d_.strategy = "default";  // decision.h: the workspace default owner decided
    } else {
      Unassigned(unable ? Reason::kUserNotFound : Reason::kNoRuleMatched);
    }
    return std::move(d_);
  }

 private:
  void Trace(TraceEntry e) {
    if (req_.explain) d_.trace.push_back(std::move(e));
  }

  bool Matches(const CompiledRule& cr, RecordOperands& operands) {
    int failed = FirstFailing(cr.all, operands);
    if (failed >= 0) {
      if (req_.explain) {
        TraceEntry e{TraceEntry::Kind::kRule, cr.rule->id, false,
                     "condition failed: " + Describe(*cr.all[failed].source)};
        e.set = "all";
        e.index = failed;
        Trace(std::move(e));
      }
      return false;
    }
    if (!AnyHolds(cr.any, operands)) {
      if (req_.explain) {
        TraceEntry e{TraceEntry::Kind::kRule, cr.rule->id, false,
                     "none of the " + std::to_string(cr.any.size()) + " \"any\" conditions held"};
        e.set = "any";
        Trace(std::move(e));
      }
      return false;
    }
    Trace({TraceEntry::Kind::kRule, cr.rule->id, true, "matched"});
    return true;
  }

  Result<Decision> RunTarget(const Target& t) {
    if (t.kind == Target::Kind::kPool) {
      const Pool* pool = ws_.FindPool(t.id);
      if (pool == nullptr) return Status::NotFound("unknown pool \"" + t.id + "\"");
      if (pool->object_type != rec_.object_type) {
        return Status::Invalid("target.pool", "pool \"" + t.id + "\" is for " +
                                                  std::string(ToString(pool->object_type)) + " records");
      }
      Trace({TraceEntry::Kind::kTarget, t.id, true, "assignment requested to pool"});
      d_.strategy = "pool";
      Found f = RoundRobin(*pool);
      bool default_unable = false;
      if (f.owner) {
        Give(*f.owner, Outcome::kAssigned, std::nullopt);
        // A pool has no rule and so no actions, but its next member is told (as Zendesk
        // Sell's "assign to pool" notifies the next user in the pool).
        d_.notify = true;
      } else if (!TryDefault(f.reason, &default_unable)) {
        Unassigned(default_unable ? Reason::kUserNotFound : *f.reason);
      }
      return std::move(d_);
    }
    const CompiledRule* cr = ws_.FindRule(t.id);
    if (cr == nullptr) return Status::NotFound("unknown rule \"" + t.id + "\"");
    if (cr->rule->object_type != rec_.object_type) {
      return Status::Invalid("target.rule", "rule \"" + t.id + "\" is for " +
                                                std::string(ToString(cr->rule->object_type)) + " records");
    }
    Trace({TraceEntry::Kind::kTarget, t.id, true, "assignment requested to rule"});
    RunRule(*cr, /*workspace_default=*/true);
    return std::move(d_);
  }

  void RunRule(const CompiledRule& cr, bool workspace_default) {
    const Rule& rule = *cr.rule;
    d_.rule = rule.id;
    d_.strategy = std::string(ToString(rule.assign.type));
    Found f = Strategy(rule);
    if (f.owner) {
      Give(*f.owner, f.outcome, f.reason);
      Follow(rule);
      return;
    }
    Trace({TraceEntry::Kind::kStrategy, rule.id, false, "the strategy found nobody", {}, f.reason});
    // Left unassigned, the record gets the reason of the last who could not take it: a
    // fallback user that is unknown or inactive is `user_not_found` (SPEC §5).
    Reason unassigned = *f.reason;
    if (rule.fallback_user) {
      std::optional<Skip> skip = CheckNamed(ws_, *rule.fallback_user);
      TraceEntry e{TraceEntry::Kind::kFallback, *rule.fallback_user, !skip,
                   skip ? "fallback user " + std::string(ToString(*skip)) : "fallback user takes it"};
      e.skip = skip;
      Trace(std::move(e));
      if (!skip) {
        Give(*rule.fallback_user, Outcome::kFallback, f.reason);
        Follow(rule);
        return;
      }
      unassigned = Reason::kUserNotFound;
    }
    bool default_unable = false;
    if (workspace_default && TryDefault(f.reason, &default_unable)) {
      Follow(rule);
      return;
    }
    Unassigned(default_unable ? Reason::kUserNotFound : unassigned);
  }

  // The workspace's default owner for the record's type takes the record, if one is set
  // and active; `*unable` tells that one is set but cannot.
  bool TryDefault(std::optional<Reason> reason, bool* unable = nullptr) {
    std::optional<std::string> owner = ws_.DefaultOwner(rec_.object_type);
    if (!owner) return false;
    std::optional<Skip> skip = CheckNamed(ws_, *owner);
    TraceEntry e{TraceEntry::Kind::kDefault, *owner, !skip,
                 skip ? "workspace default owner " + std::string(ToString(*skip))
                      : "workspace default owner takes it"};
    e.skip = skip;
    Trace(std::move(e));
    if (skip) {
      if (unable != nullptr) *unable = true;
      return false;
    }
    Give(*owner, Outcome::kDefault, reason);
    return true;
  }

  void Give(const std::string& owner, Outcome outcome, std::optional<Reason> reason) {
    d_.owner = owner;
    d_.outcome = outcome;
    d_.reason = reason;
  }

  void Unassigned(Reason reason) {
    d_.owner.reset();
    d_.outcome = Outcome::kUnassigned;
    d_.reason = reason;
  }

  // The deciding rule's follow-ups (SPEC §7), when the decision gave an owner.
  void Follow(const Rule& rule) {
    const std::string& owner = *d_.owner;
    for (Relation rel : rule.actions.apply_to_related) {
      auto link = rec_.links.find(ToString(rel));
      if (link == rec_.links.end() || link->second.empty()) continue;
      RelatedChange rc{RelationObjectType(rel), link->second, {}};
      if (rule.actions.related_mode == RelatedMode::kAdd) {
        if (auto known = state_.FindRecord(rc.object_type, rc.id)) rc.owners = known->owners;
        if (std::find(rc.owners.begin(), rc.owners.end(), owner) == rc.owners.end()) {
          rc.owners.push_back(owner);
        }
      } else {
        rc.owners = {owner};
      }
      d_.related.push_back(std::move(rc));
    }
    d_.tag = rule.actions.tag;
    d_.note = rule.actions.note;
    d_.notify = rule.actions.notify;
    d_.notify_message = rule.actions.notify ? rule.actions.notify_message : "";
  }

  Found Strategy(const Rule& rule) {
    const Assignee& a = rule.assign;
    switch (a.type) {
      case Assignee::Type::kUser:
        return Named(a.ref);
      case Assignee::Type::kPool: {
        const Pool* pool = ws_.FindPool(a.ref);
        if (pool == nullptr) return Error("pool \"" + a.ref + "\" is gone");
        return RoundRobin(*pool);
      }
      case Assignee::Type::kLeastLoaded: {
        const Pool* pool = ws_.FindPool(a.ref);
        if (pool == nullptr) return Error("pool \"" + a.ref + "\" is gone");
        return LeastLoaded(*pool);
      }
      case Assignee::Type::kDistribution: {
        const CompiledDistribution* dist = ws_.FindDistribution(a.ref);
        if (dist == nullptr) return Error("distribution \"" + a.ref + "\" is gone");
        return Distribute(*dist);
      }
      case Assignee::Type::kField: {
        auto it = rec_.properties.find(a.ref);
        std::string id = it == rec_.properties.end() ? "" : std::string(Trim(it->second.text));
        if (id.empty()) return Nobody(Reason::kFieldEmpty);
        return Named(id);
      }
      case Assignee::Type::kRelatedOwner:
        return RelatedOwner(a.relation);
    }
    return Error("unknown assignee");
  }

  Found Error(std::string message) {
    d_.message = std::move(message);
    return Nobody(Reason::kError);
  }

  Found Named(const std::string& user) {
    std::optional<Skip> skip = CheckNamed(ws_, user);
    TraceMember(user, skip);
    if (skip) return Nobody(Reason::kUserNotFound);
    return Owner(user);
  }

  void TraceMember(const std::string& user, std::optional<Skip> skip, std::string extra = "") {
    if (!req_.explain) return;
    TraceEntry e{TraceEntry::Kind::kMember, user, !skip,
                 skip ? "skipped: " + std::string(ToString(*skip)) : "chosen" + extra};
    e.skip = skip;
    Trace(std::move(e));
  }

  Found RoundRobin(const Pool& pool) {
    int64_t pointer = state_.PoolPointer(pool.id);
    int chosen = PickRoundRobin(pool.members, pointer, [&](size_t i) {
      std::optional<Skip> skip = CheckEligible(elig_, pool.members[i].user);
      TraceMember(pool.members[i].user, skip);
      return !skip;
    });
    if (chosen < 0) return Nobody(Reason::kNoEligibleUser);
    const PoolMember& m = pool.members[static_cast<size_t>(chosen)];
    d_.changes.pools.push_back({pool.id, m.position});
    return Owner(m.user);
  }

  // Each member is in the trace once: skipped and why, or eligible with its open
  // records, the chosen one marked so.
  Found LeastLoaded(const Pool& pool) {
    int best = -1;
    int64_t best_open = 0;
    size_t best_entry = 0;  // the chosen member's trace entry
    for (size_t i = 0; i < pool.members.size(); ++i) {
      const std::string& user = pool.members[i].user;
      std::optional<Skip> skip = CheckEligible(elig_, user);
      if (skip) {
        TraceMember(user, skip);
        continue;
      }
      int64_t open = state_.OpenRecords(user, rec_.object_type, rec_.id);
      if (best < 0 || open < best_open) {
        best = static_cast<int>(i);
        best_open = open;
        best_entry = d_.trace.size();
      }
      if (req_.explain) {
        Trace({TraceEntry::Kind::kMember, user, false, "eligible, " + std::to_string(open) + " open"});
      }
    }
    if (best < 0) return Nobody(Reason::kNoEligibleUser);
    if (req_.explain) {
      TraceEntry& chosen = d_.trace[best_entry];
      chosen.ok = true;
      chosen.detail = "chosen: " + std::to_string(best_open) + " open, the fewest";
    }
    return Owner(pool.members[static_cast<size_t>(best)].user);
  }

  Found Distribute(const CompiledDistribution& cd) {
    const Distribution& dist = *cd.distribution;
    auto it = rec_.properties.find(dist.property);
    std::string raw = it == rec_.properties.end() ? "" : std::string(Trim(it->second.text));
    std::string folded = raw.empty() ? "" : Fold(raw);
    auto key = folded.empty() ? cd.keys.end() : cd.keys.find(folded);
    if (key == cd.keys.end()) {
      // Listed as a value that could have a key: one holding NUL or another control
      // character a key's value may not could never have one (and PostgreSQL's text
      // would cut it at the NUL, merging it with another value).
      if (!folded.empty() && !HasControlChar(raw, /*text_spacing=*/true)) d_.changes.unkeyed.push_back({dist.id, raw});
      Trace({TraceEntry::Kind::kStrategy, dist.id, false,
             folded.empty() ? "the record has no value for \"" + dist.property + "\""
                            : "no key for value \"" + Cut(raw) + "\""});
      if (!dist.default_owner) return Nobody(Reason::kNoDistributionKey);
      std::optional<Skip> skip = CheckNamed(ws_, *dist.default_owner);
      TraceEntry e{TraceEntry::Kind::kDefault, *dist.default_owner, !skip,
                   skip ? "distribution default owner " + std::string(ToString(*skip))
                        : "distribution default owner takes it"};
      e.skip = skip;
      Trace(std::move(e));
      if (skip) return Nobody(Reason::kUserNotFound);
      return Owner(*dist.default_owner, Outcome::kDefault);
    }
    const CompiledKey& k = key->second;
    std::vector<int64_t> credits = state_.KeyCredits(dist.id, k.folded_value, k.users);
    std::vector<bool> eligible(k.users.size());
    for (size_t i = 0; i < k.users.size(); ++i) {
      std::optional<Skip> skip = CheckEligible(elig_, k.users[i]);
      if (skip) TraceMember(k.users[i], skip);
      eligible[i] = !skip;
    }
    int winner = PickSmoothWeighted(k.weights, credits, eligible);
    if (winner < 0) return Nobody(Reason::kNoEligibleUser);
    const std::string& user = k.users[static_cast<size_t>(winner)];
    TraceMember(user, std::nullopt, " (key \"" + k.key->value + "\")");
    d_.changes.keys.push_back({dist.id, k.folded_value, k.users, std::move(credits), user});
    return Owner(user);
  }

  Found RelatedOwner(Relation rel) {
    const bool company = rel == Relation::kCompany;
    auto link = rec_.links.find(ToString(rel));
    if (link == rec_.links.end() || link->second.empty()) {
      return Nobody(company ? Reason::kCompanyNotLinked : Reason::kPersonNotLinked);
    }
    std::optional<Record> linked = state_.FindRecord(RelationObjectType(rel), link->second);
    if (!linked) return Nobody(company ? Reason::kCompanyNotFound : Reason::kPersonNotFound);
    if (linked->owners.empty()) return Nobody(Reason::kRelatedHasNoOwner);
    return Named(linked->owners.front());
  }

  const Workspace& ws_;
  const StateView& state_;
  const Request& req_;
  const Record& rec_;
  EligibilityContext elig_;
  Decision d_;
};

}  // namespace

Result<Decision> Decide(const Workspace& ws, const StateView& state, const Request& request) {
  return Decider(ws, state, request).Run();
}

std::optional<std::string> PeekNext(const Workspace& ws, const StateView& state, const Pool& pool, Time now) {
  const std::string no_record;
  EligibilityContext ctx{ws, state, pool.object_type, no_record, now};
  int chosen = PickRoundRobin(pool.members, state.PoolPointer(pool.id),
                              [&](size_t i) { return !CheckEligible(ctx, pool.members[i].user); });
  if (chosen < 0) return std::nullopt;
  return pool.members[static_cast<size_t>(chosen)].user;
}

}  // namespace rota::core
