// zeva-application-bench (bench/applications.sh): a credit application of many records
// through CreditApplicationService, each step timed, one JSON line per command.
//   zeva-application-bench registrations COUNT IMPORT_ID
//       CSV (no header) of COUNT registrations `vin,make,model,model_year,import_id` for
//       psql's \copy; registration i has the VIN Vin(i) (valid check digit), make Tesla, model
//       year 2021.
//   zeva-application-bench file TARGET SUPPLIER_TOKEN VEHICLE_ID RECORDS BATCH COUNT
//       CreateApplication, then RECORDS records (VINs spread evenly over registrations
//       0..COUNT-1, model year 2021) added BATCH per AddSalesRecords call, then SUBMIT.
//   zeva-application-bench check TARGET ANALYST_TOKEN APPLICATION_ID
//       one CHECK (from SUBMITTED or CHECKED).
//   zeva-application-bench validate TARGET ANALYST_TOKEN DIRECTOR_TOKEN APPLICATION_ID
//       RECOMMEND_APPROVAL, then VALIDATE (timed alone).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "domain/vin.h"
#include "zeva/credits/v1/applications.grpc.pb.h"

namespace {

namespace wire = ::zeva::credits::v1;
using Clock = std::chrono::steady_clock;

// Registration i's VIN: a fixed prefix, i in the last 8 places, the check digit in place 9.
std::string Vin(long i) {
  char text[18];
  std::snprintf(text, sizeof text, "5YJ3E1EA0K%07ld", i);
  std::string vin(text);
  vin[8] = zeva::domain::VinCheckDigit(vin);
  return vin;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return context;
}

std::unique_ptr<wire::CreditApplicationService::Stub> Stub(const std::string& target) {
  return wire::CreditApplicationService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
}

double Seconds(Clock::time_point from) {
  return std::chrono::duration<double>(Clock::now() - from).count();
}

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "zeva-application-bench: " << what << ": " << status.error_message() << "\n";
  return 1;
}

