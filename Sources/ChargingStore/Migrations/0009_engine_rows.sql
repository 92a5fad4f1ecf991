-- The engine's state as rows (station snapshot version 2), and meter readings kept with their request.
--
-- 1. A change writes what changed: `stations.state` keeps only the header (clock, counters, the
--    waiting area, the displaced cars); each pile's engine state is `piles.engine_state` and each
--    active request's is `charging_requests.engine_state` (the same JSON as in version 1).
--    `stations.state_version` is the id of the transaction that wrote it last (never reused), so an
--    instance that still holds the station it wrote last can skip reading it back (the database
--    stays the truth; see StationStore).
-- 2. A meter reading is a row update (`record_meter_reading`), not an engine step: the engine takes
--    a reading in when it decides that session (its completion falling due, its pile's status
--    changing, a driver's or admin's command), each at the station time it was taken.

ALTER TABLE stations ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
ALTER TABLE piles ADD COLUMN engine_state jsonb;
ALTER TABLE charging_requests ADD COLUMN engine_state jsonb;

-- The latest accepted reading of the request's current session (kWh of that session), the station
-- time it was taken, and whether the engine has yet to take it in.
ALTER TABLE charging_requests ADD COLUMN meter_kwh numeric;
ALTER TABLE charging_requests ADD COLUMN meter_at timestamptz;
ALTER TABLE charging_requests ADD COLUMN meter_pending boolean NOT NULL DEFAULT false;
CREATE INDEX charging_requests_meter_pending ON charging_requests (station_id) WHERE meter_pending;

-- Version 1 snapshots become rows here; anything older is upgraded by chargepile when it first loads it.
UPDATE piles p SET engine_state = e.pile
FROM stations s, jsonb_array_elements(s.state -> 'piles') AS e(pile)
WHERE (s.state ->> 'version') = '1' AND p.station_id = s.id AND p.id = (e.pile #>> '{pile,id}')::integer;

UPDATE charging_requests c SET engine_state = e.request
FROM stations s, jsonb_array_elements(s.state -> 'requests') AS e(request)
WHERE (s.state ->> 'version') = '1' AND c.station_id = s.id AND c.id = (e.request ->> 'id')::bigint;

UPDATE stations SET state = jsonb_set(state - 'piles' - 'requests', '{settings,piles}', '[]')
                            || '{"version": 2, "piles": [], "requests": []}',
                    state_version = txid_current()
WHERE (state ->> 'version') = '1';

-- A pile's meter reading of the session its car is charging: stored with the request when it fits the
-- engine's session there. Answers 'stored', 'completes' (it reaches the session's target: the caller
-- runs the engine now), or why it was refused: 'unknown_request' (no such session on this pile),
-- 'backwards' (below an earlier reading), 'implausible' (more than the pile's power allows since the
-- session started, with 2 % + 5 Wh tolerance: MeterPlausibility).
CREATE FUNCTION record_meter_reading(station bigint, request bigint, pile bigint, energy numeric) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    session jsonb;
    power_w bigint;
    station_time timestamptz;
    elapsed_ms bigint;
    nominal numeric;
    previous numeric;
    reading_wms numeric := energy * 3600000000;
BEGIN
    SELECT p.engine_state -> 'session', (p.engine_state #>> '{pile,power_w}')::bigint INTO session, power_w
    FROM piles p WHERE p.id = pile AND p.station_id = station;
    IF session IS NULL OR jsonb_typeof(session) <> 'object' OR (session ->> 'request_id')::bigint <> request THEN
        RETURN 'unknown_request';
    END IF;
    SELECT c.meter_kwh INTO previous FROM charging_requests c
    WHERE c.station_id = station AND c.id = request AND c.state = 'charging' FOR UPDATE;
    IF NOT FOUND THEN RETURN 'unknown_request'; END IF;
    IF energy < 0 OR energy < coalesce(previous, 0) OR reading_wms < (session ->> 'checkpoint_wms')::numeric THEN
        RETURN 'backwards';
    END IF;
    SELECT c.station_now INTO station_time FROM station_clock c WHERE c.station_id = station;
    elapsed_ms := greatest(0, (extract(epoch FROM station_time) * 1000)::bigint - (session ->> 'started_at_ms')::bigint);
    nominal := power_w * elapsed_ms;
    IF reading_wms > nominal + div(nominal, 100) * 2 + 18000000 THEN
        RETURN 'implausible';
    END IF;
    UPDATE charging_requests SET meter_kwh = energy, meter_at = station_time, meter_pending = true
    WHERE station_id = station AND id = request;
    RETURN CASE WHEN reading_wms >= (session ->> 'target_wms')::numeric THEN 'completes' ELSE 'stored' END;
END
$$;

-- A charger's StartTransaction links its transaction to the request the same database transaction
-- creates (the request rows are written when the engine's step is stored, at its end).
ALTER TABLE ocpp_transactions ALTER CONSTRAINT ocpp_transactions_station_id_request_id_fkey DEFERRABLE INITIALLY DEFERRED;

-- Whoever writes `state` another way (a DBA restoring a row) moves the version, so no instance keeps
-- using the station it had in memory.
CREATE FUNCTION stations_state_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.state_version := txid_current();
    RETURN NEW;
END
$$;
CREATE TRIGGER stations_state_version BEFORE UPDATE OF state ON stations
    FOR EACH ROW WHEN (NEW.state_version = OLD.state_version) EXECUTE FUNCTION stations_state_version();

-- A pile's answer that came after its command's deadline (an OCPP CALLRESULT after the CALL timed
-- out at the row's deadline), kept rather than dropped.
ALTER TABLE pile_commands ADD COLUMN late_answer jsonb;
ALTER TABLE pile_commands ADD COLUMN late_answer_at timestamptz;
