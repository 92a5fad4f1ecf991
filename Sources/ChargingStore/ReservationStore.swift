import Foundation
import PostgresClient

/// Every SQL statement of reservations: the operators' windows (`pile_reservations`, the engine holds the
/// windows not ended) and the ReserveNow calls sent to OCPP chargers (`ocpp_reservations`).
public struct ReservationStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: operators' windows

    public struct Window: Sendable, Equatable, Codable {
        public var id: Int64
        public var pileID: Int
        public var driver: String
        public var startsAt: Date
        public var endsAt: Date
        public var cancelledAt: Date?
        /// `active` (to come or under way), `ended` or `cancelled`.
        public var state: String

        enum CodingKeys: String, CodingKey {
            case id, driver, state
            case pileID = "pile_id"
            case startsAt = "starts_at"
            case endsAt = "ends_at"
            case cancelledAt = "cancelled_at"
        }
    }

    /// Whether a driver of that name is registered.
    public static func driverExists(_ username: String, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT 1 AS one FROM drivers WHERE username = \(username)").first != nil
    }

    /// A new window's row, in the transaction that gives it to the engine; its id is the engine's reservation id.
    public static func insertWindow(stationID: Int, pileID: Int, driver: String, startsAt: Date, endsAt: Date,
                                    on connection: PostgresConnection) async throws -> Int64 {
        try await connection.query("""
            INSERT INTO pile_reservations (station_id, pile_id, driver, starts_at, ends_at)
            VALUES (\(stationID), \(pileID), \(driver), \(startsAt), \(endsAt)) RETURNING id
            """).first!.decode("id")
    }

    /// Marks a window cancelled; false when there is no such window or it was cancelled already.
    public static func cancelWindow(id: Int64, on connection: PostgresConnection) async throws -> Bool {
        try await connection.execute("""
            UPDATE pile_reservations SET cancelled_at = now() WHERE id = \(id) AND cancelled_at IS NULL
            """) == 1
    }

    /// The pile of a window, to find its station.
    public func pileOfWindow(id: Int64) async throws -> Int? {
        try await pool.query("SELECT pile_id FROM pile_reservations WHERE id = \(id)").first?.decode("pile_id")
    }

    /// The windows, newest first: with `pileID`, of that pile; without `all`, only those still active.
    public func windows(pileID: Int?, all: Bool, limit: Int = 500) async throws -> [Window] {
        try await pool.query("""
            SELECT id, pile_id, driver, starts_at, ends_at, cancelled_at, state FROM reservation_status
            WHERE (\(pileID)::integer IS NULL OR pile_id = \(pileID)) AND (\(all) OR state = 'active')
            ORDER BY id DESC LIMIT \(limit)
            """).map { row in
            Window(id: try row.decode("id"), pileID: try row.decode("pile_id"), driver: try row.decode("driver"),
                   startsAt: try row.decode("starts_at"), endsAt: try row.decode("ends_at"),
                   cancelledAt: try row.decode("cancelled_at"), state: try row.decode("state"))
        }
    }

    // MARK: OCPP chargers' reservations

    /// A reservation about to be sent to a charger; its id is the reservationId.
    public func openChargerReservation(pileID: Int, requestID: Int64, driver: String, idTag: String, expiresAt: Date) async throws -> Int32 {
        try await pool.query("""
            INSERT INTO ocpp_reservations (pile_id, request_id, driver, id_tag, expires_at)
            VALUES (\(pileID), \(requestID), \(driver), \(idTag), \(expiresAt)) RETURNING id
            """).first!.decode("id")
    }

    /// The charger's answer to ReserveNow (`accepted`, `occupied`, …, or `failed` without one).
    public func recordReservationAnswer(id: Int32, state: String, answer: String?) async throws {
        try await pool.execute("""
            UPDATE ocpp_reservations SET state = \(state), answer = \(answer), updated_at = now() WHERE id = \(id)
            """)
    }

    /// The reservation the charger may still hold for this car (sent, or accepted), newest first.
    public func heldChargerReservation(pileID: Int, requestID: Int64) async throws -> Int32? {
        try await pool.query("""
            SELECT id FROM ocpp_reservations
            WHERE pile_id = \(pileID) AND request_id = \(requestID) AND state IN ('sent', 'accepted')
            ORDER BY id DESC LIMIT 1
            """).first?.decode("id")
    }

    public func recordCancel(id: Int32, answer: String?) async throws {
        try await pool.execute("""
            UPDATE ocpp_reservations SET state = 'cancelled', cancel_answer = \(answer), updated_at = now() WHERE id = \(id)
            """)
    }

    /// The car's start was sent: the transaction it opens uses the charger's reservation up.
    public func consumed(pileID: Int, requestID: Int64) async throws {
        try await pool.execute("""
            UPDATE ocpp_reservations SET state = 'consumed', updated_at = now()
            WHERE pile_id = \(pileID) AND request_id = \(requestID) AND state IN ('sent', 'accepted')
            """)
    }

    /// The charger reported its connector Available right after Reserved: a reservation it had accepted is gone
    /// there (expired, or dropped). Returns how many were.
    @discardableResult
    public func chargerReleased(pileID: Int) async throws -> Int {
        try await pool.execute("""
            UPDATE ocpp_reservations SET state = 'released', updated_at = now() WHERE pile_id = \(pileID) AND state = 'accepted'
            """)
    }
}
