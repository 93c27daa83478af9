-- The admin workspace (web/routes/admin.py): staff deactivation and webhook deliveries.
--
-- Staff who leave a centre (or whose access must stop at once) are deactivated by an
-- administrator: a status of its own, not a safeguarding suspension ('suspended' says
-- someone did wrong; leaving a job does not). Everything that lets a person in reads
-- status = 'active' (accounts/sessions.py), so a deactivated account cannot sign in
-- and its sessions stop resolving; the triggers on users.status cancel its pending
-- deliveries as they do for a suspension. Re-activation sets 'active' again; the
-- centre memberships are kept meanwhile, so a returning colleague finds their centres.
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check
    CHECK (status IN ('active', 'suspended', 'erased', 'deactivated'));
ALTER TABLE users
    ADD COLUMN deactivated_at timestamptz,
    ADD COLUMN deactivated_by bigint REFERENCES users (id);
-- Only staff accounts are deactivated; residents are suspended (with a reason) or erased.
ALTER TABLE users ADD CONSTRAINT users_deactivated_staff
    CHECK (status <> 'deactivated' OR role IN ('social_worker', 'admin'));
ALTER TABLE users ADD CONSTRAINT users_deactivated_when
    CHECK (status <> 'deactivated' OR deactivated_at IS NOT NULL);

-- The admin pages show each webhook's last deliveries (notify/webhooks.py,
-- recent_deliveries): read newest first per webhook, a few rows each.
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id) WHERE webhook_id IS NOT NULL;
