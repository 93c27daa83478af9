"""Statistics of a centre's territory: what was asked and offered, how much of it found a
volunteer and how fast, who is left waiting, and where activity happens (per public grid
cell, small cells suppressed).

Definitions (README.md repeats them for the people who read the figures):

- **Period**: ``from`` and ``to`` are Europe/Paris calendar days, both included; by default
  the last 30 days up to today. At most 366 days.
- **Posts counted**: those covered by the centre (``post_centres``, fixed at publication)
  that were *created* in the period and *published at least once* (drafts and posts that
  never got through review are not part of the centre's activity). Figures describe
  those posts as they stand now: a request created on the 30th and answered on the 2nd of
  the next month counts as matched in its creation month.
- **Matched request**: at least one volunteer accepted one of its matches — a transition
  to ``accepted`` in ``match_history`` — whatever happened next (review, confirmation,
  completion, cancellation, rejection by the social worker). It is the event the median
  below measures, and *unmatched* is exactly its complement: requests that no volunteer
  ever said yes to, the ones the centre may need to follow up.
- **Time to first acceptance**: from the request's (latest) publication,
  ``posts.published_at``, to the first acceptance at or after it; the median over the
  matched requests (the mean of the two middle values for an even count), in minutes.
- **Active volunteers**: distinct volunteers who accepted at least one match on these
  requests.
- **Activity map**: the same posts counted per public grid cell (``posts.cell_key``);
  a cell holding fewer than ``MIN_ITEMS_PER_CELL`` posts is left out entirely, and no
  exact point is ever read.

- **Intergenerational housing** (the centre's pairs, ``housing_pairs.centre_id``): each
  pair is counted by the Paris day of its event, whatever happened to it afterwards —
  *started*: its trial period began in the period; *confirmed*: its agreement was
  signed in the period; *ended*: it ended in the period, also per end reason. The
  *average length* is over the pairs ended in the period that had begun a trial, from
  the first day of the trial to the end, in days (1 decimal); a proposal that never led
  to a move has no length. *In trial* and the *open applications* per side are how
  things stand today, whatever the period. A pair whose people erased their accounts
  stays, anonymous, and is still counted.

Small numbers: the counts of the centre as a whole are given exactly (those of housing
too: they name nobody, and the social workers who read them know every pair already);
only the activity map, which places posts, leaves out its small cells.

Who reads them: administrators, and the social workers who act for the centre — its
members and the members of its partner centres (``Viewer.centre_ids``). A partnership
already lets the partners' social workers open every post these figures count, so the
aggregates tell them nothing new, and they share the follow-up of unanswered requests.
Titles in the unmatched list are shown to those social workers only (casework text);
administrators get the same list without titles. Every read is written to the audit log.

The figures of the posts come from one statement, so they agree with each other even
while posts are being published; the housing figures come from one more, which makes
them agree among themselves.

One module although over 600 lines: the figures, their CSV and their map answer the same
definitions above over the same period and readers; a third of the length is those
definitions and the declarations of the figures.
"""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date, datetime, time, timedelta
from typing import Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import Viewer, acts_for_any
from voisins.categories import LABELS, Category
from voisins.clock import PARIS
from voisins.errors import Forbidden, Invalid, NotFound
from voisins.geo import sql as geosql
from voisins.geo.grid import Cell, cell_polygon
from voisins.housing.schemas import EndReason
from voisins.posts.schemas import PostStatus, PublicCell

DEFAULT_DAYS = 30
MAX_DAYS = 366
# k-anonymity of the activity map: a cell is shown only with at least this many posts.
MIN_ITEMS_PER_CELL = 5
# The unmatched list shows the oldest requests first; ``totals.requests_unmatched`` has
# the full count.
UNMATCHED_LIMIT = 500

Lang = Literal["fr", "en"]


# ---------------------------------------------------------------------------------------
# What the API returns
# ---------------------------------------------------------------------------------------


class Period(msgspec.Struct, kw_only=True):
    """Europe/Paris calendar days, both included."""

    from_: date = msgspec.field(name="from")
    to: date
    days: int
    timezone: str = "Europe/Paris"


