-- Console changes are counted, no longer NOTIFYed. A transaction that NOTIFYs takes a
-- database-wide lock at commit and wakes every listening backend: on a busy charging day
-- nearly every charger's message changed something a console shows, so every commit paid
-- for consoles that were mostly not open (measured: 12 % of the CPU per charger message,
-- and a third of the p99). Now the same triggers bump a sequence per topic (nextval is
-- not transactional and takes no lock at commit), and each instance with a console open
-- polls the counters a few times a second (ConsoleEventService).
CREATE SEQUENCE console_changes_piles;
CREATE SEQUENCE console_changes_commands;
CREATE SEQUENCE console_changes_station;
CREATE SEQUENCE console_changes_bills;
CREATE SEQUENCE console_changes_ocpp;

CREATE OR REPLACE FUNCTION notify_console() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(format('console_changes_%s', TG_ARGV[0]));
    RETURN NULL;
END;
$$;

-- What the console poll reads: each topic's counter (a sequence's first nextval leaves last_value
-- as it was and sets is_called), and the database's transaction horizon
-- (a change is counted before its transaction commits; once every transaction that was running
-- when the count was seen has ended, the change is visible and the consoles read again).
CREATE VIEW console_change_counters AS
SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM console_changes_piles) AS piles,
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM console_changes_commands) AS commands,
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM console_changes_station) AS station,
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM console_changes_bills) AS bills,
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM console_changes_ocpp) AS ocpp,
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS running_from,
       -- Past every transaction running now: a running one can be at or beyond the snapshot's xmax.
       greatest(pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
                (SELECT max(x::text::bigint) + 1 FROM pg_snapshot_xip(pg_current_snapshot()) AS x)) AS running_before;
