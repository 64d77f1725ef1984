-- id: 0018_posted_matches_entries
-- revises: 0017_compliance
-- description: the database refuses a commit in which a credit account's posted differs from the sum of its entries
-- credit_accounts.posted is kept by the code, in the transaction that inserts the entries
-- (db/ledger_writes.cc); until now only the audit noticed when it did not. Checked here at
-- commit, like credit_journal_balanced, without summing an account's history: every
-- statement that changes posted or inserts entries adds its change to a per-account balance
-- of what this transaction has not yet explained (statement-level AFTER triggers with
-- transition tables: one small aggregate per statement, not per row), and a deferred
-- constraint trigger refuses the commit while any account's balance is not zero. So a
-- posting costs what it touches (a few rows), never its accounts' entries.
-- The balance lives in a transaction-local setting (zeva.posted_unexplained, jsonb text):
-- no table is written, it ends with the transaction and a rolled-back savepoint rolls it back
-- with its rows. Rejected: letting the database apply the entries to posted (a second update
-- of every account row per posting, beside the code's update of reserved, and a supplier's
-- available would be checked between the two) and summing the entries at commit (a hot
-- account's whole history on every posting). Like every trigger, it binds writers who keep
-- triggers on (session_replication_role = origin); it guards against bugs, not against a
-- superuser. Government entries have no account (its side is derived) and are not counted;
-- a supplier's entry without an account is refused. TRUNCATE of accounts that hold credits
-- is refused. The upgrade checks the existing rows once, as ADD CONSTRAINT would.
-- migrate:up
DO $$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(k.organization_id || ' ' || k.model_year || ' ' || k.credit_class, ', ')
  INTO bad
  FROM (SELECT organization_id, model_year, credit_class, sum(posted) AS total
        FROM (SELECT organization_id, model_year, credit_class, posted::numeric
              FROM credit_accounts
              UNION ALL
              SELECT e.organization_id, e.model_year, e.credit_class, -sum(e.amount)
              FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id
              WHERE o.organization_type = 'VEHICLE_SUPPLIER' GROUP BY 1, 2, 3) c
        GROUP BY 1, 2, 3) k
  WHERE k.total <> 0;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'cannot upgrade to 0018_posted_matches_entries: posted differs from the '
      'sum of the entries of credit accounts %', bad
      USING ERRCODE = 'check_violation', HINT = 'zeva-migrate audit lists them';
  END IF;
END $$;

-- Adds `changes` (hundredths by account key 'organization year class') to this
-- transaction's unexplained changes of posted; keys whose total is zero are dropped, so a
-- sound transaction ends with '{}'. One statement, its plan cached for the session.
CREATE FUNCTION credit_posted_unexplained_add(changes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF changes IS NULL THEN
    RETURN;
  END IF;
  PERFORM set_config('zeva.posted_unexplained', coalesce(jsonb_object_agg(k, t), '{}')::text,
                     true)
  FROM (SELECT k, sum(v) AS t
        FROM (SELECT key AS k, value::numeric AS v
              FROM jsonb_each_text(coalesce(
                nullif(current_setting('zeva.posted_unexplained', true), ''), '{}')::jsonb)
              UNION ALL
              SELECT key, value::numeric FROM jsonb_each_text(changes)) c
        GROUP BY k HAVING sum(v) <> 0) s;
END $$;

-- Entries explain changes of posted: a supplier's entries count against its account.
CREATE FUNCTION credit_entries_explain_posted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changes jsonb;
BEGIN
  SELECT jsonb_object_agg(k, t) INTO changes
  FROM (SELECT n.organization_id || ' ' || n.model_year || ' ' || n.credit_class AS k,
               -sum(n.amount) AS t
        FROM added n JOIN organizations o ON o.id = n.organization_id
        WHERE o.organization_type = 'VEHICLE_SUPPLIER'
        GROUP BY 1) s;
  PERFORM credit_posted_unexplained_add(changes);
  RETURN NULL;
END $$;
CREATE TRIGGER credit_entries_explain_posted AFTER INSERT ON credit_ledger_entries
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION credit_entries_explain_posted();

-- Every change of posted (an update that changes only reserved adds nothing). The tables
-- a trigger does not have are empty: INSERT has no removed rows, DELETE no added ones.
CREATE FUNCTION credit_accounts_posted_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changes jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT jsonb_object_agg(organization_id || ' ' || model_year || ' ' || credit_class, posted)
    INTO changes FROM added WHERE posted <> 0;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_object_agg(organization_id || ' ' || model_year || ' ' || credit_class,
                            -posted::numeric)
    INTO changes FROM removed WHERE posted <> 0;
  ELSE
    SELECT jsonb_object_agg(k, t) INTO changes
    FROM (SELECT k, sum(t) AS t
          FROM (SELECT organization_id || ' ' || model_year || ' ' || credit_class AS k,
                       posted::numeric AS t FROM added
                UNION ALL
                SELECT organization_id || ' ' || model_year || ' ' || credit_class,
                       -posted::numeric FROM removed) c
          GROUP BY k HAVING sum(t) <> 0) s;
  END IF;
  PERFORM credit_posted_unexplained_add(changes);
  RETURN NULL;
END $$;
CREATE TRIGGER credit_accounts_posted_inserted AFTER INSERT ON credit_accounts
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION credit_accounts_posted_changed();
CREATE TRIGGER credit_accounts_posted_updated AFTER UPDATE ON credit_accounts
  REFERENCING OLD TABLE AS removed NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION credit_accounts_posted_changed();
CREATE TRIGGER credit_accounts_posted_deleted AFTER DELETE ON credit_accounts
  REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION credit_accounts_posted_changed();

-- At commit (constraint triggers are per row: queued only by rows that can change the
-- balance, and each is a lookup of one setting): nothing unexplained may remain.
CREATE FUNCTION credit_posted_explained() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  pending text := current_setting('zeva.posted_unexplained', true);
BEGIN
  IF coalesce(pending, '') NOT IN ('', '{}') THEN
    RAISE EXCEPTION '%', (
      SELECT string_agg('credit account ' || key ||
                        ': posted differs from the sum of its entries by ' || value, '; '
                        ORDER BY key)
      FROM jsonb_each_text(pending::jsonb))
      USING ERRCODE = 'check_violation',
            HINT = 'posted changes only with the entries of the same transaction';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER credit_entries_posted_explained AFTER INSERT ON credit_ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION credit_posted_explained();
CREATE CONSTRAINT TRIGGER credit_accounts_posted_explained_insert AFTER INSERT ON credit_accounts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.posted <> 0)
  EXECUTE FUNCTION credit_posted_explained();
CREATE CONSTRAINT TRIGGER credit_accounts_posted_explained_update AFTER UPDATE ON credit_accounts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.posted <> NEW.posted OR OLD.organization_id <> NEW.organization_id
        OR OLD.model_year <> NEW.model_year OR OLD.credit_class <> NEW.credit_class)
  EXECUTE FUNCTION credit_posted_explained();
