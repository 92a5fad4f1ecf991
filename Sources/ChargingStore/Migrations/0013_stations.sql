-- Stations as first-class objects: one operator, many sites. The tables are unchanged (piles,
-- requests and bills carry station_id since 0001); this adds what reading them per station needs.

-- Today's detail records of one station, by its local finishing date, without scanning all bills.
CREATE INDEX bills_station_time ON bills (station_id, finished_at);

-- One row per station, for the admin API's `/admin/stations` and for DBAs in psql: piles by status,
-- cars waiting (the waiting area and cars displaced by a fault), queued behind a car and charging,
-- and the detail records finished today in the station's own time zone and clock (energy, revenue).
CREATE VIEW station_overview AS
SELECT c.station_id,
       c.name,
       c.time_zone,
       c.station_now,
       (c.station_now AT TIME ZONE c.time_zone)::date AS today,
       coalesce(p.piles, 0) AS piles,
       coalesce(p.piles_on, 0) AS piles_on,
       coalesce(p.piles_off, 0) AS piles_off,
       coalesce(p.piles_repair, 0) AS piles_repair,
       coalesce(p.piles_offline, 0) AS piles_offline,
       coalesce(p.piles_connected, 0) AS piles_connected,
       coalesce(r.cars_waiting, 0) AS cars_waiting,
       coalesce(r.cars_queued, 0) AS cars_queued,
       coalesce(r.cars_charging, 0) AS cars_charging,
       coalesce(b.sessions_today, 0) AS sessions_today,
       coalesce(b.energy_kwh_today, 0)::numeric(14, 3) AS energy_kwh_today,
       coalesce(b.revenue_today, 0)::numeric(12, 2) AS revenue_today
FROM station_clock c
LEFT JOIN LATERAL (
    SELECT count(*) AS piles,
           count(*) FILTER (WHERE status = 'on') AS piles_on,
           count(*) FILTER (WHERE status = 'off') AS piles_off,
           count(*) FILTER (WHERE status = 'repair') AS piles_repair,
           count(*) FILTER (WHERE status = 'offline') AS piles_offline,
           count(*) FILTER (WHERE owner_instance IS NOT NULL) AS piles_connected
    FROM piles WHERE station_id = c.station_id
) p ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE state IN ('waiting', 'displaced')) AS cars_waiting,
           count(*) FILTER (WHERE state = 'queued') AS cars_queued,
           count(*) FILTER (WHERE state = 'charging') AS cars_charging
    FROM charging_requests
    WHERE station_id = c.station_id AND state IN ('waiting', 'displaced', 'queued', 'charging')
) r ON true
LEFT JOIN LATERAL (
    -- The local day's bounds as instants, so the index on (station_id, finished_at) serves the range.
    SELECT count(*) AS sessions_today, sum(energy_kwh) AS energy_kwh_today, sum(total_fee) AS revenue_today
    FROM bills
    WHERE station_id = c.station_id
      AND finished_at >= (date_trunc('day', c.station_now AT TIME ZONE c.time_zone) AT TIME ZONE c.time_zone)
      AND finished_at < ((date_trunc('day', c.station_now AT TIME ZONE c.time_zone) + interval '1 day') AT TIME ZONE c.time_zone)
) b ON true;
