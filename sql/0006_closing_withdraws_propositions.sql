-- A request that closes, is withdrawn or expires can no longer be accepted: its open
-- propositions are withdrawn with it (whatever path changed the status).
CREATE FUNCTION posts_withdraw_propositions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('closed', 'withdrawn', 'expired') AND OLD.status <> NEW.status THEN
        PERFORM set_config('voisins.reason', 'request ' || NEW.status, true);
        UPDATE matches SET status = 'withdrawn', closed_at = now()
        WHERE post_id = NEW.id AND status = 'proposed';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_withdraw_propositions AFTER UPDATE OF status ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_withdraw_propositions();
