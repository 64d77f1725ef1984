-- id: 0009_credit_ledger
-- revises: 0008_vehicles_identity_key
-- description: user roles and e-mail; the credit ledger: accounts, journals, entries; idempotency records
-- Amounts are exact hundredths of a credit in bigint, never floating point. The rules the
-- service enforces are also constraints and triggers here, so that a bug in the code cannot
-- break them: a supplier's available (posted - reserved) is never negative, every journal sums
-- to zero, and ledger rows are never updated or deleted (a trigger, so that it also binds the
-- tables' owner, which the service may well connect as).
-- migrate:up
CREATE TYPE user_role AS ENUM ('SIGNING_AUTHORITY', 'ZEVA_USER', 'ENGINEER_ANALYST', 'DIRECTOR');
CREATE TABLE user_roles (
  username varchar NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  role user_role NOT NULL,
  PRIMARY KEY (username, role)
);
ALTER TABLE users ADD COLUMN email varchar(254);

CREATE TYPE credit_class AS ENUM ('A', 'B');
CREATE TYPE journal_kind AS ENUM ('ISSUANCE', 'TRANSFER', 'ADJUSTMENT', 'REVERSAL');

-- One row per vehicle supplier, model year and class: the posted balance (kept in step with
-- the entries, in the same transaction) and what outgoing transfers hold. The government's
-- side is derived (minus the suppliers' total), so issuance has no single hot row. Updated in
-- place on every posting: fillfactor leaves room for HOT updates (no indexed column changes)
-- and autovacuum runs early, so reads right after a burst do not wade through dead versions.
CREATE TABLE credit_accounts (
  organization_id bigint NOT NULL REFERENCES organizations (id),
  model_year smallint NOT NULL CHECK (model_year BETWEEN 2000 AND 2200),
  credit_class credit_class NOT NULL,
  posted bigint NOT NULL DEFAULT 0,
  reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  CONSTRAINT credit_accounts_available_not_negative CHECK (posted - reserved >= 0),
  PRIMARY KEY (organization_id, model_year, credit_class)
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_vacuum_threshold = 200, autovacuum_analyze_scale_factor = 0.05);

CREATE FUNCTION credit_accounts_suppliers_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT organization_type FROM organizations WHERE id = NEW.organization_id)
     IS DISTINCT FROM 'VEHICLE_SUPPLIER' THEN
    RAISE EXCEPTION 'credit accounts belong to vehicle suppliers only (organization %)',
      NEW.organization_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER credit_accounts_suppliers_only BEFORE INSERT ON credit_accounts
  FOR EACH ROW EXECUTE FUNCTION credit_accounts_suppliers_only();

CREATE TABLE credit_journals (
  id bigserial PRIMARY KEY,
  kind journal_kind NOT NULL,
  reference varchar(200) NOT NULL DEFAULT '',
  posted_by varchar NOT NULL,
  posted_at timestamptz NOT NULL DEFAULT now(),
  reason text NOT NULL DEFAULT '',
  -- ISSUANCE: the supplier it was issued to (its reference is unique per supplier, for ever).
  issued_to bigint REFERENCES organizations (id),
  -- REVERSAL: the journal it reverses; UNIQUE: at most one reversal per journal.
  reverses_journal_id bigint UNIQUE REFERENCES credit_journals (id),
  CHECK ((kind = 'REVERSAL') = (reverses_journal_id IS NOT NULL)),
  CHECK ((kind = 'ISSUANCE') = (issued_to IS NOT NULL)),
  CHECK (kind <> 'ISSUANCE' OR reference <> ''),
  CHECK (kind NOT IN ('ADJUSTMENT', 'REVERSAL') OR reason <> '')
);
CREATE UNIQUE INDEX credit_journals_issuance_reference
  ON credit_journals (issued_to, reference) WHERE kind = 'ISSUANCE';

CREATE TABLE credit_ledger_entries (
  id bigserial PRIMARY KEY,
  journal_id bigint NOT NULL REFERENCES credit_journals (id),
  organization_id bigint NOT NULL REFERENCES organizations (id),
  model_year smallint NOT NULL,
  credit_class credit_class NOT NULL,
  amount bigint NOT NULL CHECK (amount <> 0),
  UNIQUE (journal_id, organization_id, model_year, credit_class)
);
-- An organization's entries by id: ListLedgerEntries pages through this index.
CREATE INDEX credit_ledger_entries_organization ON credit_ledger_entries (organization_id, id);

-- Double entry, checked at commit: every journal touched by the transaction sums to zero.
CREATE FUNCTION credit_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT coalesce(sum(amount), 0) FROM credit_ledger_entries
      WHERE journal_id = NEW.journal_id) <> 0 THEN
    RAISE EXCEPTION 'journal % does not sum to zero', NEW.journal_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER credit_journal_balanced AFTER INSERT ON credit_ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION credit_journal_balanced();

