import Foundation
import PostgresClient

/// Admins and drivers: creation and the credentials a login checks.
public struct AccountStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func adminCount() async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM admins").first!.decode("n")
    }

    /// Creates an admin, or replaces the password of an existing one (the same name in any case;
    /// the change revokes its tokens, migration 0005). `username` is already normalized.
    public func upsertAdmin(username: String, passwordHash: String) async throws {
        try await pool.withConnection { connection in
            try await connection.withTransaction { connection in
                let updated = try await connection.execute("""
                    UPDATE admins SET password_hash = \(passwordHash)
                    WHERE id = (SELECT id FROM admins WHERE lower(normalize(username, NFC)) = lower(normalize(\(username), NFC)) ORDER BY username = \(username) DESC, id LIMIT 1)
                    """)
                if updated == 0 {
                    try await connection.execute("INSERT INTO admins (username, password_hash) VALUES (\(username), \(passwordHash))")
                }
            }
        }
    }

    public func adminCredentials(username: String) async throws -> Credentials? {
        try await pool.query("""
            SELECT id, password_hash FROM admins WHERE lower(normalize(username, NFC)) = lower(normalize(\(username), NFC)) ORDER BY username = \(username) DESC, id LIMIT 1
            """)
            .first.map { Credentials(subject: String(try $0.decode("id", as: Int64.self)), passwordHash: try $0.decode("password_hash")) }
    }

    public func createDriver(username: String, passwordHash: String, batteryCapacityKWh: Decimal) async throws -> Int64 {
        do {
            return try await pool.query("""
                INSERT INTO drivers (username, password_hash, battery_capacity_kwh)
                VALUES (\(username), \(passwordHash), \(batteryCapacityKWh)) RETURNING id
                """).first!.decode("id")
        } catch let error as PostgresError where error.code == .uniqueViolation {
            throw StoreError.usernameTaken
        }
    }

    public func driverCredentials(username: String) async throws -> Credentials? {
        try await pool.query("""
            SELECT id, password_hash FROM drivers WHERE lower(normalize(username, NFC)) = lower(normalize(\(username), NFC)) ORDER BY username = \(username) DESC, id LIMIT 1
            """)
            .first.map { Credentials(subject: String(try $0.decode("id", as: Int64.self)), passwordHash: try $0.decode("password_hash")) }
    }

    public func driver(id: Int64) async throws -> Driver? {
        try await pool.query("""
            SELECT d.id, d.username, d.battery_capacity_kwh, d.id_tag,
                   (SELECT c.station_id FROM charging_requests c
                    WHERE c.driver_id = d.id AND c.state IN ('waiting', 'displaced', 'queued', 'charging')) AS active_station_id
            FROM drivers d WHERE d.id = \(id)
            """).first.map(Driver.init(row:))
    }
}

public struct Driver: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var batteryCapacityKWh: Decimal
    /// Its own OCPP idTag (16 hex digits, given at registration).
    public var idTag: String
    /// The station of its active request (at most one across stations), read with the driver: a driver's
    /// every request to the API needs it, and it costs no statement of its own.
    public var activeStationID: Int?

    init(row: PostgresRow) throws {
        idTag = try row.decode("id_tag")
        activeStationID = try row.decode("active_station_id")
        id = try row.decode("id")
        username = try row.decode("username")
        batteryCapacityKWh = try row.decode("battery_capacity_kwh")
    }
}
