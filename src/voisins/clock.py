"""The one clock, and the one time zone people live in.

Code that needs the present asks ``now()`` (UTC, aware) or ``today()`` (the day it is
in France: what people mean by «aujourd'hui»; a UTC date is yesterday's for the first
hour or two of every French day). Services take ``now=`` from their caller rather than
reading the clock, so tests give them any moment; jobs read ``job_now(ctx)``, which a
test freezes through ``ctx["clock"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().astimezone(PARIS).date()


def job_now(ctx: Mapping[str, Any]) -> datetime:
    """A job's present: the worker's clock, or the one a test put in ``ctx["clock"]``."""
    frozen = ctx.get("clock")
    return frozen() if frozen else now()
