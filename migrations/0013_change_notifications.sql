-- id: 0013_change_notifications
-- revises: 0012_outbox_delivery
-- description: NOTIFY the organization of every credit account (zeva_balances) and vehicle (zeva_models) that changes
-- Replicas keep balances and model lists in memory (db/fresh_reads.h) and must drop an
-- organization's copy the moment it changes. Triggers, not the application, say so: every
-- writer (the server, a migration, an operator's psql) is covered. NOTIFY is sent only on
-- commit, in commit order, and PostgreSQL folds identical notifications of one transaction
-- into one. TRUNCATE says '*': everything changed.
-- migrate:up
CREATE FUNCTION notify_organization_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify(TG_ARGV[0], '*');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(TG_ARGV[0], OLD.organization_id::text);
  ELSE
    PERFORM pg_notify(TG_ARGV[0], NEW.organization_id::text);
    IF TG_OP = 'UPDATE' AND OLD.organization_id IS DISTINCT FROM NEW.organization_id THEN
      PERFORM pg_notify(TG_ARGV[0], OLD.organization_id::text);
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER credit_accounts_notify AFTER INSERT OR UPDATE OR DELETE ON credit_accounts
  FOR EACH ROW EXECUTE FUNCTION notify_organization_change('zeva_balances');
CREATE TRIGGER credit_accounts_notify_truncate AFTER TRUNCATE ON credit_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION notify_organization_change('zeva_balances');
CREATE TRIGGER vehicles_notify AFTER INSERT OR UPDATE OR DELETE ON vehicles
  FOR EACH ROW EXECUTE FUNCTION notify_organization_change('zeva_models');
CREATE TRIGGER vehicles_notify_truncate AFTER TRUNCATE ON vehicles
  FOR EACH STATEMENT EXECUTE FUNCTION notify_organization_change('zeva_models');
-- migrate:down
DROP TRIGGER vehicles_notify_truncate ON vehicles;
DROP TRIGGER vehicles_notify ON vehicles;
DROP TRIGGER credit_accounts_notify_truncate ON credit_accounts;
DROP TRIGGER credit_accounts_notify ON credit_accounts;
DROP FUNCTION notify_organization_change();
