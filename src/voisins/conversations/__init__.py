"""Conversations between the two sides of a confirmed match (issue 15): messages,
contacts each side chooses to share, and the rules of who may read and write when.

Below ``notify`` (which tells the other side someone wrote) and above ``matching``
(whose matches the conversations belong to)."""
