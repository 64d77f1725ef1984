-- id: 0011_notifications
-- revises: 0010_credit_transfers
-- description: the transactional outbox and users' notifications
-- Written in the same transaction as every committed change of credits: one outbox event and
-- the notification rows of its recipients. A rolled-back change leaves neither. The worker
-- (zeva-worker) delivers the outbox at least once; `id` is the message_id consumers
-- deduplicate by. Notifications do not reference the outbox, so delivered events can be
-- pruned while users keep their notifications.
-- migrate:up
CREATE TABLE outbox_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  event_type varchar(100) NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor varchar NOT NULL,
  transfer_id bigint,
  journal_id bigint,
  organization_ids bigint[] NOT NULL,
  recipients varchar[] NOT NULL,
  published_at timestamptz,
  mailed_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((transfer_id IS NULL) <> (journal_id IS NULL) OR event_type = 'credits.transfer.recorded')
);
-- What the worker still has to deliver, oldest first.
CREATE INDEX outbox_events_pending ON outbox_events (seq)
  WHERE published_at IS NULL OR mailed_at IS NULL;

CREATE TABLE notifications (
  id bigserial PRIMARY KEY,
  username varchar NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  event_id uuid NOT NULL,
  event_type varchar(100) NOT NULL,
  message text NOT NULL,
  transfer_id bigint,
  journal_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz
);
CREATE INDEX notifications_user ON notifications (username, id);
CREATE INDEX notifications_unread ON notifications (username, id) WHERE read_at IS NULL;
-- migrate:down
DROP TABLE notifications;
DROP TABLE outbox_events;
