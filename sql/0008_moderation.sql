-- The centre social workspace: audit log, reports, suspension, review of posts before
-- publication, the follow-up list's other reasons and the check-ins of recurring visits.

-- Audit log: who viewed or changed a sensitive record, and every refused authorisation.
-- No payloads, no coordinates: an action name, the kind and id of the object, the outcome.
-- Append-only for the application's own role: UPDATE and TRUNCATE are revoked, and a
-- trigger refuses any UPDATE and any DELETE of a row younger than 12 months (the retention
-- purge deletes older rows only) — the trigger holds even for a superuser or the owner.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    -- No foreign key: the trace outlives the account (an erased person stays an id).
    actor_id     bigint,
    actor_role   text NOT NULL CHECK (length(actor_role) <= 20),
    action       text NOT NULL CHECK (action ~ '^[A-Za-z_]+(\.[A-Za-z_]+)*$' AND length(action) <= 80),
    object_type  text NOT NULL CHECK (object_type ~ '^[a-z_]+$' AND length(object_type) <= 30),
    object_id    bigint,
    outcome      text NOT NULL CHECK (outcome IN ('allowed', 'refused')),
    request_id   text CHECK (length(request_id) <= 64)
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, at);

CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.at := now();  -- nobody back-dates a trace (it would become purgeable)
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND OLD.at < now() - interval '12 months' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();

CREATE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (TRUNCATE refused)'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate();

-- The migrating role is the application's role: it keeps INSERT, SELECT and DELETE (for
-- the purge, which the trigger limits to expired rows) and loses UPDATE and TRUNCATE.
REVOKE UPDATE, TRUNCATE ON audit_log FROM CURRENT_USER;
REVOKE ALL ON audit_log FROM PUBLIC;

-- Reports: any participant reports a post or a person. Only the social workers of the
-- covering centres see them; the reported person never learns who reported.
CREATE TABLE reports (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reporter_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    post_id       bigint REFERENCES posts (id) ON DELETE SET NULL,
    reported_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    reason        text NOT NULL
                  CHECK (reason IN ('inappropriate', 'unsafe', 'fraud', 'no_show', 'other')),
    comment       text CHECK (length(comment) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    resolved_by   bigint REFERENCES users (id),
    resolution    text CHECK (length(resolution) <= 1000),
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CHECK (resolved_at IS NULL OR resolution IS NOT NULL)
);
CREATE INDEX reports_open ON reports (created_at) WHERE resolved_at IS NULL;
CREATE INDEX reports_reported ON reports (reported_id);
-- The centres a report reaches (those covering the post, or the person's home and posts).
CREATE TABLE report_centres (
    report_id  bigint NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    centre_id  bigint NOT NULL REFERENCES centres (id) ON DELETE CASCADE,
    PRIMARY KEY (report_id, centre_id)
);
CREATE INDEX report_centres_centre ON report_centres (centre_id);

-- Blocks get a surrogate id: the blocker's list names blocks by it, never by the other
-- person's account id (blocking the author of a post must not reveal who wrote it).
ALTER TABLE blocks ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;

-- Suspension by a social worker: why, by whom, when (status 'suspended' on users).
ALTER TABLE users
    ADD COLUMN suspended_at      timestamptz,
    ADD COLUMN suspended_by      bigint REFERENCES users (id),
    ADD COLUMN suspension_reason text CHECK (length(suspension_reason) <= 500);

-- Review of every post before publication (centres at moderation level all_posts).
ALTER TABLE posts DROP CONSTRAINT posts_status_check;
ALTER TABLE posts ADD CONSTRAINT posts_status_check CHECK (status IN (
    'draft', 'in_review', 'published', 'rejected', 'matched', 'closed', 'expired', 'withdrawn'));
ALTER TABLE posts
    ADD COLUMN reviewed_by    bigint REFERENCES users (id),
    ADD COLUMN reviewed_at    timestamptz,
    ADD COLUMN review_reason  text CHECK (length(review_reason) <= 1000);
CREATE INDEX posts_in_review ON posts (created_at) WHERE status = 'in_review';

CREATE OR REPLACE FUNCTION posts_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('draft', 'published'), ('draft', 'in_review'), ('draft', 'withdrawn'),
        ('in_review', 'published'), ('in_review', 'rejected'), ('in_review', 'withdrawn'),
        ('rejected', 'in_review'), ('rejected', 'withdrawn'),
        ('published', 'matched'), ('published', 'closed'), ('published', 'expired'),
        ('published', 'withdrawn'),
        ('matched', 'published'), ('matched', 'closed'), ('matched', 'withdrawn'),
        ('expired', 'published'), ('expired', 'in_review'), ('expired', 'withdrawn')
    ) THEN
        RAISE EXCEPTION 'post % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'post_status_transition';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- Follow-up list (aller-vers): requests nobody answered, isolated people without activity,
-- recurring visits whose check-in was missed. Each with "contacted on / by / outcome".
ALTER TABLE followups DROP CONSTRAINT followups_reason_check;
ALTER TABLE followups ADD CONSTRAINT followups_reason_check
    CHECK (reason IN ('no_response', 'isolated', 'missed_checkin'));
ALTER TABLE followups
    ADD COLUMN person_id  bigint REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN match_id   bigint REFERENCES matches (id) ON DELETE CASCADE,
    -- The week (or period) a recurring follow-up is about, so each one is raised once.
    ADD COLUMN period     date,
    ADD CHECK (reason <> 'no_response' OR post_id IS NOT NULL),
    ADD CHECK (reason <> 'isolated' OR person_id IS NOT NULL),
    ADD CHECK (reason <> 'missed_checkin' OR match_id IS NOT NULL),
    ADD CHECK ((contacted_at IS NULL) = (contacted_by IS NULL));
DROP INDEX followups_once;
CREATE UNIQUE INDEX followups_once ON followups (
    reason, COALESCE(post_id, 0), COALESCE(person_id, 0), COALESCE(match_id, 0),
    COALESCE(centre_id, 0), COALESCE(period, DATE '2000-01-01'));
CREATE INDEX followups_open ON followups (centre_id, created_at) WHERE contacted_at IS NULL;

-- Check-ins of a recurring visit: either side says the visit took place.
CREATE TABLE checkins (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    match_id    bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    author_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    visited_on  date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (match_id, visited_on)
);
