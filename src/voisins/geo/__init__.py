"""Everything about places: coordinates, the public privacy grid, distance bands,
territory validation, geocoding, and the spatial SQL expressions.

Longitude-latitude order everywhere; SRIDs always explicit. This is the only
package that knows PostGIS function names.
"""
