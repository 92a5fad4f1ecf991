-- Live admin consoles: every change an operator can see rings one station-wide channel,
-- `chargepile_console`, from the transaction that makes it (any instance, or a DBA in
-- psql). The payload names what changed, never the data: `piles`, `commands`, `station`
-- (queues, waiting area, clock: the station snapshot row) or `bills`. NOTIFY delivers on
-- commit and folds identical payloads of one transaction into one, so a transaction that
-- touches many rows of a table sends one notification for it. Each instance LISTENs and
-- pushes these to its consoles (Server-Sent Events, `GET /admin/events`).
CREATE FUNCTION notify_console() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chargepile_console', TG_ARGV[0]);
    RETURN NULL;
END;
$$;

CREATE TRIGGER piles_console AFTER INSERT OR DELETE ON piles
    FOR EACH ROW EXECUTE FUNCTION notify_console('piles');
-- Password resets (chargepile pile add) change nothing a console shows.
CREATE TRIGGER piles_console_update AFTER UPDATE ON piles
    FOR EACH ROW
    WHEN ((OLD.status, OLD.owner_instance, OLD.owner_epoch, OLD.total_charging_times, OLD.total_charging_kwh,
           OLD.total_charging_seconds, OLD.kind, OLD.power_kw)
          IS DISTINCT FROM
          (NEW.status, NEW.owner_instance, NEW.owner_epoch, NEW.total_charging_times, NEW.total_charging_kwh,
           NEW.total_charging_seconds, NEW.kind, NEW.power_kw))
    EXECUTE FUNCTION notify_console('piles');

CREATE TRIGGER pile_commands_console AFTER INSERT OR UPDATE ON pile_commands
    FOR EACH ROW EXECUTE FUNCTION notify_console('commands');

CREATE TRIGGER stations_console AFTER INSERT OR UPDATE ON stations
    FOR EACH ROW EXECUTE FUNCTION notify_console('station');

CREATE TRIGGER bills_console AFTER INSERT ON bills
    FOR EACH ROW EXECUTE FUNCTION notify_console('bills');
