#pragma once
// Conversions between the ledger's records and zeva.credits.v1 messages, shared by the
// credits services.

#include <string>

#include "db/ledger_store.h"
#include "zeva/credits/v1/credits.pb.h"

namespace zeva::services {

namespace credits = ::zeva::credits::v1;

credits::CreditClass ToWireClass(domain::CreditClass credit_class);
credits::JournalKind ToWireKind(const std::string& kind);
void FillEntry(const db::EntryRecord& entry, credits::LedgerEntry* out);
void FillJournal(const db::JournalRecord& journal, credits::Journal* out);
void FillTimestamp(int64_t micros, google::protobuf::Timestamp* out);

// The model year the calendar is in now (UTC): lines may name up to the next one.
int CurrentYear();

}  // namespace zeva::services
