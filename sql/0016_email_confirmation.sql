-- E-mail addresses are confirmed by a link before anything personal is sent to them
-- (issue 12): anyone could sign up with someone else's address and have contacts sent
-- there. Until then the notification worker leaves the e-mail channel out (the inbox
-- still works); only the confirmation link itself, and a password reset the person
-- asked for, go to an address not confirmed yet.
ALTER TABLE users ADD COLUMN email_confirmed_at timestamptz;

-- Accounts that exist already were made before this rule: their addresses count as
-- confirmed. (Assisted residents registered by a social worker are not confirmed by
-- this: they never receive e-mails themselves, their workers do.)
UPDATE users SET email_confirmed_at = created_at WHERE email IS NOT NULL AND NOT assisted;

-- One mechanism for every e-mailed single-use link: password_resets keeps its name
-- (the worker's purge and the erasure know it) and says what each link is for. An
-- address confirmation carries the address it confirms (the sign-up address, or the
-- new address of a change), which becomes the account's only when the link is used.
ALTER TABLE password_resets
    ADD COLUMN purpose text NOT NULL DEFAULT 'password_reset'
        CHECK (purpose IN ('password_reset', 'email_confirm')),
    ADD COLUMN email text CHECK (email = lower(email) AND length(email) <= 254),
    ADD CONSTRAINT password_resets_email_of_purpose
        CHECK ((purpose = 'email_confirm') = (email IS NOT NULL));

-- Open links of a person: cancelled when the password changes, counted for the resend limit.
CREATE INDEX password_resets_open ON password_resets (user_id) WHERE used_at IS NULL;
