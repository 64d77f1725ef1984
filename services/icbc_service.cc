#include "services/icbc_service.h"

#include <ctime>

#include "absl/strings/str_cat.h"
#include "domain/credit_ledger.h"
#include "domain/icbc.h"
#include "domain/refusal.h"
#include "services/caller_scope.h"
#include "services/credits_wire.h"
#include "services/idempotent_request.h"
#include "services/sha256_digest.h"
#include "services/wire_numbers.h"

namespace zeva::services {
namespace {

using Outcome = db::IcbcOutcome::Kind;
namespace wire = ::zeva::credits::v1;

constexpr int kMaxLookupVins = 1000;

// Every RPC of IcbcService: government ENGINEER_ANALYSTs and DIRECTORs. It does not depend on
// the import, so it is checked before the import is looked up: a supplier learns nothing of
// which imports exist.
absl::Status GovernmentStaffOnly(const auth::Caller& caller) {
  const bool government = IsGovernment(caller);
  if (domain::HasRole(government, caller.roles, domain::Role::kEngineerAnalyst) ||
      domain::HasRole(government, caller.roles, domain::Role::kDirector)) {
    return absl::OkStatus();
  }
  return domain::Refusal(absl::StatusCode::kPermissionDenied,
                         "only government ENGINEER_ANALYSTs and DIRECTORs may use ICBC "
                         "registration data",
                         "PERMISSION_DENIED");
}

absl::Status NoSuchImport(int64_t id) {
  return domain::Refusal(absl::StatusCode::kNotFound,
                         absl::StrCat("no ICBC import with id ", IdText(id)), "NOT_FOUND",
                         "import_id");
}

void FillImport(const db::IcbcImportRecord& r, wire::IcbcImport* out) {
  out->set_id(static_cast<uint64_t>(r.id));
  out->set_status(static_cast<wire::IcbcImportStatus>(r.status));
  out->set_file_name(r.file_name);
  out->mutable_current_to()->set_year(r.current_to_year);
  out->mutable_current_to()->set_month(r.current_to_month);
  out->mutable_current_to()->set_day(r.current_to_day);
  out->set_size_bytes(static_cast<uint64_t>(r.size_bytes));
  out->set_sha256(r.sha256);
  out->set_received_bytes(static_cast<uint64_t>(r.received_bytes));
  out->set_uploaded_by(r.uploaded_by);
  FillTimestamp(r.created_micros, out->mutable_created_at());
  if (r.finished_micros != 0) FillTimestamp(r.finished_micros, out->mutable_finished_at());
  out->set_rows_read(static_cast<uint64_t>(r.rows_read));
  out->set_rows_kept(static_cast<uint64_t>(r.rows_kept));
  out->set_rows_rejected(static_cast<uint64_t>(r.rows_rejected));
  out->set_registrations_added(static_cast<uint64_t>(r.registrations_added));
  out->set_registrations_changed(static_cast<uint64_t>(r.registrations_changed));
  out->set_registrations_unchanged(static_cast<uint64_t>(r.registrations_unchanged));
  for (const domain::IcbcLineError& e : r.errors) {
    auto* error = out->add_errors();
    error->set_line(static_cast<uint64_t>(e.line));
    error->set_message(e.message);
  }
  out->set_failure(r.failure);
}

absl::Status OutcomeError(const db::IcbcOutcome& outcome, const char* action) {
  switch (outcome.kind) {
    case Outcome::kKeyReused:
      return KeyReused();
    case Outcome::kNotFound:
      return NoSuchImport(outcome.import_id);
    case Outcome::kNotAllowed:
      return domain::Refusal(
          absl::StatusCode::kPermissionDenied,
          absl::StrCat("only the import's uploader may ", action, " it",
                       absl::string_view(action) == "cancel" ? " (or a director)" : ""),
          "PERMISSION_DENIED");
    case Outcome::kPastSize:
      return domain::Refusal(absl::StatusCode::kInvalidArgument,
                             "the chunk's bytes go past the import's size_bytes",
                             "INVALID_ARGUMENT", "data");
    case Outcome::kInvalidStatus:
      return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                             absl::StrCat("the import's status does not allow to ", action, " it"),
                             domain::kReasonInvalidStatus);
    case Outcome::kOffsetMismatch:
      return domain::WithMetadata(
          domain::Refusal(absl::StatusCode::kFailedPrecondition,
                          absl::StrCat("the next chunk goes at offset ", outcome.expected_offset),
                          domain::kReasonOffsetMismatch),
          "expected_offset", std::to_string(outcome.expected_offset));
    case Outcome::kIncomplete:
      return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                             "not all of the import's bytes were received",
                             domain::kReasonIncompleteUpload);
    case Outcome::kChecksumMismatch:
      return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                             "the SHA-256 of the received bytes is not the import's sha256; the "
                             "import is FAILED",
                             domain::kReasonChecksumMismatch);
    case Outcome::kDone:
    case Outcome::kReplayed:
      break;
  }
  return absl::OkStatus();
}

