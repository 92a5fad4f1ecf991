-- Report views for DBAs and operators (psql). Views only: no table changes.
-- Forward-only like every migration; a later change to a view is a new file with
-- CREATE OR REPLACE VIEW (or DROP VIEW + CREATE VIEW when columns change).
--
-- Times: every timestamp column is timestamptz. Report periods are calendar dates in
-- the station's time zone (settings.tariff.timeZoneIdentifier, default Asia/Shanghai),
-- taken from each session's finished_at, so a session that ends at 00:30 local time
-- counts for that local day whatever the session's TimeZone setting is.

-- Station time as the service derives it (StationClock): real, scaled from an origin, or manual.
CREATE VIEW station_clock AS
SELECT s.id AS station_id,
       s.name,
       s.clock_mode,
       s.clock_speed,
       coalesce(s.settings #>> '{tariff,timeZoneIdentifier}', 'Asia/Shanghai') AS time_zone,
       CASE s.clock_mode
           WHEN 'real' THEN now()
           WHEN 'scaled' THEN s.clock_station_origin + (now() - s.clock_real_origin) * s.clock_speed
           ELSE s.clock_station_origin
       END AS station_now
FROM stations s;

-- Every detail record with its local finishing time; the three period reports group it.
CREATE VIEW report_bills_local AS
SELECT b.*,
       c.time_zone,
       b.finished_at AT TIME ZONE c.time_zone AS finished_local
FROM bills b
JOIN station_clock c ON c.station_id = b.station_id;

-- Per pile and local day/week (ISO, from Monday)/month: only periods with at least one
-- detail record have a row (zero-fill with generate_series if a report needs it).
-- charging_seconds and energy_kwh are summed exactly, then shown to 3 decimals (ms, Wh).
-- Rows come oldest period first; a query with its own ORDER BY overrides that.
-- report_pile_periods holds all three granularities; the three named views pick one.
CREATE VIEW report_pile_periods AS
SELECT g.granularity,
       r.station_id,
       r.pile_id,
       g.period,
       count(*) AS charging_count,
       round(sum(r.duration_ms) / 1000.0, 3) AS charging_seconds,
       round(sum(r.energy_kwh), 3) AS energy_kwh,
       sum(r.charging_fee) AS charging_fee,
       sum(r.service_fee) AS service_fee,
       sum(r.total_fee) AS total_fee
FROM report_bills_local r
CROSS JOIN LATERAL (VALUES ('day', r.finished_local::date),
                           ('week', date_trunc('week', r.finished_local)::date),
                           ('month', date_trunc('month', r.finished_local)::date)) AS g (granularity, period)
GROUP BY g.granularity, r.station_id, r.pile_id, g.period;

CREATE VIEW report_pile_daily AS
SELECT station_id, pile_id, period, charging_count, charging_seconds, energy_kwh, charging_fee, service_fee, total_fee
FROM report_pile_periods WHERE granularity = 'day'
ORDER BY period, station_id, pile_id;

CREATE VIEW report_pile_weekly AS
SELECT station_id, pile_id, period, charging_count, charging_seconds, energy_kwh, charging_fee, service_fee, total_fee
FROM report_pile_periods WHERE granularity = 'week'
ORDER BY period, station_id, pile_id;

CREATE VIEW report_pile_monthly AS
SELECT station_id, pile_id, period, charging_count, charging_seconds, energy_kwh, charging_fee, service_fee, total_fee
FROM report_pile_periods WHERE granularity = 'month'
ORDER BY period, station_id, pile_id;

-- One row per pile: status, who holds its WebSocket, its last admin command, its totals.
CREATE VIEW pile_overview AS
SELECT p.id AS pile_id,
       p.station_id,
       p.kind,
       p.power_kw,
       p.status,
       p.status_changed_at,
       p.owner_instance IS NOT NULL AS connected,
       p.owner_instance,
       i.address AS owner_address,
       i.heartbeat_at AS owner_heartbeat_at,
       p.owner_epoch,
       p.connected_since,
       (SELECT count(*) FROM charging_requests q
        WHERE q.pile_id = p.id AND q.state IN ('queued', 'charging')) AS cars_at_pile,
       c.id AS last_command_id,
       c.status AS last_command_status,
       c.state AS last_command_state,
       c.requested_at AS last_command_requested_at,
       c.finished_at AS last_command_finished_at,
       c.acked_at AS last_command_acked_at,
       CASE c.state
           WHEN 'written' THEN CASE WHEN c.acked_at IS NOT NULL THEN 'written, acked' ELSE 'written' END
           WHEN 'failed' THEN 'failed: ' || coalesce(c.error, 'unknown error')
           ELSE c.state
       END AS last_command_outcome,
       p.total_charging_times,
       p.total_charging_kwh,
       p.total_charging_seconds
FROM piles p
LEFT JOIN instances i ON i.id = p.owner_instance
LEFT JOIN LATERAL (
    SELECT * FROM pile_commands pc WHERE pc.pile_id = p.id ORDER BY pc.id DESC LIMIT 1
) c ON true;

-- The active requests: each pile's queue in order (position 1 is the car charging or
-- next to charge), then the waiting area (pile_id NULL): cars displaced by a fault
-- first, then arrival order, as the station snapshot holds them.
-- waiting_seconds: from submission until charging began, or until station time now.
CREATE VIEW pile_queues AS
WITH waiting_order AS (
    SELECT s.id AS station_id, e.value::text::bigint AS request_id, e.ordinality AS snapshot_position
    FROM stations s,
         LATERAL jsonb_array_elements(
             CASE WHEN jsonb_typeof(s.state -> 'displaced') = 'array' THEN s.state -> 'displaced' ELSE '[]'::jsonb END
             || CASE WHEN jsonb_typeof(s.state -> 'waiting') = 'array' THEN s.state -> 'waiting' ELSE '[]'::jsonb END
         ) WITH ORDINALITY AS e
    WHERE jsonb_typeof(e.value) = 'number'
)
SELECT r.station_id,
       r.pile_id,
       CASE WHEN r.pile_id IS NOT NULL THEN r.queue_position::bigint
            ELSE row_number() OVER (
                PARTITION BY r.station_id, r.pile_id IS NULL
                ORDER BY w.snapshot_position NULLS LAST, (r.state = 'displaced') DESC, r.id)
       END AS position,
       r.id AS request_id,
       d.username AS driver,
       r.queue_number,
       r.mode,
       r.state,
       r.request_kwh,
       r.battery_capacity_kwh,
       r.submitted_at,
       r.charging_started_at,
       greatest(0, floor(extract(epoch FROM coalesce(r.charging_started_at, c.station_now) - r.submitted_at)))::bigint
           AS waiting_seconds
FROM charging_requests r
JOIN drivers d ON d.id = r.driver_id
JOIN station_clock c ON c.station_id = r.station_id
LEFT JOIN waiting_order w ON w.station_id = r.station_id AND w.request_id = r.id
WHERE r.state IN ('waiting', 'displaced', 'queued', 'charging')
ORDER BY r.station_id, r.pile_id NULLS LAST, position;

-- The admin command log, newest first; latencies in milliseconds.
CREATE VIEW recent_commands AS
SELECT pc.id AS command_id,
       pc.pile_id,
       pc.status,
       pc.state,
       pc.error,
       pc.requested_at,
       pc.deadline,
       pc.finished_at,
       round(extract(epoch FROM pc.finished_at - pc.requested_at) * 1000, 3) AS latency_ms,
       pc.acked_at,
       round(extract(epoch FROM pc.acked_at - pc.requested_at) * 1000, 3) AS ack_ms,
       pc.owner_instance,
       owner.address AS owner_address,
       pc.owner_epoch,
       pc.requester_instance,
       requester.address AS requester_address
FROM pile_commands pc
LEFT JOIN instances owner ON owner.id = pc.owner_instance
LEFT JOIN instances requester ON requester.id = pc.requester_instance
ORDER BY pc.id DESC;
