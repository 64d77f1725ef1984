#include "services/credits_wire.h"

#include <ctime>

namespace zeva::services {

credits::CreditClass ToWireClass(domain::CreditClass credit_class) {
  return credit_class == domain::CreditClass::kA ? credits::CREDIT_CLASS_A
                                                 : credits::CREDIT_CLASS_B;
}

credits::JournalKind ToWireKind(const std::string& kind) {
  if (kind == "ISSUANCE") return credits::JOURNAL_KIND_ISSUANCE;
  if (kind == "TRANSFER") return credits::JOURNAL_KIND_TRANSFER;
  if (kind == "ADJUSTMENT") return credits::JOURNAL_KIND_ADJUSTMENT;
  if (kind == "REVERSAL") return credits::JOURNAL_KIND_REVERSAL;
  if (kind == "REDUCTION") return credits::JOURNAL_KIND_REDUCTION;
  return credits::JOURNAL_KIND_UNSPECIFIED;
}

void FillTimestamp(int64_t micros, google::protobuf::Timestamp* out) {
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

void FillEntry(const db::EntryRecord& entry, credits::LedgerEntry* out) {
  out->set_id(static_cast<uint64_t>(entry.id));
  out->set_journal_id(static_cast<uint64_t>(entry.journal_id));
  out->set_kind(ToWireKind(entry.kind));
  out->set_organization_id(static_cast<uint64_t>(entry.organization_id));
  out->set_model_year(static_cast<uint32_t>(entry.key.model_year));
  out->set_credit_class(ToWireClass(entry.key.credit_class));
  out->mutable_amount()->set_hundredths(entry.amount);
  out->set_reference(entry.reference);
  FillTimestamp(entry.posted_at_micros, out->mutable_posted_at());
}

void FillJournal(const db::JournalRecord& journal, credits::Journal* out) {
  out->set_id(static_cast<uint64_t>(journal.id));
  out->set_kind(ToWireKind(journal.kind));
  out->set_reference(journal.reference);
  out->set_posted_by(journal.posted_by);
  FillTimestamp(journal.posted_at_micros, out->mutable_posted_at());
  for (const db::EntryRecord& entry : journal.entries) FillEntry(entry, out->add_entries());
  out->set_reverses_journal_id(static_cast<uint64_t>(journal.reverses_journal_id));
  out->set_reason(journal.reason);
  out->set_reversed_by_journal_id(static_cast<uint64_t>(journal.reversed_by_journal_id));
  out->set_application_id(static_cast<uint64_t>(journal.application_id));
  out->set_model_year_report_id(static_cast<uint64_t>(journal.model_year_report_id));
}

int CurrentYear() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc.tm_year + 1900;
}

}  // namespace zeva::services
