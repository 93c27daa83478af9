"""The self-hosted address index: addok (the Base Adresse Nationale's own search
engine) on a Redis database of its own, fed by the BAN's published files.

addok is a synchronous library configured through one process-wide object; this module
is the only place that touches it. ``bind`` configures it once per process (from
voisins' settings only: no /etc/addok file, no ADDOK_* variables) and points it at a
Redis URL; ``search`` and ``import_file`` are blocking calls (the geocoder runs them in
a worker thread). Addresses are personal data: nothing here logs a query, and errors
name a file's line, never its content.

Files understood (plain or gzipped):
- the BAN's addok export, ``adresses-addok-*.ndjson``: one street (or locality) per
  line with its house numbers;
- the BAN's CSV, ``adresses-75.csv``: one address per line, ``;``-separated, grouped
  here into streets.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import redis

from voisins.errors import Invalid
from voisins.geo.coordinates import validate_point

# addok's pipeline for French addresses, as the BAN configures it (addok-france,
# addok-fr's phonetic folding: «dormoi» finds «Dormoy»).
_ADDOK_SETTINGS: dict[str, Any] = {
    "QUERY_PROCESSORS_PYPATHS": [
        "addok.helpers.text.check_query_length",
        "addok_france.extract_address",
        "addok_france.clean_query",
        "addok_france.remove_leading_zeros",
    ],
    "SEARCH_RESULT_PROCESSORS_PYPATHS": [
        "addok.helpers.results.match_housenumber",
        "addok_france.make_labels",
        "addok.helpers.results.score_by_importance",
        "addok.helpers.results.score_by_autocomplete_distance",
        "addok.helpers.results.score_by_ngram_distance",
        "addok.helpers.results.score_by_geo_distance",
        "addok.helpers.results.adjust_scores",
    ],
    "PROCESSORS_PYPATHS": [
        "addok.helpers.text.tokenize",
        "addok.helpers.text.normalize",
        "addok_france.glue_ordinal",
        "addok_france.fold_ordinal",
        "addok_france.flag_housenumber",
        "addok.helpers.text.synonymize",
        "addok_fr.phonemicize",
    ],
    "EXTRA_FIELDS": [{"key": "citycode"}, {"key": "district"}],
    "FILTERS": ["type", "postcode", "citycode"],
    "LOG_QUERIES": False,
    "LOG_NOT_FOUND": False,
    "SLOW_QUERIES": False,
    "QUERY_MAX_LENGTH": 200,
}
DOCUMENT_TYPES = frozenset({"street", "locality", "municipality"})
CHUNK = 500  # documents per Redis pipeline round
SAMPLE_NAME = "ban-sample-75018.ndjson"

_lock = threading.Lock()
_bound: list[str] = []  # the Redis URL addok points at, once bound


def sample_file() -> Path:
    """The sample shipped for the demo neighbourhood (La Chapelle, Paris 18e): from the
    source tree, or from the installed package (the wheel carries it as ``_data``)."""
    source = Path(__file__).resolve().parents[3] / "data" / SAMPLE_NAME
    if source.is_file():
        return source
    return Path(__file__).resolve().parents[1] / "_data" / SAMPLE_NAME


class AddressFileError(Exception):
    """An address file that cannot be imported; says where, never what it holds."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


class Suggestion(msgspec.Struct, frozen=True):
    """One address found: its label as the BAN writes it, and its point."""

    label: str
    lon: float
    lat: float
    score: float
    citycode: str | None = None


class ImportSummary(msgspec.Struct, frozen=True):
    streets: int
    addresses: int


