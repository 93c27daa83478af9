-- Probing the matcher: an account that publishes posts and withdraws them at once,
-- again and again, learns who is proposed what around a place. Quotas in Redis slow
-- it down (accounts/quotas.py); a burst of such short-lived posts also puts the account
-- on the covering centre's follow-up list (posts/short_lived.py), counted here from the
-- posts themselves so that it works whatever Redis does.

-- Who withdrew a post and when: the author, or the social worker acting for them — the
-- burst is the acting account's, as the quotas are.
ALTER TABLE posts
    ADD COLUMN withdrawn_at timestamptz,
    ADD COLUMN withdrawn_by bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX posts_withdrawn_by ON posts (withdrawn_by, withdrawn_at)
    WHERE withdrawn_by IS NOT NULL;

ALTER TABLE followups DROP CONSTRAINT followups_reason_check;
ALTER TABLE followups ADD CONSTRAINT followups_reason_check
    CHECK (reason IN ('no_response', 'isolated', 'missed_checkin', 'short_lived_posts'));
-- The item is about an account (the post that completed the burst is kept for context).
ALTER TABLE followups
    ADD CONSTRAINT followups_short_lived_person
        CHECK (reason <> 'short_lived_posts' OR person_id IS NOT NULL);
-- At most one item per account, centre and (Paris) day, even when two withdrawals of
-- the same account commit at once; the post is left out so that further posts of the
-- same day add nothing.
CREATE UNIQUE INDEX followups_short_lived_once ON followups (
    person_id, COALESCE(centre_id, 0), period) WHERE reason = 'short_lived_posts';
