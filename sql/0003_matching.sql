-- Matching: candidate search on exact points, the match life cycle enforced here,
-- append-only history, blocks, feedback and the follow-up list.

-- Exact points as geography, for index-ordered nearest-neighbour search (<->) and
-- metre distances that hold in metropolitan and overseas France alike (Lambert-93 is
-- undefined overseas). bench/match.py measured it against geometry(Point, 2154); see
-- docs in src/voisins/matching/candidates.py. Private: never selected for display.
ALTER TABLE volunteers
    ADD COLUMN geog geography(Point, 4326) GENERATED ALWAYS AS (CAST(point AS geography)) STORED,
    -- Denormalised by the matches trigger below so the nearest-neighbour walk can filter
    -- on plain columns.
    ADD COLUMN active_matches smallint NOT NULL DEFAULT 0 CHECK (active_matches >= 0),
    ADD COLUMN last_proposed_at timestamptz,
    ADD COLUMN last_matched_at timestamptz,
    ADD COLUMN completed_count integer NOT NULL DEFAULT 0,
    ADD COLUMN no_show_count integer NOT NULL DEFAULT 0;
CREATE INDEX volunteers_geog ON volunteers USING gist (geog);

ALTER TABLE posts
    ADD COLUMN geog geography(Point, 4326) GENERATED ALWAYS AS (CAST(point AS geography)) STORED,
    -- Escalation state of a request: which batch, how wide, until when.
    ADD COLUMN match_batch smallint NOT NULL DEFAULT 0,
    ADD COLUMN match_radius_m integer,
    ADD COLUMN match_deadline_at timestamptz,
    ADD COLUMN match_exhausted_at timestamptz;
-- Offers look for open requests nearby.
CREATE INDEX posts_open_requests ON posts USING gist (geog)
    WHERE status = 'published' AND kind = 'request';
CREATE INDEX posts_match_deadline ON posts (match_deadline_at)
    WHERE status = 'published' AND kind = 'request' AND match_exhausted_at IS NULL;

