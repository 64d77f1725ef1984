#include "services/credit_ledger_service.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "services/caller_scope.h"
#include "services/credits_wire.h"
#include "services/wire_numbers.h"

namespace zeva::services {
namespace {

// The organization whose ledger the call reads, and whether it is the government's.
struct LedgerTarget {
  int64_t organization_id = 0;
  bool government = false;
};

// The target when it is the caller's own organization (known without the database); nullopt
// when it is another one (TargetOf reads its kind).
absl::StatusOr<std::optional<LedgerTarget>> OwnTarget(bool government, int64_t own,
                                                      uint64_t requested) {
  auto id = domain::LedgerOrganization(government, own, OptionalId(requested));
  if (!id.ok()) return id.status();
  if (*id != own) return std::nullopt;
  return LedgerTarget{*id, government};
}

absl::StatusOr<LedgerTarget> TargetOf(const Call& call, uint64_t requested,
                                      db::LedgerStore& store) {
  auto own = OwnTarget(IsGovernment(call.caller), call.caller.organization_id, requested);
  if (!own.ok()) return own.status();
  if (own->has_value()) return **own;
  // Another organization, which a government caller may name.
  const int64_t id = OptionalId(requested);
  auto kind = store.KindOf(id, call.budget);
  if (!kind.ok()) return kind.status();
  if (*kind == db::OrganizationKind::kMissing) {
    return domain::Refusal(absl::StatusCode::kNotFound,
                           absl::StrCat("no organization with id ", IdText(id)), "NOT_FOUND",
                           "organization_id");
  }
  return LedgerTarget{id, *kind == db::OrganizationKind::kGovernment};
}

void FillBalances(int64_t organization_id, const std::vector<db::BalanceRow>& rows,
                  credits::GetBalancesResponse* response) {
  response->set_organization_id(static_cast<uint64_t>(organization_id));
  std::map<domain::CreditClass, std::pair<int64_t, int64_t>> totals;  // posted, available
  for (const db::BalanceRow& row : rows) {
    auto* balance = response->add_balances();
    balance->set_model_year(static_cast<uint32_t>(row.key.model_year));
    balance->set_credit_class(ToWireClass(row.key.credit_class));
    balance->mutable_posted()->set_hundredths(row.posted);
    balance->mutable_reserved()->set_hundredths(row.reserved);
    balance->mutable_available()->set_hundredths(row.posted - row.reserved);
    auto& total = totals[row.key.credit_class];
    total.first += row.posted;
    total.second += row.posted - row.reserved;
  }
  for (const auto& [credit_class, total] : totals) {
    auto* class_total = response->add_class_totals();
    class_total->set_credit_class(ToWireClass(credit_class));
    class_total->mutable_posted()->set_hundredths(total.first);
    class_total->mutable_available()->set_hundredths(total.second);
  }
}

}  // namespace

grpc::ServerUnaryReactor* CreditLedgerService::GetBalances(
    grpc::CallbackServerContext* context, const credits::GetBalancesRequest* request,
    credits::GetBalancesResponse* response) {
  // On a gRPC thread (or the blocking pool): nothing here may wait. A balance held in memory
  // is answered from the LISTEN thread once proven current, without a hand-over to the
  // blocking pool; anything else that needs the database runs there.
  return guard_.RunLater(
      context, "GetBalances",
      [this, request, response](const Call& call, const Answer& answer) {
        const db::Budget budget = call.budget;
        const uint64_t requested = request->organization_id();
        const bool government = IsGovernment(call.caller);
        auto read = [this, response](LedgerTarget target, const db::Budget& within) {
          auto rows = reads_.Balances(target.organization_id, target.government, within);
          if (!rows.ok()) return rows.status();
          FillBalances(target.organization_id, **rows, response);
          return absl::OkStatus();
        };
        auto own = OwnTarget(government, call.caller.organization_id, requested);
        if (!own.ok()) return answer(own.status());
        if (!own->has_value()) {
          // Another organization's ledger: its kind is a database read.
          return guard_.Later(answer, [this, call = Call{call}, requested, read] {
            auto target = TargetOf(call, requested, store_);
            return target.ok() ? read(*target, call.budget) : target.status();
          });
        }
        const LedgerTarget target = **own;
        auto read_on_pool = [this, target, read, answer, budget] {
          guard_.Later(answer, [target, read, budget] { return read(target, budget); });
        };
        const bool later = reads_.BalancesFromMemory(
            target.organization_id, target.government, budget,
            [response, target, answer,
             read_on_pool](const std::shared_ptr<const std::vector<db::BalanceRow>>& rows) {
              if (rows == nullptr) return read_on_pool();  // changed meanwhile, or no proof
              FillBalances(target.organization_id, *rows, response);
              answer(absl::OkStatus());
            });
        if (!later) read_on_pool();
      },
      domain::kErrorDomain);
}

grpc::ServerWriteReactor<credits::LedgerEntry>* CreditLedgerService::ListLedgerEntries(
    grpc::CallbackServerContext* context, const credits::ListLedgerEntriesRequest* request) {
  return guard_.Stream<credits::LedgerEntry>(
      context, "ListLedgerEntries",
      [=](const Call& call, RowWriter<credits::LedgerEntry>* writer) -> absl::Status {
        const int64_t after_id = AfterId(request->after_id());
        auto target = TargetOf(call, request->organization_id(), store_);
        if (!target.ok()) return target.status();
        credits::LedgerEntry entry;  // reused: no allocation per row
        return store_.ListEntries(target->organization_id, after_id, request->limit(), call.budget,
                                  [&](const db::EntryRecord& row) {
                                    FillEntry(row, &entry);
                                    return !context->IsCancelled() && writer->Write(entry);
                                  });
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* CreditLedgerService::GetJournal(grpc::CallbackServerContext* context,
                                                          const credits::GetJournalRequest* request,
                                                          credits::Journal* response) {
  return guard_.Serve(
      context, "GetJournal",
      [=](const Call& call) -> absl::Status {
        auto id = RequiredId("journal_id", request->journal_id());
        if (!id.ok()) return id.status();
        // A supplier sees a journal with an entry of its own, and only its own entries.
        const std::optional<int64_t> visible_to =
            IsGovernment(call.caller) ? std::nullopt
                                      : std::optional<int64_t>(call.caller.organization_id);
        auto journal = store_.Journal(*id, visible_to, call.budget);
        if (!journal.ok()) return journal.status();
        if (!journal->has_value()) {
          return domain::Refusal(absl::StatusCode::kNotFound,
                                 absl::StrCat("no journal with id ", IdText(*id)), "NOT_FOUND",
                                 "journal_id");
        }
        FillJournal(**journal, response);
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
