-- One nearest-neighbour index per category of help. A request walks only the
-- volunteers who offer its category, nearest first, instead of every neighbour:
-- in dense Paris that divides the rows the walk touches by about four.
-- (The query names the category as a literal so that the planner can prove the
-- partial predicate; categories come from a fixed list, never from free text.)
CREATE INDEX volunteers_geog_courses ON volunteers USING gist (geog)
    WHERE categories @> '{courses}';
CREATE INDEX volunteers_geog_visite_convivialite ON volunteers USING gist (geog)
    WHERE categories @> '{visite_convivialite}';
CREATE INDEX volunteers_geog_hebergement_intergenerationnel ON volunteers USING gist (geog)
    WHERE categories @> '{hebergement_intergenerationnel}';
CREATE INDEX volunteers_geog_echange_savoirs ON volunteers USING gist (geog)
    WHERE categories @> '{echange_savoirs}';
CREATE INDEX volunteers_geog_aide_numerique ON volunteers USING gist (geog)
    WHERE categories @> '{aide_numerique}';
CREATE INDEX volunteers_geog_demarches_administratives ON volunteers USING gist (geog)
    WHERE categories @> '{demarches_administratives}';
CREATE INDEX volunteers_geog_transport_accompagnement ON volunteers USING gist (geog)
    WHERE categories @> '{transport_accompagnement}';
CREATE INDEX volunteers_geog_bricolage_jardinage ON volunteers USING gist (geog)
    WHERE categories @> '{bricolage_jardinage}';
CREATE INDEX volunteers_geog_pret_don ON volunteers USING gist (geog)
    WHERE categories @> '{pret_don}';
CREATE INDEX volunteers_geog_garde_ponctuelle ON volunteers USING gist (geog)
    WHERE categories @> '{garde_ponctuelle}';

-- Sensitive requests need vetted volunteers, a small minority: their own indexes
-- keep the walk short for them too.
CREATE INDEX volunteers_geog_vetted ON volunteers USING gist (geog)
    WHERE id_checked_at IS NOT NULL AND record_extract_date IS NOT NULL;

-- Proposals update last_proposed_at on every batch; leave room on each page so those
-- updates stay HOT (no index rewrite).
ALTER TABLE volunteers SET (fillfactor = 85);
