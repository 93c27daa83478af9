-- The public listing of open posts near a place (posts/service.py browse) measured in
-- geography between cell centres: `CAST(cell_centre AS geography)` can use no index,
-- so every call read every published post (a Seq Scan, a plan cost above
-- jit_above_cost, JIT on each request). It now filters and orders in the grid's plane
-- on `cell_xy`, as the matcher does (sql/0010), through this index.
CREATE INDEX posts_published_cell ON posts USING gist (cell_xy) WHERE status = 'published';

-- Nothing filters on the WGS84 cell centre any more.
DROP INDEX posts_open_cells;
