-- Intergenerational housing (cohabitation intergénérationnelle solidaire, ELAN law 2018,
-- CASF art. L.118-1): a host aged 60 or more lends a room to a young person under 30,
-- under a written agreement and a charter. The centre social runs every step: the two
-- applications, their interviews, the home visit and the references, the pairing it
-- proposes, the meeting, the trial period, the signed agreement, the follow-up visits and
-- the end. Nothing here is matched automatically: the matcher of posts never reads these
-- tables, and neither side learns of the other before the social worker introduces them.

-- One application per person and side. `person_id` is the host or the young person; the
-- application is the centre's (`centre_id`), which alone may read it besides its person.
CREATE TABLE housing_applications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    side             text NOT NULL CHECK (side IN ('host', 'young')),
    person_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    centre_id        bigint NOT NULL REFERENCES centres (id),
    -- The social worker who recorded it for an assisted resident; NULL: the person did.
    recorded_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'paired', 'withdrawn', 'closed')),
    -- The law's age limits are checked against this date when the application is made.
    birth_date       date NOT NULL,
    available_from   date NOT NULL,
    available_until  date CHECK (available_until IS NULL OR available_until > available_from),
    -- Host: the formula offered; young: the formulas accepted.
    formulas         text[] NOT NULL CHECK (
                         cardinality(formulas) BETWEEN 1 AND 3
                         AND formulas <@ ARRAY['free_presence', 'solidarity', 'modest_rent']),
    -- Host: the monthly contribution asked (euros); young: the most they can pay.
    monthly_eur      integer NOT NULL DEFAULT 0 CHECK (monthly_eur BETWEEN 0 AND 1000),
    -- Host: services hoped for; young: services offered.
    services         text[] NOT NULL DEFAULT '{}',
    languages        text[] NOT NULL DEFAULT '{fr}',
    -- Habits: the person's own, and what they accept of the other.
    has_pets         boolean NOT NULL DEFAULT false,
    accepts_pets     boolean NOT NULL DEFAULT true,
    smokes           boolean NOT NULL DEFAULT false,
    accepts_smoker   boolean NOT NULL DEFAULT false,
    rhythm           text NOT NULL DEFAULT 'flexible'
                     CHECK (rhythm IN ('early', 'late', 'flexible')),
    -- Host: the room and the home (the exact place is private, as every home).
    room_m2          smallint CHECK (room_m2 BETWEEN 5 AND 100),
    floor            smallint CHECK (floor BETWEEN -1 AND 60),
    lift             boolean,
    private_bathroom boolean,
    furnished        boolean,
    -- Young: what they do and where (the place of study or work: exact and public cell).
    occupation       text CHECK (occupation IN ('student', 'apprentice', 'worker', 'other')),
    occupation_detail text CHECK (length(occupation_detail) <= 200),
    point            geometry(Point, 4326) NOT NULL,
    address          text CHECK (length(address) <= 300),
    cell_key         text NOT NULL,
    about            text NOT NULL DEFAULT '' CHECK (length(about) <= 2000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (side = 'young' OR (room_m2 IS NOT NULL AND floor IS NOT NULL AND lift IS NOT NULL
                              AND private_bathroom IS NOT NULL AND cardinality(formulas) = 1)),
    CHECK (side = 'host' OR occupation IS NOT NULL)
);
CREATE INDEX housing_applications_centre ON housing_applications (centre_id, side, status);
CREATE INDEX housing_applications_person ON housing_applications (person_id);
-- One open (or paired) application per person and side: a second one would be a duplicate.
CREATE UNIQUE INDEX housing_applications_one_open ON housing_applications (person_id, side)
    WHERE status IN ('open', 'paired');