-- Blocks are two-way in effect: no propositions either way.
CREATE TABLE blocks (
    blocker_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

CREATE TABLE matches (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id          bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    volunteer_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Set when the proposition came from an offer looking for requests.
    offer_id         bigint REFERENCES posts (id) ON DELETE SET NULL,
    batch            smallint NOT NULL DEFAULT 1,
    status           text NOT NULL DEFAULT 'proposed' CHECK (status IN (
                         'proposed', 'accepted', 'declined', 'expired', 'withdrawn',
                         'pending_review', 'approved', 'rejected', 'confirmed', 'completed',
                         'cancelled')),
    sensitive        boolean NOT NULL,
    score            real NOT NULL,
    score_breakdown  jsonb NOT NULL,
    -- Exact distance, for the matcher's own use; people only ever see bands.
    distance_m       integer NOT NULL,
    proposed_at      timestamptz NOT NULL DEFAULT now(),
    deadline_at      timestamptz NOT NULL,
    responded_at     timestamptz,
    confirmed_at     timestamptz,
    closed_at        timestamptz,
    closed_by        bigint REFERENCES users (id),
    close_reason     text CHECK (length(close_reason) <= 500),
    reviewed_by      bigint REFERENCES users (id),
    review_reason    text CHECK (length(review_reason) <= 1000),
    CHECK (status <> 'cancelled' OR (close_reason IS NOT NULL AND closed_by IS NOT NULL)),
    CHECK (status NOT IN ('approved', 'rejected') OR (reviewed_by IS NOT NULL
                                                      AND review_reason IS NOT NULL)),
    CHECK (status <> 'pending_review' OR sensitive)
);
-- One live match per request and volunteer; a proposition withdrawn because the places
-- were filled may be made again when a place reopens.
CREATE UNIQUE INDEX matches_one_live ON matches (post_id, volunteer_id)
    WHERE status <> 'withdrawn';
CREATE INDEX matches_volunteer ON matches (volunteer_id, status);
CREATE INDEX matches_open_deadline ON matches (deadline_at) WHERE status = 'proposed';

-- Who did it, when, from, to. Append-only: the trigger below refuses changes.
CREATE TABLE match_history (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    match_id     bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    from_status  text,
    to_status    text NOT NULL,
    actor_id     bigint REFERENCES users (id),
    reason       text,
    at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX match_history_match ON match_history (match_id, id);

CREATE FUNCTION match_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'match_history is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER match_history_no_update BEFORE UPDATE OR DELETE ON match_history
    FOR EACH ROW EXECUTE FUNCTION match_history_is_append_only();

-- States in which a match holds one of the request's places and one of the
-- volunteer's active slots.
CREATE FUNCTION match_holds_place(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT status IN ('accepted', 'pending_review', 'approved', 'confirmed')
$$;

-- The life cycle, enforced whatever the application does:
--   proposed → accepted | declined | expired | withdrawn
--   accepted → pending_review (sensitive) | confirmed (not sensitive) | cancelled
--   pending_review → approved | rejected | cancelled;  approved → confirmed | cancelled
--   confirmed → completed | cancelled
-- and never more places held than the request needs (the post row is locked, so
-- concurrent accepts queue here and the surplus ones fail).
CREATE FUNCTION matches_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    needed smallint;
    held integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'proposed' THEN
            RAISE EXCEPTION 'a match starts as proposed' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF (OLD.status, NEW.status) NOT IN (
        ('proposed', 'accepted'), ('proposed', 'declined'), ('proposed', 'expired'),
        ('proposed', 'withdrawn'),
        ('accepted', 'pending_review'), ('accepted', 'confirmed'), ('accepted', 'cancelled'),
        ('pending_review', 'approved'), ('pending_review', 'rejected'),
        ('pending_review', 'cancelled'),
        ('approved', 'confirmed'), ('approved', 'cancelled'),
        ('confirmed', 'completed'), ('confirmed', 'cancelled')
    ) THEN
        RAISE EXCEPTION 'match % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'match_status_transition';
    END IF;
    IF (OLD.status, NEW.status) = ('accepted', 'confirmed') AND NEW.sensitive THEN
        RAISE EXCEPTION 'sensitive match % needs a review before confirmation', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'match_sensitive_review';
    END IF;
    IF (OLD.status, NEW.status) = ('accepted', 'pending_review') AND NOT NEW.sensitive THEN
        RAISE EXCEPTION 'match % is not sensitive', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'accepted' THEN
        SELECT volunteers_needed INTO needed FROM posts WHERE id = NEW.post_id FOR UPDATE;
        SELECT count(*) INTO held FROM matches
            WHERE post_id = NEW.post_id AND id <> NEW.id AND match_holds_place(status);
        IF held >= needed THEN
            RAISE EXCEPTION 'request % already has its % volunteer(s)', NEW.post_id, needed
                USING ERRCODE = 'check_violation', CONSTRAINT = 'match_places_full';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER matches_guard BEFORE INSERT OR UPDATE OF status ON matches
    FOR EACH ROW EXECUTE FUNCTION matches_guard();

-- Every status change is recorded, with the actor the application set for the
-- transaction (SET LOCAL voisins.actor_id), or none for the system.
CREATE FUNCTION matches_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor bigint := NULLIF(current_setting('voisins.actor_id', true), '')::bigint;
    reason text := NULLIF(current_setting('voisins.reason', true), '');
    was_holding boolean := TG_OP = 'UPDATE' AND match_holds_place(OLD.status);
    is_holding boolean := match_holds_place(NEW.status);
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO match_history (match_id, from_status, to_status, actor_id, reason)
    VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, actor, reason);
    IF is_holding AND NOT was_holding THEN
        UPDATE volunteers SET active_matches = active_matches + 1, last_matched_at = now()
        WHERE user_id = NEW.volunteer_id;
    ELSIF was_holding AND NOT is_holding THEN
        UPDATE volunteers SET active_matches = greatest(active_matches - 1, 0)
        WHERE user_id = NEW.volunteer_id;
    END IF;
    IF NEW.status = 'completed' THEN
        UPDATE volunteers SET completed_count = completed_count + 1
        WHERE user_id = NEW.volunteer_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER matches_record AFTER INSERT OR UPDATE OF status ON matches
    FOR EACH ROW EXECUTE FUNCTION matches_record();

-- A volunteer paused, suspended or erased while proposed: their propositions go.
CREATE FUNCTION withdraw_propositions_of(volunteer bigint, why text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('voisins.reason', why, true);
    UPDATE matches SET status = 'withdrawn', closed_at = now()
    WHERE volunteer_id = volunteer AND status = 'proposed';
END $$;

CREATE FUNCTION volunteers_on_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.paused AND NOT OLD.paused THEN
        PERFORM withdraw_propositions_of(NEW.user_id, 'volunteer paused');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER volunteers_on_pause AFTER UPDATE OF paused ON volunteers
    FOR EACH ROW EXECUTE FUNCTION volunteers_on_pause();

CREATE FUNCTION users_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'active' AND OLD.status = 'active' THEN
        PERFORM withdraw_propositions_of(NEW.id, 'volunteer ' || NEW.status);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_on_status AFTER UPDATE OF status ON users
    FOR EACH ROW EXECUTE FUNCTION users_on_status();

CREATE TABLE feedback (
    match_id    bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    author_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('thanks', 'no_show')),
    comment     text CHECK (length(comment) <= 1000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (match_id, author_id)
);

-- Requests nobody answered (and, later, other people to reach out to): the centre's
-- "sans réponse" list. centre_id NULL: no centre covers the place (admins see those).
CREATE TABLE followups (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id       bigint REFERENCES posts (id) ON DELETE CASCADE,
    centre_id     bigint REFERENCES centres (id) ON DELETE CASCADE,
    reason        text NOT NULL CHECK (reason IN ('no_response')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    contacted_at  timestamptz,
    contacted_by  bigint REFERENCES users (id),
    outcome       text CHECK (length(outcome) <= 1000)
);
CREATE UNIQUE INDEX followups_once ON followups (post_id, COALESCE(centre_id, 0), reason);
