-- Core domain: people, centres sociaux and their territories, volunteer profiles,
-- posts (demandes and offres), sessions, idempotency keys, and the outbox.
--
-- Location privacy: every place is stored twice. `point` (and `address`) is the
-- exact, private location; `cell_key` / `cell_centre` is the public cell of the fixed
-- grid (geo/grid.py) that contains it. Queries that answer someone else read the
-- cell columns only.

CREATE TABLE users (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email            text UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    phone            text CHECK (length(phone) <= 32),
    display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    password_hash    text,
    role             text NOT NULL DEFAULT 'resident'
                     CHECK (role IN ('resident', 'social_worker', 'admin')),
    locale           text NOT NULL DEFAULT 'fr' CHECK (locale IN ('fr', 'en')),
    status           text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'suspended', 'erased')),
    -- Created by a social worker for someone without digital access (aller-vers).
    assisted         boolean NOT NULL DEFAULT false,
    -- Vulnerability flags make every post of this person sensitive; set by social workers.
    vulnerability    text[] NOT NULL DEFAULT '{}'
                     CHECK (vulnerability <@ ARRAY['isolated_elderly', 'minor', 'precarious']),
    totp_secret      text,
    totp_enabled_at  timestamptz,
    created_by       bigint REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Anyone who logs in needs an e-mail and a password; assisted residents may have neither.
    CHECK (assisted OR (email IS NOT NULL AND password_hash IS NOT NULL) OR status = 'erased'),
    CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL)
);

