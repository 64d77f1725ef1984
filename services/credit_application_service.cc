#include "services/credit_application_service.h"

#include <ctime>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "domain/refusal.h"
#include "domain/transfer_workflow.h"
#include "services/caller_scope.h"
#include "services/credits_wire.h"
#include "services/idempotent_request.h"
#include "services/wire_numbers.h"
#include "services/workflow_order.h"

namespace zeva::services {
namespace {

namespace wire = ::zeva::credits::v1;
using domain::ApplicantParty;
using domain::ApplicationStatus;
using Outcome = db::ApplicationOutcome::Kind;

absl::Status NoSuchApplication(int64_t id) {
  return domain::Refusal(absl::StatusCode::kNotFound,
                         absl::StrCat("no credit application with id ", IdText(id)), "NOT_FOUND",
                         "application_id");
}

ApplicantParty PartyIn(const auth::Caller& caller, int64_t organization_id) {
  return domain::ApplicantPartyOf(IsGovernment(caller), caller.organization_id, organization_id);
}

db::Actor ActorOf(const auth::Caller& caller) {
  return db::Actor{caller.user_id, caller.organization_id, absl::StrJoin(caller.roles, ",")};
}

domain::Date TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return domain::Date{utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday};
}

void FillDate(const domain::Date& date, google::type::Date* out) {
  out->set_year(date.year);
  out->set_month(date.month);
  out->set_day(date.day);
}

wire::CreditClass WireClassNamed(const std::string& name) {
  if (name == "A") return wire::CREDIT_CLASS_A;
  if (name == "B") return wire::CREDIT_CLASS_B;
  return wire::CREDIT_CLASS_UNSPECIFIED;
}

// The whole application as the caller sees it; `allowed_actions` empty when the caller may
// no longer see it (a change that took it out of the caller's sight).
void FillApplication(const db::ApplicationRecord& a, const auth::Caller& caller,
                     wire::CreditApplication* out) {
  out->set_id(static_cast<uint64_t>(a.id));
  out->set_organization_id(static_cast<uint64_t>(a.organization_id));
  out->set_organization_name(a.organization_name);
  out->set_status(static_cast<wire::ApplicationStatus>(a.status));
  out->set_version(static_cast<uint32_t>(a.version));
  out->set_record_count(static_cast<uint32_t>(a.record_count));
  std::map<int, int64_t> totals;  // wire class -> included credits
  int64_t included = 0;
  for (const db::ApplicationLineRecord& l : a.lines) {
    auto* line = out->add_lines();
    line->set_vehicle_id(static_cast<uint64_t>(l.vehicle_id));
    line->set_make(l.make);
    line->set_model(l.model);
    line->set_model_year(static_cast<uint32_t>(l.model_year));
    wire::CreditClass credit_class = wire::CREDIT_CLASS_UNSPECIFIED;
    int64_t value = 0;
    if (l.fixed) {
      credit_class = WireClassNamed(l.fixed_class);
      value = l.fixed_value;
    } else {
      switch (domain::ClassOf(l.type, l.range_km)) {
        case domain::CreditClass::kA:
          credit_class = wire::CREDIT_CLASS_A;
          break;
        case domain::CreditClass::kB:
          credit_class = wire::CREDIT_CLASS_B;
          break;
        case domain::CreditClass::kC:
          break;
      }
      value = credit_class == wire::CREDIT_CLASS_UNSPECIFIED
                  ? 0
                  : domain::CreditHundredths(l.type, l.range_km);
    }
    line->set_credit_class(credit_class);
    line->mutable_credit_value()->set_hundredths(value);
    line->set_records(static_cast<uint32_t>(l.records));
    line->set_included(static_cast<uint32_t>(l.included));
    line->mutable_credits()->set_hundredths(l.included * value);
    included += l.included;
    if (credit_class != wire::CREDIT_CLASS_UNSPECIFIED) totals[credit_class] += l.included * value;
  }
  out->set_included_count(static_cast<uint32_t>(included));
  for (const auto& [credit_class, total] : totals) {
    auto* t = out->add_totals();
    t->set_credit_class(static_cast<wire::CreditClass>(credit_class));
    t->mutable_posted()->set_hundredths(total);
    t->mutable_available()->set_hundredths(total);
  }
  for (const auto& [warning, records] : a.warnings) {
    auto* w = out->add_warnings();
    w->set_warning(static_cast<wire::RecordWarning>(warning));
    w->set_records(static_cast<uint32_t>(records));
  }
  for (const db::ApplicationEventRecord& e : a.history) {
    auto* event = out->add_history();
    event->set_seq(static_cast<uint32_t>(e.seq));
    int action = 0;
    for (int i = 1; i <= 9; ++i) {
      if (e.action == domain::ApplicationActionName(static_cast<domain::ApplicationAction>(i))) {
        action = i;
      }
    }
    event->set_action(static_cast<wire::ApplicationAction>(action));
    event->set_from_status(
        static_cast<wire::ApplicationStatus>(domain::ApplicationStatusNamed(e.from_status)));
    event->set_to_status(
        static_cast<wire::ApplicationStatus>(domain::ApplicationStatusNamed(e.to_status)));
    event->set_actor(e.actor);
    event->set_actor_organization_id(static_cast<uint64_t>(e.actor_organization_id));
    event->set_comment(e.comment);
    FillTimestamp(e.at_micros, event->mutable_at());
  }
  const ApplicantParty party = PartyIn(caller, a.organization_id);
  if (domain::MaySeeApplication(party, a.status)) {
    for (const auto action :
         domain::AllowedApplicationActions(a.status, party, IsGovernment(caller), caller.roles)) {
      out->add_allowed_actions(static_cast<wire::ApplicationAction>(action));
    }
  }
  out->set_journal_id(static_cast<uint64_t>(a.journal_id));
  out->set_checked_against_import_id(static_cast<uint64_t>(a.checked_against_import_id));
  if (a.icbc_current_to) FillDate(*a.icbc_current_to, out->mutable_icbc_current_to());
  FillTimestamp(a.created_micros, out->mutable_created_at());
  FillTimestamp(a.updated_micros, out->mutable_updated_at());
}

absl::Status OutcomeError(const db::ApplicationOutcome& outcome, int64_t application_id) {
  switch (outcome.kind) {
    case Outcome::kKeyReused:
      return KeyReused();
    case Outcome::kNotFound:
      return NoSuchApplication(application_id);
    case Outcome::kDone:
    case Outcome::kReplayed:
      break;
  }
  return absl::OkStatus();
}

// The rules of a records or decisions change: the application visible (else NOT_FOUND),
// `may` with the status that allows the change (PERMISSION_DENIED), then the version, then
// `may` with the real status (INVALID_STATUS).
using MayChange = absl::Status (*)(ApplicationStatus, ApplicantParty, bool,
                                   const std::vector<std::string>&);
db::ApplicationRules RulesFor(const Call& call, MayChange may, ApplicationStatus allowed_in,
                              uint32_t expected) {
  const bool government = IsGovernment(call.caller);
  db::ApplicationRules rules;
  rules.access = [&call, may, allowed_in, government](const db::ApplicationHead& a) {
    const ApplicantParty party = PartyIn(call.caller, a.organization_id);
    if (!domain::MaySeeApplication(party, a.status)) return NoSuchApplication(a.id);
    return may(allowed_in, party, government, call.caller.roles);
  };
  rules.state = [&call, may, expected, government](const db::ApplicationHead& a) {
    if (absl::Status s = CheckVersion("application", expected, a.version); !s.ok()) return s;
    return may(a.status, PartyIn(call.caller, a.organization_id), government, call.caller.roles);
  };
  return rules;
}

}  // namespace

