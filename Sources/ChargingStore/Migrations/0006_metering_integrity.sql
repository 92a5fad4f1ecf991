-- Metering and billing integrity (issue 10, item 7).
--
-- 1. Every meter reading the station refused (our `meter` frames, OCPP MeterValues and a
--    StopTransaction's meterStop): impossible ones (more energy than the pile's power allows
--    since the session started, with 2 % + 5 Wh tolerance), backwards ones, and readings for a
--    request that is not charging there. A DBA reads them through `meter_refusals_recent`.
-- 2. The station time at which a pile went offline, so that a session on a pile that stays
--    offline past the grace period is billed up to that moment, not through the grace period.
--    A trigger keeps it, whichever code path (socket closed, instance declared dead) took the
--    pile offline.

CREATE TABLE meter_refusals (
    id          bigserial PRIMARY KEY,
    station_id  integer NOT NULL REFERENCES stations (id),
    pile_id     integer NOT NULL REFERENCES piles (id),
    request_id  bigint NOT NULL,
    -- The reading as the pile sent it (kWh of the session so far).
    energy_kwh  numeric NOT NULL,
    -- 'implausible' (above power × time), 'backwards', 'unknown_request', or another refusal.
    reason      text NOT NULL,
    -- Where it came from: 'chargepile' (meter frame), 'ocpp' (MeterValues), 'ocpp_stop' (StopTransaction).
    source      text NOT NULL,
    -- The refusal's message as the pile saw it.
    message     text NOT NULL,
    station_at  timestamptz NOT NULL,
    refused_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meter_refusals_pile ON meter_refusals (pile_id, refused_at DESC);

CREATE VIEW meter_refusals_recent AS
SELECT r.id, r.station_id, r.pile_id, p.kind, p.power_kw, r.request_id, d.username AS driver, r.energy_kwh,
       r.reason, r.source, r.message, r.station_at, r.refused_at
FROM meter_refusals r
JOIN piles p ON p.id = r.pile_id
LEFT JOIN charging_requests q ON q.station_id = r.station_id AND q.id = r.request_id
LEFT JOIN drivers d ON d.id = q.driver_id
ORDER BY r.refused_at DESC, r.id DESC;

ALTER TABLE piles ADD COLUMN offline_station_at timestamptz;
COMMENT ON COLUMN piles.offline_station_at IS
    'Station time (the station clock, manual and scaled included) when the pile last went offline';

CREATE FUNCTION piles_offline_station_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'offline' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'offline') THEN
        NEW.offline_station_at := (SELECT c.station_now FROM station_clock c WHERE c.station_id = NEW.station_id);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER piles_offline_station_at BEFORE INSERT OR UPDATE OF status ON piles
    FOR EACH ROW EXECUTE FUNCTION piles_offline_station_at();
