-- Reservations. An operator keeps a pile for a driver over a window (pile_reservations: the station's engine
-- holds the windows not yet ended and dispatches no other driver's car into them; this table is what
-- operators and DBAs read). The station keeps an OCPP charger for the car next in its queue with ReserveNow
-- (ocpp_reservations: one row per reservation sent; its id is the OCPP reservationId).

CREATE TABLE pile_reservations (
    id           bigserial PRIMARY KEY,
    station_id   integer NOT NULL REFERENCES stations (id),
    pile_id      integer NOT NULL REFERENCES piles (id),
    driver       text NOT NULL,
    starts_at    timestamptz NOT NULL,   -- station time
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz
);
CREATE INDEX pile_reservations_pile ON pile_reservations (pile_id, ends_at);

CREATE TABLE ocpp_reservations (
    id           serial PRIMARY KEY,     -- the reservationId the charger is sent
    pile_id      integer NOT NULL REFERENCES piles (id),
    request_id   bigint NOT NULL,
    driver       text NOT NULL,
    id_tag       text NOT NULL,
    expires_at   timestamptz NOT NULL,
    -- sent: ReserveNow under way; accepted, occupied, faulted, rejected, unavailable: the charger's answer;
    -- failed: no answer; cancelled: CancelReservation sent (cancel_answer says how it was taken);
    -- consumed: the car's start was sent (its transaction uses the reservation up); released: the charger
    -- reported its connector Available right after Reserved while the reservation was accepted (it expired or
    -- was dropped there).
    state        text NOT NULL DEFAULT 'sent'
                 CHECK (state IN ('sent', 'accepted', 'occupied', 'faulted', 'rejected', 'unavailable', 'failed',
                                  'cancelled', 'consumed', 'released')),
    answer       text,
    cancel_answer text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ocpp_reservations_pile_request ON ocpp_reservations (pile_id, request_id);

-- The operators' windows with whether each is still to come or under way (active), over, or cancelled, by
-- its station's clock.
CREATE VIEW reservation_status AS
SELECT r.id, r.station_id, r.pile_id, r.driver, r.starts_at, r.ends_at, r.cancelled_at,
       CASE WHEN r.cancelled_at IS NOT NULL THEN 'cancelled' WHEN r.ends_at <= sc.station_now THEN 'ended' ELSE 'active' END AS state
FROM pile_reservations r JOIN station_clock sc ON sc.station_id = r.station_id;
