-- Notifications: the relay wakes on NOTIFY, deliveries are unique per
-- (event, recipient, channel), the in-app inbox, preferences, partner webhooks.

-- The relay is woken as soon as an event commits; a periodic sweep catches anything a
-- lost NOTIFY or a Redis outage left behind (dispatched_at still NULL), and events
-- handed to a job that never finished (processed_at still NULL).
ALTER TABLE outbox ADD COLUMN processed_at timestamptz;
CREATE INDEX outbox_unprocessed ON outbox (id) WHERE processed_at IS NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('voisins_outbox', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_notify();

-- What each person wants: channels per kind of event, quiet hours (Europe/Paris),
-- a daily digest instead of immediate messages, a daily cap.
CREATE TABLE notification_preferences (
    user_id              bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- {"match.proposed": ["inapp", "email"], ...}; kinds absent use the defaults.
    channels             jsonb NOT NULL DEFAULT '{}',
    quiet_start          time NOT NULL DEFAULT '21:00',
    quiet_end            time NOT NULL DEFAULT '08:00',
    urgent_breaks_quiet  boolean NOT NULL DEFAULT false,
    digest               boolean NOT NULL DEFAULT false,
    daily_cap            smallint NOT NULL DEFAULT 20 CHECK (daily_cap BETWEEN 1 AND 200),
    email_unsubscribed   boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    user_id          bigint REFERENCES users (id) ON DELETE CASCADE,
    webhook_id       bigint,
    channel          text NOT NULL CHECK (channel IN ('inapp', 'email', 'sms', 'webhook')),
    kind             text NOT NULL,
    urgent           boolean NOT NULL DEFAULT false,
    -- pending: to send at not_before; sending: claimed by a job (a job killed mid-send
    -- leaves it here; the sweep returns it to pending); digest: waits for the daily digest;
    -- sent; dead:
    -- permanent failure or too many attempts (an admin may re-drive it); cancelled:
    -- the recipient was suspended or left.
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'digest', 'sent', 'dead',
                                       'cancelled')),
    attempts         smallint NOT NULL DEFAULT 0,
    claimed_at       timestamptz,
    not_before       timestamptz NOT NULL DEFAULT now(),
    last_error       text CHECK (length(last_error) <= 200),
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CHECK ((user_id IS NULL) <> (webhook_id IS NULL))
);
-- A job that runs twice delivers once.
CREATE UNIQUE INDEX deliveries_once ON deliveries (event_id, COALESCE(user_id, 0), COALESCE(webhook_id, 0), channel);
CREATE INDEX deliveries_due ON deliveries (not_before) WHERE status = 'pending';
CREATE INDEX deliveries_user_day ON deliveries (user_id, sent_at) WHERE status = 'sent';
CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead';

-- The in-app inbox.
CREATE TABLE notifications (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id    bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    link        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
CREATE INDEX notifications_user ON notifications (user_id, id DESC);

-- Partner associations receive signed webhooks for the events of a centre.
CREATE TABLE webhooks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    centre_id   bigint NOT NULL REFERENCES centres (id) ON DELETE CASCADE,
    url         text NOT NULL CHECK (url ~ '^https?://'),
    secret      text NOT NULL CHECK (length(secret) >= 16),
    topics      text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_webhook_fk
    FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE;

-- Suspended or erased people get nothing more: their pending deliveries are cancelled.
CREATE FUNCTION users_cancel_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'active' AND OLD.status = 'active' THEN
        UPDATE deliveries SET status = 'cancelled'
        WHERE user_id = NEW.id AND status IN ('pending', 'digest');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_cancel_deliveries AFTER UPDATE OF status ON users
    FOR EACH ROW EXECUTE FUNCTION users_cancel_deliveries();
