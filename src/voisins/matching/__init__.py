"""Matching: candidate search on exact points, explainable scoring, batches and
escalation, and the match life cycle. Writes outbox rows; never imports notify."""
