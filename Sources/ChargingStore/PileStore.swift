import ChargingDomain
import Foundation
import PostgresClient

/// Piles: provisioning, credentials and the admin's status view.
public struct PileStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Every pile, or one station's.
    public func all(stationID: Int? = nil) async throws -> [PileRecord] {
        try await pool.query("SELECT * FROM pile_status WHERE (\(stationID)::integer IS NULL OR station_id = \(stationID)::integer) ORDER BY id")
            .map(PileRecord.init(row:))
    }

    public func credentials(pileID: Int) async throws -> Credentials? {
        try await pool.query("SELECT password_hash, secret_salt, secret_digest FROM piles WHERE id = \(pileID)").first.map { row in
            let salt = try row.decode("secret_salt", as: [UInt8]?.self)
            let digest = try row.decode("secret_digest", as: [UInt8]?.self)
            return Credentials(subject: String(pileID), passwordHash: try row.decode("password_hash"),
                               secretDigest: salt.flatMap { salt in digest.map { (salt, $0) } })
        }
    }

    /// A new password hash for a pile (its tokens are revoked by a trigger); false for an unknown pile.
    public func setPassword(pileID: Int, passwordHash: String) async throws -> Bool {
        try await pool.execute("UPDATE piles SET password_hash = \(passwordHash) WHERE id = \(pileID)") == 1
    }
}
