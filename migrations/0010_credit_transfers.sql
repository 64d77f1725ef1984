-- id: 0010_credit_transfers
-- revises: 0009_credit_ledger
-- description: credit transfers between suppliers: the transfer, its lines and its history
-- The workflow lives in the server (domain/transfer_workflow.cc); the tables keep what must
-- hold whatever the code does: a RECORDED transfer has exactly one journal and a journal
-- belongs to at most one transfer, lines are positive and one per model year and class, and
-- the history is append-only.
-- migrate:up
CREATE TYPE transfer_status AS ENUM (
  'DRAFT', 'SUBMITTED', 'ACCEPTED', 'DECLINED', 'RECOMMENDED_APPROVAL', 'RECOMMENDED_REJECTION',
  'RECORDED', 'REJECTED', 'RESCINDED', 'DELETED');
CREATE TYPE transfer_action AS ENUM (
  'SUBMIT', 'ACCEPT', 'DECLINE', 'RECOMMEND_APPROVAL', 'RECOMMEND_REJECTION',
  'RETURN_TO_ANALYST', 'RECORD', 'REJECT', 'RESCIND', 'DELETE');

-- Updated on every step (status, version): room for HOT updates, no indexed column changes.
CREATE TABLE credit_transfers (
  id bigserial PRIMARY KEY,
  from_organization_id bigint NOT NULL REFERENCES organizations (id),
  to_organization_id bigint NOT NULL REFERENCES organizations (id),
  status transfer_status NOT NULL DEFAULT 'DRAFT',
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  journal_id bigint UNIQUE REFERENCES credit_journals (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (from_organization_id <> to_organization_id),
  CONSTRAINT credit_transfers_recorded_has_journal
    CHECK ((status = 'RECORDED') = (journal_id IS NOT NULL))
) WITH (fillfactor = 80);
CREATE INDEX credit_transfers_from ON credit_transfers (from_organization_id, id);
CREATE INDEX credit_transfers_to ON credit_transfers (to_organization_id, id);

CREATE TABLE credit_transfer_lines (
  transfer_id bigint NOT NULL REFERENCES credit_transfers (id),
  line_no smallint NOT NULL,
  model_year smallint NOT NULL,
  credit_class credit_class NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  price_per_credit_cents bigint NOT NULL CHECK (price_per_credit_cents >= 0),
  PRIMARY KEY (transfer_id, line_no),
  UNIQUE (transfer_id, model_year, credit_class)
);

-- One row per step: seq 1 is the creation (no action, no from status).
CREATE TABLE credit_transfer_history (
  transfer_id bigint NOT NULL REFERENCES credit_transfers (id),
  seq integer NOT NULL CHECK (seq >= 1),
  action transfer_action,
  from_status transfer_status,
  to_status transfer_status NOT NULL,
  actor varchar NOT NULL,
  actor_organization_id bigint NOT NULL REFERENCES organizations (id),
  roles varchar NOT NULL DEFAULT '',
  comment text NOT NULL DEFAULT '' CHECK (char_length(comment) <= 2000),
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (transfer_id, seq),
  CHECK ((seq = 1) = (action IS NULL))
);
CREATE TRIGGER credit_transfer_history_append_only BEFORE UPDATE OR DELETE
  ON credit_transfer_history FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
-- migrate:down
DROP TABLE credit_transfer_history;
DROP TABLE credit_transfer_lines;
DROP TABLE credit_transfers;
DROP TYPE transfer_action;
DROP TYPE transfer_status;
