#include "services/compliance_service.h"

#include <ctime>

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
using domain::ReportParty;
using domain::ReportStatus;
using Outcome = db::ReportOutcome::Kind;

absl::Status NoSuchReport(int64_t id) {
  return domain::Refusal(absl::StatusCode::kNotFound,
                         absl::StrCat("no model year report with id ", IdText(id)), "NOT_FOUND",
                         "report_id");
}

ReportParty PartyIn(const auth::Caller& caller, int64_t organization_id) {
  return domain::ApplicantPartyOf(IsGovernment(caller), caller.organization_id, organization_id);
}

db::Actor ActorOf(const auth::Caller& caller) {
  return db::Actor{caller.user_id, caller.organization_id, absl::StrJoin(caller.roles, ",")};
}

// The model year British Columbia is in now: its calendar year at UTC-8 (Pacific Standard
// Time, which is in force at every new year).
int CurrentBcYear() {
  const std::time_t now = std::time(nullptr) - std::time_t{8} * 3600;
  std::tm t{};
  gmtime_r(&now, &t);
  return t.tm_year + 1900;
}

wire::CreditClass WireClass(domain::CreditClass c) {
  switch (c) {
    case domain::CreditClass::kA:
      return wire::CREDIT_CLASS_A;
    case domain::CreditClass::kB:
      return wire::CREDIT_CLASS_B;
    case domain::CreditClass::kC:
      break;
  }
  return wire::CREDIT_CLASS_UNSPECIFIED;
}

void FillRatio(const domain::ComplianceRatio& r, wire::ComplianceRatio* out) {
  out->set_model_year(static_cast<uint32_t>(r.model_year));
  out->set_total_basis_points(static_cast<uint32_t>(r.total_basis_points));
  out->set_class_a_basis_points(static_cast<uint32_t>(r.class_a_basis_points));
}

void FillDeficit(const domain::Deficit& d, wire::Deficit* out) {
  out->set_model_year(static_cast<uint32_t>(d.model_year));
  out->set_part(static_cast<wire::ObligationPart>(d.part));
  out->mutable_amount()->set_hundredths(d.amount);
}

void FillObligation(const domain::Obligation& o, wire::Obligation* out) {
  out->set_supplier_size(static_cast<wire::SupplierSize>(o.size));
  out->set_size_basis(static_cast<uint64_t>(o.size_basis));
  FillRatio(o.ratio, out->mutable_ratio());
  out->mutable_total()->set_hundredths(o.total);
  out->mutable_class_a()->set_hundredths(o.class_a);
  out->mutable_any_class()->set_hundredths(o.any_class);
}

void FillOutcome(const domain::AssessmentOutcome& a, wire::AssessmentOutcome* out) {
  for (const domain::Deduction& d : a.deductions) {
    auto* w = out->add_deductions();
    w->set_part(static_cast<wire::ObligationPart>(d.part));
    w->set_debit_model_year(static_cast<uint32_t>(d.debit_model_year));
    w->set_credit_model_year(static_cast<uint32_t>(d.credit.model_year));
    w->set_credit_class(WireClass(d.credit.credit_class));
    w->mutable_amount()->set_hundredths(d.amount);
  }
  for (const domain::Deficit& d : a.deficits) FillDeficit(d, out->add_deficits());
  out->set_compliant(a.compliant);
  out->set_penalty_cents(static_cast<uint64_t>(a.penalty_cents));
}

