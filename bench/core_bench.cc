// Benchmarks of the decision core: core::Decide on a compiled Workspace, one decision
// per iteration, so the time per iteration is the time per decision.
//
//   decide/pool_hit                      one rule, one matching condition, pool of 5
//   decide/worst_case_50x160/distinct:D  50 rules x 160 `all` conditions, each rule
//                                        failing on its 160th; the default owner takes it;
//                                        D=0: the rules repeat the same 12 conditions,
//                                        D=1: all 8 000 conditions differ
//   decide/rules:N                       N rules of 10 conditions; the first N-1 fail on
//                                        their 10th, the last one matches (pool of 5)
//   decide/pool_size:N/all_eligible      one rule, a pool of N members, all eligible
//   decide/pool_size:N/last_eligible     one rule, a pool of N members, all but the last
//                                        inactive: every decision scans the whole pool
//
// The rotation state is a tiny StateView that only carries the pool pointer forward
// (from Decision::changes.pools), so the figures are those of the core alone, without
// the cost of a store.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/decide.h"
#include "core/model.h"
#include "core/state.h"
#include "core/workspace.h"

namespace {

using namespace rota::core;
using rota::Result;

// The rotation state of the benchmarks: the pool pointer decide() reads, and nothing
// else (no caps, no records).
class BenchState final : public StateView {
 public:
  int64_t pointer = 0;

