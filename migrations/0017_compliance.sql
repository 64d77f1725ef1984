-- id: 0017_compliance
-- revises: 0016_credit_applications
-- description: annual compliance: ratios, model year reports, recorded sales, deficits, REDUCTION journals
-- A supplier files a model year report; the director's ASSESS deducts the obligation and the
-- outstanding deficits from its available credits in one transaction (docs/compliance.md):
-- one REDUCTION journal, the supplier's deficits replaced, the year's LDV sales recorded and
-- the outcome stored as posted. Amounts are exact hundredths (bigint) throughout.
-- migrate:up
-- Usable once this migration commits; until then only compared as text (kind::text below).
ALTER TYPE journal_kind ADD VALUE IF NOT EXISTS 'REDUCTION';
CREATE TYPE model_year_report_status AS ENUM (
  'DRAFT', 'SUBMITTED', 'RECOMMENDED', 'ASSESSED', 'DELETED');
CREATE TYPE model_year_report_action AS ENUM (
  'SUBMIT', 'RECOMMEND', 'RETURN_TO_SUPPLIER', 'RETURN_TO_ANALYST', 'ASSESS', 'DELETE');
CREATE TYPE obligation_part AS ENUM ('CLASS_A', 'ANY_CLASS');

-- The contract's ratios (percent x 100), changed only by later migrations.
CREATE TABLE compliance_ratios (
  model_year smallint PRIMARY KEY CHECK (model_year BETWEEN 2019 AND 2035),
  total_basis_points integer NOT NULL CHECK (total_basis_points BETWEEN 0 AND 10000),
  class_a_basis_points integer NOT NULL
    CHECK (class_a_basis_points BETWEEN 0 AND total_basis_points)
);
INSERT INTO compliance_ratios (model_year, total_basis_points, class_a_basis_points) VALUES
  (2019, 0, 0), (2020, 950, 600), (2021, 1200, 800), (2022, 1450, 1000), (2023, 1700, 1200),
  (2024, 1950, 1400), (2025, 2200, 1600), (2026, 2630, 1520), (2027, 4260, 2770),
  (2028, 5890, 4120), (2029, 7480, 5610), (2030, 9100, 6830), (2031, 9320, 6990),
  (2032, 9520, 7140), (2033, 9720, 7290), (2034, 9930, 7450), (2035, 10000, 7500);

CREATE TABLE model_year_reports (
  id bigserial PRIMARY KEY,
  organization_id bigint NOT NULL REFERENCES organizations (id),
  model_year smallint NOT NULL REFERENCES compliance_ratios (model_year),
  status model_year_report_status NOT NULL DEFAULT 'DRAFT',
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  ldv_sales bigint NOT NULL DEFAULT 0 CHECK (ldv_sales BETWEEN 0 AND 1000000000),
  makes text[] NOT NULL DEFAULT '{}' CHECK (cardinality(makes) <= 50),
  any_class_first credit_class,             -- NULL: unspecified (class B first)
  attested boolean NOT NULL DEFAULT false,
  journal_id bigint UNIQUE,                 -- the REDUCTION journal, once ASSESSED with deductions
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (journal_id IS NULL OR status = 'ASSESSED'),
  CHECK (status IN ('DRAFT', 'DELETED') OR attested)
) WITH (fillfactor = 90);
-- One report per supplier and model year (a deleted draft frees its year), and at most one
-- report of a supplier that is neither ASSESSED nor DELETED: backstops of the refusals, which
-- creation takes under a lock of the supplier's organization row.
CREATE UNIQUE INDEX model_year_reports_year ON model_year_reports (organization_id, model_year)
  WHERE status <> 'DELETED';
CREATE UNIQUE INDEX model_year_reports_open ON model_year_reports (organization_id)
  WHERE status NOT IN ('ASSESSED', 'DELETED');

-- The figures the supplier entered for the three preceding model years.
CREATE TABLE model_year_report_previous_sales (
  report_id bigint NOT NULL REFERENCES model_year_reports (id),
  model_year smallint NOT NULL,
  ldv_sales bigint NOT NULL CHECK (ldv_sales BETWEEN 0 AND 1000000000),
  PRIMARY KEY (report_id, model_year)
);

CREATE TABLE model_year_report_history (
  report_id bigint NOT NULL REFERENCES model_year_reports (id),
  seq integer NOT NULL,
  action model_year_report_action,          -- NULL for the creation
  from_status model_year_report_status,     -- NULL for the creation
  to_status model_year_report_status NOT NULL,
  actor varchar NOT NULL,
  actor_organization_id bigint NOT NULL,
  roles varchar NOT NULL DEFAULT '',
  comment text NOT NULL DEFAULT '',
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (report_id, seq)
);

