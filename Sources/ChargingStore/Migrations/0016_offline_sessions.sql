-- Sessions a charger replays after it was offline (docs/ocpp.md, "Sessions that happened offline").

-- When the pile was provisioned, in its station's time: a charger timestamp before it is implausible.
-- NULL for piles provisioned before this migration (not checked).
ALTER TABLE piles ADD COLUMN provisioned_at timestamptz;

-- A transaction the station heard of only after it started (its StartTransaction stamped in the past,
-- or a StopTransaction for a transaction chargepile never saw): recorded and billed from the charger's
-- meter, never given to the engine. A transaction built from a StopTransaction alone has no connector.
ALTER TABLE ocpp_transactions ADD COLUMN offline boolean NOT NULL DEFAULT false;
ALTER TABLE ocpp_transactions ALTER COLUMN connector_id DROP NOT NULL;
-- An unknown-id StopTransaction resent identically finds the transaction it closed.
CREATE INDEX ocpp_transactions_stopped_by ON ocpp_transactions (pile_id, charger_stopped_at, meter_stop_wh)
    WHERE charger_stopped_at IS NOT NULL;

-- The offline transaction a bill was written for: one bill per transaction at most.
ALTER TABLE bills ADD COLUMN ocpp_transaction_id integer UNIQUE REFERENCES ocpp_transactions (id);

-- Every offline session with what became of it: the charger's times, the energy its meter measured,
-- the flags on implausible figures, and the bill (NULL: none, e.g. an unknown idTag, still open).
CREATE VIEW ocpp_offline_sessions AS
SELECT t.id AS transaction_id, t.pile_id, t.connector_id, t.id_tag, d.username AS driver,
       t.charger_started_at, t.charger_stopped_at, t.started_at AS received_start_at, t.stopped_at AS received_stop_at,
       t.meter_stop_wh - t.meter_start_wh AS metered_wh, t.timestamp_flags, t.stop_reason,
       b.id AS bill_id, b.started_at AS billed_from, b.finished_at AS billed_to, b.energy_kwh, b.total_fee
FROM ocpp_transactions t
LEFT JOIN id_tags g ON g.id_tag = t.id_tag
LEFT JOIN drivers d ON d.id = g.driver_id
LEFT JOIN bills b ON b.ocpp_transaction_id = t.id
WHERE t.offline;