std::tm TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc;
}

}  // namespace

absl::Status IcbcService::Answer(const Call& call, int64_t import_id, wire::IcbcImport* out) {
  auto found = imports_.Get(import_id, call.budget);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return NoSuchImport(import_id);
  FillImport(**found, out);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* IcbcService::OnImport(grpc::CallbackServerContext* context,
                                                const char* method, const char* action,
                                                uint64_t import_id, const Step& step,
                                                wire::IcbcImport* response) {
  return guard_.Serve(
      context, method,
      [=](const Call& call) -> absl::Status {
        auto id = RequiredId("import_id", import_id);
        if (!id.ok()) return id.status();
        if (absl::Status allowed = GovernmentStaffOnly(call.caller); !allowed.ok()) {
          return allowed;
        }
        auto outcome = step(call, *id);
        if (!outcome.ok()) return outcome.status();
        // CHECKSUM_MISMATCH: the call fails, the import stays FAILED.
        if (absl::Status refused = OutcomeError(*outcome, action); !refused.ok()) return refused;
        return Answer(call, *id, response);
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* IcbcService::StartIcbcImport(grpc::CallbackServerContext* context,
                                                       const wire::StartIcbcImportRequest* request,
                                                       wire::IcbcImport* response) {
  return guard_.Serve(
      context, "StartIcbcImport",
      [=](const Call& call) -> absl::Status {
        return Idempotently<db::IcbcImportRecord, wire::IcbcImport>(
            keys_, call, "StartIcbcImport", *request, request->idempotency_key(), FillImport,
            [&](const db::KeyedChange<db::IcbcImportRecord>& keyed)
                -> absl::StatusOr<db::StoredResult> {
              const domain::IcbcStartInput input{
                  request->file_name(),          request->current_to().year(),
                  request->current_to().month(), request->current_to().day(),
                  request->size_bytes(),         request->sha256()};
              const std::tm today = TodayUtc();
              if (absl::Status valid = domain::CheckIcbcStart(input, today.tm_year + 1900,
                                                              today.tm_mon + 1, today.tm_mday);
                  !valid.ok()) {
                return valid;
              }
              if (absl::Status allowed = GovernmentStaffOnly(call.caller); !allowed.ok()) {
                return allowed;
              }
              auto outcome = imports_.Start(keyed, input, call.budget);
              if (!outcome.ok()) return outcome.status();
              if (absl::Status refused = OutcomeError(*outcome, "start"); !refused.ok()) {
                return refused;
              }
              return db::StoredResult{outcome->import_id, outcome->response};
            },
            [&](int64_t import_id) { return Answer(call, import_id, response); }, response);
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* IcbcService::UploadIcbcChunk(grpc::CallbackServerContext* context,
                                                       const wire::UploadIcbcChunkRequest* request,
                                                       wire::IcbcImport* response) {
  return OnImport(
      context, "UploadIcbcChunk", "upload to", request->import_id(),
      [=](const Call& call, int64_t id) -> absl::StatusOr<db::IcbcOutcome> {
        const std::string& data = request->data();
        if (data.empty() || static_cast<int64_t>(data.size()) > domain::kIcbcMaxChunkBytes) {
          return domain::InvalidField("data", "must be 1 byte to 1 MiB");
        }
        if (request->offset() >= static_cast<uint64_t>(domain::kIcbcMaxFileBytes)) {
          return domain::InvalidField("offset", "must be below 2 GiB");
        }
        return imports_.Upload(id, call.caller.user_id, static_cast<int64_t>(request->offset()),
                               data, call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* IcbcService::CommitIcbcImport(
    grpc::CallbackServerContext* context, const wire::CommitIcbcImportRequest* request,
    wire::IcbcImport* response) {
  return OnImport(
      context, "CommitIcbcImport", "commit", request->import_id(),
      [=](const Call& call, int64_t id) -> absl::StatusOr<db::IcbcOutcome> {
        return imports_.Commit(
            id, call.caller.user_id,
            [] { return std::unique_ptr<db::ByteDigest>(std::make_unique<Sha256Digest>()); },
            call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* IcbcService::CancelIcbcImport(
    grpc::CallbackServerContext* context, const wire::CancelIcbcImportRequest* request,
    wire::IcbcImport* response) {
  return OnImport(
      context, "CancelIcbcImport", "cancel", request->import_id(),
      [=](const Call& call, int64_t id) -> absl::StatusOr<db::IcbcOutcome> {
        const bool director =
            domain::HasRole(IsGovernment(call.caller), call.caller.roles, domain::Role::kDirector);
        return imports_.Cancel(id, call.caller.user_id, director, call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* IcbcService::GetIcbcImport(grpc::CallbackServerContext* context,
                                                     const wire::GetIcbcImportRequest* request,
                                                     wire::IcbcImport* response) {
  return OnImport(
      context, "GetIcbcImport", "read", request->import_id(),
      [](const Call& /*call*/, int64_t id) -> absl::StatusOr<db::IcbcOutcome> {
        return db::IcbcOutcome{Outcome::kDone, id, 0};
      },
      response);
}

grpc::ServerWriteReactor<wire::IcbcImport>* IcbcService::ListIcbcImports(
    grpc::CallbackServerContext* context, const wire::ListIcbcImportsRequest* request) {
  return guard_.Stream<wire::IcbcImport>(
      context, "ListIcbcImports",
      [=](const Call& call, RowWriter<wire::IcbcImport>* writer) -> absl::Status {
        const int64_t after_id = AfterId(request->after_id());
        if (absl::Status allowed = GovernmentStaffOnly(call.caller); !allowed.ok()) {
          return allowed;
        }
        wire::IcbcImport out;
        return imports_.List(after_id, request->limit(), call.budget,
                             [&](const db::IcbcImportRecord& r) {
                               out.Clear();
                               FillImport(r, &out);
                               return !context->IsCancelled() && writer->Write(out);
                             });
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* IcbcService::LookupRegistrations(
    grpc::CallbackServerContext* context, const wire::LookupRegistrationsRequest* request,
    wire::LookupRegistrationsResponse* response) {
  return guard_.Serve(
      context, "LookupRegistrations",
      [=](const Call& call) -> absl::Status {
        if (request->vins().empty() || request->vins().size() > kMaxLookupVins) {
          return domain::InvalidField("vins", "must name 1 to 1000 VINs");
        }
        if (absl::Status allowed = GovernmentStaffOnly(call.caller); !allowed.ok()) {
          return allowed;
        }
        std::vector<std::string> vins;
        vins.reserve(static_cast<size_t>(request->vins().size()));
        for (const std::string& vin : request->vins()) vins.push_back(domain::NormalizeVin(vin));
        auto found = imports_.Lookup(vins, call.budget);
        if (!found.ok()) return found.status();
        for (const db::RegistrationRecord& r : *found) {
          auto* out = response->add_registrations();
          out->set_vin(r.vin);
          out->set_make(r.make);
          out->set_model(r.model);
          out->set_model_year(static_cast<uint32_t>(r.model_year));
          out->set_import_id(static_cast<uint64_t>(r.import_id));
        }
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
