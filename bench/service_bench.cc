// Decisions per second through the service layer on SQLite (group commit on), beside a
// bare C++ loop committing one row per transaction with rota's journal and sync
// settings, measured in the same run. Prints a table and writes JSON rows to argv[1].
//
// Other modes, used by scripts/bench-system (each prints one JSON object on stdout):
//   rota_bench_service bare ROWS               the bare SQLite loop alone (decisions/s)
//   rota_bench_service pg URL THREADS PER      the service layer on PostgreSQL, THREADS threads
//   rota_bench_service fill DB N [OWNERS]      writes N decisions into the SQLite database DB
//                                              (workspace "default") through the store layer
//   rota_bench_service loaded DB OPEN [USERS]  µs per least-loaded decision among USERS users
//                                              (20) who each own OPEN open leads
//   rota_bench_service batch RUNS              RUNS batches of 1 000 new leads through the
//                                              service layer alone: decisions/s and wall µs a
//                                              decision (the committer's work, the sync spread)
// Any other first argument starting with '-' is refused (it would name the output file).
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <fstream>
#include <thread>
#include <vector>

#include "service/service.h"

namespace {

using Clock = std::chrono::steady_clock;
using rota::service::Json;

double Seconds(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

// The value below which a share `p` of `v` lies (0.5: the median); 0 for none.
double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// One row per transaction, WAL and synchronous=FULL: what durability costs without grouping.
// Returns commits per second; `latencies_ms`, when given, gets each commit's time.
double BareSqlite(const std::string& path, int rows, std::vector<double>* latencies_ms = nullptr) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT NOT NULL);", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t(body) VALUES(?)", -1, &ins, nullptr);
  const std::string body(200, 'x');
  auto start = Clock::now();
  for (int i = 0; i < rows; ++i) {
    auto one = Clock::now();
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_text(ins, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    if (latencies_ms) latencies_ms->push_back(Seconds(one) * 1000);
  }
  double secs = Seconds(start);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rows / secs;
}

struct Rig {
  std::unique_ptr<rota::store::Store> store;
  rota::service::SystemClock clock;
  std::unique_ptr<rota::service::Service> svc;
  rota::service::Principal who{"default", rota::service::Role::kAdmin, true, "bench"};
};

// A pool of five round robin for web leads.
const Json& PoolConfig() {
  static const Json config = Json::parse(R"({
    "users": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}, {"id": "e"}],
    "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b", "c", "d", "e"]}],
    "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
               "conditions": {"all": [{"field": "source", "op": "eq", "value": "web"}]},
               "assign": {"type": "pool", "pool": "p"}}]})");
  return config;
}

// The service over the store at `path`, workspace "default" configured with `config`;
// nullptr (the error printed) when either fails.
std::unique_ptr<Rig> MakeRig(const std::string& path, const Json& config = PoolConfig()) {
  auto store = rota::store::OpenStore(path);
  if (!store.ok()) {
    std::fprintf(stderr, "store: %s\n", store.status().message().c_str());
    return nullptr;
  }
  auto rig = std::make_unique<Rig>();
  rig->store = std::move(store).value();
  rig->svc = std::make_unique<rota::service::Service>(*rig->store, rig->clock);
  (void)rig->svc->CreateWorkspace("default");
  auto r = rig->svc->PutConfig("default", config, false);
  if (!r.ok()) {
    std::fprintf(stderr, "config: %s\n", r.status().message().c_str());
    return nullptr;
  }
  return rig;
}

Json Lead(const std::string& id) {
  return {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}, {"properties", {{"source", "web"}}}}}};
}

double ServiceThreads(Rig& rig, int threads, int per_thread, const std::string& tag) {
  std::atomic<int> errors{0};
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = rig.svc->Assign(rig.who, Lead(tag + std::to_string(t) + "-" + std::to_string(i)), "");
        if (!r.ok() && errors++ == 0) std::fprintf(stderr, "first error: %s\n", r.status().message().c_str());
      }
    });
  }
  for (auto& th : pool) th.join();
  double secs = Seconds(start);
  if (errors) std::fprintf(stderr, "%d errors\n", errors.load());
  return threads * per_thread / secs;
}

// Group commit's (decisions, transactions) so far, from the service's metrics.
std::pair<int64_t, int64_t> CommitCounts(Rig& rig) {
  const std::string text = rig.svc->RenderMetrics();
  auto read = [&](const std::string& name) -> int64_t {
    size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? 0 : std::atoll(text.c_str() + at + name.size() + 2);
  };
  return {read("rota_group_commit_items_total"), read("rota_group_commits_total")};
}

