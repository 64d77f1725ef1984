-- id: 0012_outbox_delivery
-- revises: 0011_notifications
-- description: the outbox's two delivery channels (RabbitMQ, e-mail) retried apart; NOTIFY on new events
-- RabbitMQ and e-mail are delivered and retried independently (a mail outage never holds back
-- RabbitMQ, nor the other way round), so each channel has its own attempts and its own next
-- attempt time. A worker claims events by moving that time past a lease (FOR UPDATE SKIP
-- LOCKED, committed at once): no transaction stays open while it talks to the broker or the
-- mail server, and events of a worker that died become claimable again when the lease ends.
-- `next_*_at` is therefore both the retry time and the lease.
-- migrate:up
ALTER TABLE outbox_events RENAME COLUMN attempts TO publish_attempts;
ALTER TABLE outbox_events RENAME COLUMN next_attempt_at TO next_publish_at;
ALTER TABLE outbox_events
  ADD COLUMN mail_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN next_mail_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN publish_error varchar(500),
  ADD COLUMN mail_error varchar(500),
  ADD CONSTRAINT outbox_events_attempts_nonnegative
    CHECK (publish_attempts >= 0 AND mail_attempts >= 0);
DROP INDEX outbox_events_pending;
-- What each channel still has to deliver, oldest first (small: delivered rows leave them).
CREATE INDEX outbox_events_publish_pending ON outbox_events (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_events_mail_pending ON outbox_events (seq) WHERE mailed_at IS NULL;
-- Retention pruning finds delivered events by age.
CREATE INDEX outbox_events_published_at ON outbox_events (published_at)
  WHERE published_at IS NOT NULL;

-- The mail channel finds an event's recipients (and their messages) through its notifications.
CREATE INDEX notifications_event ON notifications (event_id);

-- Workers LISTEN on zeva_outbox and wake at once; NOTIFY is delivered only when the writing
-- transaction commits, so a rolled-back change wakes nobody. Once per statement: a change
-- writes one event.
CREATE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('zeva_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();
-- migrate:down
DROP TRIGGER outbox_events_notify ON outbox_events;
DROP FUNCTION outbox_events_notify();
DROP INDEX notifications_event;
DROP INDEX outbox_events_published_at;
DROP INDEX outbox_events_mail_pending;
DROP INDEX outbox_events_publish_pending;
CREATE INDEX outbox_events_pending ON outbox_events (seq)
  WHERE published_at IS NULL OR mailed_at IS NULL;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_attempts_nonnegative,
  DROP COLUMN mail_error, DROP COLUMN publish_error, DROP COLUMN next_mail_at,
  DROP COLUMN mail_attempts;
ALTER TABLE outbox_events RENAME COLUMN next_publish_at TO next_attempt_at;
ALTER TABLE outbox_events RENAME COLUMN publish_attempts TO attempts;