CREATE CONSTRAINT TRIGGER credit_accounts_posted_explained_delete AFTER DELETE ON credit_accounts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.posted <> 0)
  EXECUTE FUNCTION credit_posted_explained();

-- TRUNCATE has no rows to count: refused while any account holds posted credits.
CREATE FUNCTION credit_accounts_truncate_empty_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM credit_accounts WHERE posted <> 0) THEN
    RAISE EXCEPTION 'TRUNCATE credit_accounts refused: posted must equal the sum of the entries'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER credit_accounts_truncate_empty_only BEFORE TRUNCATE ON credit_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION credit_accounts_truncate_empty_only();
-- migrate:down
DROP TRIGGER credit_accounts_truncate_empty_only ON credit_accounts;
DROP FUNCTION credit_accounts_truncate_empty_only();
DROP TRIGGER credit_accounts_posted_explained_delete ON credit_accounts;
DROP TRIGGER credit_accounts_posted_explained_update ON credit_accounts;
DROP TRIGGER credit_accounts_posted_explained_insert ON credit_accounts;
DROP TRIGGER credit_entries_posted_explained ON credit_ledger_entries;
DROP FUNCTION credit_posted_explained();
DROP TRIGGER credit_accounts_posted_deleted ON credit_accounts;
DROP TRIGGER credit_accounts_posted_updated ON credit_accounts;
DROP TRIGGER credit_accounts_posted_inserted ON credit_accounts;
DROP FUNCTION credit_accounts_posted_changed();
DROP TRIGGER credit_entries_explain_posted ON credit_ledger_entries;
DROP FUNCTION credit_entries_explain_posted();
DROP FUNCTION credit_posted_unexplained_add(jsonb);
