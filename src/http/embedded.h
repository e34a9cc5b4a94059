// Files embedded in the binary at build time (docs/openapi.yaml, web/).
#pragma once

#include <cstddef>
#include <string_view>

namespace rota::embedded {

struct File {
  const char* path;  // relative to the project root, e.g. "web/index.html"
  const unsigned char* data;
  size_t size;
};
extern const File kFiles[];  // ends with {nullptr, nullptr, 0}

inline const File* Find(std::string_view path) {
  for (const File* f = kFiles; f->path != nullptr; ++f) {
    if (path == f->path) return f;
  }
  return nullptr;
}

}  // namespace rota::embedded
