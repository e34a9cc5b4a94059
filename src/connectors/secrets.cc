#include "connectors/secrets.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "connectors/crypto.h"

namespace rota::connectors {
namespace {

constexpr size_t kNonce = 12, kTag = 16;
const std::string kPrefix = "v1:";

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

Result<SecretBox> SecretBox::FromText(const std::string& text) {
  if (text.size() < 16) {
    return Status(Code::kInvalid, "secret_key_too_short", "ROTA_SECRET_KEY must be at least 16 characters long");
  }
  std::string key(SHA256_DIGEST_LENGTH, '\0');
  SHA256(U(text), text.size(), U(key));
  return SecretBox(std::move(key));
}

std::string SecretBox::Seal(const std::string& plain) const {
  std::string nonce(kNonce, '\0');
  if (RAND_bytes(U(nonce), static_cast<int>(kNonce)) != 1) {
    std::fprintf(stderr, "rota: no random bytes available\n");
    std::abort();
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(plain.size() + 16, '\0');
  int len = 0, total = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce));
  EVP_EncryptUpdate(ctx.get(), U(out), &len, U(plain), static_cast<int>(plain.size()));
  total = len;
  EVP_EncryptFinal_ex(ctx.get(), U(out) + total, &len);
  total += len;
  out.resize(static_cast<size_t>(total));
  std::string tag(kTag, '\0');
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag), U(tag));
  return kPrefix + Base64(nonce + out + tag);
}

Result<std::string> SecretBox::Open(const std::string& sealed) const {
  const Status bad(Code::kInternal, "secret_unreadable",
                   "stored credentials cannot be opened with this ROTA_SECRET_KEY (was the key changed?)");
  if (sealed.rfind(kPrefix, 0) != 0) return bad;
  auto raw = FromBase64(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < kNonce + kTag) return bad;
  const std::string nonce = raw->substr(0, kNonce);
  const std::string body = raw->substr(kNonce, raw->size() - kNonce - kTag);
  std::string tag = raw->substr(raw->size() - kTag);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(body.size() + 16, '\0');
  int len = 0, total = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce));
  EVP_DecryptUpdate(ctx.get(), U(out), &len, U(body), static_cast<int>(body.size()));
  total = len;
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), U(tag));
  if (EVP_DecryptFinal_ex(ctx.get(), U(out) + total, &len) != 1) return bad;
  total += len;
  out.resize(static_cast<size_t>(total));
  return out;
}

}  // namespace rota::connectors
