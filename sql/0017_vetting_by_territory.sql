-- Vetting by territory (accounts/vetting.py): a social worker finds, reads and writes
-- the vetting records of the volunteers who live within their centres' territories.
-- The territory test is on the exact home (server-side only, never returned), like a
-- post's covering centres. This index lets the lists and the search start from the
-- worker's territories (a few polygons) instead of testing every volunteer of the
-- country against them: ST_Covers(territory, point) uses it.
CREATE INDEX volunteers_point ON volunteers USING gist (point);
