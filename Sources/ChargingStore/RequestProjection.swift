import ChargingDomain
import Foundation
import PostgresClient

/// Mirrors the station's requests into `charging_requests`, so the queues and the
/// waiting area can be read with plain SQL. The snapshot stays the truth.
struct RequestProjection {
    let station: Station
    let stationID: Int

    func write(on connection: PostgresConnection) async throws {
        let active = station.activeRequests
        for request in active {
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