absl::Status CreditApplicationService::Answer(const Call& call, int64_t application_id,
                                              wire::CreditApplication* out) {
  auto application = applications_.Get(application_id, call.budget);
  if (!application.ok()) return application.status();
  if (!application->has_value()) return NoSuchApplication(application_id);
  FillApplication(**application, call.caller, out);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CreditApplicationService::Mutate(grpc::CallbackServerContext* context,
                                                           const char* method,
                                                           const google::protobuf::Message& request,
                                                           const std::string& key,
                                                           const Change& change,
                                                           wire::CreditApplication* response) {
  return MutateWorkflow(
      guard_, keys_, context, method, request, key, FillApplication, change,
      &db::ApplicationOutcome::application_id, OutcomeError,
      [=](const Call& call, int64_t id) { return Answer(call, id, response); }, response);
}

grpc::ServerUnaryReactor* CreditApplicationService::CreateApplication(
    grpc::CallbackServerContext* context, const wire::CreateApplicationRequest* request,
    wire::CreditApplication* response) {
  return Mutate(
      context, "CreateApplication", *request, request->idempotency_key(),
      [=](const Call& call, const db::KeyedChange<db::ApplicationRecord>& key)
          -> absl::StatusOr<db::ApplicationOutcome> {
        auto comment = domain::CheckComment(request->comment());
        if (!comment.ok()) return comment.status();
        if (absl::Status s =
                domain::MayCreateApplication(IsGovernment(call.caller), call.caller.roles);
            !s.ok()) {
          return s;
        }
        return applications_.Create(key, ActorOf(call.caller), *comment, call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditApplicationService::AddSalesRecords(
    grpc::CallbackServerContext* context, const wire::AddSalesRecordsRequest* request,
    wire::CreditApplication* response) {
  return Mutate(
      context, "AddSalesRecords", *request, request->idempotency_key(),
      [=](const Call& call, const db::KeyedChange<db::ApplicationRecord>& key)
          -> absl::StatusOr<db::ApplicationOutcome> {
        auto id = RequiredId("application_id", request->application_id());
        if (!id.ok()) return id.status();
        std::vector<domain::NewRecordInput> inputs;
        inputs.reserve(request->records_size());
        for (const wire::NewSalesRecord& r : request->records()) {
          inputs.push_back(domain::NewRecordInput{
              r.vin(), r.vehicle_id(), r.model_year(),
              domain::Date{r.sale_date().year(), r.sale_date().month(), r.sale_date().day()}});
        }
        auto records = domain::CheckNewRecords(inputs, TodayUtc());
        if (!records.ok()) return records.status();
        return applications_.AddRecords(
            key, *id, *records,
            RulesFor(call, &domain::MayEditRecords, ApplicationStatus::kDraft,
                     request->expected_version()),
            call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditApplicationService::RemoveSalesRecords(
    grpc::CallbackServerContext* context, const wire::RemoveSalesRecordsRequest* request,
    wire::CreditApplication* response) {
  return Mutate(
      context, "RemoveSalesRecords", *request, request->idempotency_key(),
      [=](const Call& call, const db::KeyedChange<db::ApplicationRecord>& key)
          -> absl::StatusOr<db::ApplicationOutcome> {
        auto id = RequiredId("application_id", request->application_id());
        if (!id.ok()) return id.status();
        if (request->record_ids_size() < 1 ||
            request->record_ids_size() > static_cast<int>(domain::kMaxRecordsPerCall)) {
          return domain::InvalidField(
              "record_ids", absl::StrCat("must hold 1 to ", domain::kMaxRecordsPerCall, " ids"));
        }
        std::vector<int64_t> ids;
        for (int i = 0; i < request->record_ids_size(); ++i) {
          auto record = RequiredId(absl::StrCat("record_ids[", i, "]"), request->record_ids(i));
          if (!record.ok()) return record.status();
          ids.push_back(*record);
        }
        return applications_.RemoveRecords(
            key, *id, ids,
            RulesFor(call, &domain::MayEditRecords, ApplicationStatus::kDraft,
                     request->expected_version()),
            call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditApplicationService::SetRecordDecisions(
    grpc::CallbackServerContext* context, const wire::SetRecordDecisionsRequest* request,
    wire::CreditApplication* response) {
  return Mutate(
      context, "SetRecordDecisions", *request, request->idempotency_key(),
      [=](const Call& call, const db::KeyedChange<db::ApplicationRecord>& key)
          -> absl::StatusOr<db::ApplicationOutcome> {
        auto id = RequiredId("application_id", request->application_id());
        if (!id.ok()) return id.status();
        std::vector<domain::DecisionInput> inputs;
        for (const wire::RecordDecision& d : request->decisions()) {
          inputs.push_back(domain::DecisionInput{d.record_id(), d.included(), d.reason()});
        }
        auto decisions = domain::CheckDecisions(inputs);
        if (!decisions.ok()) return decisions.status();
        return applications_.Decide(key, *id, *decisions,
                                    RulesFor(call, &domain::MayDecide, ApplicationStatus::kChecked,
                                             request->expected_version()),
                                    call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditApplicationService::TransitionApplication(
    grpc::CallbackServerContext* context, const wire::TransitionApplicationRequest* request,
    wire::CreditApplication* response) {
  return Mutate(
      context, "TransitionApplication", *request, request->idempotency_key(),
      [=](const Call& call, const db::KeyedChange<db::ApplicationRecord>& key)
          -> absl::StatusOr<db::ApplicationOutcome> {
        auto id = RequiredId("application_id", request->application_id());
        if (!id.ok()) return id.status();
        const int action_number = static_cast<int>(request->action());
        if (action_number < 1 || action_number > 9) {
          return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                 "action must be one of the workflow's actions", "INVALID_ARGUMENT",
                                 "action");
        }
        const auto action = static_cast<domain::ApplicationAction>(action_number);
        auto comment = domain::CheckComment(request->comment());
        if (!comment.ok()) return comment.status();
        const uint32_t expected = request->expected_version();
        const bool government = IsGovernment(call.caller);
        auto rule =
            [&](const db::ApplicationHead& a) -> absl::StatusOr<domain::ApplicationTransition> {
          const ApplicantParty party = PartyIn(call.caller, a.organization_id);
          if (!domain::MaySeeApplication(party, a.status)) return NoSuchApplication(a.id);
          return InRefusalOrder(
              domain::DecideApplication(a.status, action, party, government, call.caller.roles),
              "application", expected, a.version);
        };
        return applications_.Transition(key, ActorOf(call.caller), *id, action, *comment, rule,
                                        call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* CreditApplicationService::GetApplication(
    grpc::CallbackServerContext* context, const wire::GetApplicationRequest* request,
    wire::CreditApplication* response) {
  return guard_.Serve(
      context, "GetApplication",
      [=](const Call& call) -> absl::Status {
        auto id = RequiredId("application_id", request->application_id());
        if (!id.ok()) return id.status();
        auto application = applications_.Get(*id, call.budget);
        if (!application.ok()) return application.status();
        if (!application->has_value() ||
            !domain::MaySeeApplication(PartyIn(call.caller, (*application)->organization_id),
                                       (*application)->status)) {
          return NoSuchApplication(*id);
        }
        FillApplication(**application, call.caller, response);
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

grpc::ServerWriteReactor<wire::CreditApplication>* CreditApplicationService::ListApplications(
    grpc::CallbackServerContext* context, const wire::ListApplicationsRequest* request) {
  return guard_.Stream<wire::CreditApplication>(
      context, "ListApplications",
      [=](const Call& call, RowWriter<wire::CreditApplication>* writer) -> absl::Status {
        db::ApplicationFilter filter;
        filter.after_id = AfterId(request->after_id());
        filter.limit = request->limit();
        for (int status : request->statuses()) {
          if (status < 1 || status > 8) {
            return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                   "statuses must name application statuses", "INVALID_ARGUMENT",
                                   "statuses");
          }
          filter.statuses.push_back(
              domain::ApplicationStatusName(static_cast<ApplicationStatus>(status)));
        }
        const int64_t organization = OptionalId(request->organization_id());
        if (IsGovernment(call.caller)) {
          if (organization != 0) filter.organization_id = organization;
        } else {
          if (organization != 0 && organization != call.caller.organization_id) {
            return domain::Refusal(absl::StatusCode::kPermissionDenied,
                                   "suppliers list only their own organization's applications",
                                   "PERMISSION_DENIED", "organization_id");
          }
          filter.organization_id = call.caller.organization_id;
        }
        const bool every_status = filter.statuses.empty();
        auto visible = [&](const db::ApplicationRecord& a) {
          return (!every_status || a.status != ApplicationStatus::kDeleted) &&
                 domain::MaySeeApplication(PartyIn(call.caller, a.organization_id), a.status);
        };
        wire::CreditApplication out;
        return applications_.List(filter, visible, call.budget,
                                  [&](const db::ApplicationRecord& a) {
                                    out.Clear();
                                    FillApplication(a, call.caller, &out);
                                    return !context->IsCancelled() && writer->Write(out);
                                  });
      },
      domain::kErrorDomain);
}

grpc::ServerWriteReactor<wire::SalesRecord>* CreditApplicationService::ListSalesRecords(
    grpc::CallbackServerContext* context, const wire::ListSalesRecordsRequest* request) {
  return guard_.Stream<wire::SalesRecord>(
      context, "ListSalesRecords",
      [=](const Call& call, RowWriter<wire::SalesRecord>* writer) -> absl::Status {
        auto id = RequiredId("application_id", request->application_id());
        if (!id.ok()) return id.status();
        const int64_t after_id = AfterId(request->after_id());
        const int filter = static_cast<int>(request->filter());
        if (filter < 0 || filter > 3) {
          return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                 "filter must be one of RecordFilter's values", "INVALID_ARGUMENT",
                                 "filter");
        }
        auto application = applications_.Get(*id, call.budget);
        if (!application.ok()) return application.status();
        if (!application->has_value() ||
            !domain::MaySeeApplication(PartyIn(call.caller, (*application)->organization_id),
                                       (*application)->status)) {
          return NoSuchApplication(*id);
        }
        wire::SalesRecord out;
        return applications_.Records(
            *id, static_cast<db::RecordFilterKind>(filter), after_id, request->limit(), call.budget,
            [&](const db::SalesRecordRow& r) {
              out.Clear();
              out.set_id(static_cast<uint64_t>(r.id));
              out.set_vin(r.vin);
              out.set_vehicle_id(static_cast<uint64_t>(r.vehicle_id));
              out.set_model_year(static_cast<uint32_t>(r.model_year));
              FillDate(r.sale_date, out.mutable_sale_date());
              for (int w : r.warnings) out.add_warnings(static_cast<wire::RecordWarning>(w));
              out.set_included(r.included);
              out.set_decision_reason(r.decision_reason);
              out.set_icbc_make(r.icbc_make);
              out.set_icbc_model(r.icbc_model);
              out.set_icbc_model_year(static_cast<uint32_t>(r.icbc_model_year));
              return !context->IsCancelled() && writer->Write(out);
            });
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