-- A pairing the centre proposed. Its status follows the steps below; `introduced_at` is
-- when the two people learned of each other (the meeting), before which neither sees it.
CREATE TABLE housing_pairs (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    centre_id            bigint NOT NULL REFERENCES centres (id),
    -- Erasing one of the two people erases their application; the pair stays, anonymous,
    -- for the centre's statistics (its notes, feedback and documents are erased).
    host_application_id  bigint REFERENCES housing_applications (id) ON DELETE SET NULL,
    young_application_id bigint REFERENCES housing_applications (id) ON DELETE SET NULL,
    status               text NOT NULL DEFAULT 'proposed'
                         CHECK (status IN ('proposed', 'introduced', 'trial', 'confirmed', 'ended')),
    proposed_by          bigint REFERENCES users (id) ON DELETE SET NULL,
    proposed_at          timestamptz NOT NULL DEFAULT now(),
    introduced_on        date,
    trial_started_on     date,
    trial_ends_on        date,
    agreement_signed_on  date,
    -- The next follow-up visit due (trial start + one month, then every three months).
    next_visit_due       date,
    ended_on             date,
    end_reason           text CHECK (end_reason IN (
                             'not_compatible', 'term_reached', 'host_request', 'young_request',
                             'health', 'moved', 'conflict', 'other')),
    host_feedback        text CHECK (length(host_feedback) <= 2000),
    young_feedback       text CHECK (length(young_feedback) <= 2000),
    CHECK ((status = 'ended') = (ended_on IS NOT NULL AND end_reason IS NOT NULL)),
    CHECK (status NOT IN ('trial', 'confirmed') OR trial_started_on IS NOT NULL),
    CHECK (status <> 'confirmed' OR agreement_signed_on IS NOT NULL),
    CHECK (agreement_signed_on IS NULL OR trial_started_on IS NOT NULL),
    CHECK (trial_ends_on IS NULL OR trial_ends_on > trial_started_on)
);
CREATE INDEX housing_pairs_centre ON housing_pairs (centre_id, status);
CREATE INDEX housing_pairs_host ON housing_pairs (host_application_id);
CREATE INDEX housing_pairs_young ON housing_pairs (young_application_id);
-- An application is in at most one pairing that has not ended.
CREATE UNIQUE INDEX housing_pairs_one_live_host ON housing_pairs (host_application_id)
    WHERE status <> 'ended';
CREATE UNIQUE INDEX housing_pairs_one_live_young ON housing_pairs (young_application_id)
    WHERE status <> 'ended';

-- Every step, with its date, who recorded it, the outcome and notes. Application steps:
-- interview, home_visit (host), references (young). Pair steps: proposed, meeting, trial,
-- agreement, followup_visit, ended. Notes are the centre's; the two people see the steps.
CREATE TABLE housing_steps (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id  bigint REFERENCES housing_applications (id) ON DELETE CASCADE,
    pair_id         bigint REFERENCES housing_pairs (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN (
                        'interview', 'home_visit', 'references',
                        'proposed', 'meeting', 'trial', 'agreement', 'followup_visit', 'ended')),
    done_on         date NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('favourable', 'unfavourable', 'noted')),
    note            text CHECK (length(note) <= 2000),
    recorded_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((application_id IS NULL) <> (pair_id IS NULL)),
    CHECK ((application_id IS NOT NULL) = (kind IN ('interview', 'home_visit', 'references')))
);
CREATE INDEX housing_steps_application ON housing_steps (application_id, kind);
CREATE INDEX housing_steps_pair ON housing_steps (pair_id, kind);

-- The charter and the agreement, generated as PDF from the pair's data, kept with the
-- pair and erased with it.
CREATE TABLE housing_documents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pair_id       bigint NOT NULL REFERENCES housing_pairs (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('charter', 'agreement')),
    pdf           bytea NOT NULL CHECK (length(pdf) <= 5000000),
    sha256        text NOT NULL,
    generated_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    generated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX housing_documents_pair ON housing_documents (pair_id, kind, generated_at);

-- Overdue steps go to the centre's follow-up list, each due date once.
ALTER TABLE followups DROP CONSTRAINT followups_reason_check;
ALTER TABLE followups ADD CONSTRAINT followups_reason_check
    CHECK (reason IN ('no_response', 'isolated', 'missed_checkin', 'short_lived_posts',
                      'housing_visit_due', 'housing_trial_over'));
ALTER TABLE followups
    ADD COLUMN housing_pair_id bigint REFERENCES housing_pairs (id) ON DELETE CASCADE,
    ADD CONSTRAINT followups_housing_pair
        CHECK (reason NOT LIKE 'housing%' OR (housing_pair_id IS NOT NULL AND period IS NOT NULL));
CREATE UNIQUE INDEX followups_housing_once ON followups (reason, housing_pair_id, period)
    WHERE housing_pair_id IS NOT NULL;
