"""Progress lines on stderr, stamped with the seconds since the benchmark started: stdout
is kept for the result (its last line one JSON object)."""

from __future__ import annotations

import sys
import time

START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", file=sys.stderr, flush=True)
