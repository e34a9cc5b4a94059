// `rota assign`: decisions from the command line, on --db, as POST /v1/assign makes them
// (stored, with their history, webhooks and write-backs queued for the server to send).
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "io/json_util.h"

namespace rota::cli {

void AddAssign(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string db = "rota.db";
    std::string workspace = "default";
    std::string file = "-";
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("assign", "Decide and store owners from assign bodies, as POST /v1/assign.");
  cmd->footer(
      "The input is one assign body (a JSON object), or one per line (JSON lines). Each decision\n"
      "is printed as one line of JSON, in the input's order; a refused body prints\n"
      "{\"line\", \"error\"} instead, changes nothing, and makes the exit code 2 (the other bodies\n"
      "are decided).");
  cmd->add_option("FILE", o->file, "the bodies; - reads standard input")->capture_default_str();
  cmd->add_option("--db", o->db, kDbHelp)->capture_default_str();
  cmd->add_option("--workspace", o->workspace, "the workspace")->capture_default_str();
  cmd->callback([o, exit_code] {
    std::stringstream text;
    if (o->file == "-") {
      text << std::cin.rdbuf();
    } else {
      auto bytes = ReadFile(o->file);
      if (!bytes) {
        *exit_code = 2;
        return;
      }
      text << *bytes;
    }
    // One JSON document, else JSON lines (blank lines skipped), each with its line number.
    std::vector<std::pair<size_t, std::string>> bodies;
    if (auto whole = io::ParseJson(text.str()); whole.ok() && whole->is_object()) {
      bodies.push_back({1, text.str()});
    } else {
      std::string line;
      text.clear();
      text.seekg(0);
      for (size_t n = 1; std::getline(text, line); ++n) {
        if (line.find_first_not_of(" \t\r") != std::string::npos) bodies.push_back({n, line});
      }
    }
    if (bodies.empty()) {
      std::cerr << "rota: assign: no assign body in " << (o->file == "-" ? "the input" : o->file) << "\n";
      *exit_code = 2;
      return;
    }
    auto env = OpenEnv(o->db, /*must_exist=*/true);
    if (!env || !UseSecretKey(*env)) {  // with the key, a connector's record's owner goes back to its CRM
      *exit_code = 2;
      return;
    }
    const service::Principal admin{o->workspace, service::Role::kAdmin, true, "cli"};
    for (const auto& [line, body] : bodies) {
      auto parsed = io::ParseJson(body);
      auto decision = parsed.ok() ? env->service->Assign(admin, *parsed, "") : Result<io::Json>(parsed.status());
      if (decision.ok()) {
        std::cout << decision->dump() << "\n";
      } else {
        io::Json error = io::ErrorBody(decision.status());  // the API's error body, and the line
        error["line"] = line;
        std::cout << error.dump() << "\n";
        *exit_code = 2;
      }
    }
  });
}

}  // namespace rota::cli
