"""Centres sociaux: their territories, moderation level, members and partnerships."""
