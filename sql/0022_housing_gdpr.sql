-- GDPR and intergenerational housing (issue 16): the retention of support records
-- (moderation/gdpr.py) reaches the housing notes, feedback and documents, and what the
-- centre does in housing counts as a contact with the people concerned.

-- The last contact with a person (sql/0009) also counts their housing: an application
-- made or changed (by them, or by the centre for them: a status change is the centre
-- acting on it), a step the centre recorded on their application or on a pair they
-- are in (an interview, a visit, a meeting: help that took place), and a follow-up of
-- such a pair done. Without them, a host visited every three months for years whose
-- only activity is housing would look out of contact, and the notes of their pair
-- would be blanked while the cohabitation goes on. The first terms are 0009's, as
-- they were.
CREATE OR REPLACE FUNCTION last_contact_at(person bigint) RETURNS timestamptz
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
        (SELECT updated_at FROM volunteers WHERE user_id = person),
        (SELECT max(greatest(created_at, updated_at))
         FROM housing_applications WHERE person_id = person),
        (SELECT max(s.recorded_at)
         FROM housing_applications a JOIN housing_steps s ON s.application_id = a.id
         WHERE a.person_id = person),
        (SELECT max(s.recorded_at)
         FROM housing_applications a
         JOIN housing_pairs hp ON a.id IN (hp.host_application_id, hp.young_application_id)
         JOIN housing_steps s ON s.pair_id = hp.id
         WHERE a.person_id = person),
        (SELECT max(f.contacted_at)
         FROM housing_applications a
         JOIN housing_pairs hp ON a.id IN (hp.host_application_id, hp.young_application_id)
         JOIN followups f ON f.housing_pair_id = hp.id
         WHERE a.person_id = person)
    )
$$;

-- The retention finds the ended pairs by their end day.
CREATE INDEX housing_pairs_ended ON housing_pairs (ended_on) WHERE status = 'ended';
-- The follow-ups of a pair, for the last contact above (called once per record the
-- retention looks at) and for the cascade when a pair is deleted.
CREATE INDEX followups_housing_pair ON followups (housing_pair_id)
    WHERE housing_pair_id IS NOT NULL;

-- 0008's "each item once" index does not know the housing pair (0021 added the column
-- after it): two pairs of one centre whose visits fall due on the same day made the
-- same key (reason, no post, no person, no match, centre, day), and the second pair's
-- item was silently dropped by ON CONFLICT DO NOTHING. Housing items have their own
-- rule (followups_housing_once: per pair, reason and due day); this one now keeps to
-- the others.
DROP INDEX followups_once;
CREATE UNIQUE INDEX followups_once ON followups (
    reason, COALESCE(post_id, 0), COALESCE(person_id, 0), COALESCE(match_id, 0),
    COALESCE(centre_id, 0), COALESCE(period, DATE '2000-01-01'))
    WHERE housing_pair_id IS NULL;
