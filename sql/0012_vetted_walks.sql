-- Sensitive requests walk the vetted volunteers of their category, nearest cells first.
--
-- A sensitive request needs vetted volunteers of its category. With one index per
-- category and one for all vetted volunteers (sql/0010), its walk matched both partial
-- predicates, and the planner ANDed the two whole indexes into a bitmap and sorted
-- the survivors (it expected a tenth of the rows that came back): at 1M volunteers,
-- 150-280 ms and 6,000-10,000 pages for a request that needs about thirty people
-- (bench/README.md). One index per category of volunteers with a criminal-record
-- extract (0.5-3 % of the table each) is what that walk needs: read nearest first, it
-- stops after a few dozen rows. The predicate names the extract only: the ID check
-- goes with it in practice, and the planner, which multiplies the shares of
-- independent-looking conditions, would estimate the two together ten times too
-- small and prefer reading the whole small index again. The full vetting check
-- (ID, extract less than three years old) stays a filter of the query
-- (matching/candidates.py). The all-vetted index has no reader left and goes.
CREATE INDEX volunteers_cell_vetted_courses ON volunteers USING gist (cell_xy)
    WHERE categories @> '{courses}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_visite_convivialite ON volunteers USING gist (cell_xy)
    WHERE categories @> '{visite_convivialite}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_hebergement_intergenerationnel ON volunteers
    USING gist (cell_xy)
    WHERE categories @> '{hebergement_intergenerationnel}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_echange_savoirs ON volunteers USING gist (cell_xy)
    WHERE categories @> '{echange_savoirs}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_aide_numerique ON volunteers USING gist (cell_xy)
    WHERE categories @> '{aide_numerique}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_demarches_administratives ON volunteers
    USING gist (cell_xy)
    WHERE categories @> '{demarches_administratives}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_transport_accompagnement ON volunteers
    USING gist (cell_xy)
    WHERE categories @> '{transport_accompagnement}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_bricolage_jardinage ON volunteers USING gist (cell_xy)
    WHERE categories @> '{bricolage_jardinage}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_pret_don ON volunteers USING gist (cell_xy)
    WHERE categories @> '{pret_don}'
      AND record_extract_date IS NOT NULL;
CREATE INDEX volunteers_cell_vetted_garde_ponctuelle ON volunteers USING gist (cell_xy)
    WHERE categories @> '{garde_ponctuelle}'
      AND record_extract_date IS NOT NULL;
DROP INDEX volunteers_cell_vetted;
