-- id: 0016_credit_applications
-- revises: 0015_icbc_imports
-- description: credit applications: applications, lines fixed at SUBMIT, sales records, history, awarded VINs
-- A supplier files its ZEV sales (one VIN a record); CHECK computes every record's warnings in
-- one set-based UPDATE against icbc_registrations, awarded_vins and the other applications
-- (docs/applications.md). VALIDATE posts one ISSUANCE journal and inserts every included VIN
-- into awarded_vins in the same transaction: the VIN is its primary key and the table is
-- append-only, so the database itself makes a second award of a VIN impossible.
-- migrate:up
CREATE TYPE application_status AS ENUM (
  'DRAFT', 'SUBMITTED', 'CHECKED', 'RECOMMENDED_APPROVAL', 'RECOMMENDED_REJECTION',
  'VALIDATED', 'REJECTED', 'DELETED');
CREATE TYPE application_action AS ENUM (
  'SUBMIT', 'CHECK', 'RECOMMEND_APPROVAL', 'RECOMMEND_REJECTION', 'RETURN_TO_ANALYST',
  'VALIDATE', 'REJECT', 'RETURN_TO_SUPPLIER', 'DELETE');

CREATE TABLE credit_applications (
  id bigserial PRIMARY KEY,
  organization_id bigint NOT NULL REFERENCES organizations (id),
  status application_status NOT NULL DEFAULT 'DRAFT',
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  record_count integer NOT NULL DEFAULT 0 CHECK (record_count BETWEEN 0 AND 100000),
  journal_id bigint UNIQUE,                 -- once VALIDATED with credits
  checked_at timestamptz,                   -- the last CHECK (NULL: none since SUBMIT)
  checked_against_import_id bigint REFERENCES icbc_imports (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (journal_id IS NULL OR status = 'VALIDATED')
) WITH (fillfactor = 90);
CREATE INDEX credit_applications_organization ON credit_applications (organization_id, id);

-- One line per (vehicle, model year) with records, written at SUBMIT: the class and the value
-- per vehicle that the application earns, whatever happens to the vehicle model later.
-- credit_class NULL: the vehicle fell into class C under the rule at SUBMIT (earns nothing).
CREATE TABLE credit_application_lines (
  application_id bigint NOT NULL REFERENCES credit_applications (id),
  vehicle_id bigint NOT NULL REFERENCES vehicles (id),
  model_year smallint NOT NULL,
  credit_class credit_class,
  credit_value bigint NOT NULL CHECK (credit_value >= 0),   -- hundredths
  PRIMARY KEY (application_id, vehicle_id, model_year),
  CHECK ((credit_class IS NULL) = (credit_value = 0))
);

CREATE TABLE credit_application_records (
  id bigserial PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES credit_applications (id),
  vin varchar(17) NOT NULL,
  vehicle_id bigint NOT NULL REFERENCES vehicles (id),
  model_year smallint NOT NULL,
  sale_date date NOT NULL,
  check_digit_ok boolean NOT NULL,          -- computed at insert (domain/vin)
  warnings smallint[] NOT NULL DEFAULT '{}',   -- RecordWarning numbers, ascending
  included boolean NOT NULL DEFAULT false,
  decision_reason text NOT NULL DEFAULT '',
  icbc_make text NOT NULL DEFAULT '',
  icbc_model text NOT NULL DEFAULT '',
  icbc_model_year integer NOT NULL DEFAULT 0,
  UNIQUE (application_id, vin)
) WITH (fillfactor = 90);
-- CHECK's VIN_IN_OTHER_APPLICATION and the lines: by VIN, and by (application, vehicle, year).
CREATE INDEX credit_application_records_vin ON credit_application_records (vin);
CREATE INDEX credit_application_records_line
  ON credit_application_records (application_id, vehicle_id, model_year);

CREATE TABLE credit_application_history (
  application_id bigint NOT NULL REFERENCES credit_applications (id),
  seq integer NOT NULL,
  action application_action,                -- NULL for the creation
  from_status application_status,           -- NULL for the creation
  to_status application_status NOT NULL,
  actor varchar NOT NULL,
  actor_organization_id bigint NOT NULL,
  roles varchar NOT NULL DEFAULT '',
  comment text NOT NULL DEFAULT '',
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (application_id, seq)
);

-- Every VIN that earned credits, for good: one row per VIN ever.
CREATE TABLE awarded_vins (
  vin varchar(17) PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES credit_applications (id),
  awarded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX awarded_vins_application ON awarded_vins (application_id);
CREATE TRIGGER awarded_vins_append_only BEFORE UPDATE OR DELETE ON awarded_vins
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER awarded_vins_no_truncate BEFORE TRUNCATE ON awarded_vins
  FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_append_only();

-- An ISSUANCE from an application names it (at most one journal per application).
ALTER TABLE credit_journals ADD COLUMN application_id bigint UNIQUE
  REFERENCES credit_applications (id);
ALTER TABLE credit_applications ADD CONSTRAINT credit_applications_journal
  FOREIGN KEY (journal_id) REFERENCES credit_journals (id);

-- Events and notifications name the application they are about; VALIDATE's event names its
-- application and its journal.
ALTER TABLE outbox_events ADD COLUMN application_id bigint,
  DROP CONSTRAINT outbox_events_subject,
  ADD CONSTRAINT outbox_events_subject CHECK (
    num_nonnulls(transfer_id, journal_id, icbc_import_id, application_id) = 1
    OR event_type IN ('credits.transfer.recorded', 'credits.application.validated'));
ALTER TABLE notifications ADD COLUMN application_id bigint;
-- migrate:down
ALTER TABLE notifications DROP COLUMN application_id;
DELETE FROM outbox_events WHERE application_id IS NOT NULL;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_subject,
  DROP COLUMN application_id,
  ADD CONSTRAINT outbox_events_subject CHECK (
    num_nonnulls(transfer_id, journal_id, icbc_import_id) = 1
    OR event_type = 'credits.transfer.recorded');
ALTER TABLE credit_applications DROP CONSTRAINT credit_applications_journal;
ALTER TABLE credit_journals DROP COLUMN application_id;
DROP TABLE awarded_vins;
DROP TABLE credit_application_history;
DROP TABLE credit_application_records;
DROP TABLE credit_application_lines;
DROP TABLE credit_applications;
DROP TYPE application_action;
DROP TYPE application_status;
