"""Pages of the volunteer: the profile (``profile``), and the propositions near me
with my matches (``matches``). They call the services the API calls
(accounts.volunteer, matching.reads, matching.lifecycle, matching.checkins)."""
