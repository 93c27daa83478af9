"""Where France is: one coarse polygon per zone, and the projected CRS of each zone.

The polygons are hand-drawn outlines, not legal borders. Each vertex was placed from
known coordinates of coastal and border places (capes, outer islands, border towns,
river borders such as the Rhine, the Maroni and the Oyapock) and then pushed outwards
by roughly 10-20 km (a little more across open sea). Their only job is to refuse
"far outside France" and obvious garbage (swapped or zeroed coordinates); a point
just across a land border (Basel, Geneva, Monaco, Andorra, Sint Maarten) may pass,
and that is accepted. The test suite pins places that must fall inside and foreign
cities that must fall outside.

Each zone has its own projected CRS in metres, because the public privacy grid is
drawn in it. Lambert-93 (EPSG:2154) is what the design requires, but it is defined for
metropolitan France and Corsica only: projected overseas it is undefined or distorted
beyond use, so every overseas département uses its official local UTM projection.
Zones that share a CRS (Guadeloupe, Martinique, Saint-Martin and Saint-Barthélemy on
RGAF09 / UTM 20N) share one grid; they stay separate zones so that a territory must lie
within one island group.

Saint-Pierre-et-Miquelon is left out on purpose: it would need a sixth CRS (EPSG:4467)
that the schema and the rest of the code do not expect.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.validation import explain_validity

# (lon, lat) outlines, each listed once around the zone; the ring is closed in code.
_METROPOLE = (
    (2.55, 51.25),  # off Bray-Dunes, the northern tip
    (3.35, 50.90),  # Belgian border past Halluin
    (4.10, 50.50),  # past Maubeuge
    (4.95, 50.30),  # around the Givet tongue
    (5.35, 49.80),  # Sedan
    (6.00, 49.62),  # Longwy and the Luxembourg border
    (6.45, 49.58),  # Schengen tripoint
    (7.10, 49.30),  # Saarland border (Forbach, Sarreguemines)
    (8.00, 49.15),  # Wissembourg
    (8.35, 48.95),  # Lauterbourg, north end of the Rhine border
    (7.98, 48.55),  # Rhine at Strasbourg
    (7.75, 48.00),  # Rhine at Neuf-Brisach
    (7.72, 47.55),  # Basel
    (6.95, 47.28),  # Jura border (Delle, Goumois)
    (6.60, 46.92),  # Pontarlier
    (6.30, 46.62),  # Les Rousses
    (6.25, 46.40),  # around Geneva and the Pays de Gex
    (6.85, 46.48),  # Lake Geneva south shore to Saint-Gingolph
    (7.05, 46.25),  # Châtel
    (7.15, 45.90),  # Mont Blanc
    (7.20, 45.45),  # Val d'Isère
    (7.05, 45.20),  # Mont Cenis
    (6.90, 44.90),  # Montgenèvre
    (7.10, 44.62),  # Col de l'Agnel
    (7.15, 44.30),  # Isola
    (7.80, 44.20),  # Tende and the Roya valley
    (7.70, 43.75),  # Menton
    (7.40, 43.55),  # off Nice
    (6.50, 42.92),  # off the Îles d'Hyères
    (5.50, 42.98),  # off Marseille
    (4.50, 43.20),  # off the Camargue
    (3.50, 43.15),  # off Agde
    (3.35, 42.40),  # Cerbère, the Spanish border at the sea
    (2.60, 42.25),  # Puig de Coma Negra, the southern tip
    (1.70, 42.30),  # Cerdagne (Bourg-Madame)
    (1.30, 42.40),  # Andorra
    (0.70, 42.55),  # Val d'Aran
    (0.00, 42.57),  # Gavarnie
    (-0.60, 42.72),  # Portalet
    (-1.30, 42.92),  # Saint-Jean-Pied-de-Port
    (-1.60, 43.10),  # Baztan
    (-1.90, 43.38),  # Hendaye
    (-1.60, 44.60),  # off Cap Ferret
    (-1.60, 45.70),  # off the Gironde estuary
    (-1.75, 46.10),  # off Oléron and Ré
    (-2.05, 46.45),  # off Les Sables-d'Olonne
    (-2.60, 46.70),  # off Île d'Yeu
    (-2.50, 47.05),  # off Noirmoutier
    (-3.45, 47.25),  # off Belle-Île
    (-4.40, 47.65),  # off the Glénan
    (-4.55, 47.75),  # off Penmarc'h
    (-5.05, 47.98),  # off Île de Sein
    (-5.35, 48.45),  # off Ouessant
    (-4.50, 48.80),  # off Île Vierge
    (-3.50, 49.05),  # off the Sept-Îles
    (-2.40, 48.85),  # off Bréhat and Cap Fréhel
    (-1.80, 49.05),  # Chausey, south of Jersey
    (-2.08, 49.80),  # Cap de la Hague, east of Jersey and Alderney
    (-1.15, 49.80),  # off Barfleur
    (0.10, 49.80),  # Cap d'Antifer
    (1.10, 50.05),  # off Dieppe
    (1.40, 50.85),  # off Boulogne and Cap Gris-Nez
    (1.70, 51.05),  # off Calais, south of Dover
)
_CORSICA = (
    (9.25, 43.12),  # off Cap Corse
    (9.50, 43.10),
    (9.65, 42.70),  # off Bastia
    (9.65, 42.10),  # off Aléria
    (9.35, 41.45),  # off Porto-Vecchio
    (9.30, 41.30),  # Lavezzi islands, north of La Maddalena
    (9.10, 41.30),  # Bonifacio
    (8.75, 41.50),
    (8.50, 41.80),  # Îles Sanguinaires
    (8.45, 42.20),
    (8.55, 42.55),  # off Calvi
    (8.95, 42.85),  # off the Agriates
)
_GUADELOUPE = (
    (-61.95, 16.00),  # off Basse-Terre
    (-61.90, 16.40),
    (-61.55, 16.65),  # off Anse-Bertrand
    (-61.30, 16.62),
    (-60.85, 16.40),  # off La Désirade
    (-60.85, 16.25),
    (-61.10, 15.75),  # off Marie-Galante, north of Dominica
    (-61.55, 15.75),  # Les Saintes
    (-61.80, 15.80),
)
_MARTINIQUE = (
    (-61.35, 14.75),
    (-61.30, 14.95),  # off Grand-Rivière, south of Dominica
    (-61.05, 14.98),
    (-60.75, 14.80),  # off La Trinité
    (-60.70, 14.55),
    (-60.80, 14.30),  # off Sainte-Anne, north of Saint Lucia
    (-61.00, 14.32),
    (-61.30, 14.45),
)
_SAINT_MARTIN_BARTHELEMY = (
    (-63.20, 18.00),
    (-63.20, 18.16),  # south of Anguilla
    (-62.95, 18.16),
    (-62.75, 17.98),
    (-62.75, 17.83),  # off Saint-Barthélemy
    (-62.95, 17.83),
)
_GUYANE = (
    (-54.30, 5.95),  # off Awala-Yalimapo, the Maroni mouth
    (-52.50, 5.50),  # off the Îles du Salut
    (-52.10, 5.10),  # off Cayenne
    (-51.50, 4.50),  # off the Oyapock mouth
    (-51.35, 4.20),
    (-52.10, 2.95),  # Oyapock river (Saint-Georges, Camopi)
    (-52.60, 1.95),  # Trois-Sauts
    (-54.30, 1.95),  # Tumuc-Humac mountains
    (-54.85, 2.30),
    (-54.75, 3.40),  # Lawa river (Maripasoula)
    (-54.65, 4.30),  # Grand-Santi
    (-54.55, 5.20),  # Apatou
)
_REUNION = (
    (55.10, -21.00),
    (55.30, -20.75),  # off Saint-Denis
    (55.60, -20.75),
    (55.90, -20.90),
    (55.95, -21.20),  # off Saint-Benoît
    (55.80, -21.50),  # off Saint-Philippe
    (55.50, -21.50),
    (55.15, -21.30),  # off Saint-Leu
)
_MAYOTTE = (
    (44.85, -12.85),
    (44.95, -12.55),  # off Mtsamboro
    (45.15, -12.52),
    (45.40, -12.70),  # off Petite-Terre
    (45.40, -12.95),
    (45.20, -13.12),
    (44.95, -13.08),  # off Kani-Kéli
)


@dataclass(frozen=True)
class Zone:
    """One part of France and the projected CRS (metres) its public grid is drawn in."""

    name: str
    srid: int
    polygon: MultiPolygon


def _zone(name: str, srid: int, *outlines: tuple[tuple[float, float], ...]) -> Zone:
    polygon = MultiPolygon([Polygon([*outline, outline[0]]) for outline in outlines])
    if not polygon.is_valid:  # a typo in a vertex list must not pass silently
        raise RuntimeError(f"zone {name}: {explain_validity(polygon)}")
    shapely.prepare(polygon)
    return Zone(name, srid, polygon)


ZONES: tuple[Zone, ...] = (
    _zone("metropole", 2154, _METROPOLE, _CORSICA),
    _zone("guadeloupe", 5490, _GUADELOUPE),
    _zone("martinique", 5490, _MARTINIQUE),
    _zone("saint-martin-saint-barthelemy", 5490, _SAINT_MARTIN_BARTHELEMY),
    _zone("guyane", 2972, _GUYANE),
    _zone("reunion", 2975, _REUNION),
    _zone("mayotte", 4471, _MAYOTTE),
)
GRID_SRIDS: frozenset[int] = frozenset(zone.srid for zone in ZONES)


def zone_at(lon: float, lat: float) -> Zone | None:
    """The zone whose outline covers (lon, lat), or None outside France."""
    point = Point(lon, lat)
    for zone in ZONES:
        if zone.polygon.covers(point):
            return zone
    return None
