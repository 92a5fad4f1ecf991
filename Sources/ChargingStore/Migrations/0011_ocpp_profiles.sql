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

-- Firmware updates (UpdateFirmware) and diagnostics uploads (GetDiagnostics) as operations over many
-- chargers (`chargepile firmware update`, `POST /admin/firmware/update`, …). Every instance's
-- OCPPOperationsService sends the call to at most max_concurrent of an operation's piles at a time
-- (a pile is busy from when it is sent the call until it reports the end), follows each pile through
-- its Firmware/DiagnosticsStatusNotifications, and asks a pile silent for status_timeout_seconds for
-- its status (TriggerMessage).
CREATE TABLE ocpp_operations (
    id                     bigserial PRIMARY KEY,
    kind                   text NOT NULL CHECK (kind IN ('firmware', 'diagnostics')),
    location               text NOT NULL CHECK (length(location) BETWEEN 1 AND 512),
    -- Firmware: UpdateFirmware.retrieveDate (null: when sent).
    retrieve_at            timestamptz,
    retries                integer CHECK (retries >= 0),
    retry_interval         integer CHECK (retry_interval >= 0),
    max_concurrent         integer NOT NULL CHECK (max_concurrent > 0),
    status_timeout_seconds integer NOT NULL CHECK (status_timeout_seconds > 0),
    created_at             timestamptz NOT NULL DEFAULT now()
);

-- One row per pile of an operation. state: waiting (not sent yet), sending (being sent), running
-- (the charger took the call), done (Installed / Uploaded, or no diagnostics to upload), failed
-- (refused, no answer, DownloadFailed, InstallationFailed, UploadFailed).
CREATE TABLE ocpp_operation_piles (
    operation_id bigint NOT NULL REFERENCES ocpp_operations (id),
    pile_id      integer NOT NULL REFERENCES piles (id),
    state        text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'sending', 'running', 'done', 'failed')),
    state_since  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    -- The charger's answer to the call (GetDiagnostics: the fileName), or why it failed.
    answer       jsonb,
    error        text,
    -- The charger's latest Firmware/DiagnosticsStatusNotification while the operation ran.
    status       text,
    status_at    timestamptz,
    triggered_at timestamptz,
    PRIMARY KEY (operation_id, pile_id)
);
CREATE INDEX ocpp_operation_piles_open ON ocpp_operation_piles (pile_id) WHERE state IN ('waiting', 'sending', 'running');

-- Per pile: what it was sent, its status and since when.
CREATE VIEW ocpp_operation_progress AS
SELECT o.id AS operation_id, o.kind, o.location, o.max_concurrent, p.pile_id, piles.ocpp_id, p.state, p.state_since,
       p.sent_at, p.status, p.status_at, p.triggered_at, p.answer, p.error
FROM ocpp_operations o JOIN ocpp_operation_piles p ON p.operation_id = o.id JOIN piles ON piles.id = p.pile_id
ORDER BY o.id DESC, p.pile_id;

-- Consoles show operations and security events live (topic `ocpp`, see 0004_console_events.sql).
CREATE TRIGGER ocpp_operation_piles_console AFTER INSERT OR UPDATE ON ocpp_operation_piles
    FOR EACH ROW EXECUTE FUNCTION notify_console('ocpp');
CREATE TRIGGER ocpp_security_events_console AFTER INSERT ON ocpp_security_events
    FOR EACH ROW EXECUTE FUNCTION notify_console('ocpp');

-- Local authorization lists (Local Auth List Management), kept equal to the idTags that may charge
-- (LocalListService, `serve --ocpp-local-list-sync`). Every change of a tag takes a new revision, so a
-- charger's list is behind when a tag's revision is above the one it was last sent.
CREATE SEQUENCE id_tag_revisions;
ALTER TABLE id_tags ADD COLUMN revision bigint NOT NULL DEFAULT nextval('id_tag_revisions');
CREATE FUNCTION id_tags_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := nextval('id_tag_revisions');
    RETURN NEW;
END $$;
CREATE TRIGGER id_tags_revision BEFORE UPDATE ON id_tags FOR EACH ROW
    WHEN ((OLD.driver_id, OLD.parent_id_tag, OLD.expires_at, OLD.blocked) IS DISTINCT FROM
          (NEW.driver_id, NEW.parent_id_tag, NEW.expires_at, NEW.blocked))
    EXECUTE FUNCTION id_tags_revision();
CREATE INDEX id_tags_revision ON id_tags (revision);

-- Per pile: what its configuration said (read once per connection: checked_epoch), the list version it
-- holds as we last sent it, up to which tag revision and expiry time that list is current (synced_revision
-- NULL: a full list is due), and how the last sync went.
CREATE TABLE ocpp_local_lists (
    pile_id          integer PRIMARY KEY REFERENCES piles (id),
    checked_epoch    bigint,
    supported        boolean,
    enabled          boolean,
    max_length       integer,
    send_max_length  integer,
    list_version     integer NOT NULL DEFAULT 0,
    synced_revision  bigint,
    synced_expiry_at timestamptz,
    tag_count        integer,
    synced_at        timestamptz,
    failure          text,
    syncing_until    timestamptz
);

CREATE VIEW ocpp_local_list_status AS
SELECT l.pile_id, p.ocpp_id, l.supported, l.enabled, l.max_length, l.send_max_length, l.list_version, l.tag_count,
       l.synced_at, l.failure,
       l.synced_revision IS NOT NULL AND NOT EXISTS (SELECT 1 FROM id_tags t WHERE t.revision > l.synced_revision) AS current
FROM ocpp_local_lists l JOIN piles p ON p.id = l.pile_id;
CREATE TRIGGER ocpp_local_lists_console AFTER INSERT OR UPDATE ON ocpp_local_lists
    FOR EACH ROW EXECUTE FUNCTION notify_console('ocpp');