class CategoryFigures(msgspec.Struct, kw_only=True):
    category: Category
    label_fr: str
    label_en: str
    requests: int
    offers: int
    requests_matched: int


class Totals(msgspec.Struct, kw_only=True):
    requests: int
    offers: int
    requests_matched: int
    requests_unmatched: int
    # requests_matched / requests, 4 decimals; null without any request.
    matched_share: float | None
    # Minutes from publication to the first acceptance, 1 decimal; null when none.
    median_minutes_to_first_acceptance: float | None
    active_volunteers: int


class UnmatchedRequest(msgspec.Struct, kw_only=True):
    """A request nobody accepted: its public cell only, never a place or an author."""

    id: int
    category: Category
    created_on: date
    status: PostStatus
    cell: PublicCell
    # Shown to the social workers acting for the centre; null for administrators.
    title: str | None


# (French, English) names of the reasons a housing pair ends, in the export's order.
END_REASONS: dict[EndReason, tuple[str, str]] = {
    "not_compatible": ("Rencontre non concluante", "Meeting not conclusive"),
    "term_reached": ("Terme prévu atteint", "Planned term reached"),
    "host_request": ("À la demande de l'hôte", "At the host's request"),
    "young_request": ("À la demande du jeune", "At the young person's request"),
    "health": ("Santé", "Health"),
    "moved": ("Déménagement", "Moved away"),
    "conflict": ("Mésentente", "Conflict"),
    "other": ("Autre raison", "Other reason"),
}


class EndReasonFigures(msgspec.Struct, kw_only=True):
    reason: EndReason
    label_fr: str
    label_en: str
    pairs: int


class HousingFigures(msgspec.Struct, kw_only=True):
    """Intergenerational housing of the centre (definitions in the module's docstring)."""

    pairs_started: int
    pairs_in_trial: int
    pairs_confirmed: int
    pairs_ended: int
    # Every reason, in a fixed order, zero included.
    ended_by_reason: list[EndReasonFigures]
    # Days from the trial's first day to the end, 1 decimal; null when none ended.
    average_length_days: float | None
    open_host_applications: int
    open_young_applications: int


class CentreStatistics(msgspec.Struct, kw_only=True):
    centre_id: int
    centre_name: str
    period: Period
    totals: Totals
    categories: list[CategoryFigures]
    unmatched: list[UnmatchedRequest]
    housing: HousingFigures


class CellCounts(msgspec.Struct, kw_only=True):
    requests: int
    offers: int
    matched: int


class CellPolygon(msgspec.Struct, kw_only=True):
    type: Literal["Polygon"]
    # One ring, longitude first, EPSG:4326, 6 decimals (RFC 7946).
    coordinates: list[list[tuple[float, float]]]


class CellFeature(msgspec.Struct, kw_only=True):
    type: Literal["Feature"]
    geometry: CellPolygon
    properties: CellCounts


class ActivityMap(msgspec.Struct, kw_only=True):
    """A GeoJSON FeatureCollection (RFC 7946); ``period`` and ``min_items_per_cell`` are
    foreign members that say what the map covers."""

    type: Literal["FeatureCollection"]
    features: list[CellFeature]
    period: Period
    min_items_per_cell: int


class CsvExport(msgspec.Struct, kw_only=True):
    filename: str
    content: str


# ---------------------------------------------------------------------------------------
# Period and access
# ---------------------------------------------------------------------------------------


def today_in_paris() -> date:
    return clock.today()


FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def parse_day(value: str | None, field: str) -> date | None:
    """A query's YYYY-MM-DD day; ``Invalid`` naming ``field`` for anything else."""
    if value is None or value == "":
        return None
    try:
        if len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(field, "must be a day as YYYY-MM-DD") from None
    # The period's arithmetic (a default start 29 days before, the day after the end)
    # must stay within the calendar: year 1 or 9999 would overflow into a 500.
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid.field(field, f"must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def resolve_period(first_text: str | None, last_text: str | None, today: date) -> Period:
    """The period asked for, with the defaults: the last 30 days; only ``from``: up to
    today; only ``to``: the 30 days up to it."""
    first, last = parse_day(first_text, "from"), parse_day(last_text, "to")
    if last is None:
        last = today
        if first is None:
            first = today - timedelta(days=DEFAULT_DAYS - 1)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Invalid(
            "from must be on or before to",
            {"from": "must be on or before to", "to": "must be on or after from"},
        )
    days = (last - first).days + 1
    if days > MAX_DAYS:
        reason = f"the period covers {days} days; at most {MAX_DAYS}"
        raise Invalid(f"period too long: {reason}", {"from": reason, "to": reason})
    return Period(from_=first, to=last, days=days)


def _bounds(period: Period) -> dict[str, datetime]:
    """Paris midnight of the first day to Paris midnight after the last (DST-aware)."""
    start = datetime.combine(period.from_, time.min, PARIS)
    end = datetime.combine(period.to + timedelta(days=1), time.min, PARIS)
    return {"start": start, "end": end}


class _Access(msgspec.Struct, frozen=True):
    centre_name: str
    titles: bool


async def _authorise(conn: AsyncConnection, viewer: Viewer, centre_id: int) -> _Access:
    if not (viewer.is_admin or viewer.is_social_worker):
        raise Forbidden("only social workers and administrators read a centre's statistics")
    name = (
        await conn.execute(text("SELECT name FROM centres WHERE id = :id"), {"id": centre_id})
    ).scalar()
    if name is None:
        raise NotFound("no such centre")
    acts_for_centre = acts_for_any(viewer, {centre_id})
    if not (viewer.is_admin or acts_for_centre):
        raise Forbidden("only the social workers acting for this centre read its statistics")
    return _Access(centre_name=str(name), titles=acts_for_centre)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------

# The posts counted: covered by the centre (the post_centres index finds them), created
# in the period, published at least once. ``p`` is the post.
_FROM = "FROM post_centres pc JOIN posts p ON p.id = pc.post_id"
_WHERE = """
WHERE pc.centre_id = :centre_id
  AND p.created_at >= :start AND p.created_at < :end
  AND p.published_at IS NOT NULL
"""
# The acceptances of post ``p``'s matches, from the append-only history.
_ACCEPTANCES = """
matches m JOIN match_history h ON h.match_id = m.id
WHERE m.post_id = p.id AND h.to_status = 'accepted'
"""

# One row per post: what the figures and the unmatched list are made of.
_POSTS = text(
    f"""
    SELECT p.id, p.kind, p.category, p.status, p.title, p.created_at, p.cell_key,
           {geosql.lon_lat("p.cell_centre", "cell_")},
           acc.first_at IS NOT NULL AS matched,
           EXTRACT(EPOCH FROM acc.first_after_publication - p.published_at) / 60 AS minutes,
           acc.volunteer_ids
    {_FROM}
    LEFT JOIN LATERAL (
        SELECT min(h.at) AS first_at,
               min(h.at) FILTER (WHERE h.at >= p.published_at) AS first_after_publication,
               array_agg(DISTINCT m.volunteer_id) AS volunteer_ids
        FROM {_ACCEPTANCES}
    ) acc ON p.kind = 'request'
    {_WHERE}
    ORDER BY p.created_at, p.id
    """
)

# Posts per public cell; cells under the threshold never leave the database.
_CELLS = text(
    f"""
    SELECT p.cell_key,
           count(*) FILTER (WHERE p.kind = 'request') AS requests,
           count(*) FILTER (WHERE p.kind = 'offer') AS offers,
           count(*) FILTER (WHERE p.kind = 'request'
                            AND EXISTS (SELECT 1 FROM {_ACCEPTANCES})) AS matched
    {_FROM}
    {_WHERE}
    GROUP BY p.cell_key
    HAVING count(*) >= :min_items
    ORDER BY p.cell_key
    """
)


# The centre's housing pairs, each counted by the day of its event; one statement, so
# the figures agree with each other.
_HOUSING = text(
    """
    WITH pairs AS (
        SELECT status, trial_started_on, agreement_signed_on, ended_on, end_reason,
               ended_on BETWEEN :first AND :last AS ended_in_period
        FROM housing_pairs WHERE centre_id = :centre_id
    )
    SELECT
        (SELECT count(*) FROM pairs WHERE trial_started_on BETWEEN :first AND :last) AS started,
        (SELECT count(*) FROM pairs WHERE status = 'trial') AS in_trial,
        (SELECT count(*) FROM pairs
         WHERE agreement_signed_on BETWEEN :first AND :last) AS confirmed,
        (SELECT count(*) FROM pairs WHERE ended_in_period) AS ended,
        (SELECT avg(ended_on - trial_started_on) FROM pairs
         WHERE ended_in_period AND trial_started_on IS NOT NULL) AS average_days,
        (SELECT coalesce(jsonb_object_agg(end_reason, n), '{}')
         FROM (SELECT end_reason, count(*) AS n FROM pairs WHERE ended_in_period
               GROUP BY end_reason) r) AS by_reason,
        (SELECT count(*) FROM housing_applications
         WHERE centre_id = :centre_id AND status = 'open' AND side = 'host') AS open_host,
        (SELECT count(*) FROM housing_applications
         WHERE centre_id = :centre_id AND status = 'open' AND side = 'young') AS open_young
    """
)


async def _housing(conn: AsyncConnection, centre_id: int, period: Period) -> HousingFigures:
    row = (
        await conn.execute(
            _HOUSING, {"centre_id": centre_id, "first": period.from_, "last": period.to}
        )
    ).one()
    by_reason: dict[str, int] = row.by_reason
    return HousingFigures(
        pairs_started=row.started,
        pairs_in_trial=row.in_trial,
        pairs_confirmed=row.confirmed,
        pairs_ended=row.ended,
        ended_by_reason=[
            EndReasonFigures(
                reason=reason,
                label_fr=labels[0],
                label_en=labels[1],
                pairs=by_reason.get(reason, 0),
            )
            for reason, labels in END_REASONS.items()
        ],
        average_length_days=(
            round(float(row.average_days), 1) if row.average_days is not None else None
        ),
        open_host_applications=row.open_host,
        open_young_applications=row.open_young,
    )


async def _figures(
    conn: AsyncConnection, centre_id: int, access: _Access, period: Period
) -> CentreStatistics:
    rows = (await conn.execute(_POSTS, {"centre_id": centre_id, **_bounds(period)})).all()
    per_category: dict[str, dict[str, int]] = {
        c: {"requests": 0, "offers": 0, "requests_matched": 0} for c in LABELS
    }
    minutes: list[float] = []
    volunteers: set[int] = set()
    unmatched: list[UnmatchedRequest] = []
    unmatched_count = 0
    for row in rows:
        figures = per_category[row.category]
        if row.kind == "offer":
            figures["offers"] += 1
            continue
        figures["requests"] += 1
        if row.matched:
            figures["requests_matched"] += 1
            volunteers.update(row.volunteer_ids)
            if row.minutes is not None:
                minutes.append(float(row.minutes))
            continue
        unmatched_count += 1
        if len(unmatched) < UNMATCHED_LIMIT:
            unmatched.append(
                UnmatchedRequest(
                    id=row.id,
                    category=row.category,
                    created_on=row.created_at.astimezone(PARIS).date(),
                    status=row.status,
                    cell=PublicCell(row.cell_key, row.cell_lon, row.cell_lat),
                    title=row.title if access.titles else None,
                )
            )
    requests = sum(f["requests"] for f in per_category.values())
    matched = sum(f["requests_matched"] for f in per_category.values())
    totals = Totals(
        requests=requests,
        offers=sum(f["offers"] for f in per_category.values()),
        requests_matched=matched,
        requests_unmatched=unmatched_count,
        matched_share=round(matched / requests, 4) if requests else None,
        median_minutes_to_first_acceptance=(
            round(statistics.median(minutes), 1) if minutes else None
        ),
        active_volunteers=len(volunteers),
    )
    return CentreStatistics(
        centre_id=centre_id,
        centre_name=access.centre_name,
        period=period,
        totals=totals,
        categories=[
            CategoryFigures(
                category=category,  # type: ignore[arg-type]
                label_fr=LABELS[category][0],
                label_en=LABELS[category][1],
                **figures,
            )
            for category, figures in per_category.items()
        ],
        unmatched=unmatched,
        housing=await _housing(conn, centre_id, period),
    )


async def centre_statistics(
    conn: AsyncConnection,
    viewer: Viewer,
    centre_id: int,
    first: str | None,
    last: str | None,
    *,
    today: date | None = None,
) -> CentreStatistics:
    stats, _ = await _read(conn, viewer, centre_id, first, last, today, "statistics.read")
    return stats


async def _read(
    conn: AsyncConnection,
    viewer: Viewer,
    centre_id: int,
    first: str | None,
    last: str | None,
    today: date | None,
    action: str,
) -> tuple[CentreStatistics, Period]:
    """The figures of the period asked for, to a reader allowed to see them (audited
    as ``action``)."""
    access = await _authorise(conn, viewer, centre_id)
    period = resolve_period(first, last, today or today_in_paris())
    stats = await _figures(conn, centre_id, access, period)
    await audit.record(conn, viewer, action, "centre", centre_id)
    return stats, period


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------

_HEADERS: dict[Lang, tuple[str, ...]] = {
    "fr": ("Centre", "Du", "Au", "Indicateur", "Catégorie", "Valeur"),
    "en": ("Centre", "From", "To", "Metric", "Category", "Value"),
}
# (French, English) labels of the metrics, in the order of the export.
METRICS: dict[str, tuple[str, str]] = {
    "requests": ("Demandes publiées", "Requests published"),
    "offers": ("Offres publiées", "Offers published"),
    "requests_matched": ("Demandes mises en relation", "Requests matched"),
    "requests_unmatched": ("Demandes sans mise en relation", "Requests never matched"),
    "matched_share": (
        "Part des demandes mises en relation (%)",
        "Share of requests matched (%)",
    ),
    "median_minutes_to_first_acceptance": (
        "Délai médian jusqu'à la première acceptation (minutes)",
        "Median time to first acceptance (minutes)",
    ),
    "active_volunteers": ("Bénévoles actifs", "Active volunteers"),
}
ALL_CATEGORIES = ("Toutes catégories", "All categories")
_PER_CATEGORY = ("requests", "offers", "requests_matched")
# Housing rows: their category is intergenerational housing; the pairs ended carry one
# row per reason, whose label replaces the category.
HOUSING_CATEGORY = LABELS["hebergement_intergenerationnel"]
HOUSING_METRICS: dict[str, tuple[str, str]] = {
    "pairs_started": (
        "Binômes de logement commencés (période d'essai)",
        "Housing pairs started (trial period)",
    ),
    "pairs_in_trial": (
        "Binômes de logement en période d'essai aujourd'hui",
        "Housing pairs in their trial period today",
    ),
    "pairs_confirmed": (
        "Binômes de logement confirmés (convention signée)",
        "Housing pairs confirmed (agreement signed)",
    ),
    "pairs_ended": ("Binômes de logement terminés", "Housing pairs ended"),
    "average_length_days": (
        "Durée moyenne des binômes de logement terminés (jours)",
        "Average length of the housing pairs ended (days)",
    ),
    "open_host_applications": (
        "Candidatures d'hôtes ouvertes aujourd'hui",
        "Open host applications today",
    ),
    "open_young_applications": (
        "Candidatures de jeunes ouvertes aujourd'hui",
        "Open young people's applications today",
    ),
}
ENDED_BY_REASON = (
    "Binômes de logement terminés, par motif",
    "Housing pairs ended, by reason",
)


def _number(value: float | None, lang: Lang) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    shown = f"{value:.1f}"
    return shown.replace(".", ",") if lang == "fr" else shown


def render_csv(stats: CentreStatistics, lang: Lang) -> str:
    """One table in long format — centre, period, metric, category, value — which a
    spreadsheet filters and pivots, and which several exports can be stacked into.
    French files use ``;`` and a decimal comma, as French spreadsheets expect; English
    files ``,`` and a decimal point. Shares are percentages. A byte-order mark lets
    Excel read the accents as UTF-8."""
    index = 0 if lang == "fr" else 1
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if lang == "fr" else ",", lineterminator="\r\n")
    writer.writerow(_HEADERS[lang])
    lead = (stats.centre_name, stats.period.from_.isoformat(), stats.period.to.isoformat())
    totals = stats.totals
    for metric, labels in METRICS.items():
        value: float | None = getattr(totals, metric)
        if metric == "matched_share" and value is not None:
            value = round(value * 100, 1)
        writer.writerow((*lead, labels[index], ALL_CATEGORIES[index], _number(value, lang)))
    for metric in _PER_CATEGORY:
        for figures in stats.categories:
            label = figures.label_fr if lang == "fr" else figures.label_en
            count = getattr(figures, metric)
            writer.writerow((*lead, METRICS[metric][index], label, _number(count, lang)))
    housing = stats.housing
    for metric, labels in HOUSING_METRICS.items():
        value = getattr(housing, metric)
        writer.writerow((*lead, labels[index], HOUSING_CATEGORY[index], _number(value, lang)))
    for reason in housing.ended_by_reason:
        label = reason.label_fr if lang == "fr" else reason.label_en
        writer.writerow((*lead, ENDED_BY_REASON[index], label, _number(reason.pairs, lang)))
    return out.getvalue()


