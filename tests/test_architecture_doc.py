"""docs/ARCHITECTURE.md cannot drift silently from the code: its layer tables are the
ones tests/test_layers.py enforces, its module map names every package and top-level
module (and nothing gone), every file or folder it names exists, and each step of its
flows names a ``module.function`` that exists (the module imported, the function looked
up)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.test_layers import LAYERS, SRC, WITHIN_LAYER

DOC = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"
TEXT = DOC.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text under ``## title`` up to the next ``## `` heading."""
    start = TEXT.index(f"\n## {title}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end != -1 else len(TEXT)]


def table_rows(text: str) -> list[list[str]]:
    rows = [line.strip().strip("|").split("|") for line in text.splitlines()]
    return [[cell.strip() for cell in row] for row in rows if len(row) > 1][2:]


def names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_layer_table_is_the_tested_one() -> None:
    layers = section("Layers")
    table, _, pairs = layers.partition("Inside one layer")
    documented = [(row[1], names(row[2])) for row in table_rows(table)]
    assert documented == [(name, set(units)) for name, units in LAYERS]
    allowed = {names(row[0]).pop(): names(row[1]) for row in table_rows(pairs)}
    assert allowed == {unit: set(units) for unit, units in WITHIN_LAYER.items()}


def test_the_module_map_names_every_package_and_top_level_module() -> None:
    root = SRC / "voisins"
    packages = {f"{p.parent.relative_to(root).as_posix()}/" for p in root.rglob("__init__.py")}
    packages.discard("./")
    wanted = packages | {p.name for p in root.glob("*.py")}
    mapped = {row[0].strip("`") for row in table_rows(section("Module map"))}
    assert sorted(wanted - mapped) == [], "missing from the module map"
    assert sorted(mapped - wanted) == [], "in the module map but gone from the code"


def test_every_path_the_page_names_exists() -> None:
    """Paths such as `web/routes/centre/review.py` or `tests/support/` (under src/voisins
    or the repository); patterns with ``<area>`` or ``*`` are left alone."""
    repo = SRC.parent
    paths = set(re.findall(r"`([\w./-]+(?:\.py|/))`", TEXT))
    gone = [p for p in paths if not ((SRC / "voisins" / p).exists() or (repo / p).exists())]
    assert sorted(gone) == [], "paths in docs/ARCHITECTURE.md that do not exist"


def flow_steps() -> list[str]:
    """The ``module.function`` each numbered step of the flows starts with."""
    return re.findall(r"^\d+\. `([\w.]+)`", section("Flows"), flags=re.MULTILINE)


def test_the_flows_have_their_steps() -> None:
    assert len(flow_steps()) >= 40


@pytest.mark.parametrize("dotted", sorted(set(flow_steps())))
def test_each_flow_step_names_a_function_that_exists(dotted: str) -> None:
    parts = f"voisins.{dotted}".split(".")
    for cut in range(len(parts) - 1, 1, -1):
        module = ".".join(parts[:cut])
        try:
            found: object = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise  # the module exists but cannot be imported: that is the failure
            continue
        for attribute in parts[cut:]:
            assert hasattr(found, attribute), f"{dotted}: no {attribute} in {found!r}"
            found = getattr(found, attribute)
        assert callable(found), f"{dotted} is not a function"
        return
    pytest.fail(f"{dotted}: no such module")
