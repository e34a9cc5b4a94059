// Connector credentials at rest: sealed with AES-256-GCM under a key derived from
// the server's ROTA_SECRET_KEY, so a copy of the database alone does not give them.
#pragma once

#include <string>

#include "core/status.h"

namespace rota::connectors {

class SecretBox {
 public:
  // `text`: ROTA_SECRET_KEY, any text of at least 16 characters (its SHA-256 is the key).
  static Result<SecretBox> FromText(const std::string& text);
  // "v1:" then base64 of nonce (12 bytes), ciphertext and tag (16 bytes).
  std::string Seal(const std::string& plain) const;
  // The text Seal() was given; an error when the sealed text was not made with this key.
  Result<std::string> Open(const std::string& sealed) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;  // 32 bytes
};

}  // namespace rota::connectors
