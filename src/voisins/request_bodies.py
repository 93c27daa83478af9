"""What every write body shares: the base that refuses unknown fields, and the field
types more than one domain accepts. Low in the layers (beside settings and errors), so
any package's schemas may build on it."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every write body: unknown fields (``role``, ``sensitive``…) are refused."""


# A skill as people type it ("bricolage", "aide aux devoirs"), on posts and volunteers.
SkillTag = Annotated[str, Meta(min_length=2, max_length=40, pattern=r"^[\w' -]+\Z")]
Language = Annotated[str, Meta(pattern=r"^[a-z]{2,3}\Z", description="ISO 639 code, e.g. fr, ar")]
