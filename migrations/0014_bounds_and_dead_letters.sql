-- id: 0014_bounds_and_dead_letters
-- revises: 0013_change_notifications
-- description: request bounds as constraints on new rows; outbox dead letters per channel
-- Every amount of a request is at most 10^11 hundredths either way and a price at most 10^7
-- cents (docs/credits.md): within them every derived figure is exact in int64. The database
-- holds new rows to the same bounds. NOT VALID: rows written before the bounds existed are
-- kept as they are (they are history; the service reads them without overflowing), while
-- every new or updated row is checked.
-- migrate:up
ALTER TABLE credit_transfer_lines
  ADD CONSTRAINT credit_transfer_lines_amount_bound CHECK (amount <= 100000000000) NOT VALID,
  ADD CONSTRAINT credit_transfer_lines_price_bound
    CHECK (price_per_credit_cents <= 10000000) NOT VALID;
ALTER TABLE credit_ledger_entries
  ADD CONSTRAINT credit_ledger_entries_amount_bound
    CHECK (amount BETWEEN -100000000000 AND 100000000000) NOT VALID;

-- A dead letter is an event that one channel gave up on: it could not be decoded (dead at
-- once, never leased), or its delivery failed OUTBOX_MAX_ATTEMPTS times (e.g. no queue bound
-- for it, or the broker nacks it). It is no longer claimed on that channel, so it neither
-- blocks nor spins; the other channel is unaffected. An operator re-queues it by setting the
-- column back to NULL (docs/operations.md).
ALTER TABLE outbox_events
  ADD COLUMN publish_dead_at timestamptz,
  ADD COLUMN mail_dead_at timestamptz;
DROP INDEX outbox_events_publish_pending;
DROP INDEX outbox_events_mail_pending;
CREATE INDEX outbox_events_publish_pending ON outbox_events (seq)
  WHERE published_at IS NULL AND publish_dead_at IS NULL;
CREATE INDEX outbox_events_mail_pending ON outbox_events (seq)
  WHERE mailed_at IS NULL AND mail_dead_at IS NULL;
-- The worker's dead-letter gauges count these (few, and small indexes).
CREATE INDEX outbox_events_publish_dead ON outbox_events (seq) WHERE publish_dead_at IS NOT NULL;
CREATE INDEX outbox_events_mail_dead ON outbox_events (seq) WHERE mail_dead_at IS NOT NULL;
-- migrate:down
DROP INDEX outbox_events_publish_dead;
DROP INDEX outbox_events_mail_dead;
DROP INDEX outbox_events_publish_pending;
DROP INDEX outbox_events_mail_pending;
CREATE INDEX outbox_events_publish_pending ON outbox_events (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_events_mail_pending ON outbox_events (seq) WHERE mailed_at IS NULL;
ALTER TABLE outbox_events DROP COLUMN publish_dead_at, DROP COLUMN mail_dead_at;
ALTER TABLE credit_ledger_entries DROP CONSTRAINT credit_ledger_entries_amount_bound;
ALTER TABLE credit_transfer_lines
  DROP CONSTRAINT credit_transfer_lines_amount_bound,
  DROP CONSTRAINT credit_transfer_lines_price_bound;
