import ChargingDomain
import Foundation
import PostgresClient

/// Writes the station's requests into `charging_requests`: the engine's row of each active request
/// (`engine_state`, part of the stored station) beside its columns, so the queues and the waiting
/// area can be read with plain SQL. Its two data-modifying CTEs are part of the engine step's one
/// statement (`StationStore.write`); they read `input.station_id`, `input.requests` (`upserts`),
/// `input.departures` and `input.ended_at` (`departures`).
struct RequestProjection {
    let station: Station

    /// An active request's row (`upsertsSQL`): times and amounts as the text their parameters would carry.
    private struct Upsert: Encodable {
        var id: Int64
        var driver: String
        var mode: String
        var queue_number: String
        var request_kwh: String
        var battery_capacity_kwh: String
        var state: String
        var pile_id: Int?
        var queue_position: Int?
        var submitted_at: String
        var charging_started_at: String?
        /// The engine row's JSON text; nil keeps the stored one.
        var engine_state: String?
    }

    /// The requests that differ from `before` (the station this transaction loaded; nil: all), with their
    /// new engine rows, as a JSON array (nil: none): usually one or two rows, not the whole station. A
    /// request's columns change with its engine row (amounts, mode, number, first charge) or with its place
    /// (state, pile, position), so those two say which rows to write.
    func upserts(since before: Station?, engineRows: [Int64: Data]) throws -> String? {
        let places = station.requestPlaces
        let placesBefore = before?.requestPlaces ?? [:]
        let changed = Set(places.keys.filter { engineRows[$0] != nil || places[$0] != placesBefore[$0] })
        let rows = station.activeRequests(changed, places: places).map { request in
            Upsert(id: request.requestID, driver: request.driver, mode: request.mode.rawValue, queue_number: request.queueNumber,
                   request_kwh: request.requestedKWh.description, battery_capacity_kwh: request.batteryCapacityKWh.description,
                   state: request.state.rawValue, pile_id: request.pileID, queue_position: request.queuePosition,
                   submitted_at: Date(instant: request.submittedAt).postgresText!,
                   charging_started_at: request.firstChargedAt.flatMap { Date(instant: $0).postgresText },
                   engine_state: engineRows[request.requestID].map { String(decoding: $0, as: UTF8.self) })
        }
        return rows.isEmpty ? nil : String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }

    /// Requests that left the station (`departed`), with how each left from the effects, as a JSON array (nil: none).
    func departures(_ effects: [StationEffect], departed: [Int64]) throws -> String? {
        guard !departed.isEmpty else { return nil }
        var states: [Int64: String] = [:]
        for case .requestFinished(let requestID, _, let reason) in effects { states[requestID] = reason == .completed ? "finished" : "cancelled" }
        let rows = departed.map { ["id": "\($0)", "state": states[$0] ?? "cancelled"] }
        return String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }

    /// Departed requests keep their rows for the reports, finished or cancelled, without a place, engine
    /// state or a pending reading.
    static let departuresSQL = """
        UPDATE charging_requests c
        SET state = d.state, pile_id = NULL, queue_position = NULL, ended_at = input.ended_at, engine_state = NULL, meter_pending = false
        FROM input, batch_rows(input.departures) AS element, jsonb_to_record(element) AS d(id bigint, state text)
        WHERE c.station_id = input.station_id AND c.id = d.id
        RETURNING c.id
        """

    /// Upserts the active requests that changed, after the departures when there are any (`departed`, the
    /// CTE of `departuresSQL`, is read first): a driver whose request just completed may already have a new
    /// one, and a driver has one active request at a time (`charging_requests_one_active_per_driver`). A
    /// request's stored meter reading belongs to its session: it goes when the car stops charging at that pile.
    static func upsertsSQL(afterDepartures: Bool) -> String {
        """
        INSERT INTO charging_requests (station_id, id, driver_id, mode, queue_number, request_kwh, battery_capacity_kwh,
                                       state, pile_id, queue_position, submitted_at, charging_started_at, engine_state)
        SELECT input.station_id, r.id, d.id, r.mode, r.queue_number, r.request_kwh, r.battery_capacity_kwh, r.state, r.pile_id,
               r.queue_position, r.submitted_at, r.charging_started_at, r.engine_state::jsonb
        FROM input
        CROSS JOIN LATERAL batch_rows(input.requests) AS element
        CROSS JOIN LATERAL jsonb_to_record(element) AS r(id bigint, driver text, mode text, queue_number text, request_kwh numeric,
                                                         battery_capacity_kwh numeric, state text, pile_id integer, queue_position integer,
                                                         submitted_at timestamptz, charging_started_at timestamptz, engine_state text)
        JOIN drivers d ON d.username = r.driver
        \(afterDepartures ? "WHERE (SELECT count(*) FROM departed) >= 0" : "")
        ORDER BY r.id
        ON CONFLICT (station_id, id) DO UPDATE SET
            mode = EXCLUDED.mode, queue_number = EXCLUDED.queue_number, request_kwh = EXCLUDED.request_kwh,
            state = EXCLUDED.state, pile_id = EXCLUDED.pile_id, queue_position = EXCLUDED.queue_position,
            charging_started_at = EXCLUDED.charging_started_at,
            engine_state = coalesce(EXCLUDED.engine_state, charging_requests.engine_state),
            meter_kwh = CASE WHEN EXCLUDED.state = 'charging' AND charging_requests.state = 'charging'
                              AND EXCLUDED.pile_id = charging_requests.pile_id THEN charging_requests.meter_kwh END,
            meter_at = CASE WHEN EXCLUDED.state = 'charging' AND charging_requests.state = 'charging'
                             AND EXCLUDED.pile_id = charging_requests.pile_id THEN charging_requests.meter_at END,
            meter_pending = EXCLUDED.state = 'charging' AND charging_requests.state = 'charging'
                            AND EXCLUDED.pile_id = charging_requests.pile_id AND charging_requests.meter_pending
        """
    }
}
