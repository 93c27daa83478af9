-- GDPR: erasure on request (a person, or the social worker acting for an assisted
-- resident) and the retention of support records (moderation/gdpr*.py).

-- One row per erasure: the proof that it happened (an id, who asked, when; no personal
-- data) and the Redis part still to do. PostgreSQL is erased in one transaction; Redis
-- is cleaned after the commit, and if Redis is down the keys stay listed here until the
-- worker's sweep deletes them. The keys are HMAC pseudonyms (accounts/tokens.py), never
-- an e-mail address.
CREATE TABLE erasures (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        bigint NOT NULL UNIQUE REFERENCES users (id),
    -- The person themselves, or the social worker who acted for them.
    requested_by   bigint NOT NULL REFERENCES users (id),
    erased_at      timestamptz NOT NULL DEFAULT now(),
    redis_keys     text[] NOT NULL DEFAULT '{}',
    redis_done_at  timestamptz
);
CREATE INDEX erasures_redis_pending ON erasures (id) WHERE redis_done_at IS NULL;

-- match_history stays append-only, with one exception: the free-text reason of a row
-- (a social worker's review note, a cancellation message) may be blanked, because the
-- person it concerns was erased or two years passed since the last contact. Who, when,
-- from and to never change, and rows are still never deleted.
CREATE OR REPLACE FUNCTION match_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.reason IS NULL
       AND NEW.id = OLD.id AND NEW.match_id = OLD.match_id
       AND NEW.from_status IS NOT DISTINCT FROM OLD.from_status
       AND NEW.to_status = OLD.to_status
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.at = OLD.at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'match_history is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

-- Support records (follow-up outcomes, consent notes, report texts, review and
-- cancellation reasons) are anonymised two years after the last contact with the
-- people they concern. A contact is something the person did, or help that took place:
-- their account's creation, a log-in, a post, an answer to a proposition, a confirmed or
-- closed match of theirs, a consent, a social worker reaching them, a check-in, a report
-- or feedback they gave, a change to their volunteer profile. (posts.updated_at is not
-- one: the system bumps it on every status change, expiry included.)
CREATE FUNCTION last_contact_at(person bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT greatest(
        (SELECT created_at FROM users WHERE id = person),
        (SELECT max(created_at) FROM sessions WHERE user_id = person),
        (SELECT max(greatest(created_at, published_at)) FROM posts WHERE author_id = person),
        (SELECT max(greatest(responded_at, CASE WHEN closed_by = person THEN closed_at END))
         FROM matches WHERE volunteer_id = person),
        (SELECT max(greatest(m.confirmed_at, m.closed_at))
         FROM matches m JOIN posts p ON p.id = m.post_id WHERE p.author_id = person),
        (SELECT max(contacted_at) FROM followups WHERE person_id = person),
        (SELECT max(greatest(recorded_at, withdrawn_at)) FROM consents WHERE resident_id = person),
        (SELECT max(created_at) FROM checkins WHERE author_id = person),
        (SELECT max(created_at) FROM reports WHERE reporter_id = person),
        (SELECT max(created_at) FROM feedback WHERE author_id = person),
        (SELECT updated_at FROM volunteers WHERE user_id = person)
    )
$$;