// `batches` requests of `size` new leads each, ids `PREFIX<batch>-<i>`: decisions/s.
double ServiceBatch(Rig& rig, int batches, int size, const std::string& prefix = "B") {
  auto start = Clock::now();
  for (int b = 0; b < batches; ++b) {
    Json items = Json::array();
    for (int i = 0; i < size; ++i) {
      std::string id = prefix;  // appended: GCC 12 warns (-Wrestrict) about "B" + std::string
      id += std::to_string(b) + "-" + std::to_string(i);
      items.push_back(Lead(id));
    }
    (void)rig.svc->AssignBatch(rig.who, {{"items", items}});
  }
  return batches * size / Seconds(start);
}


// Writes n decisions straight through the store layer (Tx::InsertDecision, the statement
// rota itself uses, so every index of the real schema is kept), 50 000 per transaction.
// Spread over the last 28 days in storage order, round robin over `owners` users u00..;
// every 20th falls to the default owner, every 50th is unassigned; bodies shaped like
// rota's answers.
int Fill(const std::string& path, int64_t n, int owners) {
  auto store = rota::store::OpenStore(path);
  if (!store.ok()) {
    std::fprintf(stderr, "fill: %s\n", store.status().message().c_str());
    return 1;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t span = 28 * 86400;
  std::mt19937_64 rng(42);
  auto start = Clock::now();
  const int64_t per_tx = 50000;
  for (int64_t done = 0; done < n;) {
    auto tx = (*store)->BeginWrite("default");
    if (!tx.ok()) {
      std::fprintf(stderr, "fill: %s\n", tx.status().message().c_str());
      return 1;
    }
    int64_t end = std::min(n, done + per_tx);
    for (int64_t i = done; i < end; ++i) {
      rota::store::DecisionRow d;
      d.at = now - span + span * i / n;
      char id[48];
      std::snprintf(id, sizeof id, "dec_%012llx%016llx", static_cast<unsigned long long>(d.at * 1000 + i % 1000),
                    static_cast<unsigned long long>(rng()));
      d.id = id;
      d.event = "created";
      d.object_type = "lead";
      d.record_id = "L" + std::to_string(i);
      char owner[16];
      std::snprintf(owner, sizeof owner, "u%02d", static_cast<int>(i % owners));
      if (i % 50 == 49) {
        d.outcome = "unassigned";
        d.reason = "no_rule_matched";
      } else if (i % 20 == 19) {
        d.outcome = "default";
        d.owner = "u00";
      } else {
        d.outcome = "assigned";
        d.owner = owner;
        d.rule = "r";
        d.strategy = "pool";
      }
      Json body = {{"decision_id", d.id}, {"at", "2026-11-22T10:00:00Z"}, {"outcome", d.outcome},
                   {"owner", d.owner ? Json(*d.owner) : Json(nullptr)}, {"rule", d.rule ? Json(*d.rule) : Json(nullptr)},
                   {"strategy", d.strategy ? Json(*d.strategy) : Json(nullptr)},
                   {"reason", d.reason ? Json(*d.reason) : Json(nullptr)}, {"related", Json::array()}};
      d.body = body.dump();
      d.request_hash = std::to_string(rng());
      auto s = (*tx)->InsertDecision(d);
      if (!s.ok()) {
        std::fprintf(stderr, "fill: %s\n", s.message().c_str());
        return 1;
      }
    }
    auto s = (*tx)->Commit();
    if (!s.ok()) {
      std::fprintf(stderr, "fill: %s\n", s.message().c_str());
      return 1;
    }
    done = end;
  }
  std::printf("{\"filled\": %lld, \"seconds\": %.1f}\n", static_cast<long long>(n), Seconds(start));
  return 0;
}

// A least-loaded decision reads each candidate's open records (SPEC §5): `users` users
// each own `open` open leads, written through the store layer; then 3 000 decisions in
// batches of 1 000. Returns the microseconds per decision, or a negative number.
double LoadedMicros(const std::string& path, int open, int users) {
  Json config = {{"users", Json::array()},
                 {"pools", Json::array({{{"id", "p"}, {"object_type", "lead"}, {"members", Json::array()}}})},
                 {"rules", Json::array({{{"id", "r"},
                                         {"object_type", "lead"},
                                         {"events", {"created"}},
                                         {"conditions", {{"all", Json::array({{{"field", "x"}, {"op", "is_empty"}}})}}},
                                         {"assign", {{"type", "least_loaded"}, {"pool", "p"}}}}})}};
  for (int u = 0; u < users; ++u) {
    const std::string id = "u" + std::to_string(u);
    config["users"].push_back({{"id", id}});
    config["pools"][0]["members"].push_back(id);
  }
  auto rig = MakeRig(path, config);
  if (!rig) return -1;
  auto tx = rig->store->BeginWrite("default");
  for (int u = 0; u < users && tx.ok(); ++u) {
    for (int i = 0; i < open; ++i) {
      rota::core::Record r;
      r.id = "O" + std::to_string(u) + "-" + std::to_string(i);
      r.owners = {"u" + std::to_string(u)};
      if (rota::Status s = (*tx)->PutRecord(r, 0); !s.ok()) {
        std::fprintf(stderr, "loaded: %s\n", s.message().c_str());
        return -1;
      }
    }
  }
  if (!tx.ok() || !(*tx)->Commit().ok()) return -1;
  tx = rota::Status::Internal("done");
  // In batches of 1 000 (one commit each), so that the sync does not hide the reads.
  const int n = 3000;
  auto start = Clock::now();
  for (int b = 0; b < n / 1000; ++b) {
    Json items = Json::array();
    for (int i = 0; i < 1000; ++i) {
      items.push_back({{"object_type", "lead"}, {"event", "created"},
                       {"record", {{"id", "N" + std::to_string(b) + "-" + std::to_string(i)}}}});
    }
    auto r = rig->svc->AssignBatch(rig->who, {{"items", items}});
    if (!r.ok() || (*r)["decisions"][999].value("outcome", "") != "assigned") {
      std::fprintf(stderr, "loaded: %s\n", r.ok() ? (*r)["decisions"][999].dump().c_str() : r.status().message().c_str());
      return -1;
    }
  }
  return Seconds(start) * 1e6 / n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3 && std::strcmp(argv[1], "loaded") == 0) {
    const int open = std::atoi(argv[3]), users = argc > 4 ? std::atoi(argv[4]) : 20;
    const double us = LoadedMicros(argv[2], open, users);
    if (us < 0) return 1;
    std::printf("{\"open_per_user\": %d, \"users\": %d, \"us_per_decision\": %.1f}\n", open, users, us);
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "bare") == 0) {
    const int rows = argc > 2 ? std::atoi(argv[2]) : 3000;
    auto dir = std::filesystem::temp_directory_path() / ("rota-bench-bare-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::vector<double> ms;
    double bare = BareSqlite((dir / "bare.db").string(), rows, &ms);
    std::filesystem::remove_all(dir);
    std::printf("{\"bare\": %.1f, \"commit_p50_ms\": %.3f, \"commit_p99_ms\": %.3f}\n", bare, Quantile(ms, 0.5),
                Quantile(ms, 0.99));
    return 0;
  }
  // `batch RUNS`: only the batch row, RUNS batches of 1 000 after one to warm up: the
  // committer's work a decision with the sync spread over 1 000 (docs/performance.md).
  if (argc > 1 && std::strcmp(argv[1], "batch") == 0) {
    const int runs = argc > 2 ? std::atoi(argv[2]) : 0;
    if (runs <= 0) {
      std::fprintf(stderr, "usage: rota_bench_service batch RUNS (RUNS > 0)\n");
      return 2;
    }
    auto dir = std::filesystem::temp_directory_path() / ("rota-bench-batch-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    double rate = -1;
    if (auto rig = MakeRig((dir / "rota.db").string())) {
      (void)ServiceBatch(*rig, 1, 1000, "W");  // the warm-up's records are not decided again
      rate = ServiceBatch(*rig, runs, 1000);
    }
    std::filesystem::remove_all(dir);
    if (rate < 0) return 1;
    std::printf("{\"batch\": %.1f, \"us_per_decision\": %.2f}\n", rate, 1e6 / rate);
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "fill") == 0 && argc > 3) {
    return Fill(argv[2], std::atoll(argv[3]), argc > 4 ? std::atoi(argv[4]) : 20);
  }
  if (argc > 1 && std::strcmp(argv[1], "pg") == 0 && argc > 4) {
    auto rig = MakeRig(argv[2]);
    if (!rig) return 1;
    double rate = ServiceThreads(*rig, std::atoi(argv[3]), std::atoi(argv[4]), "P");
    std::printf("{\"rota\": %.1f}\n", rate);
    return 0;
  }
  if (argc > 1 && argv[1][0] == '-') {
    std::fprintf(stderr, "rota_bench_service: unknown option %s (the first argument names the output file)\n", argv[1]);
    return 2;
  }
  const bool quick = std::getenv("ROTA_BENCH_QUICK") != nullptr;
  const int bare_rows = quick ? 200 : 3000;
  const int per_thread = quick ? 10 : 250;
  auto dir = std::filesystem::temp_directory_path() / ("rota-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  auto rig = MakeRig((dir / "rota.db").string());
  if (!rig) return 1;
  double one = ServiceThreads(*rig, 1, per_thread * 2, "S");
  // The disk is shared with whatever else runs, and its speed moves from one minute to
  // the next (the bare loop gave 3 000-5 300 commits/s within minutes): the bare loop and
  // the 16 threads run in turn, three times each, and each reports its median.
  constexpr int kPairs = 3;
  std::vector<double> bares, sixteens;
  int64_t items = 0, commits = 0;
  for (int k = 0; k < kPairs; ++k) {
    bares.push_back(BareSqlite((dir / ("bare" + std::to_string(k) + ".db")).string(), bare_rows));
    const auto before = CommitCounts(*rig);
    sixteens.push_back(ServiceThreads(*rig, 16, per_thread, "M" + std::to_string(k) + "-"));
    const auto after = CommitCounts(*rig);
    items += after.first - before.first;
    commits += after.second - before.second;
  }
  const double mean_batch = commits > 0 ? static_cast<double>(items) / commits : 0;
  const double bare = Quantile(bares, 0.5), sixteen = Quantile(sixteens, 0.5);
  double batch = ServiceBatch(*rig, quick ? 1 : 3, 1000);

  struct Row {
    const char* name;
    double rota;
    double baseline;
    const char* target;
  };
  Row rows[] = {
      {"decisions/s, service layer, SQLite, 1 thread", one, bare, "-"},
      {"decisions/s, service layer, SQLite, 16 threads (group commit)", sixteen, bare, ">= 2x baseline"},
      {"decisions/s, assign batch of 1000", batch, bare, "-"},
  };
  std::printf("\nservice layer on SQLite (WAL, synchronous=FULL), baseline: bare one-row-per-transaction loop\n");
  std::printf("%-64s %10s %10s %7s  %s\n", "row", "rota", "baseline", "ratio", "target");
  Json out = Json::array();
  for (const Row& r : rows) {
    std::printf("%-64s %10.0f %10.0f %6.1fx  %s\n", r.name, r.rota, r.baseline, r.rota / r.baseline, r.target);
    out.push_back({{"row", r.name}, {"rota", r.rota}, {"baseline", r.baseline}, {"ratio", r.rota / r.baseline},
                   {"unit", "decisions/s"}, {"target", r.target}});
  }
  std::string pairs;
  for (int k = 0; k < kPairs; ++k) {
    char one_pair[64];
    std::snprintf(one_pair, sizeof one_pair, "%s%.0f/%.0f", k ? ", " : "", sixteens[k], bares[k]);
    pairs += one_pair;
  }
  std::printf("16 threads: %.1f decisions per group commit on average; runs (rota/bare, in turn): %s\n", mean_batch,
              pairs.c_str());
  out[1]["mean_batch"] = mean_batch;
  const std::string note = "baseline: bare SQLite loop, one 200-byte row per transaction, median of " +
                           std::to_string(kPairs) + " runs";
  for (Json& row : out) row["note"] = note;
  out[1]["note"] = note + ", in turn with 16-thread runs (rota/bare: " + pairs + ")";

  // What grows with what: a least-loaded decision against the open records its
  // candidates own (read for each candidate: SPEC §5), beside the same with none.
  std::printf("\nleast-loaded among 20 users, in batches of 1 000, against the open leads each owns\n");
  std::printf("%-64s %10s %10s %7s  %s\n", "row", "rota", "baseline", "ratio", "target");
  const int none = 0;
  const double flat = LoadedMicros((dir / "loaded-0.db").string(), none, 20);
  for (int open : quick ? std::vector<int>{100} : std::vector<int>{1000, 10000}) {
    const double us = LoadedMicros((dir / ("loaded-" + std::to_string(open) + ".db")).string(), open, 20);
    const std::string name = "us per least-loaded decision, " + std::to_string(open) + " open leads per user";
    Json row = {{"row", name},
                {"unit", "us/decision"},
                {"target", "<= 2x baseline"},
                {"note", "baseline: the same with no open leads; 20 users, batches of 1 000"}};
    if (us < 0 || flat < 0) {  // a run failed (its error printed above): no figure, no verdict
      std::printf("%-64s %10s %10s %7s  %s\n", name.c_str(), "error", "-", "-", "<= 2x baseline");
      row.update({{"rota", nullptr}, {"verdict", "error"}, {"error", true}});
    } else {
      std::printf("%-64s %10.1f %10.1f %6.1fx  %s\n", name.c_str(), us, flat, us / flat, "<= 2x baseline");
      row.update({{"rota", us}, {"baseline", flat}, {"ratio", us / flat}, {"verdict", us <= 2 * flat ? "PASS" : "FAIL"}});
    }
    out.push_back(row);
  }
  if (argc > 1) std::ofstream(argv[1]) << out.dump(2) << "\n";
  rig.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