-- The ledger is append-only: corrections are REVERSAL journals.
CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER credit_journals_append_only BEFORE UPDATE OR DELETE ON credit_journals
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_journals_no_truncate BEFORE TRUNCATE ON credit_journals
  FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_ledger_entries_append_only BEFORE UPDATE OR DELETE ON credit_ledger_entries
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_ledger_entries_no_truncate BEFORE TRUNCATE ON credit_ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_append_only();

-- A mutating request's key, per user, written in the same transaction as its change: a
-- replay finds the result, a crash leaves neither. `result_id` names what the request made
-- (a journal id here; transfers use it too).
CREATE TABLE idempotency_records (
  username varchar NOT NULL,
  idempotency_key varchar(128) NOT NULL,
  method varchar(100) NOT NULL,
  request_sha256 bytea NOT NULL,
  result_id bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (username, idempotency_key)
);
-- migrate:fixtures-up
INSERT INTO users (username, organization_id)
SELECT 'test_vs_3', id FROM organizations WHERE name = 'Test Vehicle Supplier 3';
INSERT INTO users (username, organization_id)
SELECT 'test_vs_1_user', id FROM organizations WHERE name = 'Test Vehicle Supplier 1';
INSERT INTO users (username, organization_id)
SELECT 'test_gov_director', id FROM organizations WHERE name = 'Government of British Columbia';
UPDATE users SET email = username || '@example.test'
WHERE username IN ('test_vs_1', 'test_vs_2', 'test_vs_3', 'test_vs_1_user', 'test_gov_1',
                   'test_gov_director');
INSERT INTO user_roles (username, role)
VALUES ('test_vs_1', 'SIGNING_AUTHORITY'), ('test_vs_1', 'ZEVA_USER'),
       ('test_vs_2', 'SIGNING_AUTHORITY'), ('test_vs_2', 'ZEVA_USER'),
       ('test_vs_3', 'SIGNING_AUTHORITY'), ('test_vs_3', 'ZEVA_USER'),
       ('test_vs_1_user', 'ZEVA_USER'),
       ('test_gov_1', 'ENGINEER_ANALYST'),
       ('test_gov_director', 'DIRECTOR');
-- migrate:fixtures-down
DELETE FROM user_roles
WHERE username IN ('test_vs_1', 'test_vs_2', 'test_vs_3', 'test_vs_1_user', 'test_gov_1',
                   'test_gov_director');
UPDATE users SET email = NULL
WHERE username IN ('test_vs_1', 'test_vs_2', 'test_gov_1');
DELETE FROM users WHERE username IN ('test_vs_3', 'test_vs_1_user', 'test_gov_director');
-- migrate:down
DROP TABLE idempotency_records;
DROP TABLE credit_ledger_entries;
DROP FUNCTION credit_journal_balanced();
DROP TABLE credit_journals;
DROP FUNCTION credit_ledger_append_only();
DROP TABLE credit_accounts;
DROP FUNCTION credit_accounts_suppliers_only();
DROP TYPE journal_kind;
DROP TYPE credit_class;
ALTER TABLE users DROP COLUMN email;
DROP TABLE user_roles;
DROP TYPE user_role;