def _configure_once(url: str) -> None:
    from addok import hooks
    from addok.config import config

    if config.loaded:
        return
    options = redis.connection.parse_url(url)
    # addok's own connect() (run at the end of loading) reads these; the client is
    # replaced by one built from the full URL just after (TLS, user names).
    where = {"host": options.get("host", "localhost"), "port": options.get("port", 6379),
             "db": options.get("db", 0), "password": options.get("password")}  # fmt: skip
    config.REDIS = {**where, "indexes": {"db": where["db"]}, "documents": {"db": where["db"]}}
    config.update(_ADDOK_SETTINGS)
    # addok's Config.load() without load_local/load_from_env: settings come from
    # voisins only.
    config.loaded = True
    config.load_core_plugins()
    hooks.load()  # addok-fr and addok-france, through their entry points
    hooks.preconfigure(config)
    hooks.configure(config)
    config.resolve()
    config.post_process()


def bind(url: str) -> None:
    """Configure addok (once per process) and point it at the Redis database ``url``."""
    with _lock:
        if _bound and _bound[0] == url:
            return
        from addok import db, ds

        _configure_once(url)
        client = redis.Redis.from_url(url)
        db.DB.instance = client
        ds._DB.instance = client
        _bound[:] = [url]


def search(url: str, query: str, *, limit: int = 5, autocomplete: bool = True) -> list[Suggestion]:
    """The best addresses for ``query`` (already checked for length), best first."""
    bind(url)
    from addok.core import search as addok_search

    found: list[Suggestion] = []
    for result in addok_search(query, limit=limit, autocomplete=autocomplete):
        try:
            point = validate_point(float(result.lon), float(result.lat))
        except (TypeError, ValueError, Invalid):  # a point outside France is of no use here
            continue
        citycode = result._doc.get("citycode")
        found.append(
            Suggestion(
                label=str(result),
                lon=point.lon,
                lat=point.lat,
                score=float(result.score),
                citycode=str(citycode) if citycode else None,
            )
        )
    return found


def count_documents(url: str) -> int:
    """How many streets (and localities) the index holds."""
    client = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in client.scan_iter(match="d|*", count=1000))
    finally:
        client.close()


# --- Reading the BAN's files ---------------------------------------------------------


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _checked_point(path: Path, line: int, lon: Any, lat: Any, what: str) -> None:
    x, y = _number(lon), _number(lat)
    if x is None or y is None:
        raise AddressFileError(path, line, f"{what}: lon and lat must be numbers")
    try:
        validate_point(x, y)
    except Invalid:
        raise AddressFileError(path, line, f"{what}: the point is not in France") from None


