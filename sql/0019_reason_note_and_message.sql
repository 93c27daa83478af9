-- A staff decision's reason in two parts (issue 14): an internal note, kept for the
-- centres and never sent to anyone, and an optional message to the person.
--
-- The *_reason columns keep what people read: e-mails and SMS (notify/senders.py),
-- the author's view of their refused post, the match history. A staff decision writes
-- its message there (NULL when none: the notifications then say it in neutral words),
-- and its note in the new *_note columns, which no notification and no participant's
-- view reads. A participant's own reason (a volunteer who cancels) is a message.
ALTER TABLE matches
    ADD COLUMN review_note text CHECK (length(review_note) <= 1000),
    ADD COLUMN close_note  text CHECK (length(close_note) <= 1000);
ALTER TABLE posts
    ADD COLUMN review_note text CHECK (length(review_note) <= 1000);

-- A cancellation and a review still always carry a reason: the note, the message, or
-- both (the note alone when staff send no message).
ALTER TABLE matches DROP CONSTRAINT matches_check;
ALTER TABLE matches DROP CONSTRAINT matches_check1;
ALTER TABLE matches ADD CONSTRAINT matches_cancel_has_reason CHECK (
    status <> 'cancelled'
    OR (closed_by IS NOT NULL AND (close_reason IS NOT NULL OR close_note IS NOT NULL)));
ALTER TABLE matches ADD CONSTRAINT matches_review_has_reason CHECK (
    status NOT IN ('approved', 'rejected')
    OR (reviewed_by IS NOT NULL AND (review_reason IS NOT NULL OR review_note IS NOT NULL)));

-- Blocking says nothing of who wrote what (issue 14): each block a person makes is an
-- entry of their list, also when it names someone they had blocked already through
-- another post or match (one entry per person would let anyone walking post ids group
-- the posts by author, by counting their list). The pair in blocks is what matching
-- reads; it goes with its last entry.
CREATE TABLE block_entries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    blocker_id  bigint NOT NULL,
    blocked_id  bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (blocker_id, blocked_id) REFERENCES blocks (blocker_id, blocked_id)
        ON DELETE CASCADE
);
CREATE INDEX block_entries_pair ON block_entries (blocker_id, blocked_id);
INSERT INTO block_entries (blocker_id, blocked_id, created_at)
SELECT blocker_id, blocked_id, created_at FROM blocks ORDER BY created_at;
