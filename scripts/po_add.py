"""Add English translations to a catalogue of the pages.

    python scripts/po_add.py src/voisins/web/locale/en/LC_MESSAGES/AREA.po < pairs.json

where pairs.json is a JSON object French → English."""

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

path = Path(sys.argv[1])
pairs = json.load(sys.stdin)
if path.exists():
    with path.open("rb") as f:
        catalog = read_po(f, locale="en")
else:
    catalog = Catalog(locale="en", project="voisins", language_team="voisins")
for fr, en in pairs.items():
    catalog.add(fr, en)
path.parent.mkdir(parents=True, exist_ok=True)
with path.open("wb") as f:
    write_po(f, catalog, width=100, omit_header=False, sort_output=True)
