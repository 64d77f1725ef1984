#include "services/credit_transfer_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "domain/refusal.h"
#include "services/caller_scope.h"
#include "services/credits_wire.h"
#include "services/idempotent_request.h"
#include "services/wire_numbers.h"
#include "services/workflow_order.h"

namespace zeva::services {
namespace {

using domain::Party;
using domain::TransferStatus;
using Outcome = db::TransferOutcome::Kind;

absl::Status NoSuchTransfer(int64_t id) {
  return domain::Refusal(absl::StatusCode::kNotFound,
                         absl::StrCat("no transfer with id ", IdText(id)), "NOT_FOUND",
                         "transfer_id");
}

Party PartyIn(const auth::Caller& caller, int64_t from, int64_t to) {
  return domain::PartyOf(IsGovernment(caller), caller.organization_id, from, to);
}

db::Actor ActorOf(const auth::Caller& caller) {
  return db::Actor{caller.user_id, caller.organization_id, absl::StrJoin(caller.roles, ",")};
}

absl::StatusOr<std::vector<domain::TransferLine>> LinesOf(
    const google::protobuf::RepeatedPtrField<credits::TransferLine>& wire) {
  std::vector<domain::TransferLineInput> lines;
  for (const auto& line : wire) {
    lines.push_back(domain::TransferLineInput{line.model_year(), line.credit_class(),
                                              line.amount().hundredths(),
                                              line.price_per_credit_cents()});
  }
  return domain::CheckTransferLines(lines, CurrentYear());
}

void FillTransfer(const db::TransferRecord& t, const auth::Caller& caller, credits::Transfer* out) {
  out->set_id(static_cast<uint64_t>(t.id));
  out->set_from_organization_id(static_cast<uint64_t>(t.from_organization_id));
  out->set_to_organization_id(static_cast<uint64_t>(t.to_organization_id));
  out->set_from_organization_name(t.from_organization_name);
  out->set_to_organization_name(t.to_organization_name);
  out->set_status(static_cast<credits::TransferStatus>(t.status));
  out->set_version(static_cast<uint32_t>(t.version));
  out->set_journal_id(static_cast<uint64_t>(t.journal_id));
  FillTimestamp(t.created_micros, out->mutable_created_at());
  FillTimestamp(t.updated_micros, out->mutable_updated_at());
  for (const domain::TransferLine& line : t.lines) {
    auto* wire = out->add_lines();
    wire->set_model_year(static_cast<uint32_t>(line.key.model_year));
    wire->set_credit_class(ToWireClass(line.key.credit_class));
    wire->mutable_amount()->set_hundredths(line.amount);
    wire->set_price_per_credit_cents(static_cast<uint64_t>(line.price_per_credit_cents));
  }
  out->set_total_value_cents(domain::TotalValueCents(t.lines));
  for (const db::TransferEventRecord& e : t.history) {
    auto* event = out->add_history();
    event->set_seq(static_cast<uint32_t>(e.seq));
    event->set_action(static_cast<credits::TransferAction>(domain::ActionNamed(e.action)));
    event->set_from_status(
        static_cast<credits::TransferStatus>(domain::StatusNamed(e.from_status)));
    event->set_to_status(static_cast<credits::TransferStatus>(domain::StatusNamed(e.to_status)));
    event->set_actor(e.actor);
    event->set_actor_organization_id(static_cast<uint64_t>(e.actor_organization_id));
    event->set_comment(e.comment);
    FillTimestamp(e.at_micros, event->mutable_at());
  }
  const Party party = PartyIn(caller, t.from_organization_id, t.to_organization_id);
  for (const auto action :
       domain::AllowedActions(t.status, party, IsGovernment(caller), caller.roles)) {
    out->add_allowed_actions(static_cast<credits::TransferAction>(action));
  }
}

absl::Status OutcomeError(const db::TransferOutcome& outcome, int64_t transfer_id) {
  switch (outcome.kind) {
    case Outcome::kKeyReused:
      return KeyReused();
    case Outcome::kNotFound:
      return NoSuchTransfer(transfer_id);
    case Outcome::kInsufficientCredits:
      return domain::Refusal(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("not enough available credits of ", domain::KeyName(outcome.short_key)),
          domain::kReasonInsufficientCredits);
    case Outcome::kDone:
    case Outcome::kReplayed:
      break;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreditTransferService::Answer(const Call& call, int64_t transfer_id,
                                           credits::Transfer* out) {
  auto transfer = transfers_.Get(transfer_id, call.budget);
  if (!transfer.ok()) return transfer.status();
  if (!transfer->has_value()) return NoSuchTransfer(transfer_id);
  FillTransfer(**transfer, call.caller, out);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CreditTransferService::Partner(const Call& call, uint64_t requested) {
  auto id = RequiredId("to_organization_id", requested);
  if (!id.ok()) return id.status();
  auto kind = ledger_.KindOf(*id, call.budget);
  if (!kind.ok()) return kind.status();
  if (*kind != db::OrganizationKind::kSupplier || *id == call.caller.organization_id) {
    return domain::Refusal(absl::StatusCode::kInvalidArgument,
                           "to_organization_id must name another vehicle supplier",
                           "INVALID_ARGUMENT", "to_organization_id");
  }
  return *id;
}

grpc::ServerUnaryReactor* CreditTransferService::Mutate(grpc::CallbackServerContext* context,
                                                        const char* method,
                                                        const google::protobuf::Message& request,
                                                        const std::string& key,
                                                        const Change& change,
                                                        credits::Transfer* response) {
  return MutateWorkflow(
      guard_, keys_, context, method, request, key, FillTransfer, change,
      &db::TransferOutcome::transfer_id, OutcomeError,
      [=](const Call& call, int64_t id) { return Answer(call, id, response); }, response);
}

grpc::ServerUnaryReactor* CreditTransferService::CreateTransfer(
    grpc::CallbackServerContext* context, const credits::CreateTransferRequest* request,
    credits::Transfer* response) {
  return Mutate(
      context, "CreateTransfer", *request, request->idempotency_key(),
      [=](const Call& call,
          const db::KeyedChange<db::TransferRecord>& key) -> absl::StatusOr<db::TransferOutcome> {
        auto partner = Partner(call, request->to_organization_id());
        if (!partner.ok()) return partner.status();
        auto lines = LinesOf(request->lines());
        if (!lines.ok()) return lines.status();
        auto comment = domain::CheckComment(request->comment());
        if (!comment.ok()) return comment.status();
        if (IsGovernment(call.caller) || !domain::MayDraft(false, call.caller.roles)) {
          return domain::Refusal(absl::StatusCode::kPermissionDenied,
                                 "only a supplier's ZEVA_USER or SIGNING_AUTHORITY may create a "
                                 "transfer",
                                 "PERMISSION_DENIED");
        }
        return transfers_.Create(key, ActorOf(call.caller), *partner, *lines, *comment,
                                 call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditTransferService::UpdateTransfer(
    grpc::CallbackServerContext* context, const credits::UpdateTransferRequest* request,
    credits::Transfer* response) {
  return Mutate(
      context, "UpdateTransfer", *request, request->idempotency_key(),
      [=](const Call& call,
          const db::KeyedChange<db::TransferRecord>& key) -> absl::StatusOr<db::TransferOutcome> {
        auto id = RequiredId("transfer_id", request->transfer_id());
        if (!id.ok()) return id.status();
        auto partner = Partner(call, request->to_organization_id());
        if (!partner.ok()) return partner.status();
        auto lines = LinesOf(request->lines());
        if (!lines.ok()) return lines.status();
        const uint32_t expected = request->expected_version();
        auto rule = [&](const db::TransferHead& t) -> absl::Status {
          const Party party = PartyIn(call.caller, t.from_organization_id, t.to_organization_id);
          if (!domain::MaySee(party, t.status)) return NoSuchTransfer(t.id);
          if (party != Party::kSeller || !domain::MayDraft(false, call.caller.roles)) {
            return domain::Refusal(absl::StatusCode::kPermissionDenied,
                                   "only the seller's ZEVA_USER or SIGNING_AUTHORITY may change "
                                   "a draft",
                                   "PERMISSION_DENIED");
          }
          if (absl::Status s = CheckVersion("transfer", expected, t.version); !s.ok()) return s;
          if (t.status != TransferStatus::kDraft) {
            return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                                   "only a DRAFT can be changed", domain::kReasonInvalidStatus);
          }
          return absl::OkStatus();
        };
        return transfers_.Update(key, *id, *partner, *lines, rule, call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditTransferService::TransitionTransfer(
    grpc::CallbackServerContext* context, const credits::TransitionTransferRequest* request,
    credits::Transfer* response) {
  return Mutate(
      context, "TransitionTransfer", *request, request->idempotency_key(),
      [=](const Call& call,
          const db::KeyedChange<db::TransferRecord>& key) -> absl::StatusOr<db::TransferOutcome> {
        auto id = RequiredId("transfer_id", request->transfer_id());
        if (!id.ok()) return id.status();
        const int action_number = static_cast<int>(request->action());
        if (action_number < 1 || action_number > 10) {
          return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                 "action must be one of the workflow's actions", "INVALID_ARGUMENT",
                                 "action");
        }
        const auto action = static_cast<domain::TransferAction>(action_number);
        auto comment = domain::CheckComment(request->comment());
        if (!comment.ok()) return comment.status();
        const uint32_t expected = request->expected_version();
        const bool government = IsGovernment(call.caller);
        auto rule = [&](const db::TransferHead& t) -> absl::StatusOr<domain::Transition> {
          const Party party = PartyIn(call.caller, t.from_organization_id, t.to_organization_id);
          if (!domain::MaySee(party, t.status)) return NoSuchTransfer(t.id);
          return InRefusalOrder(
              domain::Decide(t.status, action, party, government, call.caller.roles), "transfer",
              expected, t.version);
        };
        return transfers_.Transition(key, ActorOf(call.caller), *id, action, *comment, rule,
                                     call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditTransferService::GetTransfer(
    grpc::CallbackServerContext* context, const credits::GetTransferRequest* request,
    credits::Transfer* response) {
  return guard_.Serve(
      context, "GetTransfer",
      [=](const Call& call) -> absl::Status {
        auto id = RequiredId("transfer_id", request->transfer_id());
        if (!id.ok()) return id.status();
        auto transfer = transfers_.Get(*id, call.budget);
        if (!transfer.ok()) return transfer.status();
        if (!transfer->has_value() ||
            !domain::MaySee(PartyIn(call.caller, (*transfer)->from_organization_id,
                                    (*transfer)->to_organization_id),
                            (*transfer)->status)) {
          return NoSuchTransfer(*id);
        }
        FillTransfer(**transfer, call.caller, response);
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

grpc::ServerWriteReactor<credits::Transfer>* CreditTransferService::ListTransfers(
    grpc::CallbackServerContext* context, const credits::ListTransfersRequest* request) {
  return guard_.Stream<credits::Transfer>(
      context, "ListTransfers",
      [=](const Call& call, RowWriter<credits::Transfer>* writer) -> absl::Status {
        const bool government = IsGovernment(call.caller);
        db::TransferFilter filter;
        filter.after_id = AfterId(request->after_id());
        filter.limit = request->limit();
        const int64_t organization = OptionalId(request->organization_id());
        if (government) {
          if (organization != 0) filter.organization_id = organization;
        } else {
          if (organization != 0 && organization != call.caller.organization_id) {
            return domain::Refusal(absl::StatusCode::kPermissionDenied,
                                   "suppliers list only their own organization's transfers",
                                   "PERMISSION_DENIED", "organization_id");
          }
          filter.organization_id = call.caller.organization_id;
        }
        for (int status : request->statuses()) {
          if (status < 1 || status > 10) {
            return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                   "statuses must name transfer statuses", "INVALID_ARGUMENT",
                                   "statuses");
          }
          filter.statuses.push_back(domain::StatusName(static_cast<TransferStatus>(status)));
        }
        const bool every_status = filter.statuses.empty();
        auto visible = [&](const db::TransferRecord& t) {
          return (!every_status || t.status != TransferStatus::kDeleted) &&
                 domain::MaySee(PartyIn(call.caller, t.from_organization_id, t.to_organization_id),
                                t.status);
        };
        credits::Transfer out;
        return transfers_.List(filter, visible, call.budget, [&](const db::TransferRecord& t) {
          out.Clear();
          FillTransfer(t, call.caller, &out);
          return !context->IsCancelled() && writer->Write(out);
        });
      },
      domain::kErrorDomain);
}

grpc::ServerWriteReactor<credits::Organization>* CreditTransferService::ListSuppliers(
    grpc::CallbackServerContext* context, const credits::ListSuppliersRequest* /*request*/) {
  return guard_.Stream<credits::Organization>(
      context, "ListSuppliers",
      [=](const Call& call, RowWriter<credits::Organization>* writer) -> absl::Status {
        auto suppliers = transfers_.Suppliers(call.caller.organization_id, call.budget);
        if (!suppliers.ok()) return suppliers.status();
        credits::Organization out;
        for (const auto& [id, name] : *suppliers) {
          out.set_id(static_cast<uint64_t>(id));
          out.set_name(name);
          out.set_type(credits::ORGANIZATION_TYPE_VEHICLE_SUPPLIER);
          if (context->IsCancelled() || !writer->Write(out)) {
            return absl::CancelledError("the client stopped reading");
          }
        }
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
