-- Staff second factor: a 6-digit code is good for one sign-in only.
--
-- A TOTP code stays valid for its 30-second step and, since phones' clocks drift, for
-- the step before and after (accounts/sessions.py, TOTP_WINDOW). Someone who watches a
-- social worker type their code could replay it within that minute and a half. The
-- web's code and enrolment pages (accounts/second_factor.py) keep the last step used
-- and accept only a later one; the update is conditional on this column, so two
-- requests with the same code cannot both pass.
ALTER TABLE users ADD COLUMN totp_last_step bigint;
