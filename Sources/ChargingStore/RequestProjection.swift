import ChargingDomain
import Foundation
import PostgresClient

/// Writes the station's requests into `charging_requests`: the engine's row of each active request
/// (`engine_state`, part of the stored station) beside its columns, so the queues and the waiting
/// area can be read with plain SQL.
struct RequestProjection {
    let station: Station
    let stationID: Int

    /// Upserts the requests that differ from `before` (the station this transaction loaded; nil: all),
    /// with their new engine rows: usually one or two rows, not the whole station. A request's columns
    /// change with its engine row (amounts, mode, number, first charge) or with its place (state, pile,
    /// position), so those two say which rows to write. A request's stored meter reading belongs to its
    /// session: it goes when the car stops charging at that pile.
    func write(since before: Station?, engineRows: [Int64: Data], on connection: PostgresConnection) async throws {
        let places = station.requestPlaces
        let placesBefore = before?.requestPlaces ?? [:]
        let changed = Set(places.keys.filter { engineRows[$0] != nil || places[$0] != placesBefore[$0] })
        for request in station.activeRequests(changed, places: places) {
            let engineRow = engineRows[request.requestID].map { String(decoding: $0, as: UTF8.self) }
            try await connection.execute("""
                INSERT INTO charging_requests (station_id, id, driver_id, mode, queue_number, request_kwh, battery_capacity_kwh,
                                               state, pile_id, queue_position, submitted_at, charging_started_at, engine_state)
                SELECT \(stationID), \(request.requestID), d.id, \(request.mode.rawValue), \(request.queueNumber),
                       \(request.requestedKWh), \(request.batteryCapacityKWh), \(request.state.rawValue), \(request.pileID),
                       \(request.queuePosition), \(Date(instant: request.submittedAt)), \(request.firstChargedAt.map(Date.init(instant:))),
                       \(engineRow)::jsonb
                FROM drivers d WHERE d.username = \(request.driver)
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
                """)
        }
    }

    /// Requests that left the station (`departed`, with how each left from the effects): their rows stay
    /// for the reports, finished or cancelled, without a place, engine state or a pending reading. One statement.
    func recordDepartures(_ effects: [StationEffect], departed: [Int64], on connection: PostgresConnection) async throws {
        guard !departed.isEmpty else { return }
        var states: [Int64: String] = [:]
        for case .requestFinished(let requestID, _, let reason) in effects { states[requestID] = reason == .completed ? "finished" : "cancelled" }
        let ids = "{" + departed.map(String.init).joined(separator: ",") + "}"
        let endStates = "{" + departed.map { states[$0] ?? "cancelled" }.joined(separator: ",") + "}"
        try await connection.execute("""
            UPDATE charging_requests c
            SET state = d.state, pile_id = NULL, queue_position = NULL, ended_at = \(Date(instant: station.now)),
                engine_state = NULL, meter_pending = false
            FROM unnest(\(ids)::bigint[], \(endStates)::text[]) AS d(id, state)
            WHERE c.station_id = \(stationID) AND c.id = d.id
            """)
    }
}