std::string Key(const std::string& what) {
  return "application-bench-" + what + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

grpc::Status Act(wire::CreditApplicationService::Stub& stub, const std::string& token, uint64_t id,
                 wire::ApplicationAction action, wire::CreditApplication* out) {
  wire::TransitionApplicationRequest request;
  request.set_idempotency_key(Key(wire::ApplicationAction_Name(action)));
  request.set_application_id(id);
  request.set_action(action);
  return stub.TransitionApplication(Context(token).get(), request, out);
}

uint64_t Included(const wire::CreditApplication& a) { return a.included_count(); }

int Registrations(long count, long import_id) {
  for (long i = 0; i < count; ++i) {
    std::printf("%s,Tesla,Model 3,2021,%ld\n", Vin(i).c_str(), import_id);
  }
  return 0;
}

int File(const std::string& target, const std::string& token, uint64_t vehicle, long records,
         long batch, long count) {
  auto stub = Stub(target);
  wire::CreateApplicationRequest create;
  create.set_idempotency_key(Key("create"));
  create.set_comment("application bench");
  wire::CreditApplication application;
  if (auto s = stub->CreateApplication(Context(token).get(), create, &application); !s.ok()) {
    return Fail("create", s);
  }
  const long stride = std::max(1L, count / std::max(1L, records));
  const auto adding = Clock::now();
  long calls = 0;
  for (long first = 0; first < records; first += batch) {
    wire::AddSalesRecordsRequest add;
    add.set_idempotency_key(Key("add-" + std::to_string(first)));
    add.set_application_id(application.id());
    for (long i = first; i < std::min(records, first + batch); ++i) {
      auto* r = add.add_records();
      r->set_vin(Vin(i * stride));
      r->set_vehicle_id(vehicle);
      r->set_model_year(2021);
      r->mutable_sale_date()->set_year(2021);
      r->mutable_sale_date()->set_month(6);
      r->mutable_sale_date()->set_day(1);
    }
    if (auto s = stub->AddSalesRecords(Context(token).get(), add, &application); !s.ok()) {
      return Fail("add", s);
    }
    ++calls;
  }
  const double add_seconds = Seconds(adding);
  const auto submitting = Clock::now();
  if (auto s = Act(*stub, token, application.id(), wire::APPLICATION_ACTION_SUBMIT, &application);
      !s.ok()) {
    return Fail("submit", s);
  }
  std::printf(
      "{\"application_id\": %llu, \"records\": %u, \"add_calls\": %ld, \"batch\": %ld, "
      "\"add_seconds\": %.3f, \"submit_seconds\": %.3f}\n",
      static_cast<unsigned long long>(application.id()), application.record_count(), calls, batch,
      add_seconds, Seconds(submitting));
  return 0;
}

int Check(const std::string& target, const std::string& token, uint64_t id) {
  auto stub = Stub(target);
  wire::CreditApplication application;
  const auto checking = Clock::now();
  if (auto s = Act(*stub, token, id, wire::APPLICATION_ACTION_CHECK, &application); !s.ok()) {
    return Fail("check", s);
  }
  const double seconds = Seconds(checking);
  uint64_t warned = 0;
  for (const auto& w : application.warnings()) warned += w.records();
  std::printf(
      "{\"application_id\": %llu, \"records\": %u, \"included\": %llu, "
      "\"warnings\": %llu, \"checked_against_import_id\": %llu, "
      "\"check_seconds\": %.3f}\n",
      static_cast<unsigned long long>(id), application.record_count(),
      static_cast<unsigned long long>(Included(application)),
      static_cast<unsigned long long>(warned),
      static_cast<unsigned long long>(application.checked_against_import_id()), seconds);
  return 0;
}

int Validate(const std::string& target, const std::string& analyst, const std::string& director,
             uint64_t id) {
  auto stub = Stub(target);
  wire::CreditApplication application;
  if (auto s = Act(*stub, analyst, id, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL, &application);
      !s.ok()) {
    return Fail("recommend", s);
  }
  const auto validating = Clock::now();
  if (auto s = Act(*stub, director, id, wire::APPLICATION_ACTION_VALIDATE, &application); !s.ok()) {
    return Fail("validate", s);
  }
  const double seconds = Seconds(validating);
  int64_t credits = 0;
  for (const auto& t : application.totals()) credits += t.posted().hundredths();
  std::printf(
      "{\"application_id\": %llu, \"status\": \"%s\", \"included\": %llu, "
      "\"journal_id\": %llu, \"credits_hundredths\": %lld, \"validate_seconds\": %.3f}\n",
      static_cast<unsigned long long>(id),
      wire::ApplicationStatus_Name(application.status()).c_str(),
      static_cast<unsigned long long>(Included(application)),
      static_cast<unsigned long long>(application.journal_id()), static_cast<long long>(credits),
      seconds);
  return application.status() == wire::APPLICATION_STATUS_VALIDATED ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "" : args[0];
  if (command == "registrations" && args.size() == 3) {
    return Registrations(std::stol(args[1]), std::stol(args[2]));
  }
  if (command == "file" && args.size() == 7) {
    return File(args[1], args[2], std::stoull(args[3]), std::stol(args[4]), std::stol(args[5]),
                std::stol(args[6]));
  }
  if (command == "check" && args.size() == 4) return Check(args[1], args[2], std::stoull(args[3]));
  if (command == "validate" && args.size() == 5) {
    return Validate(args[1], args[2], args[3], std::stoull(args[4]));
  }
  std::cerr << "usage: zeva-application-bench registrations COUNT IMPORT_ID\n"
               "       zeva-application-bench file TARGET SUPPLIER_TOKEN VEHICLE_ID RECORDS BATCH "
               "COUNT\n"
               "       zeva-application-bench check TARGET ANALYST_TOKEN APPLICATION_ID\n"
               "       zeva-application-bench validate TARGET ANALYST_TOKEN DIRECTOR_TOKEN "
               "APPLICATION_ID\n";
  return 2;
}