async def viewer_locale(conn: AsyncConnection, viewer: Viewer) -> Lang:
    locale = (
        await conn.execute(text("SELECT locale FROM users WHERE id = :id"), {"id": viewer.id})
    ).scalar()
    return "en" if locale == "en" else "fr"


async def statistics_csv(
    conn: AsyncConnection,
    viewer: Viewer,
    centre_id: int,
    first: str | None,
    last: str | None,
    lang: Lang | None,
    *,
    today: date | None = None,
) -> CsvExport:
    stats, period = await _read(conn, viewer, centre_id, first, last, today, "statistics.export")
    lang = lang or await viewer_locale(conn, viewer)
    stem = "statistiques-centre" if lang == "fr" else "statistics-centre"
    return CsvExport(
        filename=f"{stem}-{centre_id}-{period.from_.isoformat()}-{period.to.isoformat()}.csv",
        content=render_csv(stats, lang),
    )


# ---------------------------------------------------------------------------------------
# Activity map
# ---------------------------------------------------------------------------------------


def cell_geometry(cell_key: str) -> CellPolygon:
    """The public cell's square, from its key alone (geo/grid.py), never from a point."""
    ring = cell_polygon(Cell.from_key(cell_key)).exterior.coords
    return CellPolygon(type="Polygon", coordinates=[[(lon, lat) for lon, lat in ring]])


async def activity_map(
    conn: AsyncConnection,
    viewer: Viewer,
    centre_id: int,
    first: str | None,
    last: str | None,
    *,
    today: date | None = None,
) -> ActivityMap:
    await _authorise(conn, viewer, centre_id)
    period = resolve_period(first, last, today or today_in_paris())
    rows = (
        await conn.execute(
            _CELLS,
            {"centre_id": centre_id, "min_items": MIN_ITEMS_PER_CELL, **_bounds(period)},
        )
    ).all()
    await audit.record(conn, viewer, "statistics.map", "centre", centre_id)
    return ActivityMap(
        type="FeatureCollection",
        features=[
            CellFeature(
                type="Feature",
                geometry=cell_geometry(row.cell_key),
                properties=CellCounts(
                    requests=row.requests, offers=row.offers, matched=row.matched
                ),
            )
            for row in rows
        ],
        period=period,
        min_items_per_cell=MIN_ITEMS_PER_CELL,
    )
