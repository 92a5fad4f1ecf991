import ChargingDomain
import Foundation
import PostgresClient

/// Mirrors the station's requests into `charging_requests`, so the queues and the
/// waiting area can be read with plain SQL. The snapshot stays the truth.
struct RequestProjection {
    let station: Station
    let stationID: Int

    /// Upserts the requests that differ from `before` (the snapshot this transaction loaded):
    /// usually one or two rows, not the whole station.
    func write(since before: Station, on connection: PostgresConnection) async throws {
        let unchanged = Set(before.activeRequests.map(RowKey.init))
        for request in station.activeRequests where !unchanged.contains(RowKey(request)) {
            try await connection.execute("""
                INSERT INTO charging_requests (station_id, id, driver_id, mode, queue_number, request_kwh, battery_capacity_kwh,
                                               state, pile_id, queue_position, submitted_at, charging_started_at)
                SELECT \(stationID), \(request.requestID), d.id, \(request.mode.rawValue), \(request.queueNumber),
                       \(request.requestedKWh), \(request.batteryCapacityKWh), \(request.state.rawValue), \(request.pileID),
                       \(request.queuePosition), \(Date(instant: request.submittedAt)), \(request.firstChargedAt.map(Date.init(instant:)))
                FROM drivers d WHERE d.username = \(request.driver)
                ON CONFLICT (station_id, id) DO UPDATE SET
                    mode = EXCLUDED.mode, queue_number = EXCLUDED.queue_number, request_kwh = EXCLUDED.request_kwh,
                    state = EXCLUDED.state, pile_id = EXCLUDED.pile_id, queue_position = EXCLUDED.queue_position,
                    charging_started_at = EXCLUDED.charging_started_at
                """)
        }
    }

    /// After the bills are written: requests that left the station.
    func recordDepartures(_ effects: [StationEffect], on connection: PostgresConnection) async throws {
        for case .requestFinished(let requestID, _, let reason) in effects {
            try await connection.execute("""
                UPDATE charging_requests
                SET state = \(reason == .completed ? "finished" : "cancelled"), pile_id = NULL, queue_position = NULL,
                    ended_at = \(Date(instant: station.now))
                WHERE station_id = \(stationID) AND id = \(requestID)
                """)
        }
    }
}

/// What a `charging_requests` row holds of an active request.
private struct RowKey: Hashable {
    var requestID: Int64, mode: String, queueNumber: String, requestedKWh: Decimal, state: String
    var pileID: Int?, queuePosition: Int?, firstChargedAt: Int64?

    init(_ request: ActiveRequest) {
        requestID = request.requestID
        mode = request.mode.rawValue
        queueNumber = request.queueNumber
        requestedKWh = request.requestedKWh
        state = request.state.rawValue
        pileID = request.pileID
        queuePosition = request.queuePosition
        firstChargedAt = request.firstChargedAt
    }
}
