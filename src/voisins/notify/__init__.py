"""Notifications: the outbox relay, arq jobs, deliveries, channels and preferences.

Reads the outbox rows that lower modules write; nothing below imports this package.
"""
