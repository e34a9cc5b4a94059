// The config document (PUT /v1/config, `rota config apply`): JSON text → io::ReadConfig
// (shape problems and core::Validate) → core::Workspace::Build (compiled conditions,
// time zones, keys). A document ReadConfig accepts must compile, and must read back the
// same from its own JSON (WriteConfig, with pool positions).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/workspace.h"
#include "io/config_json.h"
#include "io/json_util.h"

using namespace rota;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = io::ParseJson(std::string(reinterpret_cast<const char*>(data), size));
  if (!doc.ok()) return 0;
  auto config = io::ReadConfig(*doc);
  if (!config.ok()) {
    // Every problem names where it is; the error body is serialisable.
    (void)io::ErrorBody(config.status()).dump(-1, ' ', false, io::Json::error_handler_t::replace);
    return 0;
  }
  io::Json written = io::WriteConfig(*config, /*with_positions=*/true);
  auto ws = core::Workspace::Build(*config);
  if (!ws.ok()) {
    std::fprintf(stderr, "ReadConfig accepted a document Workspace::Build refuses: %s\n",
                 ws.status().message().c_str());
    std::abort();
  }
  auto again = io::ReadConfig(written);
  if (!again.ok()) {
    std::fprintf(stderr, "the written document does not read back: %s\n%s\n", again.status().message().c_str(),
                 written.dump().c_str());
    std::abort();
  }
  io::Json rewritten = io::WriteConfig(*again, true);
  if (rewritten != written) {
    std::fprintf(stderr, "the document changes on a round trip:\n%s\n%s\n", written.dump().c_str(),
                 rewritten.dump().c_str());
    std::abort();
  }
  return 0;
}
