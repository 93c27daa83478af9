-- PostGIS provides the geometry types, the GiST nearest-neighbour operator (<->)
-- and the Lambert-93 (EPSG:2154) projection that the location privacy grid uses.
-- The set-up script creates it as a superuser already; this line documents the
-- dependency and makes a fresh database self-sufficient where the role may create it.
CREATE EXTENSION IF NOT EXISTS postgis;
