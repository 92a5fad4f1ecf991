-- OCPP 1.6J chargers beside our own pile protocol, and one outbox for everything sent to a pile.

-- A pile's OCPP identity (the chargePointId in its URL), what it told us at boot, and its
-- connector as it last reported it.
ALTER TABLE piles
    ADD COLUMN ocpp_id text UNIQUE CHECK (length(ocpp_id) BETWEEN 1 AND 20),
    ADD COLUMN protocol text NOT NULL DEFAULT 'chargepile' CHECK (protocol IN ('chargepile', 'ocpp1.6')),
    ADD COLUMN boot_vendor text,
    ADD COLUMN boot_model text,
    ADD COLUMN boot_serial text,
    ADD COLUMN boot_firmware text,
    ADD COLUMN booted_at timestamptz,
    ADD COLUMN connector_status text,
    ADD COLUMN connector_error text,
    ADD COLUMN connector_info text,
    ADD COLUMN connector_reported_at timestamptz,
    ADD COLUMN diagnostics_status text,
    ADD COLUMN firmware_status text;
UPDATE piles SET ocpp_id = id::text;
-- A pile provisioned without an OCPP identity gets its number, like the piles above.
CREATE FUNCTION piles_default_ocpp_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.ocpp_id := coalesce(NEW.ocpp_id, NEW.id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER piles_default_ocpp_id BEFORE INSERT ON piles FOR EACH ROW EXECUTE FUNCTION piles_default_ocpp_id();

-- Every message for a pile is a row, written in the transaction that decided it: admin status
-- commands (status), the engine's start/stop (instruction) and operator OCPP calls. NOTIFY only
-- rings the owner's bell; the owner delivers rows in order per pile and records the outcome.
ALTER TABLE pile_commands
    ALTER COLUMN status DROP NOT NULL,
    ALTER COLUMN requester_instance DROP NOT NULL,
    ADD COLUMN instruction jsonb,
    -- The charger's answer (OCPP: Accepted, Scheduled, Rejected, or the CALLRESULT payload).
    ADD COLUMN answer jsonb,
    DROP CONSTRAINT pile_commands_state_check,
    ADD CONSTRAINT pile_commands_state_check CHECK (state IN ('pending', 'written', 'rejected', 'failed', 'expired')),
    ADD CONSTRAINT pile_commands_has_content CHECK (status IS NOT NULL OR instruction IS NOT NULL);

-- Drivers' idTags (their own, and RFID cards an operator provisions for them).
CREATE TABLE id_tags (
    id_tag        text PRIMARY KEY CHECK (length(id_tag) BETWEEN 1 AND 20),
    driver_id     bigint NOT NULL REFERENCES drivers (id),
    parent_id_tag text CHECK (length(parent_id_tag) BETWEEN 1 AND 20),
    expires_at    timestamptz,
    blocked       boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX id_tags_driver ON id_tags (driver_id);
ALTER TABLE drivers ADD COLUMN id_tag text UNIQUE CHECK (length(id_tag) BETWEEN 1 AND 20);

-- Every driver gets an idTag of 16 random hex digits when registered.
-- BEFORE sets the tag; the id_tags row needs the driver row, so it is written AFTER.
CREATE FUNCTION drivers_default_id_tag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id_tag IS NULL THEN
        NEW.id_tag := upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 16));
    END IF;
    RETURN NEW;
END $$;
CREATE FUNCTION drivers_register_id_tag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO id_tags (id_tag, driver_id) VALUES (NEW.id_tag, NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER drivers_default_id_tag BEFORE INSERT ON drivers FOR EACH ROW EXECUTE FUNCTION drivers_default_id_tag();
CREATE TRIGGER drivers_register_id_tag AFTER INSERT ON drivers FOR EACH ROW EXECUTE FUNCTION drivers_register_id_tag();
UPDATE drivers SET id_tag = upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)) WHERE id_tag IS NULL;
INSERT INTO id_tags (id_tag, driver_id) SELECT id_tag, id FROM drivers ON CONFLICT DO NOTHING;
ALTER TABLE drivers ALTER COLUMN id_tag SET NOT NULL;

-- OCPP transactions: ids from a sequence (positive int32); a resent StartTransaction finds its row.
CREATE SEQUENCE ocpp_transaction_ids AS integer MINVALUE 1 MAXVALUE 2147483647 NO CYCLE;
CREATE TABLE ocpp_transactions (
    id                  integer PRIMARY KEY DEFAULT nextval('ocpp_transaction_ids'),
    pile_id             integer NOT NULL REFERENCES piles (id),
    connector_id        integer NOT NULL CHECK (connector_id > 0),
    id_tag              text NOT NULL,
    -- The charging request this session serves, when the station had scheduled one.
    station_id          integer,
    request_id          bigint,
    meter_start_wh      bigint NOT NULL,
    charger_started_at  timestamptz NOT NULL,
    started_at          timestamptz NOT NULL DEFAULT now(),
    meter_stop_wh       bigint,
    charger_stopped_at  timestamptz,
    stopped_at          timestamptz,
    -- The station ended the session first and asked the charger to stop (RemoteStopTransaction).
    remote_stop_at      timestamptz,
    stop_reason         text,
    transaction_data    jsonb,
    -- Charger timestamps are kept as sent; implausible ones (future, before the start) are flagged.
    timestamp_flags     text[] NOT NULL DEFAULT '{}',
    UNIQUE (pile_id, connector_id, id_tag, meter_start_wh, charger_started_at),
    FOREIGN KEY (station_id, request_id) REFERENCES charging_requests (station_id, id)
);
ALTER SEQUENCE ocpp_transaction_ids OWNED BY ocpp_transactions.id;
CREATE INDEX ocpp_transactions_open ON ocpp_transactions (pile_id) WHERE stopped_at IS NULL;

-- pile_overview grows the protocol and what the charger said at boot.
CREATE VIEW pile_protocols AS
SELECT id AS pile_id, protocol, ocpp_id, boot_vendor, boot_model, boot_serial, boot_firmware, booted_at,
       connector_status, connector_error, connector_info, connector_reported_at, diagnostics_status, firmware_status
FROM piles;