  int64_t PoolPointer(const std::string&) const override { return pointer; }
  std::vector<int64_t> KeyCredits(const std::string&, const std::string&,
                                  const std::vector<std::string>& users) const override {
    return std::vector<int64_t>(users.size(), 0);
  }
  int64_t AssignedSince(const std::string&, Time, Time) const override { return 0; }
  int64_t OpenRecords(const std::string&, ObjectType, const std::string&) const override { return 0; }
  std::optional<Record> FindRecord(ObjectType, const std::string&) const override { return std::nullopt; }
};

Value Str(std::string s) { return Value::String(std::move(s)); }
Value Num(const std::string& text) { return Value::Number(std::strtod(text.c_str(), nullptr), text); }
ConditionValue One(Value v) { return {ConditionValue::Shape::kScalar, {std::move(v)}}; }
ConditionValue List(std::vector<Value> vs) { return {ConditionValue::Shape::kList, std::move(vs)}; }
Condition Cond(std::string field, Op op, ConditionValue value = {}) {
  return Condition{std::move(field), op, std::move(value)};
}

User MakeUser(const std::string& id, bool active = true) {
  User u;
  u.id = id;
  u.name = id;
  u.active = active;
  return u;
}

// A pool of `n` users ("u1" … "un") added to `config`; `active(i)` says whether the
// i-th member (0-based) is active.
template <typename ActiveFn>
void AddPool(Config& config, const std::string& id, int n, ActiveFn active) {
  Pool p;
  p.id = id;
  p.name = id;
  p.object_type = ObjectType::kDeal;
  for (int i = 0; i < n; ++i) {
    std::string user = id + "-u" + std::to_string(i + 1);
    config.users.push_back(MakeUser(user, active(i)));
    p.members.push_back({user, i + 1});
  }
  config.pools.push_back(std::move(p));
}

Rule MakeRule(const std::string& id, Assignee assign) {
  Rule r;
  r.id = id;
  r.name = id;
  r.object_type = ObjectType::kDeal;
  r.events = {Event::kCreated};
  r.assign = std::move(assign);
  return r;
}

Assignee ToPool(const std::string& pool) { return {Assignee::Type::kPool, pool, Relation::kCompany}; }

// A deal with a handful of properties of the usual kinds: text with non-ASCII letters,
// numbers as JSON numbers and as strings, an e-mail, a stage.
Record MakeDeal() {
  Record r;
  r.object_type = ObjectType::kDeal;
  r.id = "deal-1";
  r.properties = {
      {"country", Str("Poland")},
      {"city", Str("Kraków")},
      {"amount", Num("12500")},
      {"employees", Str("240")},
      {"stage", Str("Qualified")},
      {"source", Str("Web form")},
      {"email", Str("anna.nowak@example.com")},
      {"title", Str("Enterprise licence renewal")},
      {"industry", Str("Manufacturing")},
  };
  return r;
}

// Conditions that hold for MakeDeal(), over its fields, with a mix of operators.
std::vector<Condition> HoldingConditions() {
  return {
      Cond("country", Op::kEq, One(Str("POLAND"))),
      Cond("amount", Op::kGte, One(Num("1000"))),
      Cond("stage", Op::kIn, List({Str("qualified"), Str("proposal"), Str("negotiation")})),
      Cond("source", Op::kNeq, One(Str("spam"))),
      Cond("city", Op::kStartsWith, One(Str("KRA"))),
      Cond("email", Op::kEndsWith, One(Str("@example.com"))),
      Cond("title", Op::kContains, One(Str("licence"))),
      Cond("employees", Op::kBetween, List({Num("50"), Num("500")})),
      Cond("industry", Op::kIsNotEmpty),
      Cond("country", Op::kNotIn, List({Str("Germany"), Str("France")})),
      Cond("title", Op::kNotContains, One(Str("test"))),
      Cond("amount", Op::kLt, One(Str("1000000"))),
  };
}

// The j-th holding condition made unique by `k`: the same fields and operators as
// HoldingConditions(), with values that differ for every k (and still hold), so that
// no two conditions of a workspace are alike.
Condition UniqueHoldingCondition(size_t j, int k) {
  const std::string n = std::to_string(k);
  switch (j % 12) {
    case 0: return Cond("country", Op::kIn, List({Str("Poland"), Str("country-" + n)}));
    case 1: return Cond("amount", Op::kGte, One(Num(std::to_string(12500 - k))));
    case 2: return Cond("stage", Op::kIn, List({Str("stage-" + n), Str("qualified")}));
    case 3: return Cond("source", Op::kNeq, One(Str("spam-" + n)));
    case 4: return Cond("city", Op::kNotContains, One(Str("x" + n)));
    case 5: return Cond("email", Op::kNotIn, List({Str("someone-" + n + "@example.com")}));
    case 6: return Cond("title", Op::kNotContains, One(Str("test-" + n)));
    case 7: return Cond("employees", Op::kBetween, List({Num("1"), Num(std::to_string(1000 + k))}));
    case 8: return Cond("industry", Op::kNeq, One(Str("industry-" + n)));
    case 9: return Cond("country", Op::kNotIn, List({Str("Germany-" + n), Str("France")}));
    case 10: return Cond("title", Op::kStartsWith, One(Str("Enterprise")));
    default: return Cond("amount", Op::kLt, One(Str(std::to_string(1000000 + k))));
  }
}

// A condition that fails for MakeDeal().
Condition FailingCondition() { return Cond("country", Op::kEq, One(Str("Germany"))); }

// `n` conditions of which the first n-1 hold; the n-th fails when `last_fails`.
// With `unique_from` >= 0, the holding conditions are made unique (numbered from it).
std::vector<Condition> Conditions(int n, bool last_fails, int unique_from = -1) {
  std::vector<Condition> holding = HoldingConditions();
  std::vector<Condition> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i + 1 < n; ++i) {
    out.push_back(unique_from >= 0 ? UniqueHoldingCondition(static_cast<size_t>(i), unique_from + i)
                                   : holding[static_cast<size_t>(i) % holding.size()]);
  }
  out.push_back(last_fails ? FailingCondition() : holding[static_cast<size_t>(n - 1) % holding.size()]);
  return out;
}

std::shared_ptr<const Workspace> BuildOrDie(Config config) {
  auto r = Workspace::Build(std::move(config));
  if (!r.ok()) throw std::runtime_error("Workspace::Build: " + r.status().ToString());
  return *r;
}

Time Now() { return Time{std::chrono::seconds{1748865600}}; }  // 2025-06-02 12:00 UTC

