import ChargingDomain
import Foundation
import PostgresClient

extension Duration {
    /// How long a small batch of the writes every charger sends all day (meter readings, status reports)
    /// waits for more (`PostgresBatcher(linger:)`): 10 ms gathered about 13 readings a statement on a day
    /// whose chargers start over ten seconds; 2 ms gathered too few to matter (BENCHMARKS.md).
    static let chargerWritesLinger: Duration = .milliseconds(10)
}

/// A pile's meter reading is a row update of its session's request, judged and stored for a whole batch
/// of piles in one statement; the engine takes the stored reading in when it next decides at the station.
extension StationStore {
    /// What became of a reading.
    public enum MeterVerdict: Sendable, Equatable {
        /// Kept with the request; the engine takes it in when it next decides at the station.
        case stored
        /// Kept, and it reaches the session's target: the engine should run now.
        case completes
        case refused(StationError)

        init(_ text: String) {
            switch text {
            case "stored": self = .stored
            case "completes": self = .completes
            case "backwards": self = .refused(.invalidMeterReading)
            case "implausible": self = .refused(.implausibleMeterReading)
            default: self = .refused(.unknownRequest)
            }
        }
    }

    /// Stores a pile's reading of its charging car's session (kWh so far) with the request, if it fits,
    /// in one statement with the other piles' readings under way.
    public func recordMeterReading(stationID: Int, requestID: Int64, pileID: Int, energyKWh: Decimal) async throws -> MeterVerdict {
        MeterVerdict(try await readings.run(.init(station_id: stationID, request_id: requestID, pile_id: pileID, energy_kwh: energyKWh))
            .first.orThrow().decode("verdict"))
    }

    struct MeterReading: Encodable, Sendable {
        var station_id: Int, request_id: Int64, pile_id: Int, energy_kwh: Decimal
    }

    /// Where a batch of readings comes from: each row becomes (n, station_id, request_id, pile_id, energy_kwh).
    enum MeterReadingsInput {
        /// Our protocol: `MeterReading`s, the session's energy so far.
        case sessions
        /// OCPP MeterValues: (transaction_id, pile_id, register_wh) of an open transaction, its energy so far
        /// being the register minus the transaction's meterStart.
        case ocppTransactions

        var sql: String {
            switch self {
            case .sessions: """
                SELECT r.n, r.station_id, r.request_id, r.pile_id, r.energy_kwh
                FROM batch_rows($1::jsonb) AS element,
                     jsonb_to_record(element) AS r(n integer, station_id integer, request_id bigint, pile_id integer, energy_kwh numeric)
                """
            case .ocppTransactions: """
                SELECT m.n, t.station_id, t.request_id, t.pile_id, greatest(0, m.register_wh - t.meter_start_wh) / 1000 AS energy_kwh
                FROM batch_rows($1::jsonb) AS element,
                     jsonb_to_record(element) AS m(n integer, transaction_id integer, pile_id integer, register_wh numeric)
                JOIN ocpp_transactions t ON t.id = m.transaction_id AND t.pile_id = m.pile_id AND t.stopped_at IS NULL
                                        AND t.request_id IS NOT NULL
                """
            }
        }
    }

    /// Judges and stores a batch of readings in one statement; a row per reading whose input matched:
    /// (n, station_id, request_id, energy_kwh, verdict). The verdicts, against the session in the pile's
    /// engine row and the request's stored reading:
    /// - `unknown_request`: the pile is not charging that request;
    /// - `backwards`: below zero, below the stored reading or below the engine's last checkpoint;
    /// - `implausible`: more than the pile could have delivered since the session started (2 % and 5 Wh of
    ///   slack, as `MeterPlausibility`);
    /// - `completes` (stored, and it reaches the request's target) or `stored`.
    /// The charging requests are locked in (station, id) order, so two batches (or a batch and an engine
    /// step) never deadlock; they are found by primary key (a `state` condition there would steer the
    /// planner to the partial index of a station's active requests, a scan of all of them per reading).
    /// Of several accepted readings of one session in a batch, the last one is stored.
    static func storeMeterReadingsQuery(_ input: MeterReadingsInput, batch: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: """
            WITH input AS MATERIALIZED (\(input.sql)),
            locked AS MATERIALIZED (
                SELECT c.station_id, c.id, c.meter_kwh, c.state
                FROM (SELECT DISTINCT station_id, request_id FROM input) AS i
                JOIN charging_requests c ON c.station_id = i.station_id AND c.id = i.request_id
                ORDER BY c.station_id, c.id
                FOR UPDATE OF c
            ),
            judged AS MATERIALIZED (
                SELECT i.n, i.station_id, i.request_id, i.energy_kwh, clock.station_now,
                       CASE
                           WHEN l.state IS DISTINCT FROM 'charging' OR session.request_id IS DISTINCT FROM i.request_id
                               THEN 'unknown_request'
                           WHEN i.energy_kwh < 0 OR i.energy_kwh < coalesce(l.meter_kwh, 0) OR reading.wms < session.checkpoint_wms
                               THEN 'backwards'
                           WHEN reading.wms > nominal.wms + div(nominal.wms, 100) * 2 + 18000000 THEN 'implausible'
                           WHEN reading.wms >= session.target_wms THEN 'completes'
                           ELSE 'stored'
                       END AS verdict
                FROM input i
                LEFT JOIN locked l ON l.station_id = i.station_id AND l.id = i.request_id
                LEFT JOIN piles p ON p.id = i.pile_id AND p.station_id = i.station_id
                LEFT JOIN station_clock clock ON clock.station_id = i.station_id
                CROSS JOIN LATERAL (
                    SELECT (s ->> 'request_id')::bigint AS request_id, (s ->> 'checkpoint_wms')::numeric AS checkpoint_wms,
                           (s ->> 'target_wms')::numeric AS target_wms, (s ->> 'started_at_ms')::bigint AS started_at_ms
                    FROM (SELECT CASE WHEN jsonb_typeof(p.engine_state -> 'session') = 'object' THEN p.engine_state -> 'session' END) AS x(s)
                ) AS session
                CROSS JOIN LATERAL (SELECT i.energy_kwh * 3600000000 AS wms) AS reading
                CROSS JOIN LATERAL (
                    SELECT (p.engine_state #>> '{pile,power_w}')::numeric
                           * greatest(0, (extract(epoch FROM clock.station_now) * 1000)::bigint - session.started_at_ms) AS wms
                ) AS nominal
            ),
            stored AS (
                UPDATE charging_requests c SET meter_kwh = j.energy_kwh, meter_at = j.station_now, meter_pending = true
                FROM (SELECT DISTINCT ON (station_id, request_id) * FROM judged WHERE verdict IN ('stored', 'completes')
                      ORDER BY station_id, request_id, n DESC) AS j
                WHERE c.station_id = j.station_id AND c.id = j.request_id
            )
            SELECT n, station_id, request_id, energy_kwh, verdict FROM judged
            """, binds: [PostgresBind(batch)])
    }
}
