// `rota distributions import|template`: the distribution keys as a CSV or XLSX file
// (SPEC §8), the same as POST /v1/distributions/{id}/import and its templates.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "io/keys_file.h"
#include "io/xlsx_read.h"

namespace rota::cli {
namespace {

bool EndsWithXlsx(const std::string& path) {
  if (path.size() < 5) return false;
  std::string ext = path.substr(path.size() - 5);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".xlsx";
}

// `import` under `parent`: `rota distributions import`, and `rota import` for short.
void AddKeysImport(CLI::App* parent, int* exit_code) {
  struct Opts {
    std::string db = "rota.db";
    std::string workspace = "default";
    std::string distribution;
    std::string file;
    bool header = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* imp = parent->add_subcommand("import", "Import a distribution's keys from a CSV or XLSX file.");
  imp->footer(
      "Column A the value, B the user id, C the percentage (50, 50%, 50,5, or 0.5 in a\n"
      "percent-formatted cell). All or nothing: any bad row rejects the file and every row's\n"
      "problem is printed. The values named get the file's keys and start afresh (a\n"
      "redistribution); other values keep theirs. `rota import` and `rota distributions import`\n"
      "are the same command.");
  imp->add_option("FILE", o->file, "the file (.xlsx, or read as CSV)")->required();
  imp->add_option("--distribution", o->distribution, "the distribution id")->required();
  imp->add_flag("--header", o->header, "the file's first row is a header");
  imp->add_option("--db", o->db, kDbHelp)->capture_default_str();
  imp->add_option("--workspace", o->workspace, "the workspace")->capture_default_str();
  imp->callback([o, exit_code] {
    auto read = ReadFile(o->file);
    if (!read) {
      *exit_code = 2;
      return;
    }
    const std::string bytes = std::move(*read);
    const bool xlsx = io::LooksLikeZip(bytes) || EndsWithXlsx(o->file);
    auto env = OpenEnv(o->db, /*must_exist=*/true);
    if (!env) {
      *exit_code = 2;
      return;
    }
    auto result = env->service->ImportKeys(o->workspace, o->distribution, bytes, xlsx, o->header);
    if (!result.ok()) {
      *exit_code = Fail(o->file + " not imported", result.status());
      return;
    }
    std::cout << "imported " << (*result)["imported"].get<int64_t>() << " rows, "
              << (*result)["values"].get<int64_t>() << " values into " << o->distribution << "\n";
  });
}

}  // namespace

void AddDistributions(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("distributions", "Distribution keys from files (CSV or XLSX).");
  cmd->require_subcommand(1);
  AddKeysImport(cmd, exit_code);
  AddKeysImport(&app, exit_code);  // `rota import`, the same command
  struct Opts {
    std::string file;
    bool no_header = false;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* tpl = cmd->add_subcommand("template", "Write a sample keys file to fill in (.xlsx, or CSV).");
  tpl->add_option("FILE", o->file, "where to write it; a name ending in .xlsx gives a workbook")->required();
  tpl->add_flag("--no-header", o->no_header, "leave out the header row");
  tpl->callback([o, exit_code] {
    std::string bytes;
    if (EndsWithXlsx(o->file)) {
      auto x = io::WriteKeysTemplateXlsx(!o->no_header);
      if (!x.ok()) {
        *exit_code = Fail("template", x.status());
        return;
      }
      bytes = std::move(x).value();
    } else {
      bytes = io::WriteKeysTemplateCsv(!o->no_header);
    }
    std::ofstream out(o->file, std::ios::binary);
    out << bytes;
    if (!out) {
      std::cerr << "rota: cannot write " << o->file << "\n";
      *exit_code = 2;
      return;
    }
    std::cout << "wrote " << o->file << "\n";
  });
}

}  // namespace rota::cli
