-- The matcher decides on the public grid.
--
-- Until now the candidate search walked exact points (volunteers.geog, posts.geog):
-- who was proposed, in which batch and in what order followed exact distances, and
-- an attacker who published offers or requests with radii settable to the metre
-- located homes to half a metre without any response ever containing a coordinate.
-- From here on every matching decision that anyone can observe is computed from the
-- public cell only: the distance between two people is the distance between the
-- centres of their cells, and radii are whole kilometres. Moving someone's exact
-- point inside its cell changes nothing the matcher does.

-- The cell centre in its zone's projected metres (Lambert-93 in metropolitan France,
-- a local UTM overseas: geo/grid.py), derived from the cell key "srid:size:ix:iy" so
-- that it can never disagree with it. SRID 0: a plain plane in metres, where
-- distances are Euclidean and the GiST nearest-neighbour walk (<->) is cheap. Zones
-- live in different planes, so every query also compares cell_srid.
ALTER TABLE volunteers
    ADD COLUMN cell_srid integer
        GENERATED ALWAYS AS (CAST(split_part(cell_key, ':', 1) AS integer)) STORED,
    ADD COLUMN cell_xy geometry(Point, 0) GENERATED ALWAYS AS (ST_MakePoint(
        (CAST(split_part(cell_key, ':', 3) AS integer) + 0.5)
            * CAST(split_part(cell_key, ':', 2) AS integer),
        (CAST(split_part(cell_key, ':', 4) AS integer) + 0.5)
            * CAST(split_part(cell_key, ':', 2) AS integer))) STORED,
    -- How far the volunteer goes, in whole kilometres (rounded up): a radius settable
    -- to the metre would turn the radius filter into a distance oracle.
    ADD COLUMN reach_m integer
        GENERATED ALWAYS AS (CAST(ceil(radius_m / 1000.0) AS integer) * 1000) STORED;

ALTER TABLE posts
    ADD COLUMN cell_srid integer
        GENERATED ALWAYS AS (CAST(split_part(cell_key, ':', 1) AS integer)) STORED,
    ADD COLUMN cell_xy geometry(Point, 0) GENERATED ALWAYS AS (ST_MakePoint(
        (CAST(split_part(cell_key, ':', 3) AS integer) + 0.5)
            * CAST(split_part(cell_key, ':', 2) AS integer),
        (CAST(split_part(cell_key, ':', 4) AS integer) + 0.5)
            * CAST(split_part(cell_key, ':', 2) AS integer))) STORED,
    ADD COLUMN reach_m integer
        GENERATED ALWAYS AS (CAST(ceil(search_radius_m / 1000.0) AS integer) * 1000) STORED,
    -- Languages are a preference unless the author says one of them is needed
    -- (someone who speaks no French needs a volunteer who speaks theirs).
    ADD COLUMN language_required boolean NOT NULL DEFAULT false;

-- The exact-point walks go: their indexes are replaced by the same per-category
-- partial indexes on the public cell (sql/0004 explains why one per category).
DROP INDEX volunteers_geog_courses;
DROP INDEX volunteers_geog_visite_convivialite;
DROP INDEX volunteers_geog_hebergement_intergenerationnel;
DROP INDEX volunteers_geog_echange_savoirs;
DROP INDEX volunteers_geog_aide_numerique;
DROP INDEX volunteers_geog_demarches_administratives;
DROP INDEX volunteers_geog_transport_accompagnement;
DROP INDEX volunteers_geog_bricolage_jardinage;
DROP INDEX volunteers_geog_pret_don;
DROP INDEX volunteers_geog_garde_ponctuelle;
DROP INDEX volunteers_geog_vetted;
DROP INDEX volunteers_geog;
DROP INDEX posts_open_requests;
-- Nothing reads the exact geography any more; the exact point stays in `point`, for
-- the people the design names (the author, the covering centre, the confirmed match).
ALTER TABLE volunteers DROP COLUMN geog;
ALTER TABLE posts DROP COLUMN geog;

CREATE INDEX volunteers_cell_courses ON volunteers USING gist (cell_xy)
    WHERE categories @> '{courses}';
CREATE INDEX volunteers_cell_visite_convivialite ON volunteers USING gist (cell_xy)
    WHERE categories @> '{visite_convivialite}';
CREATE INDEX volunteers_cell_hebergement_intergenerationnel ON volunteers USING gist (cell_xy)
    WHERE categories @> '{hebergement_intergenerationnel}';
CREATE INDEX volunteers_cell_echange_savoirs ON volunteers USING gist (cell_xy)
    WHERE categories @> '{echange_savoirs}';
CREATE INDEX volunteers_cell_aide_numerique ON volunteers USING gist (cell_xy)
    WHERE categories @> '{aide_numerique}';
CREATE INDEX volunteers_cell_demarches_administratives ON volunteers USING gist (cell_xy)
    WHERE categories @> '{demarches_administratives}';
CREATE INDEX volunteers_cell_transport_accompagnement ON volunteers USING gist (cell_xy)
    WHERE categories @> '{transport_accompagnement}';
CREATE INDEX volunteers_cell_bricolage_jardinage ON volunteers USING gist (cell_xy)
    WHERE categories @> '{bricolage_jardinage}';
CREATE INDEX volunteers_cell_pret_don ON volunteers USING gist (cell_xy)
    WHERE categories @> '{pret_don}';
CREATE INDEX volunteers_cell_garde_ponctuelle ON volunteers USING gist (cell_xy)
    WHERE categories @> '{garde_ponctuelle}';
-- Sensitive requests need vetted volunteers, a small minority.
CREATE INDEX volunteers_cell_vetted ON volunteers USING gist (cell_xy)
    WHERE id_checked_at IS NOT NULL AND record_extract_date IS NOT NULL;
-- Every volunteer by cell: the physical order (CLUSTER volunteers USING
-- volunteers_cell, see bench/README.md) keeps neighbours on the same pages.
CREATE INDEX volunteers_cell ON volunteers USING gist (cell_xy);
-- A request that needs a rare language reads only the volunteers who speak it
-- (a bitmap AND with the cell index) instead of sweeping its whole radius.
CREATE INDEX volunteers_languages ON volunteers USING gin (languages);

-- Offers look for open requests nearby, on the grid too.
CREATE INDEX posts_open_requests_cell ON posts USING gist (cell_xy)
    WHERE status = 'published' AND kind = 'request';

-- Has this volunteer been asked about this request before (in any state)?
-- matches_one_live leaves withdrawn rows out, and those count now: someone whose
-- proposition went with a pause or a withdrawal is not asked the same post again.
CREATE INDEX matches_post_volunteer ON matches (post_id, volunteer_id);

COMMENT ON COLUMN matches.distance_m IS
    'Distance between the two public cell centres (never between exact points).';
COMMENT ON COLUMN matches.batch IS
    'Escalation step, for the server only: never shown to the request''s author.';
