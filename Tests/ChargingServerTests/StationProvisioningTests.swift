import ChargingDomain
import ChargingStore
import Foundation
import Logging
import PostgresClient
import Testing
import TestSupport

/// `chargepile pile add ID --count N`: a site's piles provisioned in one transaction.
@Suite("Station provisioning")
struct StationProvisioningTests {
    static let oldHash = "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
    static let newHash = "$2b$04$zyxwvutsrqponmlkjihgfeZYXWVUTSRQPONMLKJIHGFEDCBA98765"

    @Test("several piles join a new station, then an existing one, its engine and its settings; ids already there get the new password")
    func addPiles() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2, logger: Logger(label: "test"))
        do {
            try await provision(pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    func provision(_ pool: PostgresPool) async throws {
        try await SchemaMigrator().migrate(pool)
        let store = StationStore(pool: pool)
        try await store.addPiles((101...103).map { PileSpec(id: $0, mode: .slow, powerWatts: 10_000) }, stationID: 7, passwordHash: Self.oldHash)
        let digest = (salt: [UInt8](repeating: 1, count: 16), digest: [UInt8](repeating: 2, count: 32))
        try await store.addPiles((103...105).map { PileSpec(id: $0, mode: .fast, powerWatts: 30_000) }, stationID: 7, passwordHash: Self.newHash,
                                 secretDigests: [103: digest, 105: digest])

        let station = try #require(try await store.snapshot(stationID: 7)?.station)
        #expect(station.pileIDs == [101, 102, 103, 104, 105])
        #expect(station.settings.piles.map(\.mode) == [.slow, .slow, .slow, .fast, .fast], "103 kept its kind")
        let rows: [(Int, String)] = try await pool.query("SELECT id, password_hash FROM piles WHERE station_id = 7 ORDER BY id")
            .map { (try $0.decode("id"), try $0.decode("password_hash")) }
        #expect(rows.map(\.0) == [101, 102, 103, 104, 105])
        #expect(rows.map(\.1) == [Self.oldHash, Self.oldHash, Self.newHash, Self.newHash, Self.newHash])
        let withDigest: [Int] = try await pool.query("SELECT id FROM piles WHERE secret_digest IS NOT NULL ORDER BY id").map { try $0.decode("id") }
        #expect(withDigest == [103, 105], "written with the row (103 with its new password), none where none was given")
    }
}
