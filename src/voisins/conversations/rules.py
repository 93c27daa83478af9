"""When a conversation is writable, and what a match keeps showing after it ends.

sql/0020_conversations.sql (``match_still_shown``) holds the same 30 days: the reads
that reveal contacts and the exact address ask PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

# A conversation stays writable, and the contacts and exact address a match revealed
# stay on both sides' pages, until this long after the match ended.
READ_ONLY_AFTER = timedelta(days=30)
