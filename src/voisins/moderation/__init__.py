"""The centre social workspace: review, follow-up, reports and suspension, GDPR, and
statistics. Sits above ``notify`` (DESIGN.md's import direction): it may use every
domain module and the outbox; nothing below imports it."""
