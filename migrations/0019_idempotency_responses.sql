-- id: 0019_idempotency_responses
-- revises: 0018_posted_matches_entries
-- description: the response of every successful mutating request, stored with its idempotency key
-- A replay answers with the response the request had, byte for byte (CREDITS.md,
-- Idempotency: "same ids, same journal"), not with the resource as it is now. The response is
-- the method's serialized protobuf message, written in the transaction that makes the change
-- and claims the key (db/idempotency.h RecordResult), so a commit stores both or neither.
-- NULL for keys written before this migration: such a key replays as before it, with the
-- resource (result_id) as it is now (docs/credits.md). Down drops the responses: keys stay
-- and replay as a NULL response does.
-- migrate:up
ALTER TABLE idempotency_records ADD COLUMN response bytea;
-- migrate:down
ALTER TABLE idempotency_records DROP COLUMN response;
