#include "services/credit_admin_service.h"

#include "absl/strings/str_cat.h"
#include "domain/compliance_workflow.h"
#include "domain/refusal.h"
#include "services/caller_scope.h"
#include "services/credits_wire.h"
#include "services/idempotent_request.h"
#include "services/wire_numbers.h"

namespace zeva::services {
namespace {

using Outcome = db::PostOutcome::Kind;

absl::Status OutcomeError(const db::PostOutcome& outcome, int64_t journal_id) {
  switch (outcome.kind) {
    case Outcome::kKeyReused:
      return KeyReused();
    case Outcome::kDuplicateReference:
      return domain::Refusal(absl::StatusCode::kAlreadyExists,
                             "this organization already has an issuance with this reference",
                             domain::kReasonDuplicateReference, "reference");
    case Outcome::kNoSuchJournal:
      return domain::Refusal(absl::StatusCode::kNotFound,
                             absl::StrCat("no journal with id ", IdText(journal_id)), "NOT_FOUND",
                             "journal_id");
    case Outcome::kNotReversible:
      return domain::Refusal(absl::StatusCode::kFailedPrecondition, "a reversal cannot be reversed",
                             domain::kReasonInvalidStatus, "journal_id");
    case Outcome::kReductionNotReversible:
      return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                             "an assessment's REDUCTION journal cannot be reversed",
                             domain::kReasonNotReversible, "journal_id");
    case Outcome::kAlreadyReversed:
      return domain::Refusal(
          absl::StatusCode::kFailedPrecondition,
          outcome.journal_id != 0
              ? absl::StrCat("journal ", journal_id, " was already reversed by journal ",
                             outcome.journal_id)
              : absl::StrCat("journal ", journal_id, " was already reversed"),
          domain::kReasonAlreadyReversed, "journal_id");
    case Outcome::kInsufficientCredits:
      return domain::Refusal(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("organization ", outcome.short_organization_id,
                       " has not enough available credits of ", domain::KeyName(outcome.short_key)),
          domain::kReasonInsufficientCredits);
    case Outcome::kPosted:
    case Outcome::kReplayed:
      break;
  }
  return absl::OkStatus();
}

// The supplier to issue or adjust for: INVALID_ARGUMENT unless it is one.
absl::StatusOr<int64_t> SupplierOf(uint64_t requested, const Call& call, db::LedgerStore& store) {
  auto id = RequiredId("organization_id", requested);
  if (!id.ok()) return id.status();
  auto kind = store.KindOf(*id, call.budget);
  if (!kind.ok()) return kind.status();
  if (*kind != db::OrganizationKind::kSupplier) {
    return domain::Refusal(absl::StatusCode::kInvalidArgument,
                           "organization_id must name a vehicle supplier", "INVALID_ARGUMENT",
                           "organization_id");
  }
  return *id;
}

absl::Status DirectorsOnly(const Call& call) {
  return domain::MayAdminister(IsGovernment(call.caller), call.caller.roles);
}

db::JournalPosting NewPosting(const Call& call, const char* kind) {
  db::JournalPosting posting;
  posting.kind = kind;
  posting.posted_by = call.caller.user_id;
  posting.government_id = call.caller.organization_id;
  return posting;
}

}  // namespace

