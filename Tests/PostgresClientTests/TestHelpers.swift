import Foundation
import PostgresClient
import TestSupport

/// A connection to a fresh database, closed afterwards.
@discardableResult
func withFreshConnection<Result>(
    overrides: [String: String] = [:],
    _ body: (PostgresConnection) async throws -> Result
) async throws -> Result {
    let conninfo = try await TestDatabase.makeDatabase()
    let connection = try await PostgresConnection.connect(conninfo, overrides: overrides)
    do {
        let result = try await body(connection)
        await connection.close()
        return result
    } catch {
        await connection.close()
        throw error
    }
}

/// Ends a backend from outside and waits until it is gone.
func terminateBackend(_ pid: Int32) async throws {
    let server = try await TestDatabase.server()
    let admin = try await PostgresConnection.connect(server.conninfo)
    do {
        _ = try await admin.query("SELECT pg_terminate_backend(\(pid), 5000)")
    } catch {
        await admin.close()
        throw error
    }
    await admin.close()
}