-- Browser sessions and API bearer tokens: only a hash of the token is stored.
CREATE TABLE sessions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash        bytea NOT NULL UNIQUE,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- When the TOTP second factor was proven in this session (NULL: not yet).
    second_factor_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_resets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE TABLE centres (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 2 AND 120),
    contact_email     text CHECK (length(contact_email) <= 254),
    contact_phone     text CHECK (length(contact_phone) <= 32),
    -- The centre's own public address (an institution, not a person).
    address           text CHECK (length(address) <= 300),
    territory         geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(territory)),
    -- all_posts: every post reviewed before publication; sensitive_only (default):
    -- sensitive matches reviewed; none: non-sensitive posts are peer-to-peer.
    moderation_level  text NOT NULL DEFAULT 'sensitive_only'
                      CHECK (moderation_level IN ('all_posts', 'sensitive_only', 'none')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX centres_territory ON centres USING gist (territory);

CREATE TABLE centre_members (
    centre_id    bigint NOT NULL REFERENCES centres (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    member_role  text NOT NULL DEFAULT 'social_worker'
                 CHECK (member_role IN ('social_worker', 'centre_admin')),
    PRIMARY KEY (centre_id, user_id)
);
CREATE INDEX centre_members_user ON centre_members (user_id);

-- A partnership lets the social workers of both centres work on each other's items.
CREATE TABLE centre_partnerships (
    centre_id   bigint NOT NULL REFERENCES centres (id) ON DELETE CASCADE,
    partner_id  bigint NOT NULL REFERENCES centres (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (centre_id, partner_id),
    CHECK (centre_id < partner_id)
);

-- Consent of an assisted resident to be helped through voisins (who obtained it, when, how).
CREATE TABLE consents (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resident_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    centre_id    bigint NOT NULL REFERENCES centres (id),
    obtained_by  bigint NOT NULL REFERENCES users (id),
    obtained_at  timestamptz NOT NULL,
    method       text NOT NULL CHECK (method IN ('in_person', 'phone', 'written')),
    note         text CHECK (length(note) <= 1000),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz
);
CREATE INDEX consents_resident ON consents (resident_id);

CREATE TABLE volunteers (
    user_id             bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    point               geometry(Point, 4326) NOT NULL,
    address             text CHECK (length(address) <= 300),
    cell_key            text NOT NULL,
    cell_centre         geometry(Point, 4326) NOT NULL,
    radius_m            integer NOT NULL CHECK (radius_m BETWEEN 100 AND 20000),
    categories          text[] NOT NULL DEFAULT '{}',
    skill_tags          text[] NOT NULL DEFAULT '{}',
    languages           text[] NOT NULL DEFAULT '{fr}',
    -- Weekly availability as minutes since Monday 00:00 Europe/Paris (0..10080).
    availability        int4multirange NOT NULL DEFAULT '{}',
    max_active_matches  smallint NOT NULL DEFAULT 3 CHECK (max_active_matches BETWEEN 1 AND 20),
    paused              boolean NOT NULL DEFAULT false,
    -- Vetting, written by social workers only.
    id_checked_at       timestamptz,
    id_checked_by       bigint REFERENCES users (id),
    record_extract_date date,
    record_checked_by   bigint REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((id_checked_at IS NULL) = (id_checked_by IS NULL)),
    CHECK ((record_extract_date IS NULL) = (record_checked_by IS NULL))
);

CREATE TABLE posts (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id          bigint NOT NULL REFERENCES users (id),
    -- The social worker who created it on the author's behalf, if any.
    created_by         bigint REFERENCES users (id),
    kind               text NOT NULL CHECK (kind IN ('request', 'offer')),
    category           text NOT NULL,
    skill_tags         text[] NOT NULL DEFAULT '{}',
    title              text NOT NULL CHECK (length(title) BETWEEN 3 AND 120),
    description        text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    schedule_kind      text NOT NULL CHECK (schedule_kind IN ('once', 'weekly')),
    starts_at          timestamptz,
    ends_at            timestamptz,
    weekly_days        smallint[],
    weekly_start       time,
    weekly_end         time,
    -- The schedule as minutes of the week (Europe/Paris), for availability overlap.
    slots              int4multirange NOT NULL,
    volunteers_needed  smallint NOT NULL DEFAULT 1 CHECK (volunteers_needed BETWEEN 1 AND 20),
    languages          text[] NOT NULL DEFAULT '{}',
    urgency            text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    beneficiary_flags  text[] NOT NULL DEFAULT '{}'
                       CHECK (beneficiary_flags <@ ARRAY['isolated_elderly', 'minor', 'precarious']),
    -- Computed server-side from the category and the beneficiary's flags.
    sensitive          boolean NOT NULL,
    search_radius_m    integer NOT NULL DEFAULT 5000 CHECK (search_radius_m BETWEEN 100 AND 20000),
    point              geometry(Point, 4326) NOT NULL,
    address            text CHECK (length(address) <= 300),
    cell_key           text NOT NULL,
    cell_centre        geometry(Point, 4326) NOT NULL,
    status             text NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'published', 'matched', 'closed', 'expired',
                                         'withdrawn')),
    closed_reason      text CHECK (length(closed_reason) <= 300),
    expires_at         timestamptz NOT NULL,
    published_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'closed' OR closed_reason IS NOT NULL),
    CHECK (schedule_kind <> 'once' OR (starts_at IS NOT NULL AND ends_at > starts_at)),
    CHECK (schedule_kind <> 'weekly'
           OR (weekly_days IS NOT NULL AND weekly_end > weekly_start))
);
CREATE INDEX posts_author ON posts (author_id, created_at DESC);
-- Browsing open posts near a place reads public cell centres only.
CREATE INDEX posts_open_cells ON posts USING gist (cell_centre) WHERE status = 'published';
CREATE INDEX posts_expiry ON posts (expires_at) WHERE status = 'published';

-- Post status transitions are enforced here, whatever the application does.
CREATE FUNCTION posts_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('draft', 'published'), ('draft', 'withdrawn'),
        ('published', 'matched'), ('published', 'closed'), ('published', 'expired'),
        ('published', 'withdrawn'),
        ('matched', 'published'), ('matched', 'closed'), ('matched', 'withdrawn'),
        ('expired', 'published'), ('expired', 'withdrawn')
    ) THEN
        RAISE EXCEPTION 'post % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'post_status_transition';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER posts_transition BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_check_transition();

-- The centres whose territory contains the post's point, fixed at publication.
CREATE TABLE post_centres (
    post_id    bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    centre_id  bigint NOT NULL REFERENCES centres (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, centre_id)
);
CREATE INDEX post_centres_centre ON post_centres (centre_id);

-- Idempotency-Key: the first response to a (user, key) is stored and replayed.
CREATE TABLE idempotency_keys (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    status_code  smallint,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- Transactional outbox: a state change that must notify someone writes a row here in
-- the same transaction; the notification worker relays rows to jobs. Payloads hold
-- ids (and short-lived tokens), never addresses or coordinates.
CREATE TABLE outbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic          text NOT NULL,
    payload        jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    dispatched_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;
