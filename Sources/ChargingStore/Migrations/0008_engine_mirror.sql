-- What a station's engine (the JSON snapshot) believes, mirrored in columns, so that finding the
-- stations that need a catch-up is one indexed query instead of decoding every snapshot on every
-- tick, and a catch-up reads only the piles whose reported status the engine has not taken in.
-- Both columns are written in the transaction that writes the snapshot, under the station's lock.

-- The status the engine holds for the pile (NULL: not yet mirrored; the next catch-up fills it).
ALTER TABLE piles ADD COLUMN engine_status text CHECK (engine_status IN ('on', 'off', 'repair', 'offline'));
CREATE INDEX piles_engine_behind ON piles (station_id) WHERE engine_status IS DISTINCT FROM status;

-- When the engine's next completion falls due, in station time (NULL: nothing charging). Existing
-- stations start due, so the first tick after this migration catches each up once and fills it in.
ALTER TABLE stations ADD COLUMN next_event_at timestamptz;
UPDATE stations SET next_event_at = '-infinity';

-- Whether a station has cars (waiting, queued or charging): a pile status change at a station without
-- any cannot change its schedule, so its engine takes it in when the next car arrives.
CREATE INDEX charging_requests_active ON charging_requests (station_id)
    WHERE state IN ('waiting', 'displaced', 'queued', 'charging');

-- The rows of a batch (PostgresBatcher's one parameter: a JSON array, one object per row), for
-- `FROM batch_rows($1::jsonb) AS element, jsonb_to_record(element) AS r(…)`. Declared small (ROWS 4),
-- and STRICT so it is not inlined and keeps that estimate: the planner then probes indexes once per
-- row instead of scanning and hashing whole tables for what is usually a handful of rows.
CREATE FUNCTION batch_rows(batch jsonb) RETURNS SETOF jsonb LANGUAGE sql IMMUTABLE STRICT ROWS 4 AS $$
    SELECT jsonb_array_elements(batch)
$$;

-- PL/pgSQL, not SQL: a SQL function with a subquery is not inlined and would be planned at every call,
-- while PL/pgSQL keeps its plan for the session.
CREATE FUNCTION station_has_cars(station integer) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM charging_requests
                   WHERE station_id = station AND state IN ('waiting', 'displaced', 'queued', 'charging'));
END
$$;

-- The station-time stamp of going offline (0006) is needed only when a pile goes offline: WHEN clauses
-- spare every other status change (each claim, each StatusNotification) a PL/pgSQL call.
DROP TRIGGER piles_offline_station_at ON piles;
CREATE TRIGGER piles_offline_station_at BEFORE INSERT ON piles
    FOR EACH ROW WHEN (NEW.status = 'offline') EXECUTE FUNCTION piles_offline_station_at();
CREATE TRIGGER piles_offline_station_at_update BEFORE UPDATE OF status ON piles
    FOR EACH ROW WHEN (NEW.status = 'offline' AND OLD.status IS DISTINCT FROM 'offline') EXECUTE FUNCTION piles_offline_station_at();
