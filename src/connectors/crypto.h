// The few cryptographic pieces the connectors need, over OpenSSL: HMAC-SHA256,
// hex and base64, and a comparison that takes the same time whatever differs.
#pragma once

#include <optional>
#include <string>

namespace rota::connectors {

// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(const std::string& key, const std::string& data);
std::string Hex(const std::string& bytes);
// The bytes of lower- or upper-case hex; nullopt when `text` is not hex.
std::optional<std::string> FromHex(const std::string& text);
std::string Base64(const std::string& bytes);
// Standard base64 (padding required); nullopt when `text` is not base64.
std::optional<std::string> FromBase64(const std::string& text);
// true when a == b, in time that depends only on the lengths.
bool SafeEqual(const std::string& a, const std::string& b);

}  // namespace rota::connectors