// The whole report as the caller sees it: the obligation and outcome as stored once ASSESSED,
// else computed now (the preview, while DRAFT, SUBMITTED or RECOMMENDED); `allowed_actions`
// empty when the caller may no longer see it.
void FillReport(const db::ReportRecord& r, const auth::Caller& caller, wire::ModelYearReport* out) {
  out->set_id(static_cast<uint64_t>(r.id));
  out->set_organization_id(static_cast<uint64_t>(r.organization_id));
  out->set_organization_name(r.organization_name);
  out->set_model_year(static_cast<uint32_t>(r.model_year));
  out->set_status(static_cast<wire::ModelYearReportStatus>(r.status));
  out->set_version(static_cast<uint32_t>(r.version));
  out->set_ldv_sales(static_cast<uint64_t>(r.ldv_sales));
  for (const domain::PreviousSales& p :
       domain::PreviousSalesOf(r.model_year, r.recorded_sales, r.entered_sales)) {
    if (!p.ldv_sales) continue;  // neither recorded nor entered yet
    auto* w = out->add_previous_sales();
    w->set_model_year(static_cast<uint32_t>(p.model_year));
    w->set_ldv_sales(static_cast<uint64_t>(*p.ldv_sales));
    w->set_recorded(p.recorded);
  }
  for (const std::string& make : r.makes) out->add_makes(make);
  out->set_any_class_first(WireClass(r.any_class_first));
  out->set_attested(r.attested);
  for (const db::ZevSalesRow& z : r.zev_sales) {
    auto* w = out->add_zev_sales();
    w->set_vehicle_id(static_cast<uint64_t>(z.vehicle_id));
    w->set_make(z.make);
    w->set_model(z.model);
    w->set_credit_class(WireClass(domain::ClassOf(z.type, z.range_km)));
    w->set_validated(static_cast<uint32_t>(z.validated));
    w->set_pending(static_cast<uint32_t>(z.pending));
  }
  if (r.assessment) {
    FillObligation(r.assessment->obligation, out->mutable_obligation());
    FillOutcome(r.assessment->outcome, out->mutable_outcome());
  } else if (const std::optional<domain::Obligation> obligation = domain::ReportObligation(
                 r.model_year, r.ldv_sales, r.recorded_sales, r.entered_sales, r.ratio)) {
    FillObligation(*obligation, out->mutable_obligation());
    if (r.status != ReportStatus::kDeleted) {
      FillOutcome(domain::Assess(r.state.available, r.state.deficits, r.model_year, *obligation,
                                 r.any_class_first, r.state.previous_in_deficit),
                  out->mutable_outcome());
    }
  }
  out->set_journal_id(static_cast<uint64_t>(r.journal_id));
  for (const db::ReportEventRecord& e : r.history) {
    auto* event = out->add_history();
    event->set_seq(static_cast<uint32_t>(e.seq));
    event->set_action(
        static_cast<wire::ModelYearReportAction>(domain::ReportActionNamed(e.action)));
    event->set_from_status(
        static_cast<wire::ModelYearReportStatus>(domain::ReportStatusNamed(e.from_status)));
    event->set_to_status(
        static_cast<wire::ModelYearReportStatus>(domain::ReportStatusNamed(e.to_status)));
    event->set_actor(e.actor);
    event->set_actor_organization_id(static_cast<uint64_t>(e.actor_organization_id));
    event->set_comment(e.comment);
    FillTimestamp(e.at_micros, event->mutable_at());
  }
  const ReportParty party = PartyIn(caller, r.organization_id);
  if (domain::MaySeeReport(party, r.status)) {
    for (const auto action :
         domain::AllowedReportActions(r.status, party, IsGovernment(caller), caller.roles)) {
      out->add_allowed_actions(static_cast<wire::ModelYearReportAction>(action));
    }
  }
  FillTimestamp(r.created_micros, out->mutable_created_at());
  FillTimestamp(r.updated_micros, out->mutable_updated_at());
}

absl::Status OutcomeError(const db::ReportOutcome& outcome, int64_t report_id) {
  switch (outcome.kind) {
    case Outcome::kKeyReused:
      return KeyReused();
    case Outcome::kNotFound:
      return NoSuchReport(report_id);
    case Outcome::kDone:
    case Outcome::kReplayed:
      break;
  }
  return absl::OkStatus();
}

const char* FirstClassName(int wire_class) {
  switch (wire_class) {
    case wire::CREDIT_CLASS_A:
      return "A";
    case wire::CREDIT_CLASS_B:
      return "B";
    default:
      return "";
  }
}

}  // namespace

