-- Conversations between the two sides of a match (issue 15).
--
-- One conversation per match, named by the match's id: it opens when the match is
-- confirmed (after the social worker's approval when sensitive), stays writable until
-- 30 days after the match ends (completed or cancelled), then is read-only; a block
-- between the two sides closes it at once. Its texts are erased by the retention of
-- support records (moderation/gdpr.py).
--
-- The two sides are named, not their accounts: 'requester' is the request's author
-- (or a social worker writing for them when they are an assisted resident), and
-- 'volunteer' the match's volunteer.

CREATE TABLE conversation_messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    match_id    bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    side        text NOT NULL CHECK (side IN ('requester', 'volunteer')),
    -- Who typed it: the side's person, or a social worker acting for an assisted
    -- resident (on_behalf). NULL once that account is erased.
    author_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    on_behalf   boolean NOT NULL DEFAULT false,
    -- NULL once erased (retention, or the author's erasure).
    body        text CHECK (length(body) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    CHECK ((body IS NULL) = (erased_at IS NOT NULL))
);
CREATE INDEX conversation_messages_match ON conversation_messages (match_id, id);
CREATE INDEX conversation_messages_author ON conversation_messages (author_id);
CREATE INDEX conversation_messages_unerased ON conversation_messages (created_at)
    WHERE body IS NOT NULL;

-- How far each side has read (for unread counts, and so that a side is told of new
-- messages once per unread stretch, not once per message).
CREATE TABLE conversation_reads (
    match_id      bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    side          text NOT NULL CHECK (side IN ('requester', 'volunteer')),
    last_read_id  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (match_id, side)
);

-- Contacts are a choice: what each side chose to show the other in the conversation.
CREATE TABLE contact_shares (
    match_id    bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    side        text NOT NULL CHECK (side IN ('requester', 'volunteer')),
    phone       boolean NOT NULL DEFAULT false,
    email       boolean NOT NULL DEFAULT false,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (match_id, side)
);

-- A report may name one message: the covering centres then read that conversation,
-- through that report only.
ALTER TABLE reports
    ADD COLUMN match_id   bigint REFERENCES matches (id) ON DELETE SET NULL,
    ADD COLUMN message_id bigint REFERENCES conversation_messages (id) ON DELETE SET NULL;
CREATE INDEX reports_match ON reports (match_id) WHERE match_id IS NOT NULL;

-- Whether two people blocked each other, either way: the conversation closes, and what
-- the match revealed (contacts, the exact address) is hidden again.
CREATE FUNCTION blocked_between(a bigint, b bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM blocks
                   WHERE (blocker_id = a AND blocked_id = b)
                      OR (blocker_id = b AND blocked_id = a))
$$;

-- How long after a match ends its conversation stays writable, and its contacts and
-- exact address stay on both sides' pages. conversations/rules.py says the same.
CREATE FUNCTION match_still_shown(closed_at timestamptz, at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT closed_at IS NULL OR closed_at > at - interval '30 days'
$$;
