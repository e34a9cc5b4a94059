// The subcommands of `rota`, one file each. Each Add* registers its subcommand and
// sets `*exit_code` when it runs.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "service/service.h"

namespace rota::cli {

void AddAssign(CLI::App& app, int* exit_code);
void AddSimulate(CLI::App& app, int* exit_code);
void AddServe(CLI::App& app, int* exit_code);
void AddWorkspaces(CLI::App& app, int* exit_code);
void AddKeys(CLI::App& app, int* exit_code);
void AddConfig(CLI::App& app, int* exit_code);
void AddHistory(CLI::App& app, int* exit_code);
void AddDistributions(CLI::App& app, int* exit_code);
void AddBackup(CLI::App& app, int* exit_code);

// What `--db` takes, for every command but `backup` (SQLite only).
inline constexpr const char* kDbHelp = "SQLite database file, or a postgresql:// URL";

// The store at `db` and a service over it with the system clock, for one command.
struct Env {
  std::unique_ptr<store::Store> store;
  service::SystemClock clock;
  std::unique_ptr<service::Service> service;
};
// Prints the problem and returns nullptr when the database cannot be opened.
// `must_exist`: a SQLite file that is not there is refused rather than made (a command
// that only reads or changes what is stored, run with a mistyped --db).
std::unique_ptr<Env> OpenEnv(const std::string& db, bool must_exist = false);

// Connector credentials are sealed with ROTA_SECRET_KEY: with it, the service opens them
// (connector calls, write-backs of records that came through a connector); without it,
// connectors cannot be used and everything else works. False, with the problem printed,
// for a key that is not usable.
bool UseSecretKey(Env& env);

// On a database with no workspace yet: makes the workspace "default" and prints its first
// admin key (or the one in ROTA_BOOTSTRAP_KEY), as `rota serve` does on its first start.
// False, with the problem printed, when that fails.
bool Bootstrap(Env& env);

// The bytes of the file at `path`; nullopt, with "rota: cannot read PATH…" printed, when it
// cannot be read or is a directory (which would read as empty).
std::optional<std::string> ReadFile(const std::string& path);

// Prints a failed status on stderr (message, then each detail) and returns 2.
int Fail(const std::string& context, const Status& s);

}  // namespace rota::cli
