"""Matching: candidate search on the public grid (cells, never exact points),
explainable scoring, batches and escalation, and the match life cycle. Writes outbox
rows; never imports notify."""
