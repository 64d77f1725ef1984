#pragma once
// db::ByteDigest with OpenSSL's streaming SHA-256 (EVP): the checksum of an upload at commit.

#include <memory>
#include <string>

#include "db/icbc_store.h"

namespace zeva::services {

class Sha256Digest final : public db::ByteDigest {
 public:
  Sha256Digest();
  ~Sha256Digest() override;
  void Update(absl::string_view bytes) override;
  std::string HexDigest() override;  // once

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace zeva::services