-- The obligation and outcome as ASSESS posted them (one row per assessed report), its
-- deductions in the order applied, and the deficits outstanding after it.
CREATE TABLE model_year_report_assessments (
  report_id bigint PRIMARY KEY REFERENCES model_year_reports (id),
  supplier_size smallint NOT NULL CHECK (supplier_size BETWEEN 1 AND 3),
  size_basis bigint NOT NULL CHECK (size_basis BETWEEN 0 AND 3000000000),
  total_basis_points integer NOT NULL,
  class_a_basis_points integer NOT NULL,
  total bigint NOT NULL CHECK (total >= 0),
  class_a bigint NOT NULL CHECK (class_a BETWEEN 0 AND total),
  any_class bigint NOT NULL CHECK (any_class = total - class_a),
  compliant boolean NOT NULL,
  penalty_cents bigint NOT NULL CHECK (penalty_cents >= 0),
  CHECK (NOT compliant OR penalty_cents = 0)
);
CREATE TABLE model_year_report_deductions (
  report_id bigint NOT NULL REFERENCES model_year_report_assessments (report_id),
  seq integer NOT NULL,
  part obligation_part NOT NULL,
  debit_model_year smallint NOT NULL,
  credit_model_year smallint NOT NULL,
  credit_class credit_class NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (report_id, seq),
  CHECK (part <> 'CLASS_A' OR credit_class = 'A')
);
CREATE TABLE model_year_report_deficits (
  report_id bigint NOT NULL REFERENCES model_year_report_assessments (report_id),
  model_year smallint NOT NULL,
  part obligation_part NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (report_id, model_year, part)
);

-- Each supplier's LDV sales of a model year, recorded by that year's assessed report.
CREATE TABLE compliance_recorded_sales (
  organization_id bigint NOT NULL REFERENCES organizations (id),
  model_year smallint NOT NULL,
  ldv_sales bigint NOT NULL CHECK (ldv_sales BETWEEN 0 AND 1000000000),
  report_id bigint NOT NULL UNIQUE REFERENCES model_year_reports (id),
  PRIMARY KEY (organization_id, model_year)
);

-- Each supplier's outstanding deficits: replaced by every ASSESS.
CREATE TABLE compliance_deficits (
  organization_id bigint NOT NULL REFERENCES organizations (id),
  model_year smallint NOT NULL,
  part obligation_part NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (organization_id, model_year, part)
);

-- A REDUCTION names its report (at most one journal per report), and only a REDUCTION does.
ALTER TABLE credit_journals ADD COLUMN model_year_report_id bigint UNIQUE
  REFERENCES model_year_reports (id),
  ADD CONSTRAINT credit_journals_reduction CHECK (
    (kind::text = 'REDUCTION') = (model_year_report_id IS NOT NULL));
ALTER TABLE model_year_reports ADD CONSTRAINT model_year_reports_journal
  FOREIGN KEY (journal_id) REFERENCES credit_journals (id);

-- Events and notifications name the report they are about; ASSESS's event names its report
-- and its journal.
ALTER TABLE outbox_events ADD COLUMN model_year_report_id bigint,
  DROP CONSTRAINT outbox_events_subject,
  ADD CONSTRAINT outbox_events_subject CHECK (
    num_nonnulls(transfer_id, journal_id, icbc_import_id, application_id,
                 model_year_report_id) = 1
    OR event_type IN ('credits.transfer.recorded', 'credits.application.validated',
                      'credits.model_year_report.assessed'));
ALTER TABLE notifications ADD COLUMN model_year_report_id bigint;
-- migrate:down
-- A REDUCTION journal cannot be represented before this migration (no kind, no report): the
-- downgrade refuses once one exists rather than orphan posted deductions.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM credit_journals WHERE kind::text = 'REDUCTION') THEN
    RAISE EXCEPTION 'cannot downgrade 0017_compliance: REDUCTION journals exist';
  END IF;
END
$$;
ALTER TABLE notifications DROP COLUMN model_year_report_id;
DELETE FROM outbox_events WHERE model_year_report_id IS NOT NULL;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_subject,
  DROP COLUMN model_year_report_id,
  ADD CONSTRAINT outbox_events_subject CHECK (
    num_nonnulls(transfer_id, journal_id, icbc_import_id, application_id) = 1
    OR event_type IN ('credits.transfer.recorded', 'credits.application.validated'));
ALTER TABLE model_year_reports DROP CONSTRAINT model_year_reports_journal;
ALTER TABLE credit_journals DROP CONSTRAINT credit_journals_reduction,
  DROP COLUMN model_year_report_id;
DROP TABLE compliance_deficits;
DROP TABLE compliance_recorded_sales;
DROP TABLE model_year_report_deficits;
DROP TABLE model_year_report_deductions;
DROP TABLE model_year_report_assessments;
DROP TABLE model_year_report_history;
DROP TABLE model_year_report_previous_sales;
DROP TABLE model_year_reports;
DROP TABLE compliance_ratios;
DROP TYPE obligation_part;
DROP TYPE model_year_report_action;
DROP TYPE model_year_report_status;
-- PostgreSQL cannot drop an enum value: journal_kind keeps 'REDUCTION', unused (the upgrade
-- adds it IF NOT EXISTS).
