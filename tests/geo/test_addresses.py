"""The self-hosted address search: the BAN sample imported into a real addok index (the
tests' own Redis database), searched as people type, imported again, refused when bad."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voisins.geo import addresses
from voisins.geo.addresses import AddressFileError, count_documents, import_file, search
from voisins.geo.geocoder import (
    AddokGeocoder,
    BanGeocoder,
    DisabledGeocoder,
    GeocoderUnavailable,
    geocoder_from_settings,
)
from voisins.settings import load_settings

SAMPLE = addresses.sample_file()
STREETS_IN_SAMPLE = 26


def sample_street(name: str) -> dict[str, object]:
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        if doc["name"] == name:
            return doc
    raise LookupError(name)


@pytest.fixture
def index(redis_url: str) -> str:
    """The tests' own Redis database (emptied after each test) holds the index: the
    settings of a test run point addok there."""
    assert load_settings(environment="test", redis_url=redis_url).addok_redis_dsn == redis_url
    return redis_url


@pytest.fixture
def sample(index: str) -> str:
    import_file(index, SAMPLE)
    return index


def labels(url: str, query: str) -> list[str]:
    return [found.label for found in search(url, query)]


def test_the_sample_covers_the_demo_neighbourhood() -> None:
    docs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == STREETS_IN_SAMPLE
    numbers = [n for doc in docs for n in doc["housenumbers"].values()]
    assert len(numbers) > 300
    # around the demo point (lon 2.354, lat 48.886), within about 1.5 km
    assert all(2.34 < n["lon"] < 2.37 and 48.88 < n["lat"] < 48.90 for n in numbers)


def test_typed_addresses_are_found_with_typos_and_without_accents(sample: str) -> None:
    assert labels(sample, "12 rue marx dormoy")[0] == "12 Rue Marx Dormoy 75018 Paris"
    assert labels(sample, "12 rue marx dormoi")[0] == "12 Rue Marx Dormoy 75018 Paris"
    assert labels(sample, "rue marx dormoi")[0] == "Rue Marx Dormoy 75018 Paris"
    assert labels(sample, "18 rue leon")[0] == "18 Rue Léon 75018 Paris"
    assert labels(sample, "3 bis rue marx dormoy")[0] == "3 bis Rue Marx Dormoy 75018 Paris"
    assert labels(sample, "rue phillipe de girard")[0] == "Rue Philippe de Girard 75018 Paris"
    # a word still being typed
    assert labels(sample, "12 rue marx dor")[0] == "12 Rue Marx Dormoy 75018 Paris"
    assert labels(sample, "zzz") == []


def test_a_house_number_has_its_own_point(sample: str) -> None:
    twelve = sample_street("Rue Marx Dormoy")["housenumbers"]["12"]  # type: ignore[index]
    found = search(sample, "12 rue marx dormoy")[0]
    assert (found.lon, found.lat) == (twelve["lon"], twelve["lat"])
    other = search(sample, "40 rue marx dormoy")[0]
    assert (other.lon, other.lat) != (found.lon, found.lat)


def test_importing_again_replaces_and_never_duplicates(sample: str, tmp_path: Path) -> None:
    import_file(sample, SAMPLE)
    assert count_documents(sample) == STREETS_IN_SAMPLE
    assert labels(sample, "12 rue marx dormoy").count("12 Rue Marx Dormoy 75018 Paris") == 1
    # The BAN renamed the street (same id): the old name is no longer found.
    street = sample_street("Rue Marx Dormoy")
    street["name"] = "Rue Renommée Exprès"
    renamed = tmp_path / "renamed.ndjson"
    renamed.write_text(json.dumps(street, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = import_file(sample, renamed)
    assert (summary.streets, summary.addresses) == (1, len(street["housenumbers"]))  # type: ignore[arg-type]
    assert count_documents(sample) == STREETS_IN_SAMPLE
    assert labels(sample, "12 rue renommee expres")[0] == "12 Rue Renommée Exprès 75018 Paris"
    assert not any("Marx Dormoy" in label for label in labels(sample, "rue marx dormoy"))
    # The sample again: the unchanged streets are skipped, the renamed one comes back.
    import_file(sample, SAMPLE)
    assert labels(sample, "12 rue marx dormoy")[0] == "12 Rue Marx Dormoy 75018 Paris"
    assert not any("Renommée" in label for label in labels(sample, "rue renommee expres"))
    assert count_documents(sample) == STREETS_IN_SAMPLE


def test_reset_empties_the_index_first(sample: str, tmp_path: Path) -> None:
    one = tmp_path / "one.ndjson"
    one.write_text(json.dumps(sample_street("Rue Pajol")) + "\n", encoding="utf-8")
    import_file(sample, one, reset=True)
    assert count_documents(sample) == 1
    assert not any("Marx Dormoy" in label for label in labels(sample, "rue marx dormoy"))


def test_gzipped_files_and_the_ban_csv_are_imported(index: str, tmp_path: Path) -> None:
    packed = tmp_path / "adresses-addok-75.ndjson.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert import_file(index, packed).streets == STREETS_IN_SAMPLE
    header = (
        "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
        "code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;"
        "nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;"
        "certification_commune;cad_parcelles"
    )
    rows = [
        "75118_9999_00005;;5;;Rue Ferdinand Flocon;75018;75118;Paris;;;;;2.348201;48.891020;"
        "entrée;;;PARIS;RUE FERDINAND FLOCON;commune;commune;1;",
        "75118_9999_00007;;7;bis;Rue Ferdinand Flocon;75018;75118;Paris;;;;;2.348301;48.891120;"
        "entrée;;;PARIS;RUE FERDINAND FLOCON;commune;commune;1;",
    ]
    csv_file = tmp_path / "adresses-75.csv.gz"
    csv_file.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))
    summary = import_file(index, csv_file)
    assert (summary.streets, summary.addresses) == (1, 2)
    found = search(index, "7 bis rue ferdinand flocon")[0]
    assert found.label == "7 bis Rue Ferdinand Flocon 75018 Paris"
    assert (found.lon, found.lat) == (2.348301, 48.89112)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"id": "75118_1", "type": "street"\n', "line 3: not a JSON line"),
        (b'{"id": "75118_1", "type": "street", "lon": 2.35, "lat": 48.88}\n', "line 3: 'name'"),
        (b'{"id": "x", "type": "street", "name": "Rue", "lon": -0.12, "lat": 51.5}\n',
         "line 3: the street: the point is not in France"),
        (b'{"id": "x", "type": "planet", "name": "Rue", "lon": 2.35, "lat": 48.88}\n',
         "line 3: 'type'"),
        (b'[1, 2]\n', "line 3: each line must be one JSON object"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_whole_with_its_line(
    index: str, tmp_path: Path, content: bytes, reason: str
) -> None:
    good = SAMPLE.read_bytes().splitlines(keepends=True)[:2]
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"".join(good) + content)
    with pytest.raises(AddressFileError) as refused:
        import_file(index, bad)
    assert f"bad.ndjson, {reason}" in str(refused.value)
    assert count_documents(index) == 0  # the two good lines were not imported either


def test_files_that_are_not_address_files_are_refused(index: str, tmp_path: Path) -> None:
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    other_csv = tmp_path / "people.csv"
    other_csv.write_text("name;phone\nAlice;0600000000\n", encoding="utf-8")
    for path, reason in (
        (tmp_path / "missing.ndjson", "no such file"),
        (binary, "not a UTF-8 text file"),
        (other_csv, "not a BAN address CSV"),
    ):
        with pytest.raises(AddressFileError, match=reason):
            import_file(index, path)
    assert count_documents(index) == 0


def test_the_command_imports_and_refuses_with_an_exit_code(index: str, tmp_path: Path) -> None:
    env = {**os.environ, "VOISINS_ADDOK_REDIS_URL": index}
    command = [sys.executable, "-m", "voisins.cli", "addresses", "import"]
    done = subprocess.run([*command, "--sample"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{STREETS_IN_SAMPLE} streets" in done.stdout
    assert count_documents(index) == STREETS_IN_SAMPLE
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"secret": "12 rue cachée"\n', encoding="utf-8")
    refused = subprocess.run([*command, str(bad)], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "line 1: not a JSON line" in refused.stderr
    assert "cachée" not in refused.stderr + refused.stdout  # a file's content is never echoed


async def test_the_addok_geocoder_finds_the_best_match(sample: str) -> None:
    geocoder = AddokGeocoder(sample)
    found = await geocoder.geocode("12 rue marx dormoi, Paris")
    assert found is not None and found.label == "12 Rue Marx Dormoy 75018 Paris"
    assert found.citycode == "75118"
    assert await geocoder.geocode("nulle part ailleurs") is None
    suggested = await geocoder.suggest("rue de la ch", 5)
    assert suggested[0].label == "Rue de la Chapelle 75018 Paris"
    assert len(await geocoder.suggest("rue", 3)) <= 3


async def test_redis_down_makes_the_addok_geocoder_unavailable(free_port: int) -> None:
    geocoder = AddokGeocoder(f"redis://127.0.0.1:{free_port}/0")
    with pytest.raises(GeocoderUnavailable):
        await geocoder.geocode("12 rue marx dormoy")


async def test_the_search_never_logs_what_was_typed(
    sample: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    await AddokGeocoder(sample).suggest("14 rue polonceau", 5)
    await AddokGeocoder(sample).geocode("16 rue polonceau")
    out = capsys.readouterr()
    for text in (caplog.text, out.out, out.err):
        assert "polonceau" not in text.lower()


def test_settings_choose_addok_by_default() -> None:
    default = load_settings({})
    assert isinstance(geocoder_from_settings(default), AddokGeocoder)
    assert default.addok_redis_dsn == "redis://127.0.0.1:6379/1"  # db 1 beside the app's
    assert (
        load_settings({}, redis_url="redis://:pw@cache:6380/4").addok_redis_dsn
        == "redis://:pw@cache:6380/1"
    )
    assert isinstance(
        geocoder_from_settings(load_settings({}, geocoder="ban", geocoder_url="http://x/search/")),
        BanGeocoder,
    )
    assert isinstance(
        geocoder_from_settings(load_settings({}, geocoder="addok", geocoder_url="http://x/")),
        AddokGeocoder,
    )
    assert isinstance(geocoder_from_settings(load_settings({}, geocoder="off")), DisabledGeocoder)