grpc::ServerUnaryReactor* CreditAdminService::Administer(grpc::CallbackServerContext* context,
                                                         const char* method,
                                                         const google::protobuf::Message& request,
                                                         const std::string& key,
                                                         const Prepare& prepare,
                                                         credits::Journal* response) {
  // The body runs after this returns: copies, and references to what outlives the call.
  return guard_.Serve(
      context, method,
      [this, method, &request, &key, prepare, response](const Call& call) -> absl::Status {
        // 1.-2. The key: malformed, or already used (its response, or ALREADY_EXISTS).
        return Idempotently<db::JournalRecord, credits::Journal>(
            keys_, call, method, request, key, FillJournal,
            [&](const db::KeyedChange<db::JournalRecord>& keyed)
                -> absl::StatusOr<db::StoredResult> {
              // 3.-5. Malformed, not found, not allowed.
              auto posting = prepare(call);
              if (!posting.ok()) return posting.status();
              posting->key = keyed;
              auto outcome = store_.Post(*posting, call.budget);
              if (!outcome.ok()) return outcome.status();
              if (absl::Status refused = OutcomeError(*outcome, posting->reverses_journal_id);
                  !refused.ok()) {
                return refused;
              }
              return db::StoredResult{outcome->journal_id, outcome->response};
            },
            [&](int64_t journal_id) -> absl::Status {
              auto journal = store_.Journal(journal_id, std::nullopt, call.budget);
              if (!journal.ok()) return journal.status();
              if (!journal->has_value()) {
                return absl::InternalError(absl::StrCat("journal ", journal_id, " vanished"));
              }
              FillJournal(**journal, response);
              return absl::OkStatus();
            },
            response);
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* CreditAdminService::IssueCredits(
    grpc::CallbackServerContext* context, const credits::IssueCreditsRequest* request,
    credits::Journal* response) {
  return Administer(
      context, "IssueCredits", *request, request->idempotency_key(),
      [=](const Call& call) -> absl::StatusOr<db::JournalPosting> {
        auto supplier = SupplierOf(request->organization_id(), call, store_);
        if (!supplier.ok()) return supplier.status();
        auto reference = domain::CheckReference(request->reference());
        if (!reference.ok()) return reference.status();
        std::vector<domain::IssuanceLine> lines;
        std::vector<uint64_t> vehicle_ids;
        for (const auto& line : request->lines()) {
          lines.push_back(
              domain::IssuanceLine{line.vehicle_id(), line.model_year(), line.quantity()});
          vehicle_ids.push_back(line.vehicle_id());
        }
        if (absl::Status shape = domain::CheckIssuanceLines(lines, CurrentYear()); !shape.ok()) {
          return shape;
        }
        auto vehicles = store_.VehiclesForIssuance(vehicle_ids, call.budget);
        if (!vehicles.ok()) return vehicles.status();
        auto postings = domain::IssuancePostings(lines, *vehicles, *supplier);
        if (!postings.ok()) return postings.status();
        if (absl::Status allowed = DirectorsOnly(call); !allowed.ok()) return allowed;
        db::JournalPosting posting = NewPosting(call, "ISSUANCE");
        posting.reference = *reference;
        posting.supplier_id = *supplier;
        posting.postings = *std::move(postings);
        return posting;
      },
      response);
}

grpc::ServerUnaryReactor* CreditAdminService::AdjustCredits(
    grpc::CallbackServerContext* context, const credits::AdjustCreditsRequest* request,
    credits::Journal* response) {
  return Administer(
      context, "AdjustCredits", *request, request->idempotency_key(),
      [=](const Call& call) -> absl::StatusOr<db::JournalPosting> {
        auto supplier = SupplierOf(request->organization_id(), call, store_);
        if (!supplier.ok()) return supplier.status();
        auto reason = domain::CheckReason(request->reason());
        if (!reason.ok()) return reason.status();
        std::vector<domain::AdjustmentLine> lines;
        for (const auto& line : request->lines()) {
          lines.push_back(domain::AdjustmentLine{line.model_year(), line.credit_class(),
                                                 line.amount().hundredths()});
        }
        auto postings = domain::AdjustmentPostings(lines, CurrentYear());
        if (!postings.ok()) return postings.status();
        if (absl::Status allowed = DirectorsOnly(call); !allowed.ok()) return allowed;
        db::JournalPosting posting = NewPosting(call, "ADJUSTMENT");
        posting.reason = *reason;
        posting.supplier_id = *supplier;
        posting.postings = *std::move(postings);
        return posting;
      },
      response);
}

grpc::ServerUnaryReactor* CreditAdminService::ReverseJournal(
    grpc::CallbackServerContext* context, const credits::ReverseJournalRequest* request,
    credits::Journal* response) {
  return Administer(
      context, "ReverseJournal", *request, request->idempotency_key(),
      [=](const Call& call) -> absl::StatusOr<db::JournalPosting> {
        auto journal_id = RequiredId("journal_id", request->journal_id());
        if (!journal_id.ok()) return journal_id.status();
        auto reason = domain::CheckReason(request->reason());
        if (!reason.ok()) return reason.status();
        // NOT_FOUND (as GetJournal would say) comes before PERMISSION_DENIED.
        const bool government = IsGovernment(call.caller);
        auto visible = store_.Journal(
            *journal_id,
            government ? std::nullopt : std::optional<int64_t>(call.caller.organization_id),
            call.budget);
        if (!visible.ok()) return visible.status();
        if (!visible->has_value()) {
          return domain::Refusal(absl::StatusCode::kNotFound,
                                 absl::StrCat("no journal with id ", IdText(*journal_id)),
                                 "NOT_FOUND", "journal_id");
        }
        if (absl::Status allowed = DirectorsOnly(call); !allowed.ok()) return allowed;
        db::JournalPosting posting = NewPosting(call, "REVERSAL");
        posting.reason = *reason;
        posting.reference = absl::StrCat("reversal/", *journal_id);
        posting.reverses_journal_id = *journal_id;
        return posting;
      },
      response);
}

}  // namespace zeva::services
