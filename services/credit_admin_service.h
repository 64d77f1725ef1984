#pragma once
// zeva.credits.v1.CreditAdminService: government DIRECTORs issue, adjust and reverse credits.
// Every request carries an idempotency key; errors are checked in the contract's order
// (key reuse, then malformed request, then not found, then permission), and the postings
// themselves run in db::LedgerStore::Post.

#include "db/idempotency.h"
#include "db/ledger_store.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::services {

class CreditAdminService final : public zeva::credits::v1::CreditAdminService::CallbackService {
 public:
  CreditAdminService(CallGuard& guard, db::LedgerStore& store, db::IdempotencyStore& keys)
      : guard_(guard), store_(store), keys_(keys) {}

  grpc::ServerUnaryReactor* IssueCredits(grpc::CallbackServerContext* context,
                                         const zeva::credits::v1::IssueCreditsRequest* request,
                                         zeva::credits::v1::Journal* response) override;
  grpc::ServerUnaryReactor* AdjustCredits(grpc::CallbackServerContext* context,
                                          const zeva::credits::v1::AdjustCreditsRequest* request,
                                          zeva::credits::v1::Journal* response) override;
  grpc::ServerUnaryReactor* ReverseJournal(grpc::CallbackServerContext* context,
                                           const zeva::credits::v1::ReverseJournalRequest* request,
                                           zeva::credits::v1::Journal* response) override;

 private:
  using Prepare = std::function<absl::StatusOr<db::JournalPosting>(const Call& call)>;
  // Idempotency, then `prepare` (validation, visibility, permission), then the posting.
  grpc::ServerUnaryReactor* Administer(grpc::CallbackServerContext* context, const char* method,
                                       const google::protobuf::Message& request,
                                       const std::string& key, const Prepare& prepare,
                                       zeva::credits::v1::Journal* response);

  CallGuard& guard_;
  db::LedgerStore& store_;
  db::IdempotencyStore& keys_;
};

}  // namespace zeva::services
