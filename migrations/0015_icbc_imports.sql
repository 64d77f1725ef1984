-- id: 0015_icbc_imports
-- revises: 0014_bounds_and_dead_letters
-- description: ICBC registration data: imports, their uploaded bytes, registrations by VIN; import events
-- An import is uploaded in chunks (any replica takes any chunk), committed, then processed by
-- zeva-worker, which merges the file's rows into `icbc_registrations` in one transaction
-- (docs/icbc.md). The bytes live here, as bytea rows keyed by (import, offset), until the
-- import finishes: no new component, every replica and worker reads them, and a chunk is one
-- row written in the transaction that advances `received_bytes`.
-- migrate:up
CREATE TYPE icbc_import_status AS ENUM (
  'UPLOADING', 'QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED');

CREATE TABLE icbc_imports (
  id bigserial PRIMARY KEY,
  status icbc_import_status NOT NULL DEFAULT 'UPLOADING',
  file_name text NOT NULL CHECK (char_length(file_name) BETWEEN 1 AND 255),
  current_to date NOT NULL,
  size_bytes bigint NOT NULL CHECK (size_bytes BETWEEN 1 AND 2147483648),
  sha256 char(64) NOT NULL,
  received_bytes bigint NOT NULL DEFAULT 0,
  uploaded_by varchar NOT NULL REFERENCES users (username),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_chunk_at timestamptz NOT NULL DEFAULT now(),
  queued_seq bigint UNIQUE,             -- commit order: set when QUEUED
  finished_at timestamptz,
  lease_owner text,                     -- the worker processing it
  lease_until timestamptz,
  attempts integer NOT NULL DEFAULT 0,  -- claims by a worker (a crash or a rollback each)
  rows_read bigint NOT NULL DEFAULT 0,
  rows_kept bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  registrations_added bigint NOT NULL DEFAULT 0,
  registrations_changed bigint NOT NULL DEFAULT 0,
  registrations_unchanged bigint NOT NULL DEFAULT 0,
  errors jsonb NOT NULL DEFAULT '[]',   -- the first 100 rejected rows: [[line, message], ...]
  failure text NOT NULL DEFAULT '',
  CHECK (received_bytes BETWEEN 0 AND size_bytes),
  CHECK ((status IN ('COMPLETED', 'FAILED', 'CANCELLED')) = (finished_at IS NOT NULL)),
  CHECK (status = 'UPLOADING' OR status = 'CANCELLED' OR status = 'FAILED'
         OR queued_seq IS NOT NULL)
) WITH (fillfactor = 80);  -- progress updates stay HOT
CREATE SEQUENCE icbc_imports_queued_seq OWNED BY icbc_imports.queued_seq;
-- The worker's queue, in commit order (small: finished imports leave it).
CREATE INDEX icbc_imports_queue ON icbc_imports (queued_seq)
  WHERE status IN ('QUEUED', 'PROCESSING');
-- Abandoned uploads, by the time of their last chunk.
CREATE INDEX icbc_imports_uploading ON icbc_imports (last_chunk_at) WHERE status = 'UPLOADING';

CREATE TABLE icbc_import_chunks (
  import_id bigint NOT NULL REFERENCES icbc_imports (id) ON DELETE CASCADE,
  byte_offset bigint NOT NULL CHECK (byte_offset >= 0),
  data bytea NOT NULL CHECK (length(data) BETWEEN 1 AND 1048576),
  PRIMARY KEY (import_id, byte_offset)
);

CREATE TABLE icbc_registrations (
  vin varchar(17) PRIMARY KEY,
  make text NOT NULL,
  model text NOT NULL,
  model_year integer NOT NULL,
  -- The import that last added or changed it. No foreign key: imports are never deleted, and
  -- checking one per merged row tripled the time of a first 10^6-row import (bench/icbc.sh).
  import_id bigint NOT NULL
);

-- Workers LISTEN on zeva_icbc and start a committed import at once (statement level: one
-- notification per commit or cancel).
CREATE FUNCTION icbc_imports_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('zeva_icbc', '');
  RETURN NULL;
END $$;
CREATE TRIGGER icbc_imports_notify AFTER UPDATE OF status ON icbc_imports
  FOR EACH STATEMENT EXECUTE FUNCTION icbc_imports_notify();

-- Events and notifications name the import they are about.
ALTER TABLE outbox_events ADD COLUMN icbc_import_id bigint,
  DROP CONSTRAINT outbox_events_check,
  ADD CONSTRAINT outbox_events_subject CHECK (
    num_nonnulls(transfer_id, journal_id, icbc_import_id) = 1
    OR event_type = 'credits.transfer.recorded');
ALTER TABLE notifications ADD COLUMN icbc_import_id bigint;
-- migrate:down
ALTER TABLE notifications DROP COLUMN icbc_import_id;
DELETE FROM outbox_events WHERE icbc_import_id IS NOT NULL;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_subject,
  DROP COLUMN icbc_import_id,
  ADD CONSTRAINT outbox_events_check CHECK (
    (transfer_id IS NULL) <> (journal_id IS NULL) OR event_type = 'credits.transfer.recorded');
DROP TRIGGER icbc_imports_notify ON icbc_imports;
DROP FUNCTION icbc_imports_notify();
DROP TABLE icbc_registrations;
DROP TABLE icbc_import_chunks;
DROP TABLE icbc_imports;
DROP TYPE icbc_import_status;
