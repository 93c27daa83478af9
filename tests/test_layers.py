"""The one import direction (DESIGN.md), checked on the source code.

Every module under ``src/voisins`` is read with ``ast`` (nothing is imported): its
``voisins.*`` imports are collected and each must go to the left in ``LAYERS`` — to a
lower layer, or to a unit of its own layer that ``WITHIN_LAYER`` names. A top-level unit
(a package or a module right under ``voisins``) that no layer holds fails the test, so a
new unit has to be placed before it lands. ``LAYERS`` is the source of truth that
docs/ARCHITECTURE.md copies (tests/test_architecture_doc.py checks the copy).

What counts as an import:
- absolute and relative imports, ``import x`` and ``from x import y`` alike;
- imports inside functions: a deferred import is still a dependency at run time, and it
  is the usual way to hide a cycle;
- imports under ``if TYPE_CHECKING:``: they count too. A lower module whose signatures
  name a higher layer's types knows that layer's concepts, mypy follows the import, and
  an annotation-only import is the other quiet way around the order. (There are none
  today; if one is ever truly needed, the type belongs lower.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple


def _units(names: str) -> frozenset[str]:
    return frozenset(names.split())


SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "voisins"

# Left to right: a unit may import the units of the layers to its left, never those to
# its right. DESIGN.md's line ``settings, db, errors → geo → domain → matching → notify →
# moderation → app / worker / cli / web`` with every other unit placed where it belongs
# (some steps of that line are split in two where the imports already showed an order).
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    # Process plumbing: configuration, errors, time, logs, connections, schema, readiness.
    # ``voisins`` is the package's own __init__ (the version).
    (
        "foundation",
        _units("voisins settings errors clock logs db migrations redis_pool shutdown health"),
    ),
    # Records and values every domain shares, knowing no domain: the rows a change writes
    # in its own transaction (audit, outbox, idempotency keys) and the shared vocabulary.
    (
        "shared",
        _units(
            "audit outbox idempotency request_bodies pagination categories schedule"
            " typography links"
        ),
    ),
    ("geo", _units("geo")),
    # What a person typed turned into a stored place (exact point + public cell).
    ("places", _units("locations")),
    ("domain", _units("accounts centres posts housing")),
    ("matching", _units("matching")),
    # Between two sides of a confirmed match: above matching, below notify.
    ("conversations", _units("conversations")),
    ("notify", _units("notify")),
    ("moderation", _units("moderation")),
    # The housekeeping crons: each a thin call of a service (the highest they call is
    # moderation's); the workers run them. Nothing of HTTP or pages for a job.
    ("jobs", _units("housekeeping")),
    # A neighbourhood built through the services (``voisins demo``, the login page's hint).
    ("demo", _units("demo")),
    # HTTP for machines: the JSON API (and the dependencies and error mapper the pages
    # share with it) and the operators' /metrics.
    ("http", _units("api metrics")),
    ("pages", _units("web")),
    ("entry points", _units("app worker cli")),
)

# The imports allowed between units of one layer (importer -> imported). Anything else
# inside a layer fails like a wrong-way import. These pairs are decisions, not a list of
# what happens to exist: each says which of two neighbours builds on the other.
WITHIN_LAYER: dict[str, frozenset[str]] = {
    # foundation: logs read the settings; the engine, the Redis client and the closing
    # steps log; readiness reads the migration state.
    "logs": frozenset({"settings"}),
    "db": frozenset({"settings", "logs"}),
    "redis_pool": frozenset({"settings"}),
    "shutdown": frozenset({"logs"}),
    "health": frozenset({"logs", "migrations"}),
    # domain: people first, then the centres they belong to, then what they post.
    "centres": frozenset({"accounts"}),
    "posts": frozenset({"accounts", "centres"}),
    "housing": frozenset({"accounts", "centres"}),
    # entry points: the command starts the app and the workers.
    "cli": frozenset({"app", "worker"}),
}

LAYER_OF: dict[str, int] = {unit: i for i, (_, units) in enumerate(LAYERS) for unit in units}


class Import(NamedTuple):
    line: int
    target: str  # the dotted module imported (a submodule when ``from pkg import mod``)


class WrongWay(NamedTuple):
    path: str
    line: int
    importer: str
    imported: str

    def __str__(self) -> str:
        here, there = LAYER_OF[unit_of(self.importer)], LAYER_OF[unit_of(self.imported)]
        where = (
            "its own layer, a pair WITHIN_LAYER does not allow"
            if here == there
            else ("a layer to its right")
        )
        return (
            f"{self.path}:{self.line}: {self.importer} imports {self.imported} — "
            f"layer {LAYERS[here][0]!r} may not import layer {LAYERS[there][0]!r} ({where})"
        )


def unit_of(module: str) -> str:
    """``voisins.geo.grid`` → ``geo``; ``voisins`` itself → ``voisins``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def source_modules(src: Path = SRC) -> Iterator[tuple[str, Path]]:
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports_in(source: str, module: str, *, is_package: bool, known: set[str]) -> list[Import]:
    """The ``voisins.*`` imports of a module's source, wherever they sit in it.

    ``known``: the modules that exist, so that ``from voisins import clock`` is read as
    an import of ``voisins.clock`` rather than of the package's __init__."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")
                parents = parents[: len(parents) - (node.level - 1)]
                base = ".".join([*parents, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(node.lineno, sub if sub in known else base))
    return [i for i in found if i.target == PACKAGE or i.target.startswith(PACKAGE + ".")]


def may_import(importer: str, imported: str) -> bool:
    here, there = unit_of(importer), unit_of(imported)
    if here == there:
        return True
    if LAYER_OF[there] < LAYER_OF[here]:
        return True
    return LAYER_OF[there] == LAYER_OF[here] and there in WITHIN_LAYER.get(here, frozenset())


def wrong_way(
    source: str, module: str, path: str, *, is_package: bool, known: set[str]
) -> list[WrongWay]:
    return [
        WrongWay(path, imp.line, module, imp.target)
        for imp in imports_in(source, module, is_package=is_package, known=known)
        if not may_import(module, imp.target)
    ]


def _tree() -> tuple[list[tuple[str, Path]], set[str]]:
    modules = list(source_modules())
    return modules, {name for name, _ in modules}


def test_every_unit_sits_in_one_layer() -> None:
    modules, _ = _tree()
    units = {unit_of(name) for name, _ in modules}
    placed = [unit for _, layer in LAYERS for unit in layer]
    assert len(placed) == len(set(placed)), "a unit is listed in two layers"
    unplaced = sorted(units - set(placed))
    assert not unplaced, f"place these units in a layer of LAYERS: {unplaced}"
    gone = sorted(set(placed) - units)
    assert not gone, f"LAYERS lists units that no longer exist: {gone}"
    for importer, allowed in WITHIN_LAYER.items():
        for imported in allowed:
            assert LAYER_OF[importer] == LAYER_OF[imported], (importer, imported)


def test_no_module_imports_against_the_layers() -> None:
    modules, known = _tree()
    wrong = [
        str(bad)
        for name, path in modules
        for bad in wrong_way(
            path.read_text(encoding="utf-8"),
            name,
            str(path.relative_to(SRC.parent)),
            is_package=path.name == "__init__.py",
            known=known,
        )
    ]
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_no_import_cycle_between_units() -> None:
    modules, known = _tree()
    edges: dict[str, set[str]] = {}
    for name, path in modules:
        source = path.read_text(encoding="utf-8")
        for imp in imports_in(source, name, is_package=path.name == "__init__.py", known=known):
            if unit_of(imp.target) != unit_of(name):
                edges.setdefault(unit_of(name), set()).add(unit_of(imp.target))

    # Depth-first, each unit finished once: a unit met again while still on the trail
    # closes a cycle.
    finished: set[str] = set()

    def cycle_from(unit: str, trail: list[str]) -> list[str] | None:
        if unit in trail:
            return [*trail[trail.index(unit) :], unit]
        if unit in finished:
            return None
        for nxt in sorted(edges.get(unit, ())):
            found = cycle_from(nxt, [*trail, unit])
            if found:
                return found
        finished.add(unit)
        return None

    for unit in sorted(edges):
        cycle = cycle_from(unit, [])
        assert cycle is None, "import cycle between units: " + " → ".join(cycle or [])


KNOWN = {"voisins", "voisins.errors", "voisins.matching", "voisins.matching.engine"}
KNOWN |= {"voisins.geo", "voisins.geo.grid", "voisins.posts", "voisins.moderation"}


def test_the_checker_reports_a_wrong_way_import_wherever_it_hides() -> None:
    """geo importing matching is reported at its line with both layers, whether the
    import is at the top, deferred in a function, under TYPE_CHECKING, or relative; geo
    importing errors (to its left) is not."""
    made_up = (
        "from typing import TYPE_CHECKING\n"  # 1
        "from voisins.errors import Invalid\n"  # 2: right way
        "from voisins.matching.engine import match_post\n"  # 3
        "if TYPE_CHECKING:\n"  # 4
        "    import voisins.matching\n"  # 5
        "def later():\n"  # 6
        "    from ..matching import engine\n"  # 7: relative, inside a function
    )
    found = wrong_way(made_up, "voisins.geo.grid", "src/voisins/geo/grid.py", is_package=False,
                      known=KNOWN)  # fmt: skip
    assert [(bad.line, bad.imported) for bad in found] == [
        (3, "voisins.matching.engine"),
        (5, "voisins.matching"),
        (7, "voisins.matching.engine"),
    ]
    assert str(found[0]) == (
        "src/voisins/geo/grid.py:3: voisins.geo.grid imports voisins.matching.engine — "
        "layer 'geo' may not import layer 'matching' (a layer to its right)"
    )
    right_way = "from voisins.errors import Invalid\nfrom . import grid\n"
    assert wrong_way(right_way, "voisins.geo", "src/voisins/geo/__init__.py", is_package=True,
                     known=KNOWN) == []  # fmt: skip


def test_within_a_layer_only_the_named_pairs_pass() -> None:
    """posts may build on accounts and centres; accounts may not build on posts."""
    assert may_import("voisins.posts.writing", "voisins.centres.service")
    assert not may_import("voisins.accounts.users", "voisins.posts.writing")
    assert not may_import("voisins.posts.writing", "voisins.housing.pairs")
    found = wrong_way("from voisins.posts import writing\n", "voisins.moderation.x",
                      "x.py", is_package=False, known=KNOWN)  # fmt: skip
    assert found == []  # moderation sits right of the domain