absl::Status ComplianceService::Answer(const Call& call, int64_t report_id,
                                       wire::ModelYearReport* out) {
  auto report = reports_.Get(report_id, call.budget);
  if (!report.ok()) return report.status();
  if (!report->has_value()) return NoSuchReport(report_id);
  FillReport(**report, call.caller, out);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ComplianceService::Mutate(grpc::CallbackServerContext* context,
                                                    const char* method,
                                                    const google::protobuf::Message& request,
                                                    const std::string& key, const Change& change,
                                                    wire::ModelYearReport* response) {
  return MutateWorkflow(
      guard_, keys_, context, method, request, key, FillReport, change,
      &db::ReportOutcome::report_id, OutcomeError,
      [=](const Call& call, int64_t id) { return Answer(call, id, response); }, response);
}

grpc::ServerUnaryReactor* ComplianceService::GetComplianceRatios(
    grpc::CallbackServerContext* context, const wire::GetComplianceRatiosRequest*,
    wire::GetComplianceRatiosResponse* response) {
  return guard_.Serve(
      context, "GetComplianceRatios",
      [=](const Call& call) -> absl::Status {
        auto ratios = reports_.Ratios(call.budget);
        if (!ratios.ok()) return ratios.status();
        for (const domain::ComplianceRatio& r : *ratios) FillRatio(r, response->add_ratios());
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* ComplianceService::CreateModelYearReport(
    grpc::CallbackServerContext* context, const wire::CreateModelYearReportRequest* request,
    wire::ModelYearReport* response) {
  return Mutate(
      context, "CreateModelYearReport", *request, request->idempotency_key(),
      [=](const Call& call,
          const db::KeyedChange<db::ReportRecord>& key) -> absl::StatusOr<db::ReportOutcome> {
        if (absl::Status s = domain::CheckReportYear(request->model_year(), CurrentBcYear());
            !s.ok()) {
          return s;
        }
        if (absl::Status s = domain::MayCreateReport(IsGovernment(call.caller), call.caller.roles);
            !s.ok()) {
          return s;
        }
        return reports_.Create(key, ActorOf(call.caller), static_cast<int>(request->model_year()),
                               call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* ComplianceService::UpdateModelYearReport(
    grpc::CallbackServerContext* context, const wire::UpdateModelYearReportRequest* request,
    wire::ModelYearReport* response) {
  return Mutate(
      context, "UpdateModelYearReport", *request, request->idempotency_key(),
      [=](const Call& call,
          const db::KeyedChange<db::ReportRecord>& key) -> absl::StatusOr<db::ReportOutcome> {
        auto id = RequiredId("report_id", request->report_id());
        if (!id.ok()) return id.status();
        db::ReportInputs inputs;
        for (const wire::PreviousSales& p : request->previous_sales()) {
          inputs.previous_sales.push_back(
              domain::PreviousSalesInput{p.model_year(), p.ldv_sales()});
        }
        auto makes = domain::CheckReportInputs(request->ldv_sales(), inputs.previous_sales,
                                               {request->makes().begin(), request->makes().end()},
                                               request->any_class_first());
        if (!makes.ok()) return makes.status();
        inputs.ldv_sales = static_cast<int64_t>(request->ldv_sales());
        inputs.makes = *std::move(makes);
        inputs.any_class_first = FirstClassName(request->any_class_first());
        inputs.attested = request->attested();
        const bool government = IsGovernment(call.caller);
        const uint32_t expected = request->expected_version();
        db::ReportRules rules;
        rules.access = [&](const db::ReportHead& r) -> absl::Status {
          const ReportParty party = PartyIn(call.caller, r.organization_id);
          if (!domain::MaySeeReport(party, r.status)) return NoSuchReport(r.id);
          return domain::MayEditReport(r.status, party, government, call.caller.roles,
                                       inputs.attested, /*check_status=*/false);
        };
        rules.state = [&](const db::ReportHead& r) -> absl::Status {
          if (absl::Status s = CheckVersion("report", expected, r.version); !s.ok()) return s;
          return domain::MayEditReport(r.status, PartyIn(call.caller, r.organization_id),
                                       government, call.caller.roles, inputs.attested,
                                       /*check_status=*/true);
        };
        return reports_.Update(key, ActorOf(call.caller), *id, inputs, rules, call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* ComplianceService::TransitionModelYearReport(
    grpc::CallbackServerContext* context, const wire::TransitionModelYearReportRequest* request,
    wire::ModelYearReport* response) {
  return Mutate(
      context, "TransitionModelYearReport", *request, request->idempotency_key(),
      [=](const Call& call,
          const db::KeyedChange<db::ReportRecord>& key) -> absl::StatusOr<db::ReportOutcome> {
        auto id = RequiredId("report_id", request->report_id());
        if (!id.ok()) return id.status();
        const int action_number = static_cast<int>(request->action());
        if (action_number < 1 || action_number > 6) {
          return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                 "action must be one of the workflow's actions", "INVALID_ARGUMENT",
                                 "action");
        }
        const auto action = static_cast<domain::ReportAction>(action_number);
        auto comment = domain::CheckComment(request->comment());
        if (!comment.ok()) return comment.status();
        const uint32_t expected = request->expected_version();
        const bool government = IsGovernment(call.caller);
        auto rule = [&](const db::ReportHead& r) -> absl::StatusOr<domain::ReportTransition> {
          const ReportParty party = PartyIn(call.caller, r.organization_id);
          if (!domain::MaySeeReport(party, r.status)) return NoSuchReport(r.id);
          return InRefusalOrder(
              domain::DecideReport(r.status, action, party, government, call.caller.roles),
              "report", expected, r.version);
        };
        return reports_.Transition(key, ActorOf(call.caller), *id, action, *comment, rule,
                                   call.budget);
      },
      response);
}

grpc::ServerUnaryReactor* ComplianceService::GetModelYearReport(
    grpc::CallbackServerContext* context, const wire::GetModelYearReportRequest* request,
    wire::ModelYearReport* response) {
  return guard_.Serve(
      context, "GetModelYearReport",
      [=](const Call& call) -> absl::Status {
        auto id = RequiredId("report_id", request->report_id());
        if (!id.ok()) return id.status();
        auto report = reports_.Get(*id, call.budget);
        if (!report.ok()) return report.status();
        if (!report->has_value() ||
            !domain::MaySeeReport(PartyIn(call.caller, (*report)->organization_id),
                                  (*report)->status)) {
          return NoSuchReport(*id);
        }
        FillReport(**report, call.caller, response);
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

grpc::ServerWriteReactor<wire::ModelYearReport>* ComplianceService::ListModelYearReports(
    grpc::CallbackServerContext* context, const wire::ListModelYearReportsRequest* request) {
  return guard_.Stream<wire::ModelYearReport>(
      context, "ListModelYearReports",
      [=](const Call& call, RowWriter<wire::ModelYearReport>* writer) -> absl::Status {
        db::ReportFilter filter;
        filter.after_id = AfterId(request->after_id());
        filter.limit = request->limit();
        // A model year past any report's matches nothing (never a wrapped one).
        filter.model_year = request->model_year() > static_cast<uint32_t>(domain::kLastReportYear)
                                ? -1
                                : static_cast<int>(request->model_year());
        for (int status : request->statuses()) {
          if (status < 1 || status > 5) {
            return domain::Refusal(absl::StatusCode::kInvalidArgument,
                                   "statuses must name model year report statuses",
                                   "INVALID_ARGUMENT", "statuses");
          }
          filter.statuses.push_back(domain::ReportStatusName(static_cast<ReportStatus>(status)));
        }
        const int64_t organization = OptionalId(request->organization_id());
        if (IsGovernment(call.caller)) {
          if (organization != 0) filter.organization_id = organization;
        } else {
          if (organization != 0 && organization != call.caller.organization_id) {
            return domain::Refusal(absl::StatusCode::kPermissionDenied,
                                   "suppliers list only their own organization's reports",
                                   "PERMISSION_DENIED", "organization_id");
          }
          filter.organization_id = call.caller.organization_id;
        }
        const bool every_status = filter.statuses.empty();
        auto visible = [&](const db::ReportRecord& r) {
          return (!every_status || r.status != ReportStatus::kDeleted) &&
                 domain::MaySeeReport(PartyIn(call.caller, r.organization_id), r.status);
        };
        wire::ModelYearReport out;
        return reports_.List(filter, visible, call.budget, [&](const db::ReportRecord& r) {
          out.Clear();
          FillReport(r, call.caller, &out);
          return !context->IsCancelled() && writer->Write(out);
        });
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* ComplianceService::GetDeficits(grpc::CallbackServerContext* context,
                                                         const wire::GetDeficitsRequest* request,
                                                         wire::GetDeficitsResponse* response) {
  return guard_.Serve(
      context, "GetDeficits",
      [=](const Call& call) -> absl::Status {
        auto id = domain::LedgerOrganization(IsGovernment(call.caller), call.caller.organization_id,
                                             OptionalId(request->organization_id()));
        if (!id.ok()) return id.status();
        if (*id != call.caller.organization_id) {
          auto kind = ledger_.KindOf(*id, call.budget);
          if (!kind.ok()) return kind.status();
          if (*kind == db::OrganizationKind::kMissing) {
            return domain::Refusal(absl::StatusCode::kNotFound,
                                   absl::StrCat("no organization with id ", IdText(*id)),
                                   "NOT_FOUND", "organization_id");
          }
        }
        auto deficits = reports_.Deficits(*id, call.budget);
        if (!deficits.ok()) return deficits.status();
        response->set_organization_id(static_cast<uint64_t>(*id));
        for (const domain::Deficit& d : *deficits) FillDeficit(d, response->add_deficits());
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
