import Foundation
import PostgresClient
import Testing
import TestSupport

/// A server of its own (restarting the shared one would disturb other tests).
@Suite(.serialized) struct EmbeddedPostgresTests {
    @Test func reusesARunningServerAndSurvivesRestart() async throws {
        let directory = "/tmp/chargepile-tests/\(getpid())-embedded-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let server = EmbeddedPostgres(dataDirectory: directory + "/data", fastAndUnsafe: true)
        defer {
            try? server.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let conninfo = try await blocking { try server.start() }
        #expect(server.isRunning)
        let port = try #require(server.port)
        #expect(conninfo == "host=127.0.0.1 port=\(port) user=postgres dbname=postgres")

        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        let serverStart = try await pool.query("SELECT pg_postmaster_start_time() AS t")[0].decode("t", as: Date.self)

        // A second handle on the same directory (another CLI process, say) reuses it.
        let again = try await blocking { try EmbeddedPostgres(dataDirectory: directory + "/data").start() }
        #expect(again == conninfo)
        let sameStart = try await pool.query("SELECT pg_postmaster_start_time() AS t")[0].decode("t", as: Date.self)
        #expect(sameStart == serverStart)

        try await blocking { try server.createDatabaseIfMissing("bench db") }
        try await blocking { try server.createDatabaseIfMissing("bench db") }
        let other = try await PostgresConnection.connect(server.conninfo(database: "bench db"))
        #expect(try await other.query("SELECT current_database() AS d")[0].decode("d", as: String.self) == "bench db")
        await other.close()

        // Restart: same port, and the pool replaces its now-dead idle connection.
        _ = try await blocking { try server.restart() }
        #expect(server.port == port)
        let restarted = try await pool.query("SELECT pg_postmaster_start_time() AS t")[0].decode("t", as: Date.self)
        #expect(restarted > serverStart)
        await pool.close()

        try await blocking { try server.stop() }
        #expect(!server.isRunning)
        try await blocking { try server.stop() }  // not running: no error
    }

    /// `CHARGEPILE_POSTGRES_SETTINGS` reaches the embedded server's configuration; a line that is not
    /// `name = value` is refused before anything starts.
    @Test func takesExtraSettingsFromTheEnvironment() async throws {
        let directory = "/tmp/chargepile-tests/\(getpid())-settings-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer {
            try? EmbeddedPostgres(dataDirectory: directory + "/postgres").stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        for refused in ["log_min_duration_statement", "= 250", "log_min_duration_statement = 0; bad name = 1"] {
            #expect(throws: EmbeddedPostgresError.self) {
                try DatabaseLocation.resolve(environment: ["CHARGEPILE_DATA_DIR": directory, "CHARGEPILE_POSTGRES_SETTINGS": refused])
            }
        }
        #expect(!EmbeddedPostgres(dataDirectory: directory + "/postgres").isRunning)

        let location = try await blocking {
            try DatabaseLocation.resolve(environment: [
                "CHARGEPILE_DATA_DIR": directory,
                "CHARGEPILE_POSTGRES_SETTINGS": "log_min_duration_statement = 250; work_mem = '8MB';",
            ])
        }
        let connection = try await PostgresConnection.connect(location.url)
        #expect(try await connection.query("SELECT current_setting('log_min_duration_statement') AS v")[0].decode("v", as: String.self) == "250ms")
        #expect(try await connection.query("SELECT current_setting('work_mem') AS v")[0].decode("v", as: String.self) == "8MB")
        await connection.close()
    }

    private func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }
}
