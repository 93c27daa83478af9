"""Puts exact points back into the matcher — every distance, radius and walk on the
exact projected point instead of the public cell's centre, radii to the metre — to show
that the attacker test can fail. Never loaded by the suite; run it by hand:

    PYTHONPATH=. .venv/bin/pytest -p tests.support.sabotage_exact_points \
        tests/test_matcher_privacy.py

Every world pair must then fail ("observable difference"); on 2026-12-05 all six did.
"""

from voisins.matching import candidates, engine, profile_change


def exact(sql: str) -> str:
    for alias in ("v", "w", "p"):
        sql = sql.replace(f"{alias}.cell_xy", f"ST_SetSRID(ST_Transform({alias}.point, 2154), 0)")
    return sql


engine.LOAD_REQUEST = exact(engine.LOAD_REQUEST).replace(
    "p.reach_m,", "p.search_radius_m AS reach_m,"
)
profile_change.LOAD_REQUEST = engine.LOAD_REQUEST
candidates._WALKED = candidates._WALKED.replace("w.reach_m", "w.radius_m AS reach_m")
candidates.DISTANCE = exact(candidates.DISTANCE)
candidates.OPEN_REQUESTS_SQL = exact(candidates.OPEN_REQUESTS_SQL).replace(
    "p.reach_m", "p.search_radius_m"
)
_walk_sql, _sweep_sql = candidates.walk_sql, candidates.sweep_sql
candidates.walk_sql = lambda *a, **k: exact(_walk_sql(*a, **k))
candidates.sweep_sql = lambda *a, **k: exact(_sweep_sql(*a, **k)).replace("v.reach_m", "v.radius_m")
