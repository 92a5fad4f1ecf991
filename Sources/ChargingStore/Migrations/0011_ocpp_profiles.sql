-- OCPP 1.6J beyond the Core profile: what chargers report under the other feature profiles and
-- the 1.6 security extension.

-- Every report a charger sends about a job of ours, in the order received: FirmwareStatusNotification
-- (firmware), DiagnosticsStatusNotification (diagnostics), LogStatusNotification (log, with the
-- GetLog's requestId) and SignedFirmwareStatusNotification (signed_firmware, with the
-- SignedUpdateFirmware's requestId). The latest of each is also kept on the pile (pile_protocols).
CREATE TABLE ocpp_status_reports (
    id          bigserial PRIMARY KEY,
    pile_id     integer NOT NULL REFERENCES piles (id),
    kind        text NOT NULL CHECK (kind IN ('firmware', 'diagnostics', 'log', 'signed_firmware')),
    status      text NOT NULL,
    request_id  integer,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ocpp_status_reports_pile ON ocpp_status_reports (pile_id, id);

ALTER TABLE piles
    ADD COLUMN log_status text,
    ADD COLUMN log_request_id integer,
    ADD COLUMN firmware_request_id integer,
    ADD COLUMN firmware_reported_at timestamptz,
    ADD COLUMN diagnostics_reported_at timestamptz;

-- SecurityEventNotification: the charger's security log as it reports it (type, its own timestamp,
-- techInfo), for the operator (GET /admin/ocpp/security-events, the view below).
CREATE TABLE ocpp_security_events (
    id                bigserial PRIMARY KEY,
    pile_id           integer NOT NULL REFERENCES piles (id),
    event_type        text NOT NULL,
    charger_timestamp timestamptz NOT NULL,
    tech_info         text,
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ocpp_security_events_pile ON ocpp_security_events (pile_id, id);
CREATE INDEX ocpp_security_events_received ON ocpp_security_events (received_at);

-- SignCertificate requests, kept until the operator's CA signs them (security profile 3).
CREATE TABLE ocpp_certificate_requests (
    id          bigserial PRIMARY KEY,
    pile_id     integer NOT NULL REFERENCES piles (id),
    csr         text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    answer      text NOT NULL CHECK (answer IN ('Accepted', 'Rejected'))
);

CREATE VIEW recent_security_events AS
SELECT e.id, e.pile_id, p.ocpp_id, e.event_type, e.charger_timestamp, e.tech_info, e.received_at
FROM ocpp_security_events e JOIN piles p ON p.id = e.pile_id
ORDER BY e.id DESC;

CREATE OR REPLACE VIEW pile_protocols AS
SELECT id AS pile_id, protocol, ocpp_id, boot_vendor, boot_model, boot_serial, boot_firmware, booted_at,
       connector_status, connector_error, connector_info, connector_reported_at, diagnostics_status, firmware_status,
       firmware_request_id, firmware_reported_at, diagnostics_reported_at, log_status, log_request_id
FROM piles;