def _checked_document(path: Path, line: int, doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise AddressFileError(path, line, "each line must be one JSON object")
    for key in ("id", "name"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise AddressFileError(path, line, f"'{key}' is missing or empty")
    if doc.get("type") not in DOCUMENT_TYPES:
        raise AddressFileError(path, line, f"'type' must be one of {sorted(DOCUMENT_TYPES)}")
    _checked_point(path, line, doc.get("lon"), doc.get("lat"), "the street")
    numbers = doc.get("housenumbers") or {}
    if not isinstance(numbers, dict):
        raise AddressFileError(path, line, "'housenumbers' must be an object")
    for number, data in numbers.items():
        if not isinstance(data, dict):
            raise AddressFileError(path, line, "each house number must be an object")
        _checked_point(path, line, data.get("lon"), data.get("lat"), f"house number {number!r}")
    return doc


def _ndjson_documents(path: Path, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            raise AddressFileError(path, number, "not a JSON line") from None
        yield _checked_document(path, number, doc)


# The BAN CSV's columns that matter here (adresses-XX.csv, format of 2020 onwards).
_CSV_COLUMNS = ("id", "numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune",
                "lon", "lat")  # fmt: skip


def _csv_documents(path: Path, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(lines, delimiter=";")
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise AddressFileError(path, 1, f"not a BAN address CSV (missing {', '.join(missing)})")
    streets: dict[str, dict[str, Any]] = {}
    for row in reader:
        line = reader.line_num
        address_id, street_name = (row.get("id") or "").strip(), (row.get("nom_voie") or "").strip()
        if not address_id or not street_name or not (row.get("numero") or "").strip():
            raise AddressFileError(path, line, "'id', 'numero' and 'nom_voie' are required")
        _checked_point(path, line, row.get("lon"), row.get("lat"), "the address")
        street_id = address_id.rsplit("_", 1)[0] if address_id.count("_") >= 2 else address_id
        street = streets.setdefault(street_id, {
            "id": street_id, "type": "street", "name": street_name,
            "postcode": row["code_postal"], "citycode": row["code_insee"],
            "city": row["nom_commune"], "importance": 0.5, "housenumbers": {}, "_points": [],
        })  # fmt: skip
        number = " ".join(p for p in (row["numero"].strip(), (row.get("rep") or "").strip()) if p)
        lon, lat = float(row["lon"]), float(row["lat"])
        street["housenumbers"][number] = {"id": address_id, "lon": lon, "lat": lat}
        street["_points"].append((lon, lat))
    for street in streets.values():
        points = street.pop("_points")
        # The street's own point: the middle of its addresses.
        street["lon"] = round(sum(p[0] for p in points) / len(points), 6)
        street["lat"] = round(sum(p[1] for p in points) / len(points), 6)
        yield street


def read_documents(path: Path | str) -> Iterator[dict[str, Any]]:
    """addok documents from a BAN file, each checked; ``AddressFileError`` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise AddressFileError(path, None, "no such file")
    try:
        with _open(path) as handle:
            first = handle.readline()
            if first.lstrip().startswith("{"):
                yield from _ndjson_documents(path, _chain(first, handle))
            else:
                yield from _csv_documents(path, _chain(first, handle))
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, csv.Error):
        raise AddressFileError(path, None, "not a UTF-8 text file (plain or gzipped)") from None


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest


# --- Importing ------------------------------------------------------------------------


# What each imported document was, as a fingerprint of its line: importing the same
# file again skips what did not change (addok's "update" removes a document's old
# index entries one Redis round trip at a time: minutes for a département).
FINGERPRINTS = "voisins:addresses:fingerprints"


def _fingerprint(doc: dict[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _index(client: redis.Redis, docs: list[dict[str, Any]]) -> None:
    from addok.ds import store_documents
    from addok.helpers import iter_pipe
    from addok.helpers.index import index_documents, prepare_housenumbers

    prints = [_fingerprint(doc) for doc in docs]
    # redis-py types its sync and async clients alike: this one answers a list.
    known = cast(list[bytes | None], client.hmget(FINGERPRINTS, [doc["id"] for doc in docs]))
    changed = []
    for doc, new, old in zip(docs, prints, known, strict=True):
        if old is not None and old.decode() == new:
            continue  # the same document as last time
        # The BAN's own id is the document key, and "update" first removes what an
        # earlier import indexed for it: importing again replaces, never adds.
        doc["_id"] = doc["id"]
        doc["_action"] = "index" if old is None else "update"
        changed.append(doc)
    for _ in iter_pipe(changed, [prepare_housenumbers, store_documents, index_documents]):
        pass
    if changed:
        client.hset(FINGERPRINTS, mapping={d["id"]: p for d, p in zip(docs, prints, strict=True)})


def import_file(url: str, path: Path | str, *, reset: bool = False) -> ImportSummary:
    """Import a BAN file into the addok index at ``url``.

    The whole file is read and checked first: a bad file changes nothing. With
    ``reset``, the index is emptied first (addresses no longer in the BAN go away)."""
    streets = addresses = 0
    for doc in read_documents(path):
        streets += 1
        addresses += len(doc.get("housenumbers") or {})
    bind(url)
    client = redis.Redis.from_url(url)
    try:
        if reset:
            client.flushdb()
        batch: list[dict[str, Any]] = []
        for doc in read_documents(path):
            batch.append(doc)
            if len(batch) >= CHUNK:
                _index(client, batch)
                batch = []
        if batch:
            _index(client, batch)
    finally:
        client.close()
    return ImportSummary(streets=streets, addresses=addresses)
