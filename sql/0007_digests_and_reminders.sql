-- Daily digests and reminders.

-- A delivery that waited for the digest ('digest') becomes 'digested' when the daily
-- digest event that carries it is written; digest_id names that event, so the digest
-- message lists exactly the deliveries it took, however many times it is sent.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'digest', 'digested', 'sent', 'dead', 'cancelled'));
ALTER TABLE deliveries ADD COLUMN digest_id bigint REFERENCES outbox (id) ON DELETE SET NULL;
ALTER TABLE deliveries ADD CHECK ((status = 'digested') = (digest_id IS NOT NULL));
CREATE INDEX deliveries_waiting_digest ON deliveries (user_id) WHERE status = 'digest';
CREATE INDEX deliveries_by_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL;

-- A proposition still unanswered half-way to its deadline is recalled to the volunteer
-- once; reminded_at makes the reminder happen once whatever the number of sweeps.
ALTER TABLE matches ADD COLUMN reminded_at timestamptz;
CREATE INDEX matches_to_remind ON matches (deadline_at)
    WHERE status = 'proposed' AND reminded_at IS NULL;

-- When the person's last digest was gathered: one digest a day, after quiet hours.
ALTER TABLE notification_preferences ADD COLUMN last_digest_at timestamptz;