// Decides `record` once per iteration, carrying the pool pointer forward. Checks the
// first decision against `expect` so a broken set-up cannot time the wrong path.
void Run(benchmark::State& st, const Workspace& ws, const Record& record, Outcome expect,
         const std::string& label) {
  BenchState state;
  Request req;
  req.record = &record;
  req.event = Event::kCreated;
  req.now = Now();
  {
    Result<Decision> first = Decide(ws, state, req);
    if (!first.ok() || first->outcome != expect) {
      st.SkipWithError("the set-up does not decide as intended");
      return;
    }
  }
  for (auto _ : st) {
    Result<Decision> d = Decide(ws, state, req);
    benchmark::DoNotOptimize(d);
    if (!d->changes.pools.empty()) state.pointer = d->changes.pools.front().position;
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
  st.SetLabel(label);
}

// (a) One rule, one condition that matches, a pool of 5.
void BM_PoolHit(benchmark::State& st) {
  Config c;
  AddPool(c, "sales", 5, [](int) { return true; });
  Rule r = MakeRule("r1", ToPool("sales"));
  r.conditions.all = {Cond("country", Op::kEq, One(Str("poland")))};
  c.rules.push_back(std::move(r));
  auto ws = BuildOrDie(std::move(c));
  Record rec = MakeDeal();
  Run(st, *ws, rec, Outcome::kAssigned, "1 rule x 1 condition, pool of 5, assigned");
}
BENCHMARK(BM_PoolHit)->Name("decide/pool_hit")->Unit(benchmark::kNanosecond);

// (b) The limits of SPEC §3: 50 rules x 160 `all` conditions, every rule failing on its
// 160th, so all 8 000 conditions are evaluated and the default owner takes the record.
// Argument 0: the rules repeat the same 12 conditions; 1: every condition is distinct.
void BM_WorstCase(benchmark::State& st) {
  const bool distinct = st.range(0) != 0;
  Config c;
  c.users.push_back(MakeUser("default-owner"));
  AddPool(c, "sales", 5, [](int) { return true; });
  for (int i = 0; i < 50; ++i) {
    Rule r = MakeRule("r" + std::to_string(i + 1), ToPool("sales"));
    r.conditions.all = Conditions(160, /*last_fails=*/true, distinct ? i * 160 : -1);
    c.rules.push_back(std::move(r));
  }
  c.settings.default_owners[ObjectType::kDeal] = "default-owner";
  auto ws = BuildOrDie(std::move(c));
  Record rec = MakeDeal();
  Run(st, *ws, rec, Outcome::kDefault,
      std::string("50 rules x 160 conditions (") + (distinct ? "all distinct" : "12 repeated") +
          "), none matches, default owner");
}
BENCHMARK(BM_WorstCase)->Name("decide/worst_case_50x160")->ArgName("distinct")->Arg(0)->Arg(1)
    ->Unit(benchmark::kMicrosecond);

// (c) Against rule count: N rules of 10 conditions; the first N-1 fail on their 10th,
// the last rule matches and assigns from a pool of 5.
void BM_Rules(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  Config c;
  AddPool(c, "sales", 5, [](int) { return true; });
  for (int i = 0; i < n; ++i) {
    Rule r = MakeRule("r" + std::to_string(i + 1), ToPool("sales"));
    r.conditions.all = Conditions(10, /*last_fails=*/i + 1 < n);
    c.rules.push_back(std::move(r));
  }
  auto ws = BuildOrDie(std::move(c));
  Record rec = MakeDeal();
  Run(st, *ws, rec, Outcome::kAssigned,
      std::to_string(n) + " rules x 10 conditions, last rule matches");
}
BENCHMARK(BM_Rules)->Name("decide/rules")->ArgName("rules")->Arg(1)->Arg(10)->Arg(50)
    ->Unit(benchmark::kNanosecond);

// (c) Against pool size: one rule of one condition, a pool of N members; either all
// eligible, or all but the last inactive (each decision then checks all N members).
void BM_PoolSize(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  const bool last_only = st.range(1) != 0;
  Config c;
  AddPool(c, "sales", n, [&](int i) { return !last_only || i == n - 1; });
  Rule r = MakeRule("r1", ToPool("sales"));
  r.conditions.all = {Cond("country", Op::kEq, One(Str("poland")))};
  c.rules.push_back(std::move(r));
  auto ws = BuildOrDie(std::move(c));
  Record rec = MakeDeal();
  Run(st, *ws, rec, Outcome::kAssigned,
      "pool of " + std::to_string(n) + (last_only ? ", only the last member eligible" : ", all eligible"));
}
BENCHMARK(BM_PoolSize)->Name("decide/pool_size")->ArgNames({"members", "last_eligible"})
    ->ArgsProduct({{10, 100, 1000}, {0, 1}})->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
