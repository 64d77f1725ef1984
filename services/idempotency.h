#pragma once
// What identifies a mutating request for its idempotency key: the method and a digest of the
// request as sent, key excluded. Protobuf's deterministic serialization makes equal requests
// equal bytes (map order fixed), so a retried request matches and a different one does not.

#include <google/protobuf/message.h>

#include <string>

namespace zeva::services {

// SHA-256 of `request` serialized deterministically with its `idempotency_key` field cleared.
std::string RequestDigest(const google::protobuf::Message& request);

}  // namespace zeva::services
