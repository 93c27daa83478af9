-- Posts: editing after publication, weekly arrangements' check-ins, and volunteers
-- offered the open requests near them when their profile changes (issue 12, "Posts").

-- Editing. `version` counts the edits: a form carries the version it showed, and an edit
-- made from an older one is refused (409) instead of silently replacing someone else's
-- (the author and a social worker acting for them may edit at once). The row lock the
-- service takes makes the check and the increment one step.
ALTER TABLE posts
    ADD COLUMN version    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD COLUMN edited_at  timestamptz,
    ADD COLUMN edited_by  bigint REFERENCES users (id) ON DELETE SET NULL;

-- A published post whose text changed goes back to the centre's review when the centre
-- had to let it through (or it is sensitive and was approved): published -> in_review
-- joins the transitions of sql/0008 (the list is repeated whole: it is the one rule).
CREATE OR REPLACE FUNCTION posts_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('draft', 'published'), ('draft', 'in_review'), ('draft', 'withdrawn'),
        ('in_review', 'published'), ('in_review', 'rejected'), ('in_review', 'withdrawn'),
        ('rejected', 'in_review'), ('rejected', 'withdrawn'),
        ('published', 'matched'), ('published', 'closed'), ('published', 'expired'),
        ('published', 'withdrawn'), ('published', 'in_review'),
        ('matched', 'published'), ('matched', 'closed'), ('matched', 'withdrawn'),
        ('expired', 'published'), ('expired', 'in_review'), ('expired', 'withdrawn')
    ) THEN
        RAISE EXCEPTION 'post % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'post_status_transition';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- Check-ins of a weekly arrangement (table from sql/0008): «la visite d'aujourd'hui a eu
-- lieu», with an optional short note. One per arrangement and day (the UNIQUE there).
ALTER TABLE checkins
    ADD COLUMN note text CHECK (length(note) <= 280);

-- A volunteer's profile created, or changed in what decides which requests fit them
-- (place, reach, kinds of help, skills, languages, free time, how many at once,
-- vetting, back from a pause): the worker runs the matcher from their side
-- (matching/engine.py, match_volunteer). Written here, in the same transaction as the
-- change, whatever path made it (the profile form, the API, a social worker's
-- vetting). The payload holds the id only.
CREATE FUNCTION volunteers_offer_requests() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.paused THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.paused
       OR (OLD.cell_key, OLD.radius_m, OLD.categories, OLD.skill_tags, OLD.languages,
           OLD.availability, OLD.max_active_matches, OLD.id_checked_at,
           OLD.record_extract_date)
          IS DISTINCT FROM
          (NEW.cell_key, NEW.radius_m, NEW.categories, NEW.skill_tags, NEW.languages,
           NEW.availability, NEW.max_active_matches, NEW.id_checked_at,
           NEW.record_extract_date) THEN
        INSERT INTO outbox (topic, payload)
        VALUES ('volunteer.profile_changed', jsonb_build_object('volunteer_id', NEW.user_id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER volunteers_offer_requests
    AFTER INSERT OR UPDATE OF cell_key, radius_m, categories, skill_tags, languages,
        availability, max_active_matches, id_checked_at, record_extract_date, paused
    ON volunteers
    FOR EACH ROW EXECUTE FUNCTION volunteers_offer_requests();
