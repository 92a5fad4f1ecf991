import Foundation
import PostgresClient

public enum TestDatabase {
    /// One live PostgreSQL per test process: DATABASE_URL's server when set, else an
    /// embedded one (fast, unsafe settings) in a temporary directory, started once and
    /// stopped when the process exits.
    public static func server() async throws -> TestPostgresServer {
        try await TestServerStarter.shared.server()
    }

    /// A brand-new empty database for one test; returns its keyword/value conninfo.
    public static func makeDatabase() async throws -> String {
        let server = try await server()
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
        let admin = try await PostgresConnection.connect(server.conninfo, overrides: ["application_name": "chargepile-tests"])
        do {
            try await createDatabase(name, on: admin)
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        return try PostgresConnectionString.keywordValue(server.conninfo, overrides: ["dbname": name])
    }

    private static func createDatabase(_ name: String, on admin: PostgresConnection) async throws {
        var attempt = 0
        while true {
            do {
                try await admin.unsafeSimpleQuery("CREATE DATABASE \"\(name)\"")
                return
            } catch let error as PostgresError where error.code == PostgresError.Code("55006") && attempt < 20 {
                // "source database template1 is being accessed by other users": retry shortly.
                attempt += 1
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
