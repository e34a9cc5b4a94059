// `rota simulate`: runs a config document over a JSON Lines file of assign requests,
// in memory, and prints each decision and a summary. Never touches a database.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "core/decide.h"
#include "core/simulate.h"
#include "core/state.h"
#include "core/tally.h"
#include "core/workspace.h"
#include "io/assign_json.h"
#include "io/config_json.h"
#include "service/service.h"

namespace rota::cli {
namespace {

struct Options {
  std::string config;
  std::string records;
  std::string now;
  bool explain = false;
};

void PrintProblems(const std::string& where, const Status& s) {
  if (s.details().empty()) {
    std::cerr << where << s.message() << "\n";
    return;
  }
  for (const Problem& p : s.details()) {
    std::cerr << where << (p.path.empty() ? "" : p.path + ": ") << p.message << "\n";
  }
}

void PrintSummary(const core::Tally& tally, const core::Workspace& ws) {
  std::fprintf(stderr, "%-24s %10s %9s\n", "owner", "records", "actual %");
  for (const auto& r : tally.Owners()) {
    std::fprintf(stderr, "%-24s %10lld %9.2f\n", r.owner.empty() ? "(unassigned)" : r.owner.c_str(),
                 static_cast<long long>(r.count), r.percent);
  }
  for (const auto& [reason, n] : tally.unassigned_by_reason()) {
    std::fprintf(stderr, "  unassigned %-20s %6lld\n", reason.c_str(), static_cast<long long>(n));
  }
  auto keys = tally.Keys(ws);
  if (keys.empty()) return;
  std::fprintf(stderr, "\n%-16s %-16s %-16s %8s %9s %9s\n", "distribution", "value", "owner", "records",
               "actual %", "target %");
  for (const auto& k : keys) {
    std::fprintf(stderr, "%-16s %-16s %-16s %8lld %9.2f %9.2f\n", k.distribution.c_str(), k.value.c_str(),
                 k.user.c_str(), static_cast<long long>(k.count), k.percent, k.target_percent);
  }
}

int Run(const Options& o) {
  auto text = ReadFile(o.config);
  if (!text) return 2;
  auto doc = io::ParseJson(*text);
  if (!doc.ok()) {
    std::cerr << o.config << ": " << doc.status().message() << "\n";
    return 2;
  }
  auto config = io::ReadConfig(*doc);
  if (!config.ok()) {
    PrintProblems(o.config + ": ", config.status());
    return 2;
  }
  // What `rota config apply` would refuse in a new database, simulate refuses too.
  if (Status s = service::CheckChange(core::Config{}, *config); !s.ok()) {
    PrintProblems(o.config + ": ", s);
    return 2;
  }
  std::vector<core::Record> known = config->records;
  auto ws = core::Workspace::Build(std::move(config).value());
  if (!ws.ok()) {
    PrintProblems(o.config + ": ", ws.status());
    return 2;
  }

  std::optional<core::Time> default_now;
  if (!o.now.empty()) {
    default_now = io::ParseTime(o.now);
    if (!default_now) {
      std::cerr << "--now: not an RFC 3339 time: " << o.now << "\n";
      return 2;
    }
  }

  auto records = ReadFile(o.records);
  if (!records) return 2;
  std::istringstream in(*records);
  struct Line {
    int n;
    io::Json json;
    io::AssignBody body;
  };
  std::vector<Line> bodies;
  bool bad = false;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = o.records + ":" + std::to_string(n) + ": ";
    auto j = io::ParseJson(line);
    if (!j.ok()) {
      std::cerr << where << j.status().message() << "\n";
      bad = true;
      continue;
    }
    auto body = io::ReadAssignBody(*j);
    if (!body.ok()) {
      PrintProblems(where, body.status());
      bad = true;
      continue;
    }
    bodies.push_back({n, *j, std::move(body).value()});
  }
  if (bad) return 2;  // a file that is not assign bodies: nothing decided, as POST /v1/simulate's 422

  core::MemoryState state;
  for (core::Record& r : known) state.PutRecord(std::move(r));
  const core::Time wall = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  std::vector<core::SimulatedRequest> requests;
  for (Line& l : bodies) {
    l.body.explain = o.explain;
    requests.push_back(io::ToSimulated(l.body, l.json, l.body.at ? *l.body.at : default_now.value_or(wall)));
  }
  core::Tally tally;
  std::vector<core::SimulationStep> steps = core::Simulate(**ws, state, requests, &tally);
  int exit_code = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    io::Json out = io::WriteSimulationStep(steps[i], bodies[i].body);
    // A line the decision refuses (an unknown target, a key reused by another request) is
    // a bad line: its error in its place, with its line, as `rota assign` prints it; the
    // others go on.
    if (!steps[i].decision.ok()) {
      out["line"] = bodies[i].n;
      PrintProblems(o.records + ":" + std::to_string(bodies[i].n) + ": ", steps[i].decision.status());
      exit_code = 2;
    }
    std::cout << out.dump() << "\n";
  }
  std::cout.flush();
  PrintSummary(tally, **ws);
  return exit_code;
}

}  // namespace

void AddSimulate(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Run a config document over a JSON Lines file of assign requests, in memory: prints one\n"
      "decision per line on stdout and a per-owner summary on stderr. Touches no database.");
  cmd->add_option("--config", opts->config, "the config document (JSON)")->required();
  cmd->add_option("--records", opts->records,
                  "JSON Lines, one POST /v1/assign body a line, optionally with \"at\" (RFC 3339)")
      ->required();
  cmd->add_option("--now", opts->now, "the time for lines without \"at\" (RFC 3339; default: now)");
  cmd->add_flag("--explain", opts->explain, "print each decision's trace");
  cmd->callback([opts, exit_code] { *exit_code = Run(*opts); });
}

}  // namespace rota::cli
