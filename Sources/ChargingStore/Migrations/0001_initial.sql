-- chargepile schema, version 1. Forward-only: later changes go in new numbered files.

CREATE TABLE admins (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash text NOT NULL CHECK (password_hash LIKE '$2%'),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drivers (
    id                   bigserial PRIMARY KEY,
    username             text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash        text NOT NULL CHECK (password_hash LIKE '$2%'),
    battery_capacity_kwh numeric(10, 3) NOT NULL CHECK (battery_capacity_kwh > 0),
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- A station is scheduled as one unit: its engine state is a JSON snapshot written
-- under the station's advisory lock; the tables below project it for SQL readers.
CREATE TABLE stations (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    settings    jsonb NOT NULL,
    state       jsonb NOT NULL,
    -- Station clock: every instance derives the same time from these columns.
    clock_mode  text NOT NULL DEFAULT 'real' CHECK (clock_mode IN ('real', 'scaled', 'manual')),
    clock_speed double precision NOT NULL DEFAULT 1 CHECK (clock_speed > 0),
    clock_real_origin    timestamptz NOT NULL DEFAULT now(),
    clock_station_origin timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE piles (
    id                integer PRIMARY KEY CHECK (id > 0),
    station_id        integer NOT NULL REFERENCES stations (id),
    kind              char(1) NOT NULL CHECK (kind IN ('F', 'T')),
    power_kw          numeric(8, 3) NOT NULL CHECK (power_kw > 0),
    password_hash     text NOT NULL CHECK (password_hash LIKE '$2%'),
    status            text NOT NULL DEFAULT 'offline' CHECK (status IN ('on', 'off', 'repair', 'offline')),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    -- Totals over this pile's detail records, kept in the transaction that writes each record.
    total_charging_times    bigint NOT NULL DEFAULT 0 CHECK (total_charging_times >= 0),
    total_charging_kwh      numeric(14, 3) NOT NULL DEFAULT 0 CHECK (total_charging_kwh >= 0),
    total_charging_seconds  numeric(14, 3) NOT NULL DEFAULT 0 CHECK (total_charging_seconds >= 0),
    -- Ownership: the instance holding the pile's WebSocket, fenced by epoch.
    owner_instance    uuid,
    owner_epoch       bigint NOT NULL DEFAULT 0,
    connected_since   timestamptz,
    CHECK ((owner_instance IS NULL) = (connected_since IS NULL))
);
CREATE INDEX piles_station ON piles (station_id, id);
CREATE INDEX piles_owner ON piles (owner_instance) WHERE owner_instance IS NOT NULL;

CREATE TABLE auth_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    role       text NOT NULL CHECK (role IN ('admin', 'pile', 'driver')),
    subject    text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_tokens_expiry ON auth_tokens (expires_at);

-- One row per accepted request; the active ones are the queues and the waiting area.
CREATE TABLE charging_requests (
    station_id           integer NOT NULL REFERENCES stations (id),
    id                   bigint NOT NULL CHECK (id > 0),
    driver_id            bigint NOT NULL REFERENCES drivers (id),
    mode                 char(1) NOT NULL CHECK (mode IN ('F', 'T')),
    queue_number         text NOT NULL,
    request_kwh          numeric(12, 3) NOT NULL CHECK (request_kwh > 0),
    battery_capacity_kwh numeric(10, 3) NOT NULL CHECK (battery_capacity_kwh > 0),
    state                text NOT NULL CHECK (state IN ('waiting', 'displaced', 'queued', 'charging', 'finished', 'cancelled')),
    pile_id              integer REFERENCES piles (id),
    queue_position       integer CHECK (queue_position > 0),
    submitted_at         timestamptz NOT NULL,
    charging_started_at  timestamptz,
    ended_at             timestamptz,
    PRIMARY KEY (station_id, id),
    CHECK ((state IN ('queued', 'charging')) = (pile_id IS NOT NULL AND queue_position IS NOT NULL))
);
CREATE UNIQUE INDEX charging_requests_one_active_per_driver ON charging_requests (driver_id)
    WHERE state IN ('waiting', 'displaced', 'queued', 'charging');
CREATE INDEX charging_requests_pile_queue ON charging_requests (pile_id, queue_position)
    WHERE state IN ('queued', 'charging');

-- Detail records (bills): every charging session, completed or interrupted.
CREATE TABLE bills (
    id             bigserial PRIMARY KEY,
    station_id     integer NOT NULL REFERENCES stations (id),
    request_id     bigint NOT NULL,
    driver_id      bigint NOT NULL REFERENCES drivers (id),
    pile_id        integer NOT NULL REFERENCES piles (id),
    energy_kwh     numeric(14, 6) NOT NULL CHECK (energy_kwh >= 0),
    duration_ms    bigint NOT NULL CHECK (duration_ms >= 0),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL CHECK (finished_at >= started_at),
    charging_fee   numeric(12, 2) NOT NULL CHECK (charging_fee >= 0),
    service_fee    numeric(12, 2) NOT NULL CHECK (service_fee >= 0),
    total_fee      numeric(12, 2) NOT NULL CHECK (total_fee >= 0),
    ended_by       text NOT NULL CHECK (ended_by IN ('completed', 'cancelled', 'fault', 'off')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (station_id, request_id) REFERENCES charging_requests (station_id, id)
);
CREATE INDEX bills_driver ON bills (driver_id, id DESC);
CREATE INDEX bills_pile_time ON bills (pile_id, finished_at);

-- Running instances; a survivor marks the piles of one whose heartbeat stopped offline.
CREATE TABLE instances (
    id           uuid PRIMARY KEY,
    address      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Admin status commands: a row per command, NOTIFY is only the doorbell.
CREATE TABLE pile_commands (
    id             bigserial PRIMARY KEY,
    pile_id        integer NOT NULL REFERENCES piles (id),
    status         text NOT NULL CHECK (status IN ('on', 'off', 'repair', 'offline')),
    owner_instance uuid NOT NULL,
    owner_epoch    bigint NOT NULL,
    -- The instance whose admin request waits for the outcome.
    requester_instance uuid NOT NULL,
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'written', 'failed', 'expired')),
    error          text,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    deadline       timestamptz NOT NULL,
    finished_at    timestamptz,
    acked_at       timestamptz,
    CHECK ((state = 'pending') = (finished_at IS NULL))
);
CREATE INDEX pile_commands_pending ON pile_commands (owner_instance, id) WHERE state = 'pending';
CREATE INDEX pile_commands_pile ON pile_commands (pile_id, id DESC);

-- What the admin's status view shows; DBAs can read it with psql too.
CREATE VIEW pile_status AS
SELECT id, station_id, kind, power_kw, status, total_charging_times, total_charging_kwh,
       total_charging_seconds, owner_instance IS NOT NULL AS connected, connected_since
FROM piles;
