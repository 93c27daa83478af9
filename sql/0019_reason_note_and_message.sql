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
